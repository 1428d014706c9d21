//! Limb arithmetic and BLAKE3 in script.

use bitcoin::opcodes::OP_TRUE;
use rollup_l1::script::blake3::{self, bytes_to_nibbles, bytes_to_u24_limbs, MessageForm};
use rollup_l1::script::limbs::{self, drop_items};
use rollup_l1::script::{encode_num, Script};

use crate::measure;

fn nums(values: impl IntoIterator<Item = i64>) -> Vec<Vec<u8>> {
    values.into_iter().map(encode_num).collect()
}

fn nibbles(bytes: &[u8]) -> Vec<Vec<u8>> {
    nums(bytes_to_nibbles(bytes).into_iter().map(i64::from))
}

/// Runs `gadget` on `witness` and drops the `left` items it leaves.
fn bench_gadget(name: &str, gadget: Script, witness: &[Vec<u8>], left: usize) {
    let leaf = gadget.clone().then(drop_items(left)).op(OP_TRUE);
    measure(name, &gadget, &leaf, witness);
}

pub(crate) fn bench() {
    let word = |x: u32| nums((0..8).rev().map(move |i| i64::from((x >> (4 * i)) & 15)));
    let words = [word(0x89ab_cdef), word(0x7654_3210)].concat();
    bench_gadget("u32 add mod 2^32 (8 nibbles each)", limbs::u32_add(), &words, 8);
    bench_gadget(
        "u32 xor (with its nibble tables)",
        limbs::push_u4_tables().then(limbs::u32_xor(0)).then(limbs::drop_u4_tables()),
        &words,
        8,
    );
    bench_gadget("u32 rotate right by 7", limbs::u32_rotr(7), &word(0x89ab_cdef), 8);
    let (a31, b31) = (0x7123_4567_i64, 0x6fed_cba9_i64);
    bench_gadget("u31 add with carry", limbs::add_carry(31), &nums([a31, b31]), 2);
    bench_gadget("u30 add with carry", limbs::add_carry(30), &nums([a31 >> 1, b31 >> 1]), 2);
    bench_gadget("u15 × u15 (double-and-add)", limbs::mul(15), &nums([0x6abc, 0x7def]), 1);
    bench_gadget("u31 × u31 → 2 limbs (double-and-add)", limbs::mul_wide(31), &nums([a31, b31]), 2);
    bench_gadget(
        "u31 × u31 → 2 limbs (3-bit windows)",
        limbs::mul_wide_windowed(31, 3),
        &nums([a31, b31]),
        2,
    );
    bench_gadget("u31 bit decomposition", limbs::to_bits(31), &nums([a31]), 31);

    let chaining: Vec<u8> = (0..32).map(|i| (i * 7 + 3) as u8).collect();
    let block: Vec<u8> = (0..64).map(|i| (i * 13 + 1) as u8).collect();
    let compress = blake3::blake3_compress(64, 0, 0).unwrap();
    let witness = [nibbles(&chaining), nibbles(&block)].concat();
    bench_gadget("BLAKE3 compression (any chaining value)", compress.script, &witness, 64);
    for (length, form, out) in [
        (32, MessageForm::Nibbles, 32),
        (64, MessageForm::Nibbles, 32),
        (64, MessageForm::Nibbles, 20),
        (64, MessageForm::U24Limbs, 32),
        (1024, MessageForm::U24Limbs, 32),
    ] {
        let message: Vec<u8> = (0..length).map(|i| (i * 29 + 5) as u8).collect();
        let witness = match form {
            MessageForm::Nibbles => nibbles(&message),
            MessageForm::U24Limbs => nums(bytes_to_u24_limbs(&message).into_iter().map(i64::from)),
        };
        let gadget = blake3::blake3_hash(length, out, form).unwrap();
        let name = format!("BLAKE3 of {length} bytes ({form:?}), {out}-byte digest");
        bench_gadget(&name, gadget.script, &witness, 2 * out);
    }
}
