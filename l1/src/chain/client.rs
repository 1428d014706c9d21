//! [`LightClient`]: the followed header chain, its reorganisations and finality.

use bitcoin::BlockHash;

use super::source::{BitcoinSource, SourceError};

/// Most headers one [`LightClient::sync`] reads, so that a follower far behind
/// catches up over several calls instead of blocking its caller for long.
pub const DEFAULT_MAX_HEADERS_PER_SYNC: u32 = 500;

/// A Bitcoin block by height and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Its height.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
}

/// What one [`LightClient::sync`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainUpdate {
    /// Blocks that were on the followed chain and are not any more (a
    /// reorganisation), highest first. None of them was final.
    pub dropped: Vec<BlockRef>,
    /// Blocks that became final, lowest first, each reported once.
    pub finalized: Vec<BlockRef>,
}

/// Why the followed chain cannot be extended, or must not be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The source did not answer (Bitcoin unreachable, an HTTP error).
    #[error("bitcoin source: {0}")]
    Source(#[from] SourceError),
    /// A header or block that does not hash to the hash the source gave for it.
    #[error("block {height}: expected hash {expected}, the source's data hashes to {found}")]
    HashMismatch {
        /// Its height.
        height: u32,
        /// The hash asked for.
        expected: BlockHash,
        /// The hash of what came back.
        found: BlockHash,
    },
    /// A header whose parent is not the followed block below it.
    #[error("block {height} ({hash}) names parent {found}, but the followed block {below} is {expected}", below = height.saturating_sub(1))]
    BrokenLink {
        /// Its height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
        /// The followed block at `height - 1`.
        expected: BlockHash,
        /// The parent the header names.
        found: BlockHash,
    },
    /// A header whose hash is above the target its own `bits` set.
    #[error("block {height} ({hash}) does not meet the proof of work its bits claim")]
    BadProofOfWork {
        /// Its height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
    },
    /// A reorganisation would replace a block already reported final: the chain's
    /// finality depth was too shallow for what happened on Bitcoin. The follower
    /// stops; an operator must look.
    #[error("block {height} ({hash}) was final but is no longer on the source's best chain")]
    FinalityViolated {
        /// The final block's height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
    },
    /// The source does not have a block of the followed chain.
    #[error("the source has no block {hash} at height {height}")]
    MissingBlock {
        /// Its height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
    },
    /// A block whose content does not match its header.
    #[error("block {height} ({hash}): {what}")]
    BadBlock {
        /// Its height.
        height: u32,
        /// Its hash.
        hash: BlockHash,
        /// What is wrong.
        what: &'static str,
    },
}

/// Follows the best Bitcoin header chain from a start height, with reorganisations
/// and finality (see the module docs).
#[derive(Clone, Debug)]
pub struct LightClient {
    start_height: u32,
    /// The height of `chain[0]`: the start height until a block is final, then the
    /// final tip (blocks below it are never needed again).
    base_height: u32,
    finality_depth: u32,
    max_headers_per_sync: u32,
    /// The followed chain from `base_height` on: the block at `base_height + i` at
    /// index `i`.
    chain: Vec<BlockHash>,
    /// The highest block reported final.
    final_tip: Option<BlockRef>,
    /// The source's tip height at the last sync.
    source_tip: Option<u32>,
}

impl LightClient {
    /// A client following from `start_height` (the first block it reads; its own
    /// parent is not checked), final at `finality_depth` confirmations (at least 1).
    pub fn new(start_height: u32, finality_depth: u32) -> Self {
        Self {
            start_height,
            base_height: start_height,
            finality_depth: finality_depth.max(1),
            max_headers_per_sync: DEFAULT_MAX_HEADERS_PER_SYNC,
            chain: Vec::new(),
            final_tip: None,
            source_tip: None,
        }
    }

    /// A client going on after `final_tip`, a block it (or an earlier run) reported
    /// final: it is the followed chain's first block, and the next sync checks that
    /// the source still has it.
    pub fn resume(start_height: u32, finality_depth: u32, final_tip: BlockRef) -> Self {
        let mut client = Self::new(start_height, finality_depth);
        client.base_height = final_tip.height;
        client.chain.push(final_tip.hash);
        client.final_tip = Some(final_tip);
        client
    }

    /// Sets how many headers one [`sync`](Self::sync) reads at most (at least 1).
    pub fn with_max_headers_per_sync(mut self, max: u32) -> Self {
        self.max_headers_per_sync = max.max(1);
        self
    }

    /// The followed tip, `None` before the first block is read.
    pub fn tip(&self) -> Option<BlockRef> {
        let hash = self.chain.last()?;
        Some(BlockRef { height: self.height_of(self.chain.len().checked_sub(1)?)?, hash: *hash })
    }

    /// The highest final block, `None` while none is.
    pub fn final_tip(&self) -> Option<BlockRef> {
        self.final_tip
    }

    /// The height of the source's best tip as of the last [`sync`](Self::sync) that
    /// reached the source, `None` before.
    pub fn source_tip_height(&self) -> Option<u32> {
        self.source_tip
    }

    /// The followed block at `height`, if any (blocks below the final tip are
    /// forgotten).
    pub fn block_at(&self, height: u32) -> Option<BlockRef> {
        let index = usize::try_from(height.checked_sub(self.base_height)?).ok()?;
        self.chain.get(index).map(|hash| BlockRef { height, hash: *hash })
    }

    /// The height of the followed block at `index`.
    fn height_of(&self, index: usize) -> Option<u32> {
        self.base_height.checked_add(u32::try_from(index).ok()?)
    }

    /// Brings the followed chain to the source's best tip: walks back past blocks the
    /// source no longer has on its best chain, then reads up to the configured number
    /// of new headers, checking each. Returns the dropped and newly final blocks.
    ///
    /// On an error the chain keeps what was checked before it; the next call goes on
    /// from there. A [`ChainError::FinalityViolated`] repeats until the source's best
    /// chain holds the final blocks again.
    pub fn sync<S: BitcoinSource + ?Sized>(&mut self, source: &S) -> Result<ChainUpdate, ChainError> {
        let remote_tip = source.tip_height()?;
        self.source_tip = Some(remote_tip);
        let mut update = ChainUpdate::default();

        // Walk back to the fork point.
        while let Some(tip) = self.tip() {
            if tip.height <= remote_tip && source.hash_at(tip.height)? == tip.hash {
                break;
            }
            if self.final_tip.is_some_and(|final_tip| tip.height <= final_tip.height) {
                return Err(ChainError::FinalityViolated { height: tip.height, hash: tip.hash });
            }
            tracing::warn!(
                target: "rollup::l1::chain",
                height = tip.height,
                hash = %tip.hash,
                "block replaced by a reorganisation"
            );
            self.chain.pop();
            update.dropped.push(tip);
        }

        // Extend, checking each header.
        let mut read = 0u32;
        loop {
            let next = match self.tip() {
                Some(tip) => match tip.height.checked_add(1) {
                    Some(next) => next,
                    None => break,
                },
                None => self.start_height,
            };
            if next > remote_tip || read >= self.max_headers_per_sync {
                break;
            }
            let hash = source.hash_at(next)?;
            let header = source.header(&hash)?;
            let found = header.block_hash();
            if found != hash {
                return Err(ChainError::HashMismatch { height: next, expected: hash, found });
            }
            if header.validate_pow(header.target()).is_err() {
                return Err(ChainError::BadProofOfWork { height: next, hash });
            }
            if let Some(parent) = self.tip() {
                if header.prev_blockhash != parent.hash {
                    return Err(ChainError::BrokenLink {
                        height: next,
                        hash,
                        expected: parent.hash,
                        found: header.prev_blockhash,
                    });
                }
            }
            self.chain.push(hash);
            read = read.saturating_add(1);
        }

        // Newly final blocks.
        if let Some(tip) = self.tip() {
            if let Some(final_height) = tip.height.checked_sub(self.finality_depth.saturating_sub(1)) {
                let first = match self.final_tip {
                    Some(done) => done.height.saturating_add(1),
                    None => self.start_height,
                };
                for height in first..=final_height {
                    if let Some(block) = self.block_at(height) {
                        update.finalized.push(block);
                        self.final_tip = Some(block);
                    }
                }
            }
        }
        // Keep the final tip (the parent of what comes next) and what is above it.
        if let Some(final_tip) = self.final_tip {
            let below = final_tip.height.saturating_sub(self.base_height);
            let below = usize::try_from(below).unwrap_or(usize::MAX).min(self.chain.len());
            self.chain.drain(..below);
            self.base_height = self.base_height.saturating_add(u32::try_from(below).unwrap_or(u32::MAX));
        }
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

    use std::cell::RefCell;
    use std::collections::HashMap;

    use bitcoin::block::{Header, Version};
    use bitcoin::hashes::Hash;
    use bitcoin::{Block, CompactTarget, TxMerkleNode};

    use super::*;

    /// Regtest's easiest target: about one nonce in two meets it.
    const REGTEST_BITS: u32 = 0x207f_ffff;

    /// A header on `parent`, mined at regtest difficulty; `salt` tells siblings apart.
    fn mine(parent: BlockHash, salt: u32) -> Header {
        let mut header = Header {
            version: Version::TWO,
            prev_blockhash: parent,
            merkle_root: TxMerkleNode::all_zeros(),
            time: salt,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        };
        while header.validate_pow(header.target()).is_err() {
            header.nonce += 1;
        }
        header
    }

    /// An in-memory source whose best chain tests rewrite.
    #[derive(Default)]
    struct Chain {
        best: RefCell<Vec<Header>>,
        headers: RefCell<HashMap<BlockHash, Header>>,
        down: RefCell<bool>,
    }

    impl Chain {
        fn new(length: usize) -> Self {
            let chain = Chain::default();
            chain.extend(length, 0);
            chain
        }

        /// Appends `count` blocks to the best chain.
        fn extend(&self, count: usize, salt: u32) {
            for _ in 0..count {
                let parent = self.best.borrow().last().map_or(BlockHash::all_zeros(), Header::block_hash);
                self.push(mine(parent, salt));
            }
        }

        fn push(&self, header: Header) {
            self.headers.borrow_mut().insert(header.block_hash(), header);
            self.best.borrow_mut().push(header);
        }

        /// Replaces the blocks from `height` on with `count` new ones.
        fn reorg(&self, height: usize, count: usize) {
            self.best.borrow_mut().truncate(height);
            self.extend(count, 1000 + height as u32);
        }

        fn hash(&self, height: u32) -> BlockHash {
            self.best.borrow()[height as usize].block_hash()
        }

        fn refs(&self, heights: std::ops::RangeInclusive<u32>) -> Vec<BlockRef> {
            heights.map(|height| BlockRef { height, hash: self.hash(height) }).collect()
        }
    }

    impl BitcoinSource for Chain {
        fn tip_height(&self) -> Result<u32, SourceError> {
            if *self.down.borrow() {
                return Err(SourceError("connection refused".to_owned()));
            }
            Ok(self.best.borrow().len() as u32 - 1)
        }

        fn hash_at(&self, height: u32) -> Result<BlockHash, SourceError> {
            self.best
                .borrow()
                .get(height as usize)
                .map(Header::block_hash)
                .ok_or_else(|| SourceError(format!("no block at {height}")))
        }

        fn header(&self, hash: &BlockHash) -> Result<Header, SourceError> {
            self.headers.borrow().get(hash).copied().ok_or_else(|| SourceError(format!("no header {hash}")))
        }

        fn block(&self, _: &BlockHash) -> Result<Option<Block>, SourceError> {
            Ok(None)
        }
    }

    #[test]
    fn follows_from_the_start_height_and_reports_each_final_block_once() {
        let chain = Chain::new(10); // heights 0..=9
        let mut client = LightClient::new(3, 2);
        let update = client.sync(&chain).unwrap();
        assert_eq!(update.dropped, vec![]);
        // Tip 9: final up to 8 (two confirmations), from the start height 3.
        assert_eq!(update.finalized, chain.refs(3..=8));
        assert_eq!(client.tip(), Some(BlockRef { height: 9, hash: chain.hash(9) }));
        assert_eq!(client.final_tip(), Some(BlockRef { height: 8, hash: chain.hash(8) }));
        assert_eq!(client.source_tip_height(), Some(9));
        // Only the final tip and what is above it are kept.
        assert_eq!(client.chain.len(), 2);
        assert_eq!(client.block_at(7), None);
        assert_eq!(client.block_at(8), Some(BlockRef { height: 8, hash: chain.hash(8) }));
        assert_eq!(client.sync(&chain).unwrap(), ChainUpdate::default());
        chain.extend(2, 0);
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(9..=10));
    }

    #[test]
    fn nothing_is_final_until_the_depth_is_reached() {
        let chain = Chain::new(5); // tip 4
        let mut client = LightClient::new(4, 2);
        assert_eq!(client.sync(&chain).unwrap(), ChainUpdate::default());
        assert_eq!(client.final_tip(), None);
        chain.extend(1, 0);
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(4..=4));
        // A start height above the tip: nothing to follow yet.
        let mut ahead = LightClient::new(50, 1);
        assert_eq!(ahead.sync(&chain).unwrap(), ChainUpdate::default());
        assert_eq!(ahead.tip(), None);
    }

    #[test]
    fn a_reorganisation_drops_the_replaced_blocks_and_follows_the_new_branch() {
        let chain = Chain::new(10); // tip 9, final up to 7 at depth 3
        let mut client = LightClient::new(0, 3);
        client.sync(&chain).unwrap();
        let old = chain.refs(8..=9);
        chain.reorg(8, 3); // new 8, 9, 10
        let update = client.sync(&chain).unwrap();
        assert_eq!(update.dropped, vec![old[1], old[0]]);
        assert_eq!(update.finalized, chain.refs(8..=8));
        assert_eq!(client.tip(), Some(BlockRef { height: 10, hash: chain.hash(10) }));

        // A shorter best chain is a reorganisation too.
        let old = chain.refs(9..=10);
        chain.reorg(9, 0);
        chain.extend(0, 0);
        let update = client.sync(&chain).unwrap();
        assert_eq!(update.dropped, vec![old[1], old[0]]);
        assert_eq!(client.tip(), Some(BlockRef { height: 8, hash: chain.hash(8) }));
    }

    #[test]
    fn replacing_a_final_block_is_refused() {
        let chain = Chain::new(6); // tip 5, final up to 4 at depth 2
        let mut client = LightClient::new(0, 2);
        client.sync(&chain).unwrap();
        let final_four = chain.refs(4..=4)[0];
        chain.reorg(4, 3);
        assert_eq!(
            client.sync(&chain),
            Err(ChainError::FinalityViolated { height: final_four.height, hash: final_four.hash })
        );
        // Nothing final was given up.
        assert_eq!(client.final_tip(), Some(final_four));
    }

    #[test]
    fn headers_that_do_not_link_or_lack_work_are_refused() {
        let chain = Chain::new(3);
        let mut client = LightClient::new(0, 1);
        client.sync(&chain).unwrap();

        // A header whose parent is not our tip, served as the next block.
        let stray = mine(BlockHash::all_zeros(), 77);
        chain.push(stray);
        assert_eq!(
            client.sync(&chain),
            Err(ChainError::BrokenLink {
                height: 3,
                hash: stray.block_hash(),
                expected: chain.hash(2),
                found: BlockHash::all_zeros(),
            })
        );
        chain.best.borrow_mut().pop();

        // A header whose hash misses its own target.
        let mut weak = mine(chain.hash(2), 5);
        // Mainnet's minimum difficulty: this fixed header misses it (a 2^-32 chance not to).
        weak.bits = CompactTarget::from_consensus(0x1d00_ffff);
        chain.push(weak);
        assert_eq!(
            client.sync(&chain),
            Err(ChainError::BadProofOfWork { height: 3, hash: weak.block_hash() })
        );
        assert_eq!(client.tip(), Some(BlockRef { height: 2, hash: chain.hash(2) }));
    }

    #[test]
    fn an_unreachable_source_is_an_error_and_the_chain_is_kept() {
        let chain = Chain::new(4);
        let mut client = LightClient::new(0, 1);
        client.sync(&chain).unwrap();
        *chain.down.borrow_mut() = true;
        assert_eq!(
            client.sync(&chain),
            Err(ChainError::Source(SourceError("connection refused".to_owned())))
        );
        assert_eq!(client.final_tip(), Some(BlockRef { height: 3, hash: chain.hash(3) }));
    }

    #[test]
    fn a_resumed_client_goes_on_after_its_final_tip_and_checks_it() {
        let chain = Chain::new(10);
        let mut client = LightClient::resume(0, 2, BlockRef { height: 5, hash: chain.hash(5) });
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(6..=8));
        // A final tip the source no longer has is refused at once.
        let stale = BlockRef { height: 5, hash: BlockHash::all_zeros() };
        let mut resumed = LightClient::resume(0, 2, stale);
        assert_eq!(
            resumed.sync(&chain),
            Err(ChainError::FinalityViolated { height: 5, hash: BlockHash::all_zeros() })
        );
    }

    #[test]
    fn a_long_way_behind_is_caught_up_over_several_syncs() {
        let chain = Chain::new(12);
        let mut client = LightClient::new(0, 1).with_max_headers_per_sync(5);
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(0..=4));
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(5..=9));
        assert_eq!(client.sync(&chain).unwrap().finalized, chain.refs(10..=11));
    }
}
