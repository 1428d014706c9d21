//! A tapscript interpreter that explains itself.
//!
//! libbitcoinkernel answers "valid" or "invalid" for a spend and nothing more. For
//! development and benchmarks we want to know *why* a leaf failed, *where*, how deep
//! the stacks grew and what they held at the end. [`run_tapscript`] executes a leaf
//! (leaf version `0xc0`, BIP-342 script-path spending) the way Bitcoin Core's
//! `ExecuteWitnessScript` / `EvalScript` do under the consensus flags the kernel is
//! asked for ([`bitcoinkernel::VERIFY_ALL`]: P2SH, DERSIG, NULLDUMMY, CLTV, CSV,
//! WITNESS, TAPROOT), and reports a [`Trace`]. [`diagnose_input`] does the same for an
//! input of a transaction, taking the leaf, the witness elements and the control block
//! from the input's witness.
//!
//! **The kernel stays the authority.** This interpreter only diagnoses: [`super::exec`]
//! runs both and reports a disagreement as an error (a bug here), never hides it.
//!
//! What is reproduced, as Core does it under those flags (no policy flags):
//!
//! - the `OP_SUCCESSx` pre-scan (BIP-342): the leaf is decoded up to the first
//!   `OP_SUCCESSx` (see [`is_op_success`]), which makes the spend valid whatever the
//!   rest; a push running past the end of the leaf before that fails the spend
//!   ([`ScriptError::BadOpcode`]). The disabled opcodes of legacy script (`OP_CAT`,
//!   `OP_MUL`, the bitwise ops, ...) are all `OP_SUCCESSx` in tapscript, so Core's
//!   "Attempted to use a disabled opcode" cannot happen in a leaf and has no variant;
//! - the initial witness limits: at most 1000 elements, each at most 520 bytes;
//! - pushes: any encoding is accepted (MINIMALDATA is a policy flag); pushes over 520
//!   bytes fail even in an unexecuted branch; `OP_VERIF`/`OP_VERNOTIF` fail even in an
//!   unexecuted branch, `OP_INVALIDOPCODE` when executed;
//! - flow control with Core's condition stack; `OP_IF`/`OP_NOTIF` arguments must be
//!   empty or exactly `0x01` (tapscript MINIMALIF is consensus);
//! - script numbers: operands of at most 4 bytes (5 for CLTV/CSV), non-minimal
//!   encodings accepted (no MINIMALDATA), results of any width up to 5 bytes;
//! - `OP_CHECKSIG`, `OP_CHECKSIGVERIFY`, `OP_CHECKSIGADD` with BIP-340 signatures over
//!   the BIP-341/342 signature hash (annex and `OP_CODESEPARATOR` position included),
//!   empty signatures pushing false, empty public keys failing, public keys of other
//!   sizes succeeding unchecked (upgradable key types), and the validation weight budget
//!   (50 + the serialized witness size, minus 50 per non-empty signature);
//!   `OP_CHECKMULTISIG(VERIFY)` fails;
//! - CLTV and CSV against the spending transaction; the 1000-element limit on the main
//!   and alt stacks together after every opcode; the clean stack (exactly one element)
//!   and a true top element at the end.
//!
//! It runs in time linear in the leaf and memory bounded by the stacks' limits.

use std::fmt;
use std::sync::OnceLock;

use bitcoin::hashes::Hash;
use bitcoin::hashes::{hash160, ripemd160, sha1, sha256, sha256d};
use bitcoin::secp256k1::{schnorr, Message, Secp256k1, VerifyOnly, XOnlyPublicKey};
use bitcoin::sighash::{Annex, Prevouts, SighashCache, TaprootError};
use bitcoin::taproot::{
    ControlBlock, LeafVersion, TapLeafHash, TAPROOT_ANNEX_PREFIX, TAPROOT_CONTROL_BASE_SIZE,
    TAPROOT_CONTROL_MAX_SIZE, TAPROOT_CONTROL_NODE_SIZE, TAPROOT_LEAF_MASK, TAPROOT_LEAF_TAPSCRIPT,
};
use bitcoin::{Script as BitcoinScript, TapSighashType, Transaction, TxOut, VarInt};

use super::{MAX_ELEMENT_BYTES, MAX_STACK_ITEMS};

/// The validation weight every script-path spend starts with on top of its witness
/// size (BIP-342 `VALIDATION_WEIGHT_OFFSET`).
pub const VALIDATION_WEIGHT_OFFSET: i64 = 50;

/// The validation weight each signature check with a non-empty signature consumes
/// (BIP-342 `VALIDATION_WEIGHT_PER_SIGOP_PASSED`).
pub const VALIDATION_WEIGHT_PER_SIGOP: i64 = 50;

/// A script number operand's widest encoding (`CScriptNum`'s default).
const MAX_NUM_BYTES: usize = 4;
/// The widest CLTV/CSV operand.
const MAX_LOCKTIME_NUM_BYTES: usize = 5;
/// `LOCKTIME_THRESHOLD`: lock times below are heights, above are times.
const LOCKTIME_THRESHOLD: i64 = 500_000_000;
const SEQUENCE_FINAL: u32 = 0xffff_ffff;
const SEQUENCE_LOCKTIME_DISABLE_FLAG: i64 = 1 << 31;
const SEQUENCE_LOCKTIME_TYPE_FLAG: i64 = 1 << 22;
const SEQUENCE_LOCKTIME_MASK: i64 = 0x0000_ffff;

/// Why a tapscript spend fails, as Bitcoin Core's `ScriptError` names it; `Display`
/// gives Core's exact message (`ScriptErrorString` in `script/script_error.cpp`).
///
/// Only the errors a leaf-version-`0xc0` script-path spend can meet under consensus
/// flags have a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptError {
    /// `SCRIPT_ERR_EVAL_FALSE`: the one element left is false.
    EvalFalse,
    /// `SCRIPT_ERR_OP_RETURN`: `OP_RETURN` executed.
    OpReturn,
    /// `SCRIPT_ERR_SCRIPTNUM`: an operand wider than 4 bytes (5 for CLTV/CSV).
    ///
    /// Bitcoin Core before bitcoin/bitcoin#34381 (merged for version 31) reported this
    /// as `SCRIPT_ERR_UNKNOWN_ERROR` ("unknown error"); the kernel we link names it.
    ScriptNum,
    /// `SCRIPT_ERR_PUSH_SIZE`: a push or an initial witness element over 520 bytes.
    PushSize,
    /// `SCRIPT_ERR_STACK_SIZE`: more than 1000 elements on the main and alt stacks.
    StackSize,
    /// `SCRIPT_ERR_VERIFY`: `OP_VERIFY` on a false element.
    Verify,
    /// `SCRIPT_ERR_EQUALVERIFY`: `OP_EQUALVERIFY` on different elements.
    EqualVerify,
    /// `SCRIPT_ERR_CHECKSIGVERIFY`: `OP_CHECKSIGVERIFY` with an empty signature.
    CheckSigVerify,
    /// `SCRIPT_ERR_NUMEQUALVERIFY`: `OP_NUMEQUALVERIFY` on different numbers.
    NumEqualVerify,
    /// `SCRIPT_ERR_BAD_OPCODE`: a push running past the end of the leaf, `OP_VERIF`,
    /// `OP_VERNOTIF`, or `OP_INVALIDOPCODE` executed.
    BadOpcode,
    /// `SCRIPT_ERR_INVALID_STACK_OPERATION`: too few elements on the main stack.
    InvalidStackOperation,
    /// `SCRIPT_ERR_INVALID_ALTSTACK_OPERATION`: `OP_FROMALTSTACK` on an empty alt stack.
    InvalidAltstackOperation,
    /// `SCRIPT_ERR_UNBALANCED_CONDITIONAL`: `OP_ELSE`/`OP_ENDIF` without `OP_IF`, or an
    /// `OP_IF` left open.
    UnbalancedConditional,
    /// `SCRIPT_ERR_NEGATIVE_LOCKTIME`: a negative CLTV/CSV operand.
    NegativeLocktime,
    /// `SCRIPT_ERR_UNSATISFIED_LOCKTIME`: the transaction does not meet the CLTV/CSV lock.
    UnsatisfiedLocktime,
    /// `SCRIPT_ERR_CLEANSTACK`: not exactly one element left.
    CleanStack,
    /// `SCRIPT_ERR_WITNESS_PROGRAM_MISMATCH`: the control block does not commit the
    /// leaf to the output key.
    WitnessProgramMismatch,
    /// `SCRIPT_ERR_SCHNORR_SIG_SIZE`: a non-empty signature of neither 64 nor 65 bytes.
    SchnorrSigSize,
    /// `SCRIPT_ERR_SCHNORR_SIG_HASHTYPE`: an explicit `SIGHASH_DEFAULT`, an undefined
    /// hash type, or `SIGHASH_SINGLE` without a matching output.
    SchnorrSigHashtype,
    /// `SCRIPT_ERR_SCHNORR_SIG`: a non-empty signature that does not verify.
    SchnorrSig,
    /// `SCRIPT_ERR_TAPROOT_WRONG_CONTROL_SIZE`: a control block not of 33 + 32m bytes,
    /// m <= 128.
    TaprootWrongControlSize,
    /// `SCRIPT_ERR_TAPSCRIPT_VALIDATION_WEIGHT`: more signature checks than the
    /// witness size pays for.
    TapscriptValidationWeight,
    /// `SCRIPT_ERR_TAPSCRIPT_CHECKMULTISIG`: `OP_CHECKMULTISIG(VERIFY)` executed.
    TapscriptCheckMultisig,
    /// `SCRIPT_ERR_TAPSCRIPT_MINIMALIF`: an `OP_IF`/`OP_NOTIF` argument other than
    /// empty or `0x01`.
    TapscriptMinimalIf,
    /// `SCRIPT_ERR_TAPSCRIPT_EMPTY_PUBKEY`: a signature check with an empty public key.
    TapscriptEmptyPubkey,
    /// `SCRIPT_ERR_UNKNOWN_ERROR`: the signature hash could not be computed because
    /// the spent outputs given do not match the transaction's inputs (the kernel
    /// refuses such a call before running any script).
    UnknownError,
}

impl ScriptError {
    /// Bitcoin Core's message for this error (`ScriptErrorString`).
    pub fn core_message(self) -> &'static str {
        match self {
            Self::EvalFalse => {
                "Script evaluated without error but finished with a false/empty top stack element"
            }
            Self::OpReturn => "OP_RETURN was encountered",
            Self::ScriptNum => "Script number overflowed or is non-minimally encoded",
            Self::PushSize => "Push value size limit exceeded",
            Self::StackSize => "Stack size limit exceeded",
            Self::Verify => "Script failed an OP_VERIFY operation",
            Self::EqualVerify => "Script failed an OP_EQUALVERIFY operation",
            Self::CheckSigVerify => "Script failed an OP_CHECKSIGVERIFY operation",
            Self::NumEqualVerify => "Script failed an OP_NUMEQUALVERIFY operation",
            Self::BadOpcode => "Opcode missing or not understood",
            Self::InvalidStackOperation => "Operation not valid with the current stack size",
            Self::InvalidAltstackOperation => "Operation not valid with the current altstack size",
            Self::UnbalancedConditional => "Invalid OP_IF construction",
            Self::NegativeLocktime => "Negative locktime",
            Self::UnsatisfiedLocktime => "Locktime requirement not satisfied",
            Self::CleanStack => "Stack size must be exactly one after execution",
            Self::WitnessProgramMismatch => "Witness program hash mismatch",
            Self::SchnorrSigSize => "Invalid Schnorr signature size",
            Self::SchnorrSigHashtype => "Invalid Schnorr signature hash type",
            Self::SchnorrSig => "Invalid Schnorr signature",
            Self::TaprootWrongControlSize => "Invalid Taproot control block size",
            Self::TapscriptValidationWeight => "Too much signature validation relative to witness weight",
            Self::TapscriptCheckMultisig => "OP_CHECKMULTISIG(VERIFY) is not available in tapscript",
            Self::TapscriptMinimalIf => "OP_IF/NOTIF argument must be minimal in tapscript",
            Self::TapscriptEmptyPubkey => "Empty public key in tapscript",
            Self::UnknownError => "unknown error",
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.core_message())
    }
}

impl std::error::Error for ScriptError {}

/// A failed spend: the error and where it happened.
///
/// `offset` is the byte offset of the failing opcode in the leaf and `opcode_index`
/// its position counting every opcode (pushes included) from 0, as Core's
/// `opcode_pos`. Failures before execution (witness limits, control block) are at
/// offset 0, index 0; failures after it (open `OP_IF`, clean stack, false result)
/// are at the end: offset = the leaf's length, index = its number of opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScriptFailure {
    /// Core's error.
    pub error: ScriptError,
    /// Byte offset of the failing opcode in the leaf.
    pub offset: usize,
    /// Index of the failing opcode in the leaf.
    pub opcode_index: usize,
}

impl fmt::Display for ScriptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {}, opcode {})", self.error, self.offset, self.opcode_index)
    }
}

impl std::error::Error for ScriptFailure {}

/// What running a leaf showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The verdict: `Ok` if the spend's script path is valid.
    pub result: Result<(), ScriptFailure>,
    /// The most elements the main and alt stacks held together, over the initial
    /// witness and the state after every opcode (including a state that broke the
    /// 1000-element limit).
    pub peak_stack: usize,
    /// The main stack when execution stopped (bottom first): the one element left on
    /// success, the state at the failing opcode on failure (as Core leaves it, e.g.
    /// with the `false` a failed `OP_EQUALVERIFY` pushed), the witness elements if the
    /// leaf never ran (`OP_SUCCESSx`, witness limits).
    pub final_stack: Vec<Vec<u8>>,
    /// Opcodes evaluated: those in executed branches, plus the `OP_IF`, `OP_NOTIF`,
    /// `OP_ELSE` and `OP_ENDIF` of unexecuted ones (which Core always evaluates); the
    /// failing opcode included.
    pub opcodes_executed: usize,
}

/// Whether `opcode` is an `OP_SUCCESSx` of BIP-342: 80, 98, 126-129, 131-134,
/// 137-138, 141-142, 149-153 and 187-254.
pub fn is_op_success(opcode: u8) -> bool {
    matches!(opcode, 80 | 98 | 126..=129 | 131..=134 | 137..=138 | 141..=142 | 149..=153 | 187..=254)
}

/// Runs the leaf `leaf` of input `input` of `tx` on the initial stack `elements`
/// (bottom first), `spent` being the outputs `tx` spends, in input order (the
/// signature hash commits to all of them).
///
/// The input's witness in `tx` sets what the leaf cannot see but consensus uses: the
/// validation weight budget (50 + the serialized size of the whole witness) and the
/// annex (in the signature hash). The control block is not checked here (see
/// [`diagnose_input`]).
pub fn run_tapscript(
    tx: &Transaction,
    input: usize,
    spent: &[TxOut],
    leaf: &[u8],
    elements: &[Vec<u8>],
) -> Trace {
    let witness = tx.input.get(input).map(|txin| &txin.witness);
    let budget = witness.map_or(0, witness_size).saturating_add(VALIDATION_WEIGHT_OFFSET);
    let annex = witness.and_then(annex_of);
    let signing = Signing::new(tx, input, spent, leaf, annex, budget);
    execute_witness_script(leaf, elements, signing)
}

/// Runs input `input` of `tx` if it is a taproot script-path spend of a tapscript
/// (leaf version `0xc0`) leaf: the witness is split as Core splits it (annex, control
/// block, leaf, initial stack), the control block is checked against the spent
/// output's key, and the leaf is run by [`run_tapscript`].
///
/// `None` for anything else (no such input or spent output, an output that is not
/// witness v1 with a 32-byte program, a key-path spend, another leaf version): only
/// tapscript is diagnosed.
pub fn diagnose_input(tx: &Transaction, input: usize, spent: &[TxOut]) -> Option<Trace> {
    let witness = &tx.input.get(input)?.witness;
    let script_pubkey = &spent.get(input)?.script_pubkey;
    if !script_pubkey.is_p2tr() {
        return None;
    }
    let program = script_pubkey.as_bytes().get(2..34)?;
    let mut stack: Vec<&[u8]> = witness.iter().collect();
    if annex_of(witness).is_some() {
        stack.pop();
    }
    if stack.len() < 2 {
        return None;
    }
    let control = stack.pop()?;
    let leaf = stack.pop()?;
    let elements: Vec<Vec<u8>> = stack.iter().map(|element| element.to_vec()).collect();
    let before = |error: ScriptError| Trace {
        result: Err(ScriptFailure { error, offset: 0, opcode_index: 0 }),
        peak_stack: elements.len(),
        final_stack: elements.clone(),
        opcodes_executed: 0,
    };
    if control.len() < TAPROOT_CONTROL_BASE_SIZE
        || control.len() > TAPROOT_CONTROL_MAX_SIZE
        || (control.len() - TAPROOT_CONTROL_BASE_SIZE) % TAPROOT_CONTROL_NODE_SIZE != 0
    {
        return Some(before(ScriptError::TaprootWrongControlSize));
    }
    if control[0] & TAPROOT_LEAF_MASK != TAPROOT_LEAF_TAPSCRIPT {
        return None;
    }
    let committed = match (ControlBlock::decode(control), XOnlyPublicKey::from_slice(program)) {
        (Ok(block), Ok(output_key)) => {
            block.verify_taproot_commitment(secp(), output_key, BitcoinScript::from_bytes(leaf))
        }
        // An internal key or output key that is not a point commits to nothing.
        _ => false,
    };
    if !committed {
        return Some(before(ScriptError::WitnessProgramMismatch));
    }
    Some(run_tapscript(tx, input, spent, leaf, &elements))
}

/// The serialized size of a witness (`GetSerializeSize(witness.stack)`).
fn witness_size(witness: &bitcoin::Witness) -> i64 {
    let size = witness.iter().fold(VarInt::from(witness.len()).size(), |total, element| {
        total.saturating_add(VarInt::from(element.len()).size()).saturating_add(element.len())
    });
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// The annex of a witness: its last element if there are at least two and the last
/// starts with `0x50`.
fn annex_of(witness: &bitcoin::Witness) -> Option<&[u8]> {
    let last = witness.last()?;
    (witness.len() >= 2 && last.first() == Some(&TAPROOT_ANNEX_PREFIX)).then_some(last)
}

fn secp() -> &'static Secp256k1<VerifyOnly> {
    static SECP: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::verification_only)
}

/// What signature checks need, with the signature-hash midstates computed once.
struct Signing<'a> {
    tx: &'a Transaction,
    input: usize,
    spent: &'a [TxOut],
    leaf: &'a [u8],
    annex: Option<&'a [u8]>,
    weight_left: i64,
    codeseparator_pos: u32,
    cache: Option<(SighashCache<&'a Transaction>, TapLeafHash)>,
}

impl<'a> Signing<'a> {
    fn new(
        tx: &'a Transaction,
        input: usize,
        spent: &'a [TxOut],
        leaf: &'a [u8],
        annex: Option<&'a [u8]>,
        weight_left: i64,
    ) -> Self {
        Self { tx, input, spent, leaf, annex, weight_left, codeseparator_pos: u32::MAX, cache: None }
    }

    /// Core's `EvalChecksigTapscript`: `Ok(success)`, or the error failing the script.
    fn check(&mut self, signature: &[u8], pubkey: &[u8]) -> Result<bool, ScriptError> {
        let success = !signature.is_empty();
        if success {
            self.weight_left = self.weight_left.saturating_sub(VALIDATION_WEIGHT_PER_SIGOP);
            if self.weight_left < 0 {
                return Err(ScriptError::TapscriptValidationWeight);
            }
        }
        if pubkey.is_empty() {
            return Err(ScriptError::TapscriptEmptyPubkey);
        }
        if pubkey.len() == 32 && success {
            self.verify_schnorr(signature, pubkey)?;
        }
        // Other key sizes are upgradable key types: unchecked, and `success` stands.
        Ok(success)
    }

    /// Core's `CheckSchnorrSignature` for a 32-byte key and a non-empty signature.
    fn verify_schnorr(&mut self, signature: &[u8], pubkey: &[u8]) -> Result<(), ScriptError> {
        let (signature, hash_type) = match signature.len() {
            64 => (signature, TapSighashType::Default),
            65 => {
                let (signature, hash_type) = signature.split_at(64);
                let hash_type = match hash_type {
                    [0] | [] => return Err(ScriptError::SchnorrSigHashtype),
                    [byte, ..] => TapSighashType::from_consensus_u8(*byte)
                        .map_err(|_| ScriptError::SchnorrSigHashtype)?,
                };
                (signature, hash_type)
            }
            _ => return Err(ScriptError::SchnorrSigSize),
        };
        let (tx, input, spent, leaf) = (self.tx, self.input, self.spent, self.leaf);
        let (cache, leaf_hash) = self.cache.get_or_insert_with(|| {
            (
                SighashCache::new(tx),
                TapLeafHash::from_script(BitcoinScript::from_bytes(leaf), LeafVersion::TapScript),
            )
        });
        let annex = self.annex.and_then(|annex| Annex::new(annex).ok());
        let sighash = cache
            .taproot_signature_hash(
                input,
                &Prevouts::All(spent),
                annex,
                Some((*leaf_hash, self.codeseparator_pos)),
                hash_type,
            )
            .map_err(|error| match error {
                TaprootError::SingleMissingOutput(_) | TaprootError::InvalidSighashType(_) => {
                    ScriptError::SchnorrSigHashtype
                }
                _ => ScriptError::UnknownError,
            })?;
        let key = XOnlyPublicKey::from_slice(pubkey).map_err(|_| ScriptError::SchnorrSig)?;
        let signature = schnorr::Signature::from_slice(signature).map_err(|_| ScriptError::SchnorrSig)?;
        let message = Message::from_digest(sighash.to_byte_array());
        secp().verify_schnorr(&signature, &message, &key).map_err(|_| ScriptError::SchnorrSig)
    }

    /// Core's `CheckLockTime`.
    fn lock_time_holds(&self, lock_time: i64) -> bool {
        let tx_lock_time = i64::from(self.tx.lock_time.to_consensus_u32());
        let same_kind = (tx_lock_time < LOCKTIME_THRESHOLD) == (lock_time < LOCKTIME_THRESHOLD);
        let sequence = self.tx.input.get(self.input).map_or(SEQUENCE_FINAL, |txin| txin.sequence.0);
        same_kind && lock_time <= tx_lock_time && sequence != SEQUENCE_FINAL
    }

    /// Core's `CheckSequence`.
    fn sequence_holds(&self, sequence: i64) -> bool {
        // Core's transaction version is unsigned.
        let version = self.tx.version.0 as u32;
        let Some(txin) = self.tx.input.get(self.input) else { return false };
        let tx_sequence = i64::from(txin.sequence.0);
        if version < 2 || tx_sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG != 0 {
            return false;
        }
        let mask = SEQUENCE_LOCKTIME_TYPE_FLAG | SEQUENCE_LOCKTIME_MASK;
        let (tx_masked, masked) = (tx_sequence & mask, sequence & mask);
        let same_kind = (tx_masked < SEQUENCE_LOCKTIME_TYPE_FLAG) == (masked < SEQUENCE_LOCKTIME_TYPE_FLAG);
        same_kind && masked <= tx_masked
    }
}

/// One decoded instruction: the opcode, the pushed bytes' range in the leaf (empty for
/// non-push opcodes) and the offset of the next instruction.
struct Instruction {
    opcode: u8,
    data: std::ops::Range<usize>,
    next: usize,
}

/// Core's `GetScriptOp` at `pc`: `None` if a push runs past the end of the leaf.
fn decode(leaf: &[u8], pc: usize) -> Option<Instruction> {
    let opcode = *leaf.get(pc)?;
    let after = pc.checked_add(1)?;
    let (length, start) = match opcode {
        0..=0x4b => (usize::from(opcode), after),
        0x4c => (usize::from(*leaf.get(after)?), after.checked_add(1)?),
        0x4d => {
            let bytes = leaf.get(after..after.checked_add(2)?)?;
            (usize::from(u16::from_le_bytes([bytes[0], bytes[1]])), after.checked_add(2)?)
        }
        0x4e => {
            let bytes = leaf.get(after..after.checked_add(4)?)?;
            let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            (usize::try_from(length).ok()?, after.checked_add(4)?)
        }
        _ => (0, after),
    };
    let end = start.checked_add(length)?;
    if end > leaf.len() {
        return None;
    }
    Some(Instruction { opcode, data: start..end, next: end })
}

/// Core's `CastToBool`: false for any encoding of zero, negative zero included.
fn truthy(element: &[u8]) -> bool {
    match element.split_last() {
        None => false,
        Some((last, rest)) => rest.iter().any(|byte| *byte != 0) || (*last != 0 && *last != 0x80),
    }
}

/// `CScriptNum(element, false, max_bytes)`: any encoding of at most `max_bytes` bytes.
fn parse_num(element: &[u8], max_bytes: usize) -> Result<i64, ScriptError> {
    if element.len() > max_bytes {
        return Err(ScriptError::ScriptNum);
    }
    let Some((last, _)) = element.split_last() else { return Ok(0) };
    // At most 5 bytes: the magnitude fits an i64.
    let mut magnitude: i64 = 0;
    for (i, byte) in element.iter().enumerate() {
        let byte = if i + 1 == element.len() { byte & 0x7f } else { *byte };
        magnitude |= i64::from(byte) << (8 * i);
    }
    Ok(if last & 0x80 != 0 { -magnitude } else { magnitude })
}

/// `CScriptNum::serialize`: the minimal encoding (results stay within 5 bytes).
fn num_bytes(n: i64) -> Vec<u8> {
    super::encode_num(n)
}

fn bool_bytes(value: bool) -> Vec<u8> {
    if value {
        vec![1]
    } else {
        Vec::new()
    }
}

/// Core's `ConditionStack`: the `OP_IF` nesting as a depth and the position of the
/// first false branch.
#[derive(Default)]
struct Conditions {
    depth: usize,
    first_false: Option<usize>,
}

impl Conditions {
    fn all_true(&self) -> bool {
        self.first_false.is_none()
    }

    fn push(&mut self, value: bool) {
        if self.first_false.is_none() && !value {
            self.first_false = Some(self.depth);
        }
        self.depth += 1;
    }

    fn pop(&mut self) -> Result<(), ScriptError> {
        self.depth = self.depth.checked_sub(1).ok_or(ScriptError::UnbalancedConditional)?;
        if self.first_false == Some(self.depth) {
            self.first_false = None;
        }
        Ok(())
    }

    fn toggle(&mut self) -> Result<(), ScriptError> {
        let top = self.depth.checked_sub(1).ok_or(ScriptError::UnbalancedConditional)?;
        match self.first_false {
            None => self.first_false = Some(top),
            Some(position) if position == top => self.first_false = None,
            // A false below the top hides whatever the top is.
            Some(_) => {}
        }
        Ok(())
    }
}

/// The stacks of a running leaf.
struct Machine<'a> {
    stack: Vec<Vec<u8>>,
    alt: Vec<Vec<u8>>,
    signing: Signing<'a>,
}

/// Core's `ExecuteWitnessScript` for `SigVersion::TAPSCRIPT`.
fn execute_witness_script(leaf: &[u8], elements: &[Vec<u8>], signing: Signing<'_>) -> Trace {
    let unrun = |result: Result<(), ScriptFailure>| Trace {
        result,
        peak_stack: elements.len(),
        final_stack: elements.to_vec(),
        opcodes_executed: 0,
    };
    // OP_SUCCESSx pre-scan: it overrides everything, the witness limits included.
    let mut pc = 0;
    let mut index = 0;
    while pc < leaf.len() {
        match decode(leaf, pc) {
            None => {
                return unrun(Err(ScriptFailure {
                    error: ScriptError::BadOpcode,
                    offset: pc,
                    opcode_index: index,
                }))
            }
            Some(instruction) if is_op_success(instruction.opcode) => return unrun(Ok(())),
            Some(instruction) => pc = instruction.next,
        }
        index += 1;
    }
    let before = |error| unrun(Err(ScriptFailure { error, offset: 0, opcode_index: 0 }));
    if elements.len() > MAX_STACK_ITEMS {
        return before(ScriptError::StackSize);
    }
    if elements.iter().any(|element| element.len() > MAX_ELEMENT_BYTES) {
        return before(ScriptError::PushSize);
    }
    let mut machine = Machine { stack: elements.to_vec(), alt: Vec::new(), signing };
    let mut trace = machine.run(leaf);
    if trace.result.is_ok() {
        let end = |error| Err(ScriptFailure { error, offset: leaf.len(), opcode_index: index });
        if machine.stack.len() != 1 {
            trace.result = end(ScriptError::CleanStack);
        } else if !machine.stack.last().is_some_and(|top| truthy(top)) {
            trace.result = end(ScriptError::EvalFalse);
        }
    }
    trace.final_stack = machine.stack;
    trace
}

impl Machine<'_> {
    /// Core's `EvalScript` (the leaf is known to decode: the pre-scan read it all).
    fn run(&mut self, leaf: &[u8]) -> Trace {
        let mut conditions = Conditions::default();
        let mut peak = self.stack.len();
        let mut executed = 0;
        let mut pc = 0;
        let mut index = 0;
        let mut result = Ok(());
        while pc < leaf.len() {
            let start = pc;
            let executing = conditions.all_true();
            let step = match decode(leaf, pc) {
                None => Err(ScriptError::BadOpcode),
                Some(instruction) => {
                    if executing || (0x63..=0x68).contains(&instruction.opcode) {
                        executed += 1;
                    }
                    pc = instruction.next;
                    self.step(&instruction, leaf, executing, &mut conditions, index)
                }
            };
            let depth = self.stack.len() + self.alt.len();
            peak = peak.max(depth);
            let step = match step {
                Ok(()) if depth > MAX_STACK_ITEMS => Err(ScriptError::StackSize),
                step => step,
            };
            if let Err(error) = step {
                result = Err(ScriptFailure { error, offset: start, opcode_index: index });
                break;
            }
            index += 1;
        }
        if result.is_ok() && conditions.depth != 0 {
            result = Err(ScriptFailure {
                error: ScriptError::UnbalancedConditional,
                offset: leaf.len(),
                opcode_index: index,
            });
        }
        Trace { result, peak_stack: peak, final_stack: Vec::new(), opcodes_executed: executed }
    }

    /// Executes one instruction.
    fn step(
        &mut self,
        instruction: &Instruction,
        leaf: &[u8],
        executing: bool,
        conditions: &mut Conditions,
        index: usize,
    ) -> Result<(), ScriptError> {
        use ScriptError::*;
        let opcode = instruction.opcode;
        let data = leaf.get(instruction.data.clone()).unwrap_or_default();
        if data.len() > MAX_ELEMENT_BYTES {
            return Err(PushSize);
        }
        if opcode <= 0x4e {
            if executing {
                self.stack.push(data.to_vec());
            }
            return Ok(());
        }
        if !executing && !(0x63..=0x68).contains(&opcode) {
            return Ok(());
        }
        match opcode {
            // OP_1NEGATE, OP_1..OP_16.
            0x4f | 0x51..=0x60 => self.stack.push(num_bytes(i64::from(opcode) - 0x50)),
            // OP_NOP, OP_NOP1, OP_NOP4..OP_NOP10 (no DISCOURAGE_UPGRADABLE_NOPS).
            0x61 | 0xb0 | 0xb3..=0xb9 => {}
            // OP_IF, OP_NOTIF.
            0x63 | 0x64 => {
                let mut value = false;
                if executing {
                    // Core names an empty stack here an unbalanced conditional.
                    if self.stack.is_empty() {
                        return Err(UnbalancedConditional);
                    }
                    let top = self.top(0)?;
                    if top.len() > 1 || (top.len() == 1 && top[0] != 1) {
                        return Err(TapscriptMinimalIf);
                    }
                    value = truthy(top) != (opcode == 0x64);
                    self.stack.pop();
                }
                conditions.push(value);
            }
            // OP_ELSE, OP_ENDIF.
            0x67 => conditions.toggle()?,
            0x68 => conditions.pop()?,
            // OP_VERIF, OP_VERNOTIF (reached even in unexecuted branches).
            0x65 | 0x66 => return Err(BadOpcode),
            // OP_VERIFY.
            0x69 => {
                if !truthy(self.top(0)?) {
                    return Err(Verify);
                }
                self.stack.pop();
            }
            // OP_RETURN.
            0x6a => return Err(OpReturn),
            // OP_TOALTSTACK, OP_FROMALTSTACK.
            0x6b => {
                let top = self.pop()?;
                self.alt.push(top);
            }
            0x6c => {
                let top = self.alt.pop().ok_or(InvalidAltstackOperation)?;
                self.stack.push(top);
            }
            // OP_2DROP.
            0x6d => {
                self.need(2)?;
                self.stack.truncate(self.stack.len() - 2);
            }
            // OP_2DUP, OP_3DUP.
            0x6e | 0x6f => {
                let count = if opcode == 0x6e { 2 } else { 3 };
                self.need(count)?;
                let from = self.stack.len() - count;
                self.stack.extend_from_within(from..);
            }
            // OP_2OVER.
            0x70 => {
                self.need(4)?;
                let from = self.stack.len() - 4;
                self.stack.extend_from_within(from..from + 2);
            }
            // OP_2ROT.
            0x71 => {
                self.need(6)?;
                let from = self.stack.len() - 6;
                let moved: Vec<Vec<u8>> = self.stack.drain(from..from + 2).collect();
                self.stack.extend(moved);
            }
            // OP_2SWAP.
            0x72 => {
                self.need(4)?;
                let len = self.stack.len();
                self.stack.swap(len - 4, len - 2);
                self.stack.swap(len - 3, len - 1);
            }
            // OP_IFDUP.
            0x73 => {
                let top = self.top(0)?;
                if truthy(top) {
                    let copy = top.to_vec();
                    self.stack.push(copy);
                }
            }
            // OP_DEPTH.
            0x74 => {
                let depth = i64::try_from(self.stack.len()).unwrap_or(i64::MAX);
                self.stack.push(num_bytes(depth));
            }
            // OP_DROP.
            0x75 => {
                self.pop()?;
            }
            // OP_DUP.
            0x76 => {
                let copy = self.top(0)?.to_vec();
                self.stack.push(copy);
            }
            // OP_NIP.
            0x77 => {
                self.need(2)?;
                let len = self.stack.len();
                self.stack.remove(len - 2);
            }
            // OP_OVER.
            0x78 => {
                let copy = self.top(1)?.to_vec();
                self.stack.push(copy);
            }
            // OP_PICK, OP_ROLL.
            0x79 | 0x7a => {
                self.need(2)?;
                let n = parse_num(self.top(0)?, MAX_NUM_BYTES)?;
                self.stack.pop();
                let n =
                    usize::try_from(n).ok().filter(|n| *n < self.stack.len()).ok_or(InvalidStackOperation)?;
                let position = self.stack.len() - 1 - n;
                let element =
                    if opcode == 0x7a { self.stack.remove(position) } else { self.stack[position].clone() };
                self.stack.push(element);
            }
            // OP_ROT.
            0x7b => {
                self.need(3)?;
                let len = self.stack.len();
                let element = self.stack.remove(len - 3);
                self.stack.push(element);
            }
            // OP_SWAP.
            0x7c => {
                self.need(2)?;
                let len = self.stack.len();
                self.stack.swap(len - 2, len - 1);
            }
            // OP_TUCK.
            0x7d => {
                self.need(2)?;
                let len = self.stack.len();
                let copy = self.stack[len - 1].clone();
                self.stack.insert(len - 2, copy);
            }
            // OP_SIZE.
            0x82 => {
                let size = i64::try_from(self.top(0)?.len()).unwrap_or(i64::MAX);
                self.stack.push(num_bytes(size));
            }
            // OP_EQUAL, OP_EQUALVERIFY.
            0x87 | 0x88 => {
                self.need(2)?;
                let (b, a) = (self.pop()?, self.pop()?);
                let equal = a == b;
                self.stack.push(bool_bytes(equal));
                if opcode == 0x88 {
                    if !equal {
                        return Err(EqualVerify);
                    }
                    self.stack.pop();
                }
            }
            // OP_1ADD, OP_1SUB, OP_NEGATE, OP_ABS, OP_NOT, OP_0NOTEQUAL.
            0x8b | 0x8c | 0x8f | 0x90 | 0x91 | 0x92 => {
                let n = parse_num(self.top(0)?, MAX_NUM_BYTES)?;
                let result = match opcode {
                    0x8b => n + 1,
                    0x8c => n - 1,
                    0x8f => -n,
                    0x90 => n.abs(),
                    0x91 => i64::from(n == 0),
                    _ => i64::from(n != 0),
                };
                self.stack.pop();
                self.stack.push(num_bytes(result));
            }
            // OP_ADD .. OP_MAX.
            0x93 | 0x94 | 0x9a..=0xa4 => {
                self.need(2)?;
                let a = parse_num(self.top(1)?, MAX_NUM_BYTES)?;
                let b = parse_num(self.top(0)?, MAX_NUM_BYTES)?;
                let result = match opcode {
                    0x93 => a + b,
                    0x94 => a - b,
                    0x9a => i64::from(a != 0 && b != 0),
                    0x9b => i64::from(a != 0 || b != 0),
                    0x9c | 0x9d => i64::from(a == b),
                    0x9e => i64::from(a != b),
                    0x9f => i64::from(a < b),
                    0xa0 => i64::from(a > b),
                    0xa1 => i64::from(a <= b),
                    0xa2 => i64::from(a >= b),
                    0xa3 => a.min(b),
                    _ => a.max(b),
                };
                self.stack.truncate(self.stack.len() - 2);
                self.stack.push(num_bytes(result));
                if opcode == 0x9d {
                    if result == 0 {
                        return Err(NumEqualVerify);
                    }
                    self.stack.pop();
                }
            }
            // OP_WITHIN.
            0xa5 => {
                self.need(3)?;
                let x = parse_num(self.top(2)?, MAX_NUM_BYTES)?;
                let min = parse_num(self.top(1)?, MAX_NUM_BYTES)?;
                let max = parse_num(self.top(0)?, MAX_NUM_BYTES)?;
                self.stack.truncate(self.stack.len() - 3);
                self.stack.push(bool_bytes(min <= x && x < max));
            }
            // OP_RIPEMD160, OP_SHA1, OP_SHA256, OP_HASH160, OP_HASH256.
            0xa6..=0xaa => {
                let top = self.top(0)?;
                let hash = match opcode {
                    0xa6 => ripemd160::Hash::hash(top).to_byte_array().to_vec(),
                    0xa7 => sha1::Hash::hash(top).to_byte_array().to_vec(),
                    0xa8 => sha256::Hash::hash(top).to_byte_array().to_vec(),
                    0xa9 => hash160::Hash::hash(top).to_byte_array().to_vec(),
                    _ => sha256d::Hash::hash(top).to_byte_array().to_vec(),
                };
                self.stack.pop();
                self.stack.push(hash);
            }
            // OP_CODESEPARATOR: the signature hash commits to its opcode position.
            0xab => self.signing.codeseparator_pos = u32::try_from(index).unwrap_or(u32::MAX),
            // OP_CHECKSIG, OP_CHECKSIGVERIFY.
            0xac | 0xad => {
                self.need(2)?;
                let len = self.stack.len();
                let success = self.signing.check(&self.stack[len - 2], &self.stack[len - 1])?;
                self.stack.truncate(len - 2);
                self.stack.push(bool_bytes(success));
                if opcode == 0xad {
                    if !success {
                        return Err(CheckSigVerify);
                    }
                    self.stack.pop();
                }
            }
            // OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY.
            0xae | 0xaf => return Err(TapscriptCheckMultisig),
            // OP_CHECKLOCKTIMEVERIFY.
            0xb1 => {
                let lock_time = parse_num(self.top(0)?, MAX_LOCKTIME_NUM_BYTES)?;
                if lock_time < 0 {
                    return Err(NegativeLocktime);
                }
                if !self.signing.lock_time_holds(lock_time) {
                    return Err(UnsatisfiedLocktime);
                }
            }
            // OP_CHECKSEQUENCEVERIFY.
            0xb2 => {
                let sequence = parse_num(self.top(0)?, MAX_LOCKTIME_NUM_BYTES)?;
                if sequence < 0 {
                    return Err(NegativeLocktime);
                }
                if sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG == 0 && !self.signing.sequence_holds(sequence) {
                    return Err(UnsatisfiedLocktime);
                }
            }
            // OP_CHECKSIGADD.
            0xba => {
                self.need(3)?;
                let n = parse_num(self.top(1)?, MAX_NUM_BYTES)?;
                let len = self.stack.len();
                let success = self.signing.check(&self.stack[len - 3], &self.stack[len - 1])?;
                self.stack.truncate(len - 3);
                self.stack.push(num_bytes(n + i64::from(success)));
            }
            // OP_INVALIDOPCODE, and anything the pre-scan would have made a success.
            _ => return Err(BadOpcode),
        }
        Ok(())
    }

    /// Fails unless the main stack holds at least `count` elements.
    fn need(&self, count: usize) -> Result<(), ScriptError> {
        if self.stack.len() < count {
            Err(ScriptError::InvalidStackOperation)
        } else {
            Ok(())
        }
    }

    /// The element `depth` below the top of the main stack.
    fn top(&self, depth: usize) -> Result<&[u8], ScriptError> {
        self.stack
            .len()
            .checked_sub(depth + 1)
            .and_then(|position| self.stack.get(position))
            .map(Vec::as_slice)
            .ok_or(ScriptError::InvalidStackOperation)
    }

    fn pop(&mut self) -> Result<Vec<u8>, ScriptError> {
        self.stack.pop().ok_or(ScriptError::InvalidStackOperation)
    }
}
