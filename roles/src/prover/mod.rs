//! The prover role, stage 1: proves every sealed block with the block circuit of
//! `rollup-circuits` and keeps the proofs.
//!
//! A worker thread (never the actix arbiter) follows the sequencer's sealed blocks in
//! the node database: for the next unproven block it re-executes the block on its own
//! copy of the L2 state to make the circuit's witness, proves it with the smallest
//! circuit that fits, checks the proof, and commits the proof together with the state
//! advance in one database transaction. A restarted role (or node) therefore resumes
//! at the first block without a proof. Proofs are served by `rollup_getBlockProof`.

mod component;
mod rpc;
mod tables;

pub use component::{BlockSource, LoadProverError, ProverComponent, ProverMetrics};
pub use rpc::{register, GetBlockProof, ProofRecordJson, ProverSenders};
pub use tables::{BlockProofs, ProofRecord, ProverAccounts, ProverMeta, ProverTreeNodes};
