//! Goldilocks and its quadratic extension emulated in `Fr` with lazy reduction
//! (the module docs of [`super`] describe the representation and the costs).

use core::cell::RefCell;
use std::rc::Rc;

use ark_bls12_381::Fr;
use ark_ff::{Field, One, PrimeField, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{LinearCombination, SynthesisError, Variable};
use num_bigint::BigUint;
use plonky2::field::extension::FieldExtension;
use plonky2::field::types::{Field as _, PrimeField64};

use super::R1cs;
use crate::algebra::GOLDILOCKS_ORDER;
use crate::algebra::{Gl, GlExt};

pub(super) type Lc = LinearCombination<Fr>;

/// Every bound stays below `2^BOUND_BITS`, which leaves room below `Fr`'s modulus
/// (`> 2^254`) for the offsets and quotients of congruences and reductions.
pub(super) const BOUND_BITS: u64 = 250;

/// A Goldilocks element: an `Fr` linear combination whose value is an integer
/// congruent to the element, below a static bound.
#[derive(Clone, Debug)]
pub struct Base {
    pub(super) lc: Lc,
    /// The integer value (as an `Fr`, which it fits), when witness values are known.
    pub(super) value: Option<Fr>,
    /// The integer is at most this (a function of the circuit's structure only).
    pub(super) bound: BigUint,
    /// Other forms of the same value, computed once and shared by clones.
    forms: Rc<RefCell<Forms>>,
}

/// Forms of a value already computed in the constraint system.
#[derive(Debug, Default)]
struct Forms {
    /// An equal value below `2^64`.
    reduced: Option<Base>,
    /// The canonical value, with its bits.
    canonical: Option<Base>,
    /// The value's own 64 bits, little-endian, when it is canonical and its
    /// linear combination is their recomposition.
    bits: Option<Vec<Boolean<Fr>>>,
}

impl Base {
    pub(super) fn new(lc: Lc, value: Option<Fr>, bound: BigUint) -> Self {
        Self { lc, value, bound, forms: Rc::default() }
    }

    /// Zero.
    pub(super) fn zero() -> Self {
        Self::new(Lc::zero(), Some(Fr::zero()), BigUint::zero())
    }

    /// The constant integer `n` (`n < 2^250`).
    fn constant(n: &BigUint) -> Self {
        let value = Fr::from(n.clone());
        let lc = if n.is_zero() { Lc::zero() } else { LinearCombination::from((value, Variable::One)) };
        Self::new(lc, Some(value), n.clone())
    }

    /// A constant Goldilocks element.
    pub(super) fn constant_gl(value: Gl) -> Self {
        Self::constant(&BigUint::from(value.to_canonical_u64()))
    }

    /// A boolean as 0 or 1.
    pub(super) fn from_boolean(lc: Lc, value: Option<bool>) -> Self {
        Self::new(lc, value.map(Fr::from), BigUint::one())
    }

    /// A canonical value given by its 64 little-endian bits (`lc` is their
    /// recomposition, `bound < p`).
    pub(super) fn with_bits(lc: Lc, value: Option<Fr>, bound: BigUint, bits: Vec<Boolean<Fr>>) -> Self {
        let base = Self::new(lc, value, bound);
        if let Ok(mut forms) = base.forms.try_borrow_mut() {
            forms.bits = Some(bits);
        }
        base
    }

    /// The element, when witness values are known.
    pub fn value(&self) -> Option<Gl> {
        self.value.map(|v| gl_of(&BigUint::from(v)))
    }

    /// The static bound on the integer representing the element.
    pub fn bound(&self) -> &BigUint {
        &self.bound
    }

    /// Whether the value is a constant of the circuit.
    pub fn is_constant(&self) -> bool {
        lc_constant(&self.lc).is_some()
    }

    /// The constant element, if the value is constant.
    fn constant_value(&self) -> Option<Gl> {
        lc_constant(&self.lc).map(|c| gl_of(&BigUint::from(c)))
    }

    fn cached_reduced(&self) -> Option<Base> {
        let forms = self.forms.try_borrow().ok()?;
        forms.canonical.clone().or_else(|| forms.reduced.clone())
    }

    fn cached_canonical(&self) -> Option<(Base, Vec<Boolean<Fr>>)> {
        let forms = self.forms.try_borrow().ok()?;
        if let Some(bits) = &forms.bits {
            return Some((self.clone(), bits.clone()));
        }
        let canonical = forms.canonical.clone()?;
        let bits = canonical.forms.try_borrow().ok()?.bits.clone()?;
        Some((canonical, bits))
    }

    fn store(&self, update: impl FnOnce(&mut Forms)) {
        if let Ok(mut forms) = self.forms.try_borrow_mut() {
            update(&mut forms);
        }
    }
}

/// An element of the quadratic extension, `a0 + a1·x` with `x^2 = 7`.
#[derive(Clone, Debug)]
pub struct Ext {
    parts: [Base; 2],
}

impl Ext {
    pub(super) fn from_parts(a0: Base, a1: Base) -> Self {
        Self { parts: [a0, a1] }
    }

    pub(super) fn zero() -> Self {
        Self::from_parts(Base::zero(), Base::zero())
    }

    pub(super) fn constant(value: GlExt) -> Self {
        let [c0, c1] = value.to_basefield_array();
        Self::from_parts(Base::constant_gl(c0), Base::constant_gl(c1))
    }

    /// The coordinates.
    pub fn parts(&self) -> &[Base; 2] {
        &self.parts
    }

    /// The element, when witness values are known.
    pub fn value(&self) -> Option<GlExt> {
        Some(GlExt::from_basefield_array([self.parts[0].value()?, self.parts[1].value()?]))
    }

    fn constant_value(&self) -> Option<GlExt> {
        Some(GlExt::from_basefield_array([self.parts[0].constant_value()?, self.parts[1].constant_value()?]))
    }
}

/// The Goldilocks prime.
pub(super) fn p_big() -> BigUint {
    BigUint::from(GOLDILOCKS_ORDER)
}

/// `n mod p` as a Goldilocks element.
pub(super) fn gl_of(n: &BigUint) -> Gl {
    let reduced = n % p_big();
    Gl::from_canonical_u64(reduced.iter_u64_digits().next().unwrap_or(0))
}

/// The constant a linear combination evaluates to, if it involves no variable.
pub(super) fn lc_constant(lc: &Lc) -> Option<Fr> {
    let mut constant = Fr::zero();
    for (coeff, var) in lc.iter() {
        match var {
            _ if coeff.is_zero() => {}
            Variable::One => constant += coeff,
            Variable::Zero => {}
            _ => return None,
        }
    }
    Some(constant)
}

/// `a + c·b` for sorted `a`, `b`; sorted, without zero coefficients.
pub(super) fn lc_add(a: &Lc, b: &Lc, c: Fr) -> Lc {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i].1 < b[j].1);
        let take_b = i >= a.len() || (j < b.len() && b[j].1 < a[i].1);
        let (coeff, var) = if take_a {
            i += 1;
            a[i - 1]
        } else if take_b {
            j += 1;
            (c * b[j - 1].0, b[j - 1].1)
        } else {
            i += 1;
            j += 1;
            (a[i - 1].0 + c * b[j - 1].0, a[i - 1].1)
        };
        if !coeff.is_zero() {
            out.push((coeff, var));
        }
    }
    LinearCombination(out)
}

/// `c·a`.
fn lc_scale(a: &Lc, c: Fr) -> Lc {
    if c.is_zero() {
        return Lc::zero();
    }
    LinearCombination(a.iter().map(|(coeff, var)| (*coeff * c, *var)).collect())
}

/// The constant `c`.
pub(super) fn lc_one(c: Fr) -> Lc {
    if c.is_zero() {
        Lc::zero()
    } else {
        LinearCombination::from((c, Variable::One))
    }
}

/// `⌈n / d⌉` for `d > 0`.
fn div_ceil(n: &BigUint, d: &BigUint) -> BigUint {
    let (quotient, remainder) = (n / d, n % d);
    if remainder.is_zero() {
        quotient
    } else {
        quotient + 1u32
    }
}

fn big(f: &Fr) -> BigUint {
    BigUint::from(*f)
}

fn limit() -> BigUint {
    BigUint::one() << BOUND_BITS
}

fn bits_of(n: &BigUint) -> usize {
    // A bound is below 2^250, so its bit length fits any integer type.
    usize::try_from(n.bits()).unwrap_or(usize::MAX)
}

/// An internal invariant failed (a bound escaped the limit): the synthesis is void.
fn bound_overflow() -> SynthesisError {
    SynthesisError::Unsatisfiable
}

fn option_sum(a: Option<Fr>, b: Option<Fr>) -> Option<Fr> {
    Some(a? + b?)
}

fn option_product(a: Option<Fr>, b: Option<Fr>) -> Option<Fr> {
    Some(a? * b?)
}

impl R1cs {
    fn witness_var(&mut self, value: Option<Fr>) -> Result<Variable, SynthesisError> {
        self.cs.new_witness_variable(|| value.ok_or(SynthesisError::AssignmentMissing))
    }

    /// `lc · (lc - 1) = 0`.
    pub(super) fn enforce_boolean(&mut self, lc: &Lc) -> Result<(), SynthesisError> {
        self.stats.bits += 1;
        let minus_one = lc_add(lc, &lc_one(Fr::one()), -Fr::one());
        self.cs.enforce_constraint(lc.clone(), minus_one, Lc::zero())
    }

    /// `lc = 0` (one constraint).
    pub(super) fn enforce_zero(&mut self, lc: Lc) -> Result<(), SynthesisError> {
        self.cs.enforce_constraint(lc, Variable::One.into(), Lc::zero())
    }

    /// A new variable constrained to be a bit.
    pub(super) fn bit_var(&mut self, value: Option<bool>) -> Result<Variable, SynthesisError> {
        let var = self.witness_var(value.map(Fr::from))?;
        self.enforce_boolean(&var.into())?;
        Ok(var)
    }

    /// A new boolean (one constraint).
    pub(super) fn bit_bool(&mut self, value: Option<bool>) -> Result<Boolean<Fr>, SynthesisError> {
        self.stats.bits += 1;
        Boolean::new_witness(self.cs.clone(), || value.ok_or(SynthesisError::AssignmentMissing))
    }

    /// A new variable `z = a·b` (one constraint).
    pub(super) fn product_var(
        &mut self,
        a: Lc,
        b: Lc,
        value: Option<Fr>,
    ) -> Result<Variable, SynthesisError> {
        let z = self.witness_var(value)?;
        self.cs.enforce_constraint(a, b, z.into())?;
        Ok(z)
    }

    /// The witness value, in proving mode only.
    fn known<T>(&self, value: T) -> Option<T> {
        self.proving().then_some(value)
    }

    /// `Σ c_i · a_i`: free. Coefficients above `p/2` are applied as negative
    /// coefficients, offset by the smallest sufficient multiple of `p`. Terms are
    /// reduced (largest contribution first) only if the bound would reach `2^250`.
    pub(super) fn lincomb(&mut self, terms: &[(&Base, Gl)]) -> Result<Base, SynthesisError> {
        let p = p_big();
        let half = &p >> 1;
        let mut terms: Vec<(Base, BigUint)> = terms
            .iter()
            .filter(|(_, c)| *c != Gl::ZERO)
            .map(|(base, c)| ((*base).clone(), BigUint::from(c.to_canonical_u64())))
            .collect();
        // At most one reduction per term is ever needed.
        for _ in 0..=terms.len() {
            let mut positive = BigUint::zero();
            let mut negative = BigUint::zero();
            let mut largest: Option<(usize, BigUint)> = None;
            for (index, (base, c)) in terms.iter().enumerate() {
                let contribution = if *c <= half { c * &base.bound } else { (&p - c) * &base.bound };
                if *c <= half {
                    positive += &contribution;
                } else {
                    negative += &contribution;
                }
                if largest.as_ref().is_none_or(|(_, l)| contribution > *l) {
                    largest = Some((index, contribution));
                }
            }
            let offset_multiple = div_ceil(&negative, &p);
            let offset = &offset_multiple * &p;
            let bound = positive + &offset;
            if bound < limit() {
                let mut lc = lc_one(Fr::from(offset.clone()));
                let mut value = Some(Fr::from(offset));
                for (base, c) in &terms {
                    let coeff = if *c <= half { Fr::from(c.clone()) } else { -Fr::from(&p - c) };
                    lc = lc_add(&lc, &base.lc, coeff);
                    value = option_sum(value, option_product(base.value, Some(coeff)));
                }
                return Ok(Base::new(lc, value, bound));
            }
            match largest {
                Some((index, _)) if terms[index].0.bound >= (BigUint::one() << 64) => {
                    terms[index].0 = self.reduce(&terms[index].0)?;
                }
                _ => return Err(bound_overflow()),
            }
        }
        Err(bound_overflow())
    }

    /// `x` with a bound below `2^64`: free if already so, otherwise
    /// `bitlen(⌊B/p⌋) + 64` constraints (once per value: the result is cached).
    pub(super) fn reduce(&mut self, x: &Base) -> Result<Base, SynthesisError> {
        if x.bound < (BigUint::one() << 64) {
            return Ok(x.clone());
        }
        if let Some(reduced) = x.cached_reduced() {
            return Ok(reduced);
        }
        if let Some(c) = x.constant_value() {
            return Ok(Base::constant_gl(c));
        }
        let p = p_big();
        let p_fr = Fr::from(GOLDILOCKS_ORDER);
        let q_bits = bits_of(&(&x.bound / &p));
        let (q, r) = match x.value {
            Some(v) => {
                let v = big(&v);
                (Some(&v / &p), Some(&v % &p))
            }
            None => (None, None),
        };
        // p·q, then the bits 1..64 of r; the lowest bit of r is implicit.
        let mut pq = Vec::with_capacity(q_bits);
        for j in 0..q_bits {
            let bit = self.bit_var(q.as_ref().map(|q| q.bit(j as u64)))?;
            pq.push((p_fr * self.pow2[j], bit));
        }
        let mut high = Vec::with_capacity(63);
        for i in 1..64 {
            let bit = self.bit_var(r.as_ref().map(|r| r.bit(i as u64)))?;
            high.push((self.pow2[i], bit));
        }
        let reduced = lc_add(&x.lc, &LinearCombination(pq), -Fr::one());
        let low_bit = lc_add(&reduced, &LinearCombination(high), -Fr::one());
        self.enforce_boolean(&low_bit)?;
        self.stats.reductions += 1;
        let out = Base::new(reduced, r.map(Fr::from), (BigUint::one() << 64) - 1u32);
        x.store(|forms| forms.reduced = Some(out.clone()));
        Ok(out)
    }

    /// The canonical form of `x` and its 64 bits: free if known, otherwise
    /// `bitlen(⌊B/p⌋) + 65` constraints (`bitlen(B) + 1` if `B < p`), cached.
    pub(super) fn canonical(&mut self, x: &Base) -> Result<(Base, Vec<Boolean<Fr>>), SynthesisError> {
        if let Some(known) = x.cached_canonical() {
            return Ok(known);
        }
        if let Some(c) = x.constant_value() {
            let v = c.to_canonical_u64();
            let bits = (0..64).map(|i| Boolean::constant((v >> i) & 1 == 1)).collect::<Vec<_>>();
            let out = Base::with_bits(lc_one(Fr::from(v)), Some(Fr::from(v)), BigUint::from(v), bits.clone());
            return Ok((out, bits));
        }
        let p = p_big();
        let p_fr = Fr::from(GOLDILOCKS_ORDER);
        let q_bits = bits_of(&(&x.bound / &p));
        let r_bits = if q_bits == 0 { bits_of(&x.bound) } else { 64 };
        let (q, r) = match x.value {
            Some(v) => {
                let v = big(&v);
                (Some(&v / &p), Some(&v % &p))
            }
            None => (None, None),
        };
        let mut bits = Vec::with_capacity(64);
        let mut recomposed = Vec::with_capacity(r_bits);
        for i in 0..64 {
            if i < r_bits {
                let bit = self.bit_bool(r.as_ref().map(|r| r.bit(i as u64)))?;
                recomposed.push((self.pow2[i], bit_variable(&bit)?));
                bits.push(bit);
            } else {
                bits.push(Boolean::FALSE);
            }
        }
        let recomposed = LinearCombination(recomposed);
        let out = if q_bits == 0 {
            // x < p already: x is its own canonical form; decompose it.
            self.enforce_zero(lc_add(&x.lc, &recomposed, -Fr::one()))?;
            Base::with_bits(recomposed, x.value, x.bound.clone(), bits.clone())
        } else {
            // x = p·q + r, the lowest bit of q implicit: q_0 = (x - r - p·Σ_{j≥1} 2^j q_j) / p.
            let mut pq = Vec::with_capacity(q_bits);
            for j in 1..q_bits {
                let bit = self.bit_var(q.as_ref().map(|q| q.bit(j as u64)))?;
                pq.push((p_fr * self.pow2[j], bit));
            }
            let rest = lc_add(&lc_add(&x.lc, &recomposed, -Fr::one()), &LinearCombination(pq), -Fr::one());
            let p_inverse = p_fr.inverse().ok_or(SynthesisError::DivisionByZero)?;
            self.enforce_boolean(&lc_scale(&rest, p_inverse))?;
            self.enforce_canonical_bits(&bits)?;
            Base::with_bits(recomposed, r.map(Fr::from), &p - 1u32, bits.clone())
        };
        self.stats.canonical_reductions += 1;
        x.store(|forms| forms.canonical = Some(out.clone()));
        Ok((out, bits))
    }

    /// Enforces that the 64 little-endian bits encode a value below `p`: with
    /// `low`, `high` their 32-bit halves, `(2^32 - 1 - high) · w = low` for a free
    /// witness `w`. If `high = 2^32 - 1` this forces `low = 0`; otherwise
    /// `w = low / (2^32 - 1 - high)` satisfies it. One constraint.
    fn enforce_canonical_bits(&mut self, bits: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
        let mut low = Lc::zero();
        let mut high = lc_one(Fr::from(u64::from(u32::MAX)));
        let mut low_value = Some(Fr::zero());
        let mut high_value = Some(Fr::from(u64::from(u32::MAX)));
        for (i, bit) in bits.iter().enumerate().take(64) {
            let value = bit.value().ok().map(Fr::from);
            if i < 32 {
                low = lc_add(&low, &bit.lc(), self.pow2[i]);
                low_value = option_sum(low_value, option_product(value, Some(self.pow2[i])));
            } else {
                high = lc_add(&high, &bit.lc(), -self.pow2[i - 32]);
                high_value = option_sum(high_value, option_product(value, Some(-self.pow2[i - 32])));
            }
        }
        let w = match (low_value, high_value) {
            (Some(l), Some(d)) => Some(d.inverse().map_or(Fr::zero(), |inverse| l * inverse)),
            _ => None,
        };
        let w = self.witness_var(w)?;
        self.cs.enforce_constraint(high, w.into(), low)
    }

    /// A witnessed canonical value: 64 booleans and the canonical check (65
    /// constraints).
    pub(super) fn witness_canonical(&mut self, value: Gl) -> Result<Base, SynthesisError> {
        let v = self.known(value.to_canonical_u64());
        let mut bits = Vec::with_capacity(64);
        let mut lc = Vec::with_capacity(64);
        for i in 0..64 {
            let bit = self.bit_bool(v.map(|v| (v >> i) & 1 == 1))?;
            lc.push((self.pow2[i], bit_variable(&bit)?));
            bits.push(bit);
        }
        self.enforce_canonical_bits(&bits)?;
        self.stats.witnessed += 1;
        Ok(Base::with_bits(LinearCombination(lc), v.map(Fr::from), p_big() - 1u32, bits))
    }

    /// A witnessed value below `2^64`, not necessarily canonical (64 constraints).
    fn witness_u64(&mut self, value: Option<u64>) -> Result<Base, SynthesisError> {
        let mut lc = Vec::with_capacity(64);
        for i in 0..64 {
            let bit = self.bit_var(value.map(|v| (v >> i) & 1 == 1))?;
            lc.push((self.pow2[i], bit));
        }
        self.stats.witnessed += 1;
        Ok(Base::new(LinearCombination(lc), value.map(Fr::from), (BigUint::one() << 64) - 1u32))
    }

    /// Enforces `a ≡ b (mod p)`: `D = a - b + k·p = q·p` with `k·p ≥ bound(b)` and
    /// the bits of `q` witnessed, the lowest implicit. `max(1,
    /// bitlen(⌊bound(D)/p⌋))` constraints.
    pub(super) fn congruent(&mut self, a: &Base, b: &Base, what: &'static str) -> Result<(), SynthesisError> {
        let p = p_big();
        let p_fr = Fr::from(GOLDILOCKS_ORDER);
        let offset = div_ceil(&b.bound, &p) * &p;
        let d_lc = lc_add(&lc_add(&a.lc, &b.lc, -Fr::one()), &lc_one(Fr::from(offset.clone())), Fr::one());
        let d_bound = &a.bound + &offset;
        let d_value = option_sum(option_sum(a.value, b.value.map(|v| -v)), Some(Fr::from(offset)));
        self.stats.congruences += 1;
        if let Some(constant) = lc_constant(&d_lc) {
            if !(big(&constant) % &p).is_zero() {
                self.fail(what);
                self.enforce_unsatisfiable()?;
            }
            return Ok(());
        }
        let q = d_value.map(|d| {
            let d = big(&d);
            if !(&d % &p).is_zero() {
                self.fail(what);
            }
            d / &p
        });
        let q_bits = bits_of(&(&d_bound / &p));
        if q_bits == 0 {
            return self.enforce_zero(d_lc);
        }
        let mut pq = Vec::with_capacity(q_bits);
        for j in 1..q_bits {
            let bit = self.bit_var(q.as_ref().map(|q| q.bit(j as u64)))?;
            pq.push((p_fr * self.pow2[j], bit));
        }
        let p_inverse = p_fr.inverse().ok_or(SynthesisError::DivisionByZero)?;
        let q0 = lc_scale(&lc_add(&d_lc, &LinearCombination(pq), -Fr::one()), p_inverse);
        self.enforce_boolean(&q0)
    }

    /// `a · b` for Goldilocks values (see [`crate::algebra::Algebra::base_mul`]).
    pub(super) fn mul_base_field(&mut self, a: &Base, b: &Base) -> Result<Base, SynthesisError> {
        if let Some(c) = a.constant_value() {
            return self.lincomb(&[(b, c)]);
        }
        if let Some(c) = b.constant_value() {
            return self.lincomb(&[(a, c)]);
        }
        let (mut a, mut b) = (a.clone(), b.clone());
        for _ in 0..3 {
            let bound = &a.bound * &b.bound;
            if bound < limit() {
                let value = option_product(a.value, b.value);
                let z = self.product_var(a.lc.clone(), b.lc.clone(), value)?;
                self.stats.products += 1;
                return Ok(Base::new(z.into(), value, bound));
            }
            if a.bound >= b.bound {
                a = self.reduce(&a)?;
            } else {
                b = self.reduce(&b)?;
            }
        }
        Err(bound_overflow())
    }

    /// `s·a + t·b` coordinate-wise for constants `s`, `t`.
    pub(super) fn ext_lincomb(&mut self, a: &Ext, s: Gl, b: &Ext, t: Gl) -> Result<Ext, SynthesisError> {
        let [a0, a1] = &a.parts;
        let [b0, b1] = &b.parts;
        let c0 = self.lincomb(&[(a0, s), (b0, t)])?;
        let c1 = self.lincomb(&[(a1, s), (b1, t)])?;
        Ok(Ext::from_parts(c0, c1))
    }

    /// `c · a` for a constant `c = c0 + c1·x`: free.
    pub(super) fn ext_scale(&mut self, a: &Ext, c: GlExt) -> Result<Ext, SynthesisError> {
        let [c0, c1] = c.to_basefield_array();
        let seven = Gl::from_canonical_u64(7);
        let [a0, a1] = &a.parts;
        let r0 = self.lincomb(&[(a0, c0), (a1, c1 * seven)])?;
        let r1 = self.lincomb(&[(a0, c1), (a1, c0)])?;
        Ok(Ext::from_parts(r0, r1))
    }

    /// `a · b` for `b` in the base field: two products.
    pub(super) fn ext_mul_base(&mut self, a: &Ext, b: &Base) -> Result<Ext, SynthesisError> {
        let [a0, a1] = &a.parts;
        let c0 = self.mul_base_field(a0, b)?;
        let c1 = self.mul_base_field(a1, b)?;
        Ok(Ext::from_parts(c0, c1))
    }

    /// `a · b` in the extension (see [`crate::algebra::Algebra::mul`]).
    pub(super) fn ext_mul(&mut self, a: &Ext, b: &Ext) -> Result<Ext, SynthesisError> {
        if let Some(c) = b.constant_value() {
            return self.ext_scale(a, c);
        }
        if let Some(c) = a.constant_value() {
            return self.ext_scale(b, c);
        }
        let seven = Gl::from_canonical_u64(7);
        if a.parts.iter().chain(&b.parts).any(Base::is_constant) {
            // Schoolbook: the products with a constant coordinate are free.
            let [a0, a1] = &a.parts;
            let [b0, b1] = &b.parts;
            let u = self.mul_base_field(a0, b0)?;
            let v = self.mul_base_field(a1, b1)?;
            let w = self.mul_base_field(a0, b1)?;
            let y = self.mul_base_field(a1, b0)?;
            let c0 = self.lincomb(&[(&u, Gl::ONE), (&v, seven)])?;
            let c1 = self.lincomb(&[(&w, Gl::ONE), (&y, Gl::ONE)])?;
            return Ok(Ext::from_parts(c0, c1));
        }
        if a.parts[0].lc == b.parts[0].lc && a.parts[1].lc == b.parts[1].lc {
            return self.ext_square(a);
        }
        self.karatsuba(a, b)
    }

    /// `u = a0·b0`, `v = a1·b1`, `t = (a0 + a1)(b0 + b1)`; `c0 = u + 7v`,
    /// `c1 = t - u - v` (exactly the non-negative integer `a0·b1 + a1·b0`).
    fn karatsuba(&mut self, a: &Ext, b: &Ext) -> Result<Ext, SynthesisError> {
        let mut x = [a.parts[0].clone(), a.parts[1].clone(), b.parts[0].clone(), b.parts[1].clone()];
        let fits = |x: &[Base; 4]| (&x[0].bound + &x[1].bound) * (&x[2].bound + &x[3].bound) * 8u32 < limit();
        let mut attempts = 0;
        while !fits(&x) {
            attempts += 1;
            let largest = (0..4).max_by(|i, j| x[*i].bound.cmp(&x[*j].bound)).unwrap_or(0);
            if attempts > 4 || x[largest].bound < (BigUint::one() << 64) {
                return Err(bound_overflow());
            }
            x[largest] = self.reduce(&x[largest])?;
        }
        let [a0, a1, b0, b1] = x;
        let u_value = option_product(a0.value, b0.value);
        let v_value = option_product(a1.value, b1.value);
        let sum_a = lc_add(&a0.lc, &a1.lc, Fr::one());
        let sum_b = lc_add(&b0.lc, &b1.lc, Fr::one());
        let t_value = option_product(option_sum(a0.value, a1.value), option_sum(b0.value, b1.value));
        let u = self.product_var(a0.lc.clone(), b0.lc.clone(), u_value)?;
        let v = self.product_var(a1.lc.clone(), b1.lc.clone(), v_value)?;
        let t = self.product_var(sum_a, sum_b, t_value)?;
        self.stats.products += 3;
        let (u, v, t): (Lc, Lc, Lc) = (u.into(), v.into(), t.into());
        let seven = Fr::from(7u64);
        let c0 = Base::new(
            lc_add(&u, &v, seven),
            option_sum(u_value, option_product(v_value, Some(seven))),
            &a0.bound * &b0.bound + &a1.bound * &b1.bound * 7u32,
        );
        let c1 = Base::new(
            lc_add(&lc_add(&t, &u, -Fr::one()), &v, -Fr::one()),
            option_sum(t_value, option_sum(u_value, v_value).map(|s| -s)),
            &a0.bound * &b1.bound + &a1.bound * &b0.bound,
        );
        Ok(Ext::from_parts(c0, c1))
    }

    /// `w = a0·a1`, `t = (a0 + a1)(a0 + 7·a1)`; `c0 = t - 8w = a0² + 7·a1²`,
    /// `c1 = 2w`. Two constraints.
    fn ext_square(&mut self, a: &Ext) -> Result<Ext, SynthesisError> {
        let [mut a0, mut a1] = a.parts.clone();
        let fits = |a0: &Base, a1: &Base| (&a0.bound + &a1.bound) * (&a0.bound + &a1.bound * 7u32) < limit();
        let mut attempts = 0;
        while !fits(&a0, &a1) {
            attempts += 1;
            if attempts > 2 {
                return Err(bound_overflow());
            }
            if a0.bound >= a1.bound {
                a0 = self.reduce(&a0)?;
            } else {
                a1 = self.reduce(&a1)?;
            }
        }
        let seven = Fr::from(7u64);
        let w_value = option_product(a0.value, a1.value);
        let t_value = option_product(
            option_sum(a0.value, a1.value),
            option_sum(a0.value, option_product(a1.value, Some(seven))),
        );
        let w = self.product_var(a0.lc.clone(), a1.lc.clone(), w_value)?;
        let t =
            self.product_var(lc_add(&a0.lc, &a1.lc, Fr::one()), lc_add(&a0.lc, &a1.lc, seven), t_value)?;
        self.stats.products += 2;
        let (w, t): (Lc, Lc) = (w.into(), t.into());
        let eight = Fr::from(8u64);
        let c0 = Base::new(
            lc_add(&t, &w, -eight),
            option_sum(t_value, option_product(w_value, Some(-eight))),
            &a0.bound * &a0.bound + &a1.bound * &a1.bound * 7u32,
        );
        let c1 = Base::new(
            lc_scale(&w, Fr::from(2u64)),
            option_product(w_value, Some(Fr::from(2u64))),
            &a0.bound * &a1.bound * 2u32,
        );
        Ok(Ext::from_parts(c0, c1))
    }

    /// `a / b` (see [`crate::algebra::Algebra::div`]).
    pub(super) fn ext_div(&mut self, a: &Ext, b: &Ext, what: &'static str) -> Result<Ext, SynthesisError> {
        if let Some(c) = b.constant_value() {
            return match c.try_inverse() {
                Some(inverse) => self.ext_scale(a, inverse),
                None => {
                    self.fail(what);
                    self.enforce_unsatisfiable()?;
                    Ok(Ext::zero())
                }
            };
        }
        let inverse = match b.value() {
            Some(value) if self.proving() => match value.try_inverse() {
                Some(inverse) => Some(inverse),
                None => {
                    self.fail(what);
                    Some(GlExt::ZERO)
                }
            },
            _ => None,
        };
        let [i0, i1] = match inverse {
            Some(inverse) => inverse.to_basefield_array().map(|c: Gl| Some(c.to_canonical_u64())),
            None => [None, None],
        };
        let inverse = Ext::from_parts(self.witness_u64(i0)?, self.witness_u64(i1)?);
        let check = self.ext_mul(b, &inverse)?;
        let [c0, c1] = &check.parts;
        self.congruent(c0, &Base::constant_gl(Gl::ONE), what)?;
        self.congruent(c1, &Base::zero(), what)?;
        self.ext_mul(a, &inverse)
    }

    /// `b ? t : f` coordinate-wise as `f + b·(t - f)`: one constraint per
    /// coordinate whose two sides differ.
    pub(super) fn ext_select(&mut self, b: &Boolean<Fr>, t: &Ext, f: &Ext) -> Result<Ext, SynthesisError> {
        if let Boolean::Constant(c) = b {
            return Ok(if *c { t.clone() } else { f.clone() });
        }
        let selector = if self.proving() { b.value().ok() } else { None };
        let mut parts = Vec::with_capacity(2);
        for (t, f) in t.parts.iter().zip(&f.parts) {
            if t.lc == f.lc {
                let bound = (&t.bound).max(&f.bound).clone();
                parts.push(Base::new(t.lc.clone(), t.value, bound));
                continue;
            }
            let difference = lc_add(&t.lc, &f.lc, -Fr::one());
            let m_value = match selector {
                Some(true) => option_sum(t.value, f.value.map(|v| -v)),
                Some(false) => Some(Fr::zero()),
                None => None,
            };
            let m = self.product_var(b.lc(), difference, m_value)?;
            let value = option_sum(f.value, m_value);
            let bound = (&t.bound).max(&f.bound).clone();
            parts.push(Base::new(lc_add(&f.lc, &m.into(), Fr::one()), value, bound));
        }
        let mut parts = parts.into_iter();
        match (parts.next(), parts.next()) {
            (Some(c0), Some(c1)) => Ok(Ext::from_parts(c0, c1)),
            _ => Err(SynthesisError::Unsatisfiable),
        }
    }
}

/// The variable of a non-constant boolean.
pub(super) fn bit_variable(bit: &Boolean<Fr>) -> Result<Variable, SynthesisError> {
    match bit {
        Boolean::Var(allocated) => Ok(allocated.variable()),
        Boolean::Constant(_) => Err(SynthesisError::Unsatisfiable),
    }
}

/// `Fr`'s modulus, as an integer.
pub(super) fn fr_modulus() -> BigUint {
    BigUint::from(<Fr as PrimeField>::MODULUS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;

    /// Whether the canonical check accepts the 64 bits of `v` (its helper computed
    /// honestly; when it is free, no value of it helps).
    fn canonical_check_holds(v: u64) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r1cs = R1cs::new(cs.clone());
        let bits: Vec<Boolean<Fr>> =
            (0..64).map(|i| r1cs.bit_bool(Some((v >> i) & 1 == 1)).unwrap()).collect();
        r1cs.enforce_canonical_bits(&bits).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn the_canonical_check_is_exact() {
        let p = GOLDILOCKS_ORDER;
        let around =
            [0, 1, (1 << 32) - 1, 1 << 32, 1 << 63, p - 2, p - 1, p, p + 1, p + 5, u64::MAX - 1, u64::MAX];
        for v in around {
            assert_eq!(canonical_check_holds(v), v < p, "v = {v:x}");
        }
        // High half all ones: canonical only with a zero low half.
        for low in [0u64, 1, 2, 1 << 31, u64::from(u32::MAX)] {
            let v = (u64::from(u32::MAX) << 32) | low;
            assert_eq!(canonical_check_holds(v), low == 0, "v = {v:x}");
        }
    }

    #[test]
    fn lc_add_merges_and_drops_zeros() {
        let (a, b, c) = (Variable::Witness(0), Variable::Witness(1), Variable::Witness(2));
        let x = LinearCombination(vec![(Fr::one(), Variable::One), (Fr::from(2u64), a), (Fr::from(3u64), c)]);
        let y = LinearCombination(vec![(Fr::from(2u64), a), (Fr::from(5u64), b)]);
        let sum = lc_add(&x, &y, -Fr::one());
        assert_eq!(sum.0, vec![(Fr::one(), Variable::One), (-Fr::from(5u64), b), (Fr::from(3u64), c)]);
        assert_eq!(lc_constant(&lc_add(&x, &x, -Fr::one())), Some(Fr::zero()));
        assert_eq!(lc_constant(&x), None);
    }
}
