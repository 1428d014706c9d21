//! Where Bitcoin headers and blocks come from: [`BitcoinSource`], implemented for
//! Esplora's blocking client.

use bitcoin::block::Header;
use bitcoin::{Block, BlockHash};

use super::client::ChainError;

/// A failed request to the source (Bitcoin unreachable, an HTTP error, a block the
/// source does not have), in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// What the light client and the scanner read from Bitcoin. Answers are not trusted:
/// the light client checks every header and [`fetch_block`] every block.
pub trait BitcoinSource {
    /// The height of the source's best tip.
    fn tip_height(&self) -> Result<u32, SourceError>;
    /// The hash of the block at `height` on the source's best chain.
    fn hash_at(&self, height: u32) -> Result<BlockHash, SourceError>;
    /// The header of the block `hash`.
    fn header(&self, hash: &BlockHash) -> Result<Header, SourceError>;
    /// The full block `hash`, `None` if the source does not know it.
    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, SourceError>;
}

impl BitcoinSource for esplora_client::BlockingClient {
    fn tip_height(&self) -> Result<u32, SourceError> {
        self.get_height().map_err(|error| SourceError(format!("cannot read the tip height: {error}")))
    }

    fn hash_at(&self, height: u32) -> Result<BlockHash, SourceError> {
        self.get_block_hash(height)
            .map_err(|error| SourceError(format!("cannot read the hash of block {height}: {error}")))
    }

    fn header(&self, hash: &BlockHash) -> Result<Header, SourceError> {
        self.get_header_by_hash(hash)
            .map_err(|error| SourceError(format!("cannot read the header of block {hash}: {error}")))
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, SourceError> {
        self.get_block_by_hash(hash)
            .map_err(|error| SourceError(format!("cannot read block {hash}: {error}")))
    }
}

/// The block `hash` (at `height`) from `source`, checked against its header: it hashes
/// to `hash`, its transactions match the Merkle root and its witnesses match the
/// coinbase's witness commitment.
pub fn fetch_block<S: BitcoinSource + ?Sized>(
    source: &S,
    height: u32,
    hash: &BlockHash,
) -> Result<Block, ChainError> {
    let block = source.block(hash)?.ok_or(ChainError::MissingBlock { height, hash: *hash })?;
    let found = block.block_hash();
    if found != *hash {
        return Err(ChainError::HashMismatch { height, expected: *hash, found });
    }
    if !block.check_merkle_root() {
        return Err(ChainError::BadBlock {
            height,
            hash: *hash,
            what: "transactions do not match the Merkle root",
        });
    }
    if !block.check_witness_commitment() {
        return Err(ChainError::BadBlock {
            height,
            hash: *hash,
            what: "witnesses do not match the witness commitment",
        });
    }
    Ok(block)
}
