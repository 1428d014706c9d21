//! A batch's Groth16 proof as it leaves the prover (stored, served by
//! `rollup_getGroth16Proof`, written by `rollup prove-batch`), and its check by
//! anyone who pins a verifying-key hash.
//!
//! The proof carries its verifying key for convenience only: what makes it
//! trustworthy is [`BatchGroth16::check`], which takes the verifying-key hash from
//! the checker (the epoch configuration, a configuration file, a command-line flag),
//! never from the proof.
//!
//! # JSON form ([`BatchGroth16Json`])
//!
//! | field | content |
//! |---|---|
//! | `batch` | the batch number |
//! | `statement` | the stage-3 [`ChainStatement`] the proof states (JSON as `rollup_getBatchProof` serves it) |
//! | `inputs` | the five public scalars, [`Groth16Statement::to_bytes`] in hex (160 bytes) |
//! | `proof` | [`Proof::to_bytes`] in hex (192 bytes) |
//! | `vk_hash` | BLAKE3 of the compressed verifying key, hex (32 bytes) |
//! | `verifying_key` | the compressed verifying key ([`crate::groth16::vk_bytes`]), hex |
//! | `wrap_seconds`, `groth16_seconds` | what the two steps of stage 4 took |

use ark_groth16::prepare_verifying_key;
use rollup_circuits::batch::ChainStatement;
use serde::{Deserialize, Serialize};

use crate::groth16::{self, Groth16Error, Proof};
use crate::statement::{Groth16Statement, StatementError, INPUT_NAMES};

/// A batch's Groth16 proof with its statement and verifying key.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchGroth16 {
    /// The batch.
    pub batch: u64,
    /// The stage-3 statement the proof states.
    pub statement: ChainStatement,
    /// The five public scalars.
    pub inputs: Groth16Statement,
    /// The proof.
    pub proof: Proof,
    /// The compressed verifying key the prover used.
    pub verifying_key: Vec<u8>,
    /// Seconds spent proving the plonky2 wrapper.
    pub wrap_seconds: f64,
    /// Seconds spent on the Groth16 proof.
    pub groth16_seconds: f64,
}

/// [`BatchGroth16`] with every byte string in hex (module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchGroth16Json {
    /// The batch.
    pub batch: u64,
    /// The stage-3 statement.
    pub statement: ChainStatement,
    /// The five public scalars, 160 bytes in hex.
    pub inputs: String,
    /// The proof, 192 bytes in hex.
    pub proof: String,
    /// The verifying-key hash, 32 bytes in hex.
    pub vk_hash: String,
    /// The compressed verifying key in hex.
    pub verifying_key: String,
    /// Seconds spent proving the plonky2 wrapper.
    pub wrap_seconds: f64,
    /// Seconds spent on the Groth16 proof.
    pub groth16_seconds: f64,
}

/// Why a batch proof's JSON form does not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeBatchProofError {
    /// A field that is not hex.
    #[error("{field} is not hex")]
    NotHex {
        /// The field.
        field: &'static str,
    },
    /// The public inputs do not decode.
    #[error("inputs: {0}")]
    Inputs(#[from] StatementError),
    /// The proof or the verifying key does not decode.
    #[error(transparent)]
    Groth16(#[from] Groth16Error),
    /// `vk_hash` is not the hash of `verifying_key`.
    #[error("vk_hash {stated} is not the hash of the verifying key given ({actual})")]
    VkHashMismatch {
        /// The stated hash.
        stated: String,
        /// The verifying key's hash.
        actual: String,
    },
}

/// Why a batch proof is refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckBatchProofError {
    /// The proof came with a verifying key other than the pinned one.
    #[error("the proof's verifying key has hash {found}, the pinned hash is {pinned}")]
    UnpinnedKey {
        /// The proof's verifying-key hash.
        found: String,
        /// The pinned hash.
        pinned: String,
    },
    /// The statement and the batch number disagree.
    #[error("the statement is for batch {statement}, the proof is labelled batch {label}")]
    BatchMismatch {
        /// The statement's batch.
        statement: u64,
        /// The label.
        label: u64,
    },
    /// The public inputs are not those of the statement.
    #[error("public input {input} is not the statement's")]
    InputsMismatch {
        /// The first input that differs.
        input: &'static str,
    },
    /// The verifying key does not decode, or the proof does not verify.
    #[error(transparent)]
    Groth16(#[from] Groth16Error),
}

impl BatchGroth16 {
    /// The verifying key's hash (BLAKE3 of its compressed bytes).
    pub fn vk_hash(&self) -> [u8; 32] {
        *blake3::hash(&self.verifying_key).as_bytes()
    }

    /// Checks the proof: its verifying key is the pinned one, its inputs are those
    /// of its statement, and it verifies.
    pub fn check(&self, pinned_vk_hash: &[u8; 32]) -> Result<(), CheckBatchProofError> {
        let found = self.vk_hash();
        if &found != pinned_vk_hash {
            return Err(CheckBatchProofError::UnpinnedKey {
                found: rollup_l2::hex::encode(&found),
                pinned: rollup_l2::hex::encode(pinned_vk_hash),
            });
        }
        if self.statement.batch_number != self.batch {
            return Err(CheckBatchProofError::BatchMismatch {
                statement: self.statement.batch_number,
                label: self.batch,
            });
        }
        let expected = Groth16Statement::from_chain_statement(&self.statement);
        if let Some(index) = (0..INPUT_NAMES.len()).find(|&i| expected.inputs[i] != self.inputs.inputs[i]) {
            return Err(CheckBatchProofError::InputsMismatch { input: INPUT_NAMES[index] });
        }
        let vk = groth16::verifying_key_from_bytes(&self.verifying_key)?;
        groth16::verify(&prepare_verifying_key(&vk), &self.inputs.inputs, &self.proof)?;
        Ok(())
    }

    /// The JSON form.
    pub fn to_json(&self) -> BatchGroth16Json {
        BatchGroth16Json {
            batch: self.batch,
            statement: self.statement,
            inputs: rollup_l2::hex::encode(&self.inputs.to_bytes()),
            proof: rollup_l2::hex::encode(&self.proof.to_bytes()),
            vk_hash: rollup_l2::hex::encode(&self.vk_hash()),
            verifying_key: rollup_l2::hex::encode(&self.verifying_key),
            wrap_seconds: self.wrap_seconds,
            groth16_seconds: self.groth16_seconds,
        }
    }

    /// Decodes the JSON form strictly: hex everywhere, canonical inputs, valid proof
    /// points, and a `vk_hash` that is the verifying key's. Nothing is verified: see
    /// [`BatchGroth16::check`].
    pub fn from_json(json: &BatchGroth16Json) -> Result<Self, DecodeBatchProofError> {
        let hex = |field: &'static str, text: &str| {
            rollup_l2::hex::decode(text).ok_or(DecodeBatchProofError::NotHex { field })
        };
        let inputs = Groth16Statement::from_bytes(&hex("inputs", &json.inputs)?)?;
        let proof = Proof::from_bytes(&hex("proof", &json.proof)?)?;
        let verifying_key = hex("verifying_key", &json.verifying_key)?;
        let decoded = Self {
            batch: json.batch,
            statement: json.statement,
            inputs,
            proof,
            verifying_key,
            wrap_seconds: json.wrap_seconds,
            groth16_seconds: json.groth16_seconds,
        };
        let actual = rollup_l2::hex::encode(&decoded.vk_hash());
        if hex("vk_hash", &json.vk_hash)? != decoded.vk_hash() {
            return Err(DecodeBatchProofError::VkHashMismatch { stated: json.vk_hash.clone(), actual });
        }
        Ok(decoded)
    }
}

impl crate::stage4::Stage4 {
    /// Runs stage 4 on batch `chain`'s chain proof: the wrapper, then a Groth16 proof
    /// that is verified before it is returned. `progress` hears of each step.
    pub fn prove_batch(
        &self,
        chain: &rollup_circuits::batch::ChainProof,
        progress: &dyn Fn(crate::stage4::Stage4Step),
    ) -> Result<BatchGroth16, crate::stage4::Stage4Error> {
        let statement =
            chain.statement().ok_or_else(|| crate::stage4::Stage4Error::Chain("no statement".to_owned()))?;
        let made = self.prove(chain, progress)?;
        Ok(BatchGroth16 {
            batch: statement.batch_number,
            statement,
            inputs: made.statement,
            proof: made.proof,
            verifying_key: self.keys().vk_bytes().to_vec(),
            wrap_seconds: made.wrap_seconds,
            groth16_seconds: made.groth16_seconds,
        })
    }
}
