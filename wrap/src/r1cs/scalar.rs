//! Scalars of the BLS12-381 scalar field: packing Goldilocks values into one
//! (crate docs, "Packing") and the canonical decomposition of one into bits, for
//! "Unpacking" and "Digest limbs".

use ark_bls12_381::Fr;
use ark_ff::{Field, One, Zero};
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::{AllocatedFp, FpVar};
use ark_relations::r1cs::{LinearCombination, SynthesisError};
use num_bigint::BigUint;

use super::emulated::{fr_modulus, lc_add, lc_constant, lc_one, p_big, Base, Lc};
use super::R1cs;

/// Bits of a canonical scalar (`Fr`'s modulus has 255 bits).
const SCALAR_BITS: usize = 255;

/// The linear combination of a scalar variable.
pub(super) fn fr_lc(s: &FpVar<Fr>) -> Lc {
    match s {
        FpVar::Constant(c) => lc_one(*c),
        FpVar::Var(v) => LinearCombination::from(v.variable),
    }
}

/// A scalar's canonical bits, little-endian, with their values when known.
struct ScalarBits {
    bits: Vec<Boolean<Fr>>,
    value: Option<BigUint>,
}

impl ScalarBits {
    /// The integer formed by `width` bits from `from`, as a linear combination, and
    /// its value.
    fn chunk(&self, pow2: &[Fr], from: usize, width: usize) -> (Lc, Option<Fr>) {
        let mut lc = Lc::zero();
        for (i, bit) in self.bits.iter().skip(from).take(width).enumerate() {
            lc = lc_add(&lc, &bit.lc(), pow2[i]);
        }
        let value = self.value.as_ref().map(|n| {
            let mask = (BigUint::one() << width) - 1u32;
            Fr::from((n >> from) & mask)
        });
        (lc, value)
    }
}

impl R1cs {
    /// Packs up to three canonical values (crate docs, "Packing"); see
    /// [`crate::algebra::Backend::pack`] for the cost.
    pub(super) fn try_pack(&mut self, values: &[Base]) -> Result<FpVar<Fr>, SynthesisError> {
        if values.len() > 3 {
            self.fail("r1cs: pack takes at most three values");
            self.enforce_unsatisfiable()?;
            return Ok(FpVar::Constant(Fr::zero()));
        }
        let p = p_big();
        let mut lc = Lc::zero();
        let mut value = Some(Fr::zero());
        for (i, base) in values.iter().enumerate() {
            let canonical = if base.bound < p { base.clone() } else { self.canonical(base)?.0 };
            let weight = self.pow2[64 * i];
            lc = lc_add(&lc, &canonical.lc, weight);
            value = match (value, canonical.value) {
                (Some(acc), Some(v)) => Some(acc + v * weight),
                _ => None,
            };
        }
        if let Some(constant) = lc_constant(&lc) {
            return Ok(FpVar::Constant(constant));
        }
        let variable = self.cs.new_lc(lc)?;
        Ok(FpVar::Var(AllocatedFp::new(value, variable, self.cs.clone())))
    }

    /// Chunks 0, 1, 2 of `s`, each congruent to the chunk reduced and below `2^64`.
    pub(super) fn try_unpack(&mut self, s: &FpVar<Fr>) -> Result<[Base; 3], SynthesisError> {
        let bits = self.scalar_bits(s)?;
        let bound: BigUint = (BigUint::one() << 64u32) - 1u32;
        Ok([0, 1, 2].map(|j| {
            let (lc, value) = bits.chunk(&self.pow2, 64 * j, 64);
            Base::new(lc, value, bound.clone())
        }))
    }

    /// The five 51-bit limbs of `s`, canonical and with their bits.
    pub(super) fn try_digest_limbs(&mut self, s: &FpVar<Fr>) -> Result<[Base; 5], SynthesisError> {
        let bits = self.scalar_bits(s)?;
        let bound: BigUint = (BigUint::one() << 51u32) - 1u32;
        Ok([0, 1, 2, 3, 4].map(|j| {
            let (lc, value) = bits.chunk(&self.pow2, 51 * j, 51);
            let mut limb_bits = bits.bits[51 * j..51 * (j + 1)].to_vec();
            limb_bits.resize(64, Boolean::FALSE);
            Base::with_bits(lc, value, bound.clone(), limb_bits)
        }))
    }

    /// The canonical 255 bits of `s`: 255 booleans, the recomposition, and the
    /// comparison with `Fr`'s modulus ([`R1cs::enforce_at_most`]).
    fn scalar_bits(&mut self, s: &FpVar<Fr>) -> Result<ScalarBits, SynthesisError> {
        let value = match s {
            FpVar::Constant(c) => {
                let n = BigUint::from(*c);
                let bits = (0..SCALAR_BITS).map(|i| Boolean::constant(n.bit(i as u64))).collect();
                return Ok(ScalarBits { bits, value: Some(n) });
            }
            FpVar::Var(v) if self.proving() => v.value().ok().map(BigUint::from),
            FpVar::Var(_) => None,
        };
        let mut bits = Vec::with_capacity(SCALAR_BITS);
        let mut recomposed = fr_lc(s);
        for i in 0..SCALAR_BITS {
            let bit = self.bit_bool(value.as_ref().map(|n| n.bit(i as u64)))?;
            recomposed = lc_add(&recomposed, &bit.lc(), -self.pow2[i]);
            bits.push(bit);
        }
        self.enforce_zero(recomposed)?;
        let values: Vec<Option<bool>> =
            (0..SCALAR_BITS).map(|i| value.as_ref().map(|n| n.bit(i as u64))).collect();
        self.enforce_at_most(&bits, &values, &(fr_modulus() - 1u32))?;
        self.stats.scalar_decompositions += 1;
        Ok(ScalarBits { bits, value })
    }

    /// Enforces `Σ 2^i bits_i ≤ c` for a constant `c` of `bits.len()` bits.
    ///
    /// From the most significant bit down, `equal` says whether the bits so far
    /// equal those of `c`. Over a run of zeros of `c`, `equal · Σ bits = 0` (one
    /// constraint: a bit above `c`'s while equal so far is forbidden). Over a run
    /// of ones, `equal` becomes `equal ∧ all ones`: the product of the bit (and
    /// `equal`) for runs short enough, otherwise `S = l + equal? - equal - Σ bits`
    /// (zero iff equal and all ones) and `equal' = 1 - S·S⁻¹` by the usual
    /// zero test (two constraints). The last run needs nothing if it is of ones.
    /// 112 constraints for `r - 1` (44 runs of zeros, 44 of ones), against about
    /// 2 per zero bit for the generic `enforce_in_field_le` of ark-r1cs-std.
    fn enforce_at_most(
        &mut self,
        bits: &[Boolean<Fr>],
        values: &[Option<bool>],
        c: &BigUint,
    ) -> Result<(), SynthesisError> {
        // `None`: the bits so far equal those of `c` (the constant true).
        let mut equal: Option<(Lc, Option<bool>)> = None;
        let mut top = bits.len();
        while top > 0 {
            let one = c.bit((top - 1) as u64);
            let mut start = top - 1;
            while start > 0 && c.bit((start - 1) as u64) == one {
                start -= 1;
            }
            let run = &bits[start..top];
            let run_values = &values[start..top];
            let mut sum = Lc::zero();
            for bit in run {
                sum = lc_add(&sum, &bit.lc(), Fr::one());
            }
            if !one {
                match &equal {
                    None => self.enforce_zero(sum)?,
                    Some((e, _)) => self.cs.enforce_constraint(e.clone(), sum, Lc::zero())?,
                }
            } else if start > 0 {
                equal = Some(self.all_ones(equal, run, run_values, sum)?);
            }
            top = start;
        }
        Ok(())
    }

    /// `equal ∧ run all ones` (see [`R1cs::enforce_at_most`]).
    fn all_ones(
        &mut self,
        equal: Option<(Lc, Option<bool>)>,
        run: &[Boolean<Fr>],
        values: &[Option<bool>],
        sum: Lc,
    ) -> Result<(Lc, Option<bool>), SynthesisError> {
        let all: Option<bool> = values.iter().try_fold(true, |acc, v| Some(acc && (*v)?));
        let result_value = match &equal {
            None => all,
            Some((_, e)) => e.and_then(|e| all.map(|all| e && all)),
        };
        let as_fr = |b: Option<bool>| b.map(Fr::from);
        match (&equal, run) {
            (None, [bit]) => Ok((bit.lc(), result_value)),
            (None, [a, b]) => {
                let z = self.product_var(a.lc(), b.lc(), as_fr(result_value))?;
                Ok((z.into(), result_value))
            }
            (Some((e, _)), [bit]) => {
                let z = self.product_var(e.clone(), bit.lc(), as_fr(result_value))?;
                Ok((z.into(), result_value))
            }
            _ => {
                // S = l + [equal is a variable] - equal - Σ run ≥ 0, zero iff the result is true.
                let (equal_lc, equal_value, extra) = match &equal {
                    None => (Lc::zero(), Some(false), 0u64),
                    Some((e, v)) => (e.clone(), v.map(|v| !v), 1u64),
                };
                let length = u64::try_from(run.len()).map_err(|_| SynthesisError::Unsatisfiable)?;
                let s = lc_add(
                    &lc_add(&lc_one(Fr::from(length + extra)), &equal_lc, -Fr::one()),
                    &sum,
                    -Fr::one(),
                );
                // The value of S: missing ones of the run, plus one if `equal` is false.
                let s_value = values.iter().fold(equal_value.map(u64::from), |acc, v| {
                    acc.and_then(|acc| v.map(|v| acc + u64::from(!v)))
                });
                let s_value = s_value.map(Fr::from);
                let inverse = s_value.map(|s| s.inverse().unwrap_or(Fr::zero()));
                let inverse =
                    self.cs.new_witness_variable(|| inverse.ok_or(SynthesisError::AssignmentMissing))?;
                let m_value = s_value.map(|s| if s.is_zero() { Fr::zero() } else { Fr::one() });
                let m = self.product_var(s.clone(), inverse.into(), m_value)?;
                let not_m = lc_add(&lc_one(Fr::one()), &m.into(), -Fr::one());
                self.cs.enforce_constraint(s, not_m.clone(), Lc::zero())?;
                Ok((not_m, result_value))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_relations::r1cs::ConstraintSystem;
    use rand::SeedableRng;

    /// Whether `t ≤ c` is satisfiable with the bits of `t`, the helpers computed
    /// honestly from them (they are determined by the bits wherever they matter).
    fn at_most_holds(c: &BigUint, width: usize, t: &BigUint) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r1cs = R1cs::new(cs.clone());
        let values: Vec<Option<bool>> = (0..width).map(|i| Some(t.bit(i as u64))).collect();
        let bits: Vec<Boolean<Fr>> = values.iter().map(|v| r1cs.bit_bool(*v).unwrap()).collect();
        r1cs.enforce_at_most(&bits, &values, c).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn comparison_with_a_constant_is_exact() {
        // Runs of ones of every length at the top and inside, runs of zeros.
        let constants: [u64; 9] = [
            0b1,
            0b10,
            0b1011_0111_0001,
            0b1110_0110_1100,
            0b1111_1111_1111,
            0b1000_0000_0000,
            0b1_1011_1011_1011,
            0b1_1001_1110_0111,
            0b1_0110_1110_0111,
        ];
        for c in constants {
            let width = 64 - c.leading_zeros() as usize;
            for t in 0..(1u64 << width) {
                let holds = at_most_holds(&BigUint::from(c), width, &BigUint::from(t));
                assert_eq!(holds, t <= c, "c = {c:b}, t = {t:b}");
            }
        }
    }

    #[test]
    fn comparison_with_the_modulus_rejects_aliases() {
        let c = fr_modulus() - 1u32;
        let r = fr_modulus();
        let top = (BigUint::one() << SCALAR_BITS) - 1u32;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut cases = vec![
            (BigUint::zero(), true),
            (c.clone(), true),
            (&c - 1u32, true),
            (r.clone(), false),
            (&r + 1u32, false),
            (top.clone(), false),
        ];
        for s in [0u64, 1, 42] {
            cases.push((&r + s, false));
        }
        for _ in 0..8 {
            let s = BigUint::from(Fr::rand(&mut rng));
            let alias = &s + &r;
            cases.push((s, true));
            if alias <= top {
                cases.push((alias, false));
            }
        }
        // Flipping one bit of r - 1: a zero up gives more, a one down gives less.
        for i in 0..SCALAR_BITS as u64 {
            let mut t = c.clone();
            t.set_bit(i, !c.bit(i));
            let expected = c.bit(i);
            cases.push((t, expected));
        }
        for (t, expected) in cases {
            assert_eq!(at_most_holds(&c, SCALAR_BITS, &t), expected, "t = {t:x}");
        }
    }

    #[test]
    fn comparison_with_the_modulus_costs() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r1cs = R1cs::new(cs.clone());
        let values = vec![Some(false); SCALAR_BITS];
        let bits: Vec<Boolean<Fr>> = values.iter().map(|v| r1cs.bit_bool(*v).unwrap()).collect();
        let before = cs.num_constraints();
        r1cs.enforce_at_most(&bits, &values, &(fr_modulus() - 1u32)).unwrap();
        assert_eq!(cs.num_constraints() - before, 112);
    }
}
