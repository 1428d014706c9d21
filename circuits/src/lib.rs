//! The rollup's proof circuits (`docs/protocol.md` section 6).
//!
//! Stage 1 proves one L2 block: [`block`] builds a plonky2 circuit with a fixed
//! number of transaction slots that re-executes the state transition function of
//! `rollup-l2` (signatures, account-tree updates, balances, nonces, L1 messages,
//! fees, withdrawals), and turns a sealed block plus its pre-state into the
//! circuit's witness. It is built from gadgets: [`ecgfp5`] (EcGFp5 arithmetic and
//! Schnorr verification, with custom gates) and [`gadgets`] (domain-separated
//! Poseidon, Merkle paths, range checks). The block circuit sits behind the small
//! [`ProofSystem`] trait, so that a backend can change without touching its callers
//! (the batch circuits do not implement it yet).
//!
//! Stages 2 and 3 live in [`batch`]: aggregation of a batch's block proofs in a
//! binary tree, and cyclic recursion that chains batch proofs from genesis, with
//! every block circuit checked against the CodeControlGroup. Its
//! [`batch::ChainVerifier`] checks chain proofs on its own, for stage 4 (`rollup-wrap`).

pub mod batch;
pub mod block;
pub mod ecgfp5;
pub mod gadgets;
mod system;

pub use system::{ProofSystem, ProofSystemError};

/// The circuits' field: Goldilocks.
pub type F = plonky2::field::goldilocks_field::GoldilocksField;
/// The extension degree plonky2 uses for its challenges.
pub const D: usize = 2;
/// The plonky2 configuration: Poseidon over Goldilocks.
pub type C = plonky2::plonk::config::PoseidonGoldilocksConfig;
