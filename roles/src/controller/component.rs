//! The controller component: cuts sealed blocks into batches and stores them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntGauge, Registry};
use rollup_actors::{Component, ComponentError};
use rollup_l2::{BatchCutter, BatchRules, BatchSpan, CutError, Genesis};
use rollup_storage::{StorageError, Store};

use super::poster::{DaChain, DaPoster, LoadPosterError, PostBatchError, StepReport};
use super::tables::{BatchRecord, Batches, DaPosting, DaPostings};
use crate::sequencer::{Blocks, Stored};

/// How often the controller looks for newly sealed blocks.
const TICK: Duration = Duration::from_millis(200);
/// Blocks read from the database per read transaction.
const READ_CHUNK: usize = 256;

/// Why the controller cannot load, or stopped cutting.
#[derive(Debug, thiserror::Error)]
pub enum LoadControllerError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The stored batches or blocks cannot be cut further (a gap in the sealed blocks,
    /// or a number that overflows).
    #[error("cannot cut batches: {0}")]
    Cut(#[from] CutError),
    /// The DA poster cannot load (its wallet key).
    #[error(transparent)]
    Poster(#[from] LoadPosterError),
}

/// The controller's metrics.
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    /// `rollup_batches_total`: closed batches committed by this process.
    pub batches: IntCounter,
    /// `rollup_controller_next_batch`: the number of the open (or next) batch, which is
    /// also the number of closed batches.
    pub next_batch: IntGauge,
    /// `rollup_open_batch_blocks`: blocks in the open batch.
    pub open_blocks: IntGauge,
}

impl ControllerMetrics {
    /// Registers the metrics (or reuses them when a restarted role registers again).
    pub fn register(registry: &Registry) -> Self {
        let batches = IntCounter::new("rollup_batches_total", "Closed batches committed.");
        let next_batch =
            IntGauge::new("rollup_controller_next_batch", "The number of the open or next batch.");
        let open_blocks = IntGauge::new("rollup_open_batch_blocks", "Blocks in the open batch.");
        // The names and options are constants: constructing them cannot fail.
        let (Ok(batches), Ok(next_batch), Ok(open_blocks)) = (batches, next_batch, open_blocks) else {
            unreachable!("constant metric definitions are valid")
        };
        for metric in [
            Box::new(batches.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(next_batch.clone()),
            Box::new(open_blocks.clone()),
        ] {
            // Registering twice (a restarted role) keeps the first registration.
            let _ = registry.register(metric);
        }
        Self { batches, next_batch, open_blocks }
    }
}

/// The controller role: cuts the node's sealed blocks into batches.
pub struct ControllerComponent {
    store: Arc<Store>,
    cutter: BatchCutter,
    metrics: ControllerMetrics,
    record: crate::RoleRecord,
    da: Option<DaRuntime>,
}

/// The DA poster with the chain it posts to and its poll schedule.
struct DaRuntime {
    poster: DaPoster,
    chain: Box<dyn DaChain + Send>,
    interval: Duration,
    last_poll: Option<Instant>,
}

impl std::fmt::Debug for ControllerComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerComponent")
            .field("next_batch", &self.cutter.next_batch())
            .field("next_block", &self.cutter.next_block())
            .finish_non_exhaustive()
    }
}

impl ControllerComponent {
    /// Loads the controller: resumes after the last stored batch and re-feeds the open
    /// batch's blocks (and cuts any batch they close) from the `l2_blocks` table.
    pub fn load(
        store: Arc<Store>,
        genesis: &Genesis,
        metrics: ControllerMetrics,
        record: crate::RoleRecord,
    ) -> Result<Self, LoadControllerError> {
        let cutter = resume(&store, genesis.batch)?;
        let mut controller = Self { store, cutter, metrics, record, da: None };
        controller.cut()?;
        tracing::info!(
            target: "rollup::controller",
            next_batch = controller.cutter.next_batch(),
            next_block = controller.cutter.next_block(),
            open_blocks = controller.cutter.open().map_or(0, |open| open.blocks),
            "controller loaded"
        );
        Ok(controller)
    }

    /// Feeds every block sealed since the last call and commits the batches they
    /// closed in one write transaction; returns them.
    pub fn cut(&mut self) -> Result<Vec<BatchRecord>, LoadControllerError> {
        let closed = feed_stored_blocks(&self.store, &mut self.cutter)?;
        let records: Vec<BatchRecord> = closed.into_iter().map(BatchRecord::from).collect();
        if !records.is_empty() {
            self.store.write(|tx| {
                for record in &records {
                    tx.put::<Batches>(&record.number, record)?;
                }
                Ok(())
            })?;
            for record in &records {
                tracing::info!(
                    target: "rollup::controller",
                    batch = record.number,
                    first_block = record.first_block,
                    last_block = record.last_block,
                    blob_bytes = record.blob_bytes,
                    "batch closed"
                );
            }
            self.metrics.batches.inc_by(u64::try_from(records.len()).unwrap_or(u64::MAX));
        }
        self.metrics.next_batch.set(i64::try_from(self.cutter.next_batch()).unwrap_or(i64::MAX));
        self.metrics.open_blocks.set(self.cutter.open().map_or(0, |open| i64::from(open.blocks)));
        Ok(records)
    }

    /// Turns on DA posting: every `interval`, the tick runs one [`DaPoster::step`]
    /// against `chain`.
    pub fn set_poster(&mut self, poster: DaPoster, chain: Box<dyn DaChain + Send>, interval: Duration) {
        self.da = Some(DaRuntime { poster, chain, interval, last_poll: None });
    }

    /// The DA poster, when posting is on.
    pub fn poster(&self) -> Option<&DaPoster> {
        self.da.as_ref().map(|da| &da.poster)
    }

    /// Runs a DA poster step if posting is on and the poll interval has passed. An
    /// Esplora failure is logged and retried at the next poll; a database failure is
    /// returned (the role restarts and reloads).
    pub fn post(&mut self) -> Result<Option<StepReport>, StorageError> {
        let Some(da) = &mut self.da else { return Ok(None) };
        if da.last_poll.is_some_and(|at| at.elapsed() < da.interval) {
            return Ok(None);
        }
        da.last_poll = Some(Instant::now());
        match da.poster.step(da.chain.as_ref()) {
            Ok(report) => Ok(Some(report)),
            Err(PostBatchError::Storage(error)) => Err(error),
            Err(error) => {
                tracing::warn!(target: "rollup::da", %error, "DA poster step failed; retrying at the next poll");
                Ok(None)
            }
        }
    }

    /// Where batch `number`'s data is posted; `None` while it is not.
    pub fn batch_da(&self, number: u64) -> Result<Option<DaPosting>, StorageError> {
        self.store.read(|tx| tx.get::<DaPostings>(&number))
    }

    /// `da_commitment` of the closed batch `number` (SHA-256 of its blob), `None`
    /// while it is not closed.
    pub fn da_commitment(&self, number: u64) -> Result<Option<[u8; 32]>, crate::da::BatchBlobError> {
        let Some(record) = self.batch(number)? else { return Ok(None) };
        Ok(Some(crate::da::batch_blob(&self.store, &record)?.da_commitment()))
    }

    /// The open batch, if it holds any block.
    pub fn open(&self) -> Option<&BatchSpan> {
        self.cutter.open()
    }

    /// The stored batch `number`; `None` while it is not closed.
    pub fn batch(&self, number: u64) -> Result<Option<BatchRecord>, StorageError> {
        self.store.read(|tx| tx.get::<Batches>(&number))
    }

    /// The number of closed batches.
    pub fn batch_count(&self) -> Result<u64, StorageError> {
        batch_count(&self.store)
    }
}

/// The number of closed batches in `store` (batches are numbered from 0 without gaps).
fn batch_count(store: &Store) -> Result<u64, StorageError> {
    Ok(store.read(|tx| tx.last::<Batches>())?.map_or(0, |(number, _)| number.saturating_add(1)))
}

/// A cutter resumed after the last batch stored in `store` (blocks not fed yet).
pub(crate) fn resume(store: &Store, rules: BatchRules) -> Result<BatchCutter, LoadControllerError> {
    let last = store.read(|tx| tx.last::<Batches>())?;
    Ok(BatchCutter::after(rules, last.map(|(_, record)| BatchSpan::from(record)).as_ref())?)
}

/// Feeds `cutter` every stored block from its next block on; returns the batches
/// closed.
pub(crate) fn feed_stored_blocks(
    store: &Store,
    cutter: &mut BatchCutter,
) -> Result<Vec<BatchSpan>, LoadControllerError> {
    let mut closed = Vec::new();
    loop {
        let from = cutter.next_block();
        let blocks = store.read(|tx| tx.range::<Blocks>(from.., READ_CHUNK))?;
        let count = blocks.len();
        for (_, Stored(block)) in &blocks {
            closed.extend(cutter.push(block)?);
        }
        if count < READ_CHUNK {
            return Ok(closed);
        }
    }
}

impl rollup_actors::Handles<crate::DescribeRole> for ControllerComponent {
    fn handle(&mut self, _: crate::DescribeRole) -> (rollup_config::Role, crate::RoleRecord) {
        (rollup_config::Role::Controller, self.record)
    }
}

impl Component for ControllerComponent {
    fn tick_interval(&self) -> Option<Duration> {
        Some(TICK)
    }

    /// A failure restarts the role, which reloads from the database: the batches
    /// committed so far are kept and the open batch is rebuilt.
    fn tick(&mut self) -> Result<(), ComponentError> {
        self.cut()?;
        self.post()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rollup_l2::{Block, BlockHeader};

    use super::*;

    fn genesis() -> Genesis {
        Genesis {
            block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
            batch: BatchRules { max_blocks: 2, max_blob_bytes: 390_000, max_age_ms: 1_000 },
            ..Genesis::devnet(7)
        }
    }

    fn seal(store: &Store, number: u64, timestamp_ms: u64) {
        let block =
            Block { header: BlockHeader { number, timestamp_ms, ..BlockHeader::default() }, txs: Vec::new() };
        store.write(|tx| tx.put::<Blocks>(&number, &Stored(block))).unwrap();
    }

    fn spans(records: &[BatchRecord]) -> Vec<(u64, u64, u64)> {
        records.iter().map(|record| (record.number, record.first_block, record.last_block)).collect()
    }

    fn stored(controller: &ControllerComponent) -> Vec<(u64, u64, u64)> {
        let count = controller.batch_count().unwrap();
        let records: Vec<BatchRecord> =
            (0..count).map(|number| controller.batch(number).unwrap().unwrap()).collect();
        spans(&records)
    }

    #[test]
    fn batches_are_committed_once_and_the_open_batch_survives_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 7).unwrap());
        let registry = Registry::new();
        let metrics = ControllerMetrics::register(&registry);
        let load = || {
            ControllerComponent::load(
                store.clone(),
                &genesis(),
                metrics.clone(),
                crate::RoleRecord::default(),
            )
            .unwrap()
        };
        // Block 0 is genesis: never in a batch.
        seal(&store, 0, 0);
        let mut controller = load();
        assert_eq!((controller.batch_count().unwrap(), controller.open()), (0, None));
        for number in 1..=5 {
            seal(&store, number, 100);
        }
        // Block 7 is sealed later; 6 is missing for now, so the controller stops at 5.
        assert_eq!(spans(&controller.cut().unwrap()), [(0, 1, 2), (1, 3, 4)]);
        assert_eq!(controller.open().map(|open| (open.number, open.first_block)), Some((2, 5)));
        assert_eq!(metrics.batches.get(), 2);
        assert_eq!(metrics.next_batch.get(), 2);
        assert_eq!(metrics.open_blocks.get(), 1);
        assert_eq!(controller.cut().unwrap(), vec![], "nothing new");

        // A reload re-feeds block 5 and commits nothing again.
        drop(controller);
        let mut controller = load();
        assert_eq!(stored(&controller), [(0, 1, 2), (1, 3, 4)]);
        assert_eq!(controller.open().map(|open| (open.number, open.first_block)), Some((2, 5)));
        assert_eq!(metrics.batches.get(), 2);
        // Block 6 is 1,000 ms younger than block 5: batch 2 closes by age too.
        seal(&store, 6, 1_100);
        seal(&store, 7, 1_200);
        controller.tick().unwrap();
        assert_eq!(stored(&controller), [(0, 1, 2), (1, 3, 4), (2, 5, 6)]);
        assert_eq!(controller.batch(2).unwrap().unwrap().first_timestamp_ms, 100);
        assert_eq!(controller.batch(3).unwrap(), None);
        assert_eq!((metrics.batches.get(), metrics.next_batch.get(), metrics.open_blocks.get()), (3, 3, 1));
        let (kind, _) = rollup_actors::Handles::handle(&mut controller, crate::DescribeRole);
        assert_eq!(kind, rollup_config::Role::Controller);
    }

    #[test]
    fn a_gap_in_the_stored_blocks_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 7).unwrap());
        let metrics = ControllerMetrics::register(&Registry::new());
        seal(&store, 2, 0);
        let error =
            ControllerComponent::load(store, &genesis(), metrics, crate::RoleRecord::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot cut batches: block 2 is out of order: the cutter expects block 1"
        );
    }
}
