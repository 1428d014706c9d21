//! Running a tapscript leaf under Bitcoin Core's interpreter.
//!
//! [`execute`] commits the leaf to a taproot output (an unspendable internal key,
//! the leaf alone in the tree), spends that output through the leaf with the given
//! witness elements, and asks libbitcoinkernel to verify the spend with every
//! consensus flag (taproot and tapscript included). The kernel's verdict is the
//! verdict: nothing here decides whether a script succeeds.
//!
//! The same spend also runs under our own [`interpreter`](super::interpreter), which
//! explains the verdict: Core's error and the failing opcode, the peak stack depth,
//! the final stack. If the two verdicts differ, [`execute`] fails with
//! [`ExecError::Disagreement`]: that is a bug in our interpreter, never hidden.

use bitcoin::absolute::LockTime;
use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash;
use bitcoin::key::Secp256k1;
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Weight, Witness, XOnlyPublicKey,
};
use bitcoinkernel::{KernelError, PrecomputedTransactionData, ScriptPubkey, VERIFY_ALL};

use super::interpreter::{diagnose_input, ScriptFailure};
use super::Script;

/// BIP-341's provably unspendable internal key ("H"): the x coordinate of a point
/// with no known discrete logarithm, so the output can be spent only by a leaf.
pub const UNSPENDABLE_INTERNAL_KEY: [u8; 32] = [
    0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a, 0x5e, 0x07,
    0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80, 0x3a, 0xc0,
];

/// The value of the output a test spend spends.
const SPENT_VALUE: Amount = Amount::from_sat(100_000);

/// Why a leaf could not even be put to the interpreter.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The taproot tree could not be built (never for a single leaf).
    #[error("taproot tree: {0}")]
    Taproot(String),
    /// The kernel refused its inputs (not a script verdict).
    #[error("bitcoin kernel: {0}")]
    Kernel(String),
    /// The kernel and our interpreter disagree on the verdict: a bug in the
    /// interpreter (the kernel is the authority).
    #[error("the kernel says {verdict} but the interpreter says {interpreter}", verdict = if *kernel { "valid" } else { "invalid" })]
    Disagreement {
        /// The kernel's verdict: the spend is valid.
        kernel: bool,
        /// The interpreter's verdict: `valid`, or its error and location.
        interpreter: String,
    },
}

/// A leaf spent through the script path: the output it commits to and the spend.
#[derive(Clone, Debug)]
pub struct LeafSpend {
    /// The taproot output holding the leaf.
    pub spent: TxOut,
    /// A transaction spending it through the leaf with the given witness elements.
    pub tx: Transaction,
}

impl LeafSpend {
    /// Commits `leaf` to a taproot output and spends it with `witness` (bottom of the
    /// stack first), followed by the leaf and its control block.
    pub fn new(leaf: &Script, witness: &[Vec<u8>]) -> Result<Self, ExecError> {
        let secp = Secp256k1::verification_only();
        let internal = XOnlyPublicKey::from_slice(&UNSPENDABLE_INTERNAL_KEY)
            .map_err(|error| ExecError::Taproot(error.to_string()))?;
        let script = leaf.to_script_buf();
        let spend_info = TaprootBuilder::new()
            .add_leaf(0, script.clone())
            .map_err(|error| ExecError::Taproot(error.to_string()))?
            .finalize(&secp, internal)
            .map_err(|_| ExecError::Taproot("incomplete tree".to_owned()))?;
        let control = spend_info
            .control_block(&(script.clone(), LeafVersion::TapScript))
            .ok_or_else(|| ExecError::Taproot("no control block for the leaf".to_owned()))?;
        let spent = TxOut {
            value: SPENT_VALUE,
            script_pubkey: ScriptBuf::new_p2tr(&secp, internal, spend_info.merkle_root()),
        };
        let mut stack = Witness::new();
        for element in witness {
            stack.push(element);
        }
        stack.push(script.as_bytes());
        stack.push(control.serialize());
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: Txid::all_zeros(), vout: 0 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: stack,
            }],
            output: vec![TxOut {
                value: Amount::from_sat(90_000),
                script_pubkey: ScriptBuf::new_op_return([]),
            }],
        };
        Ok(Self { spent, tx })
    }
}

/// What running a leaf showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The kernel's verdict: the spend is valid.
    pub success: bool,
    /// The kernel's message when the spend is invalid.
    pub kernel_error: Option<String>,
    /// Our interpreter's diagnosis when the spend is invalid: Core's error and the
    /// failing opcode's position in the leaf.
    pub error: Option<ScriptFailure>,
    /// The most elements the main and alt stacks held together during execution
    /// (the initial witness included).
    pub peak_stack: usize,
    /// The main stack when the leaf stopped (bottom first), success or not.
    pub final_stack: Vec<Vec<u8>>,
    /// Opcodes our interpreter evaluated (see [`Trace::opcodes_executed`](super::Trace)).
    pub opcodes_executed: usize,
    /// The leaf's size in bytes.
    pub script_bytes: usize,
    /// The witness elements' total size in bytes (without the leaf and control block).
    pub witness_bytes: usize,
    /// The weight of the whole spending transaction.
    pub tx_weight: Weight,
}

/// Runs `leaf` on `witness` (bottom of the stack first) under Bitcoin Core's
/// interpreter with every consensus flag, and under ours for the diagnosis.
///
/// Fails with [`ExecError::Disagreement`] if the two verdicts differ.
pub fn execute(leaf: &Script, witness: &[Vec<u8>]) -> Result<Execution, ExecError> {
    let spend = LeafSpend::new(leaf, witness)?;
    let spent = std::slice::from_ref(&spend.spent);
    let verdict = kernel_verify(&spend.tx, spent, 0)?;
    let trace = diagnose_input(&spend.tx, 0, spent)
        .ok_or_else(|| ExecError::Taproot("the spend is not a tapscript spend".to_owned()))?;
    if verdict.is_ok() != trace.result.is_ok() {
        return Err(ExecError::Disagreement {
            kernel: verdict.is_ok(),
            interpreter: match trace.result {
                Ok(()) => "valid".to_owned(),
                Err(failure) => failure.to_string(),
            },
        });
    }
    Ok(Execution {
        success: verdict.is_ok(),
        kernel_error: verdict.err(),
        error: trace.result.err(),
        peak_stack: trace.peak_stack,
        final_stack: trace.final_stack,
        opcodes_executed: trace.opcodes_executed,
        script_bytes: leaf.len(),
        witness_bytes: witness.iter().map(Vec::len).sum(),
        tx_weight: spend.tx.weight(),
    })
}

/// The kernel's refusal of one input's script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRefused {
    /// The refused input.
    pub input: usize,
    /// The kernel's message (it names no script error: valid or invalid only).
    pub message: String,
}

/// Verifies input `input` of `tx` under the kernel with every consensus flag:
/// `Ok(Err(message))` is a script failure, `Err` a refusal of the inputs themselves.
pub fn kernel_verify(
    tx: &Transaction,
    spent: &[TxOut],
    input: usize,
) -> Result<Result<(), String>, ExecError> {
    Ok(kernel_verify_inputs(tx, spent, [input])?.map_err(|refused| refused.message))
}

/// Verifies `inputs` of `tx`, in order, under the kernel with every consensus flag,
/// `spent` being the outputs all of `tx`'s inputs spend: the first refused input, or
/// `Err` if the kernel refuses the transaction or the outputs themselves.
pub fn kernel_verify_inputs(
    tx: &Transaction,
    spent: &[TxOut],
    inputs: impl IntoIterator<Item = usize>,
) -> Result<Result<(), InputRefused>, ExecError> {
    let kernel = |error: KernelError| ExecError::Kernel(error.to_string());
    let kernel_tx = bitcoinkernel::Transaction::new(&serialize(tx)).map_err(kernel)?;
    let kernel_spent: Vec<bitcoinkernel::TxOut> = spent
        .iter()
        .map(|output| {
            let script = ScriptPubkey::new(output.script_pubkey.as_bytes())?;
            Ok(bitcoinkernel::TxOut::new(&script, sats(output)))
        })
        .collect::<Result<_, KernelError>>()
        .map_err(kernel)?;
    let precomputed = PrecomputedTransactionData::new(&kernel_tx, &kernel_spent).map_err(kernel)?;
    for input in inputs {
        let output = spent
            .get(input)
            .ok_or_else(|| ExecError::Kernel(format!("no spent output for input {input}")))?;
        let script = ScriptPubkey::new(output.script_pubkey.as_bytes()).map_err(kernel)?;
        match bitcoinkernel::verify(
            &script,
            Some(sats(output)),
            &kernel_tx,
            input,
            Some(VERIFY_ALL),
            &precomputed,
        ) {
            Ok(()) => {}
            Err(KernelError::ScriptVerify(bitcoinkernel::ScriptVerifyError::Invalid)) => {
                return Ok(Err(InputRefused { input, message: "script verification failed".to_owned() }));
            }
            Err(error) => return Err(kernel(error)),
        }
    }
    Ok(Ok(()))
}

fn sats(output: &TxOut) -> i64 {
    // Output values are at most 21e14 satoshis, far below i64::MAX.
    i64::try_from(output.value.to_sat()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use bitcoin::opcodes::all::{OP_ADD, OP_EQUAL, OP_EQUALVERIFY};
    use bitcoin::opcodes::OP_TRUE;

    use super::*;
    use crate::script::encode_num;

    #[test]
    fn the_kernel_accepts_a_true_leaf_and_refuses_a_false_one() {
        let add = Script::new().op(OP_ADD).num(5).op(OP_EQUAL);
        let ok = execute(&add, &[encode_num(2), encode_num(3)]).unwrap();
        assert!(ok.success, "{ok:?}");
        assert_eq!(ok.script_bytes, 3);
        assert_eq!(ok.witness_bytes, 2);
        let wrong = execute(&add, &[encode_num(2), encode_num(4)]).unwrap();
        assert!(!wrong.success);
        assert_eq!(wrong.kernel_error.as_deref(), Some("script verification failed"));
        // Tapscript demands a clean stack: one true element left.
        let unclean = Script::new().op(OP_TRUE).op(OP_TRUE);
        assert!(!execute(&unclean, &[]).unwrap().success);
        let verify = Script::new().num(7).op(OP_EQUALVERIFY).op(OP_TRUE);
        assert!(execute(&verify, &[encode_num(7)]).unwrap().success);
        assert!(!execute(&verify, &[encode_num(8)]).unwrap().success);
    }
}
