//! [`Envelope`]: what one leaf carries, and its encoding as a leaf.

use bitcoin::opcodes::all::{OP_CHECKSIG, OP_ENDIF, OP_IF};
use bitcoin::opcodes::OP_FALSE;
use bitcoin::{ScriptBuf, XOnlyPublicKey};

use crate::script::Script;

/// The magic that opens every envelope's tag push ("rollup DA").
pub const MAGIC: [u8; 4] = *b"RLDA";

/// The header version this code writes and the only one it reads.
pub const ENVELOPE_VERSION: u8 = 1;

/// Header kind byte of a batch chunk.
pub const KIND_BATCH_CHUNK: u8 = 0;
/// Header kind byte of a deposit.
pub const KIND_DEPOSIT: u8 = 1;
/// Header kind byte of a forced transaction.
pub const KIND_FORCED_TRANSACTION: u8 = 2;

/// The largest data push: script's element limit (`MAX_SCRIPT_ELEMENT_SIZE`), which
/// consensus applies to every push, executed or not.
pub const MAX_PUSH_BYTES: usize = 520;

/// Bitcoin Core's standardness limit on a transaction's weight
/// (`MAX_STANDARD_TX_WEIGHT`): a heavier reveal would not be relayed.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;

/// The most payload bytes one envelope carries: 390,000 (750 full pushes).
///
/// A reveal has one input and one output. With a P2TR destination its weight is
/// `483 + S` weight units for a leaf of `S` bytes: 376 for the 94 non-witness bytes
/// (version, counts, outpoint, sequence, the output, lock time), 2 for the segwit
/// marker and flag, and 105 of witness beside the leaf (the element count, the
/// 64-byte signature, the leaf's 5-byte length prefix, the 33-byte control block,
/// with their lengths). A batch chunk's leaf is `65 + D + 3 ceil(D / 520)` bytes for
/// `D` data bytes (`OP_FALSE OP_IF`, the 13-byte tag push, the 15-byte header push,
/// 3 bytes of `OP_PUSHDATA2` prefix per data push, `OP_ENDIF`, the 33-byte key push,
/// `OP_CHECKSIG`). At `D` = 390,000 the leaf is 392,315 bytes and the reveal weighs
/// 392,798 units: under 400,000 with 7,202 units to spare (a destination script up
/// to about 1,800 bytes longer than P2TR's, or a later, longer header). The largest
/// `D` that fits at all would be 763 pushes (396,760 bytes); we keep the round figure
/// of `docs/protocol.md` and the margin. [`build_commit_reveal`](super::build_commit_reveal)
/// checks every reveal's real weight against [`MAX_STANDARD_TX_WEIGHT`] anyway.
pub const MAX_ENVELOPE_DATA: usize = 390_000;

/// What an envelope is, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvelopeKind {
    /// Chunk `index` of the `count` chunks of batch `batch`'s blob.
    BatchChunk {
        /// The batch number.
        batch: u64,
        /// The chunk's position, `0..count`.
        index: u16,
        /// How many chunks the blob was cut into (at least 1).
        count: u16,
    },
    /// A deposit (an L1 message; it also pays the bridge).
    Deposit,
    /// A user's forced transaction (an L1 message).
    ForcedTransaction,
}

impl EnvelopeKind {
    /// The header's kind byte.
    pub fn code(&self) -> u8 {
        match self {
            Self::BatchChunk { .. } => KIND_BATCH_CHUNK,
            Self::Deposit => KIND_DEPOSIT,
            Self::ForcedTransaction => KIND_FORCED_TRANSACTION,
        }
    }
}

/// Why an envelope cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The payload is over [`MAX_ENVELOPE_DATA`].
    #[error("envelope payload of {len} bytes is over the limit of {max} bytes")]
    DataTooLarge {
        /// The payload's size.
        len: usize,
        /// [`MAX_ENVELOPE_DATA`].
        max: usize,
    },
    /// A batch chunk with a count of zero.
    #[error("batch chunk count is zero")]
    ZeroChunkCount,
    /// A batch chunk whose index is not below its count.
    #[error("batch chunk index {index} is not below the chunk count {count}")]
    ChunkIndexOutOfRange {
        /// The index.
        index: u16,
        /// The count.
        count: u16,
    },
    /// A blob that needs more than `u16::MAX` chunks.
    #[error("batch blob of {len} bytes needs more than {max} chunks", max = u16::MAX)]
    TooManyChunks {
        /// The blob's size.
        len: usize,
    },
}

/// What one envelope leaf carries: the chain it is for, its kind and its payload.
///
/// Made only through the checked constructors, so every `Envelope` encodes to a leaf
/// the decoder reads back as itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Envelope {
    chain_id: u64,
    kind: EnvelopeKind,
    data: Vec<u8>,
}

impl Envelope {
    /// An envelope of any kind, checked: payload size, and for batch chunks a count of
    /// at least 1 and an index below it.
    pub fn new(chain_id: u64, kind: EnvelopeKind, data: Vec<u8>) -> Result<Self, EnvelopeError> {
        if data.len() > MAX_ENVELOPE_DATA {
            return Err(EnvelopeError::DataTooLarge { len: data.len(), max: MAX_ENVELOPE_DATA });
        }
        if let EnvelopeKind::BatchChunk { index, count, .. } = kind {
            if count == 0 {
                return Err(EnvelopeError::ZeroChunkCount);
            }
            if index >= count {
                return Err(EnvelopeError::ChunkIndexOutOfRange { index, count });
            }
        }
        Ok(Self { chain_id, kind, data })
    }

    /// Chunk `index` of `count` of batch `batch`.
    pub fn batch_chunk(
        chain_id: u64,
        batch: u64,
        index: u16,
        count: u16,
        data: Vec<u8>,
    ) -> Result<Self, EnvelopeError> {
        Self::new(chain_id, EnvelopeKind::BatchChunk { batch, index, count }, data)
    }

    /// A deposit message.
    pub fn deposit(chain_id: u64, data: Vec<u8>) -> Result<Self, EnvelopeError> {
        Self::new(chain_id, EnvelopeKind::Deposit, data)
    }

    /// A forced-transaction message.
    pub fn forced_transaction(chain_id: u64, data: Vec<u8>) -> Result<Self, EnvelopeError> {
        Self::new(chain_id, EnvelopeKind::ForcedTransaction, data)
    }

    /// The L2 chain id the envelope is bound to.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The kind, from the header.
    pub fn kind(&self) -> EnvelopeKind {
        self.kind
    }

    /// The payload.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The payload, by value.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The tag push's bytes for `chain_id`: [`MAGIC`] then the chain id, big-endian.
    pub fn tag(chain_id: u64) -> [u8; 12] {
        let mut tag = [0u8; 12];
        let (magic, chain) = tag.split_at_mut(MAGIC.len());
        magic.copy_from_slice(&MAGIC);
        chain.copy_from_slice(&chain_id.to_be_bytes());
        tag
    }

    /// The header push's bytes: version, kind, and for a batch chunk the batch number
    /// (u64 BE), index and count (u16 BE each).
    pub fn header(&self) -> Vec<u8> {
        let mut header = vec![ENVELOPE_VERSION, self.kind.code()];
        if let EnvelopeKind::BatchChunk { batch, index, count } = self.kind {
            header.extend_from_slice(&batch.to_be_bytes());
            header.extend_from_slice(&index.to_be_bytes());
            header.extend_from_slice(&count.to_be_bytes());
        }
        header
    }

    /// The envelope leaf for the poster's key (see the module docs for the layout).
    pub fn leaf(&self, poster: &XOnlyPublicKey) -> ScriptBuf {
        let data = self.data.chunks(MAX_PUSH_BYTES).fold(Script::new(), |script, push| script.data(push));
        Script::new()
            .op(OP_FALSE)
            .op(OP_IF)
            .data(&Self::tag(self.chain_id))
            .data(&self.header())
            .then(data)
            .op(OP_ENDIF)
            .data(&poster.serialize())
            .op(OP_CHECKSIG)
            .to_script_buf()
    }
}

/// Cuts batch `batch`'s blob into chunk envelopes of at most [`MAX_ENVELOPE_DATA`]
/// bytes each, in index order: every chunk full but the last. An empty blob is one
/// empty chunk, so that every batch has at least one envelope.
pub fn split_batch(chain_id: u64, batch: u64, blob: &[u8]) -> Result<Vec<Envelope>, EnvelopeError> {
    let count = blob.len().div_ceil(MAX_ENVELOPE_DATA).max(1);
    let count = u16::try_from(count).map_err(|_| EnvelopeError::TooManyChunks { len: blob.len() })?;
    if blob.is_empty() {
        return Ok(vec![Envelope::batch_chunk(chain_id, batch, 0, 1, Vec::new())?]);
    }
    blob.chunks(MAX_ENVELOPE_DATA)
        .zip(0..count)
        .map(|(data, index)| Envelope::batch_chunk(chain_id, batch, index, count, data.to_vec()))
        .collect()
}
