//! Bits and bytes of a 56-bit element (seven packed bytes).

use anyhow::Result;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::gates::gate::Gate;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::super::algebra::{bool_constraint, Algebra};
use crate::{D, F};

/// Splits an element into 56 bits and 7 bytes, little-endian: each bit is boolean, each byte is
/// the sum of its eight bits and the element is the sum of its bytes (so the element is below
/// 2^56: a range check). Degree 2.
///
/// Wires (routed): the element, bits 0..56, bytes 0..7.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteSplitGate;

impl ByteSplitGate {
    /// Number of bytes of an element.
    pub const BYTES: usize = 7;
    /// Number of bits of an element.
    pub const BITS: usize = 8 * Self::BYTES;
    /// The element's wire.
    pub const WIRE_ELEMENT: usize = 0;
    const NUM_WIRES: usize = 1 + Self::BITS + Self::BYTES;
    const NUM_CONSTRAINTS: usize = Self::BITS + Self::BYTES + 1;

    /// The wire of bit `i` (little-endian).
    pub const fn wire_bit(i: usize) -> usize {
        1 + i
    }

    /// The wire of byte `i` (little-endian).
    pub const fn wire_byte(i: usize) -> usize {
        1 + Self::BITS + i
    }

    fn constraints<A: Algebra>(&self, a: &mut A, w: &[A::V]) -> Vec<A::V> {
        let mut out = Vec::with_capacity(Self::NUM_CONSTRAINTS);
        for i in 0..Self::BITS {
            out.push(bool_constraint(a, w[Self::wire_bit(i)]));
        }
        for j in 0..Self::BYTES {
            let mut acc = w[Self::wire_byte(j)];
            for k in 0..8 {
                acc = a.scale_add(-F::from_canonical_u64(1 << k), w[Self::wire_bit(8 * j + k)], acc);
            }
            out.push(acc);
        }
        let mut acc = w[Self::WIRE_ELEMENT];
        for j in 0..Self::BYTES {
            acc = a.scale_add(-F::from_canonical_u64(1 << (8 * j)), w[Self::wire_byte(j)], acc);
        }
        out.push(acc);
        out
    }

    /// Fills the computed wires of a row whose element is set (with the low 56 bits of its
    /// canonical value; an element of 2^56 or more has no satisfying row).
    pub(crate) fn fill(&self, w: &mut [F]) {
        let v = w[Self::WIRE_ELEMENT].to_canonical_u64();
        for i in 0..Self::BITS {
            w[Self::wire_bit(i)] = F::from_canonical_u64((v >> i) & 1);
        }
        for j in 0..Self::BYTES {
            w[Self::wire_byte(j)] = F::from_canonical_u64((v >> (8 * j)) & 0xff);
        }
    }
}

impl Gate<F, D> for ByteSplitGate {
    fn id(&self) -> String {
        "EcGfp5ByteSplitGate".to_string()
    }

    fn serialize(&self, _dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        Ok(())
    }

    fn deserialize(_src: &mut Buffer<'_>, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self)
    }

    super::algebraic_evaluations!();

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(ByteSplitGenerator { row }.adapter())]
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

super::packed_evaluation!(ByteSplitGate);

/// Computes a [`ByteSplitGate`] row from its element.
#[derive(Clone, Debug)]
pub struct ByteSplitGenerator {
    row: usize,
}

impl SimpleGenerator<F, D> for ByteSplitGenerator {
    fn id(&self) -> String {
        "EcGfp5ByteSplitGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        vec![Target::wire(self.row, ByteSplitGate::WIRE_ELEMENT)]
    }

    fn run_once(&self, witness: &PartitionWitness<'_, F>, out_buffer: &mut GeneratedValues<F>) -> Result<()> {
        let mut w = vec![F::ZERO; ByteSplitGate::NUM_WIRES];
        w[0] = witness.get_target(Target::wire(self.row, ByteSplitGate::WIRE_ELEMENT));
        ByteSplitGate.fill(&mut w);
        for (c, value) in w.into_iter().enumerate().skip(1) {
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
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::testing::{assert_tampering_detected, eval};
    use super::*;
    use crate::C;

    #[test]
    fn low_degree() {
        test_low_degree::<F, _, D>(ByteSplitGate);
    }

    #[test]
    fn eval_fns() -> Result<()> {
        test_eval_fns::<F, C, _, D>(ByteSplitGate)
    }

    #[test]
    fn rows_and_tampering() {
        let mut rng = ChaCha8Rng::seed_from_u64(51);
        for v in [0, (1 << 56) - 1, rng.gen_range(0..1 << 56), rng.gen_range(0..1 << 56)] {
            let mut w = vec![F::ZERO; ByteSplitGate::NUM_WIRES];
            w[0] = F::from_canonical_u64(v);
            ByteSplitGate.fill(&mut w);
            for j in 0..7 {
                assert_eq!(w[ByteSplitGate::wire_byte(j)], F::from_canonical_u64((v >> (8 * j)) & 0xff));
            }
            assert_tampering_detected(&ByteSplitGate, &w, &(0..ByteSplitGate::NUM_WIRES).collect::<Vec<_>>());
        }
        // 2^56 has no row: its low 56 bits are zero and do not sum to it.
        let mut w = vec![F::ZERO; ByteSplitGate::NUM_WIRES];
        w[0] = F::from_canonical_u64(1 << 56);
        ByteSplitGate.fill(&mut w);
        assert!(eval(&ByteSplitGate, &w).iter().any(|c| *c != crate::ecgfp5::algebra::FE::ZERO));
    }
}
