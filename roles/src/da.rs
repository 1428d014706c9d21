//! The rollup's data on its DA layer, seen from a node: the batch blob of a stored
//! batch (what the controller posts) and the replay of posted batches (what a node
//! with no operator to talk to does to rebuild the chain from Bitcoin alone).
//!
//! - [`batch_blob`] assembles a closed batch's [`BatchBlob`] from the compact blocks
//!   the sequencer stored as it sealed them.
//! - [`DaReplay`] takes what a node reads from final Bitcoin blocks, in order: batch
//!   chunk envelopes (only those signed by a trusted poster key count; anyone can
//!   write an envelope with our tag) and L1 messages (deposits and forced
//!   transactions, in cursor order). As soon as a batch's chunks are all there and its
//!   L1 messages are known, it decompresses, decodes and replays the batch
//!   ([`rollup_l2::Rebuilder`]), checking every block's state root, and records the
//!   batch's `da_commitment`. A batch that fails is reported and its chunks dropped,
//!   so that a later repost under the same number can replace them; the chain never
//!   moves past a batch that does not replay.

use std::collections::BTreeMap;

use bitcoin::XOnlyPublicKey;
use rollup_l1::da::{reassemble_batch, Envelope, EnvelopeKind, ReassembleBatchError};
use rollup_l2::{
    decompress, AccountStore, BatchBlob, BlobError, BlockHeader, L2Tx, RebuildError, Rebuilder, State,
    StfParams, TreeStore,
};
use rollup_storage::{StorageError, Store};

use crate::controller::BatchRecord;
use crate::sequencer::{Blocks, CompactBlocks};

/// Why a stored batch's blob cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BatchBlobError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A block of the batch is not stored (in full or compact form).
    #[error("batch {batch}: block {block} is not stored{}", if *.compact { " in compact form" } else { "" })]
    MissingBlock {
        /// The batch.
        batch: u64,
        /// The block.
        block: u64,
        /// Whether its compact form is what is missing.
        compact: bool,
    },
}

/// The blob of the closed batch `record`, from the sequencer's tables.
pub fn batch_blob(store: &Store, record: &BatchRecord) -> Result<BatchBlob, BatchBlobError> {
    let batch = record.number;
    let (first, compact) = store.read(|tx| {
        let first = tx.get::<Blocks>(&record.first_block)?;
        let compact = tx.range::<CompactBlocks>(record.first_block..=record.last_block, usize::MAX)?;
        Ok((first, compact))
    })?;
    let first =
        first.ok_or(BatchBlobError::MissingBlock { batch, block: record.first_block, compact: false })?;
    let mut blocks = Vec::with_capacity(compact.len());
    for (expected, (number, stored)) in (record.first_block..=record.last_block).zip(compact.iter()) {
        if *number != expected {
            return Err(BatchBlobError::MissingBlock { batch, block: expected, compact: true });
        }
        blocks.push(stored.0.clone());
    }
    let stored = u64::try_from(blocks.len()).unwrap_or(u64::MAX);
    if stored != u64::from(record.blocks) {
        let block = record.first_block.saturating_add(stored);
        return Err(BatchBlobError::MissingBlock { batch, block, compact: true });
    }
    Ok(BatchBlob {
        number: batch,
        first_block: record.first_block,
        l1_cursor_before: first.0.header.l1_cursor_before,
        blocks,
    })
}

/// Why a posted batch was not replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Its chunks do not fit together.
    #[error(transparent)]
    Chunks(#[from] ReassembleBatchError),
    /// Its posted form or blob is malformed.
    #[error("batch {batch}: {error}")]
    Blob {
        /// The batch.
        batch: u64,
        /// What is wrong.
        error: BlobError,
    },
    /// It does not replay on the chain.
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
}

/// A batch replayed from the DA layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedBatch {
    /// The batch number.
    pub number: u64,
    /// `SHA-256` of its blob.
    pub da_commitment: [u8; 32],
    /// Its headers, rebuilt.
    pub headers: Vec<BlockHeader>,
}

/// The replay of posted batches (module docs).
#[derive(Debug)]
pub struct DaReplay<A, T> {
    rebuilder: Rebuilder<A, T>,
    posters: Vec<XOnlyPublicKey>,
    max_blob_bytes: usize,
    /// Chunk envelopes of batches not replayed yet, by batch number.
    chunks: BTreeMap<u64, Vec<Envelope>>,
    /// L1 messages from the chain's cursor on, in cursor order.
    messages: Vec<L2Tx>,
    /// The cursor of `messages[0]`.
    first_cursor: u64,
}

impl<A: AccountStore + Clone, T: TreeStore + Clone> DaReplay<A, T> {
    /// A replay from the genesis `state`, trusting batch chunks signed by `posters`,
    /// refusing blobs above `max_blob_bytes`.
    pub fn new(
        params: StfParams,
        state: State<A, T>,
        posters: Vec<XOnlyPublicKey>,
        max_blob_bytes: usize,
    ) -> Self {
        Self {
            rebuilder: Rebuilder::from_genesis(params, state),
            posters,
            max_blob_bytes,
            chunks: BTreeMap::new(),
            messages: Vec::new(),
            first_cursor: 0,
        }
    }

    /// The chain as replayed so far.
    pub fn rebuilder(&self) -> &Rebuilder<A, T> {
        &self.rebuilder
    }

    /// A batch chunk read from a final block, with the key that signed its reveal.
    /// Returns whether it was kept: chunks of other kinds, of batches already
    /// replayed, or signed by an untrusted key are dropped.
    pub fn push_chunk(&mut self, envelope: Envelope, poster: &XOnlyPublicKey) -> bool {
        let EnvelopeKind::BatchChunk { batch, .. } = envelope.kind() else { return false };
        if batch < self.rebuilder.next_batch() || !self.posters.contains(poster) {
            tracing::warn!(target: "rollup::da", batch, %poster, "batch chunk dropped: replayed already or untrusted poster");
            return false;
        }
        self.chunks.entry(batch).or_default().push(envelope);
        true
    }

    /// The next L1 message (cursor order), read from a final block.
    pub fn push_message(&mut self, message: L2Tx) {
        self.messages.push(message);
    }

    /// Replays every batch that can be replayed now, in order; stops at the first
    /// batch whose chunks or messages are not all there. A batch that fails is
    /// returned as an error and its chunks are dropped: a repost may replace them.
    pub fn step(&mut self) -> Vec<Result<ReplayedBatch, ReplayError>> {
        let mut out = Vec::new();
        loop {
            let number = self.rebuilder.next_batch();
            let Some(envelopes) = self.chunks.get(&number) else { break };
            let blob = match reassemble_batch(number, envelopes) {
                Ok(posted) => posted,
                Err(ReassembleBatchError::MissingChunks { .. }) => break,
                Err(error) => {
                    self.chunks.remove(&number);
                    out.push(Err(error.into()));
                    break;
                }
            };
            let decoded = decompress(&blob, self.max_blob_bytes).and_then(|bytes| {
                let decoded = BatchBlob::decode(&bytes)?;
                Ok((decoded, rollup_l2::da_commitment(&bytes)))
            });
            let (decoded, da_commitment) = match decoded {
                Ok(decoded) => decoded,
                Err(error) => {
                    self.chunks.remove(&number);
                    out.push(Err(ReplayError::Blob { batch: number, error }));
                    break;
                }
            };
            // Decoding checked the cursor sum: a decoded blob's count does not overflow.
            let needed = decoded.l1_messages().unwrap_or(u64::MAX);
            let offset = decoded.l1_cursor_before.saturating_sub(self.first_cursor);
            let available = u64::try_from(self.messages.len()).unwrap_or(u64::MAX).saturating_sub(offset);
            if available < needed {
                break;
            }
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.messages.len());
            let end =
                usize::try_from(offset.saturating_add(needed)).unwrap_or(usize::MAX).min(self.messages.len());
            match self.rebuilder.apply_batch(&decoded, &self.messages[start..end]) {
                Ok(headers) => {
                    self.chunks.remove(&number);
                    // Messages before the new cursor are consumed for good.
                    let consumed = self.rebuilder.head().l1_cursor_after.saturating_sub(self.first_cursor);
                    let consumed = usize::try_from(consumed).unwrap_or(usize::MAX).min(self.messages.len());
                    self.messages.drain(..consumed);
                    self.first_cursor = self.rebuilder.head().l1_cursor_after;
                    tracing::info!(
                        target: "rollup::da",
                        batch = number,
                        blocks = headers.len(),
                        state_root = %self.rebuilder.head().state_root,
                        "batch replayed from the DA layer"
                    );
                    out.push(Ok(ReplayedBatch { number, da_commitment, headers }));
                }
                Err(error) => {
                    self.chunks.remove(&number);
                    out.push(Err(error.into()));
                    break;
                }
            }
        }
        out
    }
}
