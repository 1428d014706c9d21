//! The vigilante component: follows final Bitcoin blocks through Esplora and replays
//! the batches posted there.

use std::collections::VecDeque;
use std::time::Duration;

use bitcoin::{Block, XOnlyPublicKey};
use esplora_client::BlockingClient;
use prometheus::{IntCounter, IntGauge, Registry};
use rollup_actors::{Component, ComponentError};
use rollup_l1::chain::{fetch_block, scan_block, BlockRef, ChainError, LightClient};
use rollup_l1::da::{decode_transaction, EnvelopeKind};
use rollup_l2::{AccountTree, Genesis, L1Rules, MemoryAccounts, MemoryTreeStore, State};
use serde::Serialize;

use crate::da::{DaReplay, ReplayedBatch};

/// Most new Bitcoin headers followed per tick, so that a long catch-up still answers
/// requests.
const HEADERS_PER_TICK: u32 = 16;

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
    /// No poster key is expected: the controller beside this vigilante does not post
    /// (`controller.da.enabled = false`, as on `rollup devnet`), so an empty
    /// `posters` is the configuration, not a mistake, and is logged at info level.
    pub no_posters_expected: bool,
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

type ReplayState = DaReplay<MemoryAccounts, MemoryTreeStore>;

/// The vigilante component.
pub struct VigilanteComponent {
    settings: VigilanteSettings,
    chain_id: u64,
    rules: L1Rules,
    /// The Bitcoin header chain, followed to finality.
    light: LightClient,
    /// Final blocks not read yet, lowest first (kept across a failed read).
    pending: VecDeque<BlockRef>,
    esplora: BlockingClient,
    replay: ReplayState,
    /// The last final block read.
    last: Option<BlockRef>,
    batches: Vec<SyncedBatch>,
    last_error: Option<String>,
    metrics: VigilanteMetrics,
    record: crate::RoleRecord,
}

impl std::fmt::Debug for VigilanteComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VigilanteComponent")
            .field("l1_height", &self.last.map(|block| block.height))
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
        match (settings.posters.is_empty(), settings.no_posters_expected) {
            (false, _) => {}
            (true, true) => tracing::info!(
                target: "rollup::vigilante",
                "the controller beside this vigilante does not post to Bitcoin (controller.da.enabled = false) \
                 and vigilante.da_posters is empty: no batch will be replayed from Bitcoin"
            ),
            (true, false) => tracing::warn!(
                target: "rollup::vigilante",
                "no DA poster key (vigilante.da_posters): no batch will be replayed from Bitcoin"
            ),
        }
        let esplora = esplora_client::Builder::new(&settings.esplora_url).timeout(10).build_blocking();
        let light = LightClient::new(genesis.l1.start_height, genesis.l1.finality_depth)
            .with_max_headers_per_sync(HEADERS_PER_TICK);
        Self {
            light,
            pending: VecDeque::new(),
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
            l1_height: self.last.map(|block| block.height),
            batches: self.batches.clone(),
            last_error: self.last_error.clone(),
        }
    }

    /// Follows the Bitcoin headers (at most [`HEADERS_PER_TICK`] new ones), then reads
    /// the blocks that became final, each checked against its header, and replays what
    /// they complete.
    fn follow(&mut self) -> Result<(), ChainError> {
        let update = self.light.sync(&self.esplora)?;
        self.pending.extend(update.finalized);
        while let Some(block) = self.pending.front().copied() {
            let full = fetch_block(&self.esplora, block.height, &block.hash)?;
            self.read_block(&full, block);
            self.last = Some(block);
            self.metrics.l1_height.set(i64::from(block.height));
            self.pending.pop_front();
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

    /// A source that fails or serves bad data is logged and retried on the next tick;
    /// a reorganisation replacing a final block fails the role, whose restart rescans
    /// from the start.
    fn tick(&mut self) -> Result<(), ComponentError> {
        match self.follow() {
            Ok(()) => Ok(()),
            Err(error @ ChainError::FinalityViolated { .. }) => Err(Box::new(error)),
            Err(error) => {
                tracing::warn!(target: "rollup::vigilante", %error, "cannot read Bitcoin; retrying");
                Ok(())
            }
        }
    }
}
