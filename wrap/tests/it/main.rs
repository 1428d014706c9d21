//! Integration tests of the Groth16 wrapper.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod groth16;
