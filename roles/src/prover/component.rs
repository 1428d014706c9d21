//! The prover component and its worker thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};
use rollup_actors::{Component, ComponentError};
use rollup_circuits::batch::{ChainVerifier, SegmentProof};
use rollup_circuits::block::{execute_block, Chains};
use rollup_circuits::ProofSystem;
use rollup_l2::{
    Account, AccountIndex, AccountTree, Block, Digest, Genesis, MemoryAccounts, MemoryTreeStore, State,
    StfParams,
};
use rollup_storage::{StorageError, Store};

use super::batches::{batch_keys, segment_key, Circuits, Position, TreePlan};
use super::groth16::{Groth16Settings, Groth16Worker};
use super::tables::{
    BatchProofRecord, BatchProofs, BlockProofs, Groth16Proofs, Groth16Record, ProofRecord, ProverAccounts,
    ProverMeta, ProverTreeNodes, SegmentProofs,
};
use crate::controller::{BatchRecord, Batches};
use crate::sequencer::{Blocks, Stored, StoredDigest};

type L2State = State<MemoryAccounts, MemoryTreeStore>;

const NEXT_BLOCK_KEY: &str = "next_block";
const CHAINS_KEY: &str = "chains";
const GENESIS_KEY: &str = "genesis";
const NEXT_BATCH_KEY: &str = "next_batch";
const AGGREGATION_SECONDS_KEY: &str = "aggregation_seconds";

/// How often the worker looks for a newly sealed block when it has nothing to do.
pub(super) const POLL: Duration = Duration::from_millis(200);

/// Why the prover cannot load.
#[derive(Debug, thiserror::Error)]
pub enum LoadProverError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The prover's state was made for another genesis.
    #[error("the prover's state is for genesis {found}, this node runs genesis {expected}")]
    GenesisMismatch {
        /// The stored genesis hash.
        found: Digest,
        /// The configured genesis hash.
        expected: Digest,
    },
    /// Stored progress that does not decode.
    #[error("corrupt prover metadata: {0}")]
    Corrupt(String),
    /// The worker thread could not start.
    #[error("cannot start the proving thread: {0}")]
    Thread(std::io::Error),
}

/// The prover's metrics.
#[derive(Clone, Debug)]
pub struct ProverMetrics {
    /// `rollup_prover_queue_blocks`: sealed blocks not proven yet.
    pub queue: IntGauge,
    /// `rollup_block_prove_seconds`: time to prove one block (witness, proof, check).
    pub prove_seconds: Histogram,
    /// `rollup_block_proofs_total`: blocks proven.
    pub proofs: IntCounter,
    /// `rollup_prover_next_block`: the first block without a proof.
    pub next_block: IntGauge,
    /// `rollup_aggregation_prove_seconds`: time to prove one leaf or node of a
    /// batch's aggregation tree.
    pub aggregation_seconds: Histogram,
    /// `rollup_recursion_prove_seconds`: time of one recursion step.
    pub recursion_seconds: Histogram,
    /// `rollup_batch_proofs_total`: batches proven through stage 3.
    pub batch_proofs: IntCounter,
    /// `rollup_prover_next_batch`: the first batch without a stage-3 proof.
    pub next_batch: IntGauge,
    /// `rollup_groth16_prove_seconds`: time of stage 4 for one batch (wrapper and
    /// Groth16 proof, checks included).
    pub groth16_seconds: Histogram,
    /// `rollup_groth16_proofs_total`: batches proven through stage 4.
    pub groth16_proofs: IntCounter,
    /// `rollup_prover_next_groth16`: the first batch without a Groth16 proof.
    pub next_groth16: IntGauge,
}

impl ProverMetrics {
    /// Registers the metrics (or reuses them when a restarted role registers again).
    pub fn register(registry: &Registry) -> Self {
        let queue = IntGauge::new("rollup_prover_queue_blocks", "Sealed blocks not proven yet.");
        let prove_seconds = Histogram::with_opts(
            HistogramOpts::new("rollup_block_prove_seconds", "Time to prove one block.")
                .buckets(vec![1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0]),
        );
        let proofs = IntCounter::new("rollup_block_proofs_total", "Blocks proven.");
        let next_block = IntGauge::new("rollup_prover_next_block", "The first block without a proof.");
        let buckets = vec![0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        let aggregation_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "rollup_aggregation_prove_seconds",
                "Time to prove one aggregation leaf or node.",
            )
            .buckets(buckets.clone()),
        );
        let recursion_seconds = Histogram::with_opts(
            HistogramOpts::new("rollup_recursion_prove_seconds", "Time of one recursion step.")
                .buckets(buckets),
        );
        let batch_proofs = IntCounter::new("rollup_batch_proofs_total", "Batches proven through stage 3.");
        let next_batch =
            IntGauge::new("rollup_prover_next_batch", "The first batch without a stage-3 proof.");
        let groth16_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "rollup_groth16_prove_seconds",
                "Time of stage 4 (wrapper and Groth16) for one batch.",
            )
            .buckets(vec![60.0, 120.0, 240.0, 480.0, 960.0, 1920.0]),
        );
        let groth16_proofs =
            IntCounter::new("rollup_groth16_proofs_total", "Batches proven through stage 4.");
        let next_groth16 =
            IntGauge::new("rollup_prover_next_groth16", "The first batch without a Groth16 proof.");
        // The names and options are constants: constructing them cannot fail.
        let (
            Ok(queue),
            Ok(prove_seconds),
            Ok(proofs),
            Ok(next_block),
            Ok(aggregation_seconds),
            Ok(recursion_seconds),
            Ok(batch_proofs),
            Ok(next_batch),
            Ok(groth16_seconds),
            Ok(groth16_proofs),
            Ok(next_groth16),
        ) = (
            queue,
            prove_seconds,
            proofs,
            next_block,
            aggregation_seconds,
            recursion_seconds,
            batch_proofs,
            next_batch,
            groth16_seconds,
            groth16_proofs,
            next_groth16,
        )
        else {
            unreachable!("constant metric definitions are valid")
        };
        for metric in [
            Box::new(queue.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(prove_seconds.clone()),
            Box::new(proofs.clone()),
            Box::new(next_block.clone()),
            Box::new(aggregation_seconds.clone()),
            Box::new(recursion_seconds.clone()),
            Box::new(batch_proofs.clone()),
            Box::new(next_batch.clone()),
            Box::new(groth16_seconds.clone()),
            Box::new(groth16_proofs.clone()),
            Box::new(next_groth16.clone()),
        ] {
            // Registering twice (a restarted role) keeps the first registration.
            let _ = registry.register(metric);
        }
        Self {
            queue,
            prove_seconds,
            proofs,
            next_block,
            aggregation_seconds,
            recursion_seconds,
            batch_proofs,
            next_batch,
            groth16_seconds,
            groth16_proofs,
            next_groth16,
        }
    }
}

/// A proving thread: `Err` names why it stopped on its own.
type ProvingThread = JoinHandle<Result<(), String>>;

/// The prover role: owns the proving threads, serves stored proofs.
pub struct ProverComponent {
    store: Arc<Store>,
    record: crate::RoleRecord,
    stop: Arc<AtomicBool>,
    /// Set while the worker builds its circuits (tens of seconds, nothing written).
    building: Arc<AtomicBool>,
    worker: Option<ProvingThread>,
    /// The thread that runs stage 4.
    groth16: Option<ProvingThread>,
}

impl std::fmt::Debug for ProverComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProverComponent").finish_non_exhaustive()
    }
}

impl ProverComponent {
    /// Loads (or creates from `genesis`) the prover's state and starts its worker,
    /// and with `groth16` its stage-4 thread.
    pub fn load(
        store: Arc<Store>,
        genesis: &Genesis,
        source: BlockSource,
        metrics: ProverMetrics,
        record: crate::RoleRecord,
        groth16: Option<Groth16Settings>,
    ) -> Result<Self, LoadProverError> {
        let verifier = Arc::new(OnceLock::new());
        let worker = Worker::load(store.clone(), genesis, source, metrics.clone(), verifier.clone())?;
        tracing::info!(target: "rollup::prover", next_block = worker.next_block, "prover loaded");
        let stop = Arc::new(AtomicBool::new(false));
        let groth16 = match groth16 {
            None => None,
            Some(settings) => {
                let stage4 = Groth16Worker {
                    store: store.clone(),
                    settings,
                    genesis: genesis.clone(),
                    metrics,
                    verifier,
                };
                let flag = stop.clone();
                let handle = std::thread::Builder::new()
                    .name("rollup-groth16".to_owned())
                    .spawn(move || stage4.run(&flag))
                    .map_err(LoadProverError::Thread)?;
                Some(handle)
            }
        };
        let building = Arc::new(AtomicBool::new(true));
        let (flag, built) = (stop.clone(), building.clone());
        let handle = std::thread::Builder::new()
            .name("rollup-prover".to_owned())
            .spawn(move || worker.run(&flag, &built))
            .map_err(LoadProverError::Thread)?;
        Ok(Self { store, record, stop, building, worker: Some(handle), groth16 })
    }

    /// The stored Groth16 proof of batch `number`.
    pub fn groth16_proof(&self, number: u64) -> Result<Option<Groth16Record>, StorageError> {
        self.store.read(|tx| tx.get::<Groth16Proofs>(&number))
    }

    /// The stored proof of block `number`.
    pub fn proof(&self, number: u64) -> Result<Option<ProofRecord>, StorageError> {
        self.store.read(|tx| tx.get::<BlockProofs>(&number))
    }

    /// The stored stage-3 proof of batch `number`, with its stage-2 root proof.
    pub fn batch_proof(&self, number: u64) -> Result<Option<(BatchProofRecord, Vec<u8>)>, StorageError> {
        self.store.read(|tx| {
            let Some(record) = tx.get::<BatchProofs>(&number)? else { return Ok(None) };
            let root = tx.get::<SegmentProofs>(&record.aggregation_root)?.unwrap_or_default();
            Ok(Some((record, root)))
        })
    }

    /// Stops the worker: waits for a proof in flight (it commits or is dropped
    /// whole), but not for a circuit build, which writes nothing and stops at its next
    /// circuit.
    fn stop_worker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // It kills its `rollup prove-batch` process and returns within one poll.
        if let Some(handle) = self.groth16.take() {
            let _ = handle.join();
        }
        if let Some(handle) = self.worker.take() {
            if self.building.load(Ordering::Relaxed) {
                tracing::info!(target: "rollup::prover", "the proving thread stops once its current circuit is built");
            } else {
                let _ = handle.join();
            }
        }
    }
}

impl rollup_actors::Handles<crate::DescribeRole> for ProverComponent {
    fn handle(&mut self, _: crate::DescribeRole) -> (rollup_config::Role, crate::RoleRecord) {
        (rollup_config::Role::Prover, self.record)
    }
}

impl Drop for ProverComponent {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

impl Component for ProverComponent {
    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    /// A worker that stopped on its own failed: the error restarts the role, which
    /// reloads the state from the database.
    fn tick(&mut self) -> Result<(), ComponentError> {
        if self.groth16.as_ref().is_some_and(JoinHandle::is_finished) {
            let outcome = self.groth16.take().map(JoinHandle::join);
            let reason = match outcome {
                Some(Ok(Err(reason))) => reason,
                Some(Err(_)) => "the stage-4 thread panicked".to_owned(),
                _ => "the stage-4 thread stopped".to_owned(),
            };
            return Err(ComponentError::from(reason));
        }
        if self.worker.as_ref().is_some_and(JoinHandle::is_finished) {
            let outcome = self.worker.take().map(JoinHandle::join);
            let reason = match outcome {
                Some(Ok(Err(reason))) => reason,
                Some(Err(_)) => "the proving thread panicked".to_owned(),
                _ => "the proving thread stopped".to_owned(),
            };
            return Err(ComponentError::from(reason));
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        self.stop_worker();
    }
}

/// Where the prover takes sealed blocks from.
#[derive(Clone, Debug)]
pub enum BlockSource {
    /// The sequencer of this node, through the node database.
    Local,
    /// A sequencer in another process, through its JSON-RPC API
    /// (`rollup_getBlockByNumber`, `rollup_getStateRoot`).
    Remote(String),
}

impl BlockSource {
    /// Block `number` if sealed, and the sequencer's head.
    fn fetch(&self, store: &Store, number: u64) -> Result<(Option<Block>, Option<u64>), String> {
        match self {
            BlockSource::Local => store
                .read(|tx| Ok((tx.get::<Blocks>(&number)?, tx.last::<Blocks>()?.map(|(head, _)| head))))
                .map(|(block, head)| (block.map(|Stored(block)| block), head))
                .map_err(|error| error.to_string()),
            BlockSource::Remote(url) => {
                let block: Option<Block> =
                    rpc_call(url, "rollup_getBlockByNumber", serde_json::json!([number]))?;
                let head: serde_json::Value = rpc_call(url, "rollup_getStateRoot", serde_json::json!([]))?;
                Ok((block, head["block_number"].as_u64()))
            }
        }
    }

    /// Batch `number` if the controller closed it.
    fn fetch_batch(&self, store: &Store, number: u64) -> Result<Option<BatchRecord>, String> {
        match self {
            BlockSource::Local => {
                store.read(|tx| tx.get::<Batches>(&number)).map_err(|error| error.to_string())
            }
            BlockSource::Remote(url) => rpc_call(url, "rollup_getBatch", serde_json::json!([number])),
        }
    }
}

/// One JSON-RPC 2.0 call to a node: its `result`, or an error naming the method, the
/// URL and what went wrong.
pub fn rpc_call<T: serde::de::DeserializeOwned>(
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<T, String> {
    let request = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response: serde_json::Value = ureq::post(url)
        .timeout(Duration::from_secs(30))
        .send_json(request)
        .map_err(|error| format!("{method} at {url}: {error}"))?
        .into_json()
        .map_err(|error| format!("{method} at {url}: {error}"))?;
    if let Some(error) = response.get("error") {
        return Err(format!("{method} at {url}: {error}"));
    }
    serde_json::from_value(response["result"].clone()).map_err(|error| format!("{method} at {url}: {error}"))
}

/// The proving loop's state: the L2 state at `next_block`'s pre-state.
struct Worker {
    store: Arc<Store>,
    genesis: Digest,
    source: BlockSource,
    params: StfParams,
    state: L2State,
    next_block: u64,
    chains: Chains,
    /// The chain's genesis (its capacities, registry and initial state).
    chain: Genesis,
    /// Built when the worker starts.
    circuits: Option<Circuits>,
    next_batch: u64,
    metrics: ProverMetrics,
    /// Where the built family's chain verifier goes, for the stage-4 thread.
    verifier: Arc<OnceLock<ChainVerifier>>,
}

impl Worker {
    fn load(
        store: Arc<Store>,
        genesis: &Genesis,
        source: BlockSource,
        metrics: ProverMetrics,
        verifier: Arc<OnceLock<ChainVerifier>>,
    ) -> Result<Self, LoadProverError> {
        let expected = genesis.hash();
        let (found, accounts, nodes, next, chains, next_batch) = store.read(|tx| {
            Ok((
                tx.get::<ProverMeta>(&GENESIS_KEY.to_owned())?,
                tx.range::<ProverAccounts>(.., usize::MAX)?,
                tx.range::<ProverTreeNodes>(.., usize::MAX)?,
                tx.get::<ProverMeta>(&NEXT_BLOCK_KEY.to_owned())?,
                tx.get::<ProverMeta>(&CHAINS_KEY.to_owned())?,
                tx.get::<ProverMeta>(&NEXT_BATCH_KEY.to_owned())?,
            ))
        })?;
        let next_batch = match next_batch.as_deref() {
            None => 0,
            Some(bytes) => u64::from_be_bytes(
                bytes.try_into().map_err(|_| LoadProverError::Corrupt("next_batch is not 8 bytes".into()))?,
            ),
        };
        let worker = |state, next_block, chains| Self {
            store: store.clone(),
            genesis: expected,
            source: source.clone(),
            params: genesis.params(),
            state,
            next_block,
            chains,
            chain: genesis.clone(),
            circuits: None,
            next_batch,
            metrics: metrics.clone(),
            verifier: verifier.clone(),
        };
        let Some(found) = found else {
            let mut state =
                State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
            genesis.initialize(&mut state);
            let mut created = worker(state, 1, Chains::default());
            created.commit(None)?;
            return Ok(created);
        };
        let found = decode_digest(&found)?;
        if found != expected {
            return Err(LoadProverError::GenesisMismatch { found, expected });
        }
        let accounts: BTreeMap<AccountIndex, Account> =
            accounts.into_iter().map(|(index, Stored(account))| (index, account)).collect();
        let mut tree = MemoryTreeStore::default();
        for (key, StoredDigest(digest)) in nodes {
            let height = u8::try_from(key >> 32).unwrap_or(u8::MAX);
            let index = u32::try_from(key & 0xffff_ffff).unwrap_or(u32::MAX);
            rollup_l2::TreeStore::set_node(&mut tree, height, index, Some(digest));
        }
        tree.take_changes();
        let state = State::new(MemoryAccounts::from_map(accounts), AccountTree::new(tree));
        let next_block = match next.as_deref() {
            Some(bytes) => u64::from_be_bytes(
                bytes.try_into().map_err(|_| LoadProverError::Corrupt("next_block is not 8 bytes".into()))?,
            ),
            None => return Err(LoadProverError::Corrupt("next_block is missing".into())),
        };
        let chains = match chains.as_deref() {
            Some(bytes) if bytes.len() == 64 => Chains {
                l1_messages: decode_digest(&bytes[..32])?,
                withdrawals: decode_digest(&bytes[32..])?,
            },
            _ => return Err(LoadProverError::Corrupt("chains are missing or not 64 bytes".into())),
        };
        Ok(worker(state, next_block, chains))
    }

    /// Commits the state advance, the progress and (if any) a proof, atomically.
    fn commit(&mut self, proof: Option<(u64, ProofRecord)>) -> Result<(), StorageError> {
        let (accounts, nodes) = {
            let (accounts, tree) = self.state.stores_mut();
            (accounts.take_changes(), tree.take_changes())
        };
        let mut chains = self.chains.l1_messages.to_bytes().to_vec();
        chains.extend(self.chains.withdrawals.to_bytes());
        let next_block = self.next_block;
        let genesis = self.genesis.to_bytes().to_vec();
        self.store.write(|tx| {
            tx.put::<ProverMeta>(&GENESIS_KEY.to_owned(), &genesis)?;
            for (index, account) in &accounts {
                tx.put::<ProverAccounts>(index, &Stored(*account))?;
            }
            for ((height, index), digest) in &nodes {
                let key = (u64::from(*height) << 32) | u64::from(*index);
                match digest {
                    Some(digest) => tx.put::<ProverTreeNodes>(&key, &StoredDigest(*digest))?,
                    None => {
                        tx.delete::<ProverTreeNodes>(&key)?;
                    }
                }
            }
            tx.put::<ProverMeta>(&NEXT_BLOCK_KEY.to_owned(), &next_block.to_be_bytes().to_vec())?;
            tx.put::<ProverMeta>(&CHAINS_KEY.to_owned(), &chains)?;
            if let Some((number, record)) = &proof {
                tx.put::<BlockProofs>(number, record)?;
            }
            Ok(())
        })
    }

    fn run(mut self, stop: &AtomicBool, building: &AtomicBool) -> Result<(), String> {
        tracing::info!(target: "rollup::prover", capacities = ?self.chain.block_capacities, "building the circuits");
        let circuits = Circuits::build(&self.chain, stop).inspect_err(|error| {
            tracing::error!(target: "rollup::prover", %error, "cannot build the circuits");
        })?;
        building.store(false, Ordering::Relaxed);
        let Some(circuits) = circuits else { return Ok(()) };
        // A fresh slot per load: it is empty until now.
        let _ = self.verifier.set(circuits.family.chain_verifier());
        self.circuits = Some(circuits);
        self.metrics.next_batch.set(i64::try_from(self.next_batch).unwrap_or(i64::MAX));
        while !stop.load(Ordering::Relaxed) {
            match self.step() {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(POLL),
                Err(error) => {
                    tracing::error!(target: "rollup::prover", block = self.next_block, %error, "proving stopped");
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// One unit of work: a proof for the next closed batch whose blocks are all
    /// proven (batches first: they are what the chain waits for), else the next
    /// block's proof; `false` when there is nothing to do.
    fn step(&mut self) -> Result<bool, String> {
        if self.batch_step()? {
            return Ok(true);
        }
        self.block_step()
    }

    fn circuits(&self) -> Result<&Circuits, String> {
        self.circuits.as_ref().ok_or_else(|| "the circuits are not built".to_owned())
    }

    fn segment(&self, batch: u64, at: Position) -> Result<SegmentProof, String> {
        let bytes = self
            .store
            .read(|tx| tx.get::<SegmentProofs>(&segment_key(batch, at)))
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("batch {batch}: the proof at {at:?} is missing"))?;
        self.circuits()?.family.decode_segment(&bytes).map_err(|error| format!("batch {batch}: {error}"))
    }

    /// Proves the next missing leaf or node of the next batch, or its recursion step
    /// once the tree is complete; `false` when no batch is ready.
    fn batch_step(&mut self) -> Result<bool, String> {
        let number = self.next_batch;
        let batch = match self.source.fetch_batch(&self.store, number) {
            Ok(Some(batch)) => batch,
            Ok(None) => return Ok(false),
            Err(error) => {
                tracing::warn!(target: "rollup::prover", %error, "cannot fetch the next batch");
                return Ok(false);
            }
        };
        if batch.number != number || batch.first_block > batch.last_block {
            return Err(format!("the batch source answered {batch:?} for batch {number}"));
        }
        if batch.last_block >= self.next_block {
            return Ok(false);
        }
        let leaves =
            usize::try_from(batch.last_block - batch.first_block + 1).map_err(|error| error.to_string())?;
        let plan = TreePlan::new(leaves);
        let done = self
            .store
            .read(|tx| tx.keys::<SegmentProofs>(batch_keys(number), usize::MAX))
            .map_err(|error| error.to_string())?;
        let done: std::collections::BTreeSet<u64> = done.into_iter().collect();
        match plan.jobs().into_iter().find(|at| !done.contains(&segment_key(number, *at))) {
            Some(at) => self.prove_segment(&batch, &plan, at)?,
            None => self.prove_chain(&batch, &plan)?,
        }
        Ok(true)
    }

    fn prove_segment(&mut self, batch: &BatchRecord, plan: &TreePlan, at: Position) -> Result<(), String> {
        let number = batch.number;
        let started = Instant::now();
        let circuits = self.circuits()?;
        let proof = match at {
            (0, index) => {
                let block = batch.first_block + index as u64;
                let record = self
                    .store
                    .read(|tx| tx.get::<BlockProofs>(&block))
                    .map_err(|error| error.to_string())?
                    .ok_or_else(|| format!("batch {number}: block {block} has no proof"))?;
                let circuit = circuits.block(record.capacity)?;
                let proof =
                    circuit.decode_proof(&record.proof).map_err(|error| format!("block {block}: {error}"))?;
                let before = match index {
                    0 => Digest::ZERO,
                    _ => {
                        let previous = self.segment(number, (0, index - 1))?;
                        previous.statement().ok_or("a leaf without a statement")?.tx_chain_after
                    }
                };
                circuits
                    .family
                    .prove_leaf(circuit, &proof, &before)
                    .map_err(|error| format!("block {block}: {error}"))?
            }
            _ => {
                let [left, right] = plan.children(at);
                let (left, right) = (self.segment(number, left)?, self.segment(number, right)?);
                circuits
                    .family
                    .prove_node(&left, &right)
                    .map_err(|error| format!("batch {number}: {error}"))?
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let key = segment_key(number, at);
        let bytes = proof.to_bytes();
        self.store
            .write(|tx| {
                let spent = tx.get::<ProverMeta>(&AGGREGATION_SECONDS_KEY.to_owned())?;
                let spent =
                    spent.as_deref().and_then(|bytes| bytes.try_into().ok()).map_or(0.0, f64::from_be_bytes);
                tx.put::<ProverMeta>(
                    &AGGREGATION_SECONDS_KEY.to_owned(),
                    &(spent + seconds).to_be_bytes().to_vec(),
                )?;
                tx.put::<SegmentProofs>(&key, &bytes)
            })
            .map_err(|error| error.to_string())?;
        self.metrics.aggregation_seconds.observe(seconds);
        tracing::info!(
            target: "rollup::prover",
            batch = number,
            level = at.0,
            index = at.1,
            seconds,
            "aggregation proof made"
        );
        Ok(())
    }

    fn prove_chain(&mut self, batch: &BatchRecord, plan: &TreePlan) -> Result<(), String> {
        let number = batch.number;
        tracing::info!(target: "rollup::prover", batch = number, "proving the batch's recursion step (stage 3)");
        let started = Instant::now();
        let root_at = plan.root();
        let root = self.segment(number, root_at)?;
        let circuits = self.circuits()?;
        let previous = match number.checked_sub(1) {
            None => None,
            Some(previous) => {
                let record = self
                    .store
                    .read(|tx| tx.get::<BatchProofs>(&previous))
                    .map_err(|error| error.to_string())?
                    .ok_or_else(|| format!("batch {previous} has no proof"))?;
                Some(circuits.family.decode_chain(&record.proof).map_err(|error| error.to_string())?)
            }
        };
        let proof = circuits
            .family
            .prove_recursion(previous.as_ref(), &root, &circuits.genesis_root, &circuits.registry)
            .map_err(|error| format!("batch {number}: {error}"))?;
        let statement = proof.statement().ok_or("a chain proof without a statement")?;
        if (statement.batch_number, statement.first_block, statement.last_block)
            != (number, batch.first_block, batch.last_block)
        {
            return Err(format!("batch {number}: the chain proof is for {statement:?}"));
        }
        circuits
            .family
            .verify_chain(&statement, &proof)
            .map_err(|error| format!("batch {number}: {error}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let root_key = segment_key(number, root_at);
        let bytes = proof.to_bytes();
        self.store
            .write(|tx| {
                let spent = tx.get::<ProverMeta>(&AGGREGATION_SECONDS_KEY.to_owned())?;
                let spent =
                    spent.as_deref().and_then(|bytes| bytes.try_into().ok()).map_or(0.0, f64::from_be_bytes);
                let record = BatchProofRecord {
                    statement,
                    aggregation_root: root_key,
                    aggregation_seconds: spent,
                    recursion_seconds: seconds,
                    proof: bytes.clone(),
                };
                tx.put::<BatchProofs>(&number, &record)?;
                for key in tx.keys::<SegmentProofs>(batch_keys(number), usize::MAX)? {
                    if key != root_key {
                        tx.delete::<SegmentProofs>(&key)?;
                    }
                }
                tx.put::<ProverMeta>(&AGGREGATION_SECONDS_KEY.to_owned(), &0f64.to_be_bytes().to_vec())?;
                tx.put::<ProverMeta>(&NEXT_BATCH_KEY.to_owned(), &(number + 1).to_be_bytes().to_vec())
            })
            .map_err(|error| error.to_string())?;
        self.next_batch = number + 1;
        self.metrics.recursion_seconds.observe(seconds);
        self.metrics.batch_proofs.inc();
        self.metrics.next_batch.set(i64::try_from(self.next_batch).unwrap_or(i64::MAX));
        tracing::info!(
            target: "rollup::prover",
            batch = number,
            first_block = batch.first_block,
            last_block = batch.last_block,
            to_root = %statement.to_root,
            seconds,
            "batch proven"
        );
        Ok(())
    }

    /// Proves the next block if it is sealed; `false` when there is none yet.
    fn block_step(&mut self) -> Result<bool, String> {
        let number = self.next_block;
        let (block, head) = match self.source.fetch(&self.store, number) {
            Ok(found) => found,
            Err(error) => {
                // A remote sequencer that is down is waited for, not a failure.
                tracing::warn!(target: "rollup::prover", %error, "cannot fetch the next block");
                return Ok(false);
            }
        };
        self.metrics.next_block.set(i64::try_from(number).unwrap_or(i64::MAX));
        self.metrics
            .queue
            .set(head.map_or(0, |head| i64::try_from((head + 1).saturating_sub(number)).unwrap_or(0)));
        let Some(block) = block else { return Ok(false) };
        let started = Instant::now();
        let capacity = self.chain.capacity_for(block.txs.len()).ok_or_else(|| {
            format!(
                "block {number} holds {} transactions, more than the largest circuit ({:?})",
                block.txs.len(),
                self.chain.block_capacities.last()
            )
        })?;
        let witness = execute_block(&mut self.state, &self.params, &block, &mut self.chains)
            .map_err(|error| error.to_string())?;
        let circuit = self.circuits()?.block(capacity)?;
        let proof = circuit.prove(&witness).map_err(|error| format!("block {number}: {error}"))?;
        circuit.verify(&witness.statement, &proof).map_err(|error| format!("block {number}: {error}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let record = ProofRecord {
            capacity,
            statement: witness.statement,
            prove_seconds: seconds,
            proof: proof.to_bytes(),
        };
        self.next_block = number + 1;
        self.commit(Some((number, record))).map_err(|error| error.to_string())?;
        self.metrics.prove_seconds.observe(seconds);
        self.metrics.proofs.inc();
        tracing::info!(
            target: "rollup::prover",
            block = number,
            txs = block.txs.len(),
            capacity,
            seconds,
            "block proven"
        );
        Ok(true)
    }
}

fn decode_digest(bytes: &[u8]) -> Result<Digest, LoadProverError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| LoadProverError::Corrupt(format!("a digest of {} bytes", bytes.len())))?;
    Digest::from_bytes(&array).ok_or_else(|| LoadProverError::Corrupt("a non-canonical digest".into()))
}
