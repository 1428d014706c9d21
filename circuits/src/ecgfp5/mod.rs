//! EcGFp5 Schnorr verification in plonky2 circuits, matching `rollup_l2::ecgfp5` exactly.
//!
//! [`verify_schnorr`] returns a bit equal to `rollup_l2::verify(pubkey, message, signature)` for
//! every input: it never asserts validity, and the bit is forced both ways. The signature is a
//! [`SignatureTarget`] (80 bytes packed seven per element, as `rollup_l2::pack_bytes`).
//!
//! # How it is built
//!
//! * Points are affine (x, u) coordinates (u = x/y = 1/w for the encoding w; the neutral is
//!   (0, 0)). Every point operation's result is supplied by the prover and tied to the complete
//!   fractional formulas of the native code by x' Z = X and u' T = U, where Z and T never vanish
//!   on group elements: there are no exceptional cases and every result is unique.
//! * [`gates::DecodeGate`] decodes the public key and proves either outcome (a root of
//!   x^2 - (w^2 - 2) x + b that is not a square, or a non-square discriminant), substituting the
//!   generator for invalid keys.
//! * R' = s G + e P is a joint double-and-add over the bits, most significant first, with
//!   [`gates::DoubleAddGate`] rows: three steps `acc <- 2 acc + e_i P + s_i G` per row for the 256
//!   bits of e (its top 64 bits must be zero anyway), five steps `acc <- 2 acc + s_i G` per row
//!   above; G is a constant of the gate.
//! * [`gates::InverseGate`] gives w' = 1/u(R') and [R' = 0]; Poseidon hashes
//!   (TAG, w', pubkey, message); [`gates::ByteSplitGate`] rows give the bits and bytes of the
//!   signature; s < n is a borrow chain with range checks; e is compared with the digest limb by
//!   limb (each limb also checked to be below p).
//!
//! Witness generators registered by the gadget compute every other value from the public key,
//! message and signature targets.
//!
//! One verification takes 130 rows of the standard recursion configuration (see the
//! `signature` bench): 99 [`gates::DoubleAddGate`] rows (86 with three steps, 13 with five),
//! 12 [`gates::ByteSplitGate`] rows, 6 range checks, 9 arithmetic rows, 2 Poseidon rows, one
//! [`gates::DecodeGate`] and one [`gates::InverseGate`] row, plus a few constants that a circuit
//! shares between all its verifications. The custom gates have degree at most 7 and use no
//! constant columns.
//!
//! The generators of the gates are registered by the gates themselves; the gadget also adds one
//! [`ScalarBorrowGenerator`] per verification (plus plonky2's own). Serializing a circuit's
//! prover data needs gate and generator serializers that list these types; proofs and common
//! data need nothing special.

mod algebra;
mod curve;
pub mod gates;
mod native;
mod schnorr;
#[cfg(test)]
mod testing;

pub use curve::{decode_public_key, inverse_or_zero, mul_add_generator, Gfp5Target, PointTarget};
pub use schnorr::{verify_schnorr, ScalarBorrowGenerator, SignatureTarget};
