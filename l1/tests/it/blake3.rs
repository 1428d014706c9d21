//! BLAKE3 in script against the reference `blake3` crate.

use bitcoin::opcodes::all::OP_EQUALVERIFY;
use bitcoin::opcodes::OP_TRUE;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::blake3::{
    blake3_compress, blake3_digest_nibbles, blake3_hash, blake3_native, blake3_truncated_nibbles,
    bytes_to_nibbles, bytes_to_u24_limbs, compress_native, nibbles_to_bytes, Blake3Error, MessageForm,
    CHUNK_END, CHUNK_START, IV, ROOT,
};
use rollup_l1::script::exec::{execute, Execution};
use rollup_l1::script::{encode_num, Script};

fn message(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut msg = vec![0u8; len];
    rng.fill_bytes(&mut msg);
    msg
}

/// `gadget` followed by a comparison of its `expected.len()` output items with
/// `expected` (pushed by the script), ending with OP_TRUE.
fn checked(gadget: &Script, expected: &[u8]) -> Script {
    let mut script = gadget.clone();
    for nibble in expected.iter().rev() {
        script = script.num(i64::from(*nibble)).op(OP_EQUALVERIFY);
    }
    script.op(OP_TRUE)
}

fn nibble_witness(msg: &[u8]) -> Vec<Vec<u8>> {
    bytes_to_nibbles(msg).into_iter().map(|n| encode_num(i64::from(n))).collect()
}

fn limb_witness(msg: &[u8]) -> Vec<Vec<u8>> {
    bytes_to_u24_limbs(msg).into_iter().map(|l| encode_num(i64::from(l))).collect()
}

fn run(script: &Script, witness: &[Vec<u8>]) -> Execution {
    execute(script, witness).unwrap()
}

#[test]
fn native_mirror_matches_the_reference() {
    for len in [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 500, 1023, 1024] {
        let msg = message(len, len as u64);
        let expected = *blake3::hash(&msg).as_bytes();
        assert_eq!(blake3_native(&msg).unwrap(), expected, "len {len}");
        assert_eq!(nibbles_to_bytes(&blake3_digest_nibbles(&msg).unwrap()), expected.to_vec());
        assert_eq!(blake3_truncated_nibbles(&msg, 20).unwrap(), bytes_to_nibbles(&expected[..20]));
    }
    assert_eq!(blake3_native(&[0; 1025]), Err(Blake3Error::MessageTooLong(1025)));
    assert_eq!(blake3_truncated_nibbles(b"", 0), Err(Blake3Error::BadDigestLength(0)));
    assert_eq!(blake3_truncated_nibbles(b"", 33), Err(Blake3Error::BadDigestLength(33)));
    assert!(blake3_hash(1025, 32, MessageForm::Nibbles).is_err());
    assert!(blake3_hash(10, 0, MessageForm::Nibbles).is_err());
    assert!(blake3_compress(65, 0, 0).is_err());
}

#[test]
fn hash_of_nibbles_matches_the_reference() {
    for len in [0usize, 1, 32, 48, 63, 64, 65, 128] {
        let msg = message(len, 100 + len as u64);
        let gadget = blake3_hash(len, 32, MessageForm::Nibbles).unwrap();
        let expected = bytes_to_nibbles(blake3::hash(&msg).as_bytes());
        let result = run(&checked(&gadget.script, &expected), &nibble_witness(&msg));
        println!(
            "blake3 nibbles len {len}: {} bytes, peak stack {}",
            gadget.script.len(),
            gadget.stats.peak_stack
        );
        assert!(result.success, "len {len}: {result:?}");
        assert!(gadget.stats.peak_stack <= 1000);
    }
}

#[test]
fn hash_of_u24_limbs_matches_the_reference() {
    for (len, out) in [(0usize, 32usize), (1, 32), (2, 20), (32, 32), (64, 20), (65, 32), (1024, 32)] {
        let msg = message(len, 200 + len as u64);
        let gadget = blake3_hash(len, out, MessageForm::U24Limbs).unwrap();
        let expected = bytes_to_nibbles(&blake3::hash(&msg).as_bytes()[..out]);
        let result = run(&checked(&gadget.script, &expected), &limb_witness(&msg));
        println!(
            "blake3 u24 limbs len {len} out {out}: {} bytes, peak stack {}, tx weight {}",
            gadget.script.len(),
            gadget.stats.peak_stack,
            result.tx_weight
        );
        assert!(result.success, "len {len}: {result:?}");
        assert!(gadget.stats.peak_stack <= 1000);
    }
}

#[test]
fn one_compression_matches_the_native_mirror() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for (block_len, counter, flags) in
        [(64usize, 0u64, 0u32), (17, 5, CHUNK_END), (64, 1 << 40, CHUNK_START | ROOT)]
    {
        let cv_bytes = message(32, rng.gen());
        let block_bytes = message(64, rng.gen());
        let cv: [u32; 8] =
            std::array::from_fn(|i| u32::from_le_bytes(cv_bytes[4 * i..4 * i + 4].try_into().unwrap()));
        let block: [u32; 16] =
            std::array::from_fn(|i| u32::from_le_bytes(block_bytes[4 * i..4 * i + 4].try_into().unwrap()));
        let out = compress_native(&cv, &block, counter, block_len as u32, flags);
        let out_bytes: Vec<u8> = out[..8].iter().flat_map(|w| w.to_le_bytes()).collect();
        let gadget = blake3_compress(block_len, counter, flags).unwrap();
        let mut witness = nibble_witness(&cv_bytes);
        witness.extend(nibble_witness(&block_bytes));
        let result = run(&checked(&gadget.script, &bytes_to_nibbles(&out_bytes)), &witness);
        println!("blake3 compression: {} bytes, peak stack {}", gadget.script.len(), gadget.stats.peak_stack);
        assert!(result.success, "{result:?}");
        // The gadget's first compression of a hash with the IV as chaining value.
        let iv_bytes: Vec<u8> = IV.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut witness = nibble_witness(&iv_bytes);
        witness.extend(nibble_witness(&block_bytes));
        let out = compress_native(&IV, &block, counter, block_len as u32, flags);
        let out_bytes: Vec<u8> = out[..8].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert!(run(&checked(&gadget.script, &bytes_to_nibbles(&out_bytes)), &witness).success);
    }
}

#[test]
fn a_one_bit_change_changes_the_digest_and_the_old_claim_fails() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    for (len, out, form) in [(32usize, 32usize, MessageForm::Nibbles), (64, 20, MessageForm::U24Limbs)] {
        let msg = message(len, rng.gen());
        let mut flipped = msg.clone();
        let bit: usize = rng.gen_range(0..8 * len);
        flipped[bit / 8] ^= 1 << (bit % 8);
        let old = blake3_truncated_nibbles(&msg, out).unwrap();
        let new = blake3_truncated_nibbles(&flipped, out).unwrap();
        assert_ne!(old, new);
        let gadget = blake3_hash(len, out, form).unwrap();
        let witness = |m: &[u8]| match form {
            MessageForm::Nibbles => nibble_witness(m),
            MessageForm::U24Limbs => limb_witness(m),
        };
        assert!(run(&checked(&gadget.script, &old), &witness(&msg)).success);
        assert!(run(&checked(&gadget.script, &new), &witness(&flipped)).success);
        assert!(!run(&checked(&gadget.script, &old), &witness(&flipped)).success);
        // A wrong claimed digest (one nibble off) fails too.
        let mut wrong = old.clone();
        wrong[5] ^= 1;
        assert!(!run(&checked(&gadget.script, &wrong), &witness(&msg)).success);
    }
}

#[test]
fn out_of_range_limbs_fail() {
    let msg = message(6, 11);
    let gadget = blake3_hash(6, 20, MessageForm::U24Limbs).unwrap();
    let expected = blake3_truncated_nibbles(&msg, 20).unwrap();
    let mut witness = limb_witness(&msg);
    assert!(run(&checked(&gadget.script, &expected), &witness).success);
    // The same low 24 bits plus 2^24: the decomposition's range check rejects it.
    let limbs = bytes_to_u24_limbs(&msg);
    witness[0] = encode_num(i64::from(limbs[0]) + (1 << 24));
    assert!(!run(&checked(&gadget.script, &expected), &witness).success);
    witness[0] = encode_num(-i64::from(limbs[0]));
    assert!(!run(&checked(&gadget.script, &expected), &witness).success);
    // A 5-byte limb is not a script number: the decomposition fails on it.
    let mut long = encode_num(i64::from(limbs[1]));
    long.resize(5, 0);
    let mut witness = limb_witness(&msg);
    witness[1] = long;
    assert!(!run(&checked(&gadget.script, &expected), &witness).success);
}

#[test]
fn gadgets_fit_the_stack_and_are_deterministic() {
    let a = blake3_hash(100, 20, MessageForm::Nibbles).unwrap();
    let b = blake3_hash(100, 20, MessageForm::Nibbles).unwrap();
    assert_eq!(a.script, b.script);
    assert!(a.stats.peak_stack <= 1000);
    // The compression gadget's stack effect starts from 192 inputs.
    let c = blake3_compress(64, 0, CHUNK_START | CHUNK_END | ROOT).unwrap();
    assert!(c.stats.peak_stack >= 192 + 272 && c.stats.peak_stack <= 1000);
}
