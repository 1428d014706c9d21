//! The prover's tables: its own copy of the L2 state (at the first unproven block),
//! its progress, and the block proofs.

use rollup_circuits::block::BlockStatement;
use rollup_storage::{Codec, DecodeError, Table};
use serde::{Deserialize, Serialize};

use crate::sequencer::{Stored, StoredDigest};

/// `prover_accounts`: account index → account, at the first unproven block.
pub struct ProverAccounts;
impl Table for ProverAccounts {
    const NAME: &'static str = "prover_accounts";
    type Key = u32;
    type Value = Stored<rollup_l2::Account>;
}

/// `prover_tree_nodes`: `(height << 32) | index` → digest, as `l2_tree_nodes`.
pub struct ProverTreeNodes;
impl Table for ProverTreeNodes {
    const NAME: &'static str = "prover_tree_nodes";
    type Key = u64;
    type Value = StoredDigest;
}

/// `prover_meta`: the prover's progress (`next_block`, `chains`, `genesis`).
pub struct ProverMeta;
impl Table for ProverMeta {
    const NAME: &'static str = "prover_meta";
    type Key = String;
    type Value = Vec<u8>;
}

/// `block_proofs`: block number → its proof.
pub struct BlockProofs;
impl Table for BlockProofs {
    const NAME: &'static str = "block_proofs";
    type Key = u64;
    type Value = ProofRecord;
}

/// A stored block proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// The capacity of the circuit that proved it.
    pub capacity: usize,
    /// What it proves.
    pub statement: BlockStatement,
    /// Seconds the proof took.
    pub prove_seconds: f64,
    /// The encoded proof (`rollup_circuits::block::BlockProof::to_bytes`).
    #[serde(skip)]
    pub proof: Vec<u8>,
}

const RECORD_VERSION: u8 = 1;

impl Codec for ProofRecord {
    /// Version, the JSON header's length (u32 BE), the JSON header, the proof.
    fn encode(&self) -> Vec<u8> {
        let header = serde_json::to_vec(self).unwrap_or_default();
        let mut out = vec![RECORD_VERSION];
        out.extend_from_slice(&u32::try_from(header.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend(header);
        out.extend_from_slice(&self.proof);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(DecodeError::Length { expected: 5, found: 0 });
        };
        if version != RECORD_VERSION {
            return Err(DecodeError::Invalid(format!("unknown proof record version {version}")));
        }
        let (length, rest) =
            rest.split_at_checked(4).ok_or(DecodeError::Length { expected: 4, found: rest.len() })?;
        let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
        let (header, proof) = rest
            .split_at_checked(length)
            .ok_or(DecodeError::Length { expected: length, found: rest.len() })?;
        let mut record: ProofRecord =
            serde_json::from_slice(header).map_err(|error| DecodeError::Invalid(error.to_string()))?;
        record.proof = proof.to_vec();
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_garbage() {
        let record = ProofRecord {
            capacity: 8,
            statement: BlockStatement { number: 7, l1_cursor_after: 2, ..Default::default() },
            prove_seconds: 1.5,
            proof: vec![1, 2, 3],
        };
        assert_eq!(ProofRecord::decode(&record.encode()), Ok(record.clone()));
        assert_eq!(ProofRecord::decode(&[]), Err(DecodeError::Length { expected: 5, found: 0 }));
        assert_eq!(
            ProofRecord::decode(&[2, 0, 0, 0, 0]),
            Err(DecodeError::Invalid("unknown proof record version 2".to_owned()))
        );
        let mut truncated = record.encode();
        truncated.truncate(10);
        assert!(matches!(ProofRecord::decode(&truncated), Err(DecodeError::Length { .. })));
    }
}
