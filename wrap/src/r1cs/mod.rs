//! The R1CS backend: the wrapper verifier's arithmetic as constraints over the
//! BLS12-381 scalar field `Fr`, for Groth16.
//!
//! # Emulated Goldilocks
//!
//! A Goldilocks element ([`Base`]) is an `Fr` linear combination of variables whose
//! value is an *integer* congruent to the element modulo `p = 2^64 - 2^32 + 1`,
//! together with a static upper bound on that integer. The bound depends only on
//! the circuit's structure (which operations ran on what), never on witness values,
//! so setup and proving emit the same constraints. Every bound stays below
//! `2^250`, far below `Fr`'s modulus (`> 2^254`), so the integer and its `Fr`
//! value coincide and no operation wraps around.
//!
//! - Addition, multiplication by a constant and subtraction are linear: no
//!   constraint. Subtraction adds the smallest multiple of `p` that keeps the
//!   integer non-negative; constants larger than `p/2` are applied as negative
//!   constants plus such a multiple, so that `-1` costs one bit of bound, not 64.
//! - A product is one constraint `a · b = z` with `bound(z) = bound(a)·bound(b)`.
//!   When that would reach `2^250`, the operand with the larger bound is reduced
//!   first. Reductions happen only when needed (lazy reduction).
//! - A reduction of `x` (bound `B`) witnesses the bits of `q = ⌊x/p⌋`
//!   (`bitlen(⌊B/p⌋)` of them) and the 64 bits of `r = x mod p`, and enforces
//!   `x = q·p + r`. The lowest bit of `r` is not a variable: it is defined as
//!   `x - q·p - Σ_{i≥1} 2^i r_i` and only its booleanity is enforced, which also
//!   enforces the recomposition. Cost: `bitlen(⌊B/p⌋) + 64` constraints. The result
//!   is `< 2^64` but not necessarily canonical, which is all later arithmetic needs.
//! - A canonical reduction (for [`Backend::base_to_bits`] and [`Backend::pack`])
//!   makes the 64 bits of `r` explicit booleans and adds the canonical check:
//!   `r ≥ p` iff its top 32 bits are all ones and its low 32 bits are not all zero,
//!   enforced by the single constraint `(2^32 - 1 - high) · w = low`. Cost:
//!   `bitlen(⌊B/p⌋) + 65`.
//! - `a ≡ b (mod p)` is checked without reducing either side: with
//!   `D = a - b + k·p` (`k·p ≥ bound(b)`, so `D ≥ 0`), enforce `D = q·p` with the bits
//!   of `q` witnessed (`bitlen(⌊bound(D)/p⌋)` constraints, at least one). For two
//!   reduced operands that is 2 constraints, for two canonical ones 1; reducing both
//!   canonically instead would cost more than 130.
//!
//! Reduced forms are cached in the value (shared by its clones), so a value used
//! by several products is reduced once.
//!
//! # The extension
//!
//! An [`Ext`] is a pair of [`Base`]s, `a0 + a1·x` with `x^2 = 7`. A product costs 3
//! constraints (Karatsuba: `a0·b0`, `a1·b1` and `(a0 + a1)(b0 + b1)`; schoolbook
//! would cost 4), a square 2 (`a0·a1` and `(a0 + a1)(a0 + 7·a1)`), and products with
//! a constant or a base-field operand 0 or 2. Division witnesses the inverse of the
//! divisor, checks `b · b⁻¹ ≡ 1` and returns the lazy product `a · b⁻¹`; a zero
//! divisor makes `b · b⁻¹ ≡ 1` unsatisfiable whatever the prover supplies.
//!
//! # Failures
//!
//! The [`Algebra`] and [`Backend`] operations cannot return errors. A failed
//! assertion is always an unsatisfiable constraint; when the witness values are
//! known and already show the failure, its `what` is recorded and reported by
//! [`Backend::failure`]. A [`SynthesisError`] is recorded the same way (with the
//! name of the operation) and also emits an unsatisfiable constraint, so that a
//! circuit whose synthesis went wrong can never be proven. Callers must check
//! [`Backend::failure`] after synthesis.

mod emulated;
mod scalar;

pub use emulated::{Base, Ext};

use ark_bls12_381::Fr;
use ark_ff::{One, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

use plonky2::field::types::Field as _;

use crate::algebra::{Algebra, Backend, Gl, GlExt};

/// Counters of what the backend emitted, for the cost report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Product constraints of emulated multiplications.
    pub products: usize,
    /// Reductions to a value below `2^64`.
    pub reductions: usize,
    /// Reductions to the canonical form with explicit bits.
    pub canonical_reductions: usize,
    /// Congruence checks `a ≡ b (mod p)`.
    pub congruences: usize,
    /// Booleanity constraints (range-checked bits), all uses included.
    pub bits: usize,
    /// Witnessed Goldilocks values (each coordinate of an extension counts).
    pub witnessed: usize,
    /// Canonical 255-bit decompositions of scalars (`unpack`, `digest_limbs`).
    pub scalar_decompositions: usize,
}

/// The name under which constraints emitted before the first [`Algebra::section`]
/// are counted.
pub const UNSECTIONED: &str = "unsectioned";

/// The R1CS backend over a constraint system of the BLS12-381 scalar field.
///
/// Every operation emits its constraints into the constraint system given to
/// [`R1cs::new`]; the costs are documented on each operation of the [`Algebra`] and
/// [`Backend`] implementations.
pub struct R1cs {
    cs: ConstraintSystemRef<Fr>,
    /// `2^i` for `i < 256`.
    pow2: Vec<Fr>,
    failure: Option<&'static str>,
    error: Option<SynthesisError>,
    /// Constraint counts by section, in order of first appearance.
    sections: Vec<(&'static str, usize)>,
    /// The open section (an index into `sections`) and the constraint count when it
    /// was opened.
    current: usize,
    mark: usize,
    stats: Stats,
}

impl core::fmt::Debug for R1cs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("R1cs")
            .field("constraints", &self.cs.num_constraints())
            .field("failure", &self.failure)
            .field("error", &self.error)
            .field("sections", &self.sections())
            .field("stats", &self.stats)
            .finish()
    }
}

impl R1cs {
    /// A backend emitting into `cs` (in setup mode, no witness value is computed).
    pub fn new(cs: ConstraintSystemRef<Fr>) -> Self {
        let mut pow2 = Vec::with_capacity(256);
        let mut power = Fr::one();
        for _ in 0..256 {
            pow2.push(power);
            power = power + power;
        }
        let mark = cs.num_constraints();
        Self {
            cs,
            pow2,
            failure: None,
            error: None,
            sections: vec![(UNSECTIONED, 0)],
            current: 0,
            mark,
            stats: Stats::default(),
        }
    }

    /// The constraint system.
    pub fn cs(&self) -> &ConstraintSystemRef<Fr> {
        &self.cs
    }

    /// The number of constraints in the constraint system.
    pub fn num_constraints(&self) -> usize {
        self.cs.num_constraints()
    }

    /// Constraints emitted by section ([`Algebra::section`]), in order of first
    /// appearance; a name used several times accumulates. Constraints emitted
    /// before the first section are counted under [`UNSECTIONED`] (listed only if
    /// there are some).
    pub fn sections(&self) -> Vec<(&'static str, usize)> {
        let mut sections = self.sections.clone();
        let open = self.cs.num_constraints().saturating_sub(self.mark);
        if let Some(entry) = sections.get_mut(self.current) {
            entry.1 = entry.1.saturating_add(open);
        }
        sections.retain(|(name, count)| *name != UNSECTIONED || *count > 0);
        sections
    }

    /// Counters of the work emitted so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The first synthesis error, if any (its operation is reported by
    /// [`Backend::failure`] unless an assertion failed before it).
    pub fn synthesis_error(&self) -> Option<&SynthesisError> {
        self.error.as_ref()
    }

    /// `a` reduced below `2^64` (not necessarily canonical): free if its bound is
    /// already below `2^64`, otherwise `bitlen(⌊B/p⌋) + 64` constraints, once per
    /// value (clones share the result). Operations reduce their operands by
    /// themselves when needed; this is for a caller that wants to choose.
    ///
    /// Witness layout: the bits of `⌊a/p⌋` (little-endian), then bits 1 to 63 of
    /// the result (bit 0 is the linear combination that closes the equation).
    pub fn reduce_base(&mut self, a: &Base) -> Base {
        let result = self.reduce(a);
        self.settle("r1cs: reduce", result, Base::zero)
    }

    /// Both coordinates of `a` reduced (see [`R1cs::reduce_base`]).
    pub fn reduce_ext(&mut self, a: &Ext) -> Ext {
        let [a0, a1] = a.parts();
        let result = self.reduce(a0).and_then(|r0| Ok(Ext::from_parts(r0, self.reduce(a1)?)));
        self.settle("r1cs: reduce", result, Ext::zero)
    }

    /// Whether witness values are computed (not in setup mode).
    fn proving(&self) -> bool {
        !self.cs.is_in_setup_mode()
    }

    /// Records a failed assertion.
    fn fail(&mut self, what: &'static str) {
        if self.failure.is_none() {
            self.failure = Some(what);
        }
    }

    /// Records a synthesis error and makes the constraint system unsatisfiable.
    fn record_error(&mut self, error: SynthesisError, what: &'static str) {
        self.fail(what);
        if self.error.is_none() {
            self.error = Some(error);
        }
        // Best effort: if the constraint system itself is broken this fails too,
        // and the recorded error already condemns the synthesis.
        let _ = self.enforce_unsatisfiable();
    }

    /// `0 · 0 = 1`.
    fn enforce_unsatisfiable(&mut self) -> Result<(), SynthesisError> {
        self.cs.enforce_constraint(
            LinearCombination::zero(),
            LinearCombination::zero(),
            LinearCombination::from(Variable::One),
        )
    }

    /// The result of a fallible operation, or `fallback` after recording its error.
    fn settle<T>(
        &mut self,
        what: &'static str,
        result: Result<T, SynthesisError>,
        fallback: impl FnOnce() -> T,
    ) -> T {
        match result {
            Ok(value) => value,
            Err(error) => {
                self.record_error(error, what);
                fallback()
            }
        }
    }

    fn try_select_fr(
        &mut self,
        b: &Boolean<Fr>,
        if_true: &FpVar<Fr>,
        if_false: &FpVar<Fr>,
    ) -> Result<FpVar<Fr>, SynthesisError> {
        FpVar::conditionally_select(b, if_true, if_false)
    }

    fn try_assert_fr_equal(
        &mut self,
        a: &FpVar<Fr>,
        b: &FpVar<Fr>,
        what: &'static str,
    ) -> Result<(), SynthesisError> {
        let difference = scalar::fr_lc(a) - &scalar::fr_lc(b);
        if let Some(constant) = emulated::lc_constant(&difference) {
            if !constant.is_zero() {
                self.fail(what);
                self.enforce_unsatisfiable()?;
            }
            return Ok(());
        }
        if let (Ok(x), Ok(y)) = (a.value(), b.value()) {
            if x != y {
                self.fail(what);
            }
        }
        self.cs.enforce_constraint(difference, Variable::One.into(), LinearCombination::zero())
    }

    fn try_assert_false(&mut self, b: &Boolean<Fr>, what: &'static str) -> Result<(), SynthesisError> {
        match b {
            Boolean::Constant(false) => Ok(()),
            Boolean::Constant(true) => {
                self.fail(what);
                self.enforce_unsatisfiable()
            }
            Boolean::Var(_) => {
                if self.proving() && b.value().unwrap_or(false) {
                    self.fail(what);
                }
                self.cs.enforce_constraint(b.lc(), Variable::One.into(), LinearCombination::zero())
            }
        }
    }
}

/// The Poseidon permutation gadget ([`crate::poseidon::r1cs::permute`]).
fn poseidon_gadget(state: &[FpVar<Fr>; 5]) -> Result<[FpVar<Fr>; 5], (SynthesisError, &'static str)> {
    crate::poseidon::r1cs::permute(state).map_err(|error| (error, "poseidon permutation"))
}

impl Algebra for R1cs {
    type Base = Base;
    type Ext = Ext;

    fn base_reduce(&mut self, a: &Base) -> Base {
        self.reduce_base(a)
    }

    fn reduce(&mut self, a: &Ext) -> Ext {
        self.reduce_ext(a)
    }

    /// Free.
    fn base_constant(&mut self, value: Gl) -> Base {
        Base::constant_gl(value)
    }

    /// Free (no constraint; the bounds add).
    fn base_add(&mut self, a: &Base, b: &Base) -> Base {
        let result = self.lincomb(&[(a, Gl::ONE), (b, Gl::ONE)]);
        self.settle("r1cs: base_add", result, Base::zero)
    }

    /// Free: `a - b + k·p` with `k·p ≥ bound(b)`.
    fn base_sub(&mut self, a: &Base, b: &Base) -> Base {
        let result = self.lincomb(&[(a, Gl::ONE), (b, Gl::NEG_ONE)]);
        self.settle("r1cs: base_sub", result, Base::zero)
    }

    /// One constraint (none if an operand is constant), plus the reduction of an
    /// operand when the product's bound would reach `2^250`.
    fn base_mul(&mut self, a: &Base, b: &Base) -> Base {
        let result = self.mul_base_field(a, b);
        self.settle("r1cs: base_mul", result, Base::zero)
    }

    /// Free.
    fn base_scale(&mut self, a: &Base, c: Gl) -> Base {
        let result = self.lincomb(&[(a, c)]);
        self.settle("r1cs: base_scale", result, Base::zero)
    }

    /// `max(1, bitlen(⌊bound(a - b + k·p)/p⌋))` constraints: 1 for canonical
    /// operands, 2 for reduced ones.
    ///
    /// Witness layout: bits 1 and up of the quotient `(a - b + k·p)/p` (bit 0 is
    /// the linear combination that closes the equation).
    fn base_assert_equal(&mut self, a: &Base, b: &Base, what: &'static str) {
        let result = self.congruent(a, b, what);
        self.settle(what, result, || ());
    }

    /// Free.
    fn ext_constant(&mut self, value: GlExt) -> Ext {
        Ext::constant(value)
    }

    /// Free.
    fn ext_from_parts(&mut self, a0: &Base, a1: &Base) -> Ext {
        Ext::from_parts(a0.clone(), a1.clone())
    }

    /// Free.
    fn ext_parts(&mut self, a: &Ext) -> [Base; 2] {
        a.parts().clone()
    }

    /// Free.
    fn add(&mut self, a: &Ext, b: &Ext) -> Ext {
        let result = self.ext_lincomb(a, Gl::ONE, b, Gl::ONE);
        self.settle("r1cs: add", result, Ext::zero)
    }

    /// Free.
    fn sub(&mut self, a: &Ext, b: &Ext) -> Ext {
        let result = self.ext_lincomb(a, Gl::ONE, b, Gl::NEG_ONE);
        self.settle("r1cs: sub", result, Ext::zero)
    }

    /// 3 constraints (Karatsuba), 2 for a square, 2 if a coordinate of an operand is
    /// constant (e.g. an operand from the base field), 0 if an operand is constant;
    /// plus operand reductions when the bounds require them. The result is lazy.
    fn mul(&mut self, a: &Ext, b: &Ext) -> Ext {
        let result = self.ext_mul(a, b);
        self.settle("r1cs: mul", result, Ext::zero)
    }

    /// 2 constraints (0 if an operand is constant).
    fn mul_base(&mut self, a: &Ext, b: &Base) -> Ext {
        let result = self.ext_mul_base(a, b);
        self.settle("r1cs: mul_base", result, Ext::zero)
    }

    /// Free.
    fn scale(&mut self, a: &Ext, c: GlExt) -> Ext {
        let result = self.ext_scale(a, c);
        self.settle("r1cs: scale", result, Ext::zero)
    }

    /// The inverse of `b` is witnessed (128 range-checked bits), `b · b⁻¹ ≡ 1` is
    /// checked (a product and two congruences) and the lazy product `a · b⁻¹` is
    /// returned. If `b = 0`, `b · b⁻¹ ≡ 1` has no solution. 266 constraints for
    /// canonical operands.
    ///
    /// Witness layout: the 64 bits of each coordinate of `b⁻¹` (not necessarily
    /// canonical), then those of the product `b · b⁻¹`, the two congruences and the
    /// product `a · b⁻¹`.
    fn div(&mut self, a: &Ext, b: &Ext, what: &'static str) -> Ext {
        let result = self.ext_div(a, b, what);
        self.settle(what, result, Ext::zero)
    }

    /// Two congruences (see [`Algebra::base_assert_equal`]).
    fn assert_equal(&mut self, a: &Ext, b: &Ext, what: &'static str) {
        let [a0, a1] = a.parts();
        let [b0, b1] = b.parts();
        let result = self.congruent(a0, b0, what).and_then(|()| self.congruent(a1, b1, what));
        self.settle(what, result, || ());
    }

    /// Closes the current section and opens `name` (see [`R1cs::sections`]).
    fn section(&mut self, name: &'static str) {
        let now = self.cs.num_constraints();
        let delta = now.saturating_sub(self.mark);
        if let Some(entry) = self.sections.get_mut(self.current) {
            entry.1 = entry.1.saturating_add(delta);
        }
        self.current = match self.sections.iter().position(|(n, _)| *n == name) {
            Some(index) => index,
            None => {
                self.sections.push((name, 0));
                self.sections.len() - 1
            }
        };
        self.mark = now;
    }

    /// 2 constraints (`a0·a1` and `(a0 + a1)(a0 + 7·a1)`).
    fn square(&mut self, a: &Ext) -> Ext {
        let result = self.ext_mul(a, a);
        self.settle("r1cs: square", result, Ext::zero)
    }
}

impl Backend for R1cs {
    type Bool = Boolean<Fr>;
    type Fr = FpVar<Fr>;

    /// 65 constraints: 64 booleans and the canonical check. Its bits are kept, so
    /// [`Backend::base_to_bits`] of it is free.
    ///
    /// Witness layout: the 64 bits (little-endian), then the canonical check's `w`.
    fn witness_base(&mut self, value: Gl) -> Base {
        let result = self.witness_canonical(value);
        self.settle("r1cs: witness_base", result, Base::zero)
    }

    /// 130 constraints.
    fn witness_ext(&mut self, value: GlExt) -> Ext {
        let [v0, v1] = <GlExt as plonky2::field::extension::FieldExtension<2>>::to_basefield_array(&value);
        let result =
            self.witness_canonical(v0).and_then(|a0| Ok(Ext::from_parts(a0, self.witness_canonical(v1)?)));
        self.settle("r1cs: witness_ext", result, Ext::zero)
    }

    /// Free (one variable).
    fn witness_fr(&mut self, value: Fr) -> FpVar<Fr> {
        let proving = self.proving();
        let result = FpVar::new_witness(self.cs.clone(), || {
            if proving {
                Ok(value)
            } else {
                Err(SynthesisError::AssignmentMissing)
            }
        });
        self.settle("r1cs: witness_fr", result, || FpVar::Constant(Fr::zero()))
    }

    /// Free for witnessed values, digest limbs and values already decomposed;
    /// otherwise a canonical reduction: `bitlen(⌊B/p⌋) + 65` constraints (66 for a
    /// reduced value, `bitlen(B) + 1` when `B < p`).
    ///
    /// Witness layout of a canonical reduction: the 64 result bits (little-endian;
    /// `bitlen(B)` of them if `B < p`), then bits 1 and up of `⌊a/p⌋` (bit 0 is the
    /// linear combination that closes the equation), then the canonical check's `w`.
    fn base_to_bits(&mut self, a: &Base) -> Vec<Boolean<Fr>> {
        let result = self.canonical(a).map(|(_, bits)| bits);
        self.settle("r1cs: base_to_bits", result, || vec![Boolean::FALSE; 64])
    }

    /// Free.
    fn bool_to_base(&mut self, b: &Boolean<Fr>) -> Base {
        let value = match b {
            Boolean::Constant(c) => Some(*c),
            Boolean::Var(_) if self.proving() => b.value().ok(),
            Boolean::Var(_) => None,
        };
        Base::from_boolean(b.lc(), value)
    }

    /// One constraint (none for a constant).
    fn assert_false(&mut self, b: &Boolean<Fr>, what: &'static str) {
        let result = self.try_assert_false(b, what);
        self.settle(what, result, || ());
    }

    /// 2 constraints: `f + b·(t - f)` per coordinate, whose integer is exactly
    /// that of `t` or `f`.
    fn select_ext(&mut self, b: &Boolean<Fr>, if_true: &Ext, if_false: &Ext) -> Ext {
        let result = self.ext_select(b, if_true, if_false);
        self.settle("r1cs: select_ext", result, Ext::zero)
    }

    /// One constraint.
    fn select_fr(&mut self, b: &Boolean<Fr>, if_true: &FpVar<Fr>, if_false: &FpVar<Fr>) -> FpVar<Fr> {
        let result = self.try_select_fr(b, if_true, if_false);
        self.settle("r1cs: select_fr", result, || FpVar::Constant(Fr::zero()))
    }

    /// Free.
    fn fr_constant(&mut self, value: Fr) -> FpVar<Fr> {
        FpVar::Constant(value)
    }

    /// The Poseidon gadget's constraints.
    fn permute(&mut self, state: &[FpVar<Fr>; 5]) -> [FpVar<Fr>; 5] {
        match poseidon_gadget(state) {
            Ok(permuted) => permuted,
            Err((error, what)) => {
                self.record_error(error, what);
                state.clone()
            }
        }
    }

    /// Free for canonical values (bound `< p`: witnessed values, digest limbs,
    /// constants, booleans); otherwise a canonical reduction of each value. More
    /// than three values is a failure.
    fn pack(&mut self, values: &[Base]) -> FpVar<Fr> {
        let result = self.try_pack(values);
        self.settle("r1cs: pack", result, || FpVar::Constant(Fr::zero()))
    }

    /// The canonical decomposition of `s`: 368 constraints (255 booleans, the
    /// recomposition, and 112 for the comparison with `r - 1`). The chunks are then
    /// free: each is returned as the 64-bit chunk itself, a lazy value (bound
    /// `2^64 - 1`) congruent to the chunk reduced, so no conditional subtraction
    /// of `p` is paid unless a canonical form is needed later.
    ///
    /// Witness layout: the 255 bits (little-endian), then the comparison's helpers.
    fn unpack(&mut self, s: &FpVar<Fr>) -> [Base; 3] {
        let result = self.try_unpack(s);
        self.settle("r1cs: unpack", result, || [Base::zero(), Base::zero(), Base::zero()])
    }

    /// The canonical decomposition of `s` (368 constraints, as for
    /// [`Backend::unpack`]); the limbs are free, canonical, and keep their bits.
    fn digest_limbs(&mut self, s: &FpVar<Fr>) -> [Base; 5] {
        let result = self.try_digest_limbs(s);
        self.settle("r1cs: digest_limbs", result, || core::array::from_fn(|_| Base::zero()))
    }

    /// One constraint (none for constants).
    fn assert_fr_equal(&mut self, a: &FpVar<Fr>, b: &FpVar<Fr>, what: &'static str) {
        let result = self.try_assert_fr_equal(a, b, what);
        self.settle(what, result, || ());
    }

    fn failure(&self) -> Option<&'static str> {
        self.failure
    }
}
