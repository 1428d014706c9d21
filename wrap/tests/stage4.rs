//! Stage 4 end to end, at full size: a real chain proof is wrapped, the wrapper
//! proof satisfies the verifier's R1CS, and its Groth16 proof over BLS12-381
//! verifies; each tampered public scalar is refused. (The R1CS's refusal of
//! tampered and foreign plonky2 proofs is tested on small circuits in `it`.)
//!
//! This is the one test that runs the full-size Groth16 setup and proof (about
//! ten minutes on 2 cores; `cargo bench -p rollup-wrap --bench stage4` gives the
//! figures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/chain.rs"]
mod chain;

use ark_bls12_381::Fr;
use rollup_wrap::groth16::Proof;
use rollup_wrap::stage4::{Stage4, DEVELOPMENT_SEED};
use rollup_wrap::statement::Groth16Statement;

#[test]
fn a_chain_proof_is_wrapped_into_a_groth16_proof_that_verifies() {
    let chain = chain::batch_zero();
    let keys = tempfile::tempdir().unwrap();
    let stage4 = Stage4::load_or_setup(&chain.circuits, keys.path(), DEVELOPMENT_SEED).unwrap();
    let batch = stage4.prove(&chain.proof).unwrap();

    let statement = chain.proof.statement().unwrap();
    assert_eq!(batch.statement, Groth16Statement::from_chain_statement(&statement));
    assert_eq!(batch.statement.from_root(), Some(statement.from_root.elements()));
    assert_eq!(batch.statement.to_root(), Some(statement.to_root.elements()));
    let bytes = batch.proof.to_bytes();
    assert_eq!(bytes.len(), 192);
    let proof = Proof::from_bytes(&bytes).unwrap();
    stage4.verify(&batch.statement, &proof).unwrap();

    // Each public scalar, changed, is refused.
    for index in 0..5 {
        let mut tampered = batch.statement;
        tampered.inputs[index] += Fr::from(1u64);
        assert!(stage4.verify(&tampered, &proof).is_err(), "input {index} changed");
    }
    // The cached keys are loaded, not set up again, and verify the same proof.
    let reloaded = Stage4::load_or_setup(&chain.circuits, keys.path(), DEVELOPMENT_SEED).unwrap();
    assert_eq!(reloaded.keys().vk_hash(), stage4.keys().vk_hash());
    reloaded.verify(&batch.statement, &proof).unwrap();
}
