//! Integration tests of the tapscript toolkit: every gadget runs under Bitcoin Core's
//! interpreter (libbitcoinkernel) on seeded random inputs against native code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blake3;
mod da_envelope;
mod da_tx;
mod fq;
mod interpreter;
mod limbs;
mod winternitz;
