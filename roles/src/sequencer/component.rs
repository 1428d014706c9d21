//! The sequencer: admits user transactions, produces blocks, keeps the L2 state.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{IntGauge, Registry};
use rollup_actors::{Component, ComponentError};
use rollup_l2::{
    tx_commitment, Account, AccountIndex, AccountTree, BatchCutter, BatchSpan, Block, BlockHeader,
    CompactBlock, Digest, Genesis, L1Anchor, L2Tx, MemoryAccounts, MemoryTreeStore, MerkleProof, PubKey,
    Receipt, SignedTx, State, StfParams, TreeStore,
};
use rollup_storage::{StorageError, Store};

use super::mempool::{Mempool, MempoolLimits, SubmitError};
use super::tables::{
    node_key, Accounts, Blocks, CompactBlocks, L2Meta, PendingTxs, ReceiptRecord, Receipts, Stored,
    StoredCompact, StoredDigest, TreeNodes, GENESIS_HASH_KEY,
};

/// Settings of the sequencer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequencerSettings {
    /// Interval between block productions.
    pub block_time: Duration,
    /// Most transactions in a block.
    pub max_block_txs: usize,
    /// Mempool limits.
    pub limits: MempoolLimits,
}

/// A message from Bitcoin (deposit or forced transaction), numbered by the global cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Message {
    /// Its position in the global order of L1 messages.
    pub cursor: u64,
    /// The intrinsic transaction it becomes.
    pub tx: L2Tx,
}

/// What the next block may take from Bitcoin: ready messages and the anchor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L1Inclusion {
    /// The ready messages from the asked cursor on, in cursor order, at most as many
    /// as asked: the block consumes all of them.
    pub messages: Vec<L1Message>,
    /// A final Bitcoin block such that every message of the blocks up to it has a
    /// cursor below the asked cursor plus `messages.len()`: the block's `l1_anchor`.
    pub anchor: L1Anchor,
    /// The height of the final Bitcoin tip as the source last saw it: the anchor
    /// may lag it by at most the genesis `l1.forced_inclusion_window`.
    pub final_tip_height: u32,
}

/// Why a source cannot say what the next block may take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L1SourceError {
    /// The source does not know the final Bitcoin tip or its messages now (Bitcoin
    /// unreachable, still catching up, a block that broke the rules).
    #[error("L1 messages unavailable: {0}")]
    Unavailable(String),
}

/// Why the sequencer does not produce blocks: producing one would break the L1
/// message rules (`docs/protocol.md` section 3), or it cannot tell whether it would.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L1Stall {
    /// The source cannot answer.
    #[error(transparent)]
    Unavailable(#[from] L1SourceError),
    /// Even consuming as many messages as a block holds, the anchor would lag the
    /// final Bitcoin tip by more than the window.
    #[error(
        "the anchor would be Bitcoin block {anchor_height}, {lag} blocks below the final tip {final_tip_height}: \
         over the forced inclusion window of {window}"
    )]
    WindowExceeded {
        /// The best anchor the next block could have.
        anchor_height: u32,
        /// The final Bitcoin tip's height.
        final_tip_height: u32,
        /// How far below it the anchor is.
        lag: u32,
        /// The genesis `l1.forced_inclusion_window`.
        window: u32,
    },
    /// The anchor would go below (or away from) the head's anchor.
    #[error("the anchor would be Bitcoin block {proposed_height} ({proposed_hash}), behind the head's anchor {head_height} ({head_hash})")]
    AnchorBehind {
        /// The proposed anchor's height.
        proposed_height: u32,
        /// Its hash (hex, internal byte order).
        proposed_hash: String,
        /// The head's anchor height.
        head_height: u32,
        /// Its hash.
        head_hash: String,
    },
    /// The source's messages do not continue the chain's cursor.
    #[error("the L1 source gave message {found} where message {expected} comes next")]
    CursorGap {
        /// The cursor that comes next.
        expected: u64,
        /// The cursor given.
        found: u64,
    },
}

/// What the sequencer knows of its L1 side, for the status RPC.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct L1Status {
    /// Why blocks are not produced, `None` while they are.
    pub stalled: Option<String>,
    /// The head's anchor height.
    pub anchor_height: u32,
    /// The head's anchor hash (hex, internal byte order).
    pub anchor_hash: String,
    /// The L1 cursor after the head: the messages consumed so far.
    pub cursor: u64,
    /// The final Bitcoin tip's height at the last answer of the source.
    pub final_tip_height: Option<u32>,
    /// The genesis `l1.forced_inclusion_window`.
    pub forced_inclusion_window: u32,
    /// The genesis `l1.bridge_script` (hex): where deposits pay.
    pub bridge_script: String,
}

/// Where L1 messages come from, in protocol order: [`super::BitcoinL1Source`] follows
/// Bitcoin; [`QueueL1Source`] serves tests and nodes without Bitcoin.
pub trait L1MessageSource: Send {
    /// The messages with cursor ≥ `from` that the next block consumes (at most `max`)
    /// and its anchor, in one answer so that they agree.
    fn next(&mut self, from: u64, max: usize) -> Result<L1Inclusion, L1SourceError>;
}

/// An in-memory queue of L1 messages, anchored to the default (height 0) anchor with
/// a final tip at height 0: no window to keep.
#[derive(Clone, Debug, Default)]
pub struct QueueL1Source {
    queue: VecDeque<L1Message>,
}

impl QueueL1Source {
    /// Appends a message.
    pub fn push(&mut self, message: L1Message) {
        self.queue.push_back(message);
    }
}

impl L1MessageSource for QueueL1Source {
    fn next(&mut self, from: u64, max: usize) -> Result<L1Inclusion, L1SourceError> {
        let messages =
            self.queue.iter().filter(|message| message.cursor >= from).take(max).cloned().collect();
        Ok(L1Inclusion { messages, anchor: L1Anchor::default(), final_tip_height: 0 })
    }
}

/// Why the sequencer could not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadSequencerError {
    /// The database belongs to another genesis.
    #[error("the database was created for genesis {found}, but the configured genesis is {expected}")]
    GenesisMismatch {
        /// The stored genesis hash.
        found: Digest,
        /// The configured one.
        expected: Digest,
    },
    /// The stored state does not match the last block's state root.
    #[error("stored state root {found} does not match block {block}'s state root {expected}")]
    CorruptState {
        /// The last block.
        block: u64,
        /// Root recomputed from the stored tree.
        found: Digest,
        /// Root in the block header.
        expected: Digest,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The open batch cannot be rebuilt from the stored blocks.
    #[error("cannot rebuild the open batch: {0}")]
    OpenBatch(#[from] crate::controller::LoadControllerError),
}

type L2State = State<MemoryAccounts, MemoryTreeStore>;

/// The sequencer component.
pub struct SequencerComponent {
    store: Arc<Store>,
    params: StfParams,
    settings: SequencerSettings,
    state: L2State,
    mempool: Mempool,
    head: BlockHeader,
    by_pubkey: HashMap<PubKey, AccountIndex>,
    l1: Box<dyn L1MessageSource>,
    record: crate::RoleRecord,
    /// The batch cutter over the sealed blocks, to know the open batch (not stored:
    /// rebuilt on load from the blocks after the last stored batch).
    batches: BatchCutter,
    /// The genesis `l1.forced_inclusion_window`.
    window: u32,
    /// The genesis `l1.bridge_script`.
    bridge_script: Vec<u8>,
    /// Why blocks are not produced now.
    stall: Option<L1Stall>,
    /// The final Bitcoin tip at the source's last answer.
    final_tip_height: Option<u32>,
    /// Senders whose RPC transactions are ignored (`debug.ignore_rpc_txs_from`).
    ignored: BTreeSet<AccountIndex>,
    metrics: Option<SequencerMetrics>,
}

/// The sequencer's metrics.
#[derive(Clone, Debug)]
pub struct SequencerMetrics {
    /// `rollup_sequencer_l1_stalled`: 1 while block production stops for the L1
    /// rules (see the `rollup_getL1Status` method for why), else 0.
    pub stalled: IntGauge,
    /// `rollup_sequencer_l1_anchor_lag_blocks`: how far the last block's anchor is
    /// below the final Bitcoin tip, in blocks.
    pub anchor_lag: IntGauge,
}

impl SequencerMetrics {
    /// Registers the metrics (or reuses them when a restarted role registers again).
    pub fn register(registry: &Registry) -> Self {
        let stalled = IntGauge::new(
            "rollup_sequencer_l1_stalled",
            "1 while the sequencer stops producing blocks for the L1 message rules.",
        );
        let anchor_lag = IntGauge::new(
            "rollup_sequencer_l1_anchor_lag_blocks",
            "Bitcoin blocks between the last block's anchor and the final Bitcoin tip.",
        );
        // The names are constants: constructing them cannot fail.
        let (Ok(stalled), Ok(anchor_lag)) = (stalled, anchor_lag) else {
            unreachable!("constant metric definitions are valid")
        };
        for metric in [stalled.clone(), anchor_lag.clone()] {
            // Registered already by an earlier load of the role: the clones share it.
            let _ = registry.register(Box::new(metric));
        }
        Self { stalled, anchor_lag }
    }
}

impl std::fmt::Debug for SequencerComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequencerComponent")
            .field("head", &self.head.number)
            .field("mempool", &self.mempool.len())
            .finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

impl SequencerComponent {
    /// Loads the chain from the database, or creates it from `genesis`; re-admits the
    /// persisted mempool.
    pub fn load(
        store: Arc<Store>,
        genesis: &Genesis,
        settings: SequencerSettings,
        l1: Box<dyn L1MessageSource>,
    ) -> Result<Self, LoadSequencerError> {
        let expected = genesis.hash();
        let found = store.read(|tx| tx.get::<L2Meta>(&GENESIS_HASH_KEY.to_owned()))?;
        let params = genesis.params();
        let (state, head) = match found {
            Some(StoredDigest(found)) if found != expected => {
                return Err(LoadSequencerError::GenesisMismatch { found, expected })
            }
            Some(_) => Self::load_state(&store)?,
            None => Self::create(&store, genesis)?,
        };
        let mut by_pubkey = HashMap::new();
        for (index, account) in state.stores().0.all() {
            index_pubkey(&mut by_pubkey, &account.pubkey, *index);
        }
        let mut batches = crate::controller::resume(&store, genesis.batch)?;
        crate::controller::feed_stored_blocks(&store, &mut batches)?;
        let mut sequencer = Self {
            store,
            params,
            settings,
            state,
            mempool: Mempool::new(settings.limits),
            head,
            by_pubkey,
            l1,
            record: crate::RoleRecord::default(),
            batches,
            window: genesis.l1.forced_inclusion_window,
            bridge_script: genesis.l1.bridge_script.clone(),
            stall: None,
            final_tip_height: None,
            ignored: BTreeSet::new(),
            metrics: None,
        };
        sequencer.reload_mempool()?;
        tracing::info!(
            target: "rollup::sequencer",
            head = sequencer.head.number,
            state_root = %sequencer.head.state_root,
            pending = sequencer.mempool.len(),
            "sequencer loaded"
        );
        Ok(sequencer)
    }

    fn create(store: &Store, genesis: &Genesis) -> Result<(L2State, BlockHeader), LoadSequencerError> {
        let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
        genesis.initialize(&mut state);
        let root = state.root();
        let header = BlockHeader::genesis(root);
        let (accounts, nodes) = {
            let (accounts, tree) = state.stores_mut();
            (accounts.take_changes(), tree.take_changes())
        };
        store.write(|tx| {
            tx.put::<L2Meta>(&GENESIS_HASH_KEY.to_owned(), &StoredDigest(genesis.hash()))?;
            persist_state(tx, &accounts, &nodes)?;
            tx.put::<Blocks>(&0, &Stored(Block { header: header.clone(), txs: Vec::new() }))
        })?;
        Ok((state, header))
    }

    fn load_state(store: &Store) -> Result<(L2State, BlockHeader), LoadSequencerError> {
        let (accounts, nodes, last) = store.read(|tx| {
            Ok((
                tx.range::<Accounts>(.., usize::MAX)?,
                tx.range::<TreeNodes>(.., usize::MAX)?,
                tx.last::<Blocks>()?,
            ))
        })?;
        let accounts: BTreeMap<AccountIndex, Account> =
            accounts.into_iter().map(|(index, Stored(account))| (index, account)).collect();
        let mut tree_store = MemoryTreeStore::default();
        for (key, StoredDigest(digest)) in nodes {
            let height = u8::try_from(key >> 32).unwrap_or(u8::MAX);
            let index = u32::try_from(key & 0xffff_ffff).unwrap_or(u32::MAX);
            tree_store.set_node(height, index, Some(digest));
        }
        tree_store.take_changes();
        let state = State::new(MemoryAccounts::from_map(accounts), AccountTree::new(tree_store));
        let header = last.map(|(_, Stored(block))| block.header).unwrap_or_default();
        if state.root() != header.state_root {
            return Err(LoadSequencerError::CorruptState {
                block: header.number,
                found: state.root(),
                expected: header.state_root,
            });
        }
        Ok((state, header))
    }

    fn reload_mempool(&mut self) -> Result<(), StorageError> {
        let pending = self.store.read(|tx| tx.range::<PendingTxs>(.., usize::MAX))?;
        let mut stale = Vec::new();
        // Re-admit in nonce order per sender so that chains rebuild.
        let mut txs: Vec<([u8; 32], SignedTx)> =
            pending.into_iter().map(|(key, Stored(signed))| (key, signed)).collect();
        txs.sort_by_key(|(_, signed)| (signed.tx.from(), signed.tx.nonce()));
        for (key, signed) in txs {
            if self.mempool.admit(signed, &self.state, &self.params).is_err() {
                stale.push(key);
            }
        }
        if !stale.is_empty() {
            self.store.write(|tx| {
                for key in &stale {
                    tx.delete::<PendingTxs>(key)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Admits a user transaction; it is committed to the database before this returns.
    pub fn submit(&mut self, signed: SignedTx) -> Result<Digest, SubmitTxError> {
        let admission = self.admit(signed)?;
        admission.persist(&self.store)?;
        self.seal_if_full();
        Ok(admission.id)
    }

    /// Seals a block now if the mempool holds a full block, without waiting for the timer.
    pub fn seal_if_full(&mut self) {
        if self.mempool.len() >= self.settings.max_block_txs {
            if let Err(error) = self.produce_block() {
                // The timer retries; the transactions stay pending.
                tracing::error!(target: "rollup::sequencer", %error, "cannot seal a full block");
            }
        }
    }

    /// Admits a user transaction into the in-memory mempool only. The caller must
    /// persist the returned [`Admission`] (see [`Journal`]) before acknowledging it; a
    /// block may include the transaction before that, which makes it durable too.
    pub fn admit(&mut self, signed: SignedTx) -> Result<Admission, SubmitError> {
        let admitted = self.mempool.admit(signed.clone(), &self.state, &self.params)?;
        Ok(Admission { id: admitted.id, signed, removed: admitted.removed })
    }

    /// Produces a block from ready L1 messages and pending transactions, if there is
    /// anything to include; the block, the state change, the receipts and the mempool
    /// removals are committed together.
    pub fn produce_block(&mut self) -> Result<Option<BlockHeader>, StorageError> {
        self.seal(now_ms(), false)
    }

    /// The empty-block rule: when the newest sealed block is in an open batch whose
    /// first block's timestamp is at least the genesis `batch.max_age_ms` before
    /// `now_ms`, seals a block now, even an empty one (timestamped `now_ms`, or the
    /// head's timestamp if later), which closes the batch by the age rule. Without it
    /// a batch would stay open for as long as no transaction arrives.
    pub fn close_overdue_batch(&mut self, now_ms: u64) -> Result<Option<BlockHeader>, StorageError> {
        let Some(open) = self.batches.open() else { return Ok(None) };
        if now_ms.saturating_sub(open.first_timestamp_ms) < self.batches.rules().max_age_ms {
            return Ok(None);
        }
        tracing::info!(
            target: "rollup::sequencer",
            batch = open.number,
            first_block = open.first_block,
            "the open batch is overdue: sealing a block to close it"
        );
        self.seal(now_ms, true)
    }

    /// The open batch (by the genesis cutting rules), if the newest blocks are in one.
    pub fn open_batch(&self) -> Option<&BatchSpan> {
        self.batches.open()
    }

    /// What the next block takes from Bitcoin, checked against the L1 rules: the
    /// messages continue the cursor, the anchor does not go back, and it lags the
    /// final Bitcoin tip by at most the forced inclusion window.
    fn l1_inclusion(&mut self, cursor: u64) -> Result<L1Inclusion, L1Stall> {
        let max = self.settings.max_block_txs;
        let mut inclusion = self.l1.next(cursor, max)?;
        self.final_tip_height = Some(inclusion.final_tip_height);
        inclusion.messages.truncate(max);
        for (message, expected) in inclusion.messages.iter().zip(cursor..) {
            if message.cursor != expected {
                return Err(L1Stall::CursorGap { expected, found: message.cursor });
            }
        }
        let head = self.head.l1_anchor;
        let proposed = inclusion.anchor;
        let behind =
            proposed.height < head.height || (proposed.height == head.height && proposed.hash != head.hash);
        if head != L1Anchor::default() && behind {
            return Err(L1Stall::AnchorBehind {
                proposed_height: proposed.height,
                proposed_hash: rollup_l2::hex::encode(&proposed.hash),
                head_height: head.height,
                head_hash: rollup_l2::hex::encode(&head.hash),
            });
        }
        let lag = inclusion.final_tip_height.saturating_sub(proposed.height);
        if lag > self.window {
            return Err(L1Stall::WindowExceeded {
                anchor_height: proposed.height,
                final_tip_height: inclusion.final_tip_height,
                lag,
                window: self.window,
            });
        }
        Ok(inclusion)
    }

    /// Records whether block production stops, logging each change once.
    fn set_stall(&mut self, stall: Option<L1Stall>) {
        if stall != self.stall {
            match &stall {
                Some(reason) => tracing::warn!(
                    target: "rollup::sequencer",
                    head = self.head.number,
                    %reason,
                    "block production stopped: no block could keep the L1 message rules"
                ),
                None => {
                    tracing::info!(target: "rollup::sequencer", head = self.head.number, "block production resumed")
                }
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.stalled.set(i64::from(stall.is_some()));
        }
        self.stall = stall;
    }

    /// Why blocks are not produced now, `None` while they are.
    pub fn l1_stall(&self) -> Option<&L1Stall> {
        self.stall.as_ref()
    }

    /// The L1 side's status.
    pub fn l1_status(&self) -> L1Status {
        L1Status {
            stalled: self.stall.as_ref().map(ToString::to_string),
            anchor_height: self.head.l1_anchor.height,
            anchor_hash: rollup_l2::hex::encode(&self.head.l1_anchor.hash),
            cursor: self.head.l1_cursor_after,
            final_tip_height: self.final_tip_height,
            forced_inclusion_window: self.window,
            bridge_script: rollup_l2::hex::encode(&self.bridge_script),
        }
    }

    /// Ignores the RPC transactions of `senders` from now on: they are dropped
    /// instead of included (a censoring sequencer, for tests of forced inclusion;
    /// `debug.ignore_rpc_txs_from`).
    pub fn set_ignored_senders(&mut self, senders: BTreeSet<AccountIndex>) {
        self.ignored = senders;
    }

    /// Exports the sequencer's metrics through `metrics`.
    pub fn set_metrics(&mut self, metrics: SequencerMetrics) {
        self.metrics = Some(metrics);
    }

    /// Seals a block at `now_ms`; an empty block only when `allow_empty`. Nothing is
    /// sealed while the L1 rules cannot be kept ([`Self::l1_stall`] says why).
    fn seal(&mut self, now_ms: u64, allow_empty: bool) -> Result<Option<BlockHeader>, StorageError> {
        let cursor = self.head.l1_cursor_after;
        let inclusion = match self.l1_inclusion(cursor) {
            Ok(inclusion) => {
                self.set_stall(None);
                inclusion
            }
            Err(stall) => {
                self.set_stall(Some(stall));
                return Ok(None);
            }
        };
        let L1Inclusion { messages, anchor, final_tip_height } = inclusion;
        let room = self.settings.max_block_txs.saturating_sub(messages.len());
        let mut pending = self.mempool.select(room);
        let mut dropped = Vec::new();
        if !self.ignored.is_empty() {
            pending.retain(|tx| {
                let ignore = self.ignored.contains(&tx.signed.tx.from());
                if ignore {
                    tracing::warn!(
                        target: "rollup::sequencer",
                        id = %tx.id,
                        from = tx.signed.tx.from(),
                        "debug: ignoring the RPC transaction of an ignored sender"
                    );
                    dropped.push(tx.id);
                }
                !ignore
            });
        }
        if messages.is_empty() && pending.is_empty() && !allow_empty {
            if !dropped.is_empty() {
                let removed = self.mempool.remove(&dropped);
                self.store.write(|tx| {
                    for id in dropped.iter().chain(&removed) {
                        tx.delete::<PendingTxs>(&id.to_bytes())?;
                    }
                    Ok(())
                })?;
            }
            return Ok(None);
        }
        let prev_state_root = self.state.root();
        let mut txs = Vec::new();
        let mut receipts = Vec::new();
        let mut included = Vec::new();
        let mut cursor_after = cursor;
        for message in messages {
            // Intrinsic transactions never fail the block: a failure is a recorded no-op.
            let (receipt, _) = self
                .state
                .apply_tx(&self.params, &message.tx)
                .unwrap_or_else(|error| (Receipt::Failed { error }, None));
            cursor_after = message.cursor.saturating_add(1);
            receipts.push(receipt);
            txs.push(message.tx);
        }
        let mut packed = Vec::new();
        for tx in pending {
            let l2_tx = L2Tx::User(tx.signed.clone());
            // The packed form depends on the state the transaction runs on.
            let form = self.state.pack(&l2_tx);
            match self.state.apply_tx(&self.params, &l2_tx) {
                Ok((receipt, _)) => {
                    receipts.push(receipt);
                    txs.push(l2_tx);
                    included.push(tx.id);
                    packed.extend(form);
                }
                Err(error) => {
                    tracing::info!(target: "rollup::sequencer", id = %tx.id, %error, "pending transaction dropped");
                    dropped.push(tx.id);
                }
            }
        }
        let tx_commitment = tx_commitment(&packed);
        let header = BlockHeader {
            number: self.head.number + 1,
            parent_hash: self.head.hash(),
            timestamp_ms: now_ms.max(self.head.timestamp_ms),
            prev_state_root,
            state_root: self.state.root(),
            tx_commitment,
            l1_cursor_before: cursor,
            l1_cursor_after: cursor_after,
            l1_anchor: anchor,
        };
        if let Some(metrics) = &self.metrics {
            metrics.anchor_lag.set(i64::from(final_tip_height.saturating_sub(anchor.height)));
        }
        let block = Block { header: header.clone(), txs };
        let (accounts, nodes) = {
            let (accounts, tree) = self.state.stores_mut();
            (accounts.take_changes(), tree.take_changes())
        };
        let mut removed = self.mempool.remove(&included);
        removed.extend(self.mempool.remove(&dropped));
        let chain_id = self.params.chain_id;
        self.store.write(|tx| {
            persist_state(tx, &accounts, &nodes)?;
            for (position, (l2_tx, receipt)) in block.txs.iter().zip(&receipts).enumerate() {
                let id = l2_tx.id(chain_id);
                let record = ReceiptRecord {
                    tx_id: id.to_string(),
                    block_number: header.number,
                    position: u32::try_from(position).unwrap_or(u32::MAX),
                    receipt: receipt.clone(),
                };
                tx.put::<Receipts>(&id.to_bytes(), &record)?;
            }
            for id in included.iter().chain(&removed) {
                tx.delete::<PendingTxs>(&id.to_bytes())?;
            }
            tx.put::<CompactBlocks>(&header.number, &StoredCompact(CompactBlock::new(&header, packed)))?;
            tx.put::<Blocks>(&header.number, &Stored(block.clone()))
        })?;
        for (index, account) in &accounts {
            index_pubkey(&mut self.by_pubkey, &account.pubkey, *index);
        }
        self.head = header.clone();
        if let Err(error) = self.batches.push(&block) {
            // Blocks are sealed here one after the other: this cannot happen. If it
            // did, the empty-block rule would stop until the next load.
            tracing::error!(target: "rollup::sequencer", %error, "cannot follow the open batch");
        }
        tracing::info!(
            target: "rollup::sequencer",
            number = header.number,
            txs = block.txs.len(),
            state_root = %header.state_root,
            "block sealed"
        );
        Ok(Some(header))
    }

    /// The latest block header.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// An account by index.
    pub fn account(&self, index: AccountIndex) -> Option<Account> {
        self.state.account(index)
    }

    /// An account by public key: of the accounts with this key, the one with the
    /// lowest index (see [`index_pubkey`]).
    pub fn account_by_pubkey(&self, pubkey: &PubKey) -> Option<(AccountIndex, Account)> {
        let index = *self.by_pubkey.get(pubkey)?;
        self.state.account(index).map(|account| (index, account))
    }

    /// A proof of the account at `index` against the current state root.
    pub fn proof(&self, index: AccountIndex) -> (Option<Account>, MerkleProof, Digest) {
        (self.state.account(index), self.state.proof(index), self.state.root())
    }

    /// A block by number.
    pub fn block(&self, number: u64) -> Result<Option<Block>, StorageError> {
        Ok(self.store.read(|tx| tx.get::<Blocks>(&number))?.map(|Stored(block)| block))
    }

    /// A receipt by transaction id.
    pub fn receipt(&self, id: &Digest) -> Result<Option<ReceiptRecord>, StorageError> {
        self.store.read(|tx| tx.get::<Receipts>(&id.to_bytes()))
    }

    /// Number of pending transactions.
    pub fn pending(&self) -> usize {
        self.mempool.len()
    }

    /// Sets the role's durable record (kept by the role runtime).
    pub fn set_role_record(&mut self, record: crate::RoleRecord) {
        self.record = record;
    }
}

impl rollup_actors::Handles<crate::DescribeRole> for SequencerComponent {
    fn handle(&mut self, _: crate::DescribeRole) -> (rollup_config::Role, crate::RoleRecord) {
        (rollup_config::Role::Sequencer, self.record)
    }
}

/// An admitted transaction and the mempool entries it displaced: what must be
/// written before the admission is acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The transaction id.
    pub id: Digest,
    /// The transaction.
    pub signed: SignedTx,
    /// Pending transactions it replaced or evicted.
    pub removed: Vec<Digest>,
}

impl Admission {
    fn write(&self, tx: &mut rollup_storage::WriteTx) -> Result<(), StorageError> {
        for removed in &self.removed {
            tx.delete::<PendingTxs>(&removed.to_bytes())?;
        }
        tx.put::<PendingTxs>(&self.id.to_bytes(), &Stored(self.signed.clone()))
    }

    /// Writes the admission in its own durable transaction.
    pub fn persist(&self, store: &Store) -> Result<(), StorageError> {
        store.write(|tx| self.write(tx))
    }
}

/// Group commit of admissions: a writer thread commits every admission queued while
/// the previous commit ran in one durable transaction, then answers each.
#[derive(Clone, Debug)]
pub struct Journal {
    queue: std::sync::mpsc::Sender<(Admission, futures_channel::oneshot::Sender<Result<(), String>>)>,
}

impl Journal {
    /// Starts the writer thread for `store`; it ends when the last handle is dropped.
    pub fn start(store: Arc<Store>) -> std::io::Result<Self> {
        let (queue, requests) =
            std::sync::mpsc::channel::<(Admission, futures_channel::oneshot::Sender<Result<(), String>>)>();
        std::thread::Builder::new().name("mempool-journal".to_owned()).spawn(move || {
            while let Ok(first) = requests.recv() {
                let mut batch = vec![first];
                batch.extend(requests.try_iter());
                let result = store
                    .write(|tx| batch.iter().try_for_each(|(admission, _)| admission.write(tx)))
                    .map_err(|error| error.to_string());
                for (_, reply) in batch {
                    // The caller may have gone away; nothing to tell it then.
                    let _ = reply.send(result.clone());
                }
            }
        })?;
        Ok(Self { queue })
    }

    /// Makes `admission` durable (in a group commit) and returns once it is.
    pub async fn persist(&self, admission: Admission) -> Result<(), String> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.queue.send((admission, reply)).map_err(|_| "the mempool journal has stopped".to_owned())?;
        answer.await.map_err(|_| "the mempool journal has stopped".to_owned())?
    }
}

/// Why a submission failed: refused, or not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitTxError {
    /// Refused.
    #[error(transparent)]
    Refused(#[from] SubmitError),
    /// Could not be committed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn persist_state(
    tx: &mut rollup_storage::WriteTx,
    accounts: &[(AccountIndex, Account)],
    nodes: &[rollup_l2::NodeChange],
) -> Result<(), StorageError> {
    for (index, account) in accounts {
        tx.put::<Accounts>(index, &Stored(*account))?;
    }
    for ((height, index), digest) in nodes {
        let key = node_key(*height, *index);
        match digest {
            Some(digest) => tx.put::<TreeNodes>(&key, &StoredDigest(*digest))?,
            None => {
                tx.delete::<TreeNodes>(&key)?;
            }
        }
    }
    Ok(())
}

impl Component for SequencerComponent {
    fn tick_interval(&self) -> Option<Duration> {
        Some(self.settings.block_time)
    }

    fn tick(&mut self) -> Result<(), ComponentError> {
        if self.produce_block()?.is_none() {
            self.close_overdue_batch(now_ms())?;
        }
        Ok(())
    }
}

/// Records that account `index` has `pubkey`, keeping the lowest index per key.
///
/// Anyone can create an account with anyone's key (a transfer to a free index names
/// the receiver's key). If the newest account won, one such transfer would move a
/// wallet that finds its account by key (`rollup wallet`) onto an account it never
/// used; the first account of a key stays the one its key finds.
fn index_pubkey(by_pubkey: &mut HashMap<PubKey, AccountIndex>, pubkey: &PubKey, index: AccountIndex) {
    by_pubkey.entry(*pubkey).and_modify(|known| *known = (*known).min(index)).or_insert(index);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rollup_l2::BatchRules;

    use super::*;

    const MAX_AGE_MS: u64 = 500;

    fn load(store: &Arc<Store>) -> SequencerComponent {
        let genesis = Genesis {
            block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
            batch: BatchRules { max_blocks: 16, max_blob_bytes: 390_000, max_age_ms: MAX_AGE_MS },
            ..Genesis::devnet(7)
        };
        let settings = SequencerSettings {
            block_time: Duration::from_millis(10),
            max_block_txs: 8,
            limits: MempoolLimits { per_account: 8, total: 64 },
        };
        SequencerComponent::load(store.clone(), &genesis, settings, Box::new(QueueL1Source::default()))
            .unwrap()
    }

    #[test]
    fn an_overdue_open_batch_is_closed_by_an_empty_block() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 7).unwrap());
        let mut sequencer = load(&store);
        // Nothing sealed yet: no open batch, no block however late.
        assert_eq!(sequencer.open_batch(), None);
        assert_eq!(sequencer.close_overdue_batch(u64::MAX).unwrap(), None);
        assert_eq!(sequencer.produce_block().unwrap(), None, "no empty block without the rule");
        // Block 1 (empty here, as the rule makes them) opens batch 0 at 1,000 ms.
        let one = sequencer.seal(1_000, true).unwrap().unwrap();
        assert_eq!(sequencer.open_batch().map(|open| (open.number, open.first_block)), Some((0, 1)));
        assert_eq!(sequencer.close_overdue_batch(1_000 + MAX_AGE_MS - 1).unwrap(), None);
        let two = sequencer.close_overdue_batch(1_000 + MAX_AGE_MS).unwrap().unwrap();
        let sealed = sequencer.block(2).unwrap().unwrap();
        assert_eq!(sealed.txs, vec![]);
        assert_eq!(
            two,
            BlockHeader {
                number: 2,
                parent_hash: one.hash(),
                timestamp_ms: 1_000 + MAX_AGE_MS,
                prev_state_root: one.state_root,
                state_root: one.state_root,
                tx_commitment: Digest::ZERO,
                l1_cursor_before: 0,
                l1_cursor_after: 0,
                l1_anchor: L1Anchor::default(),
            }
        );
        assert_eq!(sealed.header, two);
        // The empty block closed batch 0 by age: nothing more to close.
        assert_eq!(sequencer.open_batch(), None);
        assert_eq!(sequencer.close_overdue_batch(u64::MAX).unwrap(), None);
        assert_eq!(sequencer.head().number, 2);

        // Reloaded, the sequencer rebuilds the open batch from the stored blocks.
        sequencer.seal(5_000, true).unwrap().unwrap();
        drop(sequencer);
        let mut sequencer = load(&store);
        assert_eq!(
            sequencer.open_batch().map(|open| (open.number, open.first_block, open.first_timestamp_ms)),
            Some((1, 3, 5_000))
        );
        assert_eq!(sequencer.close_overdue_batch(5_000 + MAX_AGE_MS).unwrap().map(|h| h.number), Some(4));
        assert_eq!(sequencer.open_batch(), None);
    }
}
