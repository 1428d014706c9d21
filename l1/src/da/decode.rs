//! The strict decoder: envelopes from leaves, witnesses and transactions.

use std::borrow::Cow;

use bitcoin::opcodes::all::{OP_CHECKSIG, OP_ENDIF, OP_IF, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4};
use bitcoin::{Transaction, Witness, XOnlyPublicKey};

use super::envelope::{
    Envelope, EnvelopeKind, ENVELOPE_VERSION, KIND_BATCH_CHUNK, KIND_DEPOSIT, KIND_FORCED_TRANSACTION,
    MAX_ENVELOPE_DATA, MAX_PUSH_BYTES,
};
use crate::script::Script;

/// BIP-341's annex marker: the first byte of a last witness element that is an annex.
const ANNEX_TAG: u8 = 0x50;
/// The leaf version of tapscript (BIP-342), in a control block's first byte.
const TAPSCRIPT_LEAF_VERSION: u8 = 0xc0;
/// A control block: 33 bytes, then 32 per level of the tree, at most 128 levels.
const CONTROL_BASE: usize = 33;
const CONTROL_NODE: usize = 32;
const CONTROL_MAX_NODES: usize = 128;
/// A batch chunk's header: version, kind, batch (8), index (2), count (2).
const BATCH_HEADER_LEN: usize = 14;
/// A deposit's or forced transaction's header: version, kind.
const MESSAGE_HEADER_LEN: usize = 2;

/// What is wrong with a leaf that carries our tag.
///
/// Offsets are byte positions in the leaf script.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeEnvelopeError {
    /// The leaf ends before the envelope does.
    #[error("envelope truncated at byte {offset}: {missing} missing")]
    Truncated {
        /// Where the missing part should start.
        offset: usize,
        /// What is missing: `header`, `OP_ENDIF`, `poster key`, `OP_CHECKSIG` or `push length`.
        missing: &'static str,
    },
    /// A push declares more bytes than the leaf has left.
    #[error("push at byte {offset} declares {declared} bytes but only {available} remain")]
    TruncatedPush {
        /// The push opcode's position.
        offset: usize,
        /// The length it declares.
        declared: usize,
        /// The bytes left after its length prefix.
        available: usize,
    },
    /// A push of ours not in its shortest encoding.
    #[error("non-minimal push of {len} bytes at byte {offset}")]
    NonMinimalPush {
        /// The push opcode's position.
        offset: usize,
        /// The pushed length.
        len: usize,
    },
    /// A push over script's 520-byte element limit.
    #[error("push of {len} bytes at byte {offset} is over the 520-byte element limit")]
    PushTooLarge {
        /// The push opcode's position.
        offset: usize,
        /// The pushed length.
        len: usize,
    },
    /// An opcode where the envelope has a push, `OP_ENDIF` or `OP_CHECKSIG`.
    #[error("unexpected opcode 0x{opcode:02x} at byte {offset}")]
    UnexpectedOpcode {
        /// Its position.
        offset: usize,
        /// The opcode.
        opcode: u8,
    },
    /// Bytes after the final `OP_CHECKSIG`.
    #[error("{count} trailing bytes after the envelope at byte {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A header shorter than version and kind.
    #[error("header of {len} bytes is shorter than version and kind")]
    HeaderTooShort {
        /// The header's length.
        len: usize,
    },
    /// A header version this code does not read.
    #[error("unsupported envelope version {version}")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// A kind byte that names no kind.
    #[error("unknown envelope kind {kind}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A header of the wrong length for its kind.
    #[error("header of kind {kind} is {len} bytes, expected {expected}")]
    HeaderLength {
        /// The kind byte.
        kind: u8,
        /// The header's length.
        len: usize,
        /// The length of that kind's header.
        expected: usize,
    },
    /// A batch chunk with a chunk count of zero.
    #[error("batch {batch}: chunk count is zero")]
    ZeroChunkCount {
        /// The batch number.
        batch: u64,
    },
    /// A batch chunk whose index is not below its count.
    #[error("batch {batch}: chunk index {index} is not below the chunk count {count}")]
    ChunkIndexOutOfRange {
        /// The batch number.
        batch: u64,
        /// The index.
        index: u16,
        /// The count.
        count: u16,
    },
    /// Data pushes not split as the encoder splits: a push before the last one that
    /// is not full, or an empty push.
    #[error("data push {index} at byte {offset} holds {len} bytes: only the last may hold fewer than 520, and none 0")]
    UnevenDataPush {
        /// The push's position among the data pushes.
        index: usize,
        /// The push opcode's position.
        offset: usize,
        /// Its length.
        len: usize,
    },
    /// More payload than one envelope may carry.
    #[error("envelope payload over {max} bytes (push at byte {offset})")]
    Oversize {
        /// The push that went over.
        offset: usize,
        /// [`MAX_ENVELOPE_DATA`].
        max: usize,
    },
    /// A poster key push that is not 32 bytes.
    #[error("poster key push at byte {offset} is {len} bytes, expected 32")]
    KeyLength {
        /// The push opcode's position.
        offset: usize,
        /// Its length.
        len: usize,
    },
    /// 32 bytes that are not an x-only public key.
    #[error("poster key {key} is not a valid x-only public key")]
    InvalidKey {
        /// The bytes, in hex.
        key: String,
    },
}

/// An envelope read from a leaf, with the key that signed its reveal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevealedEnvelope {
    /// The envelope.
    pub envelope: Envelope,
    /// The poster's key (the leaf's `OP_CHECKSIG` key).
    pub poster: XOnlyPublicKey,
}

/// The outcome for one input of a transaction that carries our tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedInput {
    /// The input's index.
    pub input: usize,
    /// The envelope, or what is wrong with it.
    pub result: Result<RevealedEnvelope, DecodeEnvelopeError>,
}

/// Every input of `tx` that spends a tapscript leaf carrying our tag for `chain_id`,
/// in input order. Inputs without one (key-path and non-taproot spends, foreign
/// leaves) are left out; a malformed envelope of ours is reported in its entry and
/// never stops the others from being read.
///
/// The decoder reads the witness alone, as a block gives it: it does not know the
/// spent outputs. In a mined transaction consensus has already checked the control
/// block against the spent P2TR output and the poster's signature.
pub fn decode_transaction(tx: &Transaction, chain_id: u64) -> Vec<DecodedInput> {
    tx.input
        .iter()
        .enumerate()
        .filter_map(|(input, txin)| match decode_witness(&txin.witness, chain_id) {
            Ok(None) => None,
            Ok(Some(revealed)) => Some(DecodedInput { input, result: Ok(revealed) }),
            Err(error) => Some(DecodedInput { input, result: Err(error) }),
        })
        .collect()
}

/// The envelope in a taproot script-path witness, `Ok(None)` if there is none of
/// ours: a key-path spend, a witness that is not a script-path spend (no control
/// block of a tapscript leaf after the BIP-341 annex is set aside), or a foreign
/// leaf.
pub fn decode_witness(
    witness: &Witness,
    chain_id: u64,
) -> Result<Option<RevealedEnvelope>, DecodeEnvelopeError> {
    let mut elements: Vec<&[u8]> = witness.iter().collect();
    // BIP-341: with two or more elements, a last one starting with 0x50 is the annex.
    if elements.len() >= 2 && elements.last().and_then(|last| last.first()) == Some(&ANNEX_TAG) {
        elements.pop();
    }
    if elements.len() < 2 {
        return Ok(None);
    }
    let (Some(control), Some(leaf)) = (elements.pop(), elements.pop()) else {
        return Ok(None);
    };
    let nodes_len = control.len().checked_sub(CONTROL_BASE);
    let well_formed =
        nodes_len.is_some_and(|len| len % CONTROL_NODE == 0 && len / CONTROL_NODE <= CONTROL_MAX_NODES);
    let tapscript = control.first().is_some_and(|first| first & 0xfe == TAPSCRIPT_LEAF_VERSION);
    if !well_formed || !tapscript {
        return Ok(None);
    }
    decode_leaf(leaf, chain_id)
}

/// The envelope in `leaf`, `Ok(None)` if the leaf is foreign: it does not open with
/// `OP_FALSE OP_IF` and a push of our tag for `chain_id`. A leaf with our tag must
/// be exactly an envelope as [`Envelope::leaf`] writes it, or this fails with what
/// is wrong.
pub fn decode_leaf(leaf: &[u8], chain_id: u64) -> Result<Option<RevealedEnvelope>, DecodeEnvelopeError> {
    let tag = Envelope::tag(chain_id);
    let mut lexer = Lexer { script: leaf, pos: 0 };
    // Ours only from `OP_FALSE OP_IF <tag>`; anything else is someone else's leaf.
    if leaf.get(..2) != Some(&[0x00, OP_IF.to_u8()]) {
        return Ok(None);
    }
    lexer.pos = 2;
    let tag_push = match lexer.next() {
        Some(Ok(Lexed { offset, token: Token::Push { data, raw } })) if data.as_ref() == tag => {
            (offset, data, raw)
        }
        _ => return Ok(None),
    };
    check_minimal(tag_push.0, &tag_push.1, tag_push.2)?;

    let (_, header) = expect_push(&mut lexer, "header")?;
    let kind = parse_header(&header)?;

    let mut data = Vec::new();
    let mut pushes = 0usize;
    let mut last_push: Option<(usize, usize)> = None;
    loop {
        let Some(lexed) = lexer.next() else {
            return Err(DecodeEnvelopeError::Truncated { offset: leaf.len(), missing: "OP_ENDIF" });
        };
        let Lexed { offset, token } = lexed?;
        match token {
            Token::Op(opcode) if opcode == OP_ENDIF.to_u8() => break,
            Token::Op(opcode) => return Err(DecodeEnvelopeError::UnexpectedOpcode { offset, opcode }),
            Token::Push { data: push, raw } => {
                check_size_and_minimal(offset, &push, raw)?;
                if let Some((previous_offset, previous_len)) = last_push {
                    if previous_len != MAX_PUSH_BYTES {
                        return Err(DecodeEnvelopeError::UnevenDataPush {
                            index: pushes.saturating_sub(1),
                            offset: previous_offset,
                            len: previous_len,
                        });
                    }
                }
                if push.is_empty() {
                    return Err(DecodeEnvelopeError::UnevenDataPush { index: pushes, offset, len: 0 });
                }
                if data.len().saturating_add(push.len()) > MAX_ENVELOPE_DATA {
                    return Err(DecodeEnvelopeError::Oversize { offset, max: MAX_ENVELOPE_DATA });
                }
                data.extend_from_slice(&push);
                last_push = Some((offset, push.len()));
                pushes = pushes.saturating_add(1);
            }
        }
    }

    let (key_offset, key) = expect_push(&mut lexer, "poster key")?;
    if key.len() != 32 {
        return Err(DecodeEnvelopeError::KeyLength { offset: key_offset, len: key.len() });
    }
    let poster =
        XOnlyPublicKey::from_slice(&key).map_err(|_| DecodeEnvelopeError::InvalidKey { key: hex(&key) })?;
    match lexer.next() {
        None => return Err(DecodeEnvelopeError::Truncated { offset: leaf.len(), missing: "OP_CHECKSIG" }),
        Some(lexed) => {
            let Lexed { offset, token } = lexed?;
            match token {
                Token::Op(opcode) if opcode == OP_CHECKSIG.to_u8() => {}
                Token::Op(opcode) => return Err(DecodeEnvelopeError::UnexpectedOpcode { offset, opcode }),
                Token::Push { raw, .. } => {
                    return Err(DecodeEnvelopeError::UnexpectedOpcode {
                        offset,
                        opcode: raw.first().copied().unwrap_or_default(),
                    })
                }
            }
        }
    }
    if lexer.pos < leaf.len() {
        return Err(DecodeEnvelopeError::TrailingBytes {
            offset: lexer.pos,
            count: leaf.len().saturating_sub(lexer.pos),
        });
    }
    let envelope = Envelope::new(chain_id, kind, data)
        .map_err(|_| DecodeEnvelopeError::Oversize { offset: leaf.len(), max: MAX_ENVELOPE_DATA })?;
    Ok(Some(RevealedEnvelope { envelope, poster }))
}

/// The header's kind, checked: version, kind, length, chunk fields.
fn parse_header(header: &[u8]) -> Result<EnvelopeKind, DecodeEnvelopeError> {
    let [version, kind, fields @ ..] = header else {
        return Err(DecodeEnvelopeError::HeaderTooShort { len: header.len() });
    };
    if *version != ENVELOPE_VERSION {
        return Err(DecodeEnvelopeError::UnsupportedVersion { version: *version });
    }
    let expected = match *kind {
        KIND_BATCH_CHUNK => BATCH_HEADER_LEN,
        KIND_DEPOSIT | KIND_FORCED_TRANSACTION => MESSAGE_HEADER_LEN,
        other => return Err(DecodeEnvelopeError::UnknownKind { kind: other }),
    };
    if header.len() != expected {
        return Err(DecodeEnvelopeError::HeaderLength { kind: *kind, len: header.len(), expected });
    }
    match (*kind, fields) {
        (KIND_DEPOSIT, []) => Ok(EnvelopeKind::Deposit),
        (KIND_FORCED_TRANSACTION, []) => Ok(EnvelopeKind::ForcedTransaction),
        (KIND_BATCH_CHUNK, [b0, b1, b2, b3, b4, b5, b6, b7, i0, i1, c0, c1]) => {
            let batch = u64::from_be_bytes([*b0, *b1, *b2, *b3, *b4, *b5, *b6, *b7]);
            let index = u16::from_be_bytes([*i0, *i1]);
            let count = u16::from_be_bytes([*c0, *c1]);
            if count == 0 {
                return Err(DecodeEnvelopeError::ZeroChunkCount { batch });
            }
            if index >= count {
                return Err(DecodeEnvelopeError::ChunkIndexOutOfRange { batch, index, count });
            }
            Ok(EnvelopeKind::BatchChunk { batch, index, count })
        }
        // The lengths were checked against the kind above.
        _ => Err(DecodeEnvelopeError::HeaderLength { kind: *kind, len: header.len(), expected }),
    }
}

/// The next token, which must be a minimal push of at most 520 bytes.
fn expect_push<'a>(
    lexer: &mut Lexer<'a>,
    what: &'static str,
) -> Result<(usize, Cow<'a, [u8]>), DecodeEnvelopeError> {
    let Some(lexed) = lexer.next() else {
        return Err(DecodeEnvelopeError::Truncated { offset: lexer.script.len(), missing: what });
    };
    match lexed? {
        Lexed { offset, token: Token::Op(opcode) } => {
            Err(DecodeEnvelopeError::UnexpectedOpcode { offset, opcode })
        }
        Lexed { offset, token: Token::Push { data, raw } } => {
            check_size_and_minimal(offset, &data, raw)?;
            Ok((offset, data))
        }
    }
}

fn check_size_and_minimal(offset: usize, data: &[u8], raw: &[u8]) -> Result<(), DecodeEnvelopeError> {
    if data.len() > MAX_PUSH_BYTES {
        return Err(DecodeEnvelopeError::PushTooLarge { offset, len: data.len() });
    }
    check_minimal(offset, data, raw)
}

fn check_minimal(offset: usize, data: &[u8], raw: &[u8]) -> Result<(), DecodeEnvelopeError> {
    if Script::new().data(data).as_bytes() != raw {
        return Err(DecodeEnvelopeError::NonMinimalPush { offset, len: data.len() });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One script token.
enum Token<'a> {
    /// A push (`OP_0`, direct, `OP_PUSHDATA1/2/4`, `OP_1NEGATE`, `OP_1`..`OP_16`):
    /// the pushed bytes and the push's encoding in the script.
    Push { data: Cow<'a, [u8]>, raw: &'a [u8] },
    /// Any other opcode.
    Op(u8),
}

struct Lexed<'a> {
    offset: usize,
    token: Token<'a>,
}

/// Reads a script token by token, never past its end.
struct Lexer<'a> {
    script: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// The next token, `None` at the end.
    fn next(&mut self) -> Option<Result<Lexed<'a>, DecodeEnvelopeError>> {
        let offset = self.pos;
        let rest = self.script.get(offset..)?;
        let (&opcode, after) = rest.split_first()?;
        let truncated_length =
            DecodeEnvelopeError::Truncated { offset: offset.saturating_add(1), missing: "push length" };
        let (prefix, len) = match opcode {
            0x00 => (0, 0),
            0x01..=0x4b => (0, usize::from(opcode)),
            op if op == OP_PUSHDATA1.to_u8() => match after.first() {
                Some(len) => (1, usize::from(*len)),
                None => return Some(Err(truncated_length)),
            },
            op if op == OP_PUSHDATA2.to_u8() => match after.get(..2) {
                Some(&[a, b]) => (2, usize::from(u16::from_le_bytes([a, b]))),
                _ => return Some(Err(truncated_length)),
            },
            op if op == OP_PUSHDATA4.to_u8() => match after.get(..4) {
                Some(&[a, b, c, d]) => {
                    (4, usize::try_from(u32::from_le_bytes([a, b, c, d])).unwrap_or(usize::MAX))
                }
                _ => return Some(Err(truncated_length)),
            },
            0x4f => return Some(Ok(self.small(offset, 0x81))),
            0x51..=0x60 => return Some(Ok(self.small(offset, opcode.saturating_sub(0x50)))),
            _ => {
                self.pos = offset.saturating_add(1);
                return Some(Ok(Lexed { offset, token: Token::Op(opcode) }));
            }
        };
        let body = after.get(prefix..).unwrap_or_default();
        let Some(data) = body.get(..len) else {
            return Some(Err(DecodeEnvelopeError::TruncatedPush {
                offset,
                declared: len,
                available: body.len(),
            }));
        };
        let end = offset.saturating_add(1).saturating_add(prefix).saturating_add(len);
        let raw = self.script.get(offset..end).unwrap_or_default();
        self.pos = end;
        Some(Ok(Lexed { offset, token: Token::Push { data: Cow::Borrowed(data), raw } }))
    }

    /// A one-byte push by a one-byte opcode (`OP_1NEGATE`, `OP_1`..`OP_16`).
    fn small(&mut self, offset: usize, value: u8) -> Lexed<'a> {
        let end = offset.saturating_add(1);
        let raw = self.script.get(offset..end).unwrap_or_default();
        self.pos = end;
        Lexed { offset, token: Token::Push { data: Cow::Owned(vec![value]), raw } }
    }
}
