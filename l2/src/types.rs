//! L2 types (docs/protocol.md section 2) and their canonical binary encoding.
//!
//! Every top-level encoding starts with a version byte ([`ENCODING_VERSION`]).
//! Integers are little-endian and fixed-width, byte strings carry a one-byte length,
//! and decoding is strict: wrong versions or kinds, out-of-range values,
//! non-canonical field elements, truncation and trailing bytes are all errors, so
//! every value has exactly one encoding.

use serde::{Deserialize, Serialize};

use crate::hash::{hash, Digest, Domain, F};
use plonky2::field::types::{Field, Field64};

/// Version byte of every encoding defined here.
pub const ENCODING_VERSION: u8 = 1;
/// Every balance and amount is below 2^56 (docs/protocol.md section 1).
pub const MAX_AMOUNT: u64 = (1 << 56) - 1;
/// Longest Bitcoin output script a withdrawal may name: a witness program of 40
/// bytes plus version and push opcodes; P2PKH and P2SH are shorter.
pub const MAX_L1_SCRIPT_LEN: usize = 42;
/// Length of an encoded signature (EcGFp5 Schnorr: s and e, 40 bytes each).
pub const SIGNATURE_LEN: usize = 80;

/// An account index in the tree. Index 0 is never used.
pub type AccountIndex = u32;

/// A public key as the five Goldilocks elements of its canonical EcGFp5 encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PubKey(pub [u64; 5]);

impl PubKey {
    /// The elements.
    pub fn elements(&self) -> [F; 5] {
        self.0.map(F::from_canonical_u64)
    }
}

/// An account: what a tree leaf commits to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The owner's public key.
    pub pubkey: PubKey,
    /// Balance in satoshis, at most [`MAX_AMOUNT`].
    pub balance: u64,
    /// Nonce of the last transaction sent from the account (0 for none).
    pub nonce: u32,
}

impl Account {
    /// The leaf digest: Poseidon(public key, balance, nonce) in the account-leaf domain.
    pub fn leaf(&self) -> Digest {
        let pk = self.pubkey.elements();
        let input = [
            pk[0],
            pk[1],
            pk[2],
            pk[3],
            pk[4],
            F::from_canonical_u64(self.balance),
            F::from_canonical_u32(self.nonce),
        ];
        hash(Domain::AccountLeaf, &input)
    }
}

/// A transfer between accounts; creates `to` with `to_pubkey` when that leaf is empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Sender.
    pub from: AccountIndex,
    /// Receiver.
    pub to: AccountIndex,
    /// Receiver's key: must match an existing receiver, or creates it.
    pub to_pubkey: PubKey,
    /// Amount in satoshis.
    pub amount: u64,
    /// Fee in satoshis, to the operator's fee account.
    pub fee: u64,
    /// Sender's nonce: exactly the account's nonce plus one.
    pub nonce: u32,
}

/// A withdrawal to Bitcoin: burns on L2 and is paid out by the bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    /// Sender.
    pub from: AccountIndex,
    /// Amount in satoshis.
    pub amount: u64,
    /// Fee in satoshis.
    pub fee: u64,
    /// Sender's nonce: exactly the account's nonce plus one.
    pub nonce: u32,
    /// The Bitcoin output script to pay, at most [`MAX_L1_SCRIPT_LEN`] bytes.
    pub l1_script: Vec<u8>,
}

/// What a user signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserTx {
    /// A transfer.
    Transfer(Transfer),
    /// A withdrawal.
    Withdraw(Withdraw),
}

impl UserTx {
    /// The sender.
    pub fn from(&self) -> AccountIndex {
        match self {
            UserTx::Transfer(tx) => tx.from,
            UserTx::Withdraw(tx) => tx.from,
        }
    }

    /// The sender's nonce.
    pub fn nonce(&self) -> u32 {
        match self {
            UserTx::Transfer(tx) => tx.nonce,
            UserTx::Withdraw(tx) => tx.nonce,
        }
    }

    /// The fee.
    pub fn fee(&self) -> u64 {
        match self {
            UserTx::Transfer(tx) => tx.fee,
            UserTx::Withdraw(tx) => tx.fee,
        }
    }

    /// The message the sender signs: Poseidon, in the signature domain, over the chain
    /// id followed by elements 1 to 18 of the transaction's [`L2Tx::to_elements`]
    /// (kind, from, to, to_pubkey, amount, fee, nonce, l1_script length, l1_script
    /// packed seven bytes per element): the same 19 elements for every kind.
    pub fn signing_message(&self, chain_id: u64) -> Digest {
        let elements = L2Tx::User(SignedTx { tx: self.clone(), signature: Vec::new() }).to_elements();
        let mut input = [F::ZERO; SIGNED_ELEMENTS + 1];
        input[0] = F::from_noncanonical_u64(chain_id);
        input[1..].copy_from_slice(&elements[1..=SIGNED_ELEMENTS]);
        hash(Domain::TxSignature, &input)
    }
}

/// How many of [`L2Tx::to_elements`] (from index 1) a user signs.
pub const SIGNED_ELEMENTS: usize = 18;

/// Bytes as field elements, seven (little-endian) per element, the last one padded with zeros.
pub fn pack_bytes(bytes: &[u8]) -> Vec<F> {
    bytes
        .chunks(7)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            F::from_canonical_u64(u64::from_le_bytes(word))
        })
        .collect()
}

/// A signed user transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    /// The transaction.
    pub tx: UserTx,
    /// The sender's signature over [`UserTx::signing_message`].
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

/// A Bitcoin outpoint: transaction id (internal byte order) and output index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct L1Outpoint {
    /// The Bitcoin transaction id, in internal byte order.
    pub txid: [u8; 32],
    /// The output index.
    pub vout: u32,
}

/// A deposit from Bitcoin: credits `to` (created with `to_pubkey` if empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// The Bitcoin output that paid the bridge.
    pub l1_outpoint: L1Outpoint,
    /// Amount in satoshis.
    pub amount: u64,
    /// The credited account.
    pub to: AccountIndex,
    /// Its key: must match an existing account, or creates it.
    pub to_pubkey: PubKey,
}

/// A transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum L2Tx {
    /// A user transaction taken by the sequencer.
    User(SignedTx),
    /// A deposit (intrinsic, from an L1 message).
    Deposit(Deposit),
    /// A user transaction inscribed on Bitcoin (intrinsic): executes like a user
    /// transaction, and is a recorded no-op when invalid.
    Forced(SignedTx),
}

/// The Bitcoin block a rollup block is anchored to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Anchor {
    /// Its height.
    pub height: u32,
    /// Its hash, in internal byte order.
    pub hash: [u8; 32],
}

/// A block header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Block number; genesis is 0.
    pub number: u64,
    /// Hash of the previous header.
    pub parent_hash: Digest,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// State root before the block.
    pub prev_state_root: Digest,
    /// State root after the block.
    pub state_root: Digest,
    /// Poseidon chain over the block's user transactions, packed
    /// ([`crate::tx_commitment`]).
    pub tx_commitment: Digest,
    /// L1 message cursor before the block.
    pub l1_cursor_before: u64,
    /// L1 message cursor after the block.
    pub l1_cursor_after: u64,
    /// The finalized Bitcoin block the block is anchored to.
    pub l1_anchor: L1Anchor,
}

/// A block: header and transactions, intrinsic ones first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions.
    pub txs: Vec<L2Tx>,
}

const TX_KIND_TRANSFER: u8 = 0;
const TX_KIND_WITHDRAW: u8 = 1;
const L2_KIND_USER: u8 = 0;
const L2_KIND_DEPOSIT: u8 = 1;
const L2_KIND_FORCED: u8 = 2;

/// Why bytes do not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended early.
    #[error("truncated: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Bytes missing.
        needed: usize,
        /// Where.
        offset: usize,
    },
    /// The version byte is not [`ENCODING_VERSION`].
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    /// An unknown kind byte.
    #[error("unknown {what} kind {kind}")]
    UnknownKind {
        /// What was being decoded.
        what: &'static str,
        /// The kind byte.
        kind: u8,
    },
    /// A value outside its range.
    #[error("{what} = {value} is out of range")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// Bytes left over after the value.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// A varint with more bytes than its value needs.
    #[error("{what} is a non-minimal varint")]
    NonMinimal {
        /// The field.
        what: &'static str,
    },
}

/// Canonical binary encoding.
pub trait Encode: Sized {
    /// Appends the encoding without the version byte.
    fn encode_to(&self, out: &mut Vec<u8>);
    /// Reads a value (without the version byte).
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// The versioned encoding.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![ENCODING_VERSION];
        self.encode_to(&mut out);
        out
    }

    /// Decodes exactly `bytes` (version byte first).
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader { bytes, offset: 0 };
        let version = reader.u8()?;
        if version != ENCODING_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let value = Self::decode_from(&mut reader)?;
        match bytes.len().saturating_sub(reader.offset) {
            0 => Ok(value),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }
}

/// A cursor over bytes being decoded.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.offset)
    }

    fn take(&mut self, count: usize) -> Result<&[u8], DecodeError> {
        let end = self.offset.checked_add(count).filter(|end| *end <= self.bytes.len()).ok_or(
            DecodeError::Truncated {
                needed: self.offset.saturating_add(count).saturating_sub(self.bytes.len()),
                offset: self.offset,
            },
        )?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn amount(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let value = self.u64()?;
        if value > MAX_AMOUNT {
            return Err(DecodeError::OutOfRange { what, value });
        }
        Ok(value)
    }

    fn element(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let value = self.u64()?;
        if value >= F::ORDER {
            return Err(DecodeError::OutOfRange { what, value });
        }
        Ok(value)
    }

    pub(crate) fn digest(&mut self, what: &'static str) -> Result<Digest, DecodeError> {
        let mut elements = [0u64; 4];
        for element in &mut elements {
            *element = self.element(what)?;
        }
        Ok(Digest(elements))
    }

    pub(crate) fn pubkey(&mut self) -> Result<PubKey, DecodeError> {
        let mut elements = [0u64; 5];
        for element in &mut elements {
            *element = self.element("public key element")?;
        }
        Ok(PubKey(elements))
    }

    pub(crate) fn short_bytes(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, DecodeError> {
        let len = usize::from(self.u8()?);
        if len > max {
            return Err(DecodeError::OutOfRange { what, value: len as u64 });
        }
        Ok(self.take(len)?.to_vec())
    }
}

fn put_digest(out: &mut Vec<u8>, digest: &Digest) {
    for element in digest.0 {
        out.extend_from_slice(&element.to_le_bytes());
    }
}

fn put_pubkey(out: &mut Vec<u8>, pubkey: &PubKey) {
    for element in pubkey.0 {
        out.extend_from_slice(&element.to_le_bytes());
    }
}

impl Encode for Account {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_pubkey(out, &self.pubkey);
        out.extend_from_slice(&self.balance.to_le_bytes());
        out.extend_from_slice(&self.nonce.to_le_bytes());
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Account { pubkey: reader.pubkey()?, balance: reader.amount("balance")?, nonce: reader.u32()? })
    }
}

impl Encode for UserTx {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            UserTx::Transfer(tx) => {
                out.push(TX_KIND_TRANSFER);
                out.extend_from_slice(&tx.from.to_le_bytes());
                out.extend_from_slice(&tx.to.to_le_bytes());
                put_pubkey(out, &tx.to_pubkey);
                out.extend_from_slice(&tx.amount.to_le_bytes());
                out.extend_from_slice(&tx.fee.to_le_bytes());
                out.extend_from_slice(&tx.nonce.to_le_bytes());
            }
            UserTx::Withdraw(tx) => {
                out.push(TX_KIND_WITHDRAW);
                out.extend_from_slice(&tx.from.to_le_bytes());
                out.extend_from_slice(&tx.amount.to_le_bytes());
                out.extend_from_slice(&tx.fee.to_le_bytes());
                out.extend_from_slice(&tx.nonce.to_le_bytes());
                // The length is at most MAX_L1_SCRIPT_LEN (42) for decodable values;
                // longer scripts are refused before they are encoded.
                out.push(u8::try_from(tx.l1_script.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(&tx.l1_script);
            }
        }
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8()? {
            TX_KIND_TRANSFER => Ok(UserTx::Transfer(Transfer {
                from: reader.u32()?,
                to: reader.u32()?,
                to_pubkey: reader.pubkey()?,
                amount: reader.amount("amount")?,
                fee: reader.amount("fee")?,
                nonce: reader.u32()?,
            })),
            TX_KIND_WITHDRAW => Ok(UserTx::Withdraw(Withdraw {
                from: reader.u32()?,
                amount: reader.amount("amount")?,
                fee: reader.amount("fee")?,
                nonce: reader.u32()?,
                l1_script: reader.short_bytes("l1_script length", MAX_L1_SCRIPT_LEN)?,
            })),
            kind => Err(DecodeError::UnknownKind { what: "user transaction", kind }),
        }
    }
}

impl Encode for SignedTx {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tx.encode_to(out);
        out.extend_from_slice(&self.signature);
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tx = UserTx::decode_from(reader)?;
        let signature = reader.take(SIGNATURE_LEN)?.to_vec();
        Ok(SignedTx { tx, signature })
    }
}

impl Encode for Deposit {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.l1_outpoint.txid);
        out.extend_from_slice(&self.l1_outpoint.vout.to_le_bytes());
        out.extend_from_slice(&self.amount.to_le_bytes());
        out.extend_from_slice(&self.to.to_le_bytes());
        put_pubkey(out, &self.to_pubkey);
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Deposit {
            l1_outpoint: L1Outpoint { txid: reader.array()?, vout: reader.u32()? },
            amount: reader.amount("amount")?,
            to: reader.u32()?,
            to_pubkey: reader.pubkey()?,
        })
    }
}

impl Encode for L2Tx {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            L2Tx::User(tx) => {
                out.push(L2_KIND_USER);
                tx.encode_to(out);
            }
            L2Tx::Deposit(deposit) => {
                out.push(L2_KIND_DEPOSIT);
                deposit.encode_to(out);
            }
            L2Tx::Forced(tx) => {
                out.push(L2_KIND_FORCED);
                tx.encode_to(out);
            }
        }
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8()? {
            L2_KIND_USER => Ok(L2Tx::User(SignedTx::decode_from(reader)?)),
            L2_KIND_DEPOSIT => Ok(L2Tx::Deposit(Deposit::decode_from(reader)?)),
            L2_KIND_FORCED => Ok(L2Tx::Forced(SignedTx::decode_from(reader)?)),
            kind => Err(DecodeError::UnknownKind { what: "block transaction", kind }),
        }
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number.to_le_bytes());
        put_digest(out, &self.parent_hash);
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        put_digest(out, &self.prev_state_root);
        put_digest(out, &self.state_root);
        put_digest(out, &self.tx_commitment);
        out.extend_from_slice(&self.l1_cursor_before.to_le_bytes());
        out.extend_from_slice(&self.l1_cursor_after.to_le_bytes());
        out.extend_from_slice(&self.l1_anchor.height.to_le_bytes());
        out.extend_from_slice(&self.l1_anchor.hash);
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader {
            number: reader.u64()?,
            parent_hash: reader.digest("parent hash")?,
            timestamp_ms: reader.u64()?,
            prev_state_root: reader.digest("previous state root")?,
            state_root: reader.digest("state root")?,
            tx_commitment: reader.digest("transaction commitment")?,
            l1_cursor_before: reader.u64()?,
            l1_cursor_after: reader.u64()?,
            l1_anchor: L1Anchor { height: reader.u32()?, hash: reader.array()? },
        };
        if header.l1_cursor_after < header.l1_cursor_before {
            return Err(DecodeError::OutOfRange { what: "l1_cursor_after", value: header.l1_cursor_after });
        }
        Ok(header)
    }
}

/// Most transactions a decoded block may hold (a bound for decoders, above any capacity).
pub const MAX_BLOCK_TXS: u32 = 1 << 16;

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        out.extend_from_slice(&u32::try_from(self.txs.len()).unwrap_or(u32::MAX).to_le_bytes());
        for tx in &self.txs {
            tx.encode_to(out);
        }
    }

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::decode_from(reader)?;
        let count = reader.u32()?;
        if count > MAX_BLOCK_TXS {
            return Err(DecodeError::OutOfRange { what: "transaction count", value: u64::from(count) });
        }
        let txs = (0..count).map(|_| L2Tx::decode_from(reader)).collect::<Result<_, _>>()?;
        Ok(Block { header, txs })
    }
}

impl L2Tx {
    /// The transaction's id: for user and forced transactions their signing message
    /// (unique per sender and nonce), for a deposit a hash of its encoding.
    pub fn id(&self, chain_id: u64) -> Digest {
        match self {
            L2Tx::User(signed) | L2Tx::Forced(signed) => signed.tx.signing_message(chain_id),
            L2Tx::Deposit(deposit) => hash(Domain::TxId, &pack_bytes(&deposit.encode())),
        }
    }
}

/// Number of field elements of [`L2Tx::to_elements`]: every transaction has the same
/// shape, so that a circuit slot hashes any kind alike.
pub const TX_ELEMENTS: usize = 31;

impl L2Tx {
    /// The transaction as [`TX_ELEMENTS`] field elements: the packing that the L1
    /// message chain hashes (signature included: a forced transaction's signature is
    /// part of the message), and that the block circuit recomputes. The block's
    /// `tx_commitment` hashes the shorter [`crate::PackedTx`] of its user
    /// transactions instead. Layout (unused positions are zero):
    ///
    /// | index | user and forced | deposit |
    /// |---|---|---|
    /// | 0 | block kind (0 user, 2 forced) | 1 |
    /// | 1 | transaction kind (0 transfer, 1 withdraw) | 0 |
    /// | 2 | from | 0 |
    /// | 3 | to (transfer) | to |
    /// | 4..9 | to_pubkey (transfer) | to_pubkey |
    /// | 9 | amount | amount |
    /// | 10 | fee | 0 |
    /// | 11 | nonce | 0 |
    /// | 12 | l1_script length (withdraw) | vout |
    /// | 13..19 | l1_script, 7 bytes per element (withdraw) | txid, 7 bytes per element (5) |
    /// | 19..31 | the 80 signature bytes, 7 per element | |
    pub fn to_elements(&self) -> [F; TX_ELEMENTS] {
        let mut out = [F::ZERO; TX_ELEMENTS];
        fn put_packed(out: &mut [F], bytes: &[u8]) {
            for (slot, element) in out.iter_mut().zip(pack_bytes(bytes)) {
                *slot = element;
            }
        }
        match self {
            L2Tx::User(signed) | L2Tx::Forced(signed) => {
                put_packed(&mut out[19..31], &signed.signature);
                let kind = if matches!(self, L2Tx::User(_)) { L2_KIND_USER } else { L2_KIND_FORCED };
                out[0] = F::from_canonical_u8(kind);
                match &signed.tx {
                    UserTx::Transfer(tx) => {
                        out[1] = F::from_canonical_u8(TX_KIND_TRANSFER);
                        out[2] = F::from_canonical_u32(tx.from);
                        out[3] = F::from_canonical_u32(tx.to);
                        out[4..9].copy_from_slice(&tx.to_pubkey.elements());
                        out[9] = F::from_noncanonical_u64(tx.amount);
                        out[10] = F::from_noncanonical_u64(tx.fee);
                        out[11] = F::from_canonical_u32(tx.nonce);
                    }
                    UserTx::Withdraw(tx) => {
                        out[1] = F::from_canonical_u8(TX_KIND_WITHDRAW);
                        out[2] = F::from_canonical_u32(tx.from);
                        out[9] = F::from_noncanonical_u64(tx.amount);
                        out[10] = F::from_noncanonical_u64(tx.fee);
                        out[11] = F::from_canonical_u32(tx.nonce);
                        out[12] = F::from_canonical_u64(tx.l1_script.len() as u64);
                        put_packed(&mut out[13..19], &tx.l1_script);
                    }
                }
            }
            L2Tx::Deposit(deposit) => {
                out[0] = F::from_canonical_u8(L2_KIND_DEPOSIT);
                out[3] = F::from_canonical_u32(deposit.to);
                out[4..9].copy_from_slice(&deposit.to_pubkey.elements());
                out[9] = F::from_noncanonical_u64(deposit.amount);
                out[12] = F::from_canonical_u32(deposit.l1_outpoint.vout);
                put_packed(&mut out[13..18], &deposit.l1_outpoint.txid);
            }
        }
        out
    }

    /// Whether the transaction comes from an L1 message (a deposit or a forced
    /// transaction).
    pub fn is_intrinsic(&self) -> bool {
        !matches!(self, L2Tx::User(_))
    }
}

/// The next link of the L1 message chain (from the zero digest at genesis), over the
/// intrinsic transactions in cursor order: the previous link and the transaction's
/// [`L2Tx::to_elements`].
pub fn chain_l1_message(previous: &Digest, tx: &L2Tx) -> Digest {
    let mut input: Vec<F> = previous.elements().to_vec();
    input.extend(tx.to_elements());
    hash(Domain::L1MessageChain, &input)
}

/// The next link of a batch's transaction chain (from the zero digest at the
/// batch's first block): the previous link, the block number and the block's
/// `tx_commitment`. Stage 2 computes it from the block proofs; the DA proof (later)
/// recomputes it from the batch blob.
pub fn chain_batch_tx(previous: &Digest, number: u64, tx_commitment: &Digest) -> Digest {
    let mut input: Vec<F> = previous.elements().to_vec();
    input.push(F::from_noncanonical_u64(number));
    input.extend(tx_commitment.elements());
    hash(Domain::BatchTxChain, &input)
}

impl BlockHeader {
    /// The header's hash: Poseidon over its fields in the block-header domain.
    pub fn hash(&self) -> Digest {
        let mut input = vec![F::from_noncanonical_u64(self.number)];
        input.extend(self.parent_hash.elements());
        input.push(F::from_noncanonical_u64(self.timestamp_ms));
        input.extend(self.prev_state_root.elements());
        input.extend(self.state_root.elements());
        input.extend(self.tx_commitment.elements());
        input.push(F::from_noncanonical_u64(self.l1_cursor_before));
        input.push(F::from_noncanonical_u64(self.l1_cursor_after));
        input.push(F::from_canonical_u32(self.l1_anchor.height));
        input.extend(pack_bytes(&self.l1_anchor.hash));
        hash(Domain::BlockHeader, &input)
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::hex::decode(&text).ok_or_else(|| serde::de::Error::custom("not a hex string of whole bytes"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pubkey() -> impl Strategy<Value = PubKey> {
        prop::array::uniform5(0..F::ORDER).prop_map(PubKey)
    }

    fn user_tx() -> impl Strategy<Value = UserTx> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), pubkey(), 0..=MAX_AMOUNT, 0..=MAX_AMOUNT, any::<u32>()).prop_map(
                |(from, to, to_pubkey, amount, fee, nonce)| UserTx::Transfer(Transfer {
                    from,
                    to,
                    to_pubkey,
                    amount,
                    fee,
                    nonce
                })
            ),
            (
                any::<u32>(),
                0..=MAX_AMOUNT,
                0..=MAX_AMOUNT,
                any::<u32>(),
                prop::collection::vec(any::<u8>(), 0..=MAX_L1_SCRIPT_LEN)
            )
                .prop_map(|(from, amount, fee, nonce, l1_script)| UserTx::Withdraw(Withdraw {
                    from,
                    amount,
                    fee,
                    nonce,
                    l1_script
                })),
        ]
    }

    fn l2_tx() -> impl Strategy<Value = L2Tx> {
        let signed = || {
            (user_tx(), prop::collection::vec(any::<u8>(), SIGNATURE_LEN))
                .prop_map(|(tx, signature)| SignedTx { tx, signature })
        };
        prop_oneof![
            signed().prop_map(L2Tx::User),
            signed().prop_map(L2Tx::Forced),
            (any::<[u8; 32]>(), any::<u32>(), 0..=MAX_AMOUNT, any::<u32>(), pubkey()).prop_map(
                |(txid, vout, amount, to, to_pubkey)| {
                    L2Tx::Deposit(Deposit { l1_outpoint: L1Outpoint { txid, vout }, amount, to, to_pubkey })
                }
            ),
        ]
    }

    fn digest() -> impl Strategy<Value = Digest> {
        prop::array::uniform4(0..F::ORDER).prop_map(Digest)
    }

    fn block() -> impl Strategy<Value = Block> {
        (
            any::<u64>(),
            digest(),
            any::<u64>(),
            digest(),
            digest(),
            digest(),
            any::<u32>(),
            0u64..1000,
            any::<u32>(),
            any::<[u8; 32]>(),
            prop::collection::vec(l2_tx(), 0..6),
        )
            .prop_map(
                |(
                    number,
                    parent_hash,
                    timestamp_ms,
                    prev_state_root,
                    state_root,
                    tx_commitment,
                    before,
                    added,
                    height,
                    hash,
                    txs,
                )| Block {
                    header: BlockHeader {
                        number,
                        parent_hash,
                        timestamp_ms,
                        prev_state_root,
                        state_root,
                        tx_commitment,
                        l1_cursor_before: u64::from(before),
                        l1_cursor_after: u64::from(before) + added,
                        l1_anchor: L1Anchor { height, hash },
                    },
                    txs,
                },
            )
    }

    proptest! {
        #[test]
        fn blocks_round_trip(block in block()) {
            let bytes = block.encode();
            prop_assert_eq!(Block::decode(&bytes), Ok(block.clone()));
            // Every strict prefix is truncated, never misread.
            for cut in [1, bytes.len() / 2, bytes.len() - 1] {
                let result = Block::decode(&bytes[..cut]);
                prop_assert!(matches!(result, Err(DecodeError::Truncated { .. })), "cut {}: {:?}", cut, result);
            }
        }

        #[test]
        fn accounts_round_trip(pubkey in pubkey(), balance in 0..=MAX_AMOUNT, nonce in any::<u32>()) {
            let account = Account { pubkey, balance, nonce };
            prop_assert_eq!(Account::decode(&account.encode()), Ok(account));
        }

        #[test]
        fn signing_messages_differ_across_chains_and_fields(tx in user_tx(), chain in any::<u64>()) {
            prop_assert_ne!(tx.signing_message(chain), tx.signing_message(chain.wrapping_add(1)));
            let mut other = tx.clone();
            match &mut other {
                UserTx::Transfer(t) => t.nonce = t.nonce.wrapping_add(1),
                UserTx::Withdraw(w) => w.nonce = w.nonce.wrapping_add(1),
            }
            prop_assert_ne!(tx.signing_message(chain), other.signing_message(chain));
        }
    }

    fn sample_transfer() -> UserTx {
        UserTx::Transfer(Transfer { from: 1, to: 2, to_pubkey: PubKey([3; 5]), amount: 4, fee: 5, nonce: 6 })
    }

    #[test]
    fn malformed_encodings_are_refused_with_the_reason() {
        let good = sample_transfer().encode();
        let mut wrong_version = good.clone();
        wrong_version[0] = 2;
        assert_eq!(UserTx::decode(&wrong_version), Err(DecodeError::UnknownVersion(2)));

        let mut wrong_kind = good.clone();
        wrong_kind[1] = 9;
        assert_eq!(
            UserTx::decode(&wrong_kind),
            Err(DecodeError::UnknownKind { what: "user transaction", kind: 9 })
        );

        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(UserTx::decode(&trailing), Err(DecodeError::TrailingBytes(1)));

        assert_eq!(
            UserTx::decode(&good[..good.len() - 3]),
            Err(DecodeError::Truncated { needed: 3, offset: good.len() - 4 })
        );
        assert_eq!(UserTx::decode(&[]), Err(DecodeError::Truncated { needed: 1, offset: 0 }));

        // amount = 2^56: one over the limit. Offset: version, kind, from, to, pubkey.
        let mut too_much = good.clone();
        let amount_at = 1 + 1 + 4 + 4 + 40;
        too_much[amount_at..amount_at + 8].copy_from_slice(&(1u64 << 56).to_le_bytes());
        assert_eq!(
            UserTx::decode(&too_much),
            Err(DecodeError::OutOfRange { what: "amount", value: 1 << 56 })
        );

        // A public-key element equal to p is not canonical.
        let mut non_canonical = good.clone();
        non_canonical[10..18].copy_from_slice(&F::ORDER.to_le_bytes());
        assert_eq!(
            UserTx::decode(&non_canonical),
            Err(DecodeError::OutOfRange { what: "public key element", value: F::ORDER })
        );

        let withdraw =
            UserTx::Withdraw(Withdraw { from: 1, amount: 2, fee: 3, nonce: 4, l1_script: vec![0x51; 42] });
        let mut long_script = withdraw.encode();
        let length_at = 1 + 1 + 4 + 8 + 8 + 4;
        long_script[length_at] = 43;
        long_script.push(0x51);
        assert_eq!(
            UserTx::decode(&long_script),
            Err(DecodeError::OutOfRange { what: "l1_script length", value: 43 })
        );

        let header = BlockHeader { l1_cursor_before: 5, l1_cursor_after: 5, ..BlockHeader::default() };
        let mut backwards = header.encode();
        let after_at = 1 + 8 + 32 + 8 + 32 * 3 + 8;
        backwards[after_at..after_at + 8].copy_from_slice(&4u64.to_le_bytes());
        assert_eq!(
            BlockHeader::decode(&backwards),
            Err(DecodeError::OutOfRange { what: "l1_cursor_after", value: 4 })
        );
    }

    #[test]
    fn json_forms_are_readable() {
        let signed = SignedTx { tx: sample_transfer(), signature: vec![0xab; SIGNATURE_LEN] };
        let json = serde_json_value(&L2Tx::User(signed.clone()));
        assert_eq!(json["kind"], "user");
        assert_eq!(json["tx"]["type"], "transfer");
        assert_eq!(json["signature"].as_str().map(str::len), Some(160));
    }

    fn serde_json_value<T: Serialize>(value: &T) -> serde_json::Value {
        serde_json::to_value(value).unwrap()
    }
}
