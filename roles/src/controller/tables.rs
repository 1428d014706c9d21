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
