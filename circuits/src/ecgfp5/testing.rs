//! Proving helpers shared by the circuit tests: prove and verify, prove with a tampered
//! witness, and assert that proving fails.

use std::panic::{catch_unwind, AssertUnwindSafe};

use anyhow::Result;
use plonky2::iop::generator::generate_partial_witness;
use plonky2::iop::target::Target;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_data::CircuitData;
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::plonk::prover::prove_with_partition_witness;
use plonky2::util::timing::TimingTree;

use crate::{C, D, F};

/// Proves, verifies and returns the proof (panics on failure).
pub(crate) fn prove_and_verify(
    data: &CircuitData<F, C, D>,
    pw: PartialWitness<F>,
) -> ProofWithPublicInputs<F, C, D> {
    let proof = data.prove(pw).expect("proving succeeds");
    data.verify(proof.clone()).expect("the proof verifies");
    proof
}

/// A target and how to change its value.
pub(crate) type Tamper = (Target, fn(F) -> F);

/// Runs the generators, then overwrites the value of each target's copy class with
/// `tamper(value)` (every copy changes together, so only gate constraints can notice), then
/// proves and verifies.
pub(crate) fn prove_with_tampering(
    data: &CircuitData<F, C, D>,
    pw: PartialWitness<F>,
    tampers: &[Tamper],
) -> Result<ProofWithPublicInputs<F, C, D>> {
    let mut partition = generate_partial_witness(pw, &data.prover_only, &data.common)?;
    for (target, tamper) in tampers {
        let index = partition.representative_map[target.index(partition.num_wires, partition.degree)];
        let value = partition.values[index].unwrap_or_default();
        partition.values[index] = Some(tamper(value));
    }
    let proof =
        prove_with_partition_witness(&data.prover_only, &data.common, partition, &mut TimingTree::default())?;
    data.verify(proof.clone())?;
    Ok(proof)
}

/// Asserts that `f` fails because the gate constraints do not hold: either the verifier rejects
/// the proof (its vanishing-polynomial check at zeta fails) or the prover panics while dividing
/// by Z_H.
pub(crate) fn assert_proof_fails<T>(f: impl FnOnce() -> Result<T>) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(_)) => panic!("a proof was produced from a tampered witness"),
        Ok(Err(e)) => {
            let message = e.to_string();
            assert!(message.contains("vanishing_polys_zeta"), "unexpected error: {message}");
        }
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            assert!(message.contains("Quotient has failed"), "unexpected panic: {message}");
        }
    }
}
