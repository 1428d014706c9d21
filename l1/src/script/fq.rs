//! BLS12-381 base-field arithmetic in tapscript: `Fq` and `Fq2 = Fq[u]/(u² + 1)`.
//!
//! An `Fq` element is 16 limbs of 24 bits ([`FQ`]), least significant limb deepest.
//! Why 24 bits: the hinted multiplication ([`MulMod`]) works on 4-bit windows inside
//! a limb, so the limb width is a multiple of 4; its accumulator multiplies limbs by
//! 16 and adds up to 16 table limbs of each sign per phase, which must stay a 31-bit
//! script number: 24-bit limbs leave exactly that room (28 bits times 16 terms plus a
//! bias, under 2^30), while 28-bit limbs would not. 16 × 24 = 384 bits also leaves
//! room for `a + b < 2p < 2^382` without an extra limb, and a limb sum plus carry is
//! far below 2^31 (additions need one compare per limb).
//!
//! Canonical means: every limb in `[0, 2^24)` and value `< p`. The add, sub, double,
//! negate, equality gadgets **assume** canonical inputs and return canonical outputs;
//! [`fq_verify_canonical`] checks a value (use it on committed or witness values).
//! [`fq_mul`] **checks** its hint `r` canonical and `b`'s limbs normalised, and is
//! sound for any limb-normalised `a`, `b`.
//!
//! An `Fq2` element `c0 + c1·u` is `c0` then `c1` (c1 on top).

use num_bigint::BigUint;

use super::bigint::{BigIntError, Limbs, MulMod};
use super::Script;

/// The layout of an `Fq` element: 16 limbs of 24 bits.
pub const FQ: Limbs = match Limbs::new(16, 24) {
    Some(layout) => layout,
    None => panic!("16 limbs of 24 bits is a valid layout"),
};

/// The BLS12-381 base-field modulus, big-endian hex.
pub const MODULUS_HEX: &str =
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

/// The modulus `p`.
pub fn modulus() -> BigUint {
    BigUint::parse_bytes(MODULUS_HEX.as_bytes(), 16).unwrap_or_default()
}

fn mul_mod() -> Result<MulMod, BigIntError> {
    MulMod::new(FQ, modulus())
}

/// Witness elements of an element (limb 0 first); `x` must be below `2^384` (callers
/// pass canonical values).
pub fn fq_witness(x: &BigUint) -> Result<Vec<Vec<u8>>, BigIntError> {
    FQ.witness(x)
}

/// Pushes the constant `x`. `[..] -> [.., x]`
pub fn fq_push(x: &BigUint) -> Result<Script, BigIntError> {
    FQ.push(x)
}

/// Decodes an element from 16 stack elements (limb 0 first).
pub fn fq_decode(elements: &[Vec<u8>]) -> Result<BigUint, BigIntError> {
    FQ.from_elements(elements)
}

/// `[.., x] -> [.., x]`, failing unless `x` is canonical. 16 limb range checks and a
/// borrow chain against `p`.
pub fn fq_verify_canonical() -> Result<Script, BigIntError> {
    FQ.verify_canonical(&modulus())
}

/// `[.., a, b] -> [.., a + b mod p]` (canonical inputs assumed).
pub fn fq_add() -> Result<Script, BigIntError> {
    FQ.add_mod(&modulus())
}

/// `[.., a, b] -> [.., a − b mod p]` (canonical inputs assumed).
pub fn fq_sub() -> Result<Script, BigIntError> {
    FQ.sub_mod(&modulus())
}

/// `[.., a] -> [.., 2a mod p]` (canonical input assumed).
pub fn fq_double() -> Result<Script, BigIntError> {
    FQ.double_mod(&modulus())
}

/// `[.., a] -> [.., −a mod p]` (canonical input assumed; 0 maps to 0).
pub fn fq_neg() -> Result<Script, BigIntError> {
    FQ.neg_mod(&modulus())
}

/// `[.., a, b] -> [.., a == b]` (canonical inputs: limb equality, compared as
/// numbers, is equality).
pub fn fq_equal() -> Script {
    FQ.equal()
}

/// `[.., a, b] -> [..]`, failing unless `a == b` limb by limb, compared as numbers.
pub fn fq_equalverify() -> Script {
    FQ.equalverify()
}

/// `[.., a] -> [.., a == 0]` (canonical input: only the zero limbs are zero).
pub fn fq_is_zero() -> Script {
    FQ.is_zero()
}

/// Hinted multiplication: `[.., r, q, a, b] -> [.., a·b mod p]`.
///
/// The witness supplies `r` and `q` ([`fq_mul_hint`]); the script fails unless `r` is
/// canonical and `a·b = q·p + r` (see [`MulMod`]). Checks `b`'s limbs are in range;
/// `a` and `b` must be limb-normalised and, for the honest hint to fit, below `p`.
pub fn fq_mul() -> Result<Script, BigIntError> {
    mul_mod()?.script()
}

/// The hint of [`fq_mul`] for `a·b`: the witness elements of `r` then `q`.
pub fn fq_mul_hint(a: &BigUint, b: &BigUint) -> Result<Vec<Vec<u8>>, BigIntError> {
    mul_mod()?.hint_witness(a, b)
}

/// Hinted squaring: `[.., r, q, a] -> [.., a² mod p]` (hint: [`fq_square_hint`]).
pub fn fq_square() -> Result<Script, BigIntError> {
    Ok(FQ.pick(0).then(fq_mul()?))
}

/// The hint of [`fq_square`].
pub fn fq_square_hint(a: &BigUint) -> Result<Vec<Vec<u8>>, BigIntError> {
    fq_mul_hint(a, a)
}

/// `[.., a0, a1, b0, b1] -> [.., a0 + b0, a1 + b1]` (canonical inputs assumed).
pub fn fq2_add() -> Result<Script, BigIntError> {
    // [a0 a1 b0 b1] -> [a0 b0 b1 a1] -> [a0 b1 (a1+b1)] -> [(a1+b1) a0 b1] ...
    Ok(FQ
        .roll(2)
        .then(FQ.roll(1))
        .then(fq_add()?)
        .then(FQ.roll(2))
        .then(FQ.roll(2))
        .then(fq_add()?)
        .then(FQ.roll(1)))
}

/// `[.., a0, a1, b0, b1] -> [.., a0 − b0, a1 − b1]` (canonical inputs assumed).
pub fn fq2_sub() -> Result<Script, BigIntError> {
    // [a0 a1 b0 b1] -> [a0 b0 a1 b1] -> [a0 b0 (a1-b1)] -> [(a1-b1) a0 b0] -> ...
    Ok(FQ
        .roll(2)
        .then(FQ.roll(1))
        .then(fq_sub()?)
        .then(FQ.roll(2))
        .then(FQ.roll(2))
        .then(fq_sub()?)
        .then(FQ.roll(1)))
}

/// Fq2 multiplication with three Fq multiplications (Karatsuba):
/// `[.., h0, h1, h2, a0, a1, b0, b1] -> [.., c0, c1]` with `c0 = a0·b0 − a1·b1`,
/// `c1 = (a0 + a1)(b0 + b1) − a0·b0 − a1·b1`; `h0`, `h1`, `h2` are the hints
/// (`r`, `q`) of the three products, from [`fq2_mul_hint`].
pub fn fq2_mul() -> Result<Script, BigIntError> {
    let mul = fq_mul()?;
    // Indices (elements from the top): b1 0, b0 1, a1 2, a0 3, q2 4, r2 5, q1 6, r1 7,
    // q0 8, r0 9.
    Ok(Script::new()
        // v0 = a0·b0 with h0.
        .then(FQ.roll(9))
        .then(FQ.roll(9)) // [h1 h2 a0 a1 b0 b1 r0 q0]
        .then(FQ.pick(5)) // a0
        .then(FQ.pick(4)) // b0
        .then(mul.clone()) // [h1 h2 a0 a1 b0 b1 v0]
        // v1 = a1·b1 with h1.
        .then(FQ.roll(8))
        .then(FQ.roll(8)) // [h2 a0 a1 b0 b1 v0 r1 q1]
        .then(FQ.pick(5)) // a1
        .then(FQ.pick(4)) // b1
        .then(mul.clone()) // [r2 q2 a0 a1 b0 b1 v0 v1]
        // v2 = (a0 + a1)(b0 + b1) with h2.
        .then(FQ.roll(7))
        .then(FQ.roll(7)) // [a0 a1 b0 b1 v0 v1 r2 q2]
        .then(FQ.roll(7))
        .then(FQ.roll(7))
        .then(fq_add()?) // [b0 b1 v0 v1 r2 q2 sa]
        .then(FQ.roll(6))
        .then(FQ.roll(6))
        .then(fq_add()?) // [v0 v1 r2 q2 sa sb]
        .then(mul) // [v0 v1 v2]
        .then(FQ.pick(2))
        .then(FQ.pick(2))
        .then(fq_add()?) // [v0 v1 v2 (v0+v1)]
        .then(fq_sub()?) // [v0 v1 c1]
        .then(FQ.roll(2))
        .then(FQ.roll(2))
        .then(fq_sub()?) // [c1 c0]
        .then(FQ.roll(1)))
}

/// The hints of [`fq2_mul`] for `a·b` (`a = a0 + a1·u`, canonical parts): `h0`, `h1`,
/// `h2` witness elements in gadget order.
pub fn fq2_mul_hint(a: (&BigUint, &BigUint), b: (&BigUint, &BigUint)) -> Result<Vec<Vec<u8>>, BigIntError> {
    let p = modulus();
    let sum_a = (a.0 + a.1) % &p;
    let sum_b = (b.0 + b.1) % &p;
    let mut hints = fq_mul_hint(a.0, b.0)?;
    hints.extend(fq_mul_hint(a.1, b.1)?);
    hints.extend(fq_mul_hint(&sum_a, &sum_b)?);
    Ok(hints)
}

/// Fq2 squaring with two Fq multiplications:
/// `[.., h0, h1, a0, a1] -> [.., c0, c1]` with `c0 = (a0 + a1)(a0 − a1)`,
/// `c1 = 2·a0·a1`; hints from [`fq2_square_hint`].
pub fn fq2_square() -> Result<Script, BigIntError> {
    let mul = fq_mul()?;
    // Indices: a1 0, a0 1, q1 2, r1 3, q0 4, r0 5.
    Ok(Script::new()
        .then(FQ.roll(5))
        .then(FQ.roll(5)) // [r1 q1 a0 a1 r0 q0]
        .then(FQ.pick(3))
        .then(FQ.pick(3))
        .then(fq_add()?) // [r1 q1 a0 a1 r0 q0 s]
        .then(FQ.pick(4))
        .then(FQ.pick(4))
        .then(fq_sub()?) // [r1 q1 a0 a1 r0 q0 s d]
        .then(mul.clone()) // [r1 q1 a0 a1 c0]
        .then(FQ.toaltstack())
        .then(mul)
        .then(fq_double()?) // [c1]
        .then(FQ.fromaltstack())
        .then(FQ.roll(1)))
}

/// The hints of [`fq2_square`] for `a²`.
pub fn fq2_square_hint(a: (&BigUint, &BigUint)) -> Result<Vec<Vec<u8>>, BigIntError> {
    let p = modulus();
    let sum = (a.0 + a.1) % &p;
    // Reduced first, so that a non-canonical input cannot underflow.
    let diff = (a.0 % &p + &p - a.1 % &p) % &p;
    let mut hints = fq_mul_hint(&sum, &diff)?;
    hints.extend(fq_mul_hint(a.0, a.1)?);
    Ok(hints)
}
