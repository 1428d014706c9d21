//! The prover's requests and its JSON-RPC method.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_getBlockProof` | `[n]` | `{number, capacity, statement, prove_seconds, proof}` (proof in hex), or null while block `n` is not proven |
//! | `rollup_getBatchProof` | `[n]` | `{number, statement, aggregation_seconds, recursion_seconds, proof, aggregation_proof}` (stage-3 and stage-2 proofs in hex), or null while batch `n` is not proven |
//! | `rollup_getGroth16Proof` | `[n]` | `{batch, statement, inputs, proof, vk_hash, verifying_key, wrap_seconds, groth16_seconds}` (`rollup_wrap::batch_proof::BatchGroth16Json`), or null while batch `n` has no Groth16 proof |

use rollup_actors::{Handles, Request, Sender};
use rollup_circuits::block::BlockStatement;
use rollup_rpc::{Methods, Params, RpcError};
use serde::{Deserialize, Serialize};

use super::component::ProverComponent;
use super::tables::{BatchProofRecord, Groth16Record, ProofRecord};
use rollup_circuits::batch::ChainStatement;

/// Read the proof of a batch.
#[derive(Debug)]
pub struct GetBatchProof(pub u64);
impl Request for GetBatchProof {
    type Response = Result<Option<(BatchProofRecord, Vec<u8>)>, String>;
}
impl Handles<GetBatchProof> for ProverComponent {
    fn handle(
        &mut self,
        GetBatchProof(number): GetBatchProof,
    ) -> Result<Option<(BatchProofRecord, Vec<u8>)>, String> {
        self.batch_proof(number).map_err(|error| error.to_string())
    }
}

/// A batch proof as JSON-RPC returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchProofJson {
    /// The batch.
    pub number: u64,
    /// What the stage-3 proof establishes.
    pub statement: ChainStatement,
    /// Seconds spent on the batch's aggregation tree (leaves and nodes, summed).
    pub aggregation_seconds: f64,
    /// Seconds of the recursion step.
    pub recursion_seconds: f64,
    /// `rollup_circuits::batch::ChainProof::to_bytes`, hex.
    pub proof: String,
    /// The stage-2 root, `rollup_circuits::batch::SegmentProof::to_bytes`, hex.
    pub aggregation_proof: String,
}

/// Read the Groth16 proof of a batch.
#[derive(Debug)]
pub struct GetGroth16Proof(pub u64);
impl Request for GetGroth16Proof {
    type Response = Result<Option<Groth16Record>, String>;
}
impl Handles<GetGroth16Proof> for ProverComponent {
    fn handle(&mut self, GetGroth16Proof(number): GetGroth16Proof) -> Result<Option<Groth16Record>, String> {
        self.groth16_proof(number).map_err(|error| error.to_string())
    }
}

/// Read the proof of a block.
#[derive(Debug)]
pub struct GetBlockProof(pub u64);
impl Request for GetBlockProof {
    type Response = Result<Option<ProofRecord>, String>;
}
impl Handles<GetBlockProof> for ProverComponent {
    fn handle(&mut self, GetBlockProof(number): GetBlockProof) -> Result<Option<ProofRecord>, String> {
        self.proof(number).map_err(|error| error.to_string())
    }
}

/// A block proof as JSON-RPC returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofRecordJson {
    /// The block.
    pub number: u64,
    /// The circuit's capacity.
    pub capacity: usize,
    /// What the proof establishes.
    pub statement: BlockStatement,
    /// Seconds it took.
    pub prove_seconds: f64,
    /// `rollup_circuits::block::BlockProof::to_bytes`, hex.
    pub proof: String,
}

/// Senders to the prover.
#[derive(Clone, Debug)]
pub struct ProverSenders {
    /// [`GetBlockProof`].
    pub proof: Sender<GetBlockProof>,
    /// [`GetBatchProof`].
    pub batch_proof: Sender<GetBatchProof>,
    /// [`GetGroth16Proof`].
    pub groth16_proof: Sender<GetGroth16Proof>,
}

/// Registers the prover's methods.
pub fn register(methods: &mut Methods, senders: &ProverSenders) {
    let proof = senders.proof.clone();
    methods.register("rollup_getBlockProof", move |params: Params| {
        let proof = proof.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            let record = proof.call(GetBlockProof(number)).await?.map_err(RpcError::internal)?;
            Ok::<_, RpcError>(record.map(|record| ProofRecordJson {
                number,
                capacity: record.capacity,
                statement: record.statement,
                prove_seconds: record.prove_seconds,
                proof: rollup_l2::hex::encode(&record.proof),
            }))
        }
    });

    let batch_proof = senders.batch_proof.clone();
    methods.register("rollup_getBatchProof", move |params: Params| {
        let batch_proof = batch_proof.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            let found = batch_proof.call(GetBatchProof(number)).await?.map_err(RpcError::internal)?;
            Ok::<_, RpcError>(found.map(|(record, root)| BatchProofJson {
                number,
                statement: record.statement,
                aggregation_seconds: record.aggregation_seconds,
                recursion_seconds: record.recursion_seconds,
                proof: rollup_l2::hex::encode(&record.proof),
                aggregation_proof: rollup_l2::hex::encode(&root),
            }))
        }
    });
    let groth16_proof = senders.groth16_proof.clone();
    methods.register("rollup_getGroth16Proof", move |params: Params| {
        let groth16_proof = groth16_proof.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            let found = groth16_proof.call(GetGroth16Proof(number)).await?.map_err(RpcError::internal)?;
            Ok::<_, RpcError>(found.map(|Groth16Record(json)| json))
        }
    });
}
