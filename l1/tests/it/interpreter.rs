//! Our tapscript interpreter against Bitcoin Core's (libbitcoinkernel).
//!
//! `exec::execute` runs both and fails on any disagreement of verdicts, so every
//! `execute` call here is a differential test; on top, the tables assert the exact
//! error, its location and the stacks, and the fuzz runs thousands of random leaves.

use std::collections::BTreeMap;

use bitcoin::hashes::{hash160, ripemd160, sha1, sha256, sha256d, Hash};
use bitcoin::opcodes::all::*;
use bitcoin::opcodes::{Opcode, OP_FALSE, OP_TRUE};
use bitcoin::secp256k1::{Keypair, Message, Secp256k1};
use bitcoin::sighash::{Annex, Prevouts, SighashCache};
use bitcoin::taproot::{LeafVersion, TapLeafHash};
use bitcoin::{ScriptBuf, TapSighashType, TxOut, Witness};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rollup_l1::script::exec::{execute, kernel_verify, ExecError, Execution, LeafSpend};
use rollup_l1::script::interpreter::{
    diagnose_input, is_op_success, run_tapscript, ScriptError, ScriptFailure, VALIDATION_WEIGHT_OFFSET,
    VALIDATION_WEIGHT_PER_SIGOP,
};
use rollup_l1::script::{encode_num, Script, MAX_SCRIPT_NUM};

/// Stack elements, bottom first.
type Stack = Vec<Vec<u8>>;

fn raw(bytes: &[u8]) -> Script {
    Script::from_bytes(bytes.to_vec())
}

fn run(leaf: &Script, witness: &[Vec<u8>]) -> Execution {
    execute(leaf, witness).unwrap_or_else(|error| panic!("{leaf:?}: {error}"))
}

fn fails(error: ScriptError, offset: usize, opcode_index: usize) -> Option<ScriptFailure> {
    Some(ScriptFailure { error, offset, opcode_index })
}

fn empties(count: usize) -> Vec<Vec<u8>> {
    vec![Vec::new(); count]
}

/// Asserts the verdict (kernel and interpreter agree, or `execute` fails) and the
/// interpreter's exact diagnosis.
fn expect(name: &str, leaf: &Script, witness: &[Vec<u8>], expected: Option<ScriptFailure>) -> Execution {
    let run = execute(leaf, witness).unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!(run.success, expected.is_none(), "{name}: {run:?}");
    assert_eq!(run.error, expected, "{name}");
    run
}

#[test]
fn core_error_messages_are_worded_as_core_words_them() {
    assert_eq!(ScriptError::EqualVerify.to_string(), "Script failed an OP_EQUALVERIFY operation");
    assert_eq!(
        ScriptError::EvalFalse.to_string(),
        "Script evaluated without error but finished with a false/empty top stack element"
    );
    assert_eq!(ScriptError::CleanStack.to_string(), "Stack size must be exactly one after execution");
    assert_eq!(
        ScriptError::InvalidStackOperation.to_string(),
        "Operation not valid with the current stack size"
    );
    assert_eq!(ScriptError::PushSize.to_string(), "Push value size limit exceeded");
    assert_eq!(ScriptError::StackSize.to_string(), "Stack size limit exceeded");
    assert_eq!(ScriptError::ScriptNum.to_string(), "Script number overflowed or is non-minimally encoded");
    assert_eq!(
        ScriptError::TapscriptMinimalIf.to_string(),
        "OP_IF/NOTIF argument must be minimal in tapscript"
    );
    assert_eq!(ScriptError::SchnorrSig.to_string(), "Invalid Schnorr signature");
    let failure = ScriptFailure { error: ScriptError::Verify, offset: 7, opcode_index: 3 };
    assert_eq!(failure.to_string(), "Script failed an OP_VERIFY operation (at byte 7, opcode 3)");
}

#[test]
fn op_success_opcodes_are_exactly_those_of_bip_342() {
    let expected: Vec<u8> = [80u8, 98]
        .into_iter()
        .chain(126..=129)
        .chain(131..=134)
        .chain(137..=138)
        .chain(141..=142)
        .chain(149..=153)
        .chain(187..=254)
        .collect();
    let found: Vec<u8> = (0..=255u8).filter(|op| is_op_success(*op)).collect();
    assert_eq!(found, expected);
    assert_eq!(found.len(), 87);
    // Every one of them makes a leaf succeed under the kernel, whatever the stack or
    // the rest of the leaf.
    for op in 0..=255u8 {
        let leaf = raw(&[op]);
        let result = execute(&leaf, &[]).unwrap_or_else(|error| panic!("{op:#04x}: {error}"));
        // OP_1NEGATE and OP_1..OP_16 leave one true element.
        let true_push = op == 0x4f || (0x51..=0x60).contains(&op);
        assert_eq!(result.success, is_op_success(op) || true_push, "{op:#04x}");
        if is_op_success(op) {
            // After a failing opcode, a truncated push, and with 1001 witness elements.
            let leaf = raw(&[0x6a, op, 0x4c]);
            assert!(run(&leaf, &empties(1001)).success, "{op:#04x}");
        }
    }
}

#[test]
fn every_error_kind_is_named_and_located() {
    let max = encode_num(MAX_SCRIPT_NUM);
    let key = vec![2u8; 32];
    let cases: Vec<(&str, Script, Stack, Option<ScriptFailure>)> = vec![
        ("false result", Script::new().op(OP_FALSE), vec![], fails(ScriptError::EvalFalse, 1, 1)),
        ("negative zero is false", Script::new().data(&[0x80]), vec![], fails(ScriptError::EvalFalse, 2, 1)),
        (
            "two elements left",
            Script::new().op(OP_TRUE).op(OP_TRUE),
            vec![],
            fails(ScriptError::CleanStack, 2, 2),
        ),
        ("nothing left", Script::new().op(OP_TRUE).op(OP_DROP), vec![], fails(ScriptError::CleanStack, 2, 2)),
        ("OP_RETURN", Script::new().op(OP_TRUE).op(OP_RETURN), vec![], fails(ScriptError::OpReturn, 1, 1)),
        (
            "OP_RETURN unexecuted",
            Script::new().op(OP_FALSE).op(OP_IF).op(OP_RETURN).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            None,
        ),
        (
            "OP_VERIFY",
            Script::new().op(OP_FALSE).op(OP_VERIFY).op(OP_TRUE),
            vec![],
            fails(ScriptError::Verify, 1, 1),
        ),
        (
            "OP_EQUALVERIFY",
            Script::new().op(OP_EQUALVERIFY).op(OP_TRUE),
            vec![vec![1], vec![2]],
            fails(ScriptError::EqualVerify, 0, 0),
        ),
        (
            "OP_NUMEQUALVERIFY",
            Script::new().num(2).num(3).op(OP_NUMEQUALVERIFY).op(OP_TRUE),
            vec![],
            fails(ScriptError::NumEqualVerify, 2, 2),
        ),
        (
            "5-byte operand",
            Script::new().op(OP_1ADD),
            vec![vec![0, 0, 0, 0, 1]],
            fails(ScriptError::ScriptNum, 0, 0),
        ),
        (
            "5-byte result fed back to arithmetic",
            Script::new().data(&max).op(OP_DUP).op(OP_ADD).op(OP_1ADD),
            vec![],
            fails(ScriptError::ScriptNum, 7, 3),
        ),
        (
            "5-byte result compared as bytes",
            Script::new().data(&max).op(OP_DUP).op(OP_ADD).data(&encode_num(2 * MAX_SCRIPT_NUM)).op(OP_EQUAL),
            vec![],
            None,
        ),
        (
            "non-minimal operands are accepted",
            Script::new().op(OP_ADD).op(OP_TRUE).op(OP_NUMEQUAL),
            vec![vec![1, 0], vec![0x80]],
            None,
        ),
        ("push of 521 bytes", Script::new().data(&[0; 521]), vec![], fails(ScriptError::PushSize, 0, 0)),
        (
            "push of 521 bytes unexecuted",
            Script::new().op(OP_FALSE).op(OP_IF).data(&[0; 521]).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            fails(ScriptError::PushSize, 2, 2),
        ),
        (
            "push of 520 bytes",
            Script::new().data(&[7; 520]).op(OP_SIZE).num(520).op(OP_EQUALVERIFY).op(OP_DROP).op(OP_TRUE),
            vec![],
            None,
        ),
        (
            "witness element of 521 bytes",
            Script::new().op(OP_DROP).op(OP_TRUE),
            vec![vec![0; 521]],
            fails(ScriptError::PushSize, 0, 0),
        ),
        (
            "1001 witness elements",
            Script::new().op(OP_TRUE),
            empties(1001),
            fails(ScriptError::StackSize, 0, 0),
        ),
        ("1000 witness elements", Script::new().ops(OP_2DROP, 500).op(OP_TRUE), empties(1000), None),
        (
            "1001 elements after a push",
            Script::new().op(OP_TRUE).op(OP_TRUE),
            empties(999),
            fails(ScriptError::StackSize, 1, 1),
        ),
        (
            "the alt stack counts",
            Script::new().op(OP_TOALTSTACK).op(OP_TRUE),
            empties(1000),
            fails(ScriptError::StackSize, 1, 1),
        ),
        (
            "OP_DROP on an empty stack",
            Script::new().op(OP_DROP),
            vec![],
            fails(ScriptError::InvalidStackOperation, 0, 0),
        ),
        (
            "OP_PICK past the bottom",
            Script::new().num(2).op(OP_PICK),
            vec![vec![1], vec![2]],
            fails(ScriptError::InvalidStackOperation, 1, 1),
        ),
        (
            "OP_ROLL with a negative index",
            Script::new().op(OP_PUSHNUM_NEG1).op(OP_ROLL),
            vec![vec![1]],
            fails(ScriptError::InvalidStackOperation, 1, 1),
        ),
        (
            "OP_FROMALTSTACK on an empty alt stack",
            Script::new().op(OP_FROMALTSTACK),
            vec![],
            fails(ScriptError::InvalidAltstackOperation, 0, 0),
        ),
        (
            "OP_ELSE without OP_IF",
            Script::new().op(OP_TRUE).op(OP_ELSE),
            vec![],
            fails(ScriptError::UnbalancedConditional, 1, 1),
        ),
        (
            "OP_ENDIF without OP_IF",
            Script::new().op(OP_ENDIF),
            vec![],
            fails(ScriptError::UnbalancedConditional, 0, 0),
        ),
        (
            "OP_IF on an empty stack (Core: unbalanced, not a stack error)",
            Script::new().op(OP_IF).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            fails(ScriptError::UnbalancedConditional, 0, 0),
        ),
        (
            "OP_NOTIF on an empty stack",
            Script::new().op(OP_NOTIF).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            fails(ScriptError::UnbalancedConditional, 0, 0),
        ),
        (
            "OP_IF left open",
            Script::new().op(OP_TRUE).op(OP_TRUE).op(OP_IF),
            vec![],
            fails(ScriptError::UnbalancedConditional, 3, 3),
        ),
        (
            "OP_IF on 2",
            Script::new().num(2).op(OP_IF).op(OP_TRUE).op(OP_ENDIF),
            vec![],
            fails(ScriptError::TapscriptMinimalIf, 1, 1),
        ),
        (
            "OP_NOTIF on 0x0100",
            Script::new().op(OP_NOTIF).op(OP_TRUE).op(OP_ENDIF),
            vec![vec![1, 0]],
            fails(ScriptError::TapscriptMinimalIf, 0, 0),
        ),
        (
            "OP_IF on 2 unexecuted",
            Script::new().op(OP_FALSE).op(OP_IF).num(2).op(OP_IF).op(OP_ENDIF).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            None,
        ),
        ("push past the end", raw(&[0x51, 0x4c]), vec![], fails(ScriptError::BadOpcode, 1, 1)),
        ("push of 2 with 1 byte left", raw(&[0x02, 0x01]), vec![], fails(ScriptError::BadOpcode, 0, 0)),
        (
            "OP_VERIF unexecuted",
            raw(&[0x00, 0x63, 0x65, 0x68, 0x51]),
            vec![],
            fails(ScriptError::BadOpcode, 2, 2),
        ),
        ("OP_INVALIDOPCODE", raw(&[0x51, 0xff]), vec![], fails(ScriptError::BadOpcode, 1, 1)),
        ("OP_INVALIDOPCODE unexecuted", raw(&[0x00, 0x63, 0xff, 0x68, 0x51]), vec![], None),
        (
            "an OP_SUCCESS byte inside a push",
            raw(&[0x01, 0x50, 0x51]),
            vec![],
            fails(ScriptError::CleanStack, 3, 2),
        ),
        (
            "a push swallowing an OP_SUCCESS byte",
            raw(&[0x4c, 0x50, 0x51]),
            vec![],
            fails(ScriptError::BadOpcode, 0, 0),
        ),
        ("OP_CAT unexecuted is OP_SUCCESS", raw(&[0x00, 0x63, 0x7e, 0x68]), vec![], None),
        (
            "negative CLTV",
            Script::new().op(OP_PUSHNUM_NEG1).op(OP_CLTV),
            vec![],
            fails(ScriptError::NegativeLocktime, 1, 1),
        ),
        (
            "CLTV with a final input",
            Script::new().op(OP_FALSE).op(OP_CLTV),
            vec![],
            fails(ScriptError::UnsatisfiedLocktime, 1, 1),
        ),
        (
            "CSV with a final input",
            Script::new().op(OP_TRUE).op(OP_CSV),
            vec![],
            fails(ScriptError::UnsatisfiedLocktime, 1, 1),
        ),
        (
            "CSV with the disable flag is a NOP",
            Script::new().num(1 << 31).op(OP_CSV).op(OP_DROP).op(OP_TRUE),
            vec![],
            None,
        ),
        (
            "CSV with a 6-byte operand",
            Script::new().data(&[1, 0, 0, 0, 0, 0]).op(OP_CSV),
            vec![],
            fails(ScriptError::ScriptNum, 7, 1),
        ),
        (
            "OP_CHECKMULTISIG",
            Script::new().op(OP_FALSE).op(OP_FALSE).op(OP_FALSE).op(OP_CHECKMULTISIG),
            vec![],
            fails(ScriptError::TapscriptCheckMultisig, 3, 3),
        ),
        (
            "OP_CHECKMULTISIG unexecuted",
            Script::new().op(OP_FALSE).op(OP_IF).op(OP_CHECKMULTISIG).op(OP_ENDIF).op(OP_TRUE),
            vec![],
            None,
        ),
        (
            "empty public key",
            Script::new().op(OP_FALSE).op(OP_FALSE).op(OP_CHECKSIG),
            vec![],
            fails(ScriptError::TapscriptEmptyPubkey, 2, 2),
        ),
        ("unknown public key type", Script::new().op(OP_TRUE).op(OP_TRUE).op(OP_CHECKSIG), vec![], None),
        (
            "signature of 10 bytes",
            Script::new().data(&[1; 10]).data(&key).op(OP_CHECKSIG),
            vec![],
            fails(ScriptError::SchnorrSigSize, 44, 2),
        ),
        (
            "65-byte signature with SIGHASH_DEFAULT",
            Script::new().data(&key).op(OP_CHECKSIG),
            vec![[vec![1; 64], vec![0]].concat()],
            fails(ScriptError::SchnorrSigHashtype, 33, 1),
        ),
        (
            "65-byte signature with hash type 4",
            Script::new().data(&key).op(OP_CHECKSIG),
            vec![[vec![1; 64], vec![4]].concat()],
            fails(ScriptError::SchnorrSigHashtype, 33, 1),
        ),
        (
            "random 64-byte signature",
            Script::new().data(&key).op(OP_CHECKSIG),
            vec![vec![1; 64]],
            fails(ScriptError::SchnorrSig, 33, 1),
        ),
        (
            "OP_CHECKSIGVERIFY with an empty signature",
            Script::new().op(OP_FALSE).data(&key).op(OP_CHECKSIGVERIFY).op(OP_TRUE),
            vec![],
            fails(ScriptError::CheckSigVerify, 34, 2),
        ),
        (
            "OP_CHECKSIGADD with a 5-byte counter",
            Script::new().op(OP_FALSE).data(&[0, 0, 0, 0, 1]).data(&key).op(OP_CHECKSIGADD),
            vec![],
            fails(ScriptError::ScriptNum, 40, 3),
        ),
        (
            "every NOP",
            Script::new()
                .op(OP_NOP)
                .op(OP_NOP1)
                .op(OP_NOP4)
                .op(OP_NOP5)
                .op(OP_NOP6)
                .op(OP_NOP7)
                .op(OP_NOP8)
                .op(OP_NOP9)
                .op(OP_NOP10)
                .op(OP_CODESEPARATOR)
                .op(OP_TRUE),
            vec![],
            None,
        ),
    ];
    for (name, leaf, witness, expected) in &cases {
        expect(name, leaf, witness, *expected);
    }
    // The state a failure leaves, as Core leaves it.
    let run = expect("equalverify", &cases[7].1, &cases[7].2, cases[7].3);
    assert_eq!(run.final_stack, vec![Vec::<u8>::new()], "OP_EQUALVERIFY pushed false before failing");
    let run = expect("1001 elements", &cases[19].1, &cases[19].2, cases[19].3);
    assert_eq!((run.peak_stack, run.final_stack.len()), (1001, 1001));
    let run = expect("1000 elements", &cases[18].1, &cases[18].2, cases[18].3);
    assert_eq!((run.peak_stack, run.final_stack), (1000, vec![vec![1]]));
}

#[test]
fn the_validation_weight_budget_is_the_witness_size_plus_50() {
    // Each `OP_1 OP_1 OP_CHECKSIG OP_DROP` checks a non-empty signature against a
    // 1-byte (upgradable) key: it succeeds and costs 50 units of a budget of
    // 50 + the serialized witness size.
    let unit = Script::new().op(OP_TRUE).op(OP_TRUE).op(OP_CHECKSIG).op(OP_DROP);
    for repeats in [1usize, 5, 20, 40] {
        let leaf = Script::new().repeat(&unit, repeats).op(OP_TRUE);
        let spend = LeafSpend::new(&leaf, &[]).unwrap();
        let witness_size = i64::try_from(spend.tx.input[0].witness.size()).unwrap();
        let budget = witness_size + VALIDATION_WEIGHT_OFFSET;
        let affordable = usize::try_from(budget / VALIDATION_WEIGHT_PER_SIGOP).unwrap();
        let expected = (repeats > affordable).then(|| ScriptFailure {
            error: ScriptError::TapscriptValidationWeight,
            offset: 4 * affordable + 2,
            opcode_index: 4 * affordable + 2,
        });
        expect(&format!("{repeats} checks"), &leaf, &[], expected);
    }
    // An empty signature costs nothing: as many checks as one likes.
    let free = Script::new().op(OP_FALSE).op(OP_TRUE).op(OP_CHECKSIG).op(OP_DROP);
    expect("free checks", &Script::new().repeat(&free, 200).op(OP_TRUE), &[], None);
}

/// Runs `ops` on `input` and asserts the interpreter's final stack is `expected`; then
/// has the kernel confirm it, with `ops` followed by an in-script comparison of every
/// expected element (top first) and `OP_TRUE`.
fn check_effect(name: &str, ops: &Script, input: &[Vec<u8>], expected: &[Vec<u8>]) {
    let alone = run(ops, input);
    assert_eq!(alone.final_stack, expected, "{name}: {alone:?}");
    let checked = expected
        .iter()
        .rev()
        .fold(ops.clone(), |leaf, element| leaf.data(element).op(OP_EQUALVERIFY))
        .op(OP_TRUE);
    assert!(run(&checked, input).success, "{name}: the kernel disagrees on the stack");
    // And a wrong expectation fails.
    if let Some((top, rest)) = expected.split_last() {
        let wrong = rest
            .iter()
            .rev()
            .fold(
                ops.clone().data(&[top.as_slice(), &[0x42]].concat()).op(OP_EQUALVERIFY),
                |leaf, element| leaf.data(element).op(OP_EQUALVERIFY),
            )
            .op(OP_TRUE);
        let wrong = run(&wrong, input);
        assert_eq!(wrong.error.map(|failure| failure.error), Some(ScriptError::EqualVerify), "{name}");
    }
}

#[test]
fn stack_opcodes_move_elements_as_core_does() {
    let [a, b, c, d, e, f] = [b"a", b"b", b"c", b"d", b"e", b"f"].map(|x| x.to_vec());
    let cases: Vec<(Opcode, Stack, Stack)> = vec![
        (OP_2DROP, vec![a.clone(), b.clone(), c.clone()], vec![a.clone()]),
        (OP_2DUP, vec![a.clone(), b.clone()], vec![a.clone(), b.clone(), a.clone(), b.clone()]),
        (
            OP_3DUP,
            vec![a.clone(), b.clone(), c.clone()],
            vec![a.clone(), b.clone(), c.clone(), a.clone(), b.clone(), c.clone()],
        ),
        (
            OP_2OVER,
            vec![a.clone(), b.clone(), c.clone(), d.clone()],
            vec![a.clone(), b.clone(), c.clone(), d.clone(), a.clone(), b.clone()],
        ),
        (
            OP_2ROT,
            vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone(), f.clone()],
            vec![c.clone(), d.clone(), e.clone(), f.clone(), a.clone(), b.clone()],
        ),
        (
            OP_2SWAP,
            vec![a.clone(), b.clone(), c.clone(), d.clone()],
            vec![c.clone(), d.clone(), a.clone(), b.clone()],
        ),
        (OP_IFDUP, vec![a.clone()], vec![a.clone(), a.clone()]),
        (OP_IFDUP, vec![vec![]], vec![vec![]]),
        (OP_IFDUP, vec![vec![0, 0x80]], vec![vec![0, 0x80]]),
        (OP_DEPTH, vec![a.clone(), b.clone()], vec![a.clone(), b.clone(), vec![2]]),
        (OP_DEPTH, vec![], vec![vec![]]),
        (OP_DROP, vec![a.clone(), b.clone()], vec![a.clone()]),
        (OP_DUP, vec![a.clone()], vec![a.clone(), a.clone()]),
        (OP_NIP, vec![a.clone(), b.clone()], vec![b.clone()]),
        (OP_OVER, vec![a.clone(), b.clone()], vec![a.clone(), b.clone(), a.clone()]),
        (
            OP_PICK,
            vec![a.clone(), b.clone(), c.clone(), vec![2]],
            vec![a.clone(), b.clone(), c.clone(), a.clone()],
        ),
        (OP_PICK, vec![a.clone(), b.clone(), vec![]], vec![a.clone(), b.clone(), b.clone()]),
        (OP_ROLL, vec![a.clone(), b.clone(), c.clone(), vec![2]], vec![b.clone(), c.clone(), a.clone()]),
        (OP_ROLL, vec![a.clone(), b.clone(), vec![1, 0, 0, 0]], vec![b.clone(), a.clone()]),
        (OP_ROT, vec![a.clone(), b.clone(), c.clone()], vec![b.clone(), c.clone(), a.clone()]),
        (OP_SWAP, vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]),
        (OP_TUCK, vec![a.clone(), b.clone()], vec![b.clone(), a.clone(), b.clone()]),
        (OP_SIZE, vec![b"abc".to_vec()], vec![b"abc".to_vec(), vec![3]]),
        (OP_SIZE, vec![vec![]], vec![vec![], vec![]]),
        (OP_EQUAL, vec![a.clone(), a.clone()], vec![vec![1]]),
        (OP_EQUAL, vec![vec![1], vec![1, 0]], vec![vec![]]),
        (OP_CODESEPARATOR, vec![a.clone()], vec![a.clone()]),
        (OP_NOP, vec![a.clone()], vec![a.clone()]),
    ];
    for (op, input, expected) in cases {
        check_effect(&format!("{op:?}"), &Script::new().op(op), &input, &expected);
    }
    // The alt stack.
    let alt = Script::new().op(OP_TOALTSTACK).op(OP_TRUE).op(OP_FROMALTSTACK);
    check_effect("alt stack", &alt, &[a.clone(), b.clone()], &[a.clone(), vec![1], b.clone()]);
    // Pushes, minimal or not (MINIMALDATA is policy, not consensus).
    let pushes = raw(&[
        0x00, 0x4f, 0x60, 0x4c, 0x01, 0x05, 0x4d, 0x02, 0x00, 0xaa, 0xbb, 0x4e, 0x03, 0, 0, 0, 1, 2, 3,
    ]);
    check_effect(
        "pushes",
        &pushes,
        &[],
        &[vec![], vec![0x81], vec![16], vec![5], vec![0xaa, 0xbb], vec![1, 2, 3]],
    );
}

#[test]
fn flow_control_follows_cores_condition_stack() {
    let nested = Script::new()
        .op(OP_IF)
        .num(2)
        .op(OP_ELSE)
        .op(OP_NOTIF)
        .num(3)
        .op(OP_ELSE)
        .num(4)
        .op(OP_ENDIF)
        .op(OP_ENDIF);
    check_effect("if taken", &nested, &[vec![1]], &[vec![2]]);
    check_effect("notif taken", &nested, &[vec![], vec![]], &[vec![3]]);
    check_effect("notif not taken", &nested, &[vec![1], vec![]], &[vec![4]]);
    // OP_ELSE toggles as many times as it appears.
    let toggles = Script::new().op(OP_IF).num(2).op(OP_ELSE).num(3).op(OP_ELSE).num(4).op(OP_ENDIF);
    check_effect("else else", &toggles, &[vec![1]], &[vec![2], vec![4]]);
    check_effect("else else false", &toggles, &[vec![]], &[vec![3]]);
    // An OP_ELSE under a false outer branch changes nothing.
    let inner = Script::new()
        .op(OP_IF)
        .op(OP_FALSE)
        .op(OP_IF)
        .num(5)
        .op(OP_ELSE)
        .num(6)
        .op(OP_ENDIF)
        .op(OP_ELSE)
        .num(7)
        .op(OP_ENDIF);
    check_effect("inner else taken", &inner, &[vec![1]], &[vec![6]]);
    check_effect("inner else hidden", &inner, &[vec![]], &[vec![7]]);
    // Opcodes evaluated: the flow control of skipped branches counts, the rest not.
    let run = run(&inner, &[vec![]]);
    assert_eq!(run.opcodes_executed, 7, "IF, IF, ELSE, ENDIF, ELSE, 7, ENDIF: not the skipped pushes");
}

#[test]
fn numeric_opcodes_match_native_arithmetic() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5c41_7000);
    let edge = [0, 1, -1, 2, 127, 128, -128, 255, 256, MAX_SCRIPT_NUM, -MAX_SCRIPT_NUM, MAX_SCRIPT_NUM - 1];
    let operand = |rng: &mut ChaCha20Rng| {
        if rng.gen_bool(0.3) {
            edge[rng.gen_range(0..edge.len())]
        } else {
            rng.gen_range(-MAX_SCRIPT_NUM..=MAX_SCRIPT_NUM)
        }
    };
    for _ in 0..40 {
        let (a, b, c) = (operand(&mut rng), operand(&mut rng), operand(&mut rng));
        let unary: [(Opcode, i64); 6] = [
            (OP_1ADD, a + 1),
            (OP_1SUB, a - 1),
            (OP_NEGATE, -a),
            (OP_ABS, a.abs()),
            (OP_NOT, i64::from(a == 0)),
            (OP_0NOTEQUAL, i64::from(a != 0)),
        ];
        for (op, expected) in unary {
            check_effect(
                &format!("{op:?} {a}"),
                &Script::new().op(op),
                &[encode_num(a)],
                &[encode_num(expected)],
            );
        }
        let binary: [(Opcode, i64); 12] = [
            (OP_ADD, a + b),
            (OP_SUB, a - b),
            (OP_BOOLAND, i64::from(a != 0 && b != 0)),
            (OP_BOOLOR, i64::from(a != 0 || b != 0)),
            (OP_NUMEQUAL, i64::from(a == b)),
            (OP_NUMNOTEQUAL, i64::from(a != b)),
            (OP_LESSTHAN, i64::from(a < b)),
            (OP_GREATERTHAN, i64::from(a > b)),
            (OP_LESSTHANOREQUAL, i64::from(a <= b)),
            (OP_GREATERTHANOREQUAL, i64::from(a >= b)),
            (OP_MIN, a.min(b)),
            (OP_MAX, a.max(b)),
        ];
        for (op, expected) in binary {
            let input = [encode_num(a), encode_num(b)];
            check_effect(&format!("{op:?} {a} {b}"), &Script::new().op(op), &input, &[encode_num(expected)]);
        }
        let (low, high) = (b.min(c), b.max(c));
        let within = i64::from(low <= a && a < high);
        let input = [encode_num(a), encode_num(low), encode_num(high)];
        check_effect(
            &format!("WITHIN {a} {low} {high}"),
            &Script::new().op(OP_WITHIN),
            &input,
            &[encode_num(within)],
        );
        let equal = [encode_num(a), encode_num(a)];
        check_effect("NUMEQUALVERIFY", &Script::new().op(OP_NUMEQUALVERIFY), &equal, &[]);
    }
    // Non-minimal and negative-zero operands read as their value; results are minimal.
    check_effect("padded", &Script::new().op(OP_1ADD), &[vec![5, 0, 0, 0]], &[vec![6]]);
    check_effect("negative zero", &Script::new().op(OP_1ADD), &[vec![0, 0, 0x80]], &[vec![1]]);
    check_effect("negative padded", &Script::new().op(OP_NEGATE), &[vec![5, 0x80]], &[vec![5]]);
}

#[test]
fn hash_opcodes_match_native_hashes() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x4a54);
    for len in [0usize, 1, 31, 32, 55, 56, 64, 200, 520] {
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let cases: [(Opcode, Vec<u8>); 5] = [
            (OP_RIPEMD160, ripemd160::Hash::hash(&data).to_byte_array().to_vec()),
            (OP_SHA1, sha1::Hash::hash(&data).to_byte_array().to_vec()),
            (OP_SHA256, sha256::Hash::hash(&data).to_byte_array().to_vec()),
            (OP_HASH160, hash160::Hash::hash(&data).to_byte_array().to_vec()),
            (OP_HASH256, sha256d::Hash::hash(&data).to_byte_array().to_vec()),
        ];
        for (op, expected) in cases {
            check_effect(
                &format!("{op:?} of {len} bytes"),
                &Script::new().op(op),
                std::slice::from_ref(&data),
                &[expected],
            );
        }
    }
}

/// Keys and the BIP-340 signatures of a leaf's spend (`LeafSpend` with the same leaf
/// builds the same transaction whatever the witness, and the signature hash does not
/// commit to the witness).
struct Signer {
    secp: Secp256k1<bitcoin::secp256k1::All>,
    keys: Vec<Keypair>,
}

impl Signer {
    fn new(count: usize) -> Self {
        let secp = Secp256k1::new();
        let mut rng = ChaCha20Rng::seed_from_u64(0x5167);
        let keys = (0..count)
            .map(|_| {
                let secret: [u8; 32] = rng.gen();
                Keypair::from_seckey_slice(&secp, &secret).unwrap()
            })
            .collect();
        Self { secp, keys }
    }

    fn pubkey(&self, key: usize) -> Vec<u8> {
        self.keys[key].x_only_public_key().0.serialize().to_vec()
    }

    /// The signature of `key` on the spend of `leaf`, with the given hash type,
    /// position of the last executed OP_CODESEPARATOR and annex.
    fn sign(
        &self,
        key: usize,
        leaf: &Script,
        hash_type: TapSighashType,
        codeseparator: u32,
        annex: Option<&[u8]>,
    ) -> Vec<u8> {
        let spend = LeafSpend::new(leaf, &[]).unwrap();
        let leaf_hash = TapLeafHash::from_script(&leaf.to_script_buf(), LeafVersion::TapScript);
        let sighash = SighashCache::new(&spend.tx)
            .taproot_signature_hash(
                0,
                &Prevouts::All(std::slice::from_ref(&spend.spent)),
                annex.map(|annex| Annex::new(annex).unwrap()),
                Some((leaf_hash, codeseparator)),
                hash_type,
            )
            .unwrap();
        let message = Message::from_digest(sighash.to_byte_array());
        let mut signature =
            self.secp.sign_schnorr_no_aux_rand(&message, &self.keys[key]).serialize().to_vec();
        if hash_type != TapSighashType::Default {
            signature.push(hash_type as u8);
        }
        signature
    }
}

#[test]
fn checksig_verifies_bip340_signatures_over_the_tapscript_sighash() {
    let signer = Signer::new(3);
    let leaf = Script::new().data(&signer.pubkey(0)).op(OP_CHECKSIG);
    let good = signer.sign(0, &leaf, TapSighashType::Default, u32::MAX, None);
    expect("good signature", &leaf, std::slice::from_ref(&good), None);
    let all = signer.sign(0, &leaf, TapSighashType::All, u32::MAX, None);
    assert_eq!(all.len(), 65);
    expect("SIGHASH_ALL", &leaf, &[all], None);
    let single = signer.sign(0, &leaf, TapSighashType::SinglePlusAnyoneCanPay, u32::MAX, None);
    expect("SIGHASH_SINGLE|ANYONECANPAY", &leaf, &[single], None);
    let at_checksig = fails(ScriptError::SchnorrSig, 33, 1);
    let mut tampered = good.clone();
    tampered[10] ^= 1;
    expect("tampered signature", &leaf, &[tampered], at_checksig);
    let other_key = signer.sign(1, &leaf, TapSighashType::Default, u32::MAX, None);
    expect("another key's signature", &leaf, &[other_key], at_checksig);
    let other_leaf = signer.sign(0, &leaf.clone().op(OP_NOP), TapSighashType::Default, u32::MAX, None);
    expect("signature for another leaf", &leaf, &[other_leaf], at_checksig);
    let mut wrong_type = good.clone();
    wrong_type.push(TapSighashType::None as u8);
    expect("signature with another hash type", &leaf, &[wrong_type], at_checksig);
    // An empty signature is a false result, not a failure.
    let empty = expect("empty signature", &leaf, &[vec![]], fails(ScriptError::EvalFalse, 34, 2));
    assert_eq!(empty.final_stack, vec![Vec::<u8>::new()]);
    let negated = leaf.clone().op(OP_NOT);
    expect("empty signature negated", &negated, &[vec![]], None);
    let verify = Script::new().data(&signer.pubkey(0)).op(OP_CHECKSIGVERIFY).op(OP_TRUE);
    let good_verify = signer.sign(0, &verify, TapSighashType::Default, u32::MAX, None);
    expect("CHECKSIGVERIFY", &verify, &[good_verify], None);
    expect("CHECKSIGVERIFY empty", &verify, &[vec![]], fails(ScriptError::CheckSigVerify, 33, 1));
    // Signatures commit to the last executed OP_CODESEPARATOR's opcode position.
    let separated =
        Script::new().op(OP_TRUE).op(OP_CODESEPARATOR).op(OP_DROP).data(&signer.pubkey(0)).op(OP_CHECKSIG);
    let at_1 = signer.sign(0, &separated, TapSighashType::Default, 1, None);
    expect("codeseparator at 1", &separated, &[at_1], None);
    let unseparated = signer.sign(0, &separated, TapSighashType::Default, u32::MAX, None);
    expect("codeseparator ignored", &separated, &[unseparated], fails(ScriptError::SchnorrSig, 36, 4));
    // An unexecuted OP_CODESEPARATOR does not count.
    let skipped = Script::new()
        .op(OP_FALSE)
        .op(OP_IF)
        .op(OP_CODESEPARATOR)
        .op(OP_ENDIF)
        .data(&signer.pubkey(0))
        .op(OP_CHECKSIG);
    let default = signer.sign(0, &skipped, TapSighashType::Default, u32::MAX, None);
    expect("unexecuted codeseparator", &skipped, &[default], None);
}

#[test]
fn checksigadd_counts_valid_signatures_of_a_multisig() {
    let signer = Signer::new(3);
    // 2-of-3: <pk0> CHECKSIG <pk1> CHECKSIGADD <pk2> CHECKSIGADD 2 NUMEQUAL, the
    // witness holding the signatures for pk2, pk1, pk0 (bottom first).
    let leaf = Script::new()
        .data(&signer.pubkey(0))
        .op(OP_CHECKSIG)
        .data(&signer.pubkey(1))
        .op(OP_CHECKSIGADD)
        .data(&signer.pubkey(2))
        .op(OP_CHECKSIGADD)
        .num(2)
        .op(OP_NUMEQUAL);
    let sig = |key| signer.sign(key, &leaf, TapSighashType::Default, u32::MAX, None);
    expect("keys 0 and 2", &leaf, &[sig(2), vec![], sig(0)], None);
    expect("keys 1 and 2", &leaf, &[sig(2), sig(1), vec![]], None);
    let three =
        expect("all three", &leaf, &[sig(2), sig(1), sig(0)], fails(ScriptError::EvalFalse, leaf.len(), 8));
    assert_eq!(three.final_stack, vec![Vec::<u8>::new()]);
    let counted = Script::from_bytes(leaf.as_bytes()[..leaf.len() - 2].to_vec());
    let counted_sig = |key| signer.sign(key, &counted, TapSighashType::Default, u32::MAX, None);
    let count = run(&counted, &[counted_sig(2), counted_sig(1), counted_sig(0)]);
    assert_eq!(count.final_stack, vec![vec![3]]);
    expect("only key 0", &leaf, &[vec![], vec![], sig(0)], fails(ScriptError::EvalFalse, leaf.len(), 8));
    let mut bad = sig(1);
    bad[0] ^= 1;
    expect(
        "a bad signature fails outright",
        &leaf,
        &[sig(2), bad, sig(0)],
        fails(ScriptError::SchnorrSig, 67, 3),
    );
}

#[test]
fn script_path_spends_are_diagnosed_from_the_witness() {
    let signer = Signer::new(1);
    let leaf = Script::new().data(&signer.pubkey(0)).op(OP_CHECKSIG);
    let spend = LeafSpend::new(&leaf, &[vec![]]).unwrap();
    let spent = std::slice::from_ref(&spend.spent);
    let witness: Vec<Vec<u8>> = spend.tx.input[0].witness.to_vec();
    let with_witness = |stack: &[Vec<u8>]| {
        let mut tx = spend.tx.clone();
        tx.input[0].witness = Witness::from_slice(stack);
        tx
    };
    let agree = |tx: &bitcoin::Transaction, expected: Option<ScriptError>| {
        let kernel = kernel_verify(tx, spent, 0).unwrap();
        let trace = diagnose_input(tx, 0, spent).expect("a tapscript spend");
        assert_eq!(trace.result.map_err(|failure| failure.error).err(), expected);
        assert_eq!(kernel.is_ok(), expected.is_none());
    };
    // A control block of the wrong size, or committing to another key.
    let mut short = witness.clone();
    short[2].pop();
    agree(&with_witness(&short), Some(ScriptError::TaprootWrongControlSize));
    let mut other = witness.clone();
    other[2][5] ^= 1;
    agree(&with_witness(&other), Some(ScriptError::WitnessProgramMismatch));
    let mut other_leaf = witness.clone();
    other_leaf[1].push(0x61);
    agree(&with_witness(&other_leaf), Some(ScriptError::WitnessProgramMismatch));
    // The annex is committed to by signatures.
    let annex = vec![0x50, 1, 2, 3];
    let signed = signer.sign(0, &leaf, TapSighashType::Default, u32::MAX, Some(&annex));
    agree(&with_witness(&[signed.clone(), witness[1].clone(), witness[2].clone(), annex.clone()]), None);
    agree(&with_witness(&[signed, witness[1].clone(), witness[2].clone()]), Some(ScriptError::SchnorrSig));
    let unsigned = signer.sign(0, &leaf, TapSighashType::Default, u32::MAX, None);
    agree(
        &with_witness(&[unsigned, witness[1].clone(), witness[2].clone(), annex]),
        Some(ScriptError::SchnorrSig),
    );
    // Not tapscript: a key-path spend, another leaf version, another output type.
    assert!(diagnose_input(&with_witness(&[vec![1; 64]]), 0, spent).is_none());
    let mut future = witness.clone();
    future[2][0] = 0xc2 | (future[2][0] & 1);
    assert!(diagnose_input(&with_witness(&future), 0, spent).is_none());
    let p2wsh = TxOut {
        value: spend.spent.value,
        script_pubkey: ScriptBuf::new_p2wsh(&leaf.to_script_buf().wscript_hash()),
    };
    assert!(diagnose_input(&spend.tx, 0, std::slice::from_ref(&p2wsh)).is_none());
    assert!(diagnose_input(&spend.tx, 1, spent).is_none());
    // Spent outputs that do not match the inputs: the signature hash cannot be made.
    let trace = run_tapscript(&spend.tx, 0, &[], leaf.as_bytes(), &[vec![1; 64]]);
    assert_eq!(trace.result.map_err(|failure| failure.error), Err(ScriptError::UnknownError));
}

#[test]
fn disagreements_are_reported_not_hidden() {
    let disagreement = ExecError::Disagreement {
        kernel: true,
        interpreter: "Invalid Schnorr signature (at byte 33, opcode 1)".to_owned(),
    };
    assert_eq!(
        disagreement.to_string(),
        "the kernel says valid but the interpreter says Invalid Schnorr signature (at byte 33, opcode 1)"
    );
}

/// Random leaves and witnesses, biased toward scripts that keep the stack balanced so
/// that many succeed.
struct Fuzzer {
    rng: ChaCha20Rng,
}

const STACK_OPS: [(Opcode, usize, isize); 20] = [
    (OP_DUP, 1, 1),
    (OP_DROP, 1, -1),
    (OP_SWAP, 2, 0),
    (OP_OVER, 2, 1),
    (OP_ROT, 3, 0),
    (OP_NIP, 2, -1),
    (OP_TUCK, 2, 1),
    (OP_2DUP, 2, 2),
    (OP_3DUP, 3, 3),
    (OP_2DROP, 2, -2),
    (OP_2OVER, 4, 2),
    (OP_2SWAP, 4, 0),
    (OP_2ROT, 6, 0),
    (OP_IFDUP, 1, 0),
    (OP_DEPTH, 0, 1),
    (OP_SIZE, 1, 1),
    (OP_PICK, 2, 0),
    (OP_ROLL, 2, -1),
    (OP_TOALTSTACK, 1, -1),
    (OP_FROMALTSTACK, 0, 1),
];

const NUMERIC_OPS: [(Opcode, usize, isize); 22] = [
    (OP_1ADD, 1, 0),
    (OP_1SUB, 1, 0),
    (OP_NEGATE, 1, 0),
    (OP_ABS, 1, 0),
    (OP_NOT, 1, 0),
    (OP_0NOTEQUAL, 1, 0),
    (OP_ADD, 2, -1),
    (OP_SUB, 2, -1),
    (OP_BOOLAND, 2, -1),
    (OP_BOOLOR, 2, -1),
    (OP_NUMEQUAL, 2, -1),
    (OP_NUMEQUALVERIFY, 2, -2),
    (OP_NUMNOTEQUAL, 2, -1),
    (OP_LESSTHAN, 2, -1),
    (OP_GREATERTHAN, 2, -1),
    (OP_LESSTHANOREQUAL, 2, -1),
    (OP_GREATERTHANOREQUAL, 2, -1),
    (OP_MIN, 2, -1),
    (OP_MAX, 2, -1),
    (OP_WITHIN, 3, -2),
    (OP_EQUAL, 2, -1),
    (OP_EQUALVERIFY, 2, -2),
];

const OTHER_OPS: [(Opcode, usize, isize); 14] = [
    (OP_VERIFY, 1, -1),
    (OP_RIPEMD160, 1, 0),
    (OP_SHA1, 1, 0),
    (OP_SHA256, 1, 0),
    (OP_HASH160, 1, 0),
    (OP_HASH256, 1, 0),
    (OP_CHECKSIG, 2, -1),
    (OP_CHECKSIGVERIFY, 2, -2),
    (OP_CHECKSIGADD, 3, -2),
    (OP_CLTV, 1, 0),
    (OP_CSV, 1, 0),
    (OP_NOP, 0, 0),
    (OP_CODESEPARATOR, 0, 0),
    (OP_RETURN, 0, 0),
];

impl Fuzzer {
    fn number(&mut self) -> Vec<u8> {
        let rng = &mut self.rng;
        match rng.gen_range(0..10) {
            0..=3 => encode_num(rng.gen_range(-2..=17)),
            4 => encode_num(
                [MAX_SCRIPT_NUM, -MAX_SCRIPT_NUM, 1 << 31, -(1 << 31), 1 << 32, 127, 128, -129]
                    [rng.gen_range(0..8)],
            ),
            5 => encode_num(rng.gen_range(-MAX_SCRIPT_NUM..=MAX_SCRIPT_NUM)),
            6 => [encode_num(rng.gen_range(0..100)), vec![0; rng.gen_range(1..3)]].concat(),
            7 => [vec![0x80], vec![0, 0x80], vec![0, 0, 0, 0x80], vec![1, 0, 0, 0, 0]][rng.gen_range(0..4)]
                .clone(),
            8 => (0..rng.gen_range(0..7)).map(|_| rng.gen()).collect(),
            _ => vec![rng.gen_range(0..3)],
        }
    }

    fn signature_or_key(&mut self) -> Vec<u8> {
        let len = [0usize, 0, 1, 32, 33, 64, 65][self.rng.gen_range(0..7)];
        (0..len).map(|_| self.rng.gen()).collect()
    }

    fn push(&mut self, leaf: Script) -> Script {
        if self.rng.gen_bool(0.1) {
            leaf.data(&self.signature_or_key())
        } else {
            leaf.data(&self.number())
        }
    }

    /// A body of about `ops` opcodes; `depth` tracks the expected main stack depth.
    fn body(&mut self, mut leaf: Script, ops: usize, depth: &mut usize, nesting: usize) -> Script {
        for _ in 0..ops {
            let roll = self.rng.gen_range(0..1000);
            let pick = |table: &[(Opcode, usize, isize)], rng: &mut ChaCha20Rng, depth: usize| {
                let fits: Vec<_> = table.iter().filter(|(_, need, _)| *need <= depth).collect();
                if fits.is_empty() || rng.gen_bool(0.03) {
                    table[rng.gen_range(0..table.len())]
                } else {
                    *fits[rng.gen_range(0..fits.len())]
                }
            };
            let (op, effect) = match roll {
                0..=359 => {
                    leaf = self.push(leaf);
                    *depth += 1;
                    continue;
                }
                360..=619 => {
                    let (op, _, effect) = pick(&STACK_OPS, &mut self.rng, *depth);
                    if matches!(op, OP_PICK | OP_ROLL) && *depth >= 1 {
                        // An index that mostly lands inside the stack.
                        leaf = leaf.num(self.rng.gen_range(0..*depth as i64 + 1));
                        *depth += 1;
                    }
                    (op, effect)
                }
                620..=829 => {
                    let (op, _, effect) = pick(&NUMERIC_OPS, &mut self.rng, *depth);
                    (op, effect)
                }
                830..=929 if nesting < 3 => {
                    // OP_IF / OP_NOTIF on a mostly minimal condition.
                    let condition = [vec![], vec![1], vec![1], vec![], vec![1], vec![], vec![2], vec![1, 0]]
                        [self.rng.gen_range(0..16) % 8]
                        .clone();
                    leaf = leaf.data(&condition).op(if self.rng.gen_bool(0.5) { OP_IF } else { OP_NOTIF });
                    let start = *depth;
                    let length = self.rng.gen_range(0..5);
                    leaf = self.body(leaf, length, depth, nesting + 1);
                    if self.rng.gen_bool(0.5) {
                        leaf = leaf.op(OP_ELSE);
                        let mut other = start;
                        let length = self.rng.gen_range(0..5);
                        leaf = self.body(leaf, length, &mut other, nesting + 1);
                    }
                    if self.rng.gen_bool(0.97) {
                        leaf = leaf.op(OP_ENDIF);
                    }
                    continue;
                }
                930..=979 => {
                    let (op, _, effect) = pick(&OTHER_OPS, &mut self.rng, *depth);
                    if matches!(op, OP_CHECKSIG | OP_CHECKSIGVERIFY | OP_CHECKSIGADD)
                        && self.rng.gen_bool(0.5)
                    {
                        // A signature-shaped signature and a 32-byte key.
                        let len = [0usize, 64, 64, 65][self.rng.gen_range(0..4)];
                        leaf = leaf.data(&(0..len).map(|_| self.rng.gen()).collect::<Vec<u8>>());
                        if op == OP_CHECKSIGADD {
                            leaf = leaf.num(self.rng.gen_range(0..3));
                            *depth += 1;
                        }
                        leaf = leaf.data(&(0..32).map(|_| self.rng.gen()).collect::<Vec<u8>>());
                        *depth += 2;
                    }
                    (op, effect)
                }
                980..=984 => (Opcode::from(self.rng.gen_range(187..=254u8)), 0),
                985..=987 => (Opcode::from([80u8, 98, 126, 149][self.rng.gen_range(0..4)]), 0),
                988..=990 => (Opcode::from([0x65u8, 0x66, 0xff, 0xae, 0xaf][self.rng.gen_range(0..5)]), 0),
                991..=993 => {
                    leaf = leaf.data(&vec![7; self.rng.gen_range(519..=521)]);
                    *depth += 1;
                    continue;
                }
                994..=996 => (OP_ELSE, 0),
                997..=999 => (OP_ENDIF, 0),
                _ => {
                    leaf = self.push(leaf);
                    *depth += 1;
                    continue;
                }
            };
            leaf = leaf.op(op);
            *depth = depth.saturating_add_signed(effect);
        }
        leaf
    }

    fn case(&mut self) -> (Script, Vec<Vec<u8>>) {
        let mut witness: Vec<Vec<u8>> = (0..self.rng.gen_range(0..5)).map(|_| self.number()).collect();
        let mut leaf = Script::new();
        let roll = self.rng.gen_range(0..100);
        if roll < 3 {
            // Near the 1000-element limit: a big witness, or pushes.
            witness = empties(self.rng.gen_range(995..=1001));
        } else if roll < 6 {
            let dups = self.rng.gen_range(990..=1002);
            leaf = leaf.op(OP_TRUE).ops(OP_DUP, dups);
            if self.rng.gen_bool(0.5) {
                leaf = leaf.op(OP_TOALTSTACK).op(OP_TRUE);
            }
            leaf = leaf.ops(OP_DROP, dups);
        }
        let mut depth = witness.len();
        let ops = self.rng.gen_range(1..=24);
        leaf = self.body(leaf, ops, &mut depth, 0);
        if self.rng.gen_bool(0.85) {
            // Bring the stack to one element, mostly true.
            leaf = leaf.ops(OP_NIP, depth.saturating_sub(1).min(1000));
            if depth == 0 || self.rng.gen_bool(0.4) {
                leaf = leaf.op(OP_DROP).op(OP_TRUE);
            }
        }
        if self.rng.gen_bool(0.02) {
            // A push running past the end.
            leaf = leaf.then(raw(&[0x4d, 0x10]));
        }
        (leaf, witness)
    }
}

#[test]
fn random_leaves_get_the_kernels_verdict() {
    let mut fuzzer = Fuzzer { rng: ChaCha20Rng::seed_from_u64(0xf022_2025) };
    let cases = 20_000;
    let mut succeeded = 0;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for case in 0..cases {
        let (leaf, witness) = fuzzer.case();
        let run = execute(&leaf, &witness)
            .unwrap_or_else(|error| panic!("case {case}: {leaf:?} on {witness:x?}: {error}"));
        match run.error {
            None => succeeded += 1,
            Some(failure) => *errors.entry(format!("{:?}", failure.error)).or_default() += 1,
        }
    }
    let failed = cases - succeeded;
    println!("{cases} random leaves: {succeeded} succeeded, {failed} failed: {errors:#?}");
    assert!(succeeded > cases / 5 && failed > cases / 5, "{succeeded} succeeded of {cases}");
    for error in [
        "EvalFalse",
        "CleanStack",
        "InvalidStackOperation",
        "InvalidAltstackOperation",
        "ScriptNum",
        "EqualVerify",
        "NumEqualVerify",
        "Verify",
        "TapscriptMinimalIf",
        "UnbalancedConditional",
        "StackSize",
        "PushSize",
        "BadOpcode",
        "OpReturn",
        "SchnorrSig",
        "SchnorrSigSize",
        "TapscriptEmptyPubkey",
        "TapscriptCheckMultisig",
        "UnsatisfiedLocktime",
        "NegativeLocktime",
    ] {
        assert!(errors.contains_key(error), "the fuzz never met {error}: {errors:?}");
    }
}

#[test]
fn large_leaves_run_in_linear_time() {
    // 300,000 opcodes over 1000 stack elements, with hashing and deep picks: the
    // interpreter keeps up with the kernel.
    let unit = Script::new().num(998).op(OP_PICK).op(OP_SHA256).op(OP_DROP).op(OP_DUP).op(OP_DROP);
    let leaf = Script::new().ops(OP_TRUE, 999).repeat(&unit, 50_000).ops(OP_2DROP, 499);
    let start = std::time::Instant::now();
    let run = run(&leaf, &[]);
    println!("{} bytes, {} opcodes: {:?}", leaf.len(), run.opcodes_executed, start.elapsed());
    assert!(run.success);
    assert_eq!((run.peak_stack, run.opcodes_executed), (1000, 999 + 6 * 50_000 + 499));
}
