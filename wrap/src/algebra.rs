//! The arithmetic the wrapper verifier is written in, and its native backend.
//!
//! [`Algebra`] is Goldilocks and its quadratic extension; [`Backend`] adds what a
//! plonky2 verifier needs beyond field arithmetic: bits, selection, witnesses, and
//! Poseidon over the BLS12-381 scalar field with the packings of the crate docs.
//! Operations do not fail: a backend records the first failed assertion, and
//! [`Backend::failure`] reports it once the verifier has run. Natively that is the
//! verdict; in the R1CS backend a failed assertion is an unsatisfiable constraint.

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField};
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::extension::FieldExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Field64, PrimeField64};

/// Goldilocks.
pub type Gl = GoldilocksField;
/// Goldilocks' quadratic extension, `x^2 = 7`.
pub type GlExt = QuadraticExtension<GoldilocksField>;

/// Arithmetic over Goldilocks and its quadratic extension in some backend.
pub trait Algebra {
    /// A Goldilocks element.
    type Base: Clone + core::fmt::Debug;
    /// An element of the quadratic extension.
    type Ext: Clone + core::fmt::Debug;

    /// A constant.
    fn base_constant(&mut self, value: Gl) -> Self::Base;
    /// `a + b`.
    fn base_add(&mut self, a: &Self::Base, b: &Self::Base) -> Self::Base;
    /// `a - b`.
    fn base_sub(&mut self, a: &Self::Base, b: &Self::Base) -> Self::Base;
    /// `a · b`.
    fn base_mul(&mut self, a: &Self::Base, b: &Self::Base) -> Self::Base;
    /// `c · a` for a constant `c`.
    fn base_scale(&mut self, a: &Self::Base, c: Gl) -> Self::Base;
    /// Records a failure unless `a = b`; `what` names the check.
    fn base_assert_equal(&mut self, a: &Self::Base, b: &Self::Base, what: &'static str);

    /// A constant.
    fn ext_constant(&mut self, value: GlExt) -> Self::Ext;
    /// `a0 + a1·x`.
    fn ext_from_parts(&mut self, a0: &Self::Base, a1: &Self::Base) -> Self::Ext;
    /// The coordinates `[a0, a1]` of `a0 + a1·x`.
    fn ext_parts(&mut self, a: &Self::Ext) -> [Self::Base; 2];
    /// `a + b`.
    fn add(&mut self, a: &Self::Ext, b: &Self::Ext) -> Self::Ext;
    /// `a - b`.
    fn sub(&mut self, a: &Self::Ext, b: &Self::Ext) -> Self::Ext;
    /// `a · b`.
    fn mul(&mut self, a: &Self::Ext, b: &Self::Ext) -> Self::Ext;
    /// `a · b` for `b` in the base field.
    fn mul_base(&mut self, a: &Self::Ext, b: &Self::Base) -> Self::Ext;
    /// `c · a` for a constant `c` of the extension.
    fn scale(&mut self, a: &Self::Ext, c: GlExt) -> Self::Ext;
    /// `a / b`. Records a failure if `b = 0`.
    fn div(&mut self, a: &Self::Ext, b: &Self::Ext, what: &'static str) -> Self::Ext;
    /// Records a failure unless `a = b`.
    fn assert_equal(&mut self, a: &Self::Ext, b: &Self::Ext, what: &'static str);

    /// `a` with a small representation: a hint, free natively; in R1CS it costs a
    /// reduction now and saves them later (e.g. a power used many times).
    fn base_reduce(&mut self, a: &Self::Base) -> Self::Base {
        a.clone()
    }
    /// [`Algebra::base_reduce`] for the extension.
    fn reduce(&mut self, a: &Self::Ext) -> Self::Ext {
        a.clone()
    }

    /// Starts a named part of the work (constraint counts are reported by part).
    fn section(&mut self, _name: &'static str) {}

    /// `0`.
    fn zero(&mut self) -> Self::Ext {
        self.ext_constant(GlExt::ZERO)
    }
    /// `1`.
    fn one(&mut self) -> Self::Ext {
        self.ext_constant(GlExt::ONE)
    }
    /// `a` as an element of the extension.
    fn ext_from_base(&mut self, a: &Self::Base) -> Self::Ext {
        let zero = self.base_constant(Gl::ZERO);
        self.ext_from_parts(a, &zero)
    }
    /// `a + c` for a constant `c`.
    fn add_constant(&mut self, a: &Self::Ext, c: GlExt) -> Self::Ext {
        let c = self.ext_constant(c);
        self.add(a, &c)
    }
    /// `a · a`.
    fn square(&mut self, a: &Self::Ext) -> Self::Ext {
        self.mul(a, a)
    }
    /// `a^e` for a constant exponent, by square and multiply.
    fn exp_u64(&mut self, a: &Self::Ext, e: u64) -> Self::Ext {
        let mut result = self.one();
        let mut started = false;
        for i in (0..64).rev() {
            if started {
                result = self.square(&result);
            }
            if (e >> i) & 1 == 1 {
                result = if started { self.mul(&result, a) } else { a.clone() };
                started = true;
            }
        }
        result
    }
    /// `Σ terms`.
    fn sum(&mut self, terms: &[Self::Ext]) -> Self::Ext {
        let mut acc = self.zero();
        for term in terms {
            acc = self.add(&acc, term);
        }
        acc
    }
    /// `Σ terms[i] · alpha^i` (Horner, highest power first).
    fn reduce_with_powers(&mut self, terms: &[Self::Ext], alpha: &Self::Ext) -> Self::Ext {
        let mut acc = self.zero();
        for term in terms.iter().rev() {
            acc = self.mul(&acc, alpha);
            acc = self.add(&acc, term);
        }
        acc
    }

    /// `Σ_k coefficients[k] · y^k`: the value of [`Algebra::reduce_with_powers`]
    /// (Horner's rule), computed from a table of the powers `y^1 .. y^(n-1)`, each
    /// the product of the previous one and `y`, reduced once ([`Algebra::reduce`]).
    ///
    /// In R1CS, Horner's rule must reduce its accumulator (both coordinates, each
    /// about as wide as a coefficient times a reduced value) at every step; here only
    /// the powers are reduced (each coordinate of a product of two reduced values is
    /// below `2^131`), every product of a coefficient by a power is lazy, and the sum
    /// is reduced only if whatever consumes it needs to.
    fn evaluate_at(&mut self, coefficients: &[Self::Ext], y: &Self::Ext) -> Self::Ext {
        let mut terms = coefficients.iter();
        let Some(constant) = terms.next() else {
            return self.zero();
        };
        let mut acc = constant.clone();
        let mut power: Option<Self::Ext> = None;
        let y = self.reduce(y);
        for coefficient in terms {
            let next = match &power {
                None => y.clone(),
                Some(previous) => {
                    let product = self.mul(previous, &y);
                    self.reduce(&product)
                }
            };
            let term = self.mul(coefficient, &next);
            acc = self.add(&acc, &term);
            power = Some(next);
        }
        acc
    }

    /// `x^0 .. x^(count-1)`, from a table of reduced powers: with `m = ⌈√(count-1)⌉`,
    /// `x^1 .. x^m` and the multiples `x^(2m), x^(3m), ..` are computed and reduced
    /// once each ([`Algebra::reduce`]), each the product of two reduced powers
    /// already there; every other power `x^(qm + r)` (`0 < r < m`) is their lazy
    /// product.
    ///
    /// In R1CS that is about `2√count` reductions instead of `count` for the chain
    /// `x^k = reduce(x^(k-1) · x)`; each lazy power has coordinates below `2^131`,
    /// so its product by a value below `2^64` stays below `2^200`.
    fn powers(&mut self, x: &Self::Ext, count: usize) -> Vec<Self::Ext> {
        let mut out = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        out.push(self.one());
        let top = count - 1;
        if top == 0 {
            return out;
        }
        let mut step = 1;
        while step * step < top {
            step += 1;
        }
        // `low[j]` = x^(j+1) for j < step; `high[q]` = x^(q·step) for q ≥ 1 (`high[0]`
        // is x^0, never used); all reduced.
        let mut low: Vec<Self::Ext> = Vec::with_capacity(step);
        low.push(self.reduce(x));
        for j in 1..step.min(top) {
            let product = self.mul(&low[j - 1], &low[0]);
            low.push(self.reduce(&product));
        }
        let mut high: Vec<Self::Ext> = vec![self.one()];
        if let Some(x_step) = low.get(step - 1).cloned() {
            high.push(x_step.clone());
            for q in 2..=top / step {
                let product = self.mul(&high[q - 1], &x_step);
                high.push(self.reduce(&product));
            }
        }
        for e in 1..=top {
            let (q, r) = (e / step, e % step);
            out.push(match (q, r) {
                (0, _) => low[r - 1].clone(),
                (_, 0) => high[q].clone(),
                _ => self.mul(&high[q], &low[r - 1]),
            });
        }
        out
    }

    /// `Σ_k coefficients[k] · x^k` for a point `x` of the base field: the value of
    /// [`Algebra::reduce_with_powers`] at `x`, with far fewer reductions in R1CS.
    ///
    /// With `m = ⌈√(n-1)⌉` for `n` coefficients, the powers `x^1 .. x^m` and the
    /// multiples `x^(2m), x^(3m), ..` are computed and reduced once each
    /// ([`Algebra::base_reduce`]: below `2^64` in R1CS), each as the product of two
    /// reduced powers already there; every other power `x^(qm + r)` (`0 < r < m`) is the
    /// lazy product of two of them (below `2^128`), which the coefficient (reduced
    /// first, which is free for a canonical one: below `2^64` per coordinate)
    /// multiplies lazily (below `2^192`). For the 32
    /// coefficients of the wrapper's final polynomial that is 10 reductions of 128-bit
    /// values instead of Horner's reduction of both coordinates of the accumulator at
    /// each of 31 steps.
    fn evaluate_at_base(&mut self, coefficients: &[Self::Ext], x: &Self::Base) -> Self::Ext {
        let Some((constant, rest)) = coefficients.split_first() else {
            return self.zero();
        };
        let top = rest.len();
        if top == 0 {
            return constant.clone();
        }
        let mut step = 1;
        while step * step < top {
            step += 1;
        }
        // `low[j]` = x^(j+1) for j < step; `high[q]` = x^(q·step) for q ≥ 1 (`high[0]`
        // is x^0, never used); all reduced.
        let mut low: Vec<Self::Base> = Vec::with_capacity(step);
        low.push(self.base_reduce(x));
        for j in 1..step.min(top) {
            let product = self.base_mul(&low[j - 1], &low[0]);
            low.push(self.base_reduce(&product));
        }
        let mut high: Vec<Self::Base> = vec![self.base_constant(Gl::ONE)];
        if let Some(x_step) = low.get(step - 1) {
            high.push(x_step.clone());
            for q in 2..=top / step {
                let product = self.base_mul(&high[q - 1], x_step);
                high.push(self.base_reduce(&product));
            }
        }
        let mut acc = constant.clone();
        for (k, coefficient) in rest.iter().enumerate() {
            let e = k + 1;
            let (q, r) = (e / step, e % step);
            let power = match (q, r) {
                (0, _) => low[r - 1].clone(),
                (_, 0) => high[q].clone(),
                _ => self.base_mul(&high[q], &low[r - 1]),
            };
            let coefficient = self.reduce(coefficient);
            let term = self.mul_base(&coefficient, &power);
            acc = self.add(&acc, &term);
        }
        acc
    }
}

/// Everything a plonky2 verifier needs of its backend beyond [`Algebra`].
pub trait Backend: Algebra {
    /// A boolean.
    type Bool: Clone + core::fmt::Debug;
    /// An element of the BLS12-381 scalar field: a Poseidon state element or digest.
    type Fr: Clone + core::fmt::Debug;

    /// A witnessed Goldilocks value, checked canonical (`< p`).
    fn witness_base(&mut self, value: Gl) -> Self::Base;
    /// A witnessed extension value, both coordinates checked canonical.
    fn witness_ext(&mut self, value: GlExt) -> Self::Ext;
    /// A witnessed scalar.
    fn witness_fr(&mut self, value: Fr) -> Self::Fr;

    /// The 64 little-endian bits of the canonical form of `a`.
    fn base_to_bits(&mut self, a: &Self::Base) -> Vec<Self::Bool>;
    /// `b` as 0 or 1.
    fn bool_to_base(&mut self, b: &Self::Bool) -> Self::Base;
    /// Records a failure unless `b` is false.
    fn assert_false(&mut self, b: &Self::Bool, what: &'static str);
    /// `b ? if_true : if_false`.
    fn select_ext(&mut self, b: &Self::Bool, if_true: &Self::Ext, if_false: &Self::Ext) -> Self::Ext;
    /// `b ? if_true : if_false`.
    fn select_fr(&mut self, b: &Self::Bool, if_true: &Self::Fr, if_false: &Self::Fr) -> Self::Fr;

    /// A constant scalar.
    fn fr_constant(&mut self, value: Fr) -> Self::Fr;
    /// The Poseidon permutation over the BLS12-381 scalar field.
    fn permute(&mut self, state: &[Self::Fr; 5]) -> [Self::Fr; 5];
    /// Packs up to three Goldilocks values (crate docs, "Packing").
    fn pack(&mut self, values: &[Self::Base]) -> Self::Fr;
    /// Chunks 0, 1 and 2 of a scalar, each reduced (crate docs, "Unpacking").
    fn unpack(&mut self, s: &Self::Fr) -> [Self::Base; 3];
    /// The five 51-bit limbs of a digest (crate docs, "Digest limbs").
    fn digest_limbs(&mut self, s: &Self::Fr) -> [Self::Base; 5];
    /// Records a failure unless `a = b`.
    fn assert_fr_equal(&mut self, a: &Self::Fr, b: &Self::Fr, what: &'static str);

    /// The first failed check, if any.
    fn failure(&self) -> Option<&'static str>;
}

/// The native backend: plain field arithmetic; failed checks are recorded.
#[derive(Debug, Default)]
pub struct Native {
    failure: Option<&'static str>,
}

impl Native {
    /// A backend with no failure recorded.
    pub fn new() -> Self {
        Self::default()
    }

    fn fail(&mut self, what: &'static str) {
        if self.failure.is_none() {
            self.failure = Some(what);
        }
    }
}

impl Algebra for Native {
    type Base = Gl;
    type Ext = GlExt;

    fn base_constant(&mut self, value: Gl) -> Gl {
        value
    }
    fn base_add(&mut self, a: &Gl, b: &Gl) -> Gl {
        *a + *b
    }
    fn base_sub(&mut self, a: &Gl, b: &Gl) -> Gl {
        *a - *b
    }
    fn base_mul(&mut self, a: &Gl, b: &Gl) -> Gl {
        *a * *b
    }
    fn base_scale(&mut self, a: &Gl, c: Gl) -> Gl {
        *a * c
    }
    fn base_assert_equal(&mut self, a: &Gl, b: &Gl, what: &'static str) {
        if a != b {
            self.fail(what);
        }
    }
    fn ext_constant(&mut self, value: GlExt) -> GlExt {
        value
    }
    fn ext_from_parts(&mut self, a0: &Gl, a1: &Gl) -> GlExt {
        GlExt::from_basefield_array([*a0, *a1])
    }
    fn ext_parts(&mut self, a: &GlExt) -> [Gl; 2] {
        a.to_basefield_array()
    }
    fn add(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        *a + *b
    }
    fn sub(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        *a - *b
    }
    fn mul(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        *a * *b
    }
    fn mul_base(&mut self, a: &GlExt, b: &Gl) -> GlExt {
        <GlExt as FieldExtension<2>>::scalar_mul(a, *b)
    }
    fn scale(&mut self, a: &GlExt, c: GlExt) -> GlExt {
        *a * c
    }
    fn div(&mut self, a: &GlExt, b: &GlExt, what: &'static str) -> GlExt {
        match b.try_inverse() {
            Some(inverse) => *a * inverse,
            None => {
                self.fail(what);
                GlExt::ZERO
            }
        }
    }
    fn assert_equal(&mut self, a: &GlExt, b: &GlExt, what: &'static str) {
        if a != b {
            self.fail(what);
        }
    }
}

impl Backend for Native {
    type Bool = bool;
    type Fr = Fr;

    fn witness_base(&mut self, value: Gl) -> Gl {
        value
    }
    fn witness_ext(&mut self, value: GlExt) -> GlExt {
        value
    }
    fn witness_fr(&mut self, value: Fr) -> Fr {
        value
    }
    fn base_to_bits(&mut self, a: &Gl) -> Vec<bool> {
        let value = a.to_canonical_u64();
        (0..64).map(|i| (value >> i) & 1 == 1).collect()
    }
    fn bool_to_base(&mut self, b: &bool) -> Gl {
        if *b {
            Gl::ONE
        } else {
            Gl::ZERO
        }
    }
    fn assert_false(&mut self, b: &bool, what: &'static str) {
        if *b {
            self.fail(what);
        }
    }
    fn select_ext(&mut self, b: &bool, if_true: &GlExt, if_false: &GlExt) -> GlExt {
        if *b {
            *if_true
        } else {
            *if_false
        }
    }
    fn select_fr(&mut self, b: &bool, if_true: &Fr, if_false: &Fr) -> Fr {
        if *b {
            *if_true
        } else {
            *if_false
        }
    }
    fn fr_constant(&mut self, value: Fr) -> Fr {
        value
    }
    fn permute(&mut self, state: &[Fr; 5]) -> [Fr; 5] {
        let mut state = *state;
        crate::poseidon::permute(&mut state);
        state
    }
    fn pack(&mut self, values: &[Gl]) -> Fr {
        pack(values)
    }
    fn unpack(&mut self, s: &Fr) -> [Gl; 3] {
        unpack(s)
    }
    fn digest_limbs(&mut self, s: &Fr) -> [Gl; 5] {
        digest_limbs(s)
    }
    fn assert_fr_equal(&mut self, a: &Fr, b: &Fr, what: &'static str) {
        if a != b {
            self.fail(what);
        }
    }
    fn failure(&self) -> Option<&'static str> {
        self.failure
    }
}

/// Packs up to three Goldilocks values into a scalar: `x0 + x1·2^64 + x2·2^128`.
///
/// # Panics
/// If given more than three values (a programming error: callers chunk by three).
pub fn pack(values: &[Gl]) -> Fr {
    assert!(values.len() <= 3, "pack takes at most three Goldilocks values");
    let mut limbs = [0u64; 4];
    for (limb, value) in limbs.iter_mut().zip(values) {
        *limb = value.to_canonical_u64();
    }
    Fr::from_bigint(ark_ff::BigInt::new(limbs)).unwrap_or_default()
}

/// The 64-bit chunks 0, 1 and 2 of a scalar, each reduced modulo the Goldilocks prime.
pub fn unpack(s: &Fr) -> [Gl; 3] {
    let limbs = s.into_bigint().0;
    [0, 1, 2].map(|i| Gl::from_noncanonical_u64(limbs[i]))
}

/// The five 51-bit limbs of a scalar, least significant first.
pub fn digest_limbs(s: &Fr) -> [Gl; 5] {
    let bits = s.into_bigint().to_bits_le();
    core::array::from_fn(|limb| {
        let value = bits
            .iter()
            .skip(51 * limb)
            .take(51)
            .enumerate()
            .fold(0u64, |acc, (i, bit)| acc | (u64::from(*bit) << i));
        Gl::from_canonical_u64(value)
    })
}

/// The Goldilocks prime, as a `u64`.
pub const GOLDILOCKS_ORDER: u64 = Gl::ORDER;

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn packing_is_positional_and_unpacking_inverts_it() {
        let values = [Gl::NEG_ONE, Gl::from_canonical_u64(5), Gl::from_canonical_u64(1 << 40)];
        let packed = pack(&values);
        assert_eq!(unpack(&packed), values);
        assert_eq!(pack(&values[..1]), Fr::from(GOLDILOCKS_ORDER - 1));
    }

    #[test]
    fn digest_limbs_recompose_to_the_scalar() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            let s = Fr::rand(&mut rng);
            let limbs = digest_limbs(&s);
            let mut recomposed = Fr::from(0u64);
            for limb in limbs.iter().rev() {
                recomposed = recomposed * Fr::from(1u64 << 51) + Fr::from(limb.to_canonical_u64());
            }
            assert_eq!(recomposed, s);
            assert!(limbs.iter().all(|limb| limb.to_canonical_u64() < 1 << 51));
        }
    }
}
