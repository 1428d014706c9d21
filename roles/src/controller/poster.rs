//! The DA poster: posts every closed batch's blob to Bitcoin and follows it until it
//! is settled (`docs/protocol.md` section 5).
//!
//! Each [`DaPoster::step`] (one per poll interval, from the controller's tick):
//!
//! 1. reads the tip and the fee estimate ([`rollup_l1::da::fee_rate_from_estimates`]);
//! 2. follows every open posting: records where its chunks were mined (reveal txid,
//!    block hash, height), notices when a reorg took them out of the chain, rebroadcasts
//!    transactions that left the mempool, posts anew with fresh coins when the
//!    coins of the last attempt were spent elsewhere, and bumps a posting unconfirmed
//!    for `bump_after_blocks` blocks: a BIP-125 replacement of its commit (reveals
//!    rebuilt on it), or, when the mempool refuses the replacement or the commit is
//!    already confirmed, a child spending the package's outputs (CPFP);
//! 3. posts the next closed batches, as long as the byte budget of the next block
//!    allows ([`rollup_l1::da::fits_budget`]) and the wallet can pay.
//!
//! Every attempt is written to the `da_postings` table **before** it is broadcast, so
//! that a restart in the middle rebroadcasts exactly the same transactions (the
//! planner is deterministic) instead of posting the batch twice or spending the
//! coins twice. The open postings are also kept in memory (written through), so a
//! poll does not decode them again. Bitcoin is read through the [`DaChain`] trait:
//! [`EsploraChain`] in the node, a scripted chain in the tests.
//!
//! Errors: a database failure ends the step (the controller restarts and reloads); an
//! Esplora failure or nonsense answer about one posting is logged, the other
//! postings and new batches go on, and the step returns the first such error. Fees
//! and amounts use checked arithmetic (`rollup_l1::da` denies unchecked arithmetic).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::SecretKey;
use bitcoin::{
    Address, Amount, BlockHash, FeeRate, Network, OutPoint, ScriptBuf, Transaction, TxOut, Txid,
    XOnlyPublicKey,
};
use prometheus::{IntCounter, IntGauge, Registry};
use rollup_l1::da::{
    decide_bump, fee_rate_from_estimates, fits_budget, plan_cpfp, plan_posting, replacement_min_fee,
    split_batch, Ancestor, Bump, EnvelopeError, FeeEstimateError, FeePolicy, FundingUtxo, PlanPostingError,
};
use rollup_storage::{StorageError, Store};

use super::tables::{
    AttemptKind, BatchRecord, Batches, ChunkLocation, DaAttempt, DaChild, DaOpenPostings, DaPosting,
    DaPostings,
};

/// Confirmations after which a posting is settled and no longer followed.
pub const SETTLE_DEPTH: u32 = 6;
/// Batches posted in one step at most (the byte budget usually stops earlier).
const MAX_NEW_PER_STEP: usize = 16;

/// The payload of batch `batch`: what its chunk envelopes carry, the posted form
/// (`rollup_l2::compress`) of the batch blob that [`crate::da::batch_blob`] assembles
/// from the sequencer's compact blocks. The same batch gives the same bytes, so a
/// repost builds the same transactions.
pub fn batch_blob(store: &Store, batch: &BatchRecord) -> Result<Vec<u8>, BatchBlobError> {
    let blob = crate::da::batch_blob(store, batch).map_err(|error| match error {
        crate::da::BatchBlobError::Storage(error) => BatchBlobError::Storage(error),
        crate::da::BatchBlobError::MissingBlock { batch, block, .. } => {
            BatchBlobError::MissingBlock { batch, block }
        }
    })?;
    Ok(rollup_l2::compress(&blob.encode()))
}

/// Why a batch's blob cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BatchBlobError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The batch is not stored.
    #[error("batch {batch} is not stored")]
    MissingBatch {
        /// The batch.
        batch: u64,
    },
    /// A block of the batch is not stored.
    #[error("batch {batch}: block {block} is not stored")]
    MissingBlock {
        /// The batch.
        batch: u64,
        /// The first block missing.
        block: u64,
    },
}

/// A transaction's state on the chain the poster reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxState {
    /// Neither confirmed nor in the mempool.
    Unknown,
    /// In the mempool.
    Mempool,
    /// In the active chain.
    Confirmed {
        /// The block.
        block_hash: BlockHash,
        /// Its height.
        height: u32,
    },
}

/// A coin of the poster's wallet as the chain reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainUtxo {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value.
    pub value: Amount,
    /// Whether it is in a block.
    pub confirmed: bool,
}

/// What the mempool said to a broadcast it refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The transaction is already in the mempool or the chain.
    AlreadyKnown,
    /// It conflicts with a mempool transaction it cannot replace (no RBF, or too
    /// low a fee for BIP-125).
    Conflict(String),
    /// Its inputs are spent or do not exist.
    InputsMissing(String),
    /// The mempool's package limits: it would make its cluster (Bitcoin Core 31:
    /// `too-large-cluster`, over 101 kvB or 64 transactions) or its chain of
    /// unconfirmed transactions (Core before 31: `too-long-mempool-chain`) larger than
    /// the mempool keeps. It can go out once its unconfirmed parents confirm.
    PackageLimit(String),
    /// Any other reason.
    Other(String),
}

impl Refusal {
    /// Classifies a reject reason as Bitcoin Core words it.
    pub fn from_reason(reason: &str) -> Self {
        let lower = reason.to_ascii_lowercase();
        if lower.contains("too-large-cluster") || lower.contains("too-long-mempool-chain") {
            Self::PackageLimit(reason.to_owned())
        } else if lower.contains("already") {
            Self::AlreadyKnown
        } else if lower.contains("missingorspent")
            || lower.contains("missing-inputs")
            || lower.contains("missing inputs")
        {
            Self::InputsMissing(reason.to_owned())
        } else if lower.contains("mempool-conflict")
            || lower.contains("insufficient fee")
            || lower.contains("replacement")
            || lower.contains("bip125")
        {
            Self::Conflict(reason.to_owned())
        } else {
            Self::Other(reason.to_owned())
        }
    }
}

/// Why the chain could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The request failed (connection, HTTP status, unreadable body).
    #[error("esplora {what}: {message}")]
    Request {
        /// What was asked.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// The answer was read but makes no sense.
    #[error("esplora answered {what} with nonsense: {problem}")]
    Malformed {
        /// What was asked.
        what: String,
        /// What is wrong with the answer.
        problem: String,
    },
    /// The mempool refused a transaction.
    #[error("transaction {txid} refused: {refusal:?}")]
    Refused {
        /// The transaction.
        txid: Txid,
        /// Why.
        refusal: Refusal,
    },
}

/// What the poster needs from Bitcoin.
pub trait DaChain {
    /// The tip's height and hash.
    fn tip(&self) -> Result<(u32, BlockHash), ChainError>;
    /// Esplora's `/fee-estimates`: target in blocks → sat/vB.
    fn fee_estimates(&self) -> Result<HashMap<u16, f64>, ChainError>;
    /// The unspent outputs paying `script`, mempool spends excluded.
    fn utxos(&self, script: &ScriptBuf) -> Result<Vec<ChainUtxo>, ChainError>;
    /// Where `txid` is.
    fn tx_state(&self, txid: &Txid) -> Result<TxState, ChainError>;
    /// Hands `tx` to the mempool; [`ChainError::Refused`] when it says no.
    fn broadcast(&self, tx: &Transaction) -> Result<(), ChainError>;
    /// Asks a devnet faucet to pay `amount` to `address`.
    fn faucet(&self, address: &Address, amount: Amount) -> Result<(), ChainError>;
}

/// [`DaChain`] over an Esplora HTTP API (`esplora-client`, blocking).
pub struct EsploraChain {
    client: esplora_client::BlockingClient,
    url: String,
}

impl std::fmt::Debug for EsploraChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsploraChain").field("url", &self.url).finish()
    }
}

impl EsploraChain {
    /// A client of the Esplora API at `url`.
    pub fn new(url: &str) -> Self {
        let client = esplora_client::Builder::new(url).timeout(30).build_blocking();
        Self { client, url: url.trim_end_matches('/').to_owned() }
    }
}

fn request(what: impl Into<String>) -> impl FnOnce(esplora_client::Error) -> ChainError {
    let what = what.into();
    move |error| ChainError::Request { what, message: error.to_string() }
}

fn is_not_found(error: &esplora_client::Error) -> bool {
    matches!(error, esplora_client::Error::HttpResponse { status: 404, .. })
}

impl DaChain for EsploraChain {
    fn tip(&self) -> Result<(u32, BlockHash), ChainError> {
        let hash = self.client.get_tip_hash().map_err(request("the tip hash"))?;
        let height = self.client.get_height().map_err(request("the tip height"))?;
        Ok((height, hash))
    }

    fn fee_estimates(&self) -> Result<HashMap<u16, f64>, ChainError> {
        self.client.get_fee_estimates().map_err(request("the fee estimates"))
    }

    fn utxos(&self, script: &ScriptBuf) -> Result<Vec<ChainUtxo>, ChainError> {
        let utxos = self.client.get_scripthash_utxos(script).map_err(request("the wallet's coins"))?;
        utxos
            .into_iter()
            .map(|utxo| {
                if utxo.status.confirmed && utxo.status.block_height.is_none() {
                    return Err(ChainError::Malformed {
                        what: "the wallet's coins".to_owned(),
                        problem: format!("coin {}:{} is confirmed at no height", utxo.txid, utxo.vout),
                    });
                }
                Ok(ChainUtxo {
                    outpoint: OutPoint::new(utxo.txid, utxo.vout),
                    value: utxo.value,
                    confirmed: utxo.status.confirmed,
                })
            })
            .collect()
    }

    fn tx_state(&self, txid: &Txid) -> Result<TxState, ChainError> {
        let what = || format!("the status of {txid}");
        let status = match self.client.get_tx_status(txid) {
            Ok(status) => status,
            Err(error) if is_not_found(&error) => return Ok(TxState::Unknown),
            Err(error) => return Err(request(what())(error)),
        };
        if status.confirmed {
            return match (status.block_hash, status.block_height) {
                (Some(block_hash), Some(height)) => Ok(TxState::Confirmed { block_hash, height }),
                _ => Err(ChainError::Malformed {
                    what: what(),
                    problem: "confirmed without a block hash and height".to_owned(),
                }),
            };
        }
        // electrs answers an unconfirmed status for unknown transactions too, and still
        // serves a transaction whose block a reorg took away after the mempool dropped
        // it: ask for the transaction, then whether the mempool's spender of its first
        // input is this transaction.
        let tx = match self.client.get_tx(txid).map_err(request(format!("transaction {txid}")))? {
            Some(tx) if tx.compute_txid() == *txid => tx,
            Some(tx) => {
                return Err(ChainError::Malformed {
                    what: format!("transaction {txid}"),
                    problem: format!("the transaction returned is {}", tx.compute_txid()),
                })
            }
            None => return Ok(TxState::Unknown),
        };
        let Some(input) = tx.input.first().filter(|_| !tx.is_coinbase()) else { return Ok(TxState::Unknown) };
        let spent = input.previous_output;
        let spender = self
            .client
            .get_output_status(&spent.txid, u64::from(spent.vout))
            .map_err(request(format!("the spender of {spent}")))?;
        match spender {
            Some(status) if status.spent && status.txid == Some(*txid) => Ok(TxState::Mempool),
            _ => Ok(TxState::Unknown),
        }
    }

    fn broadcast(&self, tx: &Transaction) -> Result<(), ChainError> {
        let txid = tx.compute_txid();
        match self.client.broadcast(tx) {
            Ok(()) => Ok(()),
            Err(esplora_client::Error::HttpResponse { status: 400, message }) => {
                Err(ChainError::Refused { txid, refusal: Refusal::from_reason(&message) })
            }
            Err(error) => Err(request(format!("broadcast of {txid}"))(error)),
        }
    }

    fn faucet(&self, address: &Address, amount: Amount) -> Result<(), ChainError> {
        let url = format!("{}/devnet/faucet", self.url);
        let body = serde_json::json!({ "address": address.to_string(), "amount_sat": amount.to_sat() });
        ureq::post(&url).send_json(body).map(|_| ()).map_err(|error| ChainError::Request {
            what: "the devnet faucet".to_owned(),
            message: error.to_string(),
        })
    }
}

/// The poster's settings, from `[controller.da]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaSettings {
    /// The L2 chain id (in every envelope's tag).
    pub chain_id: u64,
    /// The Bitcoin network (for the wallet's address).
    pub network: Network,
    /// The wallet key file.
    pub wallet_key: PathBuf,
    /// Fee target, floor and ceiling.
    pub fees: FeePolicy,
    /// Envelope data bytes per Bitcoin block.
    pub max_bytes_per_block: u64,
    /// Blocks after which an unconfirmed posting is bumped.
    pub bump_after_blocks: u32,
    /// Sats to ask the devnet faucet for when the wallet is empty; 0 never asks.
    pub devnet_faucet: Amount,
}

impl DaSettings {
    /// The settings of `config`.
    pub fn from_config(config: &rollup_config::Config) -> Self {
        let da = &config.controller.da;
        let network = match config.bitcoin.network {
            rollup_config::BitcoinNetwork::Bitcoin => Network::Bitcoin,
            rollup_config::BitcoinNetwork::Testnet => Network::Testnet,
            rollup_config::BitcoinNetwork::Testnet4 => Network::Testnet4,
            rollup_config::BitcoinNetwork::Signet => Network::Signet,
            rollup_config::BitcoinNetwork::Regtest => Network::Regtest,
        };
        let sat_vb = |rate: u64| FeeRate::from_sat_per_kwu(rate.saturating_mul(250));
        Self {
            chain_id: config.node.chain_id,
            network,
            wallet_key: da.wallet_key(&config.node.data_dir),
            fees: FeePolicy {
                target_blocks: da.fee_target_blocks,
                floor: sat_vb(da.min_fee_rate_sat_vb),
                ceiling: sat_vb(da.max_fee_rate_sat_vb),
            },
            max_bytes_per_block: da.max_bytes_per_block,
            bump_after_blocks: da.bump_after_blocks,
            devnet_faucet: Amount::from_sat(da.devnet_faucet_sat),
        }
    }
}

/// Why the poster cannot load.
#[derive(Debug, thiserror::Error)]
pub enum LoadPosterError {
    /// The key file cannot be read or created.
    #[error("DA poster wallet key {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file does not hold a secret key.
    #[error("DA poster wallet key {}: {problem}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The open postings cannot be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a poster step failed. Nothing is lost: what was written stays, the next
/// step starts over from the database.
#[derive(Debug, thiserror::Error)]
pub enum PostBatchError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Esplora failed or answered nonsense.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// No usable fee estimate.
    #[error(transparent)]
    FeeEstimate(#[from] FeeEstimateError),
    /// A batch's blob cannot be read.
    #[error(transparent)]
    Blob(#[from] BatchBlobError),
    /// A blob cannot be cut into envelopes.
    #[error("batch {batch}: {source}")]
    Envelope {
        /// The batch.
        batch: u64,
        /// Why.
        source: EnvelopeError,
    },
    /// The transactions cannot be planned (the wallet cannot pay, most often).
    #[error("batch {batch}: {source}")]
    Plan {
        /// The batch.
        batch: u64,
        /// Why.
        source: PlanPostingError,
    },
    /// A stored posting has no attempt (the database was edited by hand).
    #[error("batch {batch}: stored posting has no attempt")]
    EmptyPosting {
        /// The batch.
        batch: u64,
    },
}

/// The poster's metrics.
#[derive(Clone, Debug)]
pub struct DaMetrics {
    /// `rollup_da_posted_bytes_total`: envelope data bytes of the batches posted.
    pub posted_bytes: IntCounter,
    /// `rollup_da_fees_paid_sat_total`: fees of the confirmed postings, in sats.
    pub fees_paid: IntCounter,
    /// `rollup_da_pending_postings`: postings not confirmed yet.
    pub pending: IntGauge,
    /// `rollup_da_bumps_total`: replacements and children broadcast.
    pub bumps: IntCounter,
    /// `rollup_da_reposts_total`: postings rebroadcast or posted anew after they left
    /// the chain and the mempool.
    pub reposts: IntCounter,
}

impl DaMetrics {
    /// Registers the metrics (or reuses them when a restarted role registers again).
    pub fn register(registry: &Registry) -> Self {
        let posted_bytes =
            IntCounter::new("rollup_da_posted_bytes_total", "Envelope data bytes of the batches posted.");
        let fees_paid =
            IntCounter::new("rollup_da_fees_paid_sat_total", "Fees of the confirmed DA postings, in sats.");
        let pending = IntGauge::new("rollup_da_pending_postings", "DA postings not confirmed yet.");
        let bumps = IntCounter::new("rollup_da_bumps_total", "DA replacements and children broadcast.");
        let reposts = IntCounter::new("rollup_da_reposts_total", "DA postings rebroadcast or posted anew.");
        // The names and options are constants: constructing them cannot fail.
        let (Ok(posted_bytes), Ok(fees_paid), Ok(pending), Ok(bumps), Ok(reposts)) =
            (posted_bytes, fees_paid, pending, bumps, reposts)
        else {
            unreachable!("constant metric definitions are valid")
        };
        for metric in [
            Box::new(posted_bytes.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(fees_paid.clone()),
            Box::new(pending.clone()),
            Box::new(bumps.clone()),
            Box::new(reposts.clone()),
        ] {
            // Registering twice (a restarted role) keeps the first registration.
            let _ = registry.register(metric);
        }
        Self { posted_bytes, fees_paid, pending, bumps, reposts }
    }
}

/// What one step did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Batches posted for the first time.
    pub posted: Vec<u64>,
    /// Batches whose location was recorded or changed.
    pub located: Vec<u64>,
    /// Batches whose confirmed location a reorg took away.
    pub unconfirmed: Vec<u64>,
    /// Batches whose transactions the chain did not know were broadcast: again (a
    /// mempool that lost them), or for the first time (reveals that waited for their
    /// commit to confirm).
    pub rebroadcast: Vec<u64>,
    /// Batches posted anew with fresh coins.
    pub reposted: Vec<u64>,
    /// Batches whose commit was replaced.
    pub replaced: Vec<u64>,
    /// Batches a child was broadcast for.
    pub children: Vec<u64>,
    /// Batches that settled (no longer followed).
    pub settled: Vec<u64>,
    /// Batches waiting for the byte budget or for funds.
    pub waiting: Vec<u64>,
}

/// The DA poster; see the module docs.
pub struct DaPoster {
    store: Arc<Store>,
    settings: DaSettings,
    keypair: Keypair,
    script: ScriptBuf,
    address: Address,
    metrics: DaMetrics,
    faucet_asked: bool,
    /// The open postings, as in `da_postings` (this poster is their only writer):
    /// a poll reads them from here instead of decoding them again.
    open: BTreeMap<u64, DaPosting>,
}

impl std::fmt::Debug for DaPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaPoster").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Reads the wallet key from `path`, creating it (a random key, hex, mode 0600)
/// when the file does not exist.
pub fn load_or_create_key(path: &Path) -> Result<Keypair, LoadPosterError> {
    let secp = Secp256k1::new();
    let key_file = |source| LoadPosterError::KeyFile { path: path.to_owned(), source };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let secret = SecretKey::new(&mut bitcoin::secp256k1::rand::thread_rng());
            let hex = secret.display_secret().to_string();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(key_file)?;
            }
            write_private(path, &hex).map_err(key_file)?;
            tracing::info!(target: "rollup::da", path = %path.display(), "DA poster wallet key created");
            hex
        }
        Err(error) => return Err(key_file(error)),
    };
    let bad = |problem: String| LoadPosterError::BadKey { path: path.to_owned(), problem };
    let text = text.trim();
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|at| text.get(at..at.saturating_add(2)).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("not hex".to_owned()))?;
    if bytes.len() != 32 {
        return Err(bad(format!("{} bytes, expected a 32-byte secret key in hex", bytes.len())));
    }
    let secret = SecretKey::from_slice(&bytes).map_err(|error| bad(error.to_string()))?;
    Ok(Keypair::from_secret_key(&secp, &secret))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

fn fee_rate(rate_sat_kwu: u64) -> FeeRate {
    FeeRate::from_sat_per_kwu(rate_sat_kwu)
}

impl DaPoster {
    /// Loads the poster: its key (created on first start) and settings. Logs the
    /// wallet's address, which must be funded.
    pub fn load(
        store: Arc<Store>,
        settings: DaSettings,
        metrics: DaMetrics,
    ) -> Result<Self, LoadPosterError> {
        let keypair = load_or_create_key(&settings.wallet_key)?;
        let secp = Secp256k1::new();
        let address = Address::p2tr(&secp, keypair.x_only_public_key().0, None, settings.network);
        let script = address.script_pubkey();
        tracing::info!(target: "rollup::da", %address, "DA poster wallet (fund this address)");
        let open = load_open(&store)?;
        Ok(Self { store, settings, keypair, script, address, metrics, faucet_asked: false, open })
    }

    /// The key that signs the reveals (x-only): readers trust batch chunks by it
    /// (`vigilante.da_posters`).
    pub fn poster_key(&self) -> XOnlyPublicKey {
        self.keypair.x_only_public_key().0
    }

    /// The wallet's address (key-path P2TR of the poster key), to fund.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The stored posting of `batch`.
    pub fn posting(&self, batch: u64) -> Result<Option<DaPosting>, StorageError> {
        self.store.read(|tx| tx.get::<DaPostings>(&batch))
    }

    /// One poll: follow the open postings, then post new batches.
    ///
    /// A posting that cannot be followed (Esplora refuses or garbles something about
    /// it) does not hold the others up: the step goes on and returns the first such
    /// error at the end. A database failure stops it at once.
    pub fn step(&mut self, chain: &dyn DaChain) -> Result<StepReport, PostBatchError> {
        let mut report = StepReport::default();
        let (tip, _) = chain.tip()?;
        // Without a usable estimate the postings are still followed (confirmations,
        // reorgs, rebroadcasts); only what needs a fee rate waits, and the error is
        // returned at the end.
        let estimate = fee_rate_from_estimates(&chain.fee_estimates()?, &self.settings.fees);
        let open: Vec<DaPosting> = self.open.values().cloned().collect();
        let mut used_bytes = 0u64;
        let mut pending = 0i64;
        let mut failed: Option<PostBatchError> = None;
        for posting in open {
            let batch = posting.batch;
            let posting = match self.follow(chain, posting, tip, estimate.as_ref().ok().copied(), &mut report)
            {
                Ok(posting) => posting,
                Err(PostBatchError::Storage(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(target: "rollup::da", batch, %error, "cannot follow posting");
                    failed.get_or_insert(error);
                    // As stored: the failure changed nothing that was not saved.
                    match self.open.get(&batch) {
                        Some(posting) => posting.clone(),
                        None => continue,
                    }
                }
            };
            if posting.location.is_none() {
                pending = pending.saturating_add(1);
            }
            if posting.posted_height == tip {
                used_bytes = used_bytes.saturating_add(posting.data_bytes);
            }
        }
        let estimate = match estimate {
            Ok(estimate) => estimate,
            Err(error) => {
                self.metrics.pending.set(pending);
                return Err(error.into());
            }
        };
        let posted = self.post_new(chain, tip, estimate, used_bytes, &mut pending, &mut report);
        self.metrics.pending.set(pending);
        posted?;
        match failed {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Persists `posting`, open or settled, then mirrors it in memory.
    fn save(&mut self, posting: &DaPosting, open: bool) -> Result<(), StorageError> {
        self.store.write(|tx| {
            tx.put::<DaPostings>(&posting.batch, posting)?;
            if open {
                tx.put::<DaOpenPostings>(&posting.batch, &1)
            } else {
                tx.delete::<DaOpenPostings>(&posting.batch).map(|_| ())
            }
        })?;
        if open {
            self.open.insert(posting.batch, posting.clone());
        } else {
            self.open.remove(&posting.batch);
        }
        Ok(())
    }

    /// Where every reveal of `attempt` is, if all are confirmed.
    fn locate(
        &self,
        chain: &dyn DaChain,
        attempt: &DaAttempt,
    ) -> Result<Option<Vec<ChunkLocation>>, ChainError> {
        let mut locations = Vec::with_capacity(attempt.reveals.len());
        for (reveal, index) in attempt.reveals.iter().zip(0u16..) {
            let reveal_txid = reveal.compute_txid();
            match chain.tx_state(&reveal_txid)? {
                TxState::Confirmed { block_hash, height } => {
                    locations.push(ChunkLocation { index, reveal_txid, block_hash, height });
                }
                TxState::Mempool | TxState::Unknown => return Ok(None),
            }
        }
        Ok(Some(locations))
    }

    fn follow(
        &mut self,
        chain: &dyn DaChain,
        mut posting: DaPosting,
        tip: u32,
        estimate: Option<FeeRate>,
        report: &mut StepReport,
    ) -> Result<DaPosting, PostBatchError> {
        let batch = posting.batch;
        // Any attempt fully confirmed, newest first: that is where the data lives.
        let mut found = None;
        for (position, attempt) in posting.attempts.iter().enumerate().rev() {
            if let Some(locations) = self.locate(chain, attempt)? {
                found = Some((position, locations));
                break;
            }
        }
        if let Some((position, locations)) = found {
            let changed = posting.location.as_ref() != Some(&locations);
            if changed {
                tracing::info!(
                    target: "rollup::da",
                    batch,
                    attempt = position,
                    block = %locations.first().map(|at| at.block_hash.to_string()).unwrap_or_default(),
                    height = locations.first().map_or(0, |at| at.height),
                    moved = posting.location.is_some(),
                    "batch data confirmed on Bitcoin"
                );
                if !posting.fees_counted {
                    let fee = posting.attempts.get(position).map_or(0, DaAttempt::total_fee_sat);
                    self.metrics.fees_paid.inc_by(fee);
                    posting.fees_counted = true;
                }
                posting.location = Some(locations);
                report.located.push(batch);
            }
            let latest = posting.location.iter().flatten().map(|at| at.height).max().unwrap_or(tip);
            let settled = tip.saturating_sub(latest).saturating_add(1) >= SETTLE_DEPTH;
            if changed || settled {
                self.save(&posting, !settled)?;
            }
            if settled {
                report.settled.push(batch);
            }
            return Ok(posting);
        }
        if posting.location.take().is_some() {
            tracing::warn!(target: "rollup::da", batch, "batch data left the chain (reorg): following it again");
            report.unconfirmed.push(batch);
            self.save(&posting, true)?;
        }
        let live = posting.live().cloned().ok_or(PostBatchError::EmptyPosting { batch })?;
        let commit_txid = live.commit.compute_txid();
        let commit_state = chain.tx_state(&commit_txid)?;

        if commit_state == TxState::Unknown {
            // Left the mempool (or never reached it: a restart before the broadcast).
            match chain.broadcast(&live.commit) {
                Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => {
                    self.broadcast_rest(chain, &live)?;
                    tracing::info!(target: "rollup::da", batch, commit = %commit_txid, "posting rebroadcast");
                    self.metrics.reposts.inc();
                    report.rebroadcast.push(batch);
                }
                Err(ChainError::Refused { refusal, .. }) => {
                    let previous =
                        posting.attempts.len().checked_sub(2).and_then(|at| posting.attempts.get(at));
                    let previous_known = match previous {
                        Some(previous) => {
                            chain.tx_state(&previous.commit.compute_txid())? != TxState::Unknown
                        }
                        None => false,
                    };
                    if previous_known {
                        // A replacement the mempool refuses: the attempt before it stays.
                        tracing::warn!(target: "rollup::da", batch, ?refusal, "replacement refused: a child will bump instead");
                        posting.attempts.pop();
                        if let Some(previous) = posting.attempts.last_mut() {
                            previous.replacement_refused = true;
                        }
                        self.save(&posting, true)?;
                    } else if let (Some(estimate), Refusal::InputsMissing(_) | Refusal::Conflict(_)) =
                        (estimate, &refusal)
                    {
                        // Its coins are gone (spent elsewhere, or by a transaction a reorg
                        // left behind): post the batch anew with fresh ones.
                        tracing::warn!(target: "rollup::da", batch, ?refusal, "posting invalid: posting anew with fresh coins");
                        posting = self.repost(chain, posting, tip, estimate)?;
                        report.reposted.push(batch);
                    } else {
                        return Err(ChainError::Refused { txid: commit_txid, refusal }.into());
                    }
                }
                Err(error) => return Err(error.into()),
            }
            return Ok(posting);
        }
        // The commit is known: make sure the reveals and the child are too.
        if self.broadcast_rest(chain, &live)? {
            report.rebroadcast.push(batch);
        }
        let since = live.broadcast_height;
        let Some(estimate) = estimate else { return Ok(posting) };
        match decide_bump(
            tip,
            since,
            self.settings.bump_after_blocks,
            fee_rate(current_rate(&live)),
            estimate,
            self.settings.fees.ceiling,
        ) {
            Bump::Wait => {}
            Bump::AtCeiling => {
                tracing::warn!(target: "rollup::da", batch, since, "posting stuck at the fee ceiling");
            }
            Bump::To(rate) => {
                let confirmed = matches!(commit_state, TxState::Confirmed { .. });
                if !confirmed && !live.replacement_refused {
                    posting = self.replace(chain, posting, tip, rate, report)?;
                } else {
                    posting = self.pay_by_child(chain, posting, tip, rate, commit_state, report)?;
                }
            }
        }
        Ok(posting)
    }

    /// Broadcasts the reveals and the child of `attempt` that the chain does not know;
    /// whether any was. A reveal the mempool cannot hold yet ([`Refusal::PackageLimit`])
    /// stops the rest: see [`DaPoster::broadcast_attempt`].
    fn broadcast_rest(&self, chain: &dyn DaChain, attempt: &DaAttempt) -> Result<bool, ChainError> {
        let mut any = false;
        for tx in attempt.reveals.iter().chain(attempt.child.as_ref().map(|child| &child.tx)) {
            if chain.tx_state(&tx.compute_txid())? == TxState::Unknown {
                match chain.broadcast(tx) {
                    Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => any = true,
                    Err(ChainError::Refused { refusal: Refusal::PackageLimit(reason), txid }) => {
                        tracing::debug!(target: "rollup::da", %txid, %reason, "reveal still waits for its commit");
                        break;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(any)
    }

    /// The wallet's confirmed coins that no open posting spends, for new
    /// transactions.
    fn free_coins(&self, chain: &dyn DaChain) -> Result<Vec<FundingUtxo>, PostBatchError> {
        let mut locked = BTreeSet::new();
        for posting in self.open.values() {
            for attempt in &posting.attempts {
                locked.extend(attempt.funding.iter().map(|(outpoint, _)| *outpoint));
                if let Some(child) = &attempt.child {
                    locked.extend(child.tx.input.iter().map(|input| input.previous_output));
                }
            }
        }
        Ok(chain
            .utxos(&self.script)?
            .into_iter()
            .filter(|utxo| utxo.confirmed && !locked.contains(&utxo.outpoint))
            .map(|utxo| FundingUtxo {
                outpoint: utxo.outpoint,
                output: TxOut { value: utxo.value, script_pubkey: self.script.clone() },
            })
            .collect())
    }

    /// Builds an attempt for `batch`'s blob: its commit spends `keep` and then coins
    /// of `wallet`, its reveals pay `rate`, its commit at least the second fee.
    fn build_attempt(
        &self,
        batch: &BatchRecord,
        blob: &[u8],
        kind: AttemptKind,
        (keep, wallet): (&[FundingUtxo], &[FundingUtxo]),
        (rate, min_commit_fee): (FeeRate, Amount),
        tip: u32,
    ) -> Result<(DaAttempt, u16, u64), PostBatchError> {
        let number = batch.number;
        let envelopes = split_batch(self.settings.chain_id, number, blob)
            .map_err(|source| PostBatchError::Envelope { batch: number, source })?;
        let planned =
            plan_posting(&self.keypair, &envelopes, keep, wallet, rate, min_commit_fee, &self.script)
                .map_err(|source| PostBatchError::Plan { batch: number, source })?;
        let funding = planned
            .commit
            .input
            .iter()
            .map(|input| input.previous_output)
            .zip(planned.funding.iter().cloned())
            .collect();
        let attempt = DaAttempt {
            kind,
            fee_rate_sat_kwu: rate.to_sat_per_kwu(),
            broadcast_height: tip,
            funding,
            commit: planned.commit,
            reveals: planned.reveals,
            commit_fee_sat: planned.commit_fee.to_sat(),
            reveal_fees_sat: planned.reveal_fees.iter().map(|fee| fee.to_sat()).collect(),
            child: None,
            replacement_refused: false,
        };
        let chunks = u16::try_from(envelopes.len()).unwrap_or(u16::MAX);
        let bytes = u64::try_from(blob.len()).unwrap_or(u64::MAX);
        Ok((attempt, chunks, bytes))
    }

    fn batch_record(&self, batch: u64) -> Result<BatchRecord, PostBatchError> {
        self.store
            .read(|tx| tx.get::<Batches>(&batch))?
            .ok_or(PostBatchError::Blob(BatchBlobError::MissingBatch { batch }))
    }

    /// Posts the batch anew with fresh coins (the last attempt's coins are gone).
    fn repost(
        &mut self,
        chain: &dyn DaChain,
        mut posting: DaPosting,
        tip: u32,
        rate: FeeRate,
    ) -> Result<DaPosting, PostBatchError> {
        let record = self.batch_record(posting.batch)?;
        let blob = batch_blob(&self.store, &record)?;
        let wallet = self.free_coins(chain)?;
        let (attempt, _, _) = self.build_attempt(
            &record,
            &blob,
            AttemptKind::Repost,
            (&[], &wallet),
            (rate, Amount::ZERO),
            tip,
        )?;
        posting.attempts.push(attempt.clone());
        posting.posted_height = tip;
        self.save(&posting, true)?;
        self.broadcast_attempt(chain, &attempt)?;
        self.metrics.reposts.inc();
        Ok(posting)
    }

    /// Broadcasts a new attempt's commit, then its reveals. A reveal the mempool cannot
    /// hold beside its unconfirmed commit ([`Refusal::PackageLimit`]: two reveals near
    /// the standard size and their commit exceed Core 31's 101 kvB cluster) waits, with
    /// the reveals after it: once the commit confirms, each reveal is a cluster of its
    /// own, and [`DaPoster::broadcast_rest`] sends them on a later step.
    fn broadcast_attempt(&self, chain: &dyn DaChain, attempt: &DaAttempt) -> Result<(), ChainError> {
        match chain.broadcast(&attempt.commit) {
            Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => {}
            Err(error) => return Err(error),
        }
        for (index, reveal) in attempt.reveals.iter().enumerate() {
            match chain.broadcast(reveal) {
                Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => {}
                Err(ChainError::Refused { refusal: Refusal::PackageLimit(reason), .. }) => {
                    tracing::info!(
                        target: "rollup::da",
                        commit = %attempt.commit.compute_txid(),
                        from_chunk = index,
                        %reason,
                        "the mempool holds no more reveals beside the unconfirmed commit: the rest go out once it confirms"
                    );
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Replaces the live attempt's commit (BIP-125) at `rate`; the reveals change
    /// with it.
    fn replace(
        &mut self,
        chain: &dyn DaChain,
        mut posting: DaPosting,
        tip: u32,
        rate: FeeRate,
        report: &mut StepReport,
    ) -> Result<DaPosting, PostBatchError> {
        let batch = posting.batch;
        let live = posting.live().cloned().ok_or(PostBatchError::EmptyPosting { batch })?;
        let record = self.batch_record(batch)?;
        let blob = batch_blob(&self.store, &record)?;
        let keep: Vec<FundingUtxo> = live
            .funding
            .iter()
            .map(|(outpoint, output)| FundingUtxo { outpoint: *outpoint, output: output.clone() })
            .collect();
        let evicted = Amount::from_sat(live.total_fee_sat());
        let min_fee = replacement_min_fee(evicted, live.commit.weight()).ok_or(PostBatchError::Plan {
            batch,
            source: PlanPostingError::Overflow { what: "the replacement fee" },
        })?;
        let wallet = self.free_coins(chain)?;
        let (attempt, _, _) = self.build_attempt(
            &record,
            &blob,
            AttemptKind::Replacement,
            (&keep, &wallet),
            (rate, min_fee),
            tip,
        )?;
        posting.attempts.push(attempt.clone());
        self.save(&posting, true)?;
        match chain.broadcast(&attempt.commit) {
            Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => {
                self.broadcast_rest(chain, &attempt)?;
                tracing::info!(
                    target: "rollup::da",
                    batch,
                    fee_rate_sat_kwu = attempt.fee_rate_sat_kwu,
                    commit = %attempt.commit.compute_txid(),
                    "stuck posting: commit replaced"
                );
                self.metrics.bumps.inc();
                report.replaced.push(batch);
            }
            Err(ChainError::Refused { refusal: Refusal::Conflict(reason), .. }) => {
                tracing::warn!(target: "rollup::da", batch, %reason, "replacement refused: a child will bump instead");
                posting.attempts.pop();
                if let Some(previous) = posting.attempts.last_mut() {
                    previous.replacement_refused = true;
                }
                self.save(&posting, true)?;
                // The refusal is the mempool's answer, not a failure: bump by a child now.
                let state = chain.tx_state(&live.commit.compute_txid())?;
                return self.pay_by_child(chain, posting, tip, rate, state, report);
            }
            Err(error) => return Err(error.into()),
        }
        Ok(posting)
    }

    /// Bumps the live attempt with a child spending its unconfirmed outputs that pay
    /// the wallet (the commit's change, the reveals' outputs) to the wallet.
    fn pay_by_child(
        &mut self,
        chain: &dyn DaChain,
        mut posting: DaPosting,
        tip: u32,
        rate: FeeRate,
        commit_state: TxState,
        report: &mut StepReport,
    ) -> Result<DaPosting, PostBatchError> {
        let batch = posting.batch;
        let Some(live) = posting.attempts.last_mut() else {
            return Err(PostBatchError::EmptyPosting { batch });
        };
        let mut parents = Vec::new();
        let mut ancestors = Vec::new();
        let commit_unconfirmed = !matches!(commit_state, TxState::Confirmed { .. });
        if commit_unconfirmed {
            ancestors
                .push(Ancestor { weight: live.commit.weight(), fee: Amount::from_sat(live.commit_fee_sat) });
            parents.extend(wallet_outputs(&live.commit, &self.script));
        }
        for (reveal, fee) in live.reveals.iter().zip(&live.reveal_fees_sat) {
            // Confirmed, or waiting for its commit (not in the mempool): nothing to pay for.
            if chain.tx_state(&reveal.compute_txid())? != TxState::Mempool {
                continue;
            }
            ancestors.push(Ancestor { weight: reveal.weight(), fee: Amount::from_sat(*fee) });
            parents.extend(wallet_outputs(reveal, &self.script));
        }
        if ancestors.is_empty() {
            return Ok(posting);
        }
        // A later child spends the same outputs, so it replaces the earlier one; at a
        // rate at least the incremental relay fee higher over the whole package, it
        // pays more than the earlier child plus the increment for its own size, as
        // BIP-125 asks.
        let wallet = self.free_coins(chain)?;
        let child = plan_cpfp(&self.keypair, &parents, &wallet, &ancestors, rate, &self.script)
            .map_err(|source| PostBatchError::Plan { batch, source })?;
        let spent: Amount = parents
            .iter()
            .map(|parent| parent.output.value)
            .chain(
                wallet
                    .iter()
                    .filter(|coin| child.input.iter().any(|input| input.previous_output == coin.outpoint))
                    .map(|coin| coin.output.value),
            )
            .fold(Amount::ZERO, |total, value| total.checked_add(value).unwrap_or(Amount::MAX));
        let paid = child
            .output
            .iter()
            .fold(Amount::ZERO, |total, output| total.checked_add(output.value).unwrap_or(Amount::MAX));
        let fee = spent.checked_sub(paid).unwrap_or(Amount::ZERO);
        let earlier = live.child.replace(DaChild {
            tx: child.clone(),
            fee_sat: fee.to_sat(),
            fee_rate_sat_kwu: rate.to_sat_per_kwu(),
        });
        live.broadcast_height = tip;
        self.save(&posting, true)?;
        match chain.broadcast(&child) {
            Ok(()) | Err(ChainError::Refused { refusal: Refusal::AlreadyKnown, .. }) => {}
            Err(ChainError::Refused { refusal: Refusal::Conflict(reason), .. }) if earlier.is_some() => {
                // The mempool keeps the earlier child (no replacement): so do we, and
                // try again after `bump_after_blocks` more blocks.
                tracing::warn!(target: "rollup::da", batch, %reason, "second child refused: keeping the first");
                if let Some(live) = posting.attempts.last_mut() {
                    live.child = earlier;
                }
                self.save(&posting, true)?;
                return Ok(posting);
            }
            Err(error) => return Err(error.into()),
        }
        tracing::info!(
            target: "rollup::da",
            batch,
            fee_rate_sat_kwu = rate.to_sat_per_kwu(),
            child = %child.compute_txid(),
            "stuck posting: child pays for it"
        );
        self.metrics.bumps.inc();
        report.children.push(batch);
        Ok(posting)
    }

    /// Posts closed batches that have no posting yet, in order, within the byte
    /// budget of the next block.
    fn post_new(
        &mut self,
        chain: &dyn DaChain,
        tip: u32,
        rate: FeeRate,
        mut used_bytes: u64,
        pending: &mut i64,
        report: &mut StepReport,
    ) -> Result<(), PostBatchError> {
        // Postings are made in batch order, so batches 0..count have one.
        let next = self.store.read(|tx| tx.count::<DaPostings>())?;
        let records = self.store.read(|tx| tx.range::<Batches>(next.., MAX_NEW_PER_STEP))?;
        for (batch, record) in records {
            let blob = batch_blob(&self.store, &record)?;
            let bytes = u64::try_from(blob.len()).unwrap_or(u64::MAX);
            if !fits_budget(used_bytes, bytes, self.settings.max_bytes_per_block) {
                report.waiting.push(batch);
                break;
            }
            let wallet = self.free_coins(chain)?;
            let built = self.build_attempt(
                &record,
                &blob,
                AttemptKind::Initial,
                (&[], &wallet),
                (rate, Amount::ZERO),
                tip,
            );
            let (attempt, chunks, data_bytes) = match built {
                Ok(built) => built,
                Err(PostBatchError::Plan {
                    source:
                        source @ (PlanPostingError::NoFunding | PlanPostingError::InsufficientFunds { .. }),
                    ..
                }) => {
                    tracing::warn!(target: "rollup::da", batch, address = %self.address, %source, "cannot post: fund the DA poster's wallet");
                    self.ask_faucet(chain);
                    report.waiting.push(batch);
                    break;
                }
                Err(error) => return Err(error),
            };
            let posting = DaPosting {
                batch,
                chunks,
                data_bytes,
                posted_height: tip,
                attempts: vec![attempt.clone()],
                location: None,
                fees_counted: false,
            };
            // Written before the broadcast: a restart rebroadcasts it.
            self.save(&posting, true)?;
            self.broadcast_attempt(chain, &attempt)?;
            tracing::info!(
                target: "rollup::da",
                batch,
                chunks,
                data_bytes,
                fee_rate_sat_kwu = attempt.fee_rate_sat_kwu,
                commit = %attempt.commit.compute_txid(),
                "batch posted to Bitcoin"
            );
            self.metrics.posted_bytes.inc_by(data_bytes);
            *pending = pending.saturating_add(1);
            used_bytes = used_bytes.saturating_add(data_bytes);
            report.posted.push(batch);
        }
        Ok(())
    }

    /// Asks the devnet faucet once per process for coins, when configured.
    fn ask_faucet(&mut self, chain: &dyn DaChain) {
        if self.settings.devnet_faucet == Amount::ZERO || self.faucet_asked {
            return;
        }
        match chain.faucet(&self.address, self.settings.devnet_faucet) {
            Ok(()) => {
                self.faucet_asked = true;
                tracing::info!(target: "rollup::da", address = %self.address, amount = %self.settings.devnet_faucet, "asked the devnet faucet");
            }
            Err(error) => tracing::warn!(target: "rollup::da", %error, "devnet faucet failed"),
        }
    }
}

/// The postings `da_open_postings` lists.
fn load_open(store: &Store) -> Result<BTreeMap<u64, DaPosting>, StorageError> {
    store.read(|tx| {
        let mut open = BTreeMap::new();
        for batch in tx.keys::<DaOpenPostings>(.., usize::MAX)? {
            if let Some(posting) = tx.get::<DaPostings>(&batch)? {
                open.insert(batch, posting);
            }
        }
        Ok(open)
    })
}

/// The fee rate an attempt currently pays for (its child's, if it has one).
fn current_rate(attempt: &DaAttempt) -> u64 {
    attempt.child.as_ref().map_or(attempt.fee_rate_sat_kwu, |child| child.fee_rate_sat_kwu)
}

/// `tx`'s outputs paying `script`, as coins.
fn wallet_outputs<'a>(tx: &'a Transaction, script: &'a ScriptBuf) -> impl Iterator<Item = FundingUtxo> + 'a {
    let txid = tx.compute_txid();
    tx.output.iter().zip(0u32..).filter(move |(output, _)| output.script_pubkey == *script).map(
        move |(output, vout)| FundingUtxo { outpoint: OutPoint::new(txid, vout), output: output.clone() },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::cell::RefCell;

    use bitcoin::hashes::Hash;
    use rollup_l2::{Block, BlockHeader, CompactBlock};

    use crate::sequencer::{Blocks, CompactBlocks, Stored, StoredCompact};

    use super::*;

    const CHAIN_ID: u64 = 0xda;
    const SAT_VB: u64 = 250;

    /// A scripted chain: a mempool that accepts what it is given (or refuses the
    /// next broadcasts as told), blocks that confirm the whole mempool, reorgs that
    /// forget blocks.
    #[derive(Default)]
    struct FakeChain {
        state: RefCell<FakeState>,
    }

    #[derive(Default)]
    struct FakeState {
        height: u32,
        estimates: HashMap<u16, f64>,
        coins: Vec<ChainUtxo>,
        mempool: Vec<Transaction>,
        confirmed: HashMap<Txid, (BlockHash, u32)>,
        refuse: Vec<Refusal>,
        /// Package limits: a transaction spending an unconfirmed parent that already
        /// has this many children in the mempool is refused (`too-large-cluster`).
        children_per_unconfirmed_parent: Option<usize>,
        broadcasts: Vec<Txid>,
        fail_requests: bool,
        malformed_status: bool,
        faucet: Vec<(String, Amount)>,
    }

    fn block_hash(height: u32, salt: u8) -> BlockHash {
        let mut bytes = [salt; 32];
        bytes[..4].copy_from_slice(&height.to_be_bytes());
        BlockHash::from_byte_array(bytes)
    }

    impl FakeChain {
        fn new(coins: &[(u8, u64)]) -> Self {
            let chain = Self::default();
            {
                let mut state = chain.state.borrow_mut();
                state.height = 100;
                state.estimates = HashMap::from([(1, 5.0), (6, 2.0), (144, 1.0)]);
                state.coins = coins
                    .iter()
                    .map(|(n, sats)| ChainUtxo {
                        outpoint: OutPoint::new(Txid::from_byte_array([*n; 32]), 0),
                        value: Amount::from_sat(*sats),
                        confirmed: true,
                    })
                    .collect();
            }
            chain
        }

        /// Mines one block holding the whole mempool (salt tells branches apart).
        fn mine(&self, salt: u8) -> BlockHash {
            let mut state = self.state.borrow_mut();
            state.height += 1;
            let (height, hash) = (state.height, block_hash(state.height, salt));
            for tx in std::mem::take(&mut state.mempool) {
                state.confirmed.insert(tx.compute_txid(), (hash, height));
            }
            hash
        }

        fn advance(&self, blocks: u32) {
            self.state.borrow_mut().height += blocks;
        }

        /// Forgets the last block's transactions (a reorg that drops them).
        fn reorg_dropping(&self) {
            let mut state = self.state.borrow_mut();
            let height = state.height;
            state.confirmed.retain(|_, (_, at)| *at != height);
        }

        /// Puts the last block's transactions back in the mempool and confirms them
        /// again in a block with another hash.
        fn reorg_keeping(&self, salt: u8) {
            let mut state = self.state.borrow_mut();
            let height = state.height;
            for (_, (hash, at)) in state.confirmed.iter_mut() {
                if *at == height {
                    *hash = block_hash(height, salt);
                }
            }
        }

        fn in_mempool(&self) -> Vec<Txid> {
            self.state.borrow().mempool.iter().map(Transaction::compute_txid).collect()
        }

        fn broadcasts(&self) -> Vec<Txid> {
            self.state.borrow().broadcasts.clone()
        }
    }

    impl DaChain for FakeChain {
        fn tip(&self) -> Result<(u32, BlockHash), ChainError> {
            let state = self.state.borrow();
            if state.fail_requests {
                return Err(ChainError::Request {
                    what: "the tip hash".to_owned(),
                    message: "down".to_owned(),
                });
            }
            Ok((state.height, block_hash(state.height, 0)))
        }

        fn fee_estimates(&self) -> Result<HashMap<u16, f64>, ChainError> {
            Ok(self.state.borrow().estimates.clone())
        }

        fn utxos(&self, _: &ScriptBuf) -> Result<Vec<ChainUtxo>, ChainError> {
            Ok(self.state.borrow().coins.clone())
        }

        fn tx_state(&self, txid: &Txid) -> Result<TxState, ChainError> {
            let state = self.state.borrow();
            if state.malformed_status {
                return Err(ChainError::Malformed {
                    what: format!("the status of {txid}"),
                    problem: "confirmed without a block hash and height".to_owned(),
                });
            }
            if let Some((block_hash, height)) = state.confirmed.get(txid) {
                return Ok(TxState::Confirmed { block_hash: *block_hash, height: *height });
            }
            Ok(match state.mempool.iter().any(|tx| tx.compute_txid() == *txid) {
                true => TxState::Mempool,
                false => TxState::Unknown,
            })
        }

        fn broadcast(&self, tx: &Transaction) -> Result<(), ChainError> {
            let mut state = self.state.borrow_mut();
            let txid = tx.compute_txid();
            if state.fail_requests {
                return Err(ChainError::Request {
                    what: format!("broadcast of {txid}"),
                    message: "down".to_owned(),
                });
            }
            if !state.refuse.is_empty() {
                let refusal = state.refuse.remove(0);
                return Err(ChainError::Refused { txid, refusal });
            }
            state.broadcasts.push(txid);
            if state.mempool.iter().any(|known| known.compute_txid() == txid) {
                return Err(ChainError::Refused { txid, refusal: Refusal::AlreadyKnown });
            }
            if let Some(limit) = state.children_per_unconfirmed_parent {
                let over = tx.input.iter().map(|input| input.previous_output.txid).any(|parent| {
                    state.mempool.iter().any(|known| known.compute_txid() == parent)
                        && state
                            .mempool
                            .iter()
                            .filter(|known| {
                                known.input.iter().any(|input| input.previous_output.txid == parent)
                            })
                            .count()
                            >= limit
                });
                if over {
                    return Err(ChainError::Refused {
                        txid,
                        refusal: Refusal::from_reason("too-large-cluster"),
                    });
                }
            }
            // Full RBF: a transaction evicts the mempool transactions it conflicts
            // with and their descendants.
            let spent: Vec<OutPoint> = tx.input.iter().map(|input| input.previous_output).collect();
            let mut evicted: Vec<Txid> = state
                .mempool
                .iter()
                .filter(|known| known.input.iter().any(|input| spent.contains(&input.previous_output)))
                .map(Transaction::compute_txid)
                .collect();
            loop {
                let more: Vec<Txid> = state
                    .mempool
                    .iter()
                    .filter(|known| !evicted.contains(&known.compute_txid()))
                    .filter(|known| {
                        known.input.iter().any(|input| evicted.contains(&input.previous_output.txid))
                    })
                    .map(Transaction::compute_txid)
                    .collect();
                if more.is_empty() {
                    break;
                }
                evicted.extend(more);
            }
            state.mempool.retain(|known| !evicted.contains(&known.compute_txid()));
            state.mempool.push(tx.clone());
            Ok(())
        }

        fn faucet(&self, address: &Address, amount: Amount) -> Result<(), ChainError> {
            self.state.borrow_mut().faucet.push((address.to_string(), amount));
            Ok(())
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        store: Arc<Store>,
        settings: DaSettings,
        metrics: DaMetrics,
    }

    impl Setup {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(Store::open(dir.path(), CHAIN_ID).unwrap());
            let wallet_key = dir.path().join("poster.key");
            std::fs::write(&wallet_key, "11".repeat(32)).unwrap();
            let settings = DaSettings {
                chain_id: CHAIN_ID,
                network: Network::Regtest,
                wallet_key,
                fees: FeePolicy {
                    target_blocks: 6,
                    floor: FeeRate::from_sat_per_kwu(SAT_VB),
                    ceiling: FeeRate::from_sat_per_kwu(50 * SAT_VB),
                },
                max_bytes_per_block: 1_000_000,
                bump_after_blocks: 3,
                devnet_faucet: Amount::ZERO,
            };
            let metrics = DaMetrics::register(&Registry::new());
            Self { _dir: dir, store, settings, metrics }
        }

        fn poster(&self) -> DaPoster {
            DaPoster::load(self.store.clone(), self.settings.clone(), self.metrics.clone()).unwrap()
        }

        /// Seals empty blocks `first..=last` and stores them as batch `number`.
        fn batch(&self, number: u64, first: u64, last: u64) -> BatchRecord {
            let mut record = BatchRecord {
                number,
                first_block: first,
                last_block: last,
                blocks: u32::try_from(last - first + 1).unwrap(),
                blob_bytes: 0,
                first_timestamp_ms: first,
                last_timestamp_ms: last,
            };
            self.store
                .write(|tx| {
                    for number in first..=last {
                        let header = BlockHeader { number, timestamp_ms: number, ..BlockHeader::default() };
                        tx.put::<CompactBlocks>(
                            &number,
                            &StoredCompact(CompactBlock::new(&header, Vec::new())),
                        )?;
                        tx.put::<Blocks>(&number, &Stored(Block { header, txs: Vec::new() }))?;
                    }
                    Ok(())
                })
                .unwrap();
            record.blob_bytes = u64::try_from(batch_blob(&self.store, &record).unwrap().len()).unwrap();
            self.store.write(|tx| tx.put::<Batches>(&number, &record)).unwrap();
            record
        }
    }

    fn live_txids(posting: &DaPosting) -> Vec<Txid> {
        let live = posting.live().unwrap();
        std::iter::once(&live.commit).chain(&live.reveals).map(Transaction::compute_txid).collect()
    }

    #[test]
    fn the_blob_is_the_compressed_batch_blob_and_a_missing_block_is_named() {
        let setup = Setup::new();
        let record = setup.batch(0, 1, 3);
        let posted = batch_blob(&setup.store, &record).unwrap();
        let blob = rollup_l2::BatchBlob::decode(&rollup_l2::decompress(&posted, 1 << 20).unwrap()).unwrap();
        assert_eq!((blob.number, blob.first_block, blob.l1_cursor_before), (0, 1, 0));
        assert_eq!(
            blob.blocks.iter().map(|block| (block.timestamp_ms, block.txs.len())).collect::<Vec<_>>(),
            [(1, 0), (2, 0), (3, 0)]
        );
        assert_eq!(batch_blob(&setup.store, &record).unwrap(), posted, "the same bytes every time");
        let gap = BatchRecord { last_block: 5, blocks: 5, ..record };
        let error = batch_blob(&setup.store, &gap).unwrap_err();
        assert_eq!(error.to_string(), "batch 0: block 4 is not stored");
    }

    #[test]
    fn a_batch_is_posted_located_and_settled() {
        let setup = Setup::new();
        let record = setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000), (2, 50_000)]);
        let mut poster = setup.poster();
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.posted, [0]);
        let posting = poster.posting(0).unwrap().unwrap();
        assert_eq!((posting.chunks, posting.data_bytes, posting.posted_height), (1, record.blob_bytes, 100));
        let live = posting.live().unwrap();
        assert_eq!(live.kind, AttemptKind::Initial);
        assert_eq!(live.fee_rate_sat_kwu, 2 * SAT_VB, "the 6-block estimate");
        // The largest coin funds it; the commit then its reveal went out.
        assert_eq!(live.funding[0].0, OutPoint::new(Txid::from_byte_array([1; 32]), 0));
        assert_eq!(chain.in_mempool(), live_txids(&posting));
        assert_eq!(setup.metrics.posted_bytes.get(), record.blob_bytes);
        assert_eq!(setup.metrics.pending.get(), 1);

        let block = chain.mine(0);
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.located, [0]);
        let posting = poster.posting(0).unwrap().unwrap();
        let reveal_txid = posting.live().unwrap().reveals[0].compute_txid();
        assert_eq!(
            posting.location,
            Some(vec![ChunkLocation { index: 0, reveal_txid, block_hash: block, height: 101 }])
        );
        assert_eq!(setup.metrics.fees_paid.get(), posting.live().unwrap().total_fee_sat());
        assert_eq!(setup.metrics.pending.get(), 0);
        assert!(setup.store.read(|tx| tx.get::<DaOpenPostings>(&0)).unwrap().is_some());

        // Six confirmations: settled, no longer followed.
        chain.advance(5);
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.settled, report.located), (vec![0], vec![]));
        assert_eq!(setup.store.read(|tx| tx.get::<DaOpenPostings>(&0)).unwrap(), None);
        assert_eq!(poster.step(&chain).unwrap(), StepReport::default());
    }

    #[test]
    fn a_reveal_the_mempool_cannot_hold_beside_its_commit_goes_out_once_the_commit_confirms() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000)]);
        // A mempool whose package limits hold no child beside an unconfirmed parent.
        chain.state.borrow_mut().children_per_unconfirmed_parent = Some(0);
        let mut poster = setup.poster();
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.posted, [0]);
        let live = poster.posting(0).unwrap().unwrap().live().unwrap().clone();
        let (commit, reveal) = (live.commit.compute_txid(), live.reveals[0].compute_txid());
        assert_eq!(chain.in_mempool(), [commit], "the reveal waits");
        // Another step before a block: it still waits, and nothing is an error.
        assert_eq!(poster.step(&chain).unwrap(), StepReport::default());
        assert_eq!(chain.in_mempool(), [commit]);

        // The commit confirms: the reveal goes out, then confirms too.
        chain.mine(0);
        assert_eq!(poster.step(&chain).unwrap().rebroadcast, [0]);
        assert_eq!(chain.in_mempool(), [reveal]);
        let block = chain.mine(1);
        assert_eq!(poster.step(&chain).unwrap().located, [0]);
        let location = poster.posting(0).unwrap().unwrap().location.unwrap();
        assert_eq!(
            location,
            [ChunkLocation { index: 0, reveal_txid: reveal, block_hash: block, height: 102 }]
        );
        assert_eq!(poster.posting(0).unwrap().unwrap().attempts.len(), 1, "the same transactions");
    }

    #[test]
    fn a_restart_after_the_write_rebroadcasts_the_same_transactions() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000)]);
        let mut poster = setup.poster();
        // The posting is written, then the broadcast fails (Esplora went away).
        chain.state.borrow_mut().refuse.push(Refusal::Other("connection reset".to_owned()));
        let error = poster.step(&chain).unwrap_err();
        assert!(matches!(&error, PostBatchError::Chain(ChainError::Refused { .. })), "{error}");
        let stored = poster.posting(0).unwrap().unwrap();
        assert!(chain.in_mempool().is_empty());

        // A new process: the same transactions, byte for byte, not a second posting.
        drop(poster);
        let mut poster = setup.poster();
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.rebroadcast, report.posted), (vec![0], vec![]));
        assert_eq!(poster.posting(0).unwrap().unwrap(), stored);
        assert_eq!(chain.in_mempool(), live_txids(&stored));
        // Another step finds everything in the mempool: nothing to do.
        assert_eq!(poster.step(&chain).unwrap(), StepReport::default());
    }

    #[test]
    fn the_same_batch_coins_and_rate_give_the_same_transactions_in_another_database() {
        let first = Setup::new();
        first.batch(0, 1, 4);
        let second = Setup::new();
        second.batch(0, 1, 4);
        let (chain_a, chain_b) = (FakeChain::new(&[(1, 100_000)]), FakeChain::new(&[(1, 100_000)]));
        first.poster().step(&chain_a).unwrap();
        second.poster().step(&chain_b).unwrap();
        let a = first.poster().posting(0).unwrap().unwrap();
        let b = second.poster().posting(0).unwrap().unwrap();
        assert_eq!(a.attempts, b.attempts);
        assert_eq!(chain_a.in_mempool(), chain_b.in_mempool());
    }

    #[test]
    fn a_reorg_moves_the_recorded_location_and_dropped_transactions_are_rebroadcast() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000)]);
        let mut poster = setup.poster();
        poster.step(&chain).unwrap();
        chain.mine(0);
        poster.step(&chain).unwrap();
        let posted = poster.posting(0).unwrap().unwrap();

        // The block is replaced by one holding the same transactions.
        chain.reorg_keeping(7);
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.located, [0]);
        let moved = poster.posting(0).unwrap().unwrap();
        assert_eq!(moved.location.as_ref().unwrap()[0].block_hash, block_hash(101, 7));
        assert_eq!(moved.attempts, posted.attempts);

        // The block is replaced by one without them, and the mempool lost them.
        chain.reorg_dropping();
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.unconfirmed, report.rebroadcast), (vec![0], vec![0]));
        assert_eq!(poster.posting(0).unwrap().unwrap().location, None);
        assert_eq!(chain.in_mempool(), live_txids(&posted));
        assert_eq!(setup.metrics.reposts.get(), 1);
        let block = chain.mine(9);
        assert_eq!(poster.step(&chain).unwrap().located, [0]);
        assert_eq!(poster.posting(0).unwrap().unwrap().location.unwrap()[0].block_hash, block);
    }

    #[test]
    fn a_posting_whose_coins_were_spent_elsewhere_is_posted_anew_with_fresh_coins() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000), (2, 90_000)]);
        let mut poster = setup.poster();
        poster.step(&chain).unwrap();
        let first = poster.posting(0).unwrap().unwrap();
        // After a reorg the mempool lost the posting and its coin is spent elsewhere.
        chain.state.borrow_mut().mempool.clear();
        chain.state.borrow_mut().coins.remove(0);
        chain
            .state
            .borrow_mut()
            .refuse
            .push(Refusal::InputsMissing("bad-txns-inputs-missingorspent".to_owned()));
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.reposted, [0]);
        let posting = poster.posting(0).unwrap().unwrap();
        assert_eq!(posting.attempts.len(), 2);
        let repost = posting.live().unwrap();
        assert_eq!(repost.kind, AttemptKind::Repost);
        assert_eq!(repost.funding[0].0, OutPoint::new(Txid::from_byte_array([2; 32]), 0));
        assert_ne!(repost.commit.compute_txid(), first.live().unwrap().commit.compute_txid());
        assert_eq!(chain.in_mempool(), live_txids(&posting));
    }

    #[test]
    fn a_stuck_posting_is_replaced_and_a_refused_replacement_becomes_a_child() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000), (2, 90_000)]);
        let mut poster = setup.poster();
        poster.step(&chain).unwrap();
        let first = poster.posting(0).unwrap().unwrap();
        chain.advance(2);
        assert_eq!(poster.step(&chain).unwrap(), StepReport::default(), "2 blocks: not stuck yet");
        chain.advance(1);
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.replaced, [0]);
        let posting = poster.posting(0).unwrap().unwrap();
        let (old, new) = (&posting.attempts[0], &posting.attempts[1]);
        assert_eq!(new.kind, AttemptKind::Replacement);
        assert_eq!(new.fee_rate_sat_kwu, 3 * SAT_VB, "2 sat/vB estimate, bumped by the increment");
        assert_eq!(new.funding[0], old.funding[0]);
        let min = old.total_fee_sat() + old.commit.weight().to_vbytes_ceil();
        assert!(new.commit_fee_sat >= min, "{} < {min}", new.commit_fee_sat);
        assert_eq!(new.broadcast_height, 103);
        // The old commit and reveal were evicted.
        assert_eq!(chain.in_mempool(), live_txids(&posting));
        assert_ne!(live_txids(&posting), live_txids(&first));

        // Three more blocks; this mempool refuses replacements.
        chain.advance(3);
        chain.state.borrow_mut().refuse.push(Refusal::Conflict("txn-mempool-conflict".to_owned()));
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.replaced, report.children), (vec![], vec![0]));
        let posting = poster.posting(0).unwrap().unwrap();
        assert_eq!(posting.attempts.len(), 2, "the refused replacement is not kept");
        let live = posting.live().unwrap();
        assert!(live.replacement_refused);
        let child = live.child.as_ref().unwrap();
        assert_eq!(child.fee_rate_sat_kwu, 4 * SAT_VB);
        // The child spends the commit's change and the reveal's output.
        let commit_txid = live.commit.compute_txid();
        let reveal_txid = live.reveals[0].compute_txid();
        let spent: Vec<Txid> = child.tx.input.iter().map(|input| input.previous_output.txid).collect();
        assert_eq!(spent, [commit_txid, reveal_txid]);
        let package = live.commit.weight().to_vbytes_ceil()
            + live.reveals[0].weight().to_vbytes_ceil()
            + child.tx.weight().to_vbytes_ceil();
        // At least the package at 4 sat/vB, and at least the child's own size at that
        // rate (here the replacement commit already paid for most of the package).
        let parents_fee = live.commit_fee_sat + live.reveal_fees_sat[0];
        let own = 4 * child.tx.weight().to_vbytes_ceil();
        assert_eq!(child.fee_sat, (4 * package).saturating_sub(parents_fee).max(own));
        assert!(live.total_fee_sat() >= 4 * package);
        assert_eq!(chain.in_mempool().last(), Some(&child.tx.compute_txid()));
        assert_eq!(setup.metrics.bumps.get(), 2);

        // Three more blocks: a second child is refused, the first one stays.
        chain.advance(3);
        chain.state.borrow_mut().refuse.push(Refusal::Conflict("txn-mempool-conflict".to_owned()));
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.children, Vec::<u64>::new());
        let after = poster.posting(0).unwrap().unwrap();
        assert_eq!(after.live().unwrap().child, live.child);
        assert_eq!(after.live().unwrap().broadcast_height, 109, "tried again 3 blocks later");

        // Mined: located, and the child is not posted again.
        chain.mine(0);
        assert_eq!(poster.step(&chain).unwrap().located, [0]);
    }

    #[test]
    fn the_byte_budget_holds_later_batches_for_the_next_block() {
        let mut setup = Setup::new();
        let first = setup.batch(0, 1, 2);
        setup.batch(1, 3, 4);
        setup.batch(2, 5, 6);
        // Room for two batches per block.
        setup.settings.max_bytes_per_block = first.blob_bytes * 2;
        let chain = FakeChain::new(&[(1, 100_000), (2, 100_000), (3, 100_000)]);
        let mut poster = setup.poster();
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.posted, report.waiting), (vec![0, 1], vec![2]));
        // Same block: still no room.
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.posted, report.waiting), (vec![], vec![2]));
        chain.mine(0);
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.posted, report.located), (vec![2], vec![0, 1]));
        // Each posting spent its own coin.
        let coins: BTreeSet<OutPoint> = (0..3)
            .map(|batch| poster.posting(batch).unwrap().unwrap().live().unwrap().funding[0].0)
            .collect();
        assert_eq!(coins.len(), 3);
    }

    #[test]
    fn an_empty_wallet_waits_and_asks_the_devnet_faucet_once() {
        let mut setup = Setup::new();
        setup.batch(0, 1, 2);
        setup.settings.devnet_faucet = Amount::from_sat(1_000_000);
        let chain = FakeChain::new(&[]);
        let mut poster = setup.poster();
        let report = poster.step(&chain).unwrap();
        assert_eq!((report.posted, report.waiting), (vec![], vec![0]));
        poster.step(&chain).unwrap();
        let asked = chain.state.borrow().faucet.clone();
        assert_eq!(asked, [(poster.address().to_string(), Amount::from_sat(1_000_000))]);
        assert_eq!(poster.posting(0).unwrap(), None);
        // Unconfirmed coins are not spent.
        chain.state.borrow_mut().coins.push(ChainUtxo {
            outpoint: OutPoint::new(Txid::from_byte_array([5; 32]), 1),
            value: Amount::from_sat(1_000_000),
            confirmed: false,
        });
        assert_eq!(poster.step(&chain).unwrap().waiting, [0]);
        chain.state.borrow_mut().coins[0].confirmed = true;
        assert_eq!(poster.step(&chain).unwrap().posted, [0]);
    }

    #[test]
    fn bad_answers_from_esplora_are_errors_and_change_nothing() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000)]);
        let mut poster = setup.poster();
        // Fee estimates without the target.
        chain.state.borrow_mut().estimates = HashMap::from([(144, 1.0)]);
        let error = poster.step(&chain).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no fee estimate for a target of 6 blocks or less (targets answered: [144])"
        );
        assert_eq!(poster.posting(0).unwrap(), None);
        // A fee estimate that is not a number.
        chain.state.borrow_mut().estimates = HashMap::from([(6, f64::NAN)]);
        assert!(matches!(
            poster.step(&chain).unwrap_err(),
            PostBatchError::FeeEstimate(FeeEstimateError::InvalidEstimate { target: 6, .. })
        ));
        chain.state.borrow_mut().estimates = HashMap::from([(6, 2.0)]);
        poster.step(&chain).unwrap();
        // Broken estimates do not stop the poster from recording where the batch was
        // mined; the error is still reported.
        chain.mine(0);
        chain.state.borrow_mut().estimates = HashMap::from([(6, -3.0)]);
        assert!(matches!(poster.step(&chain).unwrap_err(), PostBatchError::FeeEstimate(_)));
        let located = poster.posting(0).unwrap().unwrap();
        assert_eq!(located.location.as_ref().map(Vec::len), Some(1));
        chain.state.borrow_mut().estimates = HashMap::from([(6, 2.0)]);
        chain.reorg_dropping();
        poster.step(&chain).unwrap();
        let posted = poster.posting(0).unwrap().unwrap();
        assert_eq!(posted.location, None);
        // A status that says confirmed without a block.
        chain.state.borrow_mut().malformed_status = true;
        let error = poster.step(&chain).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "esplora answered the status of {} with nonsense: confirmed without a block hash and height",
                posted.live().unwrap().reveals[0].compute_txid()
            )
        );
        assert_eq!(poster.posting(0).unwrap().unwrap(), posted);
        // Esplora down.
        chain.state.borrow_mut().malformed_status = false;
        chain.state.borrow_mut().fail_requests = true;
        assert_eq!(poster.step(&chain).unwrap_err().to_string(), "esplora the tip hash: down");
        assert_eq!(poster.posting(0).unwrap().unwrap(), posted);
        // A refusal this poster does not know how to handle is reported with its reason.
        chain.state.borrow_mut().fail_requests = false;
        chain.state.borrow_mut().mempool.clear();
        chain.state.borrow_mut().refuse.push(Refusal::Other("scriptpubkey".to_owned()));
        let error = poster.step(&chain).unwrap_err();
        assert!(
            matches!(&error, PostBatchError::Chain(ChainError::Refused { refusal: Refusal::Other(reason), .. }) if reason == "scriptpubkey"),
            "{error}"
        );
        assert_eq!(poster.posting(0).unwrap().unwrap(), posted);
        // Commit and reveal, then both again after the reorg; the refused one is not
        // counted.
        assert_eq!(chain.broadcasts().len(), 4);
    }

    /// An HTTP server answering every request with `answer(method, path)`:
    /// `(status, body)`. Returns its base URL.
    fn fake_esplora(answer: impl Fn(&str, &str) -> (u16, Vec<u8>) + Send + 'static) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap();
                        }
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let mut words = request.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let (status, body) = answer(method, path);
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        url
    }

    #[test]
    fn a_transaction_esplora_still_serves_from_a_stale_block_is_not_taken_for_a_mempool_one() {
        let spend = |vout: u32| Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![bitcoin::TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([9; 32]), vout),
                ..Default::default()
            }],
            output: vec![TxOut { value: Amount::from_sat(1), script_pubkey: ScriptBuf::new() }],
        };
        let (pending, stale) = (spend(0), spend(1));
        let (pending_id, stale_id) = (pending.compute_txid(), stale.compute_txid());
        let parent = Txid::from_byte_array([9; 32]);
        let url = fake_esplora(move |_, path| {
            if path.ends_with("/status") {
                return (200, br#"{"confirmed":false}"#.to_vec());
            }
            if path == format!("/tx/{pending_id}/raw") {
                return (200, bitcoin::consensus::serialize(&pending));
            }
            if path == format!("/tx/{stale_id}/raw") {
                return (200, bitcoin::consensus::serialize(&stale));
            }
            if path == format!("/tx/{parent}/outspend/0") {
                let status = format!(
                    r#"{{"spent":true,"txid":"{pending_id}","vin":0,"status":{{"confirmed":false}}}}"#
                );
                return (200, status.into_bytes());
            }
            if path == format!("/tx/{parent}/outspend/1") {
                return (200, br#"{"spent":false}"#.to_vec());
            }
            (404, b"not found".to_vec())
        });
        let chain = EsploraChain::new(&url);
        assert_eq!(chain.tx_state(&pending_id).unwrap(), TxState::Mempool);
        // Served (electrs keeps the transactions of blocks a reorg took away), but
        // nothing in the mempool spends its input: not in the mempool.
        assert_eq!(chain.tx_state(&stale_id).unwrap(), TxState::Unknown);
    }

    #[test]
    fn esplora_answers_that_make_no_sense_are_named() {
        let known = Txid::from_byte_array([1; 32]);
        let unknown = Txid::from_byte_array([2; 32]);
        let pending = Txid::from_byte_array([3; 32]);
        let other = Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: Vec::new(),
            output: vec![TxOut { value: Amount::from_sat(1), script_pubkey: ScriptBuf::new() }],
        };
        let other_txid = other.compute_txid();
        let other_bytes = bitcoin::consensus::serialize(&other);
        let url = fake_esplora(move |method, path| {
            let status = |txid: Txid| format!("/tx/{txid}/status");
            let raw = |txid: Txid| format!("/tx/{txid}/raw");
            match (method, path) {
                ("GET", "/fee-estimates") => (200, b"not json".to_vec()),
                ("GET", path) if path == status(known) => (200, br#"{"confirmed":true}"#.to_vec()),
                ("GET", path) if path == status(unknown) => (404, b"Transaction not found".to_vec()),
                ("GET", path) if path == status(pending) => (200, br#"{"confirmed":false}"#.to_vec()),
                ("GET", path) if path == raw(pending) => (200, other_bytes.clone()),
                ("GET", path) if path.ends_with("/utxo") => (
                    200,
                    format!(r#"[{{"txid":"{known}","vout":0,"value":5,"status":{{"confirmed":true}}}}]"#)
                        .into_bytes(),
                ),
                ("POST", "/tx") => (
                    400,
                    br#"sendrawtransaction RPC error: {"code":-26,"message":"txn-mempool-conflict"}"#
                        .to_vec(),
                ),
                _ => (404, b"not found".to_vec()),
            }
        });
        let chain = EsploraChain::new(&url);
        let error = chain.fee_estimates().unwrap_err();
        assert!(matches!(&error, ChainError::Request { what, .. } if what == "the fee estimates"), "{error}");
        assert_eq!(
            chain.tx_state(&known),
            Err(ChainError::Malformed {
                what: format!("the status of {known}"),
                problem: "confirmed without a block hash and height".to_owned(),
            })
        );
        assert_eq!(chain.tx_state(&unknown), Ok(TxState::Unknown));
        assert_eq!(
            chain.tx_state(&pending),
            Err(ChainError::Malformed {
                what: format!("transaction {pending}"),
                problem: format!("the transaction returned is {other_txid}"),
            })
        );
        assert_eq!(
            chain.utxos(&ScriptBuf::new()),
            Err(ChainError::Malformed {
                what: "the wallet's coins".to_owned(),
                problem: format!("coin {known}:0 is confirmed at no height"),
            })
        );
        assert_eq!(
            chain.broadcast(&other),
            Err(ChainError::Refused {
                txid: other_txid,
                refusal: Refusal::Conflict(
                    r#"sendrawtransaction RPC error: {"code":-26,"message":"txn-mempool-conflict"}"#
                        .to_owned()
                ),
            })
        );
    }

    #[test]
    fn a_posting_that_cannot_be_followed_does_not_hold_up_the_next_batch() {
        let setup = Setup::new();
        setup.batch(0, 1, 2);
        let chain = FakeChain::new(&[(1, 100_000), (2, 100_000)]);
        let mut poster = setup.poster();
        assert_eq!(poster.step(&chain).unwrap().posted, [0]);
        chain.mine(0);
        chain.reorg_dropping();
        chain.state.borrow_mut().refuse.push(Refusal::Other("non-mandatory-script-verify-flag".to_owned()));
        setup.batch(1, 3, 4);
        let error = poster.step(&chain).unwrap_err();
        assert!(
            matches!(&error, PostBatchError::Chain(ChainError::Refused { refusal: Refusal::Other(reason), .. }) if reason == "non-mandatory-script-verify-flag"),
            "{error}"
        );
        // Batch 1 went out all the same; batch 0 is retried at the next poll.
        let second = poster.posting(1).unwrap().unwrap();
        assert_eq!(chain.in_mempool(), live_txids(&second));
        let report = poster.step(&chain).unwrap();
        assert_eq!(report.rebroadcast, [0]);
        assert_eq!(setup.metrics.pending.get(), 2);
    }

    #[test]
    fn reject_reasons_are_classified_as_core_words_them() {
        assert_eq!(Refusal::from_reason("txn-already-in-mempool"), Refusal::AlreadyKnown);
        assert_eq!(Refusal::from_reason("Transaction already in block chain"), Refusal::AlreadyKnown);
        assert_eq!(
            Refusal::from_reason("bad-txns-inputs-missingorspent"),
            Refusal::InputsMissing("bad-txns-inputs-missingorspent".to_owned())
        );
        assert_eq!(
            Refusal::from_reason("insufficient fee, rejecting replacement abc"),
            Refusal::Conflict("insufficient fee, rejecting replacement abc".to_owned())
        );
        assert_eq!(
            Refusal::from_reason("txn-mempool-conflict"),
            Refusal::Conflict("txn-mempool-conflict".to_owned())
        );
        assert_eq!(Refusal::from_reason("Transaction outputs already in utxo set"), Refusal::AlreadyKnown);
        assert_eq!(
            Refusal::from_reason(
                "replacement-failed, insufficient feerate: does not improve feerate diagram"
            ),
            Refusal::Conflict(
                "replacement-failed, insufficient feerate: does not improve feerate diagram".to_owned()
            )
        );
        assert_eq!(
            Refusal::from_reason("too-large-cluster"),
            Refusal::PackageLimit("too-large-cluster".to_owned())
        );
        assert_eq!(
            Refusal::from_reason("too-long-mempool-chain, exceeds descendant size limit"),
            Refusal::PackageLimit("too-long-mempool-chain, exceeds descendant size limit".to_owned())
        );
        assert_eq!(Refusal::from_reason("dust"), Refusal::Other("dust".to_owned()));
    }

    #[test]
    fn the_wallet_key_is_created_once_and_a_bad_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("poster.key");
        let created = load_or_create_key(&path).unwrap();
        assert_eq!(load_or_create_key(&path).unwrap(), created);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert_eq!(
            load_or_create_key(&path).unwrap_err().to_string(),
            format!("DA poster wallet key {}: not hex", path.display())
        );
        std::fs::write(&path, "00".repeat(31)).unwrap();
        assert_eq!(
            load_or_create_key(&path).unwrap_err().to_string(),
            format!(
                "DA poster wallet key {}: 31 bytes, expected a 32-byte secret key in hex",
                path.display()
            )
        );
    }
}
