//! Winternitz one-time signatures over hash160, natively and in tapscript.
//!
//! The settlement contract (`docs/protocol.md` section 7) has the operator reveal claims
//! and assert values with Winternitz keys fixed when the graph is signed: a leaf
//! verifies the signature and goes on with the signed value, and a watcher who sees
//! two different values signed by one key holds the proof of an equivocation.
//!
//! # Scheme
//!
//! [`Params`] fix the digit width `w` (2..=8 bits, default [`DEFAULT_DIGIT_BITS`])
//! and the message length in bytes. With `M = 2^w - 1`:
//!
//! - **Message digits.** The message is read as a big-endian bit string (the most
//!   significant bit of byte 0 first) and cut into `n0 = ceil(8 * len / w)` digits
//!   of `w` bits, most significant digit first; when `w` does not divide `8 * len`
//!   the last digit is padded with zero bits at its low end. For `w` in {2, 4, 8}
//!   there is no padding: with `w = 4` digit `2i` is the high nibble of byte `i`.
//! - **Checksum digits.** `c = Σ (M - d_i)` over the message digits, written with
//!   the fewest base-`2^w` digits `n1` that hold `n0 * M`, most significant first.
//!   Raising any message digit lowers `c`, which would require lowering a checksum
//!   digit: impossible without the secret key.
//! - **Keys.** One 20-byte secret `s_j` per digit (`n = n0 + n1` of them), derived
//!   from a 32-byte seed, a label and a key index ([`SecretKey::derive`]). The
//!   public key is `p_j = hash160^M(s_j)`.
//! - **Signature.** For digit `d_j` the chain value `hash160^{d_j}(s_j)`, together
//!   with the digit itself. A verifier checks `hash160^{M - d_j}(value) == p_j` for
//!   every digit and that the checksum digits match the message digits.
//!
//! The signed object is the digit vector. For widths with padding a signer (never a
//! forger) could sign a digit vector whose padding bits are not zero: the script
//! accepts it, [`PublicKey::verify_digits`] accepts it, and
//! [`PublicKey::verify`] refuses to read it as bytes
//! ([`WinternitzError::NonCanonicalDigits`]).
//!
//! # Witness and script
//!
//! [`Signature::to_witness`] gives, for every digit `j` in order (message digits,
//! then checksum digits), the chain value (20 bytes) and then the digit (a minimal
//! script number): `[v_0, d_0, v_1, d_1, ..., v_{n-1}, d_{n-1}]`, bottom of the
//! stack first, so the last checksum digit is on top.
//!
//! [`verify_script`] processes the digits from the top. For each digit it clamps
//! `d` to `min(d, M)`, hashes the chain value `M` times keeping every
//! intermediate value, picks `hash160^{M - d}(v)` by `OP_PICK` (a negative digit
//! makes `OP_PICK` fail) and compares it with `p_j`. The checksum is recomputed
//! from the message digits and compared with the checksum digits, and the message
//! is left on the stack as digits, bytes or wider chunks ([`Output`]).
//!
//! A digit above `M` in the witness is read as `M` (the clamp); its chain value must
//! then be the public key element itself, so such a witness is only another
//! encoding of the digit `M`. [`Signature::from_witness`] reads witnesses the same
//! way, so a watcher parses exactly what the script accepted.

use std::fmt;

use bitcoin::hashes::{hash160, hmac, sha256, Hash, HashEngine};
use bitcoin::opcodes::all::{
    OP_2DROP, OP_ADD, OP_DUP, OP_EQUALVERIFY, OP_FROMALTSTACK, OP_HASH160, OP_MIN, OP_PICK, OP_ROT, OP_SWAP,
    OP_TOALTSTACK, OP_TUCK,
};

use super::{encode_num, read_operand, Script, MAX_SCRIPT_NUM, MAX_STACK_ITEMS};

/// The bytes of a hash160 output: every chain value, secret and public key element.
pub const HASH_BYTES: usize = 20;

/// The default digit width: the smallest leaf plus witness per signed byte (see
/// the measurements in the crate's tests: 4 bits beats 3, 5 and the others).
pub const DEFAULT_DIGIT_BITS: u8 = 4;

/// The narrowest digit width supported.
pub const MIN_DIGIT_BITS: u8 = 2;

/// The widest digit width supported.
pub const MAX_DIGIT_BITS: u8 = 8;

/// Domain separation of the secret key derivation.
const DERIVATION_TAG: &[u8] = b"rollup/winternitz/secret/v1";

/// BIP-340 style tag of the public key commitment.
const COMMITMENT_TAG: &[u8] = b"rollup/winternitz/public-key/v1";

/// Why a Winternitz operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WinternitzError {
    /// The digit width is outside `MIN_DIGIT_BITS..=MAX_DIGIT_BITS`.
    #[error("digit width of {bits} bits is outside 2..=8")]
    UnsupportedDigitBits {
        /// The width asked for.
        bits: u8,
    },
    /// A message of zero bytes.
    #[error("the message length must be at least one byte")]
    EmptyMessage,
    /// The message is too long for the verifying script to stay within the stack
    /// limit (or for the checksum to stay a 31-bit script number).
    #[error("a {bytes}-byte message needs {digits} digits, more than the {max} a leaf can verify")]
    MessageTooLong {
        /// The message length asked for.
        bytes: usize,
        /// The digits it would take.
        digits: usize,
        /// The most digits a leaf can verify at this width.
        max: usize,
    },
    /// A message of the wrong length.
    #[error("message of {actual} bytes, the key signs {expected}")]
    MessageLength {
        /// The length the parameters fix.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A key and a signature (or two signatures) with different parameters.
    #[error("parameters differ: {expected:?} against {actual:?}")]
    ParamsMismatch {
        /// The parameters of the key.
        expected: Params,
        /// The parameters of the signature.
        actual: Params,
    },
    /// A digit vector or list of chain values of the wrong length.
    #[error("{actual} digits, the parameters fix {expected}")]
    DigitCount {
        /// The count the parameters fix.
        expected: usize,
        /// The count given.
        actual: usize,
    },
    /// A digit above `2^w - 1`.
    #[error("digit {index} is {digit}, above the maximum {max}")]
    DigitOutOfRange {
        /// The digit's position.
        index: usize,
        /// Its value.
        digit: u32,
        /// The largest digit of the width.
        max: u32,
    },
    /// A witness with the wrong number of elements.
    #[error("witness of {actual} elements, the signature has {expected}")]
    WitnessLength {
        /// Two elements per digit.
        expected: usize,
        /// The elements given.
        actual: usize,
    },
    /// A chain value that is not 20 bytes.
    #[error("chain value {index} is {len} bytes, not 20")]
    ChainValueLength {
        /// The digit's position.
        index: usize,
        /// The element's length.
        len: usize,
    },
    /// A digit element that is not a script number the script would accept (more
    /// than 4 bytes, or negative).
    #[error("digit element {index} is not a number in 0..2^31")]
    DigitEncoding {
        /// The digit's position.
        index: usize,
    },
    /// A chain value that does not hash to the public key element.
    #[error("chain value of digit {index} does not hash to the public key")]
    BadChainValue {
        /// The digit's position.
        index: usize,
    },
    /// Checksum digits that do not match the message digits.
    #[error("checksum digits {actual:?} do not match the message digits (expected {expected:?})")]
    ChecksumMismatch {
        /// The checksum digits of the message digits.
        expected: Vec<u32>,
        /// The checksum digits signed.
        actual: Vec<u32>,
    },
    /// A valid signature, but on another message.
    #[error("the signature signs another message (first difference at digit {digit})")]
    OtherMessage {
        /// The first digit position that differs.
        digit: usize,
    },
    /// A digit vector whose padding bits are not zero: signed, but not a message.
    #[error("the last message digit has non-zero padding bits")]
    NonCanonicalDigits,
    /// A chunking of the message digits the script cannot produce.
    #[error("chunks of {digits_per_chunk} digits: {reason}")]
    ChunkSize {
        /// The digits per chunk asked for.
        digits_per_chunk: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The shape of a Winternitz key: digit width and message length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    digit_bits: u8,
    message_bytes: usize,
    message_digits: usize,
    checksum_digits: usize,
}

impl Params {
    /// Parameters for `message_bytes`-byte messages with `digit_bits`-bit digits.
    ///
    /// Fails for widths outside 2..=8, empty messages and messages whose verifying
    /// script would exceed the 1000-element stack limit (`2 n + 2^w + 1` elements at
    /// its peak, `n` the digit count; with `w = 4` up to 243 bytes).
    pub fn new(digit_bits: u8, message_bytes: usize) -> Result<Self, WinternitzError> {
        if !(MIN_DIGIT_BITS..=MAX_DIGIT_BITS).contains(&digit_bits) {
            return Err(WinternitzError::UnsupportedDigitBits { bits: digit_bits });
        }
        if message_bytes == 0 {
            return Err(WinternitzError::EmptyMessage);
        }
        let w = usize::from(digit_bits);
        let max_digit = (1usize << w) - 1;
        // Peak stack: 2n witness elements, the M+1 chain values, the digit copy and
        // the public key element.
        let max_digits = (MAX_STACK_ITEMS - max_digit - 2) / 2;
        let too_long =
            |digits: usize| WinternitzError::MessageTooLong { bytes: message_bytes, digits, max: max_digits };
        let message_digits =
            message_bytes.checked_mul(8).map(|bits| bits.div_ceil(w)).ok_or_else(|| too_long(usize::MAX))?;
        if message_digits > max_digits {
            return Err(too_long(message_digits));
        }
        // message_digits <= 500 and max_digit <= 255: no overflow.
        let max_checksum = message_digits * max_digit;
        let mut checksum_digits = 1;
        let mut capacity = 1usize << w;
        while capacity <= max_checksum {
            checksum_digits += 1;
            capacity = capacity.checked_mul(1 << w).ok_or_else(|| too_long(message_digits))?;
        }
        // The checksum is rebuilt in script as a number: it must stay below 2^31.
        let total = message_digits + checksum_digits;
        if total > max_digits || capacity > (MAX_SCRIPT_NUM as usize) + 1 {
            return Err(too_long(total));
        }
        Ok(Self { digit_bits, message_bytes, message_digits, checksum_digits })
    }

    /// Parameters with the default width ([`DEFAULT_DIGIT_BITS`]).
    pub fn with_default_width(message_bytes: usize) -> Result<Self, WinternitzError> {
        Self::new(DEFAULT_DIGIT_BITS, message_bytes)
    }

    /// Parameters for `limbs` big-endian `u32` limbs (`4 * limbs` bytes, see
    /// [`limbs_to_bytes`]).
    pub fn for_u32_limbs(digit_bits: u8, limbs: usize) -> Result<Self, WinternitzError> {
        Self::new(digit_bits, limbs.saturating_mul(4))
    }

    /// The digit width `w` in bits.
    pub fn digit_bits(&self) -> u8 {
        self.digit_bits
    }

    /// The message length in bytes.
    pub fn message_bytes(&self) -> usize {
        self.message_bytes
    }

    /// The message digit count `n0`.
    pub fn message_digits(&self) -> usize {
        self.message_digits
    }

    /// The checksum digit count `n1`.
    pub fn checksum_digits(&self) -> usize {
        self.checksum_digits
    }

    /// All digits: `n0 + n1`, one key element and two witness elements each.
    pub fn total_digits(&self) -> usize {
        self.message_digits + self.checksum_digits
    }

    /// The largest digit `M = 2^w - 1`, also the length of every hash chain.
    pub fn max_digit(&self) -> u32 {
        (1u32 << self.digit_bits) - 1
    }

    /// The checksum of digits that are all zero: `n0 * M`.
    pub fn max_checksum(&self) -> u32 {
        // Bounded by Params::new: n0 <= 500, M <= 255.
        self.message_digits as u32 * self.max_digit()
    }

    /// The digits to sign for `message`: the message digits, then the checksum
    /// digits.
    pub fn digits(&self, message: &[u8]) -> Result<Vec<u32>, WinternitzError> {
        if message.len() != self.message_bytes {
            return Err(WinternitzError::MessageLength {
                expected: self.message_bytes,
                actual: message.len(),
            });
        }
        let w = usize::from(self.digit_bits);
        let mut digits: Vec<u32> = (0..self.message_digits)
            .map(|index| {
                (0..w).fold(0u32, |digit, offset| {
                    let bit = index * w + offset;
                    let value = message.get(bit / 8).map_or(0, |byte| (byte >> (7 - bit % 8)) & 1);
                    (digit << 1) | u32::from(value)
                })
            })
            .collect();
        let checksum = self.checksum_of(&digits);
        digits.extend(checksum);
        Ok(digits)
    }

    /// The checksum digits (most significant first) of message digits already
    /// checked to be at most `M`.
    fn checksum_of(&self, message_digits: &[u32]) -> Vec<u32> {
        let max = self.max_digit();
        let mut checksum: u32 = message_digits.iter().map(|digit| max.saturating_sub(*digit)).sum();
        let mut digits = vec![0; self.checksum_digits];
        for slot in digits.iter_mut().rev() {
            *slot = checksum & max;
            checksum >>= self.digit_bits;
        }
        digits
    }

    /// The message whose digits are `message_digits` (the first `n0` digits of a
    /// signature); fails if the padding bits are not zero.
    pub fn message_from_digits(&self, message_digits: &[u32]) -> Result<Vec<u8>, WinternitzError> {
        self.check_digits(message_digits, self.message_digits)?;
        let w = usize::from(self.digit_bits);
        let mut message = vec![0u8; self.message_bytes];
        for (index, digit) in message_digits.iter().enumerate() {
            for offset in 0..w {
                if (digit >> (w - 1 - offset)) & 1 == 0 {
                    continue;
                }
                let bit = index * w + offset;
                match message.get_mut(bit / 8) {
                    Some(byte) => *byte |= 0x80 >> (bit % 8),
                    None => return Err(WinternitzError::NonCanonicalDigits),
                }
            }
        }
        Ok(message)
    }

    /// The values [`verify_script`] leaves on the stack for `message` with chunks of
    /// `digits_per_chunk` digits (bottom first): each chunk's digits read as one
    /// base-`2^w` number, most significant digit first.
    pub fn chunk_values(&self, message: &[u8], digits_per_chunk: usize) -> Result<Vec<u32>, WinternitzError> {
        self.check_chunks(digits_per_chunk)?;
        let digits = self.digits(message)?;
        Ok(digits[..self.message_digits]
            .chunks(digits_per_chunk)
            .map(|chunk| chunk.iter().fold(0u32, |value, digit| (value << self.digit_bits) | digit))
            .collect())
    }

    fn check_chunks(&self, digits_per_chunk: usize) -> Result<(), WinternitzError> {
        let reason = if digits_per_chunk == 0 {
            Some("a chunk holds at least one digit")
        } else if digits_per_chunk.saturating_mul(usize::from(self.digit_bits)) > 31 {
            Some("a chunk must fit 31 bits (a script number)")
        } else if self.message_digits % digits_per_chunk != 0 {
            Some("the message digits must split into whole chunks")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(WinternitzError::ChunkSize { digits_per_chunk, reason }),
            None => Ok(()),
        }
    }

    fn check_digits(&self, digits: &[u32], expected: usize) -> Result<(), WinternitzError> {
        if digits.len() != expected {
            return Err(WinternitzError::DigitCount { expected, actual: digits.len() });
        }
        let max = self.max_digit();
        match digits.iter().position(|digit| *digit > max) {
            Some(index) => Err(WinternitzError::DigitOutOfRange { index, digit: digits[index], max }),
            None => Ok(()),
        }
    }
}

/// `limbs` as bytes: each limb big-endian, limb 0 first (the message
/// [`SecretKey::sign_u32_limbs`] signs).
pub fn limbs_to_bytes(limbs: &[u32]) -> Vec<u8> {
    limbs.iter().flat_map(|limb| limb.to_be_bytes()).collect()
}

/// The inverse of [`limbs_to_bytes`]; `None` unless the length is a multiple of 4.
pub fn bytes_to_limbs(bytes: &[u8]) -> Option<Vec<u32>> {
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|chunk| u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect(),
    )
}

fn hash_chain(value: [u8; HASH_BYTES], steps: u32) -> [u8; HASH_BYTES] {
    (0..steps).fold(value, |value, _| hash160::Hash::hash(&value).to_byte_array())
}

/// A Winternitz secret key: one 20-byte chain start per digit. One-time: signing
/// two different messages lets anyone prove the equivocation
/// ([`detect_equivocation`]) and forge larger digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey {
    params: Params,
    elements: Vec<[u8; HASH_BYTES]>,
}

impl SecretKey {
    /// Derives the key number `index` under `label` from `seed`.
    ///
    /// Element `j` is the first 20 bytes of
    /// `HMAC-SHA256(key = seed, "rollup/winternitz/secret/v1" || w (1 byte) ||
    /// message_bytes (u32 BE) || len(label) (u32 BE) || label || index (u32 BE) ||
    /// j (u32 BE))`. Keys of different labels, indices or parameters are
    /// independent, so one seed yields every key of the contract.
    pub fn derive(seed: &[u8; 32], label: &[u8], index: u32, params: Params) -> Self {
        let elements = (0..params.total_digits())
            .map(|element| {
                let mut engine = hmac::HmacEngine::<sha256::Hash>::new(seed);
                engine.input(DERIVATION_TAG);
                engine.input(&[params.digit_bits]);
                engine.input(&u32_be(params.message_bytes));
                engine.input(&u32_be(label.len()));
                engine.input(label);
                engine.input(&index.to_be_bytes());
                engine.input(&u32_be(element));
                let mac = hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
                let mut secret = [0u8; HASH_BYTES];
                secret.copy_from_slice(&mac[..HASH_BYTES]);
                secret
            })
            .collect();
        Self { params, elements }
    }

    /// The key's parameters.
    pub fn params(&self) -> Params {
        self.params
    }

    /// The public key: every chain start hashed `M` times.
    pub fn public_key(&self) -> PublicKey {
        let max = self.params.max_digit();
        PublicKey {
            params: self.params,
            elements: self.elements.iter().map(|secret| hash_chain(*secret, max)).collect(),
        }
    }

    /// Signs `message` (exactly `message_bytes` long).
    pub fn sign(&self, message: &[u8]) -> Result<Signature, WinternitzError> {
        let digits = self.params.digits(message)?;
        Ok(self.sign_digits_unchecked(digits))
    }

    /// Signs the big-endian bytes of `limbs` ([`limbs_to_bytes`]).
    pub fn sign_u32_limbs(&self, limbs: &[u32]) -> Result<Signature, WinternitzError> {
        self.sign(&limbs_to_bytes(limbs))
    }

    /// Signs an arbitrary digit vector of `n0 + n1` digits, each at most `M`,
    /// without checking that the checksum digits match: for tests of what the
    /// script and the verifier refuse, and never needed by an honest signer.
    pub fn sign_digits(&self, digits: &[u32]) -> Result<Signature, WinternitzError> {
        self.params.check_digits(digits, self.params.total_digits())?;
        Ok(self.sign_digits_unchecked(digits.to_vec()))
    }

    fn sign_digits_unchecked(&self, digits: Vec<u32>) -> Signature {
        let chain_values =
            self.elements.iter().zip(&digits).map(|(secret, digit)| hash_chain(*secret, *digit)).collect();
        Signature { params: self.params, digits, chain_values }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("params", &self.params).finish_non_exhaustive()
    }
}

/// A Winternitz public key: `hash160^M` of each secret chain start.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey {
    params: Params,
    elements: Vec<[u8; HASH_BYTES]>,
}

impl PublicKey {
    /// A public key from its elements (one per digit, message digits first).
    pub fn from_elements(params: Params, elements: Vec<[u8; HASH_BYTES]>) -> Result<Self, WinternitzError> {
        if elements.len() != params.total_digits() {
            return Err(WinternitzError::DigitCount {
                expected: params.total_digits(),
                actual: elements.len(),
            });
        }
        Ok(Self { params, elements })
    }

    /// The key's parameters.
    pub fn params(&self) -> Params {
        self.params
    }

    /// The elements, one per digit (message digits, then checksum digits).
    pub fn elements(&self) -> &[[u8; HASH_BYTES]] {
        &self.elements
    }

    /// A 32-byte commitment to the key and its parameters:
    /// `SHA256(t || t || w (1 byte) || message_bytes (u32 BE) || p_0 || .. || p_{n-1})`
    /// with `t = SHA256("rollup/winternitz/public-key/v1")` (a BIP-340 tagged hash).
    pub fn commitment(&self) -> [u8; 32] {
        let tag = sha256::Hash::hash(COMMITMENT_TAG);
        let mut engine = sha256::Hash::engine();
        engine.input(tag.as_byte_array());
        engine.input(tag.as_byte_array());
        engine.input(&[self.params.digit_bits]);
        engine.input(&u32_be(self.params.message_bytes));
        for element in &self.elements {
            engine.input(element);
        }
        sha256::Hash::from_engine(engine).to_byte_array()
    }

    /// Checks `signature` as the script does: every chain value hashes to its key
    /// element and the checksum digits match the message digits. Accepts digit
    /// vectors with non-zero padding bits (see the module documentation).
    pub fn verify_digits(&self, signature: &Signature) -> Result<(), WinternitzError> {
        let params = self.params;
        if signature.params != params {
            return Err(WinternitzError::ParamsMismatch { expected: params, actual: signature.params });
        }
        params.check_digits(&signature.digits, params.total_digits())?;
        if signature.chain_values.len() != params.total_digits() {
            return Err(WinternitzError::DigitCount {
                expected: params.total_digits(),
                actual: signature.chain_values.len(),
            });
        }
        let max = params.max_digit();
        for (index, ((value, digit), element)) in
            signature.chain_values.iter().zip(&signature.digits).zip(&self.elements).enumerate()
        {
            if hash_chain(*value, max - digit) != *element {
                return Err(WinternitzError::BadChainValue { index });
            }
        }
        let (message_digits, checksum_digits) = signature.digits.split_at(params.message_digits);
        let expected = params.checksum_of(message_digits);
        if expected != checksum_digits {
            return Err(WinternitzError::ChecksumMismatch { expected, actual: checksum_digits.to_vec() });
        }
        Ok(())
    }

    /// Checks `signature` and returns the message it signs.
    pub fn verify(&self, signature: &Signature) -> Result<Vec<u8>, WinternitzError> {
        self.verify_digits(signature)?;
        signature.message()
    }

    /// Checks that `signature` signs `message`.
    pub fn verify_message(&self, message: &[u8], signature: &Signature) -> Result<(), WinternitzError> {
        let expected = self.params.digits(message)?;
        self.verify_digits(signature)?;
        if signature.digits != expected {
            let digit = expected.iter().zip(&signature.digits).position(|(a, b)| a != b).unwrap_or(0);
            return Err(WinternitzError::OtherMessage { digit });
        }
        Ok(())
    }
}

/// A Winternitz signature: the digits and one chain value per digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    params: Params,
    digits: Vec<u32>,
    chain_values: Vec<[u8; HASH_BYTES]>,
}

impl Signature {
    /// The parameters signed under.
    pub fn params(&self) -> Params {
        self.params
    }

    /// All digits: message digits, then checksum digits.
    pub fn digits(&self) -> &[u32] {
        &self.digits
    }

    /// The message digits (the first `n0`).
    pub fn message_digits(&self) -> &[u32] {
        &self.digits[..self.params.message_digits.min(self.digits.len())]
    }

    /// The chain values, one per digit.
    pub fn chain_values(&self) -> &[[u8; HASH_BYTES]] {
        &self.chain_values
    }

    /// The message bytes the message digits spell (not a signature check: see
    /// [`PublicKey::verify`]).
    pub fn message(&self) -> Result<Vec<u8>, WinternitzError> {
        self.params.message_from_digits(self.message_digits())
    }

    /// The witness elements [`verify_script`] consumes, bottom of the stack first:
    /// for every digit in order, its chain value (20 bytes) then the digit (minimal
    /// script number).
    pub fn to_witness(&self) -> Vec<Vec<u8>> {
        self.chain_values
            .iter()
            .zip(&self.digits)
            .flat_map(|(value, digit)| [value.to_vec(), encode_num(i64::from(*digit))])
            .collect()
    }

    /// Reads a signature from witness elements laid out as by
    /// [`Signature::to_witness`] — as the script reads them: a digit may be any
    /// script number of at most 4 bytes (non-minimal encodings included, as under
    /// consensus rules), digits above `M` read as `M`, negative digits are refused.
    /// The result is not checked against any key.
    pub fn from_witness(params: Params, witness: &[Vec<u8>]) -> Result<Self, WinternitzError> {
        let expected = params.total_digits() * 2;
        if witness.len() != expected {
            return Err(WinternitzError::WitnessLength { expected, actual: witness.len() });
        }
        let max = params.max_digit();
        let mut digits = Vec::with_capacity(params.total_digits());
        let mut chain_values = Vec::with_capacity(params.total_digits());
        for (index, pair) in witness.chunks_exact(2).enumerate() {
            let value: [u8; HASH_BYTES] = pair[0]
                .as_slice()
                .try_into()
                .map_err(|_| WinternitzError::ChainValueLength { index, len: pair[0].len() })?;
            let digit = read_operand(&pair[1]).ok_or(WinternitzError::DigitEncoding { index })?;
            let digit = u32::try_from(digit).map_err(|_| WinternitzError::DigitEncoding { index })?;
            digits.push(digit.min(max));
            chain_values.push(value);
        }
        Ok(Self { params, digits, chain_values })
    }
}

/// Two valid signatures by one key on different digit vectors: the signer
/// equivocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The first signature (valid under the key).
    pub first: Signature,
    /// The second signature (valid under the key, different digits).
    pub second: Signature,
    /// The first digit position where they differ. At that position the chain
    /// value of the smaller digit hashes to the chain value of the larger one:
    /// both lie on the same hash chain.
    pub digit: usize,
}

impl Equivocation {
    /// The two signed messages (fails only for digit vectors with non-zero padding
    /// bits, which only the signer can produce).
    pub fn messages(&self) -> Result<(Vec<u8>, Vec<u8>), WinternitzError> {
        Ok((self.first.message()?, self.second.message()?))
    }

    /// Re-checks the proof against `public_key`: both signatures valid, their
    /// digits differ at `digit`.
    pub fn is_valid_for(&self, public_key: &PublicKey) -> bool {
        public_key.verify_digits(&self.first).is_ok()
            && public_key.verify_digits(&self.second).is_ok()
            && self.first.digits.get(self.digit).is_some()
            && self.first.digits.get(self.digit) != self.second.digits.get(self.digit)
    }
}

/// The watcher's check: `Some` if `first` and `second` are both valid signatures
/// by `public_key` on different digit vectors, `None` otherwise (same message, or
/// either is not a valid signature).
pub fn detect_equivocation(
    public_key: &PublicKey,
    first: &Signature,
    second: &Signature,
) -> Option<Equivocation> {
    public_key.verify_digits(first).ok()?;
    public_key.verify_digits(second).ok()?;
    let digit = first.digits.iter().zip(&second.digits).position(|(a, b)| a != b)?;
    Some(Equivocation { first: first.clone(), second: second.clone(), digit })
}

/// What [`verify_script`] leaves on the stack: the message digits, grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// One element per message digit (`n0` elements, digit 0 deepest).
    Digits,
    /// One element per message byte (`w` must divide 8; byte 0 deepest).
    Bytes,
    /// One element per group of this many consecutive digits, read as a base-`2^w`
    /// number, most significant digit first (group 0 deepest). At most 31 bits
    /// per group, and the groups must cover the message digits exactly. With
    /// `w = 4`, 4 digits give the 16-bit halves of big-endian `u32` limbs (high
    /// half first).
    Chunks {
        /// Digits per group.
        digits_per_chunk: usize,
    },
}

impl Output {
    /// The digits per output element for `params`.
    pub fn digits_per_chunk(self, params: &Params) -> Result<usize, WinternitzError> {
        let digits_per_chunk = match self {
            Output::Digits => 1,
            Output::Bytes => {
                if 8 % params.digit_bits != 0 {
                    return Err(WinternitzError::ChunkSize {
                        digits_per_chunk: 0,
                        reason: "bytes need a digit width dividing 8",
                    });
                }
                usize::from(8 / params.digit_bits)
            }
            Output::Chunks { digits_per_chunk } => digits_per_chunk,
        };
        params.check_chunks(digits_per_chunk)?;
        Ok(digits_per_chunk)
    }
}

/// The leaf fragment verifying a signature by `public_key`.
///
/// Stack effect: `[.., v_0, d_0, .., v_{n-1}, d_{n-1}] -> [.., m_0, .., m_{k-1}]`,
/// the witness of [`Signature::to_witness`] replaced by the message as `output`
/// says (`m_0` deepest); the altstack is used and left as found. Fails (the leaf
/// fails) unless every chain value hashes to its key element at the position its
/// (clamped) digit gives and the checksum digits match the message digits; so only
/// digit vectors the key holder signed pass. Peak stack `2n + 2^w + 1` elements
/// (checked by [`Params::new`]).
///
/// Size: per digit `2^{w+1} + 2^{w-1} + 27` bytes for `w <= 4` (clamp 2, swap 1,
/// hashing `2M`, pick 3, key 22, drops `2^{w-1}`, altstack 1; 2 more for `w` of 5
/// or 6, 3 more for 7 and 4 more for 8, whose constants take longer pushes); then
/// `3 n0 - 1` to bring the message digits back and sum them, `2 w + 4` more per
/// digit merged into a chunk, `1 + (n1 - 1)(2 w + 2)` to rebuild the checksum and
/// 3 to 6 for the final comparison (`2 +` the push of `n0 M`). With `w = 4` and a 32-byte message: 4,706
/// bytes leaving digits, 5,090 leaving bytes (see the tests' size table).
pub fn verify_script(public_key: &PublicKey, output: Output) -> Result<Script, WinternitzError> {
    let params = public_key.params;
    let per_chunk = output.digits_per_chunk(&params)?;
    let max = i64::from(params.max_digit());
    let w = usize::from(params.digit_bits);
    let hash_step = Script::new().op(OP_DUP).op(OP_HASH160);
    let double_w = Script::new().repeat(&Script::new().op(OP_DUP).op(OP_ADD), w);

    // Every digit from the top: [.., v, d] -> [..], d' = min(d, M) to the altstack.
    let mut script = Script::new();
    for element in public_key.elements.iter().rev() {
        script = script
            .num(max)
            .op(OP_MIN)
            .op(OP_SWAP)
            .repeat(&hash_step, params.max_digit() as usize)
            // [d', x_0 .. x_M]: copy d' (depth M + 1) and pick x_{M - d'} (depth d').
            .num(max + 1)
            .op(OP_PICK)
            .op(OP_PICK)
            .data(element)
            .op(OP_EQUALVERIFY)
            // Drop x_0 .. x_M (2^w of them, an even count).
            .ops(OP_2DROP, (1usize << w) / 2)
            .op(OP_TOALTSTACK);
    }

    // The altstack holds d_{n-1} .. d_0 (d_0 on top). Bring the message digits
    // back, merging chunks and summing the digits: [.., A, S] with S the sum.
    for chunk in 0..params.message_digits / per_chunk {
        for position in 0..per_chunk {
            script = match (chunk, position) {
                // [..] -> [.., d, d]
                (0, 0) => script.op(OP_FROMALTSTACK).op(OP_DUP),
                // [.., S] -> [.., d, S + d]
                (_, 0) => script.op(OP_FROMALTSTACK).op(OP_TUCK).op(OP_ADD),
                // [.., A, S] -> [.., A * 2^w + d, S + d]
                _ => script
                    .op(OP_FROMALTSTACK)
                    .op(OP_TUCK)
                    .op(OP_ADD)
                    .op(OP_ROT)
                    .then(double_w.clone())
                    .op(OP_ROT)
                    .op(OP_ADD)
                    .op(OP_SWAP),
            };
        }
    }
    // The checksum digits, most significant first: [.., S] -> [.., S, C].
    script = script.op(OP_FROMALTSTACK);
    for _ in 1..params.checksum_digits {
        script = script.then(double_w.clone()).op(OP_FROMALTSTACK).op(OP_ADD);
    }
    // C = Σ (M - d_i) = n0 M - S.
    Ok(script.op(OP_ADD).num(i64::from(params.max_checksum())).op(OP_EQUALVERIFY))
}

fn u32_be(value: usize) -> [u8; 4] {
    // Lengths and indices here are far below 2^32 (Params bounds them).
    u32::try_from(value).unwrap_or(u32::MAX).to_be_bytes()
}
