//! Rebuilding the chain from its DA layer (docs/protocol.md section 4): a node with the
//! genesis, the batch blobs and the L1 messages, and nothing from any operator,
//! replays every batch and reaches every block's header and state root.
//!
//! [`Rebuilder::apply_batch`] takes the next batch's blob and the L1 messages its
//! blocks consume, runs each block (its L1 messages first, as intrinsic transactions,
//! then its packed user transactions) and checks each block's claimed state root. A
//! batch that does not continue the chain, lacks messages, holds a transaction the
//! rules refuse, or claims a root the replay does not reach is refused and changes
//! nothing.

use crate::blob::{tx_commitment, BatchBlob};
use crate::hash::Digest;
use crate::stf::{AccountStore, State, StfParams, TxError};
use crate::tree::TreeStore;
use crate::types::{BlockHeader, L2Tx};

impl BlockHeader {
    /// The genesis block's header: block 0, both state roots the genesis state's,
    /// every other field zero. Block 1's parent hash is its hash.
    pub fn genesis(state_root: Digest) -> Self {
        Self { prev_state_root: state_root, state_root, ..Self::default() }
    }
}

/// Why a batch cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RebuildError {
    /// The batch is not the next one.
    #[error("expected batch {expected}, got batch {found}")]
    WrongBatch {
        /// The next batch number.
        expected: u64,
        /// The blob's.
        found: u64,
    },
    /// The batch does not start after the last replayed block.
    #[error("batch {batch} starts at block {found}, the chain continues at block {expected}")]
    WrongFirstBlock {
        /// The batch.
        batch: u64,
        /// The next block number.
        expected: u64,
        /// The blob's first block.
        found: u64,
    },
    /// The batch does not start at the chain's L1 cursor.
    #[error("batch {batch} starts at L1 cursor {found}, the chain is at {expected}")]
    WrongCursor {
        /// The batch.
        batch: u64,
        /// The chain's cursor.
        expected: u64,
        /// The blob's.
        found: u64,
    },
    /// Fewer or more L1 messages were given than the batch's blocks consume.
    #[error("batch {batch} consumes {needed} L1 messages, {given} were given")]
    MessageCount {
        /// The batch.
        batch: u64,
        /// Messages its blocks consume.
        needed: u64,
        /// Messages given.
        given: usize,
    },
    /// A given L1 message is a user transaction (only deposits and forced ones are).
    #[error("L1 message {cursor} is not a deposit or a forced transaction")]
    NotAnL1Message {
        /// Its cursor.
        cursor: u64,
    },
    /// A packed user transaction breaks the rules.
    #[error("block {block}, user transaction {position}: {error}")]
    InvalidTransaction {
        /// The block.
        block: u64,
        /// Its position among the block's user transactions.
        position: usize,
        /// Why.
        error: TxError,
    },
    /// The replay does not reach a block's claimed state root.
    #[error("block {block} claims state root {claimed}, the replay reaches {actual}")]
    StateRoot {
        /// The block.
        block: u64,
        /// The blob's root.
        claimed: Digest,
        /// The replayed root.
        actual: Digest,
    },
    /// The blob is inconsistent (a number overflows).
    #[error("batch {batch}: {reason}")]
    Blob {
        /// The batch.
        batch: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The chain as replayed from the DA layer: the state, the last header, the next batch.
#[derive(Debug)]
pub struct Rebuilder<A, T> {
    params: StfParams,
    state: State<A, T>,
    head: BlockHeader,
    next_batch: u64,
}

impl<A: AccountStore + Clone, T: TreeStore + Clone> Rebuilder<A, T> {
    /// Starts from `state` (the genesis state) with [`BlockHeader::genesis`].
    pub fn from_genesis(params: StfParams, state: State<A, T>) -> Self {
        let head = BlockHeader::genesis(state.root());
        Self { params, state, head, next_batch: 0 }
    }

    /// Continues from a known point: `head` is the last block of batch
    /// `next_batch - 1` and `state` the state after it.
    pub fn resume(params: StfParams, state: State<A, T>, head: BlockHeader, next_batch: u64) -> Self {
        Self { params, state, head, next_batch }
    }

    /// The state after the last replayed block.
    pub fn state(&self) -> &State<A, T> {
        &self.state
    }

    /// The last replayed header.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// The number of the next batch to replay.
    pub fn next_batch(&self) -> u64 {
        self.next_batch
    }

    /// Replays the next batch: `messages` are the L1 messages (deposits and forced
    /// transactions, as intrinsic transactions) with cursors from the blob's
    /// `l1_cursor_before` on, exactly as many as its blocks consume. Returns the
    /// batch's headers. On error nothing changes.
    pub fn apply_batch(
        &mut self,
        blob: &BatchBlob,
        messages: &[L2Tx],
    ) -> Result<Vec<BlockHeader>, RebuildError> {
        let batch = blob.number;
        if batch != self.next_batch {
            return Err(RebuildError::WrongBatch { expected: self.next_batch, found: batch });
        }
        let expected_first =
            self.head.number.checked_add(1).ok_or_else(|| overflow(batch, "block number"))?;
        if blob.first_block != expected_first {
            return Err(RebuildError::WrongFirstBlock {
                batch,
                expected: expected_first,
                found: blob.first_block,
            });
        }
        if blob.l1_cursor_before != self.head.l1_cursor_after {
            return Err(RebuildError::WrongCursor {
                batch,
                expected: self.head.l1_cursor_after,
                found: blob.l1_cursor_before,
            });
        }
        let needed = blob.l1_messages().ok_or_else(|| overflow(batch, "L1 message count"))?;
        if u64::try_from(messages.len()).ok() != Some(needed) {
            return Err(RebuildError::MessageCount { batch, needed, given: messages.len() });
        }
        let headers = blob
            .headers(&self.head)
            .map_err(|error| RebuildError::Blob { batch, reason: error.to_string() })?;
        let mut state = self.state.clone();
        let mut remaining = messages;
        let mut cursor = blob.l1_cursor_before;
        for (header, block) in headers.iter().zip(&blob.blocks) {
            let count =
                usize::try_from(block.l1_messages).map_err(|_| overflow(batch, "L1 message count"))?;
            let (consumed, rest) = remaining.split_at(count.min(remaining.len()));
            remaining = rest;
            for message in consumed {
                if !message.is_intrinsic() {
                    return Err(RebuildError::NotAnL1Message { cursor });
                }
                // An intrinsic transaction that fails is a recorded no-op.
                let _ = state.apply_tx(&self.params, message);
                cursor = cursor.saturating_add(1);
            }
            for (position, tx) in block.txs.iter().enumerate() {
                state.apply_packed(&self.params, tx).map_err(|error| RebuildError::InvalidTransaction {
                    block: header.number,
                    position,
                    error,
                })?;
            }
            if state.root() != header.state_root {
                return Err(RebuildError::StateRoot {
                    block: header.number,
                    claimed: header.state_root,
                    actual: state.root(),
                });
            }
            debug_assert_eq!(header.tx_commitment, tx_commitment(&block.txs));
        }
        self.state = state;
        if let Some(last) = headers.last() {
            self.head = last.clone();
        }
        self.next_batch = batch.checked_add(1).ok_or_else(|| overflow(batch, "batch number"))?;
        Ok(headers)
    }
}

fn overflow(batch: u64, what: &str) -> RebuildError {
    RebuildError::Blob { batch, reason: format!("the {what} overflows") }
}
