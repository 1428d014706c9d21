//! What the rollup writes to its DA layer (docs/protocol.md sections 2, 4 and 5): the
//! *packed* form of a user transaction, the block transaction commitment over it, and
//! the *batch blob*, from which any node rebuilds the chain's blocks and state.
//!
//! # The packed transaction
//!
//! A block's `tx_commitment` chains its **user** transactions in their packed form,
//! [`PackedTx`]: what a node needs to re-execute the transaction once its validity is
//! proven, and nothing more. Three things of the signed transaction are left out:
//!
//! - the signature: the block proof checks it; a node rebuilding from Bitcoin trusts
//!   the proof (or challenges the claim), it does not re-verify signatures;
//! - the nonce: a user transaction in a block always carries the sender's nonce plus
//!   one, so the state gives it;
//! - the receiver's key when the receiver exists: the transaction must carry that
//!   account's key, so the state gives it. A transfer that *creates* its receiver
//!   carries the key.
//!
//! So the packed form depends on the state the transaction runs on (whether the
//! receiver exists): [`crate::State::pack`] makes it. Deposits and forced
//! transactions are not packed: they are L1 messages, on Bitcoin in their own
//! envelopes, committed by the L1 message chain and counted by the header's cursors.
//!
//! As field elements ([`PackedTx::elements`], [`PACKED_TX_ELEMENTS`] of them, unused
//! positions zero), which the block circuit recomputes from its witness:
//!
//! | index | transfer | withdraw |
//! |---|---|---|
//! | 0 | 0 | 1 |
//! | 1 | from | from |
//! | 2 | to | 0 |
//! | 3 | amount | amount |
//! | 4 | fee | fee |
//! | 5 | 1 if it creates `to`, else 0 | 0 |
//! | 6..11 | `to_pubkey` if it creates `to`, else zeros | zeros |
//! | 11 | 0 | l1_script length |
//! | 12..18 | zeros | l1_script, 7 bytes per element |
//!
//! # The batch blob
//!
//! The blob is the canonical byte encoding of a [`BatchBlob`]; `da_commitment =
//! SHA-256(blob)` ([`BatchBlob::da_commitment`]). Decoding is strict: one blob has
//! one encoding, and anything else (a truncated blob, bytes left over, a varint
//! with padding, a value out of range, an unknown version) is a [`BlobError`].
//!
//! ```text
//! version (1 byte, BLOB_VERSION)
//! batch number, first block number, L1 cursor before the first block: varints
//! block count: varint, at least 1
//! per block:
//!   timestamp: varint, the first block's in milliseconds, later ones the zigzag
//!              delta from the previous block's (wrapping, so every u64 round-trips)
//!   L1 messages consumed: varint (l1_cursor_after - l1_cursor_before)
//!   anchor flag: 1 byte; 1 = height (varint) and hash (32 bytes) follow,
//!                0 = the previous block's anchor (never for the first block, and
//!                1 never repeats the previous anchor)
//!   state root: 32 bytes (4 little-endian canonical Goldilocks elements)
//!   user transaction count: varint, at most MAX_BLOCK_TXS
//!   user transactions, each:
//!     flags: 1 byte, bit 0 = withdraw, bit 1 = creates the receiver, others zero
//!     from: varint (u32)
//!     transfer: to (varint, u32), amount, fee (varints, at most MAX_AMOUNT),
//!               the receiver's key (40 bytes) if it creates the receiver
//!     withdraw: amount, fee (varints), script length (1 byte, 1..=42), script
//! ```
//!
//! Varints are unsigned LEB128, minimal (no trailing zero groups), at most 10 bytes.
//! A rebuilding node derives everything else of a header: the number (first block +
//! position), the parent hash and previous state root (the previous header), the
//! cursors (running sum from the batch's cursor) and the tx commitment (recomputed
//! from the packed transactions); see [`BatchBlob::headers`].
//!
//! # The posted form
//!
//! Bitcoin carries the blob compressed: [`compress`] prefixes a format byte
//! ([`POSTED_FORMAT_ZLIB`]) to the zlib stream (deflate, level 10, with its Adler-32
//! check) of the blob; [`decompress`] inverts it strictly (unknown format, corrupt or
//! truncated stream, bytes after the stream, or a blob above the caller's limit are
//! errors). The commitment is over the uncompressed blob, which is what the DA proof
//! parses; compression is transport only, and the same binary compresses the same
//! blob to the same bytes, so a repost builds the same transactions.

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_PARSE_ZLIB_HEADER, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress as inflate, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use plonky2::field::types::Field;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::hash::{hash, Digest, Domain, F};
use crate::types::{
    pack_bytes, AccountIndex, BlockHeader, DecodeError, L1Anchor, PubKey, Reader, MAX_AMOUNT, MAX_BLOCK_TXS,
    MAX_L1_SCRIPT_LEN,
};

/// Number of field elements of [`PackedTx::elements`].
pub const PACKED_TX_ELEMENTS: usize = 18;

/// First byte of a batch blob.
pub const BLOB_VERSION: u8 = 1;

/// First byte of a posted blob: a zlib stream follows.
pub const POSTED_FORMAT_ZLIB: u8 = 1;

/// The deflate level of [`compress`] (miniz_oxide's best).
const DEFLATE_LEVEL: u8 = 10;

const FLAG_WITHDRAW: u8 = 1;
const FLAG_CREATES: u8 = 2;
const ANCHOR_SAME: u8 = 0;
const ANCHOR_EXPLICIT: u8 = 1;

/// A user transaction as the DA layer carries it and the block commitment hashes it
/// (module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PackedTx {
    /// A transfer.
    Transfer {
        /// The sender.
        from: AccountIndex,
        /// The receiver.
        to: AccountIndex,
        /// Amount in satoshis.
        amount: u64,
        /// Fee in satoshis.
        fee: u64,
        /// The receiver's key when the transfer creates the receiver's account.
        new_pubkey: Option<PubKey>,
    },
    /// A withdrawal.
    Withdraw {
        /// The sender.
        from: AccountIndex,
        /// Amount in satoshis.
        amount: u64,
        /// Fee in satoshis.
        fee: u64,
        /// The Bitcoin script to pay.
        l1_script: Vec<u8>,
    },
}

impl PackedTx {
    /// The sender.
    pub fn from(&self) -> AccountIndex {
        match self {
            PackedTx::Transfer { from, .. } | PackedTx::Withdraw { from, .. } => *from,
        }
    }

    /// The field elements the commitment chain hashes (module docs).
    pub fn elements(&self) -> [F; PACKED_TX_ELEMENTS] {
        let mut out = [F::ZERO; PACKED_TX_ELEMENTS];
        match self {
            PackedTx::Transfer { from, to, amount, fee, new_pubkey } => {
                out[1] = F::from_canonical_u32(*from);
                out[2] = F::from_canonical_u32(*to);
                out[3] = F::from_noncanonical_u64(*amount);
                out[4] = F::from_noncanonical_u64(*fee);
                if let Some(pubkey) = new_pubkey {
                    out[5] = F::ONE;
                    out[6..11].copy_from_slice(&pubkey.elements());
                }
            }
            PackedTx::Withdraw { from, amount, fee, l1_script } => {
                out[0] = F::ONE;
                out[1] = F::from_canonical_u32(*from);
                out[3] = F::from_noncanonical_u64(*amount);
                out[4] = F::from_noncanonical_u64(*fee);
                out[11] = F::from_canonical_u64(l1_script.len() as u64);
                for (slot, element) in out[12..].iter_mut().zip(pack_bytes(l1_script)) {
                    *slot = element;
                }
            }
        }
        out
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PackedTx::Transfer { from, to, amount, fee, new_pubkey } => {
                out.push(if new_pubkey.is_some() { FLAG_CREATES } else { 0 });
                put_varint(out, u64::from(*from));
                put_varint(out, u64::from(*to));
                put_varint(out, *amount);
                put_varint(out, *fee);
                if let Some(pubkey) = new_pubkey {
                    for element in pubkey.0 {
                        out.extend_from_slice(&element.to_le_bytes());
                    }
                }
            }
            PackedTx::Withdraw { from, amount, fee, l1_script } => {
                out.push(FLAG_WITHDRAW);
                put_varint(out, u64::from(*from));
                put_varint(out, *amount);
                put_varint(out, *fee);
                // A script longer than 255 bytes never executes (MAX_L1_SCRIPT_LEN is
                // 42); its length byte saturates and the decoder refuses it.
                out.push(u8::try_from(l1_script.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(l1_script);
            }
        }
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = reader.u8()?;
        if flags & !(FLAG_WITHDRAW | FLAG_CREATES) != 0 || flags == FLAG_WITHDRAW | FLAG_CREATES {
            return Err(DecodeError::UnknownKind { what: "packed transaction flags", kind: flags });
        }
        let from = varint_u32(reader, "from")?;
        if flags & FLAG_WITHDRAW != 0 {
            let amount = varint_amount(reader, "amount")?;
            let fee = varint_amount(reader, "fee")?;
            let l1_script = reader.short_bytes("l1 script length", MAX_L1_SCRIPT_LEN)?;
            return Ok(PackedTx::Withdraw { from, amount, fee, l1_script });
        }
        let to = varint_u32(reader, "to")?;
        let amount = varint_amount(reader, "amount")?;
        let fee = varint_amount(reader, "fee")?;
        let new_pubkey = if flags & FLAG_CREATES != 0 { Some(reader.pubkey()?) } else { None };
        Ok(PackedTx::Transfer { from, to, amount, fee, new_pubkey })
    }
}

/// The next link of a block's transaction commitment chain (from the zero digest):
/// the previous link and the user transaction's [`PackedTx::elements`].
pub fn chain_tx(previous: &Digest, tx: &PackedTx) -> Digest {
    let mut input: Vec<F> = previous.elements().to_vec();
    input.extend(tx.elements());
    hash(Domain::TxChain, &input)
}

/// A block's `tx_commitment`: [`chain_tx`] over its packed user transactions.
pub fn tx_commitment(txs: &[PackedTx]) -> Digest {
    txs.iter().fold(Digest::ZERO, |link, tx| chain_tx(&link, tx))
}

/// A block as the blob carries it: what cannot be derived from the previous block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactBlock {
    /// Header timestamp, in milliseconds.
    pub timestamp_ms: u64,
    /// L1 messages the block consumed (`l1_cursor_after - l1_cursor_before`).
    pub l1_messages: u64,
    /// The Bitcoin block it is anchored to.
    pub l1_anchor: L1Anchor,
    /// State root after the block.
    pub state_root: Digest,
    /// Its user transactions, packed, in block order.
    pub txs: Vec<PackedTx>,
}

impl CompactBlock {
    /// Appends the block's encoding; `previous` is the block before it in the blob.
    fn encode_after(&self, out: &mut Vec<u8>, previous: Option<&CompactBlock>) {
        match previous {
            None => put_varint(out, self.timestamp_ms),
            Some(previous) => put_varint(out, zigzag(self.timestamp_ms.wrapping_sub(previous.timestamp_ms))),
        }
        put_varint(out, self.l1_messages);
        if previous.is_some_and(|previous| previous.l1_anchor == self.l1_anchor) {
            out.push(ANCHOR_SAME);
        } else {
            out.push(ANCHOR_EXPLICIT);
            put_varint(out, u64::from(self.l1_anchor.height));
            out.extend_from_slice(&self.l1_anchor.hash);
        }
        for element in self.state_root.0 {
            out.extend_from_slice(&element.to_le_bytes());
        }
        put_varint(out, self.txs.len() as u64);
        for tx in &self.txs {
            tx.encode_to(out);
        }
    }

    /// Reads a block; `previous` is the block before it in the blob, at `index - 1`.
    fn decode_after(
        reader: &mut Reader<'_>,
        previous: Option<&CompactBlock>,
        index: usize,
    ) -> Result<Self, BlobError> {
        let raw_time = reader.varint("timestamp")?;
        let timestamp_ms = match previous {
            None => raw_time,
            Some(previous) => previous.timestamp_ms.wrapping_add(unzigzag(raw_time)),
        };
        let l1_messages = reader.varint("l1 messages")?;
        let l1_anchor = match (reader.u8()?, previous) {
            (ANCHOR_SAME, Some(previous)) => previous.l1_anchor,
            (ANCHOR_SAME, None) => return Err(BlobError::FirstAnchorImplicit),
            (ANCHOR_EXPLICIT, _) => {
                let height = reader.varint("anchor height")?;
                let height = u32::try_from(height)
                    .map_err(|_| DecodeError::OutOfRange { what: "anchor height", value: height })?;
                let anchor = L1Anchor { height, hash: reader.array()? };
                if previous.is_some_and(|previous| previous.l1_anchor == anchor) {
                    return Err(BlobError::AnchorRepeated { index });
                }
                anchor
            }
            (kind, _) => return Err(DecodeError::UnknownKind { what: "anchor flag", kind }.into()),
        };
        let state_root = reader.digest("state root")?;
        let tx_count = reader.varint("transaction count")?;
        if tx_count > u64::from(MAX_BLOCK_TXS) {
            return Err(DecodeError::OutOfRange { what: "transaction count", value: tx_count }.into());
        }
        let mut txs = Vec::with_capacity((tx_count as usize).min(reader.remaining() / 4));
        for _ in 0..tx_count {
            txs.push(PackedTx::decode_from(reader)?);
        }
        Ok(Self { timestamp_ms, l1_messages, l1_anchor, state_root, txs })
    }

    /// The block alone, as stored by the sequencer: version byte, then the block's
    /// blob encoding as a batch's first block.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![BLOB_VERSION];
        self.encode_after(&mut out, None);
        out
    }

    /// Reads [`CompactBlock::to_bytes`], strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlobError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != BLOB_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let block = Self::decode_after(&mut reader, None, 0)?;
        match reader.remaining() {
            0 => Ok(block),
            extra => Err(DecodeError::TrailingBytes(extra).into()),
        }
    }

    /// The compact form of a block with `header` whose user transactions packed to `txs`.
    pub fn new(header: &BlockHeader, txs: Vec<PackedTx>) -> Self {
        Self {
            timestamp_ms: header.timestamp_ms,
            l1_messages: header.l1_cursor_after.saturating_sub(header.l1_cursor_before),
            l1_anchor: header.l1_anchor,
            state_root: header.state_root,
            txs,
        }
    }
}

/// A batch's blocks as the DA layer carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchBlob {
    /// The batch number.
    pub number: u64,
    /// Its first block's number.
    pub first_block: u64,
    /// The L1 cursor before its first block.
    pub l1_cursor_before: u64,
    /// Its blocks, in order (at least one).
    pub blocks: Vec<CompactBlock>,
}

/// Why a blob, or its posted form, cannot be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The blob's bytes are malformed.
    #[error("malformed batch blob: {0}")]
    Malformed(#[from] DecodeError),
    /// The blob has no block.
    #[error("the batch blob has no block")]
    Empty,
    /// A block or cursor number overflows.
    #[error("the batch blob's {0} overflows")]
    Overflow(&'static str),
    /// The first block's anchor is "the same as the previous block's".
    #[error("the first block of a batch blob must state its anchor")]
    FirstAnchorImplicit,
    /// A block states the same anchor as its predecessor (the encoding is
    /// "same as before" then).
    #[error("block {index} of the batch blob repeats its predecessor's anchor explicitly")]
    AnchorRepeated {
        /// The block's position in the batch.
        index: usize,
    },
    /// The posted form's first byte is not a known format.
    #[error("unknown posted blob format {0}")]
    UnknownFormat(u8),
    /// The posted form is empty.
    #[error("the posted blob is empty")]
    EmptyPosted,
    /// The zlib stream is corrupt or truncated.
    #[error("the posted blob does not decompress: {0}")]
    BadCompression(String),
    /// Bytes follow the zlib stream.
    #[error("{0} bytes follow the posted blob's zlib stream")]
    TrailingCompressed(usize),
    /// The blob decompresses beyond the limit.
    #[error("the posted blob decompresses beyond the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

impl BatchBlob {
    /// The canonical encoding (module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![BLOB_VERSION];
        put_varint(&mut out, self.number);
        put_varint(&mut out, self.first_block);
        put_varint(&mut out, self.l1_cursor_before);
        put_varint(&mut out, self.blocks.len() as u64);
        let mut previous: Option<&CompactBlock> = None;
        for block in &self.blocks {
            block.encode_after(&mut out, previous);
            previous = Some(block);
        }
        out
    }

    /// Decodes exactly `bytes`, strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, BlobError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != BLOB_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let number = reader.varint("batch number")?;
        let first_block = reader.varint("first block")?;
        let l1_cursor_before = reader.varint("l1 cursor")?;
        let count = reader.varint("block count")?;
        if count == 0 {
            return Err(BlobError::Empty);
        }
        // Every block takes at least 35 bytes: never reserve more than the input holds.
        let mut blocks: Vec<CompactBlock> =
            Vec::with_capacity(usize::try_from(count).unwrap_or(usize::MAX).min(bytes.len() / 35));
        first_block.checked_add(count).ok_or(BlobError::Overflow("block number"))?;
        let mut cursor = l1_cursor_before;
        for index in 0..count {
            let block = CompactBlock::decode_after(&mut reader, blocks.last(), index as usize)?;
            cursor = cursor.checked_add(block.l1_messages).ok_or(BlobError::Overflow("l1 cursor"))?;
            blocks.push(block);
        }
        match reader.remaining() {
            0 => Ok(Self { number, first_block, l1_cursor_before, blocks }),
            extra => Err(DecodeError::TrailingBytes(extra).into()),
        }
    }

    /// The L1 messages the batch's blocks consume, `None` if the count overflows.
    pub fn l1_messages(&self) -> Option<u64> {
        self.blocks.iter().try_fold(0u64, |sum, block| sum.checked_add(block.l1_messages))
    }

    /// `da_commitment`: SHA-256 of the encoding.
    pub fn da_commitment(&self) -> [u8; 32] {
        da_commitment(&self.encode())
    }

    /// The batch's block headers, rebuilt from the blob and `parent`, the header of the
    /// block before the batch's first (genesis header for batch 0). The state roots are
    /// the blob's claims: a rebuilding node re-executes the transactions to check them.
    /// `parent` must be block `first_block - 1`.
    pub fn headers(&self, parent: &BlockHeader) -> Result<Vec<BlockHeader>, BlobError> {
        if parent.number.checked_add(1) != Some(self.first_block) {
            return Err(BlobError::Overflow("first block (it does not follow the parent)"));
        }
        let mut headers = Vec::with_capacity(self.blocks.len());
        let mut previous = parent.clone();
        let mut cursor = self.l1_cursor_before;
        for block in &self.blocks {
            let cursor_after =
                cursor.checked_add(block.l1_messages).ok_or(BlobError::Overflow("l1 cursor"))?;
            let header = BlockHeader {
                number: previous.number.checked_add(1).ok_or(BlobError::Overflow("block number"))?,
                parent_hash: previous.hash(),
                timestamp_ms: block.timestamp_ms,
                prev_state_root: previous.state_root,
                state_root: block.state_root,
                tx_commitment: tx_commitment(&block.txs),
                l1_cursor_before: cursor,
                l1_cursor_after: cursor_after,
                l1_anchor: block.l1_anchor,
            };
            cursor = cursor_after;
            headers.push(header.clone());
            previous = header;
        }
        Ok(headers)
    }
}

/// SHA-256 of a blob's bytes: the batch's `da_commitment`.
pub fn da_commitment(blob: &[u8]) -> [u8; 32] {
    Sha256::digest(blob).into()
}

/// The posted form of `blob`: [`POSTED_FORMAT_ZLIB`], then its zlib stream.
pub fn compress(blob: &[u8]) -> Vec<u8> {
    let mut out = vec![POSTED_FORMAT_ZLIB];
    out.extend(miniz_oxide::deflate::compress_to_vec_zlib(blob, DEFLATE_LEVEL));
    out
}

/// The blob of a posted form, at most `limit` bytes long (module docs).
pub fn decompress(posted: &[u8], limit: usize) -> Result<Vec<u8>, BlobError> {
    let (&format, stream) = posted.split_first().ok_or(BlobError::EmptyPosted)?;
    if format != POSTED_FORMAT_ZLIB {
        return Err(BlobError::UnknownFormat(format));
    }
    let flags = TINFL_FLAG_PARSE_ZLIB_HEADER | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut state = Box::<DecompressorOxide>::default();
    // One byte more than the limit, so that "exactly at the limit" and "beyond" differ.
    let capacity = limit.saturating_add(1);
    let mut out = vec![0u8; stream.len().saturating_mul(4).clamp(64, capacity)];
    let (mut input, mut written) = (stream, 0usize);
    loop {
        let (status, consumed, produced) = inflate(&mut state, input, &mut out, written, flags);
        written = written.saturating_add(produced);
        input = input.get(consumed..).unwrap_or_default();
        match status {
            TINFLStatus::Done => {
                if written > limit {
                    return Err(BlobError::TooLarge { limit });
                }
                if !input.is_empty() {
                    return Err(BlobError::TrailingCompressed(input.len()));
                }
                out.truncate(written);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= capacity {
                    return Err(BlobError::TooLarge { limit });
                }
                let grown = out.len().saturating_mul(2).min(capacity);
                out.resize(grown, 0);
            }
            other => return Err(BlobError::BadCompression(format!("{other:?}"))),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: u64) -> u64 {
    let signed = value as i64;
    ((signed << 1) ^ (signed >> 63)) as u64
}

fn unzigzag(value: u64) -> u64 {
    (value >> 1) ^ (value & 1).wrapping_neg()
}

fn varint_u32(reader: &mut Reader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    let value = reader.varint(what)?;
    u32::try_from(value).map_err(|_| DecodeError::OutOfRange { what, value })
}

fn varint_amount(reader: &mut Reader<'_>, what: &'static str) -> Result<u64, DecodeError> {
    let value = reader.varint(what)?;
    if value > MAX_AMOUNT {
        return Err(DecodeError::OutOfRange { what, value });
    }
    Ok(value)
}

impl Reader<'_> {
    /// An unsigned LEB128 varint, minimal, at most 10 bytes.
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for position in 0..10u32 {
            let byte = self.u8()?;
            let group = u64::from(byte & 0x7f);
            let shift = position * 7;
            if position == 9 && byte > 1 {
                return Err(DecodeError::OutOfRange { what, value: u64::MAX });
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                if byte == 0 && position > 0 {
                    return Err(DecodeError::NonMinimal { what });
                }
                return Ok(value);
            }
        }
        Err(DecodeError::NonMinimal { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_round_trip(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        let mut reader = Reader::new(&out);
        assert_eq!(reader.varint("v"), Ok(value));
        assert_eq!(reader.remaining(), 0);
        out
    }

    #[test]
    fn varints_are_minimal_leb128() {
        assert_eq!(varint_round_trip(0), vec![0]);
        assert_eq!(varint_round_trip(127), vec![127]);
        assert_eq!(varint_round_trip(128), vec![0x80, 1]);
        assert_eq!(varint_round_trip(u64::MAX).len(), 10);
        for bytes in [&[0x80, 0][..], &[0xff, 0x80, 0x00][..]] {
            assert_eq!(Reader::new(bytes).varint("v"), Err(DecodeError::NonMinimal { what: "v" }));
        }
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&too_big).varint("v"),
            Err(DecodeError::OutOfRange { what: "v", value: u64::MAX })
        );
        assert_eq!(Reader::new(&[0x80]).varint("v"), Err(DecodeError::Truncated { needed: 1, offset: 1 }));
    }

    #[test]
    fn zigzag_round_trips_every_difference() {
        for value in [0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, 12_345] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(u64::MAX), 1);
    }
}
