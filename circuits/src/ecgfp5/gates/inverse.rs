//! The inverse of a GF(p^5) element with an is-zero bit.

use anyhow::Result;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, WitnessWrite};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::super::algebra::{bool_constraint, q_at, q_mul_sub, Algebra};
use super::super::native::{inverse_or_zero, q5, Q5};
use super::read_q5;
use crate::{D, F};

/// For a GF(p^5) element a: a bit z = [a = 0] and inv = 1/a (any value when a = 0), with
/// z a = 0, a inv = 1 - z and z boolean. A non-zero a forces z = 0 (z a = 0) and inv = 1/a;
/// a = 0 forces z = 1 (0 = 1 - z). Degree 2.
///
/// Wires (routed): a (5), inv (5), z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InverseGate;

impl InverseGate {
    /// First wire of the input a.
    pub const WIRE_A: usize = 0;
    /// First wire of the output 1/a.
    pub const WIRE_INV: usize = 5;
    /// The output bit [a = 0].
    pub const WIRE_IS_ZERO: usize = 10;
    const NUM_WIRES: usize = 11;
    const NUM_CONSTRAINTS: usize = 11;

    fn constraints<A: Algebra>(&self, a: &mut A, w: &[A::V]) -> Vec<A::V> {
        let mut out = Vec::with_capacity(Self::NUM_CONSTRAINTS);
        let x = q_at(w, Self::WIRE_A);
        let inv = q_at(w, Self::WIRE_INV);
        let z = w[Self::WIRE_IS_ZERO];
        for xi in x {
            out.push(a.mul(z, xi));
        }
        let one = a.constant(F::ONE);
        let zero = a.constant(F::ZERO);
        let not_z = a.sub(one, z);
        out.extend(q_mul_sub(a, &x, &inv, Some(&[not_z, zero, zero, zero, zero])));
        out.push(bool_constraint(a, z));
        out
    }

    /// Fills the computed wires of a row whose input a is set.
    pub(crate) fn fill(&self, w: &mut [F]) {
        let x: Q5 = q5(core::array::from_fn(|i| w[Self::WIRE_A + i]));
        w[Self::WIRE_INV..Self::WIRE_INV + 5].copy_from_slice(&inverse_or_zero(x).0);
        w[Self::WIRE_IS_ZERO] = F::from_bool(x == Q5::ZERO);
    }
}

impl Gate<F, D> for InverseGate {
    fn id(&self) -> String {
        "EcGfp5InverseGate".to_string()
    }

    fn serialize(&self, _dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        Ok(())
    }

    fn deserialize(_src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self)
    }

    super::algebraic_evaluations!();

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(InverseGenerator { row }.adapter())]
    }

    fn num_wires(&self) -> usize {
        Self::NUM_WIRES
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        2
    }

    fn num_constraints(&self) -> usize {
        Self::NUM_CONSTRAINTS
    }
}

super::packed_evaluation!(InverseGate);

/// Computes an [`InverseGate`] row from a.
#[derive(Clone, Debug)]
pub struct InverseGenerator {
    row: usize,
}

impl SimpleGenerator<F, D> for InverseGenerator {
    fn id(&self) -> String {
        "EcGfp5InverseGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..5).map(|i| Target::wire(self.row, InverseGate::WIRE_A + i)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<'_, F>, out_buffer: &mut GeneratedValues<F>) -> Result<()> {
        let mut w = vec![F::ZERO; InverseGate::NUM_WIRES];
        w[..5].copy_from_slice(&read_q5(witness, self.row, InverseGate::WIRE_A).0);
        InverseGate.fill(&mut w);
        for (c, value) in w.into_iter().enumerate().skip(5) {
            out_buffer.set_target(Target::wire(self.row, c), value)?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)
    }

    fn deserialize(src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()? })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::assert_tampering_detected;
    use super::*;
    use crate::C;

    #[test]
    fn low_degree() {
        test_low_degree::<F, _, D>(InverseGate);
    }

    #[test]
    fn eval_fns() -> Result<()> {
        test_eval_fns::<F, C, _, D>(InverseGate)
    }

    #[test]
    fn rows_and_tampering() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        for i in 0..10 {
            let x = if i == 0 { Q5::ZERO } else { Q5::sample(&mut rng) };
            let mut w = vec![F::ZERO; InverseGate::NUM_WIRES];
            w[..5].copy_from_slice(&x.0);
            InverseGate.fill(&mut w);
            let inv = q5(core::array::from_fn(|i| w[InverseGate::WIRE_INV + i]));
            if x == Q5::ZERO {
                assert_eq!(w[InverseGate::WIRE_IS_ZERO], F::ONE);
                // inv is unconstrained for a = 0.
                assert_tampering_detected(&InverseGate, &w, &[0, 1, 2, 3, 4, 10]);
            } else {
                assert_eq!(x * inv, Q5::ONE);
                assert_eq!(w[InverseGate::WIRE_IS_ZERO], F::ZERO);
                assert_tampering_detected(&InverseGate, &w, &(0..11).collect::<Vec<_>>());
            }
        }
    }
}
