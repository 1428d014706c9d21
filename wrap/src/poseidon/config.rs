//! plonky2's configuration for the wrapper: Goldilocks and its quadratic extension,
//! Merkle trees and the Fiat-Shamir transcript hashed with Poseidon over `Fr`.
//!
//! plonky2 drives the transcript through [`PlonkyPermutation`] over Goldilocks: its
//! `Challenger` overwrites the first `RATE` positions with observed values, permutes,
//! and reads challenges from `squeeze()` (last element first); FRI's proof of work
//! (`fri_proof_of_work`) writes the candidate nonce at the position after the
//! buffered inputs, permutes, and reads the last element of `squeeze()`. So
//! [`PoseidonBls12Permutation`] exposes the rate as twelve Goldilocks values (the
//! "Goldilocks view", `RATE = WIDTH = 12`) and keeps the capacity scalar hidden
//! beside them; see [`super::sponge::permute_view`].
//!
//! The transcript is a duplex sponge whose capacity is one whole scalar (255 bits,
//! never exposed nor truncated), so its generic security is about 127 bits. The view
//! drops bits 192..255 of each rate scalar and reduces each 64-bit chunk modulo the
//! Goldilocks prime, so a challenge is off uniform by at most `2^-32` in statistical
//! distance (a chunk is `≥ p` with probability `(2^64 − p)/2^64 < 2^-32`), as when
//! sampling Goldilocks from 64 random bits.
//!
//! Public inputs are hashed by the inner hasher, plonky2's Poseidon over Goldilocks,
//! as with plonky2's own configurations.

use core::fmt;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField};
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::{GenericConfig, GenericHashOut, Hasher};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::sponge::{self, VIEW_WIDTH};
use crate::algebra::{digest_limbs, Native};

/// The size of a serialized [`Digest`] in bytes.
pub const DIGEST_BYTES: usize = 32;

/// plonky2's configuration for the wrapper proof.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoseidonBls12Config;

impl GenericConfig<2> for PoseidonBls12Config {
    type F = GoldilocksField;
    type FE = QuadraticExtension<GoldilocksField>;
    type Hasher = PoseidonBls12Hash;
    type InnerHasher = PoseidonHash;
}

/// A digest: one scalar of the BLS12-381 scalar field.
///
/// Bytes: 32, little-endian, canonical. [`GenericHashOut::from_bytes`] must be
/// total (plonky2 reads proofs through it), so it reduces any byte string modulo `r`
/// (see there); serde deserialization is strict instead (exactly 32 bytes,
/// canonical). In a transcript a digest is observed as its five 51-bit limbs
/// ([`digest_limbs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Digest(pub Fr);

impl Digest {
    /// The canonical 32-byte little-endian encoding.
    pub fn to_le_bytes(&self) -> [u8; DIGEST_BYTES] {
        let mut out = [0u8; DIGEST_BYTES];
        for (slot, byte) in out.iter_mut().zip(self.0.into_bigint().to_bytes_le()) {
            *slot = byte;
        }
        out
    }

    /// The digest encoded by `bytes` if they are its canonical encoding.
    pub fn from_canonical_le_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; DIGEST_BYTES] = bytes.try_into().ok()?;
        let digest = Self(Fr::from_le_bytes_mod_order(&array));
        (digest.to_le_bytes() == array).then_some(digest)
    }
}

impl GenericHashOut<GoldilocksField> for Digest {
    fn to_bytes(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }

    /// The little-endian integer `bytes`, reduced modulo `r`: total, never panics.
    ///
    /// A short input is read as if zero-padded; a non-canonical or longer input is
    /// reduced. plonky2's proof reader always passes 32 bytes, so a proof whose
    /// digest bytes encode `d + r` (possible for `d < 2^256 − r`) decodes to the
    /// same digest `d` and verifies like the canonical proof: proof bytes are
    /// malleable, the statement and its verdict are not. Use
    /// [`Digest::from_canonical_le_bytes`] where canonicity matters.
    fn from_bytes(bytes: &[u8]) -> Self {
        Self(Fr::from_le_bytes_mod_order(bytes))
    }

    fn to_vec(&self) -> Vec<GoldilocksField> {
        digest_limbs(&self.0).to_vec()
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_le_bytes())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(DigestVisitor)
    }
}

struct DigestVisitor;

impl<'de> de::Visitor<'de> for DigestVisitor {
    type Value = Digest;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{DIGEST_BYTES} bytes: a canonical little-endian BLS12-381 scalar")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Digest, E> {
        if bytes.len() != DIGEST_BYTES {
            return Err(E::invalid_length(bytes.len(), &self));
        }
        Digest::from_canonical_le_bytes(bytes)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Bytes(bytes), &self))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Digest, A::Error> {
        let mut bytes = [0u8; DIGEST_BYTES];
        for (i, slot) in bytes.iter_mut().enumerate() {
            *slot = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<u8>()?.is_some() {
            return Err(de::Error::invalid_length(DIGEST_BYTES + 1, &self));
        }
        self.visit_bytes(&bytes)
    }
}

/// plonky2's view of the transcript permutation: twelve Goldilocks values (the rate)
/// and the hidden capacity scalar. See [`super::sponge::permute_view`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoseidonBls12Permutation {
    view: [GoldilocksField; VIEW_WIDTH],
    capacity: Fr,
}

impl PoseidonBls12Permutation {
    /// The hidden capacity scalar.
    pub fn capacity(&self) -> Fr {
        self.capacity
    }

    /// A state with the given view and capacity.
    pub fn from_parts(view: [GoldilocksField; VIEW_WIDTH], capacity: Fr) -> Self {
        Self { view, capacity }
    }
}

impl AsRef<[GoldilocksField]> for PoseidonBls12Permutation {
    fn as_ref(&self) -> &[GoldilocksField] {
        &self.view
    }
}

impl PlonkyPermutation<GoldilocksField> for PoseidonBls12Permutation {
    const RATE: usize = VIEW_WIDTH;
    const WIDTH: usize = VIEW_WIDTH;

    /// The view from `iter` (zero past its end), capacity zero.
    fn new<I: IntoIterator<Item = GoldilocksField>>(iter: I) -> Self {
        let mut state = Self::default();
        state.set_from_iter(iter, 0);
        state
    }

    /// # Panics
    /// If `idx >= 12`, as the trait specifies (plonky2 never does).
    fn set_elt(&mut self, elt: GoldilocksField, idx: usize) {
        self.view[idx] = elt;
    }

    /// # Panics
    /// If `start_idx > 12`, as the trait specifies (plonky2 never does).
    fn set_from_iter<I: IntoIterator<Item = GoldilocksField>>(&mut self, elts: I, start_idx: usize) {
        for (slot, elt) in self.view[start_idx..].iter_mut().zip(elts) {
            *slot = elt;
        }
    }

    /// # Panics
    /// If `start_idx > 12`, as the trait specifies (plonky2 never does).
    fn set_from_slice(&mut self, elts: &[GoldilocksField], start_idx: usize) {
        for (slot, elt) in self.view[start_idx..].iter_mut().zip(elts) {
            *slot = *elt;
        }
    }

    fn permute(&mut self) {
        let (view, capacity) = sponge::permute_view(&mut Native::new(), &self.view, &self.capacity);
        self.view = view;
        self.capacity = capacity;
    }

    fn squeeze(&self) -> &[GoldilocksField] {
        &self.view
    }
}

/// plonky2's hasher for the wrapper: the functions of [`super::sponge`], run natively.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoseidonBls12Hash;

impl Hasher<GoldilocksField> for PoseidonBls12Hash {
    const HASH_SIZE: usize = DIGEST_BYTES;
    type Hash = Digest;
    type Permutation = PoseidonBls12Permutation;

    fn hash_no_pad(input: &[GoldilocksField]) -> Digest {
        Digest(sponge::hash_no_pad(&mut Native::new(), input))
    }

    /// Up to three values are packed, not hashed (plonky2's default packs four `u64`
    /// into 32 bytes, which does not fit a scalar); see [`sponge::hash_or_noop`].
    fn hash_or_noop(inputs: &[GoldilocksField]) -> Digest {
        Digest(sponge::hash_or_noop(&mut Native::new(), inputs))
    }

    fn two_to_one(left: Digest, right: Digest) -> Digest {
        Digest(sponge::two_to_one(&mut Native::new(), &left.0, &right.0))
    }
}
