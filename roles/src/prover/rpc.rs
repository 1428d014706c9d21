//! The prover's requests and its JSON-RPC method.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_getBlockProof` | `[n]` | `{number, capacity, statement, prove_seconds, proof}` (proof in hex), or null while block `n` is not proven |

use rollup_actors::{Handles, Request, Sender};
use rollup_circuits::block::BlockStatement;
use rollup_rpc::{Methods, Params, RpcError};
use serde::{Deserialize, Serialize};

use super::component::ProverComponent;
use super::tables::ProofRecord;

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
}
