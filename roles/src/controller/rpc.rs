//! The controller's requests and its JSON-RPC methods.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_getBatch` | `[n]` | the batch record `{number, first_block, last_block, blocks, blob_bytes, first_timestamp_ms, last_timestamp_ms}`, or null while batch `n` is not closed |
//! | `rollup_getBatchCount` | `[]` | the number of closed batches |
//! | `rollup_getBatchDa` | `[n]` | where batch `n`'s data is on Bitcoin: `{batch, chunks, data_bytes, status, commit_txid, fee_rate_sat_kwu, attempts, locations: [{index, reveal_txid, block_hash, height}], da_commitment}` (`status` is `pending` or `confirmed`; `locations` is empty while pending), or null while the batch is not posted |
//! | `rollup_getDaWallet` | `[]` | `{address, poster_key}` of the DA poster's wallet (the address to fund it; the x-only key that signs reveals, for `vigilante.da_posters`), or null when posting is off |

use rollup_actors::{Handles, Request, Sender};
use rollup_rpc::{Methods, Params, RpcError};

use super::component::ControllerComponent;
use super::tables::{BatchRecord, ChunkLocation, DaPosting};

/// Read a closed batch.
#[derive(Debug)]
pub struct GetBatch(pub u64);
impl Request for GetBatch {
    type Response = Result<Option<BatchRecord>, String>;
}
impl Handles<GetBatch> for ControllerComponent {
    fn handle(&mut self, GetBatch(number): GetBatch) -> Result<Option<BatchRecord>, String> {
        self.batch(number).map_err(|error| error.to_string())
    }
}

/// Read the number of closed batches.
#[derive(Debug)]
pub struct GetBatchCount;
impl Request for GetBatchCount {
    type Response = Result<u64, String>;
}
impl Handles<GetBatchCount> for ControllerComponent {
    fn handle(&mut self, _: GetBatchCount) -> Result<u64, String> {
        self.batch_count().map_err(|error| error.to_string())
    }
}

/// Where a batch's data is posted, as `rollup_getBatchDa` answers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BatchDa {
    /// The batch number.
    pub batch: u64,
    /// Chunk envelopes.
    pub chunks: u16,
    /// Envelope data bytes.
    pub data_bytes: u64,
    /// `pending` until every chunk is confirmed, then `confirmed`.
    pub status: &'static str,
    /// The commit of the attempt the poster follows (the confirmed one once confirmed).
    pub commit_txid: String,
    /// Its fee rate, in sat per 1,000 weight units.
    pub fee_rate_sat_kwu: u64,
    /// Attempts made (first posting, replacements, reposts).
    pub attempts: usize,
    /// Chunk index → reveal, block hash, height; empty while pending.
    pub locations: Vec<ChunkLocation>,
    /// SHA-256 of the batch blob (hex): what a node rebuilding from Bitcoin computes.
    pub da_commitment: String,
}

impl From<&DaPosting> for BatchDa {
    fn from(posting: &DaPosting) -> Self {
        // Once confirmed, the attempt whose reveals are the located ones.
        let located = posting.location.as_ref().and_then(|locations| {
            let first = locations.first()?;
            posting.attempts.iter().find(|attempt| {
                attempt.reveals.first().is_some_and(|reveal| reveal.compute_txid() == first.reveal_txid)
            })
        });
        let attempt = located.or_else(|| posting.live());
        Self {
            batch: posting.batch,
            chunks: posting.chunks,
            data_bytes: posting.data_bytes,
            status: if posting.location.is_some() { "confirmed" } else { "pending" },
            commit_txid: attempt.map(|attempt| attempt.commit.compute_txid().to_string()).unwrap_or_default(),
            fee_rate_sat_kwu: attempt.map_or(0, |attempt| attempt.fee_rate_sat_kwu),
            attempts: posting.attempts.len(),
            locations: posting.location.clone().unwrap_or_default(),
            da_commitment: String::new(),
        }
    }
}

/// Read where a batch's data is posted.
#[derive(Debug)]
pub struct GetBatchDa(pub u64);
impl Request for GetBatchDa {
    type Response = Result<Option<BatchDa>, String>;
}
impl Handles<GetBatchDa> for ControllerComponent {
    fn handle(&mut self, GetBatchDa(number): GetBatchDa) -> Result<Option<BatchDa>, String> {
        let Some(posting) = self.batch_da(number).map_err(|error| error.to_string())? else {
            return Ok(None);
        };
        let mut answer = BatchDa::from(&posting);
        answer.da_commitment = self
            .da_commitment(number)
            .map_err(|error| error.to_string())?
            .map_or_else(String::new, |commitment| rollup_l2::hex::encode(&commitment));
        Ok(Some(answer))
    }
}

/// The DA poster's wallet, as `rollup_getDaWallet` answers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DaWallet {
    /// Its address, to fund.
    pub address: String,
    /// The x-only key that signs the reveals (hex): what a vigilante lists in
    /// `vigilante.da_posters`.
    pub poster_key: String,
}

/// Read the DA poster's wallet address.
#[derive(Debug)]
pub struct GetDaWallet;
impl Request for GetDaWallet {
    type Response = Option<DaWallet>;
}
impl Handles<GetDaWallet> for ControllerComponent {
    fn handle(&mut self, _: GetDaWallet) -> Option<DaWallet> {
        self.poster().map(|poster| DaWallet {
            address: poster.address().to_string(),
            poster_key: rollup_l2::hex::encode(&poster.poster_key().serialize()),
        })
    }
}

/// Senders to the controller.
#[derive(Clone, Debug)]
pub struct ControllerSenders {
    /// [`GetBatch`].
    pub batch: Sender<GetBatch>,
    /// [`GetBatchCount`].
    pub count: Sender<GetBatchCount>,
    /// [`GetBatchDa`].
    pub da: Sender<GetBatchDa>,
    /// [`GetDaWallet`].
    pub wallet: Sender<GetDaWallet>,
}

/// Registers the controller's methods.
pub fn register(methods: &mut Methods, senders: &ControllerSenders) {
    let batch = senders.batch.clone();
    methods.register("rollup_getBatch", move |params: Params| {
        let batch = batch.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            batch.call(GetBatch(number)).await?.map_err(RpcError::internal)
        }
    });
    let count = senders.count.clone();
    methods.register("rollup_getBatchCount", move |params: Params| {
        let count = count.clone();
        async move {
            params.none()?;
            count.call(GetBatchCount).await?.map_err(RpcError::internal)
        }
    });
    let da = senders.da.clone();
    methods.register("rollup_getBatchDa", move |params: Params| {
        let da = da.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            da.call(GetBatchDa(number)).await?.map_err(RpcError::internal)
        }
    });
    let wallet = senders.wallet.clone();
    methods.register("rollup_getDaWallet", move |params: Params| {
        let wallet = wallet.clone();
        async move {
            params.none()?;
            Ok(wallet.call(GetDaWallet).await?)
        }
    });
}
