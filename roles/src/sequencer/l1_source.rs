//! [`BitcoinL1Source`]: the L1 messages of final Bitcoin blocks, numbered by the
//! global cursor, with the anchor each block may name (`docs/protocol.md` section 3).
//!
//! A follower thread reads Bitcoin through a [`BitcoinSource`] (Esplora): the light
//! client follows the headers from the genesis `l1.start_height`, every block that
//! becomes final is fetched, checked and scanned, and its messages are appended to a
//! [`MessageLog`] under the next cursors. The sequencer's calls only read that log,
//! so a slow or unreachable Esplora never blocks block production's actor; it makes
//! [`L1MessageSource::next`] answer [`L1SourceError::Unavailable`] instead, and the
//! sequencer stops producing blocks until Bitcoin answers again.
//!
//! With a store (the node database), every scanned block and its messages are
//! committed (tables `l1_scanned_blocks`, `l1_messages`) before the sequencer can
//! see them, and a restarted source loads them and goes on after the last scanned
//! block: the light client resumes from it and first checks that Bitcoin still has
//! it. Without a store (tools, tests) a started source scans again from
//! `l1.start_height`, which gives the same cursors as long as the final blocks are
//! the same (they are final). Either way the sequencer refuses messages that do not
//! continue its cursor and anchors that go back, so it waits (stalled, with the
//! reason in its status) until the source has reached its head.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use rollup_l1::chain::{fetch_block, scan_block, BitcoinSource, BlockRef, ChainError, LightClient};
use rollup_l2::{L1Anchor, L1Rules, L2Tx};
use rollup_storage::{StorageError, Store};

use super::component::{L1Inclusion, L1Message, L1MessageSource, L1SourceError};
use super::tables::{L1Messages, ScannedBlock, ScannedBlocks, Stored};

/// The messages of the final blocks scanned so far, by cursor, and where each block
/// ends. Pure: the follower thread appends, the sequencer reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageLog {
    /// Scanned final blocks, ascending, with the cursor after their last message.
    /// Blocks no anchor can need any more are pruned.
    blocks: VecDeque<(L1Anchor, u64)>,
    /// Messages not consumed yet, by cursor.
    messages: BTreeMap<u64, L2Tx>,
    /// The cursor of the next message appended.
    next_cursor: u64,
}

impl MessageLog {
    /// Appends a final block (the next one in height order) and its messages in
    /// protocol order.
    pub fn push_block(&mut self, block: L1Anchor, messages: Vec<L2Tx>) {
        for tx in messages {
            self.messages.insert(self.next_cursor, tx);
            self.next_cursor = self.next_cursor.saturating_add(1);
        }
        self.blocks.push_back((block, self.next_cursor));
    }

    /// The cursor the next message will get: how many messages were scanned.
    pub fn next_cursor(&self) -> u64 {
        self.next_cursor
    }

    /// The highest scanned block, if any.
    pub fn last_block(&self) -> Option<L1Anchor> {
        self.blocks.back().map(|(block, _)| *block)
    }

    /// The messages from `from` on (at most `max`) and the highest scanned block
    /// whose messages all come before the last of them: what a block starting at
    /// cursor `from` consumes and names as anchor. Forgets what no later call with a
    /// cursor at least `from` can need.
    pub fn take(&mut self, from: u64, max: usize) -> Result<(Vec<L1Message>, L1Anchor), L1SourceError> {
        if from > self.next_cursor {
            return Err(L1SourceError::Unavailable(format!(
                "Bitcoin scanned up to message {}, but the chain has consumed {from}: still catching up",
                self.next_cursor
            )));
        }
        // Consumed messages are never asked for again; neither are blocks below the
        // last one that ends at or before `from`.
        self.messages = self.messages.split_off(&from);
        while self.blocks.get(1).is_some_and(|(_, end)| *end <= from) {
            self.blocks.pop_front();
        }
        let messages: Vec<L1Message> = self
            .messages
            .iter()
            .take(max)
            .map(|(cursor, tx)| L1Message { cursor: *cursor, tx: tx.clone() })
            .collect();
        let end = from.saturating_add(u64::try_from(messages.len()).unwrap_or(u64::MAX));
        let anchor = self
            .blocks
            .iter()
            .take_while(|(_, block_end)| *block_end <= end)
            .last()
            .map(|(block, _)| *block)
            .ok_or_else(|| {
                L1SourceError::Unavailable(
                    "no final Bitcoin block whose messages fit is scanned yet".to_owned(),
                )
            })?;
        Ok((messages, anchor))
    }
}

/// Why the Bitcoin source cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartL1SourceError {
    /// The follower thread could not be started.
    #[error("cannot start the Bitcoin follower thread: {0}")]
    Thread(std::io::Error),
    /// What was scanned before cannot be read.
    #[error("cannot load the scanned Bitcoin blocks: {0}")]
    Storage(#[from] StorageError),
}

/// Why a follower round failed.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("cannot store a scanned block: {0}")]
    Storage(#[from] StorageError),
}

/// The log and the last scanned block as `store` keeps them.
fn load_log(store: &Store) -> Result<(MessageLog, Option<BlockRef>), StorageError> {
    let (blocks, messages) = store.read(|tx| {
        Ok((tx.range::<ScannedBlocks>(.., usize::MAX)?, tx.range::<L1Messages>(.., usize::MAX)?))
    })?;
    let mut log = MessageLog::default();
    let mut last = None;
    for (height, block) in blocks {
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        log.blocks.push_back((L1Anchor { height, hash: block.hash }, block.end_cursor));
        log.next_cursor = block.end_cursor;
        last = Some(BlockRef { height, hash: BlockHash::from_byte_array(block.hash) });
    }
    log.messages = messages.into_iter().map(|(cursor, Stored(tx))| (cursor, tx)).collect();
    Ok((log, last))
}

/// What the follower thread shares with the source.
#[derive(Debug, Default)]
struct Shared {
    log: MessageLog,
    /// The final tip of the source's best chain at the last successful round.
    final_tip_height: Option<u32>,
    /// Why the last round failed, `None` when it succeeded.
    error: Option<String>,
    /// Whether a round has succeeded since the start.
    synced: bool,
}

/// L1 messages from Bitcoin (see the module docs).
#[derive(Debug)]
pub struct BitcoinL1Source {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl BitcoinL1Source {
    /// Starts following Esplora at `esplora_url` for the chain `chain_id` with
    /// `rules`, polling every `poll` once caught up, keeping what it scanned in
    /// `store` if given.
    pub fn start_esplora(
        esplora_url: &str,
        chain_id: u64,
        rules: &L1Rules,
        poll: Duration,
        store: Option<Arc<Store>>,
    ) -> Result<Self, StartL1SourceError> {
        let client = esplora_client::Builder::new(esplora_url).timeout(10).build_blocking();
        Self::start(client, chain_id, rules.clone(), poll, store)
    }

    /// Starts following `source` on a thread of its own, going on after what `store`
    /// holds; the thread ends soon after the returned source is dropped.
    pub fn start<S: BitcoinSource + Send + 'static>(
        source: S,
        chain_id: u64,
        rules: L1Rules,
        poll: Duration,
        store: Option<Arc<Store>>,
    ) -> Result<Self, StartL1SourceError> {
        let (log, last) = match &store {
            Some(store) => load_log(store)?,
            None => (MessageLog::default(), None),
        };
        let client = match last {
            Some(last) => {
                tracing::info!(
                    target: "rollup::l1",
                    height = last.height,
                    messages = log.next_cursor(),
                    "going on after the last scanned Bitcoin block"
                );
                LightClient::resume(rules.start_height, rules.finality_depth, last)
            }
            None => LightClient::new(rules.start_height, rules.finality_depth),
        };
        let shared = Arc::new(Mutex::new(Shared { log, ..Shared::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let mut follower = Follower {
            source,
            chain_id,
            client,
            rules,
            pending: VecDeque::new(),
            shared: shared.clone(),
            store,
        };
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("l1-follower".to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    let caught_up = follower.round();
                    if caught_up {
                        sleep_unless(&stopped, poll);
                    }
                }
            })
            .map_err(StartL1SourceError::Thread)?;
        Ok(Self { shared, stop })
    }

    /// Waits until the follower has scanned the final blocks up to `height`, or
    /// `timeout` passes; whether it has. For tools and tests.
    pub fn wait_scanned(&self, height: u32, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if lock(&self.shared).log.last_block().is_some_and(|block| block.height >= height) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BitcoinL1Source {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl L1MessageSource for BitcoinL1Source {
    fn next(&mut self, from: u64, max: usize) -> Result<L1Inclusion, L1SourceError> {
        let mut shared = lock(&self.shared);
        if let Some(error) = &shared.error {
            return Err(L1SourceError::Unavailable(format!("cannot follow Bitcoin: {error}")));
        }
        let Some(final_tip_height) = shared.final_tip_height.filter(|_| shared.synced) else {
            return Err(L1SourceError::Unavailable("no final Bitcoin block known yet".to_owned()));
        };
        let (messages, anchor) = shared.log.take(from, max)?;
        Ok(L1Inclusion { messages, anchor, final_tip_height })
    }
}

/// The follower thread's state.
struct Follower<S> {
    source: S,
    chain_id: u64,
    rules: L1Rules,
    client: LightClient,
    /// Blocks reported final and not scanned yet, lowest first.
    pending: VecDeque<BlockRef>,
    shared: Arc<Mutex<Shared>>,
    store: Option<Arc<Store>>,
}

impl<S: BitcoinSource> Follower<S> {
    /// One round: sync the headers, scan the newly final blocks, publish. Whether the
    /// follower has caught up with the source's tip (then it can wait).
    fn round(&mut self) -> bool {
        match self.try_round() {
            Ok(caught_up) => {
                let mut shared = lock(&self.shared);
                shared.error = None;
                shared.synced = true;
                shared.final_tip_height =
                    self.client.source_tip_height().and_then(|tip| self.rules.final_height(tip));
                caught_up
            }
            Err(error) => {
                let message = error.to_string();
                let mut shared = lock(&self.shared);
                if shared.error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(target: "rollup::l1", %error, "cannot follow Bitcoin");
                }
                shared.error = Some(message);
                true
            }
        }
    }

    fn try_round(&mut self) -> Result<bool, RoundError> {
        let update = self.client.sync(&self.source)?;
        for dropped in &update.dropped {
            tracing::info!(
                target: "rollup::l1",
                height = dropped.height,
                hash = %dropped.hash,
                "Bitcoin block replaced before it was final"
            );
        }
        self.pending.extend(update.finalized);
        while let Some(block) = self.pending.front().copied() {
            let full = fetch_block(&self.source, block.height, &block.hash)?;
            let found = scan_block(&full, block, self.chain_id, &self.rules.bridge_script);
            if !found.is_empty() {
                tracing::info!(
                    target: "rollup::l1",
                    height = block.height,
                    messages = found.len(),
                    "L1 messages in a final Bitcoin block"
                );
            }
            let anchor = L1Anchor { height: block.height, hash: block.hash.to_byte_array() };
            let txs: Vec<L2Tx> = found.into_iter().map(|message| message.tx).collect();
            if let Some(store) = &self.store {
                // Only this thread appends: the log's next cursor is stable here.
                let first = lock(&self.shared).log.next_cursor();
                let end_cursor = first.saturating_add(u64::try_from(txs.len()).unwrap_or(u64::MAX));
                store.write(|tx| {
                    for (cursor, message) in (first..).zip(&txs) {
                        tx.put::<L1Messages>(&cursor, &Stored(message.clone()))?;
                    }
                    tx.put::<ScannedBlocks>(
                        &u64::from(block.height),
                        &ScannedBlock { hash: anchor.hash, end_cursor },
                    )
                })?;
            }
            lock(&self.shared).log.push_block(anchor, txs);
            self.pending.pop_front();
        }
        let caught_up = self.client.tip().map(|tip| tip.height) >= self.client.source_tip_height()
            || self.client.source_tip_height().is_some_and(|tip| tip < self.rules.start_height);
        Ok(caught_up)
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sleeps for `total`, waking early when `stop` is set.
fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rollup_l2::{Deposit, L1Outpoint, PubKey};

    use super::*;

    fn deposit(n: u8) -> L2Tx {
        L2Tx::Deposit(Deposit {
            l1_outpoint: L1Outpoint { txid: [n; 32], vout: 0 },
            amount: u64::from(n),
            to: 2,
            to_pubkey: PubKey::default(),
        })
    }

    fn anchor(height: u32) -> L1Anchor {
        L1Anchor { height, hash: [u8::try_from(height).unwrap(); 32] }
    }

    fn cursors(messages: &[L1Message]) -> Vec<u64> {
        messages.iter().map(|message| message.cursor).collect()
    }

    /// Blocks 10 (no message), 11 (messages 0, 1, 2), 12 (none), 13 (message 3).
    fn log() -> MessageLog {
        let mut log = MessageLog::default();
        log.push_block(anchor(10), vec![]);
        log.push_block(anchor(11), vec![deposit(0), deposit(1), deposit(2)]);
        log.push_block(anchor(12), vec![]);
        log.push_block(anchor(13), vec![deposit(3)]);
        log
    }

    #[test]
    fn the_anchor_is_the_highest_block_whose_messages_are_all_taken() {
        let mut all = log();
        let (messages, at) = all.take(0, 10).unwrap();
        assert_eq!(cursors(&messages), vec![0, 1, 2, 3]);
        assert_eq!(messages[3].tx, deposit(3));
        assert_eq!(at, anchor(13));

        // Room for two: block 11 is not complete, so the anchor stays at 10.
        let mut two = log();
        let (messages, at) = two.take(0, 2).unwrap();
        assert_eq!(cursors(&messages), vec![0, 1]);
        assert_eq!(at, anchor(10));
        // The next block finishes 11 and passes the empty 12.
        let (messages, at) = two.take(2, 1).unwrap();
        assert_eq!(cursors(&messages), vec![2]);
        assert_eq!(at, anchor(12));
        let (messages, at) = two.take(3, 1).unwrap();
        assert_eq!(cursors(&messages), vec![3]);
        assert_eq!(at, anchor(13));
        // Nothing left: the anchor stays at the last block.
        let (messages, at) = two.take(4, 1).unwrap();
        assert_eq!((messages, at), (vec![], anchor(13)));
    }

    #[test]
    fn no_anchor_before_a_block_fits_and_no_answer_past_the_scan() {
        let mut empty = MessageLog::default();
        assert_eq!(
            empty.take(0, 5),
            Err(L1SourceError::Unavailable(
                "no final Bitcoin block whose messages fit is scanned yet".to_owned()
            ))
        );
        let mut first_full = MessageLog::default();
        first_full.push_block(anchor(5), vec![deposit(0), deposit(1)]);
        assert!(first_full.take(0, 1).is_err());
        assert_eq!(first_full.take(0, 2).unwrap().1, anchor(5));

        let mut log = log();
        assert_eq!(
            log.take(5, 1),
            Err(L1SourceError::Unavailable(
                "Bitcoin scanned up to message 4, but the chain has consumed 5: still catching up".to_owned()
            ))
        );
    }

    #[test]
    fn a_restart_numbers_the_same_messages_alike() {
        // A source started again scans the same final blocks: same cursors, and a
        // chain that consumed 3 messages continues at 3 with the same anchor.
        let mut again = log();
        let (messages, at) = again.take(3, 8).unwrap();
        assert_eq!(cursors(&messages), vec![3]);
        assert_eq!(at, anchor(13));
    }
}
