//! The CodeControlGroup (docs/protocol.md section 6, stage 3): the registry of circuits
//! allowed to prove blocks, per block-number range.
//!
//! An entry names a block circuit by its plonky2 circuit digest (the hash of its
//! constants-and-sigmas cap, domain separator and degree) and its *class* (the
//! position of its shape in the aggregation family: one class per block capacity),
//! with the inclusive block range it may prove. Entries are the leaves of a
//! depth-[`CODE_CONTROL_DEPTH`] Poseidon Merkle tree (index order, empty leaves
//! zero); its root is fixed in genesis (later: in each epoch's configuration) and the
//! stage-3 circuit checks every block-circuit digest a batch used against it.

use plonky2::field::types::Field;
use serde::{Deserialize, Serialize};

use crate::hash::{hash, hash_pair, Digest, Domain, F};

/// Depth of the registry tree.
pub const CODE_CONTROL_DEPTH: usize = 8;
/// Most entries a registry holds.
pub const MAX_CODE_ENTRIES: usize = 1 << CODE_CONTROL_DEPTH;
/// Block numbers in registry ranges (and in batch proofs) are below 2^48.
pub const BLOCK_NUMBER_BITS: usize = 48;
/// The largest block number a range may name: "no end".
pub const LAST_BLOCK_NUMBER: u64 = (1 << BLOCK_NUMBER_BITS) - 1;

/// One allowed circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    /// The circuit's class: its position in the aggregation family.
    pub class: u32,
    /// The plonky2 circuit digest.
    pub digest: Digest,
    /// The first block it may prove.
    pub first_block: u64,
    /// The last block it may prove (inclusive).
    pub last_block: u64,
}

impl CodeEntry {
    /// The entry's leaf: Poseidon of digest, class, first and last block.
    pub fn leaf(&self) -> Digest {
        let mut input = self.digest.elements().to_vec();
        input.push(F::from_canonical_u32(self.class));
        input.push(F::from_noncanonical_u64(self.first_block));
        input.push(F::from_noncanonical_u64(self.last_block));
        hash(Domain::CodeControlEntry, &input)
    }

    /// Whether the entry allows proving blocks `first..=last`.
    pub fn covers(&self, first: u64, last: u64) -> bool {
        self.first_block <= first && last <= self.last_block
    }
}

/// Why a registry is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeControlError {
    /// More entries than the tree holds.
    #[error("{0} code control entries, at most {MAX_CODE_ENTRIES} fit")]
    TooMany(usize),
    /// An entry with an empty or out-of-range block range.
    #[error(
        "code control entry {index}: blocks {first}..={last} is not a range within 1..={LAST_BLOCK_NUMBER}"
    )]
    BadRange {
        /// The entry's position.
        index: usize,
        /// Its first block.
        first: u64,
        /// Its last block.
        last: u64,
    },
    /// The same circuit listed twice.
    #[error("code control entry {index} repeats entry {earlier}")]
    Duplicate {
        /// The entry's position.
        index: usize,
        /// The earlier equal entry.
        earlier: usize,
    },
}

/// The registry: its entries in tree order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CodeControlGroup {
    entries: Vec<CodeEntry>,
}

impl CodeControlGroup {
    /// A registry of `entries`, in this order, after checking them.
    pub fn new(entries: Vec<CodeEntry>) -> Result<Self, CodeControlError> {
        let group = Self { entries };
        group.check()?;
        Ok(group)
    }

    /// Checks the rules (used after deserializing, too).
    pub fn check(&self) -> Result<(), CodeControlError> {
        if self.entries.len() > MAX_CODE_ENTRIES {
            return Err(CodeControlError::TooMany(self.entries.len()));
        }
        for (index, entry) in self.entries.iter().enumerate() {
            if entry.first_block == 0
                || entry.first_block > entry.last_block
                || entry.last_block > LAST_BLOCK_NUMBER
            {
                return Err(CodeControlError::BadRange {
                    index,
                    first: entry.first_block,
                    last: entry.last_block,
                });
            }
            if let Some(earlier) = self.entries[..index].iter().position(|other| other == entry) {
                return Err(CodeControlError::Duplicate { index, earlier });
            }
        }
        Ok(())
    }

    /// The entries.
    pub fn entries(&self) -> &[CodeEntry] {
        &self.entries
    }

    /// The position of an entry of `class` and `digest` that covers blocks
    /// `first..=last`.
    pub fn find(&self, class: u32, digest: &Digest, first: u64, last: u64) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| entry.class == class && entry.digest == *digest && entry.covers(first, last))
    }

    fn levels(&self) -> Vec<Vec<Digest>> {
        let mut level: Vec<Digest> = (0..MAX_CODE_ENTRIES)
            .map(|index| self.entries.get(index).map_or(Digest::ZERO, CodeEntry::leaf))
            .collect();
        let mut levels = Vec::with_capacity(CODE_CONTROL_DEPTH + 1);
        while level.len() > 1 {
            let next = level.chunks_exact(2).map(|pair| hash_pair(&pair[0], &pair[1])).collect();
            levels.push(level);
            level = next;
        }
        levels.push(level);
        levels
    }

    /// The registry's root.
    pub fn root(&self) -> Digest {
        self.levels().last().and_then(|top| top.first().copied()).unwrap_or(Digest::ZERO)
    }

    /// The siblings of entry `index`, from the leaf level up; `None` past the end.
    pub fn proof(&self, index: usize) -> Option<Vec<Digest>> {
        if index >= self.entries.len() {
            return None;
        }
        let levels = self.levels();
        Some(
            levels[..CODE_CONTROL_DEPTH]
                .iter()
                .enumerate()
                .map(|(height, level)| level[(index >> height) ^ 1])
                .collect(),
        )
    }
}

/// Whether `siblings` prove `entry` at `index` under `root`.
pub fn verify_code_entry(root: &Digest, entry: &CodeEntry, index: usize, siblings: &[Digest]) -> bool {
    if siblings.len() != CODE_CONTROL_DEPTH || index >= MAX_CODE_ENTRIES {
        return false;
    }
    let mut digest = entry.leaf();
    for (height, sibling) in siblings.iter().enumerate() {
        digest = if (index >> height) & 1 == 0 {
            hash_pair(&digest, sibling)
        } else {
            hash_pair(sibling, &digest)
        };
    }
    digest == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(class: u32, seed: u64, first: u64, last: u64) -> CodeEntry {
        CodeEntry {
            class,
            digest: Digest([seed, seed + 1, seed + 2, seed + 3]),
            first_block: first,
            last_block: last,
        }
    }

    #[test]
    fn every_entry_proves_against_the_root_and_nothing_else_does() {
        let group = CodeControlGroup::new(vec![
            entry(0, 1, 1, 100),
            entry(1, 10, 1, LAST_BLOCK_NUMBER),
            entry(0, 20, 101, 200),
        ])
        .unwrap();
        let root = group.root();
        for (index, listed) in group.entries().iter().enumerate() {
            let siblings = group.proof(index).unwrap();
            assert!(verify_code_entry(&root, listed, index, &siblings));
            assert!(!verify_code_entry(&root, listed, index ^ 1, &siblings));
            let widened = CodeEntry { last_block: listed.last_block + 1, ..*listed };
            assert!(!verify_code_entry(&root, &widened, index, &siblings));
        }
        assert_eq!(group.proof(3), None);
        assert_eq!(group.find(0, &entry(0, 20, 0, 0).digest, 150, 160), Some(2));
        assert_eq!(group.find(0, &entry(0, 20, 0, 0).digest, 100, 160), None);
        assert_eq!(group.find(1, &entry(0, 20, 0, 0).digest, 150, 160), None);
        assert_ne!(CodeControlGroup::default().root(), root);
    }

    #[test]
    fn bad_registries_are_refused() {
        assert_eq!(
            CodeControlGroup::new(vec![entry(0, 1, 5, 4)]),
            Err(CodeControlError::BadRange { index: 0, first: 5, last: 4 })
        );
        assert_eq!(
            CodeControlGroup::new(vec![entry(0, 1, 0, 4)]),
            Err(CodeControlError::BadRange { index: 0, first: 0, last: 4 })
        );
        assert_eq!(
            CodeControlGroup::new(vec![entry(0, 1, 1, LAST_BLOCK_NUMBER + 1)]),
            Err(CodeControlError::BadRange { index: 0, first: 1, last: LAST_BLOCK_NUMBER + 1 })
        );
        assert_eq!(
            CodeControlGroup::new(vec![entry(0, 1, 1, 4), entry(0, 1, 1, 4)]),
            Err(CodeControlError::Duplicate { index: 1, earlier: 0 })
        );
        let many = (0..=MAX_CODE_ENTRIES as u64).map(|seed| entry(0, seed * 4, 1, 2)).collect();
        assert_eq!(CodeControlGroup::new(many), Err(CodeControlError::TooMany(MAX_CODE_ENTRIES + 1)));
    }
}
