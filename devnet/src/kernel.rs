//! Bitcoin Core's consensus engine (libbitcoinkernel) behind a small typed interface.
//!
//! Blocks and transactions cross the boundary as consensus bytes, so the rest of the
//! crate works with rust-bitcoin types. The kernel keeps the chain (block files and
//! chainstate) under its data directory; it validates every block fully: proof of
//! work, merkle and witness commitments, coinbase value, BIP-34/65/66/68/112/113/141/
//! 341/342 rules and every input script.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Mutex, Once};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash, Transaction, TxOut};
use bitcoinkernel::prelude::{BlockHashExt, BlockValidationStateExt};
use bitcoinkernel::{
    BlockValidationStateRef, ChainType, ChainstateManager, Context, ContextBuilder, KernelError, Log, Logger,
    ProcessBlockResult, ValidationMode,
};

/// Why the kernel could not be set up or read.
#[derive(Debug, thiserror::Error)]
pub enum KernelSetupError {
    /// The data directory path is not UTF-8 (the kernel takes UTF-8 paths).
    #[error("the devnet data directory {0} is not valid UTF-8")]
    NonUtf8Path(String),
    /// The data directory could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The kernel refused to start or failed reading its own data.
    #[error("bitcoin kernel: {0}")]
    Kernel(String),
}

impl From<KernelError> for KernelSetupError {
    fn from(error: KernelError) -> Self {
        Self::Kernel(error.to_string())
    }
}

/// A block the kernel refused, with Bitcoin Core's reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("block {hash} rejected: {reason}")]
pub struct BlockRejected {
    /// The block's hash.
    pub hash: BlockHash,
    /// Bitcoin Core's reject reason (e.g. `bad-cb-amount`), or the validation result
    /// when the kernel logged none.
    pub reason: String,
}

/// The result of the block-checked callback for the last processed block.
#[derive(Clone, Debug, Default)]
struct LastCheck {
    hash: Option<[u8; 32]>,
    invalid: Option<String>,
}

thread_local! {
    /// Kernel log lines of the current thread while a capture is active.
    static CAPTURE: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

struct CaptureLog;

impl Log for CaptureLog {
    fn log(&self, message: &str) {
        CAPTURE.with(|capture| {
            if let Some(lines) = capture.borrow_mut().as_mut() {
                lines.push(message.to_owned());
            }
        });
        tracing::trace!(target: "rollup::devnet::kernel", "{}", message.trim_end());
    }
}

/// Connects the kernel's log to [`CaptureLog`] once per process. Bitcoin Core logs
/// synchronously on the validating thread, so a thread-local buffer sees exactly the
/// lines of the call that is capturing.
fn install_logger() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| match Logger::new(CaptureLog) {
        // The connection lives as long as the process.
        Ok(logger) => std::mem::forget(logger),
        Err(error) => tracing::warn!(target: "rollup::devnet::kernel", %error, "kernel log not captured"),
    });
}

fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(Vec::new()));
    let result = f();
    let lines = CAPTURE.with(|capture| capture.borrow_mut().take()).unwrap_or_default();
    (result, lines)
}

/// Extracts Core's reject reason (`bad-cb-amount`, `bad-witness-merkle-match`, ...)
/// from the validation log lines of one block.
fn reject_reason(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let detail = line
            .split_once(" failed, ")
            .map(|(_, rest)| rest)
            .or_else(|| line.split_once("FAILED (").map(|(_, rest)| rest))?;
        let reason: String = detail.chars().take_while(|c| !matches!(c, ',' | ')' | ' ' | '\n')).collect();
        (!reason.is_empty()).then_some(reason)
    })
}

/// Bitcoin Core's consensus engine on a regtest chain in one directory.
pub struct Kernel {
    // Dropped before the context it was built from.
    chainman: ChainstateManager,
    _context: Context,
    last_check: Arc<Mutex<LastCheck>>,
}

impl Kernel {
    /// Opens (creating if needed) the regtest chain in `dir` and loads its blocks.
    pub fn open(dir: &Path) -> Result<Self, KernelSetupError> {
        install_logger();
        let to_str = |path: &Path| {
            path.to_str()
                .map(str::to_owned)
                .ok_or_else(|| KernelSetupError::NonUtf8Path(path.display().to_string()))
        };
        let blocks = dir.join("blocks");
        std::fs::create_dir_all(&blocks)
            .map_err(|source| KernelSetupError::CreateDir { path: blocks.display().to_string(), source })?;
        let last_check = Arc::new(Mutex::new(LastCheck::default()));
        let sink = last_check.clone();
        let context = ContextBuilder::new()
            .chain_type(ChainType::Regtest)
            .with_block_checked_validation(
                move |block: bitcoinkernel::Block, state: BlockValidationStateRef<'_>| {
                    let mut check = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    check.hash = Some(block.hash().to_bytes());
                    check.invalid = match state.mode() {
                        ValidationMode::Valid => None,
                        mode => Some(format!("{mode:?} ({:?})", state.result()).to_lowercase()),
                    };
                },
            )
            .build()?;
        let chainman = ChainstateManager::new(&context, &to_str(dir)?, &to_str(&blocks)?)?;
        chainman.import_blocks()?;
        Ok(Self { chainman, _context: context, last_check })
    }

    /// Validates `block` and, if it is valid and has the most work, makes it the tip.
    pub fn process_block(&self, block: &Block) -> Result<(), BlockRejected> {
        let hash = block.block_hash();
        let rejected = |reason: String| BlockRejected { hash, reason };
        let kernel_block = bitcoinkernel::Block::new(&serialize(block))
            .map_err(|error| rejected(format!("undecodable block: {error}")))?;
        *self.last_check.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = LastCheck::default();
        let (result, log) = capture(|| self.chainman.process_block(&kernel_block));
        let check = self.last_check.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let checked_invalid = check.hash == Some(hash.to_byte_array()) && check.invalid.is_some();
        match result {
            ProcessBlockResult::Rejected => {}
            ProcessBlockResult::NewBlock | ProcessBlockResult::Duplicate if !checked_invalid => return Ok(()),
            ProcessBlockResult::NewBlock | ProcessBlockResult::Duplicate => {}
        }
        let reason = reject_reason(&log).or(check.invalid).unwrap_or_else(|| "rejected".to_owned());
        Err(rejected(reason))
    }

    /// Height of the active tip.
    pub fn tip_height(&self) -> u32 {
        u32::try_from(self.chainman.active_chain().height()).unwrap_or(0)
    }

    /// Hash of the active chain's block at `height`.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        let entry = self.chainman.active_chain().at_height(usize::try_from(height).ok()?)?;
        Some(BlockHash::from_byte_array(entry.block_hash().to_bytes()))
    }

    /// Any block the kernel stored (active chain or not), by hash.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Block>, KernelSetupError> {
        let kernel_hash = bitcoinkernel::BlockHash::new(hash.as_byte_array())?;
        let Some(entry) = self.chainman.get_block_tree_entry(&kernel_hash) else { return Ok(None) };
        let block = match self.chainman.read_block_data(&entry) {
            Ok(block) => block,
            // A header without block data.
            Err(_) => return Ok(None),
        };
        let bytes = block.consensus_encode()?;
        deserialize(&bytes)
            .map(Some)
            .map_err(|error| KernelSetupError::Kernel(format!("undecodable block: {error}")))
    }

    /// The active chain's block at `height`, read from the kernel's block files.
    pub fn block_at(&self, height: u32) -> Result<Option<Block>, KernelSetupError> {
        let chain = self.chainman.active_chain();
        let Some(entry) = usize::try_from(height).ok().and_then(|height| chain.at_height(height)) else {
            return Ok(None);
        };
        let block = self.chainman.read_block_data(&entry)?;
        let bytes = block.consensus_encode()?;
        deserialize(&bytes)
            .map(Some)
            .map_err(|error| KernelSetupError::Kernel(format!("undecodable block: {error}")))
    }
}

/// Why an input's script does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("input {input}: {reason}")]
pub struct ScriptFailure {
    /// The failing input.
    pub input: usize,
    /// What the kernel said.
    pub reason: String,
    /// Bitcoin Core's name for the script error (its `ScriptErrorString`, e.g.
    /// `Script failed an OP_EQUALVERIFY operation`), when the input is a tapscript
    /// spend our interpreter can diagnose: the kernel only says valid or invalid.
    pub script_error: Option<String>,
}

impl ScriptFailure {
    /// The reject reason Bitcoin Core 31's mempool gives for `tx`:
    /// `mempool-script-verify-flag-failed (<script error>), input N of <txid> (wtxid
    /// <wtxid>), spending <txid>:<vout>`. Where the devnet cannot name the script error
    /// (the kernel only says valid or invalid; our interpreter diagnoses taproot
    /// spends), the parentheses say so instead.
    pub fn reject_reason(&self, tx: &Transaction) -> String {
        let error = match &self.script_error {
            Some(error) => error.clone(),
            None => format!("script error not named by the devnet: {}", self.reason),
        };
        let spending =
            tx.input.get(self.input).map(|input| input.previous_output.to_string()).unwrap_or_default();
        format!(
            "mempool-script-verify-flag-failed ({error}), input {} of {} (wtxid {}), spending {spending}",
            self.input,
            tx.compute_txid(),
            tx.compute_wtxid()
        )
    }
}

/// Core's script error for a refused taproot key-path spend (one witness element,
/// after any annex): the signature's size, its sighash type, or the signature itself.
fn diagnose_key_path(tx: &Transaction, spent: &[TxOut], input: usize) -> Option<String> {
    if !spent.get(input)?.script_pubkey.is_p2tr() {
        return None;
    }
    let witness = &tx.input.get(input)?.witness;
    let mut elements: Vec<&[u8]> = witness.iter().collect();
    if elements.len() >= 2 && elements.last().is_some_and(|last| last.first() == Some(&0x50)) {
        elements.pop();
    }
    let [signature] = elements.as_slice() else { return None };
    let error = match signature.len() {
        64 => "Invalid Schnorr signature",
        65 if matches!(signature[64], 0x01..=0x03 | 0x81..=0x83) => "Invalid Schnorr signature",
        65 => "Invalid Schnorr signature hashtype",
        _ => "Invalid Schnorr signature size",
    };
    Some(error.to_owned())
}

/// Core's script error for input `input` of `tx`, which the kernel refused, if it is
/// a taproot spend: a key-path signature's fault, or our interpreter's diagnosis of a
/// script-path spend. An interpreter that finds the
/// spend valid contradicts the kernel (the authority): that is logged and no error is
/// named.
fn diagnose(tx: &Transaction, spent: &[TxOut], input: usize) -> Option<String> {
    if let Some(error) = diagnose_key_path(tx, spent, input) {
        return Some(error);
    }
    let trace = rollup_l1::script::interpreter::diagnose_input(tx, input, spent)?;
    match trace.result {
        Err(failure) => Some(failure.error.to_string()),
        Ok(()) => {
            tracing::warn!(
                target: "rollup::devnet::kernel",
                txid = %tx.compute_txid(),
                input,
                "the kernel refuses a tapscript spend the interpreter accepts"
            );
            None
        }
    }
}

/// Verifies every input of `tx` under Bitcoin Core's interpreter with all consensus
/// flags (P2SH, DERSIG, NULLDUMMY, CLTV, CSV, WITNESS, TAPROOT), `spent` being the
/// outputs it spends, in input order. A refused tapscript spend is diagnosed by our
/// interpreter ([`ScriptFailure::script_error`]).
pub fn verify_scripts(tx: &Transaction, spent: &[TxOut]) -> Result<(), ScriptFailure> {
    match rollup_l1::script::exec::kernel_verify_inputs(tx, spent, 0..spent.len()) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refused)) => Err(ScriptFailure {
            input: refused.input,
            reason: refused.message,
            script_error: diagnose(tx, spent, refused.input),
        }),
        Err(error) => Err(ScriptFailure { input: 0, reason: error.to_string(), script_error: None }),
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::opcodes::all::{OP_EQUALVERIFY, OP_PUSHNUM_7};
    use bitcoin::opcodes::OP_TRUE;
    use rollup_l1::script::exec::LeafSpend;
    use rollup_l1::script::{encode_num, Script};

    use super::*;

    #[test]
    fn refused_tapscript_spends_are_named_as_core_names_them() {
        let leaf = Script::new().op(OP_PUSHNUM_7).op(OP_EQUALVERIFY).op(OP_TRUE);
        let good = LeafSpend::new(&leaf, &[encode_num(7)]).unwrap();
        assert_eq!(verify_scripts(&good.tx, std::slice::from_ref(&good.spent)), Ok(()));
        let bad = LeafSpend::new(&leaf, &[encode_num(8)]).unwrap();
        let failure = verify_scripts(&bad.tx, std::slice::from_ref(&bad.spent)).unwrap_err();
        assert_eq!(failure.input, 0);
        assert_eq!(failure.script_error.as_deref(), Some("Script failed an OP_EQUALVERIFY operation"));
        let txid = bad.tx.compute_txid();
        assert_eq!(
            failure.reject_reason(&bad.tx),
            format!(
                "mempool-script-verify-flag-failed (Script failed an OP_EQUALVERIFY operation), input 0 of {txid} \
                 (wtxid {}), spending {}",
                bad.tx.compute_wtxid(),
                bad.tx.input[0].previous_output
            )
        );
        // Not tapscript (a P2WSH spend of the same script): the kernel's word only.
        let script = leaf.to_script_buf();
        let mut tx = bad.tx.clone();
        tx.input[0].witness = bitcoin::Witness::from_slice(&[encode_num(8), script.to_bytes()]);
        let p2wsh = TxOut {
            value: bad.spent.value,
            script_pubkey: bitcoin::ScriptBuf::new_p2wsh(&script.wscript_hash()),
        };
        let failure = verify_scripts(&tx, std::slice::from_ref(&p2wsh)).unwrap_err();
        assert_eq!(failure.script_error, None);
        assert_eq!(
            failure.reject_reason(&tx),
            format!(
                "mempool-script-verify-flag-failed (script error not named by the devnet: script verification \
                 failed), input 0 of {} (wtxid {}), spending {}",
                tx.compute_txid(),
                tx.compute_wtxid(),
                tx.input[0].previous_output
            )
        );
    }

    #[test]
    fn reject_reasons_are_read_from_core_log_lines() {
        let lines = |text: &str| vec![text.to_owned()];
        assert_eq!(
            reject_reason(&lines(
                "ConnectTip: ConnectBlock 0f9188f1 failed, bad-cb-amount, coinbase pays too much"
            )),
            Some("bad-cb-amount".to_owned())
        );
        assert_eq!(
            reject_reason(&lines("ProcessNewBlock: AcceptBlock FAILED (bad-witness-merkle-match, witness merkle commitment mismatch)")),
            Some("bad-witness-merkle-match".to_owned())
        );
        assert_eq!(reject_reason(&lines("UpdateTip: new best=00ab height=3")), None);
    }
}
