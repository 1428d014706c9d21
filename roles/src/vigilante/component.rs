//! The vigilante component: follows final Bitcoin blocks through Esplora and replays
//! the batches posted there.

use std::time::Duration;

use bitcoin::{Block, BlockHash, XOnlyPublicKey};
use esplora_client::BlockingClient;
use prometheus::{IntCounter, IntGauge, Registry};
use rollup_actors::{Component, ComponentError};
use rollup_l1::chain::{scan_block, BlockRef};
use rollup_l1::da::{decode_transaction, EnvelopeKind};
use rollup_l2::{AccountTree, Genesis, L1Rules, MemoryAccounts, MemoryTreeStore, State};
use serde::Serialize;

use crate::da::{DaReplay, ReplayedBatch};

/// Most Bitcoin blocks read per tick, so that a long catch-up still answers requests.
const BLOCKS_PER_TICK: u32 = 16;

/// What the vigilante needs to follow Bitcoin (the rest comes from the genesis `l1`
/// rules: first height, finality depth, bridge script).
#[derive(Clone, Debug)]
pub struct VigilanteSettings {
    /// The Esplora API.
    pub esplora_url: String,
    /// Keys whose batch chunks count (the operators' DA posting keys).
    pub posters: Vec<XOnlyPublicKey>,
    /// How often to poll Esplora.
    pub poll: Duration,
}

/// The vigilante's metrics.
#[derive(Clone, Debug)]
pub struct VigilanteMetrics {
    /// `rollup_da_sync_next_batch`: the next batch to replay.
    pub next_batch: IntGauge,
    /// `rollup_da_sync_l1_height`: the last final Bitcoin height scanned.
    pub l1_height: IntGauge,
    /// `rollup_da_sync_failures_total`: posted batches that did not replay.
    pub failures: IntCounter,
}

impl VigilanteMetrics {
    /// Registers the metrics (a restarted role keeps the first registration).
    pub fn register(registry: &Registry) -> Self {
        let next_batch = IntGauge::new("rollup_da_sync_next_batch", "Next batch to replay from Bitcoin.");
        let l1_height = IntGauge::new("rollup_da_sync_l1_height", "Last final Bitcoin height scanned.");
        let failures =
            IntCounter::new("rollup_da_sync_failures_total", "Posted batches that did not replay.");
        // The names and options are constants: constructing them cannot fail.
        let (Ok(next_batch), Ok(l1_height), Ok(failures)) = (next_batch, l1_height, failures) else {
            unreachable!("constant metric definitions are valid")
        };
        for metric in [
            Box::new(next_batch.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(l1_height.clone()),
            Box::new(failures.clone()),
        ] {
            let _ = registry.register(metric);
        }
        Self { next_batch, l1_height, failures }
    }
}

/// A batch replayed from Bitcoin, as the status reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncedBatch {
    /// The batch number.
    pub number: u64,
    /// SHA-256 of its blob, hex.
    pub da_commitment: String,
    /// Its first block.
    pub first_block: u64,
    /// Its last block.
    pub last_block: u64,
}

/// The chain as rebuilt from Bitcoin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DaSyncStatus {
    /// The next batch to replay.
    pub next_batch: u64,
    /// The last replayed block.
    pub head_number: u64,
    /// Its header hash.
    pub head_hash: String,
    /// The state root after it.
    pub state_root: String,
    /// The last final Bitcoin height scanned (`None` before the first).
    pub l1_height: Option<u32>,
    /// Every batch replayed, in order.
    pub batches: Vec<SyncedBatch>,
    /// The last posted batch that did not replay, and why.
    pub last_error: Option<String>,
}

/// Why the vigilante stopped.
#[derive(Debug, thiserror::Error)]
pub enum VigilanteError {
    /// Esplora failed or answered something unusable.
    #[error("esplora: {0}")]
    Esplora(String),
    /// A block already read as final was replaced: a reorganisation deeper than the
    /// finality depth.
    #[error("the final block at height {height} changed from {was} to {now}: a reorganisation deeper than the finality depth ({depth}); restarting the scan")]
    DeepReorg {
        /// The height.
        height: u32,
        /// The hash read before.
        was: BlockHash,
        /// The hash now.
        now: BlockHash,
        /// The configured depth.
        depth: u32,
    },
}

type ReplayState = DaReplay<MemoryAccounts, MemoryTreeStore>;

/// The vigilante component.
pub struct VigilanteComponent {
    settings: VigilanteSettings,
    chain_id: u64,
    rules: L1Rules,
    esplora: BlockingClient,
    replay: ReplayState,
    /// The next Bitcoin height to read.
    next_height: u32,
    /// The last block read: its height and hash.
    last: Option<(u32, BlockHash)>,
    batches: Vec<SyncedBatch>,
    last_error: Option<String>,
    metrics: VigilanteMetrics,
    record: crate::RoleRecord,
}

impl std::fmt::Debug for VigilanteComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VigilanteComponent")
            .field("next_height", &self.next_height)
            .field("next_batch", &self.replay.rebuilder().next_batch())
            .finish_non_exhaustive()
    }
}

impl VigilanteComponent {
    /// A vigilante at the genesis, scanning from `settings.start_height`.
    pub fn new(
        genesis: &Genesis,
        settings: VigilanteSettings,
        metrics: VigilanteMetrics,
        record: crate::RoleRecord,
    ) -> Self {
        let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
        genesis.initialize(&mut state);
        // A blob never exceeds the batch's byte rule (packed forms are smaller than
        // the full encodings the rule counts) plus its small header.
        let max_blob =
            usize::try_from(genesis.batch.max_blob_bytes).unwrap_or(usize::MAX).saturating_add(4096);
        let replay = DaReplay::new(genesis.params(), state, settings.posters.clone(), max_blob);
        if settings.posters.is_empty() {
            tracing::warn!(
                target: "rollup::vigilante",
                "no DA poster key (vigilante.da_posters): no batch will be replayed from Bitcoin"
            );
        }
        let esplora = esplora_client::Builder::new(&settings.esplora_url).timeout(10).build_blocking();
        Self {
            next_height: genesis.l1.start_height,
            settings,
            chain_id: genesis.chain_id,
            rules: genesis.l1.clone(),
            esplora,
            replay,
            last: None,
            batches: Vec::new(),
            last_error: None,
            metrics,
            record,
        }
    }

    /// The chain as rebuilt so far.
    pub fn status(&self) -> DaSyncStatus {
        let rebuilder = self.replay.rebuilder();
        DaSyncStatus {
            next_batch: rebuilder.next_batch(),
            head_number: rebuilder.head().number,
            head_hash: rebuilder.head().hash().to_string(),
            state_root: rebuilder.state().root().to_string(),
            l1_height: self.last.map(|(height, _)| height),
            batches: self.batches.clone(),
            last_error: self.last_error.clone(),
        }
    }

    /// Reads the final blocks not read yet (at most [`BLOCKS_PER_TICK`]) and replays
    /// what they complete.
    fn follow(&mut self) -> Result<(), VigilanteError> {
        let esplora = |error: esplora_client::Error| VigilanteError::Esplora(error.to_string());
        let tip = self.esplora.get_height().map_err(esplora)?;
        let depth = self.rules.finality_depth.max(1);
        let Some(final_tip) = tip.checked_add(1).and_then(|next| next.checked_sub(depth)) else {
            return Ok(());
        };
        if let Some((height, hash)) = self.last {
            let now = self.esplora.get_block_hash(height).map_err(esplora)?;
            if now != hash {
                return Err(VigilanteError::DeepReorg { height, was: hash, now, depth });
            }
        }
        let mut read = 0;
        while self.next_height <= final_tip && read < BLOCKS_PER_TICK {
            let height = self.next_height;
            let hash = self.esplora.get_block_hash(height).map_err(esplora)?;
            let block = self.esplora.get_block_by_hash(&hash).map_err(esplora)?.ok_or_else(|| {
                VigilanteError::Esplora(format!("block {hash} at height {height} is not served"))
            })?;
            if block.block_hash() != hash {
                return Err(VigilanteError::Esplora(format!(
                    "asked for block {hash}, got {}",
                    block.block_hash()
                )));
            }
            if let Some((_, previous)) = self.last {
                if block.header.prev_blockhash != previous {
                    return Err(VigilanteError::DeepReorg {
                        height,
                        was: previous,
                        now: block.header.prev_blockhash,
                        depth,
                    });
                }
            }
            self.read_block(&block, BlockRef { height, hash });
            self.last = Some((height, hash));
            self.next_height = height.saturating_add(1);
            self.metrics.l1_height.set(i64::from(height));
            read += 1;
        }
        Ok(())
    }

    fn read_block(&mut self, block: &Block, at: BlockRef) {
        for message in scan_block(block, at, self.chain_id, &self.rules.bridge_script) {
            self.replay.push_message(message.tx);
        }
        for tx in &block.txdata {
            for input in decode_transaction(tx, self.chain_id) {
                match input.result {
                    Ok(revealed) => {
                        if matches!(revealed.envelope.kind(), EnvelopeKind::BatchChunk { .. }) {
                            self.replay.push_chunk(revealed.envelope, &revealed.poster);
                        }
                    }
                    Err(error) => tracing::warn!(
                        target: "rollup::vigilante",
                        txid = %tx.compute_txid(),
                        input = input.input,
                        %error,
                        "malformed envelope skipped"
                    ),
                }
            }
        }
        for outcome in self.replay.step() {
            match outcome {
                Ok(ReplayedBatch { number, da_commitment, headers }) => {
                    let (first_block, last_block) = match (headers.first(), headers.last()) {
                        (Some(first), Some(last)) => (first.number, last.number),
                        _ => (0, 0),
                    };
                    self.batches.push(SyncedBatch {
                        number,
                        da_commitment: rollup_l2::hex::encode(&da_commitment),
                        first_block,
                        last_block,
                    });
                    self.metrics.next_batch.set(i64::try_from(number.saturating_add(1)).unwrap_or(i64::MAX));
                }
                Err(error) => {
                    tracing::warn!(target: "rollup::vigilante", %error, "a posted batch does not replay");
                    self.metrics.failures.inc();
                    self.last_error = Some(error.to_string());
                }
            }
        }
    }
}

impl rollup_actors::Handles<crate::DescribeRole> for VigilanteComponent {
    fn handle(&mut self, _: crate::DescribeRole) -> (rollup_config::Role, crate::RoleRecord) {
        (rollup_config::Role::Vigilante, self.record)
    }
}

impl Component for VigilanteComponent {
    fn tick_interval(&self) -> Option<Duration> {
        Some(self.settings.poll)
    }

    /// Esplora being unreachable is logged and retried on the next tick; a deep
    /// reorganisation fails the role, whose restart rescans from the start.
    fn tick(&mut self) -> Result<(), ComponentError> {
        match self.follow() {
            Ok(()) => Ok(()),
            Err(VigilanteError::Esplora(error)) => {
                tracing::warn!(target: "rollup::vigilante", %error, "cannot read Bitcoin; retrying");
                Ok(())
            }
            Err(error) => Err(Box::new(error)),
        }
    }
}
