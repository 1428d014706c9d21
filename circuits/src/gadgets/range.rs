//! Comparisons of small integers held in field elements, computed (not asserted)
//! so that a circuit can turn a failed check into a recorded no-op.

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::{D, F};

/// Whether `x < 2^bits`, for an `x` the caller knows is below `2^(bits + 1)` (a sum
/// of two values below `2^bits`): `x` is split into `bits + 1` bits, a constraint
/// that holds for every such `x`, and the top bit is the answer, negated.
pub fn less_than_power_of_two(builder: &mut CircuitBuilder<F, D>, x: Target, bits: usize) -> BoolTarget {
    let split = builder.split_le(x, bits + 1);
    builder.not(split[bits])
}

/// Whether `a >= b`, for `a` and `b` the caller knows are below `2^bits`:
/// `a + 2^bits - b` lies in `(0, 2^(bits + 1))` and its top bit is the answer.
pub fn greater_or_equal(builder: &mut CircuitBuilder<F, D>, a: Target, b: Target, bits: usize) -> BoolTarget {
    let offset = builder.constant(F::from_canonical_u64(1u64 << bits));
    let shifted = builder.add(a, offset);
    let difference = builder.sub(shifted, b);
    let split = builder.split_le(difference, bits + 1);
    split[bits]
}

#[cfg(test)]
mod tests {
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::C;

    /// Both comparisons agree with native integers on edge cases and random values,
    /// and a prover cannot flip the answer.
    #[test]
    fn comparisons_match_native() -> anyhow::Result<()> {
        const BITS: usize = 56;
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let a = builder.add_virtual_target();
        let b = builder.add_virtual_target();
        let sum = builder.add(a, b);
        let fits = less_than_power_of_two(&mut builder, sum, BITS);
        let ge = greater_or_equal(&mut builder, a, b, BITS);
        builder.register_public_input(fits.target);
        builder.register_public_input(ge.target);
        let data = builder.build::<C>();
        let max = (1u64 << BITS) - 1;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut cases =
            vec![(0, 0), (max, 0), (max, 1), (1, max), (max, max), (5, 6), (6, 5), (1 << 55, 1 << 55)];
        cases.extend((0..4).map(|_| (rng.gen_range(0..=max), rng.gen_range(0..=max))));
        for (x, y) in cases {
            let mut witness = PartialWitness::new();
            witness.set_target(a, F::from_canonical_u64(x))?;
            witness.set_target(b, F::from_canonical_u64(y))?;
            let proof = data.prove(witness)?;
            let expected = [u64::from(x + y <= max), u64::from(x >= y)].map(F::from_canonical_u64);
            assert_eq!(proof.public_inputs, expected, "{x} {y}");
            data.verify(proof.clone())?;
            let mut flipped = proof;
            flipped.public_inputs[1] = F::ONE - flipped.public_inputs[1];
            assert!(data.verify(flipped).is_err());
        }
        Ok(())
    }
}
