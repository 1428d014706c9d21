//! Limb gadgets against native arithmetic, under Bitcoin Core's interpreter.

use bitcoin::opcodes::all::{OP_EQUALVERIFY, OP_FROMALTSTACK, OP_TOALTSTACK};
use bitcoin::opcodes::OP_TRUE;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::exec::execute;
use rollup_l1::script::limbs::{
    add_carry, add_carry_in, add_n, drop_u4_tables, equal_n, from_bits, from_nibbles, from_windows,
    greater_or_equal_n, less_than_n, mul, mul_const, mul_wide, mul_wide_windowed, mul_windowed,
    push_u4_tables, range_check, range_check_keep, sub_borrow, sub_borrow_in, sub_n, to_bits, to_nibbles,
    to_windows, u32_add, u32_from_u16_pair, u32_rotr, u32_to_u16_pair, u32_xor, U4_TABLE_ITEMS,
};
use rollup_l1::script::{encode_num, Script};

const MAX: i64 = (1 << 31) - 1;

/// Runs `gadget` on `inputs` (bottom first) and compares its outputs with
/// `expected` (bottom first) in script; true when the kernel accepts.
fn accepts(gadget: &Script, inputs: &[i64], expected: &[i64]) -> bool {
    let mut script = gadget.clone();
    for value in expected.iter().rev() {
        script = script.num(*value).op(OP_EQUALVERIFY);
    }
    let script = script.op(OP_TRUE);
    let witness: Vec<Vec<u8>> = inputs.iter().map(|n| encode_num(*n)).collect();
    execute(&script, &witness).unwrap().success
}

/// Asserts the gadget maps `inputs` to `expected`, and rejects a wrong claim.
fn check(gadget: &Script, inputs: &[i64], expected: &[i64]) {
    assert!(accepts(gadget, inputs, expected), "{inputs:?} -> {expected:?}");
    let mut wrong = expected.to_vec();
    if let Some(last) = wrong.last_mut() {
        *last += 1;
    }
    assert!(!accepts(gadget, inputs, &wrong), "{inputs:?} accepted wrong {wrong:?}");
}

fn limb(rng: &mut ChaCha20Rng, bits: u32) -> i64 {
    rng.gen_range(0..1i64 << bits)
}

fn samples(rng: &mut ChaCha20Rng, bits: u32, n: usize) -> Vec<i64> {
    let max = (1i64 << bits) - 1;
    let mut values = vec![0, 1, max, max - 1];
    values.extend((0..n).map(|_| limb(rng, bits)));
    values
}

const WIDTHS: [u32; 7] = [1, 4, 8, 15, 16, 30, 31];

#[test]
fn range_checks_accept_in_range_and_reject_out_of_range() {
    for bits in WIDTHS {
        let max = (1i64 << bits) - 1;
        let gadget = range_check(bits).op(OP_TRUE);
        for x in [0, max, max / 2] {
            assert!(execute(&gadget, &[encode_num(x)]).unwrap().success, "{bits} {x}");
        }
        for x in [-1, max + 1, -max] {
            assert!(!execute(&gadget, &[encode_num(x)]).unwrap().success, "{bits} {x}");
        }
        check(&range_check_keep(bits), &[max], &[max]);
    }
    println!(
        "range_check(30): {} bytes, range_check(31): {} bytes",
        range_check(30).len(),
        range_check(31).len()
    );
}

#[test]
fn add_and_sub_with_carry_match_native() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for bits in WIDTHS {
        let base = 1i64 << bits;
        let xs = samples(&mut rng, bits, 6);
        let ys = samples(&mut rng, bits, 6);
        for (&a, &b) in xs.iter().zip(ys.iter().rev()).chain(xs.iter().zip(xs.iter())) {
            check(&add_carry(bits), &[a, b], &[(a + b) % base, (a + b) / base]);
            check(&sub_borrow(bits), &[a, b], &[(a - b).rem_euclid(base), i64::from(a < b)]);
            for c in [0, 1] {
                check(&add_carry_in(bits), &[a, b, c], &[(a + b + c) % base, (a + b + c) / base]);
                check(
                    &sub_borrow_in(bits),
                    &[a, b, c],
                    &[(a - b - c).rem_euclid(base), i64::from(a < b + c)],
                );
            }
        }
        println!(
            "bits {bits}: add_carry {} B, add_carry_in {} B, sub_borrow {} B, sub_borrow_in {} B",
            add_carry(bits).len(),
            add_carry_in(bits).len(),
            sub_borrow(bits).len(),
            sub_borrow_in(bits).len()
        );
    }
}

fn to_limbs(mut x: u128, n: usize, bits: u32) -> Vec<i64> {
    (0..n)
        .map(|_| {
            let limb = (x & ((1u128 << bits) - 1)) as i64;
            x >>= bits;
            limb
        })
        .collect()
}

#[test]
fn multi_limb_add_sub_and_comparisons_match_native() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for (n, bits) in [(1usize, 30u32), (3, 29), (3, 31), (4, 30)] {
        let modulus = 1u128 << (n as u32 * bits);
        let max = modulus - 1;
        let mut pairs =
            vec![(max, 1u128), (max, max), (0, 0), (0, 1), (1, 0), (max, 0), (modulus / 2, modulus / 2)];
        for _ in 0..6 {
            pairs.push((rng.gen_range(0..modulus), rng.gen_range(0..modulus)));
        }
        let a0 = rng.gen_range(0..modulus);
        pairs.push((a0, a0));
        // Equal high limbs, different low limb.
        pairs.push((a0, a0 ^ 1));
        for (a, b) in pairs {
            let mut inputs = to_limbs(a, n, bits);
            inputs.extend(to_limbs(b, n, bits));
            let mut sum = to_limbs((a + b) % modulus, n, bits);
            sum.push(((a + b) / modulus) as i64);
            check(&add_n(n, bits), &inputs, &sum);
            let mut diff = to_limbs((a + modulus - b) % modulus, n, bits);
            diff.push(i64::from(a < b));
            check(&sub_n(n, bits), &inputs, &diff);
            check(&equal_n(n), &inputs, &[i64::from(a == b)]);
            check(&less_than_n(n), &inputs, &[i64::from(a < b)]);
            check(&greater_or_equal_n(n), &inputs, &[i64::from(a >= b)]);
        }
        println!(
            "n {n} bits {bits}: add_n {} B, sub_n {} B, equal_n {} B, less_than_n {} B",
            add_n(n, bits).len(),
            sub_n(n, bits).len(),
            equal_n(n).len(),
            less_than_n(n).len()
        );
    }
}

fn digits(x: i64, bits: u32, k: u32) -> Vec<i64> {
    let m = bits.div_ceil(k);
    (0..m).rev().map(|j| (x >> (j * k)) & ((1 << k) - 1)).collect()
}

#[test]
fn decompositions_round_trip_and_verify_their_range() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for bits in WIDTHS {
        for k in [1, 3, 4, 5, 8] {
            if k > bits {
                continue;
            }
            let max = (1i64 << bits) - 1;
            for x in samples(&mut rng, bits, 3) {
                let d = digits(x, bits, k);
                check(&to_windows(bits, k), &[x], &d);
                check(&from_windows(bits, k), &d, &[x]);
                // Round trip in one script.
                check(&to_windows(bits, k).then(from_windows(bits, k)), &[x], &[x]);
            }
            // Out of range inputs fail whatever is claimed.
            for x in [max + 1, -1] {
                if x > MAX {
                    continue;
                }
                let d = digits(x & max, bits, k);
                assert!(!accepts(&to_windows(bits, k), &[x], &d), "bits {bits} k {k} x {x}");
            }
        }
        let x = limb(&mut rng, bits);
        check(&to_bits(bits), &[x], &digits(x, bits, 1));
        check(&from_bits(bits), &digits(x, bits, 1), &[x]);
        check(&to_nibbles(bits), &[x], &digits(x, bits, bits.min(4)));
        check(&from_nibbles(bits), &digits(x, bits, bits.min(4)), &[x]);
        println!(
            "bits {bits}: to_bits {} B, from_bits {} B, to_nibbles {} B, from_nibbles {} B",
            to_bits(bits).len(),
            from_bits(bits).len(),
            to_nibbles(bits).len(),
            from_nibbles(bits).len()
        );
    }
}

#[test]
fn multiplications_match_native_and_verify_the_multiplier() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    for bits in [1u32, 2, 8, 11, 15] {
        let mut gadgets = vec![("double-and-add", mul(bits))];
        for w in 1..=bits.min(5) {
            gadgets.push(("windowed", mul_windowed(bits, w)));
        }
        let max = (1i64 << bits) - 1;
        for (name, gadget) in &gadgets {
            for (a, b) in [(max, max), (0, max), (max, 0), (1, 1)]
                .into_iter()
                .chain((0..4).map(|_| (limb(&mut rng, bits), limb(&mut rng, bits))))
            {
                check(gadget, &[a, b], &[a * b]);
            }
            assert!(!accepts(gadget, &[3 & max, max + 1], &[(3 & max) * (max + 1)]), "{name} {bits}");
            assert!(!accepts(gadget, &[1, -1], &[-1]), "{name} {bits}");
        }
        let sizes: Vec<String> = gadgets.iter().map(|(name, g)| format!("{name} {} B", g.len())).collect();
        println!("mul u{bits}: {}", sizes.join(", "));
    }
    for bits in [16u32, 24, 30, 31] {
        let mut gadgets = vec![("double-and-add", mul_wide(bits))];
        for w in 1..=4 {
            gadgets.push(("windowed", mul_wide_windowed(bits, w)));
        }
        let max = (1i64 << bits) - 1;
        let base = 1i128 << bits;
        for (name, gadget) in &gadgets {
            for (a, b) in [(max, max), (0, max), (max, 0), (1, 1), (max, 2)]
                .into_iter()
                .chain((0..3).map(|_| (limb(&mut rng, bits), limb(&mut rng, bits))))
            {
                let p = i128::from(a) * i128::from(b);
                check(gadget, &[a, b], &[(p % base) as i64, (p / base) as i64]);
            }
            if bits < 31 {
                assert!(!accepts(gadget, &[1, max + 1], &[0, 1]), "{name} {bits}");
            }
            assert!(!accepts(gadget, &[1, -1], &[0, 0]), "{name} {bits}");
        }
        let sizes: Vec<String> = gadgets.iter().map(|(name, g)| format!("{name} {} B", g.len())).collect();
        println!("mul_wide u{bits}: {}", sizes.join(", "));
    }
}

#[test]
fn multiplication_by_constants_matches_native() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for k in [0u32, 1, 2, 3, 10, 255, 0x5555, 65537, (1 << 30) - 1] {
        let limit = MAX / i64::from(k.max(1));
        for a in [0, 1, limit, rng.gen_range(0..=limit)] {
            check(&mul_const(k), &[a], &[a * i64::from(k)]);
        }
        println!("mul_const({k}): {} B", mul_const(k).len());
    }
}

fn nibbles32(x: u32) -> Vec<i64> {
    (0..8).rev().map(|i| i64::from((x >> (4 * i)) & 15)).collect()
}

/// `gadget` run with the nibble tables below its inputs: pushes the tables first
/// (moving the inputs above them through the altstack) and drops them after.
fn with_tables(gadget: Script, inputs: usize, outputs: usize) -> Script {
    Script::new()
        .ops(OP_TOALTSTACK, inputs)
        .then(push_u4_tables())
        .ops(OP_FROMALTSTACK, inputs)
        .then(gadget)
        .ops(OP_TOALTSTACK, outputs)
        .then(drop_u4_tables())
        .ops(OP_FROMALTSTACK, outputs)
}

#[test]
fn u32_words_match_native() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut words = vec![0u32, u32::MAX, 1, 0x8000_0000, 0x0fff_ffff];
    words.extend((0..6).map(|_| rng.gen::<u32>()));
    for (i, &a) in words.iter().enumerate() {
        let b = words[(i * 7 + 3) % words.len()];
        let mut inputs = nibbles32(a);
        inputs.extend(nibbles32(b));
        check(&u32_add(), &inputs, &nibbles32(a.wrapping_add(b)));
        check(&with_tables(u32_xor(0), 16, 8), &inputs, &nibbles32(a ^ b));
        for r in [0, 1, 4, 7, 8, 12, 16, 31] {
            check(&u32_rotr(r), &nibbles32(a), &nibbles32(a.rotate_right(r)));
        }
        let halves = [i64::from(a >> 16), i64::from(a & 0xffff)];
        check(&u32_from_u16_pair(), &halves, &nibbles32(a));
        check(&u32_to_u16_pair(), &nibbles32(a), &halves);
    }
    // Carries through every nibble.
    let mut inputs = nibbles32(u32::MAX);
    inputs.extend(nibbles32(1));
    check(&u32_add(), &inputs, &nibbles32(0));
    // XOR with items between the tables and the operands.
    let mut inputs = vec![42, 43];
    inputs.extend(nibbles32(0x1234_5678));
    inputs.extend(nibbles32(0xffff_0000));
    check(&with_tables(u32_xor(2), 18, 10), &inputs, &[vec![42, 43], nibbles32(0xedcb_5678)].concat());
    // A halves pair out of range fails.
    assert!(!accepts(&u32_from_u16_pair(), &[1 << 16, 0], &nibbles32(0)));
    assert_eq!(U4_TABLE_ITEMS, 272);
    println!(
        "u32_add {} B, u32_xor {} B (tables {} B push, {} B drop), rotr7 {} B, rotr8 {} B, rotr16 {} B, from_u16_pair {} B, to_u16_pair {} B",
        u32_add().len(),
        u32_xor(0).len(),
        push_u4_tables().len(),
        drop_u4_tables().len(),
        u32_rotr(7).len(),
        u32_rotr(8).len(),
        u32_rotr(16).len(),
        u32_from_u16_pair().len(),
        u32_to_u16_pair().len()
    );
}
