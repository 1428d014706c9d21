//! Winternitz signatures: native round trips, equivocation detection, and the
//! verifying script under Bitcoin Core's interpreter against native code.

use bitcoin::opcodes::all::OP_EQUALVERIFY;
use bitcoin::opcodes::OP_TRUE;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::exec::{execute, Execution};
use rollup_l1::script::winternitz::{
    bytes_to_limbs, detect_equivocation, limbs_to_bytes, verify_script, Output, Params, PublicKey, SecretKey,
    Signature, WinternitzError, DEFAULT_DIGIT_BITS,
};
use rollup_l1::script::{encode_num, Script};

const SEED: [u8; 32] = [7; 32];

fn key(params: Params, index: u32) -> SecretKey {
    SecretKey::derive(&SEED, b"test", index, params)
}

fn random_message(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut message = vec![0u8; len];
    rng.fill_bytes(&mut message);
    message
}

/// The verifying leaf followed by in-script checks that it left exactly
/// `expected` (bottom first), then `OP_TRUE`.
fn checking_leaf(public_key: &PublicKey, output: Output, expected: &[u32]) -> Script {
    expected
        .iter()
        .rev()
        .fold(verify_script(public_key, output).unwrap(), |script, value| {
            script.num(i64::from(*value)).op(OP_EQUALVERIFY)
        })
        .op(OP_TRUE)
}

fn run(leaf: &Script, witness: &[Vec<u8>]) -> Execution {
    execute(leaf, witness).unwrap()
}

#[test]
fn digits_and_checksum_follow_the_documented_layout() {
    // w = 4: nibbles, high first; checksum Σ(15 - d) = 5 + 4 + 15 + 14 = 38 = 0x26,
    // two checksum digits because n0 * 15 = 60 needs two base-16 digits.
    let params = Params::new(4, 2).unwrap();
    assert_eq!((params.message_digits(), params.checksum_digits()), (4, 2));
    assert_eq!(params.digits(&[0xab, 0x01]).unwrap(), vec![10, 11, 0, 1, 2, 6]);
    assert_eq!(params.max_checksum(), 60);
    // w = 3: big-endian bit string, last digit padded with zero bits at its low end.
    let params = Params::new(3, 1).unwrap();
    assert_eq!(params.digits(&[0xff]).unwrap()[..3], [7, 7, 6]);
    assert_eq!(params.message_from_digits(&[7, 7, 6]).unwrap(), vec![0xff]);
    assert_eq!(params.message_from_digits(&[7, 7, 7]), Err(WinternitzError::NonCanonicalDigits));
    assert_eq!(
        params.message_from_digits(&[7, 8, 6]),
        Err(WinternitzError::DigitOutOfRange { index: 1, digit: 8, max: 7 })
    );
    // w = 8: one digit per byte; 2 * 255 = 510 needs two base-256 digits.
    let params = Params::new(8, 2).unwrap();
    assert_eq!(params.digits(&[0x12, 0xfe]).unwrap(), vec![0x12, 0xfe, 0, 0xee]);
    // Chunks: u16 halves of big-endian u32 limbs with w = 4.
    let params = Params::for_u32_limbs(4, 2).unwrap();
    let limbs = [0xdead_beef_u32, 0x0102_0304];
    let bytes = limbs_to_bytes(&limbs);
    assert_eq!(bytes_to_limbs(&bytes).unwrap(), limbs);
    assert_eq!(bytes_to_limbs(&bytes[1..]), None);
    assert_eq!(params.chunk_values(&bytes, 4).unwrap(), vec![0xdead, 0xbeef, 0x0102, 0x0304]);
    assert_eq!(params.chunk_values(&bytes, 2).unwrap(), vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    assert_eq!(
        params.chunk_values(&bytes, 8),
        Err(WinternitzError::ChunkSize {
            digits_per_chunk: 8,
            reason: "a chunk must fit 31 bits (a script number)"
        })
    );
    assert_eq!(
        params.chunk_values(&bytes, 3),
        Err(WinternitzError::ChunkSize {
            digits_per_chunk: 3,
            reason: "the message digits must split into whole chunks"
        })
    );
}

#[test]
fn parameters_are_refused_outside_the_supported_range() {
    assert_eq!(Params::new(1, 32), Err(WinternitzError::UnsupportedDigitBits { bits: 1 }));
    assert_eq!(Params::new(9, 32), Err(WinternitzError::UnsupportedDigitBits { bits: 9 }));
    assert_eq!(Params::new(4, 0), Err(WinternitzError::EmptyMessage));
    assert_eq!(Params::with_default_width(32).unwrap().digit_bits(), DEFAULT_DIGIT_BITS);
    // w = 4: 243 bytes = 486 + 4 digits fit; 244 bytes = 488 + 4 exceed 491.
    assert_eq!(Params::new(4, 243).unwrap().total_digits(), 490);
    assert_eq!(
        Params::new(4, 244),
        Err(WinternitzError::MessageTooLong { bytes: 244, digits: 492, max: 491 })
    );
    assert_eq!(Params::new(3, 184).unwrap().total_digits(), 495);
    assert_eq!(
        Params::new(3, 185),
        Err(WinternitzError::MessageTooLong { bytes: 185, digits: 498, max: 495 })
    );
    let params = Params::new(4, 4).unwrap();
    assert_eq!(
        key(params, 0).sign(&[1, 2, 3]),
        Err(WinternitzError::MessageLength { expected: 4, actual: 3 })
    );
}

#[test]
fn signatures_round_trip_natively_for_several_widths_and_lengths() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for bits in 2..=8 {
        for len in [1, 3, 20, 32, 48] {
            let params = Params::new(bits, len).unwrap();
            let secret = key(params, u32::from(bits) * 100 + len as u32);
            let public = secret.public_key();
            for _ in 0..3 {
                let message = random_message(&mut rng, len);
                let signature = secret.sign(&message).unwrap();
                assert_eq!(public.verify(&signature).unwrap(), message, "w={bits} len={len}");
                public.verify_message(&message, &signature).unwrap();
                assert_eq!(signature.digits(), params.digits(&message).unwrap());
                assert_eq!(Signature::from_witness(params, &signature.to_witness()).unwrap(), signature);

                let mut other = message.clone();
                other[rng.gen_range(0..len)] ^= 1 << rng.gen_range(0..8);
                assert!(
                    matches!(
                        public.verify_message(&other, &signature),
                        Err(WinternitzError::OtherMessage { .. })
                    ),
                    "w={bits} len={len}"
                );
                // Another key of the same parameters refuses it.
                assert_eq!(
                    key(params, 999_999).public_key().verify(&signature),
                    Err(WinternitzError::BadChainValue { index: 0 })
                );
            }
        }
    }
}

#[test]
fn native_verification_refuses_forgeries() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let params = Params::new(4, 32).unwrap();
    let secret = key(params, 0);
    let public = secret.public_key();
    let message = random_message(&mut rng, 32);
    let signature = secret.sign(&message).unwrap();
    let witness = signature.to_witness();
    let digit_of =
        |witness: &[Vec<u8>], index: usize| Signature::from_witness(params, witness).unwrap().digits()[index];

    // A message digit below M raised by one, its chain value hashed once more: the
    // chain checks, the checksum does not.
    let index = signature.digits()[..params.message_digits()].iter().position(|d| *d < 15).unwrap();
    let mut raised = witness.clone();
    raised[2 * index] = hash160(&raised[2 * index]);
    raised[2 * index + 1] = encode_num(i64::from(digit_of(&witness, index) + 1));
    let raised = Signature::from_witness(params, &raised).unwrap();
    assert!(matches!(public.verify(&raised), Err(WinternitzError::ChecksumMismatch { .. })));
    // The same digit raised without a matching chain value.
    let mut bumped = witness.clone();
    bumped[2 * index + 1] = encode_num(i64::from(digit_of(&witness, index) + 1));
    assert_eq!(
        public.verify(&Signature::from_witness(params, &bumped).unwrap()),
        Err(WinternitzError::BadChainValue { index })
    );
    // Signatures of another parameter set are refused whole.
    let other = Params::new(4, 31).unwrap();
    let foreign = key(other, 0).sign(&message[..31]).unwrap();
    assert_eq!(
        public.verify(&foreign),
        Err(WinternitzError::ParamsMismatch { expected: params, actual: other })
    );
    // Signing a digit vector whose checksum does not match is possible for the key
    // holder only; the verifier refuses it.
    let mut digits = signature.digits().to_vec();
    digits[0] = (digits[0] + 1) % 16;
    let bad = secret.sign_digits(&digits).unwrap();
    assert!(matches!(public.verify(&bad), Err(WinternitzError::ChecksumMismatch { .. })));
    assert_eq!(
        secret.sign_digits(&[16; 67]),
        Err(WinternitzError::DigitOutOfRange { index: 0, digit: 16, max: 15 })
    );
}

#[test]
fn witnesses_are_read_as_the_script_reads_them() {
    let params = Params::new(4, 1).unwrap();
    let secret = key(params, 0);
    let signature = secret.sign(&[0xf3]).unwrap();
    let mut witness = signature.to_witness();
    // A digit above M reads as M; a non-minimal encoding reads as its value.
    witness[1] = encode_num(40);
    witness[3] = vec![3, 0];
    assert_eq!(Signature::from_witness(params, &witness).unwrap(), signature);
    let refused = |index: usize, element: Vec<u8>| {
        let mut witness = signature.to_witness();
        witness[index] = element;
        Signature::from_witness(params, &witness).unwrap_err()
    };
    assert_eq!(refused(1, encode_num(-1)), WinternitzError::DigitEncoding { index: 0 });
    assert_eq!(refused(3, vec![1, 0, 0, 0, 0]), WinternitzError::DigitEncoding { index: 1 });
    assert_eq!(refused(2, vec![0; 19]), WinternitzError::ChainValueLength { index: 1, len: 19 });
    let witness = signature.to_witness();
    assert_eq!(
        Signature::from_witness(params, &witness[1..]),
        Err(WinternitzError::WitnessLength { expected: 8, actual: 7 })
    );
}

#[test]
fn keys_derive_deterministically_and_independently() {
    let params = Params::new(4, 32).unwrap();
    let base = SecretKey::derive(&SEED, b"claim", 3, params).public_key();
    assert_eq!(SecretKey::derive(&SEED, b"claim", 3, params).public_key(), base);
    let others = [
        SecretKey::derive(&SEED, b"claim", 4, params).public_key(),
        SecretKey::derive(&SEED, b"claimx", 3, params).public_key(),
        SecretKey::derive(&[8; 32], b"claim", 3, params).public_key(),
        SecretKey::derive(&SEED, b"claim", 3, Params::new(4, 33).unwrap()).public_key(),
    ];
    for other in &others {
        // No element in common at all.
        assert!(base.elements().iter().all(|element| !other.elements().contains(element)));
        assert_ne!(other.commitment(), base.commitment());
    }
    // Elements within one key are distinct.
    let mut elements = base.elements().to_vec();
    elements.sort();
    elements.dedup();
    assert_eq!(elements.len(), params.total_digits());
    assert_eq!(PublicKey::from_elements(params, base.elements().to_vec()).unwrap(), base);
    assert_eq!(
        PublicKey::from_elements(params, base.elements()[1..].to_vec()),
        Err(WinternitzError::DigitCount { expected: 67, actual: 66 })
    );
    // The secret does not leak through Debug.
    let secret = format!("{:?}", SecretKey::derive(&SEED, b"claim", 3, params));
    assert!(secret.starts_with("SecretKey { params: Params") && secret.ends_with(".. }"), "{secret}");
}

#[test]
fn equivocation_is_detected_only_for_two_valid_signatures_on_different_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for bits in [3, 4, 8] {
        let params = Params::new(bits, 32).unwrap();
        let secret = key(params, 7);
        let public = secret.public_key();
        let first_message = random_message(&mut rng, 32);
        let mut second_message = first_message.clone();
        second_message[5] ^= 0x10;
        let first = secret.sign(&first_message).unwrap();
        let second = secret.sign(&second_message).unwrap();

        let equivocation = detect_equivocation(&public, &first, &second).expect("equivocation");
        assert_eq!(equivocation.messages().unwrap(), (first_message.clone(), second_message.clone()));
        assert_eq!(equivocation.digit, (5 * 8 + 3) / usize::from(bits), "w={bits}");
        assert!(equivocation.is_valid_for(&public));
        assert!(!equivocation.is_valid_for(&key(params, 8).public_key()));
        // At the differing digit both chain values lie on one chain.
        let (low, high) = (first.digits()[equivocation.digit], second.digits()[equivocation.digit]);
        let (low_value, high_value, steps) = if low < high {
            (first.chain_values()[equivocation.digit], second.chain_values()[equivocation.digit], high - low)
        } else {
            (second.chain_values()[equivocation.digit], first.chain_values()[equivocation.digit], low - high)
        };
        let mut value = low_value.to_vec();
        for _ in 0..steps {
            value = hash160(&value);
        }
        assert_eq!(value, high_value.to_vec());

        // The same message twice: nothing.
        assert_eq!(detect_equivocation(&public, &first, &secret.sign(&first_message).unwrap()), None);
        // A non-signature: nothing.
        let mut witness = second.to_witness();
        witness[0] = vec![0x55; 20];
        let forged = Signature::from_witness(params, &witness).unwrap();
        assert_eq!(detect_equivocation(&public, &first, &forged), None);
        // A raised digit with a matching chain value (checksum broken): nothing.
        let mut witness = second.to_witness();
        let index = second.digits().iter().position(|d| *d < params.max_digit()).unwrap();
        witness[2 * index] = hash160(&witness[2 * index]);
        witness[2 * index + 1] = encode_num(i64::from(second.digits()[index] + 1));
        let raised = Signature::from_witness(params, &witness).unwrap();
        assert_eq!(detect_equivocation(&public, &first, &raised), None);
        // Signatures by another key: nothing.
        let stranger = key(params, 9);
        assert_eq!(
            detect_equivocation(
                &public,
                &stranger.sign(&first_message).unwrap(),
                &stranger.sign(&second_message).unwrap()
            ),
            None
        );
    }
}

fn hash160(data: &[u8]) -> Vec<u8> {
    use bitcoin::hashes::Hash;
    bitcoin::hashes::hash160::Hash::hash(data).to_byte_array().to_vec()
}

#[test]
fn the_script_accepts_valid_signatures_and_leaves_the_message() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    for bits in 2..=8 {
        // Short messages for the wide chains (w = 8 hashes 255 times per digit).
        let lengths: &[usize] = if bits >= 7 { &[2, 5] } else { &[1, 7, 32] };
        for &len in lengths {
            let params = Params::new(bits, len).unwrap();
            let secret = key(params, u32::from(bits) * 1000 + len as u32);
            let public = secret.public_key();
            let message = random_message(&mut rng, len);
            let signature = secret.sign(&message).unwrap();
            let witness = signature.to_witness();
            let digits = &params.digits(&message).unwrap()[..params.message_digits()];

            let mut outputs = vec![(Output::Digits, digits.to_vec())];
            if 8 % bits == 0 {
                let bytes = message.iter().map(|byte| u32::from(*byte)).collect();
                outputs.push((Output::Bytes, bytes));
            }
            // The widest chunk under 31 bits that splits the digits.
            let per_chunk =
                (1..=31 / usize::from(bits)).rev().find(|c| params.message_digits() % c == 0).unwrap();
            if per_chunk > 1 {
                outputs.push((
                    Output::Chunks { digits_per_chunk: per_chunk },
                    params.chunk_values(&message, per_chunk).unwrap(),
                ));
            }
            for (output, expected) in outputs {
                let leaf = checking_leaf(&public, output, &expected);
                let run = run(&leaf, &witness);
                assert!(run.success, "w={bits} len={len} {output:?}: {run:?}");
                // A value off by one in the expected list: the in-script check fails.
                let mut wrong = expected.clone();
                let at = rng.gen_range(0..wrong.len());
                wrong[at] ^= 1;
                assert!(
                    !run_leaf(&public, output, &wrong, &witness).success,
                    "w={bits} len={len} {output:?}"
                );
            }
        }
    }
}

fn run_leaf(public: &PublicKey, output: Output, expected: &[u32], witness: &[Vec<u8>]) -> Execution {
    run(&checking_leaf(public, output, expected), witness)
}

/// A 32-byte key with w = 4, a signed random message and the leaf checking it.
struct Fixture {
    params: Params,
    secret: SecretKey,
    public: PublicKey,
    message: Vec<u8>,
    signature: Signature,
    leaf: Script,
}

fn fixture(seed: u64) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let params = Params::new(4, 32).unwrap();
    let secret = key(params, seed as u32);
    let public = secret.public_key();
    let message = random_message(&mut rng, 32);
    let signature = secret.sign(&message).unwrap();
    let bytes: Vec<u32> = message.iter().map(|byte| u32::from(*byte)).collect();
    let leaf = checking_leaf(&public, Output::Bytes, &bytes);
    Fixture { params, secret, public, message, signature, leaf }
}

#[test]
fn the_script_refuses_forged_signatures() {
    let f = fixture(5);
    let witness = f.signature.to_witness();
    assert!(run(&f.leaf, &witness).success);
    let max = i64::from(f.params.max_digit());
    let digit = |index: usize| i64::from(f.signature.digits()[index]);
    let n0 = f.params.message_digits();
    let below_max = (0..n0).find(|i| digit(*i) < max).unwrap();
    let above_zero = (0..n0).find(|i| digit(*i) > 0).unwrap();
    let refused = |name: &str, witness: &[Vec<u8>]| {
        let run = run(&f.leaf, witness);
        assert!(!run.success, "{name} accepted");
        assert_eq!(run.kernel_error.as_deref(), Some("script verification failed"), "{name}");
    };

    // A digit raised without a matching chain value.
    let mut w = witness.clone();
    w[2 * below_max + 1] = encode_num(digit(below_max) + 1);
    refused("raised digit", &w);
    // A digit lowered (would need inverting hash160).
    let mut w = witness.clone();
    w[2 * above_zero + 1] = encode_num(digit(above_zero) - 1);
    refused("lowered digit", &w);
    // A digit raised with the matching chain value: only the checksum catches it.
    let mut w = witness.clone();
    w[2 * below_max] = hash160(&w[2 * below_max]);
    w[2 * below_max + 1] = encode_num(digit(below_max) + 1);
    let raised = Signature::from_witness(f.params, &w).unwrap();
    assert!(matches!(f.public.verify(&raised), Err(WinternitzError::ChecksumMismatch { .. })));
    refused("raised digit with its chain value", &w);
    // ... and with the byte check removed (leaving the digits), still refused.
    let digits_leaf = verify_script(&f.public, Output::Digits).unwrap();
    let forged_digits: Vec<u32> = raised.message_digits().to_vec();
    assert!(!run_leaf(&f.public, Output::Digits, &forged_digits, &w).success);
    assert!(digits_leaf.len() < f.leaf.len());
    // A chain value from another key (the same digit, validly signed there).
    let other = key(f.params, 12_345).sign(&f.message).unwrap().to_witness();
    let mut w = witness.clone();
    w[2 * below_max] = other[2 * below_max].clone();
    refused("chain value of another key", &w);
    // A whole signature by another key.
    refused("signature of another key", &other);
    // A checksum digit tampered: raised with its chain value hashed forward.
    let last = f.params.total_digits() - 1;
    let mut w = witness.clone();
    let checksum_digit = digit(last);
    if checksum_digit < max {
        w[2 * last] = hash160(&w[2 * last]);
        w[2 * last + 1] = encode_num(checksum_digit + 1);
    } else {
        w[2 * last + 1] = encode_num(checksum_digit - 1);
    }
    refused("checksum tampered", &w);
    // A checksum digit raised to M with the public key element as chain value.
    let mut w = witness.clone();
    let first_checksum = f.params.message_digits();
    assert!(digit(first_checksum) < max);
    w[2 * first_checksum] = f.public.elements()[first_checksum].to_vec();
    w[2 * first_checksum + 1] = encode_num(max);
    refused("checksum digit at M with the key element", &w);
    // Out-of-range digits: above M (read as M, so the chain value must be the key
    // element) and negative.
    let mut w = witness.clone();
    w[2 * below_max + 1] = encode_num(max + 1);
    refused("digit M + 1", &w);
    let mut w = witness.clone();
    w[2 * below_max] = f.public.elements()[below_max].to_vec();
    w[2 * below_max + 1] = encode_num(max + 1);
    refused("digit M + 1 with the key element", &w);
    let mut w = witness.clone();
    w[2 * below_max + 1] = encode_num(-1);
    refused("negative digit", &w);
    // Truncated witnesses: the bottom element, the top element, the top pair.
    refused("bottom element missing", &witness[1..]);
    refused("top element missing", &witness[..witness.len() - 1]);
    refused("top pair missing", &witness[..witness.len() - 2]);
    // A 19-byte chain value.
    let mut w = witness.clone();
    w[0].pop();
    refused("short chain value", &w);
    // The honest signature of another message under the same key.
    let mut other_message = f.message.clone();
    other_message[0] ^= 0x80;
    refused("signature on another message", &f.secret.sign(&other_message).unwrap().to_witness());
}

#[test]
fn a_digit_above_the_maximum_reads_as_the_maximum_in_script_and_natively() {
    // 0xf0: digits [15, 0]; the witness may say 15 or anything above for digit 0.
    let params = Params::new(4, 1).unwrap();
    let secret = key(params, 77);
    let public = secret.public_key();
    let signature = secret.sign(&[0xf0]).unwrap();
    assert_eq!(signature.digits()[..2], [15, 0]);
    let leaf = checking_leaf(&public, Output::Bytes, &[0xf0]);
    for encoded in [encode_num(15), encode_num(16), encode_num(1000), vec![15, 0]] {
        let mut witness = signature.to_witness();
        witness[1] = encoded.clone();
        assert!(run(&leaf, &witness).success, "{encoded:?}");
        assert_eq!(public.verify(&Signature::from_witness(params, &witness).unwrap()).unwrap(), vec![0xf0]);
    }
    // Above 4 bytes the interpreter refuses the number, and so does the parser.
    let mut witness = signature.to_witness();
    witness[1] = vec![15, 0, 0, 0, 0];
    assert!(!run(&leaf, &witness).success);
    assert_eq!(Signature::from_witness(params, &witness), Err(WinternitzError::DigitEncoding { index: 0 }));
}

#[test]
fn the_longest_messages_verify_within_the_stack_limit() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for (bits, len) in [(4, 243), (3, 184)] {
        let params = Params::new(bits, len).unwrap();
        let secret = key(params, 1);
        let message = random_message(&mut rng, len);
        let witness = secret.sign(&message).unwrap().to_witness();
        let digits = params.digits(&message).unwrap()[..params.message_digits()].to_vec();
        let run = run(&checking_leaf(&secret.public_key(), Output::Digits, &digits), &witness);
        assert!(run.success, "w={bits} len={len}: {run:?}");
        // One witness element more (pushed below everything; the leaf would consume
        // it at the end) breaks the 1000-element limit at the peak.
        let leaf = verify_script(&secret.public_key(), Output::Digits)
            .unwrap()
            .for_each(params.message_digits(), |_| Script::new().op(bitcoin::opcodes::all::OP_DROP));
        let limit = 1000 - (2 * params.total_digits() + params.max_digit() as usize + 2);
        assert_eq!(limit, if bits == 4 { 3 } else { 1 });
        let mut over = vec![vec![]; limit + 1];
        over.extend(witness.iter().cloned());
        let mut at = vec![vec![]; limit];
        at.extend(witness.iter().cloned());
        let ok =
            leaf.clone().for_each(limit, |_| Script::new().op(bitcoin::opcodes::all::OP_DROP)).op(OP_TRUE);
        let over_leaf =
            leaf.for_each(limit + 1, |_| Script::new().op(bitcoin::opcodes::all::OP_DROP)).op(OP_TRUE);
        assert!(execute(&ok, &at).unwrap().success, "w={bits}: at the limit");
        assert!(!execute(&over_leaf, &over).unwrap().success, "w={bits}: one over the limit");
    }
}

/// Script and witness sizes per width for a 32-byte message (the default's
/// justification). Witness bytes count each element's length prefix.
#[test]
fn script_and_witness_sizes_per_width() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let message = random_message(&mut rng, 32);
    println!("| w | n0 | n1 | script (digits) | script (bytes) | witness | total/byte | tx weight |");
    let mut totals = Vec::new();
    for bits in 2..=8u8 {
        let params = Params::new(bits, 32).unwrap();
        let secret = key(params, 2);
        let signature = secret.sign(&message).unwrap();
        let witness = signature.to_witness();
        let witness_bytes: usize = witness.iter().map(|element| element.len() + 1).sum();
        let digits = verify_script(&secret.public_key(), Output::Digits).unwrap();
        let bytes = verify_script(&secret.public_key(), Output::Bytes).ok();
        let n = params.total_digits();
        let m = params.max_digit() as usize;
        // The documented size of the digits variant.
        let per_digit = 2 * m
            + m.div_ceil(2)
            + 29
            + match bits {
                2..=4 => 0,
                5 | 6 => 2,
                7 => 3,
                _ => 4,
            };
        let checksum = 1 + (params.checksum_digits() - 1) * (2 * usize::from(bits) + 2);
        let tail = 2 + encode_num(i64::from(params.max_checksum())).len() + 1;
        assert_eq!(
            digits.len(),
            n * per_digit + 3 * params.message_digits() - 1 + checksum + tail,
            "w={bits}"
        );
        let weight = execute(
            &digits
                .clone()
                .for_each(params.message_digits(), |_| Script::new().op(bitcoin::opcodes::all::OP_DROP))
                .op(OP_TRUE),
            &witness,
        )
        .unwrap();
        assert!(weight.success);
        let total = digits.len() + witness_bytes;
        totals.push((bits, total));
        println!(
            "| {bits} | {} | {} | {} | {} | {witness_bytes} | {:.1} | {} |",
            params.message_digits(),
            params.checksum_digits(),
            digits.len(),
            bytes.map_or("-".to_owned(), |script| script.len().to_string()),
            total as f64 / 32.0,
            weight.tx_weight.to_wu(),
        );
    }
    let best = totals.iter().min_by_key(|(_, total)| *total).unwrap().0;
    assert_eq!(best, DEFAULT_DIGIT_BITS, "{totals:?}");
    let params = Params::new(4, 32).unwrap();
    let public = key(params, 2).public_key();
    assert_eq!(verify_script(&public, Output::Digits).unwrap().len(), 4706);
    assert_eq!(verify_script(&public, Output::Bytes).unwrap().len(), 5090);
}
