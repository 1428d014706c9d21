//! The prover's tables: its own copy of the L2 state (at the first unproven block),
//! its progress, the block proofs, the batches' aggregation trees and their chain
//! proofs.

use rollup_circuits::batch::ChainStatement;
use rollup_circuits::block::BlockStatement;
use rollup_storage::{Codec, DecodeError, Table};
use rollup_wrap::batch_proof::BatchGroth16Json;
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
        encode_with_proof(self, &self.proof)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (mut record, proof): (ProofRecord, _) = decode_with_proof(bytes)?;
        record.proof = proof;
        Ok(record)
    }
}

/// `batch_proofs`: batch number → its stage-3 proof.
pub struct BatchProofs;
impl Table for BatchProofs {
    const NAME: &'static str = "batch_proofs";
    type Key = u64;
    type Value = BatchProofRecord;
}

/// `segment_proofs`: `(batch << 20) | (level << 16) | index` → a stage-2 proof of the
/// batch's aggregation tree (`SegmentProof::to_bytes`). Level 0 holds the leaves.
/// Once the batch's stage-3 proof is committed only the root is kept.
pub struct SegmentProofs;
impl Table for SegmentProofs {
    const NAME: &'static str = "segment_proofs";
    type Key = u64;
    type Value = Vec<u8>;
}

/// A stored batch proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchProofRecord {
    /// What the stage-3 proof establishes.
    pub statement: ChainStatement,
    /// The key of the batch's stage-2 root in `segment_proofs`.
    pub aggregation_root: u64,
    /// Seconds spent proving the batch's leaves and nodes (stage 2), summed.
    pub aggregation_seconds: f64,
    /// Seconds the stage-3 step took.
    pub recursion_seconds: f64,
    /// The encoded stage-3 proof (`ChainProof::to_bytes`).
    #[serde(skip)]
    pub proof: Vec<u8>,
}

impl Codec for BatchProofRecord {
    /// Version, the JSON header's length (u32 BE), the JSON header, the proof.
    fn encode(&self) -> Vec<u8> {
        encode_with_proof(self, &self.proof)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (mut record, proof): (BatchProofRecord, _) = decode_with_proof(bytes)?;
        record.proof = proof;
        Ok(record)
    }
}

/// `groth16_proofs`: batch number → its stage-4 proof.
pub struct Groth16Proofs;
impl Table for Groth16Proofs {
    const NAME: &'static str = "groth16_proofs";
    type Key = u64;
    type Value = Groth16Record;
}

/// A stored Groth16 proof: its JSON form (`rollup_wrap::batch_proof`), which is also
/// what `rollup_getGroth16Proof` serves.
#[derive(Clone, Debug, PartialEq)]
pub struct Groth16Record(pub BatchGroth16Json);

impl Codec for Groth16Record {
    /// Version, then the JSON form.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![RECORD_VERSION];
        out.extend(serde_json::to_vec(&self.0).unwrap_or_default());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            None => Err(DecodeError::Length { expected: 1, found: 0 }),
            Some((&RECORD_VERSION, json)) => serde_json::from_slice(json)
                .map(Self)
                .map_err(|error| DecodeError::Invalid(error.to_string())),
            Some((version, _)) => {
                Err(DecodeError::Invalid(format!("unknown proof record version {version}")))
            }
        }
    }
}

fn encode_with_proof<T: Serialize>(header: &T, proof: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(header).unwrap_or_default();
    let mut out = vec![RECORD_VERSION];
    out.extend_from_slice(&u32::try_from(header.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend(header);
    out.extend_from_slice(proof);
    out
}

fn decode_with_proof<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<(T, Vec<u8>), DecodeError> {
    let Some((&version, rest)) = bytes.split_first() else {
        return Err(DecodeError::Length { expected: 5, found: 0 });
    };
    if version != RECORD_VERSION {
        return Err(DecodeError::Invalid(format!("unknown proof record version {version}")));
    }
    let (length, rest) =
        rest.split_at_checked(4).ok_or(DecodeError::Length { expected: 4, found: rest.len() })?;
    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
    let (header, proof) =
        rest.split_at_checked(length).ok_or(DecodeError::Length { expected: length, found: rest.len() })?;
    let header = serde_json::from_slice(header).map_err(|error| DecodeError::Invalid(error.to_string()))?;
    Ok((header, proof.to_vec()))
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
        let batch = BatchProofRecord {
            statement: ChainStatement {
                batch_number: 3,
                first_block: 9,
                last_block: 12,
                ..Default::default()
            },
            aggregation_root: 5,
            aggregation_seconds: 10.5,
            recursion_seconds: 3.25,
            proof: vec![4, 5],
        };
        assert_eq!(BatchProofRecord::decode(&batch.encode()), Ok(batch));
        let groth16 = Groth16Record(BatchGroth16Json {
            batch: 3,
            statement: ChainStatement { batch_number: 3, ..Default::default() },
            inputs: "00".repeat(160),
            proof: "ab".repeat(192),
            vk_hash: "cd".repeat(32),
            verifying_key: "ef".repeat(10),
            wrap_seconds: 1.5,
            groth16_seconds: 2.5,
        });
        assert_eq!(Groth16Record::decode(&groth16.encode()), Ok(groth16.clone()));
        assert_eq!(Groth16Record::decode(&[]), Err(DecodeError::Length { expected: 1, found: 0 }));
        let mut other_version = groth16.encode();
        other_version[0] = 9;
        assert_eq!(
            Groth16Record::decode(&other_version),
            Err(DecodeError::Invalid("unknown proof record version 9".to_owned()))
        );
        let mut truncated = groth16.encode();
        truncated.truncate(40);
        assert!(
            matches!(Groth16Record::decode(&truncated), Err(DecodeError::Invalid(message)) if message.contains("EOF"))
        );
    }
}
