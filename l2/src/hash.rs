//! Domain-separated Poseidon hashing over Goldilocks.
//!
//! plonky2's Poseidon permutation (width 12: rate 8, capacity 4) in sponge mode,
//! with the domain tag and the input length placed in the capacity before the first
//! permutation. Inputs of up to eight elements therefore cost one permutation, in
//! native code and in circuits alike, and no two domains (or lengths) can collide.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::hash::poseidon::{Poseidon, SPONGE_RATE, SPONGE_WIDTH};
use serde::{Deserialize, Serialize};

/// The Goldilocks field element, p = 2^64 - 2^32 + 1.
pub type F = GoldilocksField;

/// A Poseidon digest: four field elements (32 bytes encoded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u64; 4]);

impl Digest {
    /// The all-zero digest: the value of an empty tree leaf.
    pub const ZERO: Digest = Digest([0; 4]);

    /// The digest's elements.
    pub fn elements(&self) -> [F; 4] {
        self.0.map(F::from_canonical_u64)
    }

    /// A digest from field elements.
    pub fn from_elements(elements: [F; 4]) -> Self {
        Digest(elements.map(|element| element.to_canonical_u64()))
    }

    /// 32 bytes: the four elements, little-endian.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (chunk, element) in bytes.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&element.to_le_bytes());
        }
        bytes
    }

    /// Reads 32 bytes; `None` if an element is not canonical (≥ p).
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let mut elements = [0u64; 4];
        for (element, chunk) in elements.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let value = u64::from_le_bytes(word);
            if value >= F::ORDER {
                return None;
            }
            *element = value;
        }
        Some(Digest(elements))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for byte in self.to_bytes() {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// What a hash is for. The tag values are part of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Domain {
    /// An account-tree leaf: public key, balance, nonce.
    AccountLeaf = 1,
    /// An account-tree inner node: left and right child digests.
    TreeNode = 2,
    /// The message a user signs: chain id and the transaction's fields.
    TxSignature = 3,
    /// One link of a block's transaction commitment chain.
    TxChain = 4,
    /// One link of the withdrawal chain.
    WithdrawalChain = 5,
    /// One link of the L1 message chain.
    L1MessageChain = 6,
    /// A block header.
    BlockHeader = 7,
    /// The genesis configuration.
    Genesis = 8,
    /// The id of an intrinsic transaction.
    TxId = 9,
    /// One link of a batch's chain of block transaction commitments.
    BatchTxChain = 10,
    /// A CodeControlGroup entry: a circuit digest, its class and block range.
    CodeControlEntry = 11,
}

/// Poseidon of `input` in `domain`: the tag and the length in the capacity, then the
/// input absorbed eight elements at a time.
pub fn hash(domain: Domain, input: &[F]) -> Digest {
    let mut state = [F::ZERO; SPONGE_WIDTH];
    state[SPONGE_RATE] = F::from_canonical_u64(domain as u64);
    state[SPONGE_RATE + 1] = F::from_canonical_u64(input.len() as u64);
    if input.is_empty() {
        state = F::poseidon(state);
    }
    for chunk in input.chunks(SPONGE_RATE) {
        state[..chunk.len()].copy_from_slice(chunk);
        state = F::poseidon(state);
    }
    Digest::from_elements([state[0], state[1], state[2], state[3]])
}

/// Poseidon of two digests: an inner node of the account tree.
pub fn hash_pair(left: &Digest, right: &Digest) -> Digest {
    let mut input = [F::ZERO; 8];
    input[..4].copy_from_slice(&left.elements());
    input[4..].copy_from_slice(&right.elements());
    hash(Domain::TreeNode, &input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_lengths_separate() {
        let input = [F::ONE, F::TWO];
        assert_ne!(hash(Domain::TxChain, &input), hash(Domain::WithdrawalChain, &input));
        assert_ne!(hash(Domain::TxChain, &input), hash(Domain::TxChain, &[F::ONE, F::TWO, F::ZERO]));
        assert_ne!(hash(Domain::TxChain, &[]), hash(Domain::TxChain, &[F::ZERO]));
        assert_eq!(hash(Domain::TxChain, &input), hash(Domain::TxChain, &input));
    }

    #[test]
    fn one_permutation_per_eight_elements() {
        // Up to eight elements: exactly one permutation of [input, 0.., tag, len, 0, 0].
        let input: Vec<F> = (1..=8).map(F::from_canonical_u64).collect();
        let mut state = [F::ZERO; SPONGE_WIDTH];
        state[..8].copy_from_slice(&input);
        state[8] = F::from_canonical_u64(Domain::TreeNode as u64);
        state[9] = F::from_canonical_u64(8);
        let expected = F::poseidon(state);
        assert_eq!(
            hash(Domain::TreeNode, &input).elements(),
            [expected[0], expected[1], expected[2], expected[3]]
        );
    }

    #[test]
    fn digests_encode_canonically() {
        let digest = hash(Domain::Genesis, &[F::ONE]);
        assert_eq!(Digest::from_bytes(&digest.to_bytes()), Some(digest));
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&F::ORDER.to_le_bytes());
        assert_eq!(Digest::from_bytes(&bytes), None);
    }
}
