//! BLS12-381 Fq / Fq2 gadgets against ark-bls12-381, under Bitcoin Core's interpreter.

use ark_bls12_381::{Fq, Fq2};
use ark_ff::{BigInteger, Field, PrimeField, UniformRand};
use bitcoin::opcodes::OP_TRUE;
use num_bigint::BigUint;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::bigint::{MulMod, WINDOW_BITS};
use rollup_l1::script::exec::{execute, Execution};
use rollup_l1::script::fq::{self, FQ};
use rollup_l1::script::{encode_num, Script};

fn big(x: &Fq) -> BigUint {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le())
}

fn p() -> BigUint {
    fq::modulus()
}

fn wit(x: &BigUint) -> Vec<Vec<u8>> {
    fq::fq_witness(x).unwrap()
}

/// Elements 0, 1, p−1, (p+1)/2 (so that doubling wraps), 2^24 − 1 and random ones.
fn samples(seed: u64, random: usize) -> Vec<Fq> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let half = Fq::from(2u64).inverse().unwrap();
    let mut values = vec![Fq::from(0u64), Fq::from(1u64), -Fq::from(1u64), half, Fq::from((1u64 << 24) - 1)];
    values.extend((0..random).map(|_| Fq::rand(&mut rng)));
    values
}

/// `script`, then compares the top element with `expected` and ends with OP_TRUE.
fn checked(script: &Script, expected: &[BigUint]) -> Script {
    let mut leaf = script.clone();
    // Compare from the top number down.
    for value in expected.iter().rev() {
        leaf = leaf.then(fq::fq_push(value).unwrap()).then(fq::fq_equalverify());
    }
    leaf.op(OP_TRUE)
}

fn run(leaf: &Script, witness: &[Vec<u8>]) -> Execution {
    execute(leaf, witness).unwrap()
}

fn concat(parts: &[&[Vec<u8>]]) -> Vec<Vec<u8>> {
    parts.iter().flat_map(|part| part.iter().cloned()).collect()
}

#[test]
fn modulus_and_layout_match_ark() {
    assert_eq!(p(), BigUint::from_bytes_le(&Fq::MODULUS.to_bytes_le()));
    assert_eq!(FQ.limbs(), 16);
    assert_eq!(FQ.bits(), 24);
    assert!(MulMod::new(FQ, p()).is_ok());
    let x = big(&Fq::from(123_456_789u64));
    assert_eq!(fq::fq_decode(&wit(&x)).unwrap(), x);
}

#[test]
fn add_sub_double_neg_match_ark() {
    let values = samples(1, 6);
    let add = fq::fq_add().unwrap();
    let sub = fq::fq_sub().unwrap();
    let double = fq::fq_double().unwrap();
    let neg = fq::fq_neg().unwrap();
    for (i, a) in values.iter().enumerate() {
        let b = &values[(i * 3 + 1) % values.len()];
        let w = concat(&[&wit(&big(a)), &wit(&big(b))]);
        assert!(run(&checked(&add, &[big(&(*a + b))]), &w).success, "add {i}");
        assert!(run(&checked(&sub, &[big(&(*a - b))]), &w).success, "sub {i}");
        let wa = wit(&big(a));
        assert!(run(&checked(&double, &[big(&(*a + a))]), &wa).success, "double {i}");
        assert!(run(&checked(&neg, &[big(&-*a)]), &wa).success, "neg {i}");
        // A wrong expected value fails.
        assert!(!run(&checked(&add, &[big(&(*a + b + Fq::from(1u64)))]), &w).success);
        assert!(!run(&checked(&sub, &[big(&(*a - b - Fq::from(1u64)))]), &w).success);
        assert!(!run(&checked(&neg, &[big(&(-*a + Fq::from(1u64)))]), &wa).success);
    }
    // Sums that wrap: (p−1) + (p−1), and 0 − 1.
    let m1 = -Fq::from(1u64);
    let w = concat(&[&wit(&big(&m1)), &wit(&big(&m1))]);
    assert!(run(&checked(&add, &[big(&(m1 + m1))]), &w).success);
    let w = concat(&[&wit(&BigUint::default()), &wit(&BigUint::from(1u8))]);
    assert!(run(&checked(&sub, &[big(&m1)]), &w).success);
}

#[test]
fn equality_and_is_zero() {
    let values = samples(2, 3);
    for (i, a) in values.iter().enumerate() {
        for (j, b) in values.iter().enumerate() {
            let w = concat(&[&wit(&big(a)), &wit(&big(b))]);
            let leaf =
                fq::fq_equal().then(Script::new().num(i64::from(i == j)).op(bitcoin::opcodes::all::OP_EQUAL));
            assert!(run(&leaf, &w).success, "equal {i} {j}");
            let verify = fq::fq_equalverify().op(OP_TRUE);
            assert_eq!(run(&verify, &w).success, i == j, "equalverify {i} {j}");
        }
        let leaf =
            fq::fq_is_zero().then(Script::new().num(i64::from(i == 0)).op(bitcoin::opcodes::all::OP_EQUAL));
        assert!(run(&leaf, &wit(&big(a))).success, "is_zero {i}");
    }
}

#[test]
fn equality_reads_limbs_as_numbers_whatever_their_encoding() {
    // A witness may encode a limb non-minimally (5 as [5, 0]): tapscript consensus
    // accepts it, the canonical check accepts it, so equality must too, or a
    // disprove leaf could call an honest value different.
    let a = big(&Fq::from(5u64));
    let mut padded = wit(&a);
    padded[0] = vec![5, 0];
    let check = fq::fq_verify_canonical().unwrap().then(FQ.drop()).op(OP_TRUE);
    assert!(run(&check, &padded).success, "the canonical check accepts the padded limb");
    assert_eq!(fq::fq_decode(&padded).unwrap(), a, "a watcher reads what the script reads");
    let w = concat(&[&wit(&a), &padded]);
    let equal = fq::fq_equal().then(Script::new().num(1).op(bitcoin::opcodes::all::OP_EQUAL));
    assert!(run(&equal, &w).success, "equal");
    assert!(run(&fq::fq_equalverify().op(OP_TRUE), &w).success, "equalverify");
    // A padded limb of a different value is still different.
    let mut other = padded.clone();
    other[0] = vec![6, 0];
    let w = concat(&[&wit(&a), &other]);
    let different = fq::fq_equal().then(Script::new().num(0).op(bitcoin::opcodes::all::OP_EQUAL));
    assert!(run(&different, &w).success, "different");
    assert!(!run(&fq::fq_equalverify().op(OP_TRUE), &w).success, "equalverify different");
    // The multiply's remainder may be padded too and still be the right one.
    let b = big(&Fq::from(7u64));
    let mut hint = fq::fq_mul_hint(&a, &b).unwrap();
    assert_eq!(hint[0], encode_num(35));
    hint[0] = vec![35, 0];
    let leaf =
        fq::fq_mul().unwrap().then(fq::fq_push(&BigUint::from(35u8)).unwrap()).then(fq::fq_equalverify());
    assert!(run(&leaf.op(OP_TRUE), &concat(&[&hint, &wit(&a), &wit(&b)])).success, "padded remainder");
}

#[test]
fn verify_canonical_accepts_canonical_and_refuses_the_rest() {
    let leaf = fq::fq_verify_canonical().unwrap().then(FQ.drop()).op(OP_TRUE);
    for a in samples(3, 3) {
        assert!(run(&leaf, &wit(&big(&a))).success);
    }
    assert!(!run(&leaf, &wit(&p())).success, "p");
    assert!(!run(&leaf, &wit(&(p() + 1u8))).success, "p + 1");
    // A limb of 2^24 (same value as a canonical element, non-normalised limbs).
    let mut limbs = wit(&BigUint::from(1u64 << 24));
    limbs[0] = encode_num(1 << 24);
    limbs[1] = encode_num(0);
    assert!(!run(&leaf, &limbs).success, "limb 2^24");
    let mut negative = wit(&BigUint::from(5u8));
    negative[0] = encode_num(-1);
    assert!(!run(&leaf, &negative).success, "negative limb");
}

fn mul_witness(a: &BigUint, b: &BigUint) -> Vec<Vec<u8>> {
    concat(&[&fq::fq_mul_hint(a, b).unwrap(), &wit(a), &wit(b)])
}

#[test]
fn mul_and_square_match_ark() {
    let mul = fq::fq_mul().unwrap();
    let square = fq::fq_square().unwrap();
    let values = samples(4, 8);
    for (i, a) in values.iter().enumerate() {
        let b = &values[(i * 5 + 2) % values.len()];
        let (ba, bb) = (big(a), big(b));
        let result = run(&checked(&mul, &[big(&(*a * b))]), &mul_witness(&ba, &bb));
        assert!(result.success, "mul {i}: {result:?}");
        let w = concat(&[&fq::fq_square_hint(&ba).unwrap(), &wit(&ba)]);
        assert!(run(&checked(&square, &[big(&a.square())]), &w).success, "square {i}");
        assert!(!run(&checked(&mul, &[big(&(*a * b + Fq::from(1u64)))]), &mul_witness(&ba, &bb)).success);
    }
    // (p−1)² and (p−1)·2^383-ish edge: largest quotient.
    let m1 = big(&-Fq::from(1u64));
    assert!(run(&checked(&mul, &[BigUint::from(1u8)]), &mul_witness(&m1, &m1)).success);
}

/// A hint `(r, q)` with the given limbs replaced, as witness.
fn mul_witness_with(a: &BigUint, b: &BigUint, r: Vec<Vec<u8>>, q: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    concat(&[&r, &q, &wit(a), &wit(b)])
}

#[test]
fn mul_refuses_wrong_hints() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let a = Fq::rand(&mut rng);
    let b = Fq::rand(&mut rng);
    let (ba, bb) = (big(&a), big(&b));
    let mul = fq::fq_mul().unwrap();
    let gadget = MulMod::new(FQ, p()).unwrap();
    let (q, r) = gadget.hint(&ba, &bb);
    let leaf = checked(&mul, std::slice::from_ref(&r));
    assert!(run(&leaf, &mul_witness_with(&ba, &bb, wit(&r), wit(&q))).success);
    // q off by one (both ways).
    assert!(!run(&leaf, &mul_witness_with(&ba, &bb, wit(&r), wit(&(&q + 1u8)))).success);
    assert!(!run(&leaf, &mul_witness_with(&ba, &bb, wit(&r), wit(&(&q - 1u8)))).success);
    // r + p with q − 1: the identity holds but r is not canonical.
    let leaf_big = checked(&mul, &[&r + p()]);
    assert!(!run(&leaf_big, &mul_witness_with(&ba, &bb, wit(&(&r + p())), wit(&(&q - 1u8)))).success);
    // r off by one.
    assert!(
        !run(&checked(&mul, &[&r + 1u8]), &mul_witness_with(&ba, &bb, wit(&(&r + 1u8)), wit(&q))).success
    );
    // A limb of r ≥ 2^24 with the same value (r_0 + 2^24, r_1 − 1), when r_1 > 0.
    let mut r_limbs = FQ.to_limbs(&r).unwrap();
    let k = (1..16).find(|k| r_limbs[*k] > 0).unwrap();
    r_limbs[k] -= 1;
    r_limbs[k - 1] += 1 << 24;
    let r_wide: Vec<Vec<u8>> = r_limbs.iter().map(|l| encode_num(*l)).collect();
    assert!(!run(&leaf, &mul_witness_with(&ba, &bb, r_wide, wit(&q))).success);
    // A limb of b out of range (same value, non-normalised) is refused.
    let mut b_limbs = FQ.to_limbs(&bb).unwrap();
    let k = (1..16).find(|k| b_limbs[*k] > 0).unwrap();
    b_limbs[k] -= 1;
    b_limbs[k - 1] += 1 << 24;
    let b_wide: Vec<Vec<u8>> = b_limbs.iter().map(|l| encode_num(*l)).collect();
    let w = concat(&[&wit(&r), &wit(&q), &wit(&ba), &b_wide]);
    assert!(!run(&leaf, &w).success);
    // A hint for another product.
    let other = gadget.hint(&ba, &(&bb + 1u8));
    assert!(!run(&leaf, &mul_witness_with(&ba, &bb, wit(&other.1), wit(&other.0))).success);
}

fn fq2_big(x: &Fq2) -> (BigUint, BigUint) {
    (big(&x.c0), big(&x.c1))
}

fn fq2_wit(x: &Fq2) -> Vec<Vec<u8>> {
    let (c0, c1) = fq2_big(x);
    concat(&[&wit(&c0), &wit(&c1)])
}

#[test]
fn fq2_add_sub_mul_square_match_ark() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let add = fq::fq2_add().unwrap();
    let sub = fq::fq2_sub().unwrap();
    let mul = fq::fq2_mul().unwrap();
    let square = fq::fq2_square().unwrap();
    let mut values: Vec<Fq2> = (0..4).map(|_| Fq2::rand(&mut rng)).collect();
    values.push(Fq2::new(-Fq::from(1u64), -Fq::from(1u64)));
    values.push(Fq2::new(Fq::from(0u64), Fq::from(1u64)));
    for (i, a) in values.iter().enumerate() {
        let b = &values[(i + 1) % values.len()];
        let w = concat(&[&fq2_wit(a), &fq2_wit(b)]);
        let expect = |x: Fq2| {
            let (c0, c1) = fq2_big(&x);
            vec![c0, c1]
        };
        assert!(run(&checked(&add, &expect(*a + b)), &w).success, "fq2 add {i}");
        assert!(run(&checked(&sub, &expect(*a - b)), &w).success, "fq2 sub {i}");
        let (a0, a1) = fq2_big(a);
        let (b0, b1) = fq2_big(b);
        let hints = fq::fq2_mul_hint((&a0, &a1), (&b0, &b1)).unwrap();
        let wm = concat(&[&hints, &w]);
        let result = run(&checked(&mul, &expect(*a * b)), &wm);
        assert!(result.success, "fq2 mul {i}: {result:?}");
        assert!(!run(&checked(&mul, &expect(*a * b + Fq2::from(1u64))), &wm).success);
        let hints = fq::fq2_square_hint((&a0, &a1)).unwrap();
        let ws = concat(&[&hints, &fq2_wit(a)]);
        assert!(run(&checked(&square, &expect(a.square())), &ws).success, "fq2 square {i}");
        assert!(!run(&checked(&square, &expect(a.square() + Fq2::from(1u64))), &ws).success);
    }
}

#[test]
fn several_muls_fit_one_leaf() {
    // x ← x·y_i for 6 multiplications in one leaf; all hints and inputs in the witness.
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let count = 6;
    let ys: Vec<Fq> = (0..count).map(|_| Fq::rand(&mut rng)).collect();
    let x0 = Fq::rand(&mut rng);
    // Witness: hints (r, q) for every step, then x0, then the y_i (y_0 on top).
    let mut x = x0;
    let mut hints = Vec::new();
    for y in &ys {
        hints.push(fq::fq_mul_hint(&big(&x), &big(y)).unwrap());
        x *= y;
    }
    let mut witness: Vec<Vec<u8>> = Vec::new();
    for h in hints.iter().rev() {
        witness.extend(h.iter().cloned());
    }
    witness.extend(wit(&big(&x0)));
    for y in ys.iter().rev() {
        witness.extend(wit(&big(y)));
    }
    // Stack numbers (from the top): y_0 .. y_{c-1}, x0, h_0(q, r), h_1 ...
    let mul = fq::fq_mul().unwrap();
    let mut leaf = Script::new();
    for i in 0..count {
        // Remaining y: count - i numbers on top, then x, then the hint (r, q) of step i.
        let ys_left = count - i;
        // Numbers from the top: (step 0) y_i.., x, q_i, r_i; (later) x, y_i.., q_i, r_i.
        leaf = leaf.then(FQ.roll(ys_left + 2)).then(FQ.roll(ys_left + 2)); // r_i, q_i
        leaf = if i == 0 { leaf.then(FQ.roll(ys_left + 2)) } else { leaf.then(FQ.roll(2)) }; // x
        leaf = leaf.then(FQ.roll(3)).then(mul.clone()); // y_i, then x·y_i on top
    }
    let leaf = checked(&leaf, &[big(&x)]);
    let result = run(&leaf, &witness);
    assert!(result.success, "{result:?}");
    println!(
        "{count} Fq muls in one leaf: {} script bytes, {} witness bytes, {} witness items, weight {}",
        result.script_bytes,
        result.witness_bytes,
        witness.len(),
        result.tx_weight
    );
}

#[test]
fn report_sizes() {
    let gadget = MulMod::new(FQ, p()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let hint = fq::fq_mul_hint(&big(&Fq::rand(&mut rng)), &big(&Fq::rand(&mut rng))).unwrap();
    let sizes = [
        ("fq_add", fq::fq_add().unwrap().len()),
        ("fq_sub", fq::fq_sub().unwrap().len()),
        ("fq_double", fq::fq_double().unwrap().len()),
        ("fq_neg", fq::fq_neg().unwrap().len()),
        ("fq_mul", fq::fq_mul().unwrap().len()),
        ("fq_square", fq::fq_square().unwrap().len()),
        ("fq_equal", fq::fq_equal().len()),
        ("fq_equalverify", fq::fq_equalverify().len()),
        ("fq_is_zero", fq::fq_is_zero().len()),
        ("fq_verify_canonical", fq::fq_verify_canonical().unwrap().len()),
        ("fq2_add", fq::fq2_add().unwrap().len()),
        ("fq2_sub", fq::fq2_sub().unwrap().len()),
        ("fq2_mul", fq::fq2_mul().unwrap().len()),
        ("fq2_square", fq::fq2_square().unwrap().len()),
    ];
    for (name, bytes) in sizes {
        println!("{name}: {bytes} bytes");
    }
    println!(
        "fq_mul peak items (incl. its 64 inputs): {}; hint: {} elements, {} bytes; window {} bits",
        gadget.peak_items().unwrap(),
        hint.len(),
        hint.iter().map(Vec::len).sum::<usize>(),
        WINDOW_BITS
    );
    assert!(fq::fq_mul().unwrap().len() < 100_000);
}

#[test]
fn generic_bigint_add_sub_lt_pick_roll() {
    use rand::Rng;
    use rollup_l1::script::bigint::Limbs;
    let layout = Limbs::new(10, 29).unwrap();
    assert!(Limbs::new(10, 30).is_none());
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let top = BigUint::from(1u8) << 289usize; // values below 2^289 so a + b fits 290 bits
    let w = |x: &BigUint| layout.witness(x).unwrap();
    let push = |x: &BigUint| layout.push(x).unwrap();
    for round in 0..6 {
        let mut draw = || {
            let bytes: Vec<u8> = (0..37).map(|_| rng.gen()).collect();
            BigUint::from_bytes_le(&bytes) % &top
        };
        let (a, mut b) = (draw(), draw());
        if round == 0 {
            b = a.clone();
        }
        let witness = concat(&[&w(&a), &w(&b)]);
        // add: [a, b] -> [a + b]
        let leaf = layout.add().then(push(&(&a + &b))).then(layout.equalverify()).op(OP_TRUE);
        assert!(run(&leaf, &witness).success, "add {round}");
        let wrong = layout.add().then(push(&(&a + &b + 1u8))).then(layout.equalverify()).op(OP_TRUE);
        assert!(!run(&wrong, &witness).success);
        // sub: [a, b] -> [(a - b) mod 2^290, a >= b]
        let modulus = BigUint::from(1u8) << 290usize;
        let diff = (&a + &modulus - &b) % &modulus;
        let leaf = layout
            .sub()
            .then(Script::new().num(i64::from(a >= b)).op(bitcoin::opcodes::all::OP_EQUALVERIFY))
            .then(push(&diff))
            .then(layout.equalverify())
            .op(OP_TRUE);
        assert!(run(&leaf, &witness).success, "sub {round}");
        // lt, both ways.
        let lt = layout.lt().then(Script::new().num(i64::from(a < b)).op(bitcoin::opcodes::all::OP_EQUAL));
        assert!(run(&lt, &witness).success, "lt {round}");
        let gt = layout.lt().then(Script::new().num(i64::from(b < a)).op(bitcoin::opcodes::all::OP_EQUAL));
        assert!(run(&gt, &concat(&[&w(&b), &w(&a)])).success, "lt swapped {round}");
        // pick(1) copies a over b; roll(1) swaps them.
        let leaf = layout
            .pick(1)
            .then(push(&a))
            .then(layout.equalverify())
            .then(layout.roll(1))
            .then(push(&a))
            .then(layout.equalverify())
            .then(push(&b))
            .then(layout.equalverify())
            .op(OP_TRUE);
        assert!(run(&leaf, &witness).success, "pick/roll {round}");
        // toaltstack / fromaltstack round trip and limb range check.
        let leaf = layout
            .verify_limbs()
            .then(layout.toaltstack())
            .then(layout.drop())
            .then(layout.fromaltstack())
            .then(push(&b))
            .then(layout.equalverify())
            .op(OP_TRUE);
        assert!(run(&leaf, &witness).success, "alt {round}");
    }
    // verify_limbs refuses a limb of 2^29.
    let mut limbs = w(&BigUint::from(7u8));
    limbs[3] = encode_num(1 << 29);
    assert!(!run(&layout.verify_limbs().then(layout.drop()).op(OP_TRUE), &limbs).success);
}
