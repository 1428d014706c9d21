//! Stage 4 of the proving pipeline (`docs/protocol.md` section 6): the proof that goes to
//! Bitcoin.
//!
//! The stage-3 chain proof is a plonky2 proof hashed with Poseidon over Goldilocks.
//! Checking it inside a pairing-friendly SNARK directly would mean emulating that
//! hash, which is very expensive. So a final plonky2 layer, the *wrapper*, verifies
//! the chain proof and is itself committed with a hash that is native to the
//! BLS12-381 scalar field: [`poseidon`], a Poseidon permutation over `Fr`, wired into
//! plonky2 as [`poseidon::PoseidonBls12Config`]. The wrapper proof is then checked by
//! an R1CS over `Fr` ([`r1cs`]), in which Goldilocks and its quadratic extension are
//! emulated with lazy reduction, and a Groth16 proof over BLS12-381 attests that the
//! R1CS is satisfied.
//!
//! [`stage4::Stage4`] runs it end to end; [`batch_proof`] is the proof as it leaves
//! the prover (with its statement and verifying key) and its check against a pinned
//! verifying-key hash.
//!
//! The verifier is written once, generic over [`algebra::Backend`]: run natively it
//! is an independent plonky2 verifier that the tests hold against plonky2's own;
//! run with the R1CS backend it emits the constraints that Groth16 proves.
//!
//! # Encodings every part agrees on
//!
//! - **Poseidon.** The permutation is Poseidon with `x^5`, width 5, 8 full and 60
//!   partial rounds over the BLS12-381 scalar field (the Poseidon paper's 128-bit
//!   instance for a 255-bit field and t = 5).
//! - **Packing.** Up to three canonical Goldilocks values `x0, x1, x2` pack into
//!   one scalar `x0 + x1·2^64 + x2·2^128` (missing values are zero). This is
//!   injective.
//! - **Unpacking.** A scalar becomes Goldilocks values through its 64-bit chunks
//!   `(s >> 64·j) mod 2^64`, each reduced modulo the Goldilocks prime; only chunks
//!   0, 1 and 2 are used.
//! - **Digest limbs.** A digest (one scalar) enters a plonky2 transcript as five
//!   51-bit limbs, least significant first, which is injective and canonical.
pub mod algebra;
pub mod batch_proof;
pub mod circuit;
pub mod gates;
pub mod groth16;
pub mod poseidon;
pub mod poseidon_goldilocks;
pub mod r1cs;
pub mod stage4;
pub mod statement;
pub mod verifier;
pub mod wrapper;
