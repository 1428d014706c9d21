//! The controller's table: the closed batches.

use rollup_l2::BatchSpan;
use rollup_storage::{Codec, DecodeError, Table};
use serde::{Deserialize, Serialize};

/// `batches`: batch number → the closed batch. Batches are numbered from 0 without
/// gaps; an open batch is never stored.
pub struct Batches;
impl Table for Batches {
    const NAME: &'static str = "batches";
    type Key = u64;
    type Value = BatchRecord;
}

/// A closed batch: a run of consecutive sealed blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The batch number.
    pub number: u64,
    /// Its first block.
    pub first_block: u64,
    /// Its last block.
    pub last_block: u64,
    /// Number of blocks: `last_block - first_block + 1`.
    pub blocks: u32,
    /// Sum of its blocks' canonical encoding sizes, in bytes.
    pub blob_bytes: u64,
    /// Header timestamp of its first block, in milliseconds.
    pub first_timestamp_ms: u64,
    /// Header timestamp of its last block, in milliseconds.
    pub last_timestamp_ms: u64,
}

impl From<BatchSpan> for BatchRecord {
    fn from(span: BatchSpan) -> Self {
        Self {
            number: span.number,
            first_block: span.first_block,
            last_block: span.last_block,
            blocks: span.blocks,
            blob_bytes: span.blob_bytes,
            first_timestamp_ms: span.first_timestamp_ms,
            last_timestamp_ms: span.last_timestamp_ms,
        }
    }
}

impl From<BatchRecord> for BatchSpan {
    fn from(record: BatchRecord) -> Self {
        Self {
            number: record.number,
            first_block: record.first_block,
            last_block: record.last_block,
            blocks: record.blocks,
            blob_bytes: record.blob_bytes,
            first_timestamp_ms: record.first_timestamp_ms,
            last_timestamp_ms: record.last_timestamp_ms,
        }
    }
}

const RECORD_VERSION: u8 = 1;
/// Version byte, then six u64 and one u32, big-endian.
const RECORD_LEN: usize = 1 + 6 * 8 + 4;

impl Codec for BatchRecord {
    /// Version, number, first_block, last_block, blocks (u32), blob_bytes,
    /// first_timestamp_ms, last_timestamp_ms; integers big-endian.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RECORD_LEN);
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.first_block.to_be_bytes());
        out.extend_from_slice(&self.last_block.to_be_bytes());
        out.extend_from_slice(&self.blocks.to_be_bytes());
        out.extend_from_slice(&self.blob_bytes.to_be_bytes());
        out.extend_from_slice(&self.first_timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.last_timestamp_ms.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(DecodeError::Length { expected: RECORD_LEN, found: 0 });
        };
        if version != RECORD_VERSION {
            return Err(DecodeError::Invalid(format!("unknown batch record version {version}")));
        }
        if bytes.len() != RECORD_LEN {
            return Err(DecodeError::Length { expected: RECORD_LEN, found: bytes.len() });
        }
        let mut reader = Fields(rest);
        Ok(Self {
            number: reader.u64()?,
            first_block: reader.u64()?,
            last_block: reader.u64()?,
            blocks: reader.u32()?,
            blob_bytes: reader.u64()?,
            first_timestamp_ms: reader.u64()?,
            last_timestamp_ms: reader.u64()?,
        })
    }
}

/// Reads big-endian integers off the front of a record.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let (head, tail) =
            self.0.split_at_checked(n).ok_or(DecodeError::Length { expected: n, found: self.0.len() })?;
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        u64::decode(self.take(8)?)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::decode(self.take(4)?)
    }
}

/// `da_postings`: batch number → where the DA poster is with that batch's blob:
/// every commit/reveal attempt it made (written before the attempt is broadcast)
/// and, once confirmed, where each chunk lives on Bitcoin.
pub struct DaPostings;
impl Table for DaPostings {
    const NAME: &'static str = "da_postings";
    type Key = u64;
    type Value = DaPosting;
}

/// `da_open_postings`: batch number → 1 for every posting the poster still follows
/// (not confirmed, or confirmed less than its settling depth ago). Kept apart from
/// `da_postings` so that a poll reads only these.
pub struct DaOpenPostings;
impl Table for DaOpenPostings {
    const NAME: &'static str = "da_open_postings";
    type Key = u64;
    type Value = u8;
}

/// One batch's posting to Bitcoin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaPosting {
    /// The batch number.
    pub batch: u64,
    /// How many chunk envelopes the blob was cut into.
    pub chunks: u16,
    /// Envelope data bytes (the blob's size).
    pub data_bytes: u64,
    /// Tip height when the batch was first posted, or last posted anew with fresh
    /// coins: the block whose byte budget it counts against is the next one.
    pub posted_height: u32,
    /// Every attempt, oldest first. The last one is the one the poster wants mined;
    /// an older one may still confirm (a refused or reorganised replacement).
    pub attempts: Vec<DaAttempt>,
    /// Where each chunk lives, once every reveal of one attempt is confirmed.
    pub location: Option<Vec<ChunkLocation>>,
    /// Whether the fee of a confirmed attempt was counted in the metrics.
    pub fees_counted: bool,
}

impl DaPosting {
    /// The attempt the poster wants mined.
    pub fn live(&self) -> Option<&DaAttempt> {
        self.attempts.last()
    }
}

/// Why an attempt was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// The first posting of the batch.
    Initial,
    /// A replacement (BIP-125) of the previous attempt's commit at a higher fee rate.
    Replacement,
    /// A new posting with fresh coins, after the previous attempt became invalid
    /// (its coins spent elsewhere, e.g. after a reorg).
    Repost,
}

/// One commit and its reveals, as broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaAttempt {
    /// Why it was made.
    pub kind: AttemptKind,
    /// The fee rate of its reveals (and, at least, of its commit), in sat per 1,000
    /// weight units.
    pub fee_rate_sat_kwu: u64,
    /// Tip height when it (or its last child) was broadcast.
    pub broadcast_height: u32,
    /// The coins the commit spends.
    pub funding: Vec<(bitcoin::OutPoint, bitcoin::TxOut)>,
    /// The commit.
    pub commit: bitcoin::Transaction,
    /// One reveal per chunk, in chunk order.
    pub reveals: Vec<bitcoin::Transaction>,
    /// The commit's fee, in sats.
    pub commit_fee_sat: u64,
    /// Each reveal's fee, in sats.
    pub reveal_fees_sat: Vec<u64>,
    /// A child paying for the package (CPFP), if one was broadcast.
    pub child: Option<DaChild>,
    /// A replacement of this attempt's commit was refused by the mempool: further
    /// bumps use a child instead.
    pub replacement_refused: bool,
}

impl DaAttempt {
    /// Every fee this attempt pays, in sats (commit, reveals and child).
    pub fn total_fee_sat(&self) -> u64 {
        let reveals = self.reveal_fees_sat.iter().fold(0u64, |total, fee| total.saturating_add(*fee));
        let child = self.child.as_ref().map_or(0, |child| child.fee_sat);
        self.commit_fee_sat.saturating_add(reveals).saturating_add(child)
    }
}

/// A child paying for an attempt's unconfirmed transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaChild {
    /// The child.
    pub tx: bitcoin::Transaction,
    /// Its fee, in sats.
    pub fee_sat: u64,
    /// The package fee rate it brings its ancestors to, in sat per 1,000 weight units.
    pub fee_rate_sat_kwu: u64,
}

/// Where one chunk of a batch lives on Bitcoin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkLocation {
    /// The chunk's index.
    pub index: u16,
    /// The reveal carrying it.
    pub reveal_txid: bitcoin::Txid,
    /// The block holding the reveal.
    pub block_hash: bitcoin::BlockHash,
    /// That block's height.
    pub height: u32,
}

const POSTING_VERSION: u8 = 1;

impl Codec for DaPosting {
    /// A version byte, then the posting as JSON (transactions in bitcoin's serde form).
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![POSTING_VERSION];
        // Serialising plain data with derived impls into a vector cannot fail.
        if let Err(error) = serde_json::to_writer(&mut out, self) {
            tracing::error!(target: "rollup::controller", %error, "cannot encode a DA posting");
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((&POSTING_VERSION, rest)) => serde_json::from_slice(rest)
                .map_err(|error| DecodeError::Invalid(format!("DA posting: {error}"))),
            Some((version, _)) => Err(DecodeError::Invalid(format!("unknown DA posting version {version}"))),
            None => Err(DecodeError::Length { expected: 1, found: 0 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_garbage() {
        let record = BatchRecord {
            number: 3,
            first_block: 7,
            last_block: 9,
            blocks: 3,
            blob_bytes: 1_234,
            first_timestamp_ms: 1_700_000_000_000,
            last_timestamp_ms: 1_700_000_002_000,
        };
        let bytes = record.encode();
        assert_eq!(bytes.len(), RECORD_LEN);
        assert_eq!(BatchRecord::decode(&bytes), Ok(record));
        assert_eq!(
            BatchSpan::from(record),
            BatchSpan {
                number: 3,
                first_block: 7,
                last_block: 9,
                blocks: 3,
                blob_bytes: 1_234,
                first_timestamp_ms: 1_700_000_000_000,
                last_timestamp_ms: 1_700_000_002_000,
            }
        );
        assert_eq!(BatchRecord::from(BatchSpan::from(record)), record);
        assert_eq!(BatchRecord::decode(&[]), Err(DecodeError::Length { expected: RECORD_LEN, found: 0 }));
        assert_eq!(
            BatchRecord::decode(&[2; RECORD_LEN]),
            Err(DecodeError::Invalid("unknown batch record version 2".to_owned()))
        );
        assert_eq!(
            BatchRecord::decode(&bytes[..RECORD_LEN - 1]),
            Err(DecodeError::Length { expected: RECORD_LEN, found: RECORD_LEN - 1 })
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            BatchRecord::decode(&longer),
            Err(DecodeError::Length { expected: RECORD_LEN, found: RECORD_LEN + 1 })
        );
    }
}
