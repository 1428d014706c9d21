//! Integration tests of the Groth16 wrapper.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gates;
mod groth16;
mod poseidon;
mod r1cs;
mod verifier;
