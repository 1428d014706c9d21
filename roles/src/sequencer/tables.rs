//! The sequencer's tables in the node database.

use rollup_l2::{Account, Block, CompactBlock, Digest, Encode, Receipt, SignedTx};
use rollup_storage::{Codec, DecodeError, Table};
use serde::{Deserialize, Serialize};

/// A value stored with its canonical L2 encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored<T>(pub T);

impl<T: Encode> Codec for Stored<T> {
    fn encode(&self) -> Vec<u8> {
        Encode::encode(&self.0)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        <T as Encode>::decode(bytes).map(Stored).map_err(|error| DecodeError::Invalid(error.to_string()))
    }
}

/// A digest stored as its 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredDigest(pub Digest);

impl Codec for StoredDigest {
    fn encode(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| DecodeError::Length { expected: 32, found: bytes.len() })?;
        Digest::from_bytes(&array)
            .map(StoredDigest)
            .ok_or_else(|| DecodeError::Invalid("non-canonical digest".to_owned()))
    }
}

/// `l2_accounts`: account index → account.
pub struct Accounts;
impl Table for Accounts {
    const NAME: &'static str = "l2_accounts";
    type Key = u32;
    type Value = Stored<Account>;
}

/// `l2_tree_nodes`: `(height << 32) | index` → digest; absent nodes are empty subtrees.
pub struct TreeNodes;
impl Table for TreeNodes {
    const NAME: &'static str = "l2_tree_nodes";
    type Key = u64;
    type Value = StoredDigest;
}

/// The key of a tree node.
pub(super) fn node_key(height: u8, index: u32) -> u64 {
    (u64::from(height) << 32) | u64::from(index)
}

/// `l2_blocks`: block number → block.
pub struct Blocks;
impl Table for Blocks {
    const NAME: &'static str = "l2_blocks";
    type Key = u64;
    type Value = Stored<Block>;
}

/// A block's compact form (what the DA blob carries), stored with
/// [`CompactBlock::to_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCompact(pub CompactBlock);

impl Codec for StoredCompact {
    fn encode(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        CompactBlock::from_bytes(bytes)
            .map(StoredCompact)
            .map_err(|error| DecodeError::Invalid(error.to_string()))
    }
}

/// `l2_compact_blocks`: block number → the block's compact form, written with the
/// block: the user transactions packed as they ran (the packing depends on the state,
/// so it is kept rather than recomputed).
pub struct CompactBlocks;
impl Table for CompactBlocks {
    const NAME: &'static str = "l2_compact_blocks";
    type Key = u64;
    type Value = StoredCompact;
}

/// `l2_mempool`: transaction id → accepted, not yet included user transaction.
pub struct PendingTxs;
impl Table for PendingTxs {
    const NAME: &'static str = "l2_mempool";
    type Key = [u8; 32];
    type Value = Stored<SignedTx>;
}

/// Where a transaction was included and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// The transaction id (hex in JSON).
    pub tx_id: String,
    /// The block that includes it.
    pub block_number: u64,
    /// Its position in the block.
    pub position: u32,
    /// The outcome.
    pub receipt: Receipt,
}

impl Codec for ReceiptRecord {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(|error| DecodeError::Invalid(error.to_string()))
    }
}

/// `l2_receipts`: transaction id → receipt.
pub struct Receipts;
impl Table for Receipts {
    const NAME: &'static str = "l2_receipts";
    type Key = [u8; 32];
    type Value = ReceiptRecord;
}

/// `l2_meta`: facts about the L2 chain in this database (the genesis hash).
pub struct L2Meta;
impl Table for L2Meta {
    const NAME: &'static str = "l2_meta";
    type Key = String;
    type Value = StoredDigest;
}

/// The `l2_meta` key of the genesis hash.
pub(super) const GENESIS_HASH_KEY: &str = "genesis_hash";

/// A scanned final Bitcoin block: its hash and the L1 cursor after its last message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScannedBlock {
    /// The block hash, internal byte order.
    pub hash: [u8; 32],
    /// The cursor the next message after this block's gets.
    pub end_cursor: u64,
}

const SCANNED_BLOCK_VERSION: u8 = 1;

impl Codec for ScannedBlock {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![SCANNED_BLOCK_VERSION];
        bytes.extend_from_slice(&self.hash);
        bytes.extend_from_slice(&self.end_cursor.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((&SCANNED_BLOCK_VERSION, rest)) if rest.len() == 40 => {
                let (hash, cursor) = rest.split_at(32);
                let hash: [u8; 32] =
                    hash.try_into().map_err(|_| DecodeError::Length { expected: 32, found: hash.len() })?;
                Ok(Self { hash, end_cursor: u64::decode(cursor)? })
            }
            Some((&SCANNED_BLOCK_VERSION, rest)) => {
                Err(DecodeError::Length { expected: 40, found: rest.len() })
            }
            Some((version, _)) => {
                Err(DecodeError::Invalid(format!("unknown scanned block version {version}")))
            }
            None => Err(DecodeError::Length { expected: 41, found: 0 }),
        }
    }
}

/// `l1_scanned_blocks`: Bitcoin height → a final block the L1 follower scanned, so
/// that a restarted follower goes on from the last one instead of scanning again.
pub struct ScannedBlocks;
impl Table for ScannedBlocks {
    const NAME: &'static str = "l1_scanned_blocks";
    type Key = u64;
    type Value = ScannedBlock;
}

/// `l1_messages`: L1 cursor → the intrinsic transaction the message becomes.
pub struct L1Messages;
impl Table for L1Messages {
    const NAME: &'static str = "l1_messages";
    type Key = u64;
    type Value = Stored<rollup_l2::L2Tx>;
}
