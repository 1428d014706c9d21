//! The payloads of L1 messages (`docs/protocol.md` section 3): the bytes a deposit
//! envelope or a forced-transaction envelope carries on Bitcoin, and their strict
//! decoders.
//!
//! - A **deposit** payload names the credited account and the amount:
//!   `version (1) ‖ to (u32 LE) ‖ to_pubkey (5 × u64 LE, canonical) ‖ amount (u64 LE)`,
//!   53 bytes. The Bitcoin outpoint that paid the bridge is not in the payload: the
//!   reader takes it from the transaction that carries the envelope
//!   ([`DepositPayload::into_deposit`]).
//! - A **forced transaction** payload is the user's signed transaction in its
//!   canonical encoding ([`SignedTx`]'s, version byte first). Its signature is not
//!   checked here: an invalid forced transaction is a recorded no-op of the STF.
//!
//! Decoding is strict, as for every encoding of the L2: a wrong version, a value out
//! of range, a truncated payload or trailing bytes is an error naming the fault, so
//! that one message has exactly one encoding.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use serde::{Deserialize, Serialize};

use crate::hash::F;
use crate::types::{
    AccountIndex, DecodeError, Deposit, Encode, L1Outpoint, PubKey, SignedTx, ENCODING_VERSION, MAX_AMOUNT,
};
use plonky2::field::types::Field64;

/// Length of a deposit payload: version, `to`, `to_pubkey`, amount.
pub const DEPOSIT_PAYLOAD_LEN: usize = 1 + 4 + 40 + 8;

/// What a deposit envelope carries: who is credited, and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositPayload {
    /// The credited account (not 0).
    pub to: AccountIndex,
    /// Its key: must match an existing account, or creates it.
    pub to_pubkey: PubKey,
    /// Amount in satoshis, 1 to [`MAX_AMOUNT`]; the carrying transaction must pay at
    /// least this much to the bridge.
    pub amount: u64,
}

/// Why an L1 message payload does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeL1MessageError {
    /// The payload ends before the message does.
    #[error("{what} payload truncated: {needed} more bytes needed at offset {offset}")]
    Truncated {
        /// Which payload: `deposit` or `forced transaction`.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
        /// Where.
        offset: usize,
    },
    /// Bytes after the message.
    #[error("{what} payload has {count} trailing bytes")]
    TrailingBytes {
        /// Which payload.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// A version byte this code does not read.
    #[error("{what} payload has unsupported version {version}")]
    UnsupportedVersion {
        /// Which payload.
        what: &'static str,
        /// The version byte.
        version: u8,
    },
    /// A deposit of zero or of more than [`MAX_AMOUNT`].
    #[error("deposit amount {amount} is out of range: it must be 1 to {MAX_AMOUNT}")]
    AmountOutOfRange {
        /// The stated amount.
        amount: u64,
    },
    /// A deposit to account 0, which is never used.
    #[error("deposit to account 0, which is reserved")]
    ReservedAccount,
    /// A public key element that is not a canonical field element.
    #[error("deposit public key element {value} is not below the field order")]
    NonCanonicalKey {
        /// The element.
        value: u64,
    },
    /// A field written with more bytes than its value needs.
    #[error("forced transaction field {what} is not minimally encoded")]
    NonMinimal {
        /// The field.
        what: &'static str,
    },
    /// A forced transaction of an unknown kind.
    #[error("forced transaction of unknown kind {kind}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A forced transaction field out of its range.
    #[error("forced transaction field {what} = {value} is out of range")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// The value.
        value: u64,
    },
}

const DEPOSIT: &str = "deposit";
const FORCED: &str = "forced transaction";

impl DepositPayload {
    /// The versioned encoding ([`DEPOSIT_PAYLOAD_LEN`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DEPOSIT_PAYLOAD_LEN);
        out.push(ENCODING_VERSION);
        out.extend_from_slice(&self.to.to_le_bytes());
        for element in self.to_pubkey.0 {
            out.extend_from_slice(&element.to_le_bytes());
        }
        out.extend_from_slice(&self.amount.to_le_bytes());
        out
    }

    /// Decodes exactly `bytes`, refusing any other encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeL1MessageError> {
        let mut reader = Cursor { bytes, offset: 0 };
        let [version] = reader.array::<1>()?;
        if version != ENCODING_VERSION {
            return Err(DecodeL1MessageError::UnsupportedVersion { what: DEPOSIT, version });
        }
        let to = u32::from_le_bytes(reader.array()?);
        let mut key = [0u64; 5];
        for element in &mut key {
            *element = u64::from_le_bytes(reader.array()?);
        }
        let amount = u64::from_le_bytes(reader.array()?);
        let trailing = bytes.len().saturating_sub(reader.offset);
        if trailing > 0 {
            return Err(DecodeL1MessageError::TrailingBytes { what: DEPOSIT, count: trailing });
        }
        if to == 0 {
            return Err(DecodeL1MessageError::ReservedAccount);
        }
        if let Some(value) = key.iter().copied().find(|element| *element >= F::ORDER) {
            return Err(DecodeL1MessageError::NonCanonicalKey { value });
        }
        if amount == 0 || amount > MAX_AMOUNT {
            return Err(DecodeL1MessageError::AmountOutOfRange { amount });
        }
        Ok(Self { to, to_pubkey: PubKey(key), amount })
    }

    /// The deposit this payload makes, paid by the Bitcoin output `l1_outpoint`.
    pub fn into_deposit(self, l1_outpoint: L1Outpoint) -> Deposit {
        Deposit { l1_outpoint, amount: self.amount, to: self.to, to_pubkey: self.to_pubkey }
    }
}

/// The payload of a forced-transaction envelope: `signed`'s canonical encoding.
pub fn encode_forced_payload(signed: &SignedTx) -> Vec<u8> {
    signed.encode()
}

/// The signed transaction in a forced-transaction payload, decoded strictly.
pub fn decode_forced_payload(bytes: &[u8]) -> Result<SignedTx, DecodeL1MessageError> {
    SignedTx::decode(bytes).map_err(|error| match error {
        DecodeError::Truncated { needed, offset } => {
            DecodeL1MessageError::Truncated { what: FORCED, needed, offset }
        }
        DecodeError::UnknownVersion(version) => {
            DecodeL1MessageError::UnsupportedVersion { what: FORCED, version }
        }
        DecodeError::UnknownKind { kind, .. } => DecodeL1MessageError::UnknownKind { kind },
        DecodeError::OutOfRange { what, value } => DecodeL1MessageError::OutOfRange { what, value },
        DecodeError::TrailingBytes(count) => DecodeL1MessageError::TrailingBytes { what: FORCED, count },
        // The transaction encoding has no varint; kept for completeness.
        DecodeError::NonMinimal { what } => DecodeL1MessageError::NonMinimal { what },
    })
}

/// Reads a deposit payload, never past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl Cursor<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeL1MessageError> {
        let truncated = DecodeL1MessageError::Truncated {
            what: DEPOSIT,
            needed: self.offset.saturating_add(N).saturating_sub(self.bytes.len()),
            offset: self.offset,
        };
        let end = self.offset.checked_add(N).ok_or(truncated.clone())?;
        let slice = self.bytes.get(self.offset..end).ok_or(truncated)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        self.offset = end;
        Ok(array)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

    use proptest::prelude::*;

    use super::*;
    use crate::types::{Transfer, UserTx, Withdraw, SIGNATURE_LEN};

    fn payload() -> DepositPayload {
        DepositPayload { to: 7, to_pubkey: PubKey([1, 2, 3, 4, 5]), amount: 50_000 }
    }

    #[test]
    fn a_deposit_payload_has_one_fixed_layout() {
        let bytes = payload().encode();
        assert_eq!(bytes.len(), DEPOSIT_PAYLOAD_LEN);
        let mut expected = vec![1, 7, 0, 0, 0];
        for element in 1u64..=5 {
            expected.extend_from_slice(&element.to_le_bytes());
        }
        expected.extend_from_slice(&50_000u64.to_le_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(DepositPayload::decode(&bytes), Ok(payload()));
    }

    #[test]
    fn malformed_deposit_payloads_are_refused_with_the_reason() {
        let good = payload().encode();
        assert_eq!(
            DepositPayload::decode(&[]),
            Err(DecodeL1MessageError::Truncated { what: "deposit", needed: 1, offset: 0 })
        );
        assert_eq!(
            DepositPayload::decode(&good[..DEPOSIT_PAYLOAD_LEN - 3]),
            Err(DecodeL1MessageError::Truncated { what: "deposit", needed: 3, offset: 45 })
        );
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0, 0]);
        assert_eq!(
            DepositPayload::decode(&trailing),
            Err(DecodeL1MessageError::TrailingBytes { what: "deposit", count: 2 })
        );
        let mut version = good.clone();
        version[0] = 2;
        assert_eq!(
            DepositPayload::decode(&version),
            Err(DecodeL1MessageError::UnsupportedVersion { what: "deposit", version: 2 })
        );
        let with_amount = |amount: u64| {
            let mut bytes = good.clone();
            bytes[45..53].copy_from_slice(&amount.to_le_bytes());
            DepositPayload::decode(&bytes)
        };
        assert_eq!(with_amount(0), Err(DecodeL1MessageError::AmountOutOfRange { amount: 0 }));
        assert_eq!(
            with_amount(MAX_AMOUNT + 1),
            Err(DecodeL1MessageError::AmountOutOfRange { amount: MAX_AMOUNT + 1 })
        );
        assert_eq!(with_amount(MAX_AMOUNT).map(|payload| payload.amount), Ok(MAX_AMOUNT));
        let mut reserved = good.clone();
        reserved[1..5].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(DepositPayload::decode(&reserved), Err(DecodeL1MessageError::ReservedAccount));
        let mut key = good;
        key[13..21].copy_from_slice(&F::ORDER.to_le_bytes());
        assert_eq!(
            DepositPayload::decode(&key),
            Err(DecodeL1MessageError::NonCanonicalKey { value: F::ORDER })
        );
    }

    #[test]
    fn a_deposit_takes_its_outpoint_from_bitcoin() {
        let outpoint = L1Outpoint { txid: [9; 32], vout: 3 };
        assert_eq!(
            payload().into_deposit(outpoint),
            Deposit { l1_outpoint: outpoint, amount: 50_000, to: 7, to_pubkey: PubKey([1, 2, 3, 4, 5]) }
        );
    }

    fn forced() -> SignedTx {
        SignedTx {
            tx: UserTx::Transfer(Transfer {
                from: 2,
                to: 3,
                to_pubkey: PubKey([6; 5]),
                amount: 10,
                fee: 1,
                nonce: 1,
            }),
            signature: vec![0xcd; SIGNATURE_LEN],
        }
    }

    #[test]
    fn malformed_forced_payloads_are_refused_with_the_reason() {
        let good = encode_forced_payload(&forced());
        assert_eq!(decode_forced_payload(&good), Ok(forced()));
        assert_eq!(
            decode_forced_payload(&good[..good.len() - 1]),
            Err(DecodeL1MessageError::Truncated {
                what: "forced transaction",
                needed: 1,
                offset: good.len() - 80
            })
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode_forced_payload(&trailing),
            Err(DecodeL1MessageError::TrailingBytes { what: "forced transaction", count: 1 })
        );
        let mut version = good.clone();
        version[0] = 0;
        assert_eq!(
            decode_forced_payload(&version),
            Err(DecodeL1MessageError::UnsupportedVersion { what: "forced transaction", version: 0 })
        );
        let mut kind = good.clone();
        kind[1] = 5;
        assert_eq!(decode_forced_payload(&kind), Err(DecodeL1MessageError::UnknownKind { kind: 5 }));
        // amount at: version, kind, from, to, to_pubkey.
        let mut amount = good;
        amount[50..58].copy_from_slice(&(MAX_AMOUNT + 1).to_le_bytes());
        assert_eq!(
            decode_forced_payload(&amount),
            Err(DecodeL1MessageError::OutOfRange { what: "amount", value: MAX_AMOUNT + 1 })
        );
        let withdraw = SignedTx {
            tx: UserTx::Withdraw(Withdraw {
                from: 2,
                amount: 5,
                fee: 1,
                nonce: 2,
                l1_script: vec![0x51; 34],
            }),
            signature: vec![1; SIGNATURE_LEN],
        };
        assert_eq!(decode_forced_payload(&encode_forced_payload(&withdraw)), Ok(withdraw));
    }

    proptest! {
        #[test]
        fn deposit_payloads_round_trip_and_every_cut_is_truncated(
            to in 1u32..,
            key in prop::array::uniform5(0..F::ORDER),
            amount in 1..=MAX_AMOUNT,
        ) {
            let payload = DepositPayload { to, to_pubkey: PubKey(key), amount };
            let bytes = payload.encode();
            prop_assert_eq!(DepositPayload::decode(&bytes), Ok(payload));
            for cut in 0..bytes.len() {
                let truncated = matches!(
                    DepositPayload::decode(&bytes[..cut]),
                    Err(DecodeL1MessageError::Truncated { .. })
                );
                prop_assert!(truncated, "cut at {}", cut);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = DepositPayload::decode(&bytes);
            let _ = decode_forced_payload(&bytes);
        }
    }
}
