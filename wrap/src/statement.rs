//! The Groth16 public inputs of a batch: what the proof on Bitcoin states.
//!
//! # The encoding (one definition, for every part of the system)
//!
//! docs/protocol.md section 6 asks for from_state and to_state each as their own input
//! and the rest hashed into one. A state root is four canonical Goldilocks elements
//! `g0, g1, g2, g3` (in the order of `rollup_l2::Digest`'s elements), 256 bits that
//! do not fit one BLS12-381 scalar, so each root is **two** scalars:
//!
//! - `lo = g0 + g1·2^64`, `hi = g2 + g3·2^64` (each `< 2^128`, so always canonical).
//!
//! Everything else of the stage-3 [`ChainStatement`] is hashed:
//!
//! - the *rest fields* are [`ChainStatement::to_fields`] without `from_root` and
//!   `to_root`, in that order ([`Groth16Statement::rest_fields`]: genesis root, code
//!   control root, batch number, first and last block, transaction chain, L1
//!   cursors and chains, withdrawal chains, DA flag and commitment: 38 elements);
//! - the *rest digest* is plonky2's Goldilocks Poseidon
//!   `PoseidonHash::hash_no_pad(rest fields)`, 4 elements (computed inside the
//!   wrapper's plonky2 circuit);
//! - the input `rest` is the Poseidon over the BLS12-381 scalar field of the crate
//!   docs, `crate::poseidon::sponge::hash_no_pad` of those 4 elements.
//!
//! The public inputs are the five scalars, in this order:
//! `[from_lo, from_hi, to_lo, to_hi, rest]`.
//!
//! As bytes ([`Groth16Statement::to_bytes`]) they are 5 × 32 bytes, each scalar's
//! canonical value (`< r`) little-endian. The claim Φ on Bitcoin carries the same
//! values in the same encoding, so that a disprove script compares them directly.
//! The decoder is strict: it accepts exactly the encoder's image (every scalar
//! canonical, and each root half `< 2^128` with both 64-bit halves canonical
//! Goldilocks values).

use ark_bls12_381::Fr;
use ark_ff::{BigInt, PrimeField};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Field64};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::Hasher;
use rollup_circuits::batch::ChainStatement;

use crate::algebra::{pack, Native};

/// Public inputs of the batch proof.
pub const NUM_INPUTS: usize = 5;
/// Bytes of an encoded statement: 5 scalars of 32 bytes.
pub const STATEMENT_BYTES: usize = NUM_INPUTS * SCALAR_BYTES;
/// Bytes of one encoded scalar.
pub const SCALAR_BYTES: usize = 32;
/// The names of the inputs, in order.
pub const INPUT_NAMES: [&str; NUM_INPUTS] = ["from_lo", "from_hi", "to_lo", "to_hi", "rest"];

/// Why statement bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not [`STATEMENT_BYTES`] bytes.
    #[error("a statement is {expected} bytes, got {found}")]
    Length {
        /// [`STATEMENT_BYTES`].
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A scalar that is not below the BLS12-381 scalar field's modulus.
    #[error("input {input} is not a canonical scalar")]
    NonCanonicalScalar {
        /// The input's name ([`INPUT_NAMES`]).
        input: &'static str,
    },
    /// A root half that is not `x0 + x1·2^64` with canonical Goldilocks `x0, x1`.
    #[error("input {input} is not two canonical Goldilocks values")]
    RootOutOfRange {
        /// The input's name ([`INPUT_NAMES`]).
        input: &'static str,
    },
}

/// The Groth16 public inputs of a batch, `[from_lo, from_hi, to_lo, to_hi, rest]`
/// (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Groth16Statement {
    /// The inputs, in order.
    pub inputs: [Fr; NUM_INPUTS],
}

impl Groth16Statement {
    /// The public inputs that a batch proof of `statement` has.
    pub fn from_chain_statement(statement: &ChainStatement) -> Self {
        let [from_lo, from_hi] = root_scalars(&statement.from_root.elements());
        let [to_lo, to_hi] = root_scalars(&statement.to_root.elements());
        let rest = rest_input(&Self::rest_digest(statement));
        Self { inputs: [from_lo, from_hi, to_lo, to_hi, rest] }
    }

    /// The inputs stated by the wrapper's twelve public inputs (`from_root`,
    /// `to_root`, the rest digest): what [`crate::circuit::bind_statement`] checks.
    pub fn from_wrapper_public_inputs(public_inputs: &[GoldilocksField]) -> Option<Self> {
        let [from_root, to_root, rest]: [[GoldilocksField; 4]; 3] = match public_inputs {
            [f0, f1, f2, f3, t0, t1, t2, t3, r0, r1, r2, r3] => {
                [[*f0, *f1, *f2, *f3], [*t0, *t1, *t2, *t3], [*r0, *r1, *r2, *r3]]
            }
            _ => return None,
        };
        let [from_lo, from_hi] = root_scalars(&from_root);
        let [to_lo, to_hi] = root_scalars(&to_root);
        Some(Self { inputs: [from_lo, from_hi, to_lo, to_hi, rest_input(&rest)] })
    }

    /// [`ChainStatement::to_fields`] without `from_root` and `to_root`, in order.
    pub fn rest_fields(statement: &ChainStatement) -> Vec<GoldilocksField> {
        crate::wrapper::rest_fields(&statement.to_fields())
    }

    /// `PoseidonHash::hash_no_pad` (Goldilocks) of [`Groth16Statement::rest_fields`]:
    /// the digest the wrapper circuit computes and exposes.
    pub fn rest_digest(statement: &ChainStatement) -> [GoldilocksField; 4] {
        PoseidonHash::hash_no_pad(&Self::rest_fields(statement)).elements
    }

    /// The `rest` input.
    pub fn rest(&self) -> Fr {
        self.inputs[4]
    }

    /// `from_root`'s four elements, if `from_lo` and `from_hi` encode a root.
    pub fn from_root(&self) -> Option<[GoldilocksField; 4]> {
        root_from_scalars(&self.inputs[0], &self.inputs[1])
    }

    /// `to_root`'s four elements, if `to_lo` and `to_hi` encode a root.
    pub fn to_root(&self) -> Option<[GoldilocksField; 4]> {
        root_from_scalars(&self.inputs[2], &self.inputs[3])
    }

    /// 5 × 32 bytes: each input's canonical value, little-endian.
    pub fn to_bytes(&self) -> [u8; STATEMENT_BYTES] {
        let mut out = [0u8; STATEMENT_BYTES];
        for (chunk, input) in out.chunks_exact_mut(SCALAR_BYTES).zip(&self.inputs) {
            for (bytes, limb) in chunk.chunks_exact_mut(8).zip(input.into_bigint().0) {
                bytes.copy_from_slice(&limb.to_le_bytes());
            }
        }
        out
    }

    /// Decodes [`Groth16Statement::to_bytes`], strictly: the length, every scalar
    /// canonical, and the four root halves in range (module docs).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StatementError> {
        if bytes.len() != STATEMENT_BYTES {
            return Err(StatementError::Length { expected: STATEMENT_BYTES, found: bytes.len() });
        }
        let mut inputs = [Fr::from(0u64); NUM_INPUTS];
        for (index, (input, chunk)) in inputs.iter_mut().zip(bytes.chunks_exact(SCALAR_BYTES)).enumerate() {
            let name = INPUT_NAMES.get(index).copied().unwrap_or("?");
            let mut limbs = [0u64; 4];
            for (limb, word) in limbs.iter_mut().zip(chunk.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(word);
                *limb = u64::from_le_bytes(le);
            }
            *input = Fr::from_bigint(BigInt::new(limbs))
                .ok_or(StatementError::NonCanonicalScalar { input: name })?;
            if index < 4 && !is_root_half(&limbs) {
                return Err(StatementError::RootOutOfRange { input: name });
            }
        }
        Ok(Self { inputs })
    }
}

/// A root's two scalars: `[g0 + g1·2^64, g2 + g3·2^64]` (module docs).
pub fn root_scalars(root: &[GoldilocksField; 4]) -> [Fr; 2] {
    [pack(&root[..2]), pack(&root[2..])]
}

/// The root that two scalars encode, if each is `x0 + x1·2^64` with canonical
/// Goldilocks `x0, x1`.
pub fn root_from_scalars(lo: &Fr, hi: &Fr) -> Option<[GoldilocksField; 4]> {
    let lo = lo.into_bigint().0;
    let hi = hi.into_bigint().0;
    if !is_root_half(&lo) || !is_root_half(&hi) {
        return None;
    }
    Some([lo[0], lo[1], hi[0], hi[1]].map(GoldilocksField::from_canonical_u64))
}

/// The limbs are `x0 + x1·2^64` with canonical Goldilocks `x0, x1`.
fn is_root_half(limbs: &[u64; 4]) -> bool {
    let p = GoldilocksField::ORDER;
    limbs[0] < p && limbs[1] < p && limbs[2] == 0 && limbs[3] == 0
}

/// The `rest` input from the rest digest: Poseidon over the BLS12-381 scalar field
/// (`crate::poseidon::sponge::hash_no_pad`, natively) of its four elements.
pub fn rest_input(rest_digest: &[GoldilocksField; 4]) -> Fr {
    crate::poseidon::sponge::hash_no_pad(&mut Native::new(), &rest_digest[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_halves_are_positional() {
        let root = [1u64, 2, 3, GoldilocksField::ORDER - 1].map(GoldilocksField::from_canonical_u64);
        let [lo, hi] = root_scalars(&root);
        assert_eq!(lo, Fr::from(1u64) + Fr::from(2u64) * Fr::from(1u128 << 64));
        assert_eq!(hi, Fr::from(3u64) + Fr::from(GoldilocksField::ORDER - 1) * Fr::from(1u128 << 64));
        assert_eq!(root_from_scalars(&lo, &hi), Some(root));
    }
}
