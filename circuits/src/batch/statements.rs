//! What stage-2 and stage-3 proofs establish: their payloads, natively and as
//! targets.

use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::target::Target;
use rollup_l2::Digest;
use serde::{Deserialize, Serialize};

use crate::F;

/// Block-circuit classes a batch can mix: one per block capacity.
pub const MAX_CLASSES: usize = 3;

/// What a stage-2 proof (a leaf or a node of the aggregation tree) establishes about
/// a run of consecutive blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentStatement {
    /// The first block.
    pub first_block: u64,
    /// The last block (inclusive).
    pub last_block: u64,
    /// The state root before the first block.
    pub from_root: Digest,
    /// The state root after the last block.
    pub to_root: Digest,
    /// The batch transaction chain (`rollup_l2::chain_batch_tx`) before the first block.
    pub tx_chain_before: Digest,
    /// The batch transaction chain after the last block.
    pub tx_chain_after: Digest,
    /// The L1 message cursor before the first block.
    pub l1_cursor_before: u64,
    /// The L1 message cursor after the last block.
    pub l1_cursor_after: u64,
    /// The L1 message chain before the first block.
    pub l1_chain_before: Digest,
    /// The L1 message chain after the last block.
    pub l1_chain_after: Digest,
    /// The withdrawal chain before the first block.
    pub withdrawal_chain_before: Digest,
    /// The withdrawal chain after the last block.
    pub withdrawal_chain_after: Digest,
    /// Per block-circuit class, the digest of the circuit that proved this run's
    /// blocks of that class (zero when none did): the circuits stage 3 checks
    /// against the CodeControlGroup.
    pub codes: [Digest; MAX_CLASSES],
}

/// Payload elements of a [`SegmentStatement`].
pub const SEGMENT_LEN: usize = 36 + 4 * MAX_CLASSES;

/// Reads elements in order.
struct Fields<'a>(&'a [F]);
impl Fields<'_> {
    fn number(&mut self) -> u64 {
        let value = self.0[0].to_canonical_u64();
        self.0 = &self.0[1..];
        value
    }
    fn digest(&mut self) -> Digest {
        let value = Digest::from_elements([self.0[0], self.0[1], self.0[2], self.0[3]]);
        self.0 = &self.0[4..];
        value
    }
}

/// Reads targets in order.
pub(crate) struct Targets<'a>(pub(crate) &'a [Target]);
impl Targets<'_> {
    pub(crate) fn number(&mut self) -> Target {
        let value = self.0[0];
        self.0 = &self.0[1..];
        value
    }
    pub(crate) fn digest(&mut self) -> [Target; 4] {
        let value = [self.0[0], self.0[1], self.0[2], self.0[3]];
        self.0 = &self.0[4..];
        value
    }
}

fn number(value: u64) -> F {
    F::from_noncanonical_u64(value)
}

impl SegmentStatement {
    /// The payload, in circuit order.
    pub fn to_fields(&self) -> Vec<F> {
        let mut out = vec![number(self.first_block), number(self.last_block)];
        for digest in [&self.from_root, &self.to_root, &self.tx_chain_before, &self.tx_chain_after] {
            out.extend(digest.elements());
        }
        out.push(number(self.l1_cursor_before));
        out.push(number(self.l1_cursor_after));
        for digest in [
            &self.l1_chain_before,
            &self.l1_chain_after,
            &self.withdrawal_chain_before,
            &self.withdrawal_chain_after,
        ] {
            out.extend(digest.elements());
        }
        for code in &self.codes {
            out.extend(code.elements());
        }
        out
    }

    /// Reads a payload (at least [`SEGMENT_LEN`] elements).
    pub fn from_fields(fields: &[F]) -> Option<Self> {
        if fields.len() < SEGMENT_LEN {
            return None;
        }
        let mut r = Fields(fields);
        Some(Self {
            first_block: r.number(),
            last_block: r.number(),
            from_root: r.digest(),
            to_root: r.digest(),
            tx_chain_before: r.digest(),
            tx_chain_after: r.digest(),
            l1_cursor_before: r.number(),
            l1_cursor_after: r.number(),
            l1_chain_before: r.digest(),
            l1_chain_after: r.digest(),
            withdrawal_chain_before: r.digest(),
            withdrawal_chain_after: r.digest(),
            codes: core::array::from_fn(|_| r.digest()),
        })
    }
}

/// A [`SegmentStatement`] as targets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentTargets {
    pub first_block: Target,
    pub last_block: Target,
    pub from_root: [Target; 4],
    pub to_root: [Target; 4],
    pub tx_chain_before: [Target; 4],
    pub tx_chain_after: [Target; 4],
    pub l1_cursor_before: Target,
    pub l1_cursor_after: Target,
    pub l1_chain_before: [Target; 4],
    pub l1_chain_after: [Target; 4],
    pub withdrawal_chain_before: [Target; 4],
    pub withdrawal_chain_after: [Target; 4],
    pub codes: [[Target; 4]; MAX_CLASSES],
}

impl SegmentTargets {
    pub(crate) fn read(payload: &[Target]) -> Self {
        let mut r = Targets(payload);
        Self {
            first_block: r.number(),
            last_block: r.number(),
            from_root: r.digest(),
            to_root: r.digest(),
            tx_chain_before: r.digest(),
            tx_chain_after: r.digest(),
            l1_cursor_before: r.number(),
            l1_cursor_after: r.number(),
            l1_chain_before: r.digest(),
            l1_chain_after: r.digest(),
            withdrawal_chain_before: r.digest(),
            withdrawal_chain_after: r.digest(),
            codes: core::array::from_fn(|_| r.digest()),
        }
    }

    pub(crate) fn to_targets(self) -> Vec<Target> {
        let mut out = vec![self.first_block, self.last_block];
        for digest in [self.from_root, self.to_root, self.tx_chain_before, self.tx_chain_after] {
            out.extend(digest);
        }
        out.push(self.l1_cursor_before);
        out.push(self.l1_cursor_after);
        for digest in [
            self.l1_chain_before,
            self.l1_chain_after,
            self.withdrawal_chain_before,
            self.withdrawal_chain_after,
        ] {
            out.extend(digest);
        }
        for code in self.codes {
            out.extend(code);
        }
        out
    }
}

/// What a stage-3 proof establishes: the chain from genesis through batch
/// `batch_number`, whose blocks `first_block..=last_block` take the state from
/// `from_root` to `to_root`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatement {
    /// The genesis state root the chain starts from.
    pub genesis_root: Digest,
    /// The CodeControlGroup root every batch's block circuits were checked against.
    pub code_control_root: Digest,
    /// The batch number (batch 0 starts at genesis).
    pub batch_number: u64,
    /// The batch's first block.
    pub first_block: u64,
    /// The batch's last block.
    pub last_block: u64,
    /// The state root before the batch.
    pub from_root: Digest,
    /// The state root after the batch.
    pub to_root: Digest,
    /// The batch's transaction chain (`rollup_l2::chain_batch_tx` from zero).
    pub tx_chain: Digest,
    /// The L1 message cursor before the batch.
    pub l1_cursor_before: u64,
    /// The L1 message cursor after the batch.
    pub l1_cursor_after: u64,
    /// The L1 message chain before the batch.
    pub l1_chain_before: Digest,
    /// The L1 message chain after the batch.
    pub l1_chain_after: Digest,
    /// The withdrawal chain before the batch.
    pub withdrawal_chain_before: Digest,
    /// The withdrawal chain after the batch.
    pub withdrawal_chain_after: Digest,
    /// The batch blob's SHA-256, once a DA proof is verified. No DA proof exists yet,
    /// so every proof carries `None` (a zero flag and a zero digest): a batch proof
    /// claims nothing about data availability that it did not prove.
    pub da_commitment: Option<[u8; 32]>,
}

/// Payload elements of a [`ChainStatement`].
pub const CHAIN_LEN: usize = 46;

impl ChainStatement {
    /// The payload, in circuit order.
    pub fn to_fields(&self) -> Vec<F> {
        let mut out = self.genesis_root.elements().to_vec();
        out.extend(self.code_control_root.elements());
        out.extend([number(self.batch_number), number(self.first_block), number(self.last_block)]);
        for digest in [&self.from_root, &self.to_root, &self.tx_chain] {
            out.extend(digest.elements());
        }
        out.push(number(self.l1_cursor_before));
        out.push(number(self.l1_cursor_after));
        for digest in [
            &self.l1_chain_before,
            &self.l1_chain_after,
            &self.withdrawal_chain_before,
            &self.withdrawal_chain_after,
        ] {
            out.extend(digest.elements());
        }
        match &self.da_commitment {
            None => out.extend([F::ZERO; 5]),
            Some(bytes) => {
                out.push(F::ONE);
                out.extend(bytes.chunks_exact(8).map(|chunk| {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    F::from_noncanonical_u64(u64::from_le_bytes(word))
                }));
            }
        }
        out
    }

    /// Reads a payload (at least [`CHAIN_LEN`] elements).
    pub fn from_fields(fields: &[F]) -> Option<Self> {
        if fields.len() < CHAIN_LEN {
            return None;
        }
        let mut r = Fields(fields);
        let mut statement = Self {
            genesis_root: r.digest(),
            code_control_root: r.digest(),
            batch_number: r.number(),
            first_block: r.number(),
            last_block: r.number(),
            from_root: r.digest(),
            to_root: r.digest(),
            tx_chain: r.digest(),
            l1_cursor_before: r.number(),
            l1_cursor_after: r.number(),
            l1_chain_before: r.digest(),
            l1_chain_after: r.digest(),
            withdrawal_chain_before: r.digest(),
            withdrawal_chain_after: r.digest(),
            da_commitment: None,
        };
        let flag = r.number();
        let words = r.digest();
        if flag != 0 {
            let mut bytes = [0u8; 32];
            for (chunk, word) in bytes.chunks_exact_mut(8).zip(words.0) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            statement.da_commitment = Some(bytes);
        }
        Some(statement)
    }

    /// The first field that differs from `other`, with both values.
    pub fn first_difference(&self, other: &Self) -> Option<(&'static str, String, String)> {
        let pair = |a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| (a.to_string(), b.to_string());
        let da = |value: &Option<[u8; 32]>| match value {
            None => "none".to_owned(),
            Some(bytes) => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
        };
        let fields: [(&'static str, (String, String)); 15] = [
            ("genesis_root", pair(&self.genesis_root, &other.genesis_root)),
            ("code_control_root", pair(&self.code_control_root, &other.code_control_root)),
            ("batch_number", pair(&self.batch_number, &other.batch_number)),
            ("first_block", pair(&self.first_block, &other.first_block)),
            ("last_block", pair(&self.last_block, &other.last_block)),
            ("from_root", pair(&self.from_root, &other.from_root)),
            ("to_root", pair(&self.to_root, &other.to_root)),
            ("tx_chain", pair(&self.tx_chain, &other.tx_chain)),
            ("l1_cursor_before", pair(&self.l1_cursor_before, &other.l1_cursor_before)),
            ("l1_cursor_after", pair(&self.l1_cursor_after, &other.l1_cursor_after)),
            ("l1_chain_before", pair(&self.l1_chain_before, &other.l1_chain_before)),
            ("l1_chain_after", pair(&self.l1_chain_after, &other.l1_chain_after)),
            ("withdrawal_chain_before", pair(&self.withdrawal_chain_before, &other.withdrawal_chain_before)),
            ("withdrawal_chain_after", pair(&self.withdrawal_chain_after, &other.withdrawal_chain_after)),
            ("da_commitment", (da(&self.da_commitment), da(&other.da_commitment))),
        ];
        fields.into_iter().find(|(_, (a, b))| a != b).map(|(name, (a, b))| (name, a, b))
    }
}

/// A [`ChainStatement`] as targets (the DA flag and commitment are constants).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainTargets {
    pub genesis_root: [Target; 4],
    pub code_control_root: [Target; 4],
    pub batch_number: Target,
    pub first_block: Target,
    pub last_block: Target,
    pub from_root: [Target; 4],
    pub to_root: [Target; 4],
    pub tx_chain: [Target; 4],
    pub l1_cursor_before: Target,
    pub l1_cursor_after: Target,
    pub l1_chain_before: [Target; 4],
    pub l1_chain_after: [Target; 4],
    pub withdrawal_chain_before: [Target; 4],
    pub withdrawal_chain_after: [Target; 4],
}

impl ChainTargets {
    pub(crate) fn read(payload: &[Target]) -> Self {
        let mut r = Targets(payload);
        Self {
            genesis_root: r.digest(),
            code_control_root: r.digest(),
            batch_number: r.number(),
            first_block: r.number(),
            last_block: r.number(),
            from_root: r.digest(),
            to_root: r.digest(),
            tx_chain: r.digest(),
            l1_cursor_before: r.number(),
            l1_cursor_after: r.number(),
            l1_chain_before: r.digest(),
            l1_chain_after: r.digest(),
            withdrawal_chain_before: r.digest(),
            withdrawal_chain_after: r.digest(),
        }
    }

    /// The payload with no DA commitment (`zero` five times at the end).
    pub(crate) fn to_targets(self, zero: Target) -> Vec<Target> {
        let mut out = self.genesis_root.to_vec();
        out.extend(self.code_control_root);
        out.extend([self.batch_number, self.first_block, self.last_block]);
        for digest in [self.from_root, self.to_root, self.tx_chain] {
            out.extend(digest);
        }
        out.push(self.l1_cursor_before);
        out.push(self.l1_cursor_after);
        for digest in [
            self.l1_chain_before,
            self.l1_chain_after,
            self.withdrawal_chain_before,
            self.withdrawal_chain_after,
        ] {
            out.extend(digest);
        }
        out.extend([zero; 5]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_fit() {
        let digest = |seed: u64| Digest([seed, seed + 1, seed + 2, seed + 3]);
        let segment = SegmentStatement {
            first_block: 3,
            last_block: 9,
            from_root: digest(1),
            to_root: digest(2),
            tx_chain_before: digest(3),
            tx_chain_after: digest(4),
            l1_cursor_before: 5,
            l1_cursor_after: 7,
            l1_chain_before: digest(5),
            l1_chain_after: digest(6),
            withdrawal_chain_before: digest(7),
            withdrawal_chain_after: digest(8),
            codes: [digest(9), Digest::ZERO, digest(10)],
        };
        assert_eq!(segment.to_fields().len(), SEGMENT_LEN);
        assert_eq!(SegmentStatement::from_fields(&segment.to_fields()), Some(segment));
        let chain = ChainStatement {
            genesis_root: digest(1),
            code_control_root: digest(2),
            batch_number: 4,
            first_block: 10,
            last_block: 12,
            from_root: digest(3),
            to_root: digest(4),
            tx_chain: digest(5),
            l1_cursor_before: 1,
            l1_cursor_after: 2,
            l1_chain_before: digest(6),
            l1_chain_after: digest(7),
            withdrawal_chain_before: digest(8),
            withdrawal_chain_after: digest(9),
            da_commitment: None,
        };
        assert_eq!(chain.to_fields().len(), CHAIN_LEN);
        assert_eq!(ChainStatement::from_fields(&chain.to_fields()), Some(chain));
        let other = ChainStatement { to_root: digest(40), ..chain };
        assert_eq!(chain.first_difference(&other).map(|(name, _, _)| name), Some("to_root"));
        const {
            assert!(
                SEGMENT_LEN <= super::super::shape::PAYLOAD_LEN
                    && CHAIN_LEN <= super::super::shape::PAYLOAD_LEN
            )
        };
    }
}
