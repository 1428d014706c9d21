//! The prover role, stages 1 to 4: proves every sealed block with the block circuits
//! of `rollup-circuits`, aggregates each closed batch's block proofs, chains the
//! batch proofs from genesis, and wraps each chain proof into a Groth16 proof
//! (`rollup-wrap`).
//!
//! A worker thread (never the actix arbiter) follows the sequencer's sealed blocks in
//! the node database: for the next unproven block it re-executes the block on its own
//! copy of the L2 state to make the circuit's witness, proves it with the smallest
//! circuit that fits, checks the proof, and commits the proof together with the state
//! advance in one database transaction. A restarted role (or node) therefore resumes
//! at the first block without a proof. Proofs are served by `rollup_getBlockProof`.
//!
//! Once the controller closes a batch (the `batches` table, or `rollup_getBatch` of
//! a remote node) and its blocks are proven, the worker proves the batch's
//! aggregation tree one leaf or node at a time, each committed to `segment_proofs`
//! as it is made, then the recursion step over the previous batch's chain proof;
//! the chain proof, the batch counter and the clean-up of the tree's inner proofs
//! are one commit. A restart resumes at the first missing proof of the tree: no
//! batch is lost or proven twice. Batch work goes before block work, since the
//! chain proof is what the rest of the system waits for. Served by
//! `rollup_getBatchProof`.
//!
//! With `prover.groth16.enabled`, a second thread runs stage 4 on every chain proof
//! in order, each in a `rollup prove-batch` process of its own ([`Groth16Settings`]),
//! and commits each checked proof with its progress; served by
//! `rollup_getGroth16Proof`.

mod batches;
mod component;
mod groth16;
mod rpc;
mod tables;

pub use component::{rpc_call, BlockSource, LoadProverError, ProverComponent, ProverMetrics};
pub use groth16::Groth16Settings;
pub use rpc::{
    register, BatchProofJson, GetBatchProof, GetBlockProof, GetGroth16Proof, ProofRecordJson, ProverSenders,
};
pub use tables::{
    BatchProofRecord, BatchProofs, BlockProofs, Groth16Proofs, Groth16Record, ProofRecord, ProverAccounts,
    ProverMeta, ProverTreeNodes, SegmentProofs,
};
