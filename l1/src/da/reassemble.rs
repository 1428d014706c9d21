//! A batch's blob from its chunk envelopes.

use std::collections::BTreeMap;

use super::envelope::{Envelope, EnvelopeKind};

/// Why a batch's blob cannot be put together from the chunks at hand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReassembleBatchError {
    /// No chunk of the batch among the envelopes.
    #[error("no chunk of batch {batch}")]
    NoChunks {
        /// The batch number.
        batch: u64,
    },
    /// Two chunks of the batch disagree on the chunk count.
    #[error("batch {batch}: chunk {index} says {count} chunks, an earlier one says {expected}")]
    CountMismatch {
        /// The batch number.
        batch: u64,
        /// The index of the chunk that disagrees.
        index: u16,
        /// Its count.
        count: u16,
        /// The count of the first chunk seen.
        expected: u16,
    },
    /// Two chunks with the same index and different data.
    #[error("batch {batch}: two different chunks with index {index}")]
    ConflictingChunk {
        /// The batch number.
        batch: u64,
        /// The index.
        index: u16,
    },
    /// Chunks not seen (all of them listed, in order).
    #[error("batch {batch}: {} of {count} chunks missing, first {first}", missing.len(), first = missing.first().copied().unwrap_or_default())]
    MissingChunks {
        /// The batch number.
        batch: u64,
        /// The chunk count.
        count: u16,
        /// The missing indexes, ascending.
        missing: Vec<u16>,
    },
    /// The blob would be larger than memory allows to address.
    #[error("batch {batch}: blob size overflows")]
    TooLarge {
        /// The batch number.
        batch: u64,
    },
}

/// The blob of batch `batch` from `envelopes`, in any order: envelopes of other
/// kinds or other batches are ignored, identical duplicates (reposts) are fine.
///
/// Fails when the batch's chunks disagree on their count, when one index has two
/// different payloads, or when a chunk is missing.
pub fn reassemble_batch<'a>(
    batch: u64,
    envelopes: impl IntoIterator<Item = &'a Envelope>,
) -> Result<Vec<u8>, ReassembleBatchError> {
    let mut expected: Option<u16> = None;
    let mut chunks: BTreeMap<u16, &'a [u8]> = BTreeMap::new();
    for envelope in envelopes {
        let EnvelopeKind::BatchChunk { batch: number, index, count } = envelope.kind() else {
            continue;
        };
        if number != batch {
            continue;
        }
        match expected {
            None => expected = Some(count),
            Some(expected) if expected != count => {
                return Err(ReassembleBatchError::CountMismatch { batch, index, count, expected });
            }
            Some(_) => {}
        }
        match chunks.get(&index) {
            Some(seen) if *seen != envelope.data() => {
                return Err(ReassembleBatchError::ConflictingChunk { batch, index });
            }
            Some(_) => {}
            None => {
                chunks.insert(index, envelope.data());
            }
        }
    }
    let Some(count) = expected else {
        return Err(ReassembleBatchError::NoChunks { batch });
    };
    let missing: Vec<u16> = (0..count).filter(|index| !chunks.contains_key(index)).collect();
    if !missing.is_empty() {
        return Err(ReassembleBatchError::MissingChunks { batch, count, missing });
    }
    let size = chunks
        .values()
        .try_fold(0usize, |size, chunk| size.checked_add(chunk.len()))
        .ok_or(ReassembleBatchError::TooLarge { batch })?;
    let mut blob = Vec::with_capacity(size);
    for chunk in chunks.values() {
        blob.extend_from_slice(chunk);
    }
    Ok(blob)
}
