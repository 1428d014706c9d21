//! The R1CS backend against the native one: same values on seeded random and edge
//! inputs, satisfied constraints, rejected tampering, identical constraints in
//! setup mode, and the constraint cost of each operation.

use ark_bls12_381::Fr;
use ark_ff::{One, UniformRand, Zero};
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisMode};
use num_bigint::BigUint;
use plonky2::field::extension::FieldExtension;
use plonky2::field::types::{Field, PrimeField64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rollup_wrap::algebra::{self, Algebra, Backend, Gl, GlExt, Native, GOLDILOCKS_ORDER};
use rollup_wrap::r1cs::{Base, R1cs};

// ---------------------------------------------------------------------------
// Harness.

/// Reading values back, for both backends.
trait Read: Backend {
    fn base(&self, a: &Self::Base) -> Gl;
    fn ext(&self, a: &Self::Ext) -> GlExt;
    fn scalar(&self, a: &Self::Fr) -> Fr;
    fn bit(&self, a: &Self::Bool) -> bool;
}

impl Read for Native {
    fn base(&self, a: &Gl) -> Gl {
        *a
    }
    fn ext(&self, a: &GlExt) -> GlExt {
        *a
    }
    fn scalar(&self, a: &Fr) -> Fr {
        *a
    }
    fn bit(&self, a: &bool) -> bool {
        *a
    }
}

impl Read for R1cs {
    fn base(&self, a: &Base) -> Gl {
        a.value().unwrap()
    }
    fn ext(&self, a: &rollup_wrap::r1cs::Ext) -> GlExt {
        a.value().unwrap()
    }
    fn scalar(&self, a: &FpVar<Fr>) -> Fr {
        a.value().unwrap()
    }
    fn bit(&self, a: &Boolean<Fr>) -> bool {
        a.value().unwrap()
    }
}

fn prover() -> (ConstraintSystemRef<Fr>, R1cs) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    (cs.clone(), R1cs::new(cs))
}

fn setup() -> (ConstraintSystemRef<Fr>, R1cs) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    (cs.clone(), R1cs::new(cs))
}

const P: u64 = GOLDILOCKS_ORDER;

fn parts(e: GlExt) -> [Gl; 2] {
    FieldExtension::<2>::to_basefield_array(&e)
}

fn gl(v: u64) -> Gl {
    Gl::from_canonical_u64(v)
}

/// Edge values first, then random ones.
fn random_gl(rng: &mut ChaCha8Rng) -> Gl {
    const EDGES: [u64; 8] = [0, 1, 2, P - 1, P - 2, 1 << 32, (1 << 32) - 1, P >> 1];
    if rng.gen_bool(0.3) {
        gl(EDGES[rng.gen_range(0..EDGES.len())])
    } else {
        gl(rng.gen_range(0..P))
    }
}

fn random_ext(rng: &mut ChaCha8Rng) -> GlExt {
    GlExt::from_basefield_array([random_gl(rng), random_gl(rng)])
}

fn nonzero_ext(rng: &mut ChaCha8Rng) -> GlExt {
    loop {
        let e = random_ext(rng);
        if e != GlExt::ZERO {
            return e;
        }
    }
}

fn assert_satisfied(cs: &ConstraintSystemRef<Fr>, r1cs: &R1cs) {
    assert_eq!(r1cs.failure(), None);
    assert!(r1cs.synthesis_error().is_none());
    assert_eq!(cs.which_is_unsatisfied().unwrap(), None);
}

// Programs are written once, generic over the backend, and compared. The
// arguments are evaluated twice: pass variables.
macro_rules! compare {
    ($program:ident, $($arg:expr),*) => {{
        let mut native = Native::new();
        let expected = $program(&mut native, $($arg),*);
        assert_eq!(native.failure(), None);
        let (cs, mut r1cs) = prover();
        let got = $program(&mut r1cs, $($arg),*);
        assert_eq!(got, expected);
        assert_satisfied(&cs, &r1cs);
        got
    }};
}

/// Adds one to each witness of `range` in turn and checks that the constraint
/// system then fails (and holds again once restored).
fn each_witness_tamper_rejected(cs: &ConstraintSystemRef<Fr>, range: core::ops::Range<usize>) {
    assert!(!range.is_empty());
    for index in range {
        let original = cs.borrow().unwrap().witness_assignment[index];
        cs.borrow_mut().unwrap().witness_assignment[index] = original + Fr::one();
        assert!(!cs.is_satisfied().unwrap(), "tampering with witness {index} went unnoticed");
        cs.borrow_mut().unwrap().witness_assignment[index] = original;
    }
    assert!(cs.is_satisfied().unwrap());
}

fn set_witness(cs: &ConstraintSystemRef<Fr>, index: usize, value: Fr) {
    cs.borrow_mut().unwrap().witness_assignment[index] = value;
}

/// Writes the little-endian bits of `value` into `count` witnesses from `from`.
fn set_bits(cs: &ConstraintSystemRef<Fr>, from: usize, count: usize, value: &BigUint) {
    for i in 0..count {
        set_witness(cs, from + i, Fr::from(value.bit(i as u64)));
    }
}

// ---------------------------------------------------------------------------
// Agreement with the native backend.

fn base_program<B: Read>(b: &mut B, x: Gl, y: Gl, c: Gl) -> Vec<Gl> {
    let wx = b.witness_base(x);
    let wy = b.witness_base(y);
    let k = b.base_constant(c);
    let mut out = vec![
        b.base_add(&wx, &wy),
        b.base_sub(&wx, &wy),
        b.base_sub(&wy, &wx),
        b.base_mul(&wx, &wy),
        b.base_scale(&wx, c),
        b.base_scale(&wx, -Gl::ONE),
        b.base_scale(&wy, gl(7)),
        b.base_mul(&wx, &k),
        b.base_mul(&k, &k),
        b.base_add(&k, &wx),
        b.base_sub(&k, &wy),
        b.base_sub(&wx, &k),
    ];
    // Products of lazy values, squares, reductions forced by bounds.
    let xy = b.base_mul(&wx, &wy);
    let s = b.base_sub(&xy, &wx);
    let t = b.base_mul(&s, &xy);
    let u = b.base_mul(&t, &t);
    let v = b.base_mul(&u, &s);
    out.extend([s.clone(), t.clone(), u.clone(), v.clone()]);
    // Equalities that hold, across representations.
    let expected = b.witness_base(x * y);
    b.base_assert_equal(&xy, &expected, "x·y");
    b.base_assert_equal(&expected, &xy, "x·y reversed");
    let v_again = b.witness_base(b.base(&v));
    b.base_assert_equal(&v, &v_again, "v");
    let zero = b.base_sub(&v, &v_again);
    let zero_constant = b.base_constant(Gl::ZERO);
    b.base_assert_equal(&zero, &zero_constant, "zero");
    out.into_iter().map(|value| b.base(&value)).collect()
}

#[test]
fn base_operations_agree_with_native() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let edges = [0, 1, P - 1];
    for &x in &edges {
        for &y in &edges {
            compare!(base_program, gl(x), gl(y), gl(P - 1));
        }
    }
    for _ in 0..20 {
        let (x, y, c) = (random_gl(&mut rng), random_gl(&mut rng), random_gl(&mut rng));
        compare!(base_program, x, y, c);
    }
}

fn ext_program<B: Read>(b: &mut B, x: GlExt, y: GlExt, c: GlExt, e: u64) -> Vec<GlExt> {
    let wx = b.witness_ext(x);
    let wy = b.witness_ext(y);
    let [y0, _] = b.ext_parts(&wy);
    let k = b.ext_constant(c);
    let y_base = b.ext_from_base(&y0);
    let mut out = vec![
        b.add(&wx, &wy),
        b.sub(&wx, &wy),
        b.mul(&wx, &wy),
        b.square(&wx),
        b.mul(&wx, &wx),
        b.mul_base(&wx, &y0),
        b.mul(&wx, &y_base),
        b.scale(&wx, c),
        b.mul(&wx, &k),
        b.mul(&k, &wy),
        b.add_constant(&wx, c),
        b.exp_u64(&wx, e),
        b.sum(&[wx.clone(), wy.clone(), k.clone()]),
        b.reduce_with_powers(&[wx.clone(), wy.clone(), k.clone(), wx.clone()], &wy),
        b.div(&wx, &wy, "x / y"),
        b.div(&k, &wy, "c / y"),
    ];
    if c != GlExt::ZERO {
        out.push(b.div(&wx, &k, "x / c"));
    }
    let [x0, x1] = b.ext_parts(&wx);
    let rebuilt = b.ext_from_parts(&x1, &x0);
    out.push(rebuilt.clone());
    // Selection on the bits of a coordinate.
    let bits = b.base_to_bits(&x0);
    let first = b.select_ext(&bits[0], &wx, &wy);
    let second = b.select_ext(&bits[1], &rebuilt, &k);
    let same = b.select_ext(&bits[2], &wx, &wx);
    out.extend([first, second, same]);
    // A quotient multiplied back.
    let q = b.div(&wx, &wy, "x / y");
    let back = b.mul(&q, &wy);
    b.assert_equal(&back, &wx, "q·y = x");
    let expected = b.witness_ext(x * y);
    let product = b.mul(&wx, &wy);
    b.assert_equal(&product, &expected, "x·y");
    out.into_iter().map(|value| b.ext(&value)).collect()
}

#[test]
fn extension_operations_agree_with_native() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let edges = [
        GlExt::ONE,
        GlExt::from_basefield_array([gl(P - 1), gl(P - 1)]),
        GlExt::from_basefield_array([Gl::ZERO, gl(1)]),
        GlExt::from_basefield_array([gl(P - 1), Gl::ZERO]),
    ];
    for &x in &edges {
        for &y in &edges {
            compare!(ext_program, x, y, edges[0], 5);
        }
    }
    for _ in 0..8 {
        let (x, y, c) = (random_ext(&mut rng), nonzero_ext(&mut rng), random_ext(&mut rng));
        let e = rng.gen::<u64>();
        compare!(ext_program, x, y, c, e);
    }
    // A zero numerator divides fine.
    compare!(ext_program, GlExt::ZERO, edges[1], GlExt::ZERO, 0);
}

/// Hundreds of lazy operations on a pool of values, none reduced explicitly.
fn chain_program<B: Read>(b: &mut B, seed: u64, steps: usize) -> Vec<GlExt> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pool: Vec<B::Ext> = (0..6)
        .map(|_| {
            let value = random_ext(&mut rng);
            b.witness_ext(value)
        })
        .collect();
    for _ in 0..steps {
        let i = rng.gen_range(0..pool.len());
        let j = rng.gen_range(0..pool.len());
        let result = match rng.gen_range(0..7) {
            0 => b.add(&pool[i], &pool[j]),
            1 => b.sub(&pool[i], &pool[j]),
            2 | 3 => b.mul(&pool[i], &pool[j]),
            4 => b.square(&pool[i]),
            5 => {
                let c = random_ext(&mut rng);
                b.scale(&pool[i], c)
            }
            _ => {
                let [part, _] = b.ext_parts(&pool[j]);
                b.mul_base(&pool[i], &part)
            }
        };
        let slot = rng.gen_range(0..pool.len());
        pool[slot] = result;
    }
    // Check every value against a fresh witness of what the native backend says.
    for value in &pool {
        let witnessed = b.witness_ext(b.ext(value));
        b.assert_equal(value, &witnessed, "chain value");
    }
    pool.iter().map(|value| b.ext(value)).collect()
}

#[test]
fn long_lazy_chains_stay_correct() {
    for seed in 0..4 {
        compare!(chain_program, seed, 400);
    }
    // Additions only: bounds grow slowly, no reduction at all.
    let (cs, mut r1cs) = prover();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let values: Vec<Gl> = (0..300).map(|_| random_gl(&mut rng)).collect();
    let mut acc = r1cs.base_constant(Gl::ZERO);
    let mut expected = Gl::ZERO;
    for (i, value) in values.iter().enumerate() {
        let w = r1cs.witness_base(*value);
        acc = if i % 3 == 2 { r1cs.base_sub(&acc, &w) } else { r1cs.base_add(&acc, &w) };
        expected = if i % 3 == 2 { expected - *value } else { expected + *value };
    }
    assert_eq!(r1cs.stats().reductions, 0);
    assert_eq!(acc.value(), Some(expected));
    let product = r1cs.base_mul(&acc, &acc);
    assert_eq!(product.value(), Some(expected * expected));
    assert_satisfied(&cs, &r1cs);
}

fn bits_program<B: Read>(b: &mut B, x: Gl, y: Gl) -> (Vec<bool>, Vec<bool>, Vec<bool>, Vec<Gl>) {
    let wx = b.witness_base(x);
    let wy = b.witness_base(y);
    let witnessed_bits = b.base_to_bits(&wx);
    let product = b.base_mul(&wx, &wy);
    let lazy = b.base_sub(&product, &wx);
    let lazy_bits = b.base_to_bits(&lazy);
    let constant = b.base_constant(y);
    let constant_bits = b.base_to_bits(&constant);
    let read = |b: &B, bits: &[B::Bool]| bits.iter().map(|bit| b.bit(bit)).collect::<Vec<_>>();
    let as_base: Vec<Gl> = lazy_bits
        .iter()
        .take(3)
        .chain(witnessed_bits.iter().take(1))
        .map(|bit| {
            let base = b.bool_to_base(bit);
            b.base(&base)
        })
        .collect();
    (read(b, &witnessed_bits), read(b, &lazy_bits), read(b, &constant_bits), as_base)
}

#[test]
fn bits_agree_with_native() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (x, y) in [(0, 0), (P - 1, P - 1), (1, P - 1), ((1 << 32) - 1, 1 << 32)] {
        compare!(bits_program, gl(x), gl(y));
    }
    for _ in 0..20 {
        let (x, y) = (random_gl(&mut rng), random_gl(&mut rng));
        compare!(bits_program, x, y);
    }
}

fn random_scalar(rng: &mut ChaCha8Rng) -> Fr {
    let modulus_minus_one = -Fr::one();
    match rng.gen_range(0..6) {
        0 => Fr::zero(),
        1 => modulus_minus_one,
        // Chunks at or above p, and the largest values with a zero chunk.
        2 => Fr::from(BigUint::from(u64::MAX) | (BigUint::from(P) << 64) | (BigUint::from(P - 1) << 128)),
        _ => Fr::rand(rng),
    }
}

fn scalar_program<B: Read>(b: &mut B, s: Fr, t: Fr, values: [Gl; 3]) -> (Vec<Gl>, Vec<Gl>, Vec<Fr>) {
    let ws = b.witness_fr(s);
    let wt = b.witness_fr(t);
    let constant = b.fr_constant(s);
    let mut chunks = b.unpack(&ws).to_vec();
    chunks.extend(b.unpack(&constant));
    let mut limbs = b.digest_limbs(&wt).to_vec();
    limbs.extend(b.digest_limbs(&constant));
    let bases: Vec<B::Base> = values.iter().map(|v| b.witness_base(*v)).collect();
    let lazy = b.base_mul(&bases[0], &bases[1]);
    let lazy = b.base_sub(&lazy, &bases[2]);
    let c = b.base_constant(values[2]);
    let mut scalars = vec![
        b.pack(&bases),
        b.pack(&bases[..1]),
        b.pack(&[]),
        b.pack(&[lazy.clone(), c.clone(), chunks[0].clone()]),
        b.pack(&[limbs[1].clone(), lazy]),
        b.pack(&[c]),
    ];
    // Round trips: the chunks of a packing are the packed values.
    let packed = b.pack(&bases);
    let unpacked = b.unpack(&packed);
    for (chunk, base) in unpacked.iter().zip(&bases) {
        b.base_assert_equal(chunk, base, "unpack(pack(x)) = x");
    }
    let bits = b.base_to_bits(&bases[0]);
    scalars.push(b.select_fr(&bits[0], &ws, &wt));
    scalars.push(b.select_fr(&bits[1], &ws, &constant));
    b.assert_fr_equal(&ws, &constant, "s = s");
    let chunks = chunks.iter().map(|v| b.base(v)).collect();
    let limbs = limbs.iter().map(|v| b.base(v)).collect();
    let scalars = scalars.iter().map(|v| b.scalar(v)).collect();
    (chunks, limbs, scalars)
}

#[test]
fn scalars_agree_with_native() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for round in 0..12 {
        let s = random_scalar(&mut rng);
        let t = if round == 0 { -Fr::one() } else { random_scalar(&mut rng) };
        let values = [random_gl(&mut rng), random_gl(&mut rng), random_gl(&mut rng)];
        let (chunks, limbs, _) = compare!(scalar_program, s, t, values);
        assert_eq!(chunks[..3], algebra::unpack(&s));
        assert_eq!(limbs[..5], algebra::digest_limbs(&t));
    }
}

// ---------------------------------------------------------------------------
// Tampering.

#[test]
fn a_non_canonical_witness_is_rejected() {
    for v in [0, 1, 5, (1 << 32) - 2] {
        let (cs, mut r1cs) = prover();
        let start = cs.num_witness_variables();
        r1cs.witness_base(gl(v));
        let end = cs.num_witness_variables();
        assert_eq!(end - start, 65);
        // Another canonical value is just another witness; a bit that is not a
        // bit, or a wrong helper, is rejected.
        for i in 0..64 {
            set_witness(&cs, start + i, Fr::from(2u64));
            assert!(!cs.is_satisfied().unwrap());
            set_witness(&cs, start + i, Fr::from((v >> i) & 1));
        }
        assert!(cs.is_satisfied().unwrap());
        let w = cs.borrow().unwrap().witness_assignment[start + 64];
        set_witness(&cs, start + 64, w + Fr::one());
        assert!(!cs.is_satisfied().unwrap());
        set_witness(&cs, start + 64, w);
        // The same integer plus p still fits 64 bits: only the canonical check
        // stands in the way, for any value of its helper witness.
        set_bits(&cs, start, 64, &(BigUint::from(v) + P));
        for w in [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(12345u64)] {
            set_witness(&cs, start + 64, w);
            assert!(!cs.is_satisfied().unwrap());
        }
    }
}

/// `x` with `x ≡ 5 (mod p)` and a bound near `p^2`.
fn product_congruent_to_five(r1cs: &mut R1cs) -> Base {
    let a = gl(0x1234_5678_9abc_def0);
    let b = gl(5) * a.inverse();
    let wa = r1cs.witness_base(a);
    let wb = r1cs.witness_base(b);
    r1cs.base_mul(&wa, &wb)
}

#[test]
fn a_wrong_reduction_is_rejected() {
    let (cs, mut r1cs) = prover();
    let x = product_congruent_to_five(&mut r1cs);
    let x_value = BigUint::from(0x1234_5678_9abc_def0u64)
        * BigUint::from((gl(5) * gl(0x1234_5678_9abc_def0).inverse()).to_canonical_u64());
    let (q, r) = (&x_value / P, &x_value % P);
    assert_eq!(r, BigUint::from(5u32));
    let start = cs.num_witness_variables();
    let reduced = r1cs.reduce_base(&x);
    let end = cs.num_witness_variables();
    assert_eq!(reduced.value(), Some(gl(5)));
    // 64 bits of q, then bits 1..63 of r.
    assert_eq!(end - start, 64 + 63);
    each_witness_tamper_rejected(&cs, start..end);
    // A different quotient with the same remainder breaks the equation.
    set_bits(&cs, start, 64, &(&q + 1u32));
    assert!(!cs.is_satisfied().unwrap());
    set_bits(&cs, start, 64, &q);
    assert!(cs.is_satisfied().unwrap());
    // A lazy reduction may return r + p (still below 2^64, still congruent).
    set_bits(&cs, start, 64, &(&q - 1u32));
    let r_plus_p = &r + P;
    for i in 1..64 {
        set_witness(&cs, start + 64 + i - 1, Fr::from(r_plus_p.bit(i as u64)));
    }
    assert!(cs.is_satisfied().unwrap());

    // A canonical reduction may not: the same tampering is rejected.
    let (cs, mut r1cs) = prover();
    let x = product_congruent_to_five(&mut r1cs);
    let start = cs.num_witness_variables();
    let bits = r1cs.base_to_bits(&x);
    let end = cs.num_witness_variables();
    assert_eq!(
        bits.iter().map(|b| b.value().unwrap()).collect::<Vec<_>>(),
        (0..64).map(|i| i == 0 || i == 2).collect::<Vec<_>>()
    );
    // 64 bits of r, bits 1..63 of q, the canonical check's helper.
    assert_eq!(end - start, 64 + 63 + 1);
    each_witness_tamper_rejected(&cs, start..end);
    set_bits(&cs, start, 64, &r_plus_p);
    let q_minus_one = &q - 1u32;
    for j in 1..64 {
        set_witness(&cs, start + 64 + j - 1, Fr::from(q_minus_one.bit(j as u64)));
    }
    for w in [Fr::zero(), Fr::one(), Fr::from(7u64)] {
        set_witness(&cs, end - 1, w);
        assert!(!cs.is_satisfied().unwrap());
    }
}

#[test]
fn a_tampered_bit_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // The bits of a lazy value.
    let (cs, mut r1cs) = prover();
    let a = r1cs.witness_base(random_gl(&mut rng));
    let b = r1cs.witness_base(random_gl(&mut rng));
    let product = r1cs.base_mul(&a, &b);
    let sum = r1cs.base_add(&product, &a);
    let start = cs.num_witness_variables();
    r1cs.base_to_bits(&sum);
    each_witness_tamper_rejected(&cs, start..cs.num_witness_variables());
    // The bits of a scalar, and the comparison with the modulus (whose helper
    // inverses are free when the top bits equal the modulus', as for r - 1).
    for s in [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::from(3u64), -Fr::one()] {
        let (cs, mut r1cs) = prover();
        let ws = r1cs.witness_fr(s);
        let start = cs.num_witness_variables();
        r1cs.unpack(&ws);
        let end = if s == -Fr::one() { start + 255 } else { cs.num_witness_variables() };
        each_witness_tamper_rejected(&cs, start..end);
    }
}

#[test]
fn a_wrong_product_or_selection_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (cs, mut r1cs) = prover();
    let x = r1cs.witness_ext(nonzero_ext(&mut rng));
    let y = r1cs.witness_ext(nonzero_ext(&mut rng));
    let start = cs.num_witness_variables();
    let product = r1cs.mul(&x, &y);
    let square = r1cs.square(&x);
    let bit = r1cs.base_to_bits(&x.parts()[0])[0].clone();
    let selected = r1cs.select_ext(&bit, &product, &square);
    let quotient = r1cs.div(&selected, &y, "div");
    let expected = r1cs.witness_ext(quotient.value().unwrap());
    r1cs.assert_equal(&quotient, &expected, "quotient");
    each_witness_tamper_rejected(&cs, start..cs.num_witness_variables());
}

#[test]
fn division_by_zero_is_unsatisfiable() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for numerator in [GlExt::ZERO, nonzero_ext(&mut rng)] {
        let (cs, mut r1cs) = prover();
        let a = r1cs.witness_ext(numerator);
        let zero = r1cs.witness_ext(GlExt::ZERO);
        let start = cs.num_witness_variables();
        r1cs.div(&a, &zero, "division by zero");
        let end = cs.num_witness_variables();
        assert_eq!(r1cs.failure(), Some("division by zero"));
        assert!(!cs.is_satisfied().unwrap());
        // Whatever the prover puts in place of the inverse.
        for _ in 0..20 {
            let inverse = parts(random_ext(&mut rng));
            for (c, value) in inverse.iter().enumerate() {
                set_bits(&cs, start + 64 * c, 64, &BigUint::from(value.to_canonical_u64()));
            }
            assert!(!cs.is_satisfied().unwrap());
        }
        assert!(end > start + 128);
        // A constant zero divisor too.
        let (cs, mut r1cs) = prover();
        let a = r1cs.witness_ext(numerator);
        let zero = r1cs.ext_constant(GlExt::ZERO);
        r1cs.div(&a, &zero, "by constant zero");
        assert_eq!(r1cs.failure(), Some("by constant zero"));
        assert!(!cs.is_satisfied().unwrap());
    }
}

#[test]
fn failed_assertions_are_recorded_and_unsatisfiable() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let x = random_ext(&mut rng);
    let y = x + GlExt::ONE;
    type Check = fn(&mut R1cs, GlExt, GlExt);
    let checks: [(&str, Check); 8] = [
        ("ext", |r, x, y| {
            let (a, b) = (r.witness_ext(x), r.witness_ext(y));
            r.assert_equal(&a, &b, "ext");
        }),
        ("base", |r, x, _| {
            let a = r.witness_ext(x);
            let square = r.mul(&a, &a);
            let plus_one = r.add_constant(&square, GlExt::ONE);
            r.base_assert_equal(&square.parts()[0], &plus_one.parts()[0], "base");
        }),
        ("base constant", |r, _, _| {
            let (a, b) = (r.base_constant(gl(1)), r.base_constant(gl(2)));
            r.base_assert_equal(&a, &b, "base constant");
        }),
        ("fr", |r, _, _| {
            let (a, b) = (r.witness_fr(Fr::from(5u64)), r.witness_fr(Fr::from(6u64)));
            r.assert_fr_equal(&a, &b, "fr");
        }),
        ("fr constant", |r, _, _| {
            let (a, b) = (r.fr_constant(Fr::one()), r.fr_constant(Fr::zero()));
            r.assert_fr_equal(&a, &b, "fr constant");
        }),
        ("false", |r, _, _| {
            let one = r.witness_base(gl(1));
            let bits = r.base_to_bits(&one);
            r.assert_false(&bits[0], "false");
        }),
        ("false constant", |r, _, _| {
            r.assert_false(&Boolean::TRUE, "false constant");
        }),
        ("pack", |r, x, _| {
            let a = r.witness_base(parts(x)[0]);
            let _ = r.pack(&[a.clone(), a.clone(), a.clone(), a]);
        }),
    ];
    for (what, check) in checks {
        let (cs, mut r1cs) = prover();
        check(&mut r1cs, x, y);
        let expected = if what == "pack" { "r1cs: pack takes at most three values" } else { what };
        assert_eq!(r1cs.failure(), Some(expected));
        assert!(!cs.is_satisfied().unwrap(), "{what}");
        // Only the first failure is reported.
        r1cs.assert_false(&Boolean::TRUE, "later");
        assert_eq!(r1cs.failure(), Some(expected));
    }
}

// ---------------------------------------------------------------------------
// Setup mode, sections, costs.

/// Everything at once, values from a seed.
fn everything<B: Read>(b: &mut B, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    b.section("bases");
    let x = b.witness_base(random_gl(&mut rng));
    let y = b.witness_base(random_gl(&mut rng));
    let p = b.base_mul(&x, &y);
    let q = b.base_mul(&p, &p);
    let q = b.base_mul(&q, &q);
    let r = b.base_sub(&q, &x);
    b.base_assert_equal(&r, &r, "r");
    b.base_to_bits(&r);
    b.section("extension");
    let e = b.witness_ext(nonzero_ext(&mut rng));
    let f = b.witness_ext(nonzero_ext(&mut rng));
    let g = b.mul(&e, &f);
    let h = b.div(&g, &f, "div");
    b.assert_equal(&h, &e, "h = e");
    let k = b.exp_u64(&h, 12345);
    let bits = b.base_to_bits(&x);
    let s = b.select_ext(&bits[3], &k, &g);
    b.section("scalars");
    let fr = b.witness_fr(Fr::from(rng.gen::<u64>()));
    let chunks = b.unpack(&fr);
    let limbs = b.digest_limbs(&fr);
    let [s0, s1] = b.ext_parts(&s);
    let packed = b.pack(&[chunks[0].clone(), limbs[4].clone(), s0]);
    let packed2 = b.pack(&[s1]);
    let chosen = b.select_fr(&bits[5], &packed, &packed2);
    b.assert_fr_equal(&chosen, &chosen, "chosen");
    b.section("bases");
    let bit = b.bool_to_base(&bits[7]);
    let z = b.base_mul(&bit, &y);
    b.base_assert_equal(&z, &z, "z");
    b.assert_false(&bits[63], "top bit");
}

#[test]
fn setup_mode_emits_the_same_constraints() {
    let (prove_cs, mut proving) = prover();
    everything(&mut proving, 10);
    assert_satisfied(&prove_cs, &proving);
    let (setup_cs, mut setting_up) = setup();
    everything(&mut setting_up, 11);
    assert_eq!(setting_up.failure(), None);
    assert_eq!(prove_cs.num_constraints(), setup_cs.num_constraints());
    assert_eq!(prove_cs.num_witness_variables(), setup_cs.num_witness_variables());
    assert_eq!(proving.sections(), setting_up.sections());
    assert_eq!(proving.stats(), setting_up.stats());
    prove_cs.finalize();
    setup_cs.finalize();
    assert_eq!(prove_cs.to_matrices().unwrap(), setup_cs.to_matrices().unwrap());
}

#[test]
fn sections_add_up() {
    let (cs, mut r1cs) = prover();
    let before = r1cs.witness_base(gl(3));
    everything(&mut r1cs, 12);
    let sections = r1cs.sections();
    let names: Vec<&str> = sections.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["unsectioned", "bases", "extension", "scalars"]);
    assert_eq!(sections[0].1, 65);
    assert_eq!(sections.iter().map(|(_, count)| count).sum::<usize>(), cs.num_constraints());
    drop(before);
}

/// Constraints emitted by `f`.
fn cost(r1cs: &mut R1cs, f: impl FnOnce(&mut R1cs)) -> usize {
    let before = r1cs.num_constraints();
    f(r1cs);
    r1cs.num_constraints() - before
}

#[test]
fn constraint_costs() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (cs, mut r) = prover();
    let (a, b) = (random_gl(&mut rng), random_gl(&mut rng));
    let (e, f) = (nonzero_ext(&mut rng), nonzero_ext(&mut rng));
    let mut table = Vec::new();
    let mut measure = |name: &'static str, r: &mut R1cs, f: &mut dyn FnMut(&mut R1cs)| {
        let c = cost(r, f);
        table.push((name, c));
        c
    };
    let mut wa = None;
    assert_eq!(measure("witness_base", &mut r, &mut |r| wa = Some(r.witness_base(a))), 65);
    let wa = wa.unwrap();
    let wb = r.witness_base(b);
    let (we, wf) = (r.witness_ext(e), r.witness_ext(f));
    assert_eq!(measure("witness_ext", &mut r, &mut |r| drop(r.witness_ext(e))), 130);
    assert_eq!(
        measure("base add, sub, scale", &mut r, &mut |r| {
            let s = r.base_add(&wa, &wb);
            let d = r.base_sub(&s, &wb);
            drop(r.base_scale(&d, gl(P - 1)));
        }),
        0
    );
    assert_eq!(measure("base mul", &mut r, &mut |r| drop(r.base_mul(&wa, &wb))), 1);
    assert_eq!(
        measure("base mul + reduce", &mut r, &mut |r| {
            let m = r.base_mul(&wa, &wb);
            drop(r.reduce_base(&m));
        }),
        1 + 64 + 64
    );
    assert_eq!(
        measure("base mul + base_to_bits", &mut r, &mut |r| {
            let m = r.base_mul(&wa, &wb);
            drop(r.base_to_bits(&m));
        }),
        1 + 64 + 65
    );
    assert_eq!(
        measure("base_to_bits of a reduced value", &mut r, &mut |r| {
            let m = r.base_mul(&wa, &wb);
            let m = r.reduce_base(&m);
            let before = r.num_constraints();
            drop(r.base_to_bits(&m));
            assert_eq!(r.num_constraints() - before, 1 + 64 + 1);
        }),
        1 + 128 + 66
    );
    assert_eq!(measure("base_to_bits of a witness", &mut r, &mut |r| drop(r.base_to_bits(&wa))), 0);
    assert_eq!(
        measure("base assert_equal (same variables)", &mut r, &mut |r| r.base_assert_equal(&wa, &wa, "eq")),
        0
    );
    let wa_again = r.witness_base(a);
    assert_eq!(
        measure("base assert_equal (canonical)", &mut r, &mut |r| r.base_assert_equal(&wa, &wa_again, "eq")),
        1
    );
    assert_eq!(measure("ext mul (lazy)", &mut r, &mut |r| drop(r.mul(&we, &wf))), 3);
    assert_eq!(measure("ext square (lazy)", &mut r, &mut |r| drop(r.square(&we))), 2);
    assert_eq!(measure("ext mul_base (lazy)", &mut r, &mut |r| drop(r.mul_base(&we, &wa))), 2);
    assert_eq!(
        measure("ext mul (reduced result)", &mut r, &mut |r| {
            let m = r.mul(&we, &wf);
            drop(r.reduce_ext(&m));
        }),
        3 + (67 + 64) + (65 + 64)
    );
    assert_eq!(
        measure("ext assert_equal (reduced)", &mut r, &mut |r| {
            let m = r.mul(&we, &wf);
            let m = r.reduce_ext(&m);
            let w = r.witness_ext(e * f);
            let before = r.num_constraints();
            r.assert_equal(&m, &w, "eq");
            assert_eq!(r.num_constraints() - before, 2 + 2);
        }),
        3 + 260 + 130 + 4
    );
    assert_eq!(
        measure("ext assert_equal (lazy product)", &mut r, &mut |r| {
            let m = r.mul(&we, &wf);
            let w = r.witness_ext(e * f);
            let before = r.num_constraints();
            r.assert_equal(&m, &w, "eq");
            assert_eq!(r.num_constraints() - before, 67 + 65);
        }),
        3 + 130 + 132
    );
    assert_eq!(measure("ext div", &mut r, &mut |r| drop(r.div(&we, &wf, "div"))), 128 + 3 + 67 + 65 + 3);
    assert_eq!(
        measure("select_ext", &mut r, &mut |r| {
            let bits = r.base_to_bits(&wa);
            drop(r.select_ext(&bits[0], &we, &wf));
        }),
        2
    );
    let s = r.witness_fr(Fr::rand(&mut rng));
    let unpack = measure("unpack", &mut r, &mut |r| drop(r.unpack(&s)));
    let limbs = measure("digest_limbs", &mut r, &mut |r| drop(r.digest_limbs(&s)));
    assert_eq!(unpack, 255 + 1 + 112);
    assert_eq!(limbs, unpack);
    assert_eq!(
        measure("pack (3 canonical)", &mut r, &mut |r| drop(r.pack(&[wa.clone(), wb.clone(), wa.clone()]))),
        0
    );
    assert_eq!(
        measure("pack (3 lazy products)", &mut r, &mut |r| {
            let m: Vec<Base> = (0..3).map(|_| r.base_mul(&wa, &wb)).collect();
            drop(r.pack(&m));
        }),
        3 * (1 + 64 + 65)
    );
    assert_satisfied(&cs, &r);
    for (name, count) in &table {
        println!("{name:<36} {count:>5}");
    }
}

// ---------------------------------------------------------------------------
// Polynomial evaluation from power tables.

/// `Σ c_k · x^k` by Horner's rule, natively.
fn horner(coefficients: &[GlExt], x: GlExt) -> GlExt {
    coefficients.iter().rev().fold(GlExt::ZERO, |acc, c| acc * x + *c)
}

/// A polynomial evaluated with the power tables ([`Algebra::evaluate_at_base`],
/// [`Algebra::evaluate_at`]), each checked against Horner's rule in the backend, at
/// a witnessed point and at a lazy (unreduced) product, of the base field and of
/// the extension.
fn evaluation_program<B: Read>(b: &mut B, coefficients: &[GlExt], x: Gl, y: GlExt) -> Vec<GlExt> {
    let coefficients: Vec<B::Ext> = coefficients.iter().map(|c| b.witness_ext(*c)).collect();
    let wx = b.witness_base(x);
    let lazy_x = b.base_mul(&wx, &wx);
    let wy = b.witness_ext(y);
    let lazy_y = b.mul(&wy, &wy);
    let mut out = Vec::new();
    for point in [&wx, &lazy_x] {
        let value = b.evaluate_at_base(&coefficients, point);
        let ext_point = b.ext_from_base(point);
        let expected = b.reduce_with_powers(&coefficients, &ext_point);
        b.assert_equal(&value, &expected, "at a base point");
        out.push(value);
    }
    for point in [&wy, &lazy_y] {
        let value = b.evaluate_at(&coefficients, point);
        let expected = b.reduce_with_powers(&coefficients, point);
        b.assert_equal(&value, &expected, "at an extension point");
        out.push(value);
        // The table of powers, against the chain of products.
        let powers = b.powers(point, coefficients.len());
        assert_eq!(powers.len(), coefficients.len());
        let mut expected = b.one();
        for power in &powers {
            b.assert_equal(power, &expected, "power");
            expected = b.mul(&expected, point);
        }
        out.extend(powers);
    }
    out.into_iter().map(|value| b.ext(&value)).collect()
}

#[test]
fn polynomial_evaluations_agree_with_horner_and_native() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for len in [0, 1, 2, 3, 4, 5, 9, 16, 17, 31, 32, 33, 50] {
        let coefficients: Vec<GlExt> = (0..len).map(|_| random_ext(&mut rng)).collect();
        let (x, y) = (random_gl(&mut rng), random_ext(&mut rng));
        let values = compare!(evaluation_program, &coefficients, x, y);
        let x = <GlExt as FieldExtension<2>>::from_basefield(x);
        let mut expected = vec![horner(&coefficients, x), horner(&coefficients, x * x)];
        for point in [y, y * y] {
            expected.push(horner(&coefficients, point));
            expected.extend((0..len).map(|k| point.exp_u64(k as u64)));
        }
        assert_eq!(values, expected, "{len} coefficients");
    }
}

#[test]
fn a_wrong_polynomial_evaluation_or_a_tampered_witness_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let coefficients: Vec<GlExt> = (0..17).map(|_| random_ext(&mut rng)).collect();
    let (x, y) = (random_gl(&mut rng), random_ext(&mut rng));
    for at_base in [true, false] {
        let value = if at_base {
            horner(&coefficients, <GlExt as FieldExtension<2>>::from_basefield(x))
        } else {
            horner(&coefficients, y)
        };
        for claimed in [value, value + GlExt::ONE] {
            let (cs, mut r) = prover();
            let wc: Vec<_> = coefficients.iter().map(|c| r.witness_ext(*c)).collect();
            let (wx, wy) = (r.witness_base(x), r.witness_ext(y));
            let claimed_var = r.witness_ext(claimed);
            let start = cs.num_witness_variables();
            let got = if at_base { r.evaluate_at_base(&wc, &wx) } else { r.evaluate_at(&wc, &wy) };
            assert_eq!(got.value(), Some(value));
            r.assert_equal(&got, &claimed_var, "evaluation");
            if claimed == value {
                assert_satisfied(&cs, &r);
                each_witness_tamper_rejected(&cs, start..cs.num_witness_variables());
            } else {
                assert_eq!(r.failure(), Some("evaluation"));
                assert!(!cs.is_satisfied().unwrap());
            }
        }
    }
}

#[test]
fn a_wrong_power_or_a_tampered_witness_of_the_powers_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let y = random_ext(&mut rng);
    for wrong in [None, Some(0), Some(7), Some(16)] {
        let (cs, mut r) = prover();
        let wy = r.witness_ext(y);
        let lazy_y = r.mul(&wy, &wy);
        let claimed: Vec<_> = (0..17u64)
            .map(|k| {
                let value = (y * y).exp_u64(k);
                r.witness_ext(if wrong == Some(k as usize) { value + GlExt::ONE } else { value })
            })
            .collect();
        let start = cs.num_witness_variables();
        let powers = r.powers(&lazy_y, 17);
        for (power, claimed) in powers.iter().zip(&claimed) {
            r.assert_equal(power, claimed, "power");
        }
        if wrong.is_none() {
            assert_satisfied(&cs, &r);
            each_witness_tamper_rejected(&cs, start..cs.num_witness_variables());
        } else {
            assert_eq!(r.failure(), Some("power"));
            assert!(!cs.is_satisfied().unwrap());
        }
    }
}

#[test]
fn power_tables_cost_less_than_horner() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let coefficients: Vec<GlExt> = (0..32).map(|_| random_ext(&mut rng)).collect();
    let (x, y) = (random_gl(&mut rng), random_ext(&mut rng));
    let (_, mut r) = setup();
    let wc: Vec<_> = coefficients.iter().map(|c| r.witness_ext(*c)).collect();
    let wx = r.witness_base(x);
    let lazy_x = r.base_mul(&wx, &wx);
    let wy = r.witness_ext(y);
    let lazy_y = r.mul(&wy, &wy);
    let table_base = cost(&mut r, |r| drop(r.evaluate_at_base(&wc, &lazy_x)));
    let horner_base = cost(&mut r, |r| {
        let point = r.ext_from_base(&lazy_x);
        drop(r.reduce_with_powers(&wc, &point));
    });
    let table_ext = cost(&mut r, |r| drop(r.evaluate_at(&wc, &lazy_y)));
    let horner_ext = cost(&mut r, |r| drop(r.reduce_with_powers(&wc, &lazy_y)));
    let table_powers = cost(&mut r, |r| drop(r.powers(&lazy_y, 256)));
    let chain_powers = cost(&mut r, |r| {
        let mut power = r.one();
        for _ in 1..256 {
            let product = r.mul(&power, &lazy_y);
            power = r.reduce(&product);
        }
    });
    assert!(table_powers * 5 < chain_powers, "{table_powers} vs {chain_powers}");
    // The table x^1..x^6, x^12, x^18, x^24, x^30: ten reductions, the point's
    // (a product of canonical values, 64 + 64 constraints) and nine of products of
    // two values below 2^64 (65 + 64), with their nine products; 21 lazy products
    // for the other powers, and 62 for the coefficients.
    assert_eq!(table_base, 128 + 9 * 129 + 9 + 21 + 62);
    assert!(table_base * 5 < horner_base, "{table_base} vs {horner_base}");
    assert!(table_ext < horner_ext, "{table_ext} vs {horner_ext}");
}
