//! Batches (docs/protocol.md section 4): runs of consecutive blocks, cut by rules fixed in
//! genesis so that every operator node cuts the same batches.

use serde::{Deserialize, Serialize};

use crate::types::{Block, Encode};

/// The batch cutting rules (genesis parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRules {
    /// Most blocks in a batch.
    pub max_blocks: u32,
    /// Most bytes of encoded blocks in a batch (the blob before compression).
    pub max_blob_bytes: u32,
    /// A batch closes with the first block at least this many milliseconds younger
    /// than its first block (by header timestamps).
    pub max_age_ms: u64,
}

impl Default for BatchRules {
    /// 16 blocks, 390,000 bytes (one DA chunk), 10 minutes.
    fn default() -> Self {
        Self { max_blocks: 16, max_blob_bytes: 390_000, max_age_ms: 600_000 }
    }
}

impl BatchRules {
    /// Every broken rule, in words.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_blocks == 0 || self.max_blocks > 4096 {
            problems.push(format!("batch.max_blocks is {}, it must be in 1..=4096", self.max_blocks));
        }
        if self.max_blob_bytes < 1024 {
            problems
                .push(format!("batch.max_blob_bytes is {}, it must be at least 1024", self.max_blob_bytes));
        }
        if self.max_age_ms == 0 {
            problems.push("batch.max_age_ms must be at least 1".to_owned());
        }
        problems
    }
}

/// A batch: a run of consecutive blocks, closed (or still open) by the cutting rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSpan {
    /// The batch number; batch 0 starts at block 1.
    pub number: u64,
    /// Its first block.
    pub first_block: u64,
    /// Its last block (so far, while open).
    pub last_block: u64,
    /// Number of blocks: `last_block - first_block + 1`.
    pub blocks: u32,
    /// Sum of the sizes of its blocks' canonical encodings (`Block::encode().len()`).
    pub blob_bytes: u64,
    /// Header timestamp of its first block, in milliseconds.
    pub first_timestamp_ms: u64,
    /// Header timestamp of its last block, in milliseconds.
    pub last_timestamp_ms: u64,
}

/// Why a block cannot be fed to a [`BatchCutter`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CutError {
    /// The block is not the next one (a gap or a repeat).
    #[error("block {found} is out of order: the cutter expects block {expected}")]
    OutOfOrder {
        /// The block the cutter expects.
        expected: u64,
        /// The block it was given.
        found: u64,
    },
    /// A block or batch number, or a batch's size, does not fit its type.
    #[error("{what} overflows after {value}")]
    Overflow {
        /// What overflowed.
        what: &'static str,
        /// Its value before the overflowing step.
        value: u64,
    },
}

/// Cuts blocks into batches by [`BatchRules`], one block at a time, in block order.
///
/// For each block: if the open batch is non-empty and its bytes plus the block's size
/// exceed `max_blob_bytes`, the open batch closes first and the block starts the next
/// batch (so a block larger than `max_blob_bytes` forms a batch alone). The block is
/// then added; the batch closes if it holds `max_blocks` blocks, or its bytes reach
/// `max_blob_bytes`, or the block's timestamp is at least `max_age_ms` after the first
/// block's. The cutter is pure: fed the same blocks, it cuts the same batches, and a
/// cutter resumed after the last closed batch ([`BatchCutter::after`]) and re-fed the
/// blocks of the open batch continues exactly as the original would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchCutter {
    rules: BatchRules,
    next_batch: u64,
    next_block: u64,
    open: Option<BatchSpan>,
}

impl BatchCutter {
    /// A cutter whose next batch is `next_batch`, starting at block `first_block`.
    pub fn new(rules: BatchRules, next_batch: u64, first_block: u64) -> Self {
        Self { rules, next_batch, next_block: first_block, open: None }
    }

    /// A cutter resuming after `last`, the last closed batch (`None`: from genesis,
    /// batch 0 at block 1).
    pub fn after(rules: BatchRules, last: Option<&BatchSpan>) -> Result<Self, CutError> {
        let Some(last) = last else { return Ok(Self::new(rules, 0, 1)) };
        let next_batch = last
            .number
            .checked_add(1)
            .ok_or(CutError::Overflow { what: "the batch number", value: last.number })?;
        let next_block = last
            .last_block
            .checked_add(1)
            .ok_or(CutError::Overflow { what: "the block number", value: last.last_block })?;
        Ok(Self::new(rules, next_batch, next_block))
    }

    /// The rules it cuts by.
    pub fn rules(&self) -> &BatchRules {
        &self.rules
    }

    /// The block it expects next.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// The number of the open batch, or of the next batch to open.
    pub fn next_batch(&self) -> u64 {
        self.next_batch
    }

    /// The open batch, if it holds any block.
    pub fn open(&self) -> Option<&BatchSpan> {
        self.open.as_ref()
    }

    /// Feeds the next block; returns the batches it closed (0, 1 or 2, in order).
    pub fn push(&mut self, block: &Block) -> Result<Vec<BatchSpan>, CutError> {
        let size = u64::try_from(block.encode().len()).unwrap_or(u64::MAX);
        self.push_sized(block.header.number, block.header.timestamp_ms, size)
    }

    /// Feeds the next block given by its number, header timestamp and encoded size.
    /// On an error nothing changes.
    pub fn push_sized(
        &mut self,
        number: u64,
        timestamp_ms: u64,
        size: u64,
    ) -> Result<Vec<BatchSpan>, CutError> {
        if number != self.next_block {
            return Err(CutError::OutOfOrder { expected: self.next_block, found: number });
        }
        let next_block =
            number.checked_add(1).ok_or(CutError::Overflow { what: "the block number", value: number })?;
        let max_bytes = u64::from(self.rules.max_blob_bytes);
        let mut next_batch = self.next_batch;
        let mut closed = Vec::new();
        let mut open = self.open;
        if let Some(batch) = open {
            if batch.blob_bytes.saturating_add(size) > max_bytes {
                closed.push(batch);
                next_batch = next_batch
                    .checked_add(1)
                    .ok_or(CutError::Overflow { what: "the batch number", value: next_batch })?;
                open = None;
            }
        }
        let batch = match open {
            Some(mut batch) => {
                batch.last_block = number;
                batch.blocks = batch.blocks.checked_add(1).ok_or(CutError::Overflow {
                    what: "the batch's block count",
                    value: u64::from(batch.blocks),
                })?;
                batch.blob_bytes = batch
                    .blob_bytes
                    .checked_add(size)
                    .ok_or(CutError::Overflow { what: "the batch's size", value: batch.blob_bytes })?;
                batch.last_timestamp_ms = timestamp_ms;
                batch
            }
            None => BatchSpan {
                number: next_batch,
                first_block: number,
                last_block: number,
                blocks: 1,
                blob_bytes: size,
                first_timestamp_ms: timestamp_ms,
                last_timestamp_ms: timestamp_ms,
            },
        };
        let closes = batch.blocks >= self.rules.max_blocks
            || batch.blob_bytes >= max_bytes
            || timestamp_ms.saturating_sub(batch.first_timestamp_ms) >= self.rules.max_age_ms;
        if closes {
            closed.push(batch);
            next_batch = next_batch
                .checked_add(1)
                .ok_or(CutError::Overflow { what: "the batch number", value: next_batch })?;
            self.open = None;
        } else {
            self.open = Some(batch);
        }
        self.next_batch = next_batch;
        self.next_block = next_block;
        Ok(closed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::types::BlockHeader;

    const RULES: BatchRules = BatchRules { max_blocks: 3, max_blob_bytes: 1_000, max_age_ms: 500 };

    fn span(number: u64, first: u64, last: u64, bytes: u64, first_ms: u64, last_ms: u64) -> BatchSpan {
        BatchSpan {
            number,
            first_block: first,
            last_block: last,
            blocks: u32::try_from(last - first + 1).unwrap(),
            blob_bytes: bytes,
            first_timestamp_ms: first_ms,
            last_timestamp_ms: last_ms,
        }
    }

    /// Feeds `(timestamp, size)` for blocks 1, 2, ... and returns every closed batch.
    fn cut(rules: BatchRules, blocks: &[(u64, u64)]) -> (Vec<BatchSpan>, BatchCutter) {
        let mut cutter = BatchCutter::new(rules, 0, 1);
        let mut closed = Vec::new();
        for (number, (ms, size)) in (1u64..).zip(blocks) {
            closed.extend(cutter.push_sized(number, *ms, *size).unwrap());
        }
        (closed, cutter)
    }

    #[test]
    fn a_batch_closes_at_max_blocks() {
        let (closed, cutter) = cut(RULES, &[(0, 10); 7]);
        assert_eq!(closed, vec![span(0, 1, 3, 30, 0, 0), span(1, 4, 6, 30, 0, 0)]);
        assert_eq!(cutter.open(), Some(&span(2, 7, 7, 10, 0, 0)));
        assert_eq!((cutter.next_batch(), cutter.next_block()), (2, 8));
    }

    #[test]
    fn a_batch_closes_when_its_bytes_reach_the_limit() {
        let (closed, cutter) = cut(RULES, &[(0, 400), (0, 600), (0, 10)]);
        assert_eq!(closed, vec![span(0, 1, 2, 1_000, 0, 0)]);
        assert_eq!(cutter.open(), Some(&span(1, 3, 3, 10, 0, 0)));
    }

    #[test]
    fn a_block_that_does_not_fit_closes_the_open_batch_first() {
        let mut cutter = BatchCutter::new(RULES, 0, 1);
        assert_eq!(cutter.push_sized(1, 0, 400).unwrap(), vec![]);
        assert_eq!(cutter.push_sized(2, 0, 601).unwrap(), vec![span(0, 1, 1, 400, 0, 0)]);
        assert_eq!(cutter.open(), Some(&span(1, 2, 2, 601, 0, 0)));
    }

    #[test]
    fn an_oversized_block_forms_a_batch_alone() {
        let mut cutter = BatchCutter::new(RULES, 0, 1);
        assert_eq!(cutter.push_sized(1, 0, 100).unwrap(), vec![]);
        // It closes the open batch before it and its own batch after it.
        assert_eq!(
            cutter.push_sized(2, 0, 5_000).unwrap(),
            vec![span(0, 1, 1, 100, 0, 0), span(1, 2, 2, 5_000, 0, 0)]
        );
        assert_eq!(cutter.open(), None);
        // Into an empty batch: closes only after.
        assert_eq!(cutter.push_sized(3, 0, 1_001).unwrap(), vec![span(2, 3, 3, 1_001, 0, 0)]);
        assert_eq!((cutter.next_batch(), cutter.next_block()), (3, 4));
    }

    #[test]
    fn a_batch_closes_by_age() {
        let (closed, cutter) = cut(RULES, &[(1_000, 10), (1_499, 10), (1_500, 10), (1_600, 10)]);
        assert_eq!(closed, vec![span(0, 1, 3, 30, 1_000, 1_500)]);
        assert_eq!(cutter.open(), Some(&span(1, 4, 4, 10, 1_600, 1_600)));
        let rules = BatchRules { max_blocks: 100, ..RULES };
        let (closed, _) = cut(rules, &[(1_000, 10), (1_100, 10), (1_200, 10), (1_499, 10), (1_500, 10)]);
        assert_eq!(closed, vec![span(0, 1, 5, 50, 1_000, 1_500)]);
        // A timestamp before the first block's is age 0, not an underflow.
        let (closed, cutter) = cut(rules, &[(1_000, 10), (10, 10)]);
        assert_eq!(closed, vec![]);
        assert_eq!(cutter.open(), Some(&span(0, 1, 2, 20, 1_000, 10)));
    }

    #[test]
    fn blocks_out_of_order_are_refused_and_change_nothing() {
        let mut cutter = BatchCutter::new(RULES, 0, 1);
        cutter.push_sized(1, 0, 10).unwrap();
        let before = cutter.clone();
        assert_eq!(cutter.push_sized(3, 0, 10), Err(CutError::OutOfOrder { expected: 2, found: 3 }));
        assert_eq!(cutter.push_sized(1, 0, 10), Err(CutError::OutOfOrder { expected: 2, found: 1 }));
        assert_eq!(cutter.push(&Block::default()), Err(CutError::OutOfOrder { expected: 2, found: 0 }));
        assert_eq!(cutter, before);
        assert_eq!(
            CutError::OutOfOrder { expected: 2, found: 3 }.to_string(),
            "block 3 is out of order: the cutter expects block 2"
        );
    }

    #[test]
    fn overflowing_numbers_are_refused() {
        let mut cutter = BatchCutter::new(RULES, 0, u64::MAX);
        assert_eq!(
            cutter.push_sized(u64::MAX, 0, 10),
            Err(CutError::Overflow { what: "the block number", value: u64::MAX })
        );
        let mut cutter = BatchCutter::new(RULES, u64::MAX, 1);
        assert_eq!(
            cutter.push_sized(1, 0, 5_000),
            Err(CutError::Overflow { what: "the batch number", value: u64::MAX })
        );
        assert_eq!(cutter, BatchCutter::new(RULES, u64::MAX, 1));
        let last = span(u64::MAX, 1, 1, 10, 0, 0);
        assert_eq!(
            BatchCutter::after(RULES, Some(&last)),
            Err(CutError::Overflow { what: "the batch number", value: u64::MAX })
        );
        assert_eq!(
            CutError::Overflow { what: "the block number", value: 7 }.to_string(),
            "the block number overflows after 7"
        );
    }

    fn block(number: u64, timestamp_ms: u64) -> Block {
        Block { header: BlockHeader { number, timestamp_ms, ..BlockHeader::default() }, txs: Vec::new() }
    }

    #[test]
    fn the_size_of_a_block_is_its_canonical_encoding() {
        let one = block(1, 5);
        let size = u64::try_from(one.encode().len()).unwrap();
        let mut cutter = BatchCutter::new(RULES, 0, 1);
        assert_eq!(cutter.push(&one).unwrap(), vec![]);
        assert_eq!(cutter.open(), Some(&span(0, 1, 1, size, 5, 5)));
    }

    #[test]
    fn resuming_after_the_last_closed_batch_cuts_the_same_batches() {
        let rules = BatchRules { max_blocks: 4, max_blob_bytes: 1_024, max_age_ms: 300 };
        // Timestamps and sizes that exercise every rule.
        let blocks: Vec<Block> = (1..=60u64).map(|n| block(n, n * n * 7 % 1_000 + n * 40)).collect();
        let mut whole = BatchCutter::after(rules, None).unwrap();
        let mut expected = Vec::new();
        for block in &blocks {
            expected.extend(whole.push(block).unwrap());
        }
        assert!(expected.len() > 10, "{expected:?}");
        assert!(expected.iter().any(|batch| batch.blocks < 4), "no batch closed by age or bytes");
        // Restart after every block: a new cutter from the last closed batch, re-fed
        // the open batch's blocks, then the next block.
        let mut closed: Vec<BatchSpan> = Vec::new();
        for fed in 1..=blocks.len() {
            let mut cutter = BatchCutter::after(rules, closed.last()).unwrap();
            let start = usize::try_from(cutter.next_block()).unwrap() - 1;
            let mut again = Vec::new();
            for block in &blocks[start..fed - 1] {
                again.extend(cutter.push(block).unwrap());
            }
            assert_eq!(again, vec![], "re-feeding the open batch closes nothing");
            closed.extend(cutter.push(&blocks[fed - 1]).unwrap());
        }
        assert_eq!(closed, expected);
        for (number, batch) in (0u64..).zip(&closed) {
            assert_eq!(batch.number, number);
        }
        for pair in closed.windows(2) {
            assert_eq!(pair[1].first_block, pair[0].last_block + 1);
        }
        assert_eq!(closed[0].first_block, 1);
    }
}
