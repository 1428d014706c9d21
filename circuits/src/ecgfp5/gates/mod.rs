//! The custom gates of the EcGFp5 gadgets.
//!
//! * [`DoubleAddGate`]: a run of steps `acc <- 2 acc (+ e_i P) + s_i G` of the joint scalar
//!   multiplication, in affine coordinates with prover-supplied results (complete formulas, so
//!   every result is uniquely determined).
//! * [`DecodeGate`]: decoding of a public key w into an affine point, proving either outcome.
//! * [`InverseGate`]: 1/a and an is-zero bit for a GF(p^5) element.
//! * [`ByteSplitGate`]: the 56 bits and 7 bytes of a packed element (range check included).
//!
//! Every gate writes its constraints once over a generic ring abstraction, so the
//! prover's, the verifier's and the recursive circuit's evaluations agree by construction.

/// The evaluation methods of a `Gate` whose constraints are one method
/// `constraints<A: Algebra>(&self, a: &mut A, wires: &[A::V]) -> Vec<A::V>`: the
/// verifier's (extension field), the recursive circuit's and, through
/// [`packed_evaluation`], the prover's (packed base field) all call it.
macro_rules! algebraic_evaluations {
    () => {
        fn eval_unfiltered(
            &self,
            vars: plonky2::plonk::vars::EvaluationVars<'_, crate::F, { crate::D }>,
        ) -> Vec<crate::ecgfp5::algebra::FE> {
            self.constraints(&mut crate::ecgfp5::algebra::ExtAlg, vars.local_wires)
        }

        fn eval_unfiltered_base_one(
            &self,
            _vars: plonky2::plonk::vars::EvaluationVarsBase<'_, crate::F>,
            _yield_constr: plonky2::gates::util::StridedConstraintConsumer<'_, crate::F>,
        ) {
            panic!("use eval_unfiltered_base_packed instead");
        }

        fn eval_unfiltered_base_batch(
            &self,
            vars_base: plonky2::plonk::vars::EvaluationVarsBaseBatch<'_, crate::F>,
        ) -> Vec<crate::F> {
            plonky2::gates::packed_util::PackedEvaluableBase::eval_unfiltered_base_batch_packed(
                self, vars_base,
            )
        }

        fn eval_unfiltered_circuit(
            &self,
            builder: &mut plonky2::plonk::circuit_builder::CircuitBuilder<crate::F, { crate::D }>,
            vars: plonky2::plonk::vars::EvaluationTargets<'_, { crate::D }>,
        ) -> Vec<plonky2::iop::ext_target::ExtensionTarget<{ crate::D }>> {
            self.constraints(&mut crate::ecgfp5::algebra::CircuitAlg::new(builder), vars.local_wires)
        }
    };
}

/// The prover's packed evaluation of a gate written with [`algebraic_evaluations`].
macro_rules! packed_evaluation {
    ($gate:ty) => {
        impl plonky2::gates::packed_util::PackedEvaluableBase<crate::F, { crate::D }> for $gate {
            fn eval_unfiltered_base_packed<P: plonky2::field::packed::PackedField<Scalar = crate::F>>(
                &self,
                vars: plonky2::plonk::vars::EvaluationVarsBasePacked<'_, P>,
                mut yield_constr: plonky2::gates::util::StridedConstraintConsumer<'_, P>,
            ) {
                let count = plonky2::gates::gate::Gate::<crate::F, { crate::D }>::num_wires(self);
                let wires: Vec<P> = (0..count).map(|i| vars.local_wires[i]).collect();
                yield_constr
                    .many(self.constraints(&mut crate::ecgfp5::algebra::PackedAlg::<P>::new(), &wires));
            }
        }
    };
}

use algebraic_evaluations;
use packed_evaluation;

mod bytes;
mod decode;
mod double_add;
mod inverse;

pub use bytes::{ByteSplitGate, ByteSplitGenerator};
pub use decode::{DecodeGate, DecodeGenerator};
pub use double_add::{DoubleAddGate, DoubleAddGenerator};
pub use inverse::{InverseGate, InverseGenerator};

use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness};

use super::native::{q5, Q5};
use crate::F;

/// Reads five consecutive wires of a row as a GF(p^5) element.
fn read_q5(witness: &PartitionWitness<'_, F>, row: usize, start: usize) -> Q5 {
    q5(core::array::from_fn(|i| witness.get_target(Target::wire(row, start + i))))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Constraint-level tampering checks shared by the gates' tests.

    use plonky2::field::types::Field;
    use plonky2::gates::gate::Gate;
    use plonky2::hash::hash_types::HashOut;
    use plonky2::plonk::vars::EvaluationVars;

    use crate::ecgfp5::algebra::FE;
    use crate::{D, F};

    /// The constraints of `gate` on a row of base-field wire values.
    pub(crate) fn eval<G: Gate<F, D>>(gate: &G, wires: &[F]) -> Vec<FE> {
        let wires: Vec<FE> = wires
            .iter()
            .map(|&w| <FE as plonky2::field::extension::FieldExtension<D>>::from_basefield(w))
            .collect();
        let constants: Vec<FE> = vec![];
        let hash = HashOut::ZERO;
        gate.eval_unfiltered(EvaluationVars {
            local_constants: &constants,
            local_wires: &wires,
            public_inputs_hash: &hash,
        })
    }

    /// Asserts that the honest row satisfies every constraint and that changing any one of the
    /// wires in `wires_to_tamper` violates at least one.
    pub(crate) fn assert_tampering_detected<G: Gate<F, D>>(gate: &G, row: &[F], wires_to_tamper: &[usize]) {
        assert!(eval(gate, row).iter().all(|c| *c == FE::ZERO), "the honest row must satisfy the gate");
        for &i in wires_to_tamper {
            let mut bad = row.to_vec();
            bad[i] += F::ONE;
            assert!(eval(gate, &bad).iter().any(|c| *c != FE::ZERO), "tampering wire {i} went unnoticed");
        }
    }
}
