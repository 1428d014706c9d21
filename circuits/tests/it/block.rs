//! The block circuit against the native STF: random blocks prove and verify with the
//! native roots, and every tampering is rejected.

use std::sync::OnceLock;

use plonky2::field::types::Field;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rollup_circuits::block::WitnessError;
use rollup_circuits::block::{
    execute_block, BlockCircuit, BlockParameters, BlockStatement, BlockWitness, Chains,
};
use rollup_circuits::{ProofSystem, ProofSystemError};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    chain_l1_message, chain_withdrawal, pubkey_of, sign, tx_commitment, Account, AccountTree, Block,
    BlockHeader, Deposit, Digest, L1Outpoint, L2Tx, MemoryAccounts, MemoryTreeStore, PubKey, SignedTx, State,
    StfParams, Transfer, UserTx, Withdraw,
};
use rollup_l2::{PackedTx, TxError, WithdrawalRecord};

type TestState = State<MemoryAccounts, MemoryTreeStore>;

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };
const CAPACITY: usize = 4;

/// One circuit for the whole test binary (building it is the slow part).
fn circuit() -> &'static BlockCircuit {
    static CIRCUIT: OnceLock<BlockCircuit> = OnceLock::new();
    CIRCUIT.get_or_init(|| {
        BlockCircuit::setup(BlockParameters { capacity: CAPACITY, stf: PARAMS })
            .expect("the block circuit builds")
    })
}

fn key(index: u32) -> SecretKey {
    SecretKey::from_seed(&index.to_le_bytes())
}

fn pubkey(index: u32) -> PubKey {
    pubkey_of(&key(index))
}

/// Fee account 1 and users 2..=5, each with 1,000,000 sat.
fn genesis() -> TestState {
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    for index in 1..=5 {
        state.put_account(index, Account { pubkey: pubkey(index), balance: 1_000_000, nonce: 0 });
    }
    state
}

fn transfer(from: u32, to: u32, to_key: u32, amount: u64, fee: u64, nonce: u32) -> SignedTx {
    let tx = UserTx::Transfer(Transfer { from, to, to_pubkey: pubkey(to_key), amount, fee, nonce });
    let signature = sign(&key(from), &tx.signing_message(PARAMS.chain_id));
    SignedTx { tx, signature }
}

fn withdraw(from: u32, amount: u64, fee: u64, nonce: u32, script: &[u8]) -> SignedTx {
    let tx = UserTx::Withdraw(Withdraw { from, amount, fee, nonce, l1_script: script.to_vec() });
    let signature = sign(&key(from), &tx.signing_message(PARAMS.chain_id));
    SignedTx { tx, signature }
}

fn deposit(to: u32, to_key: u32, amount: u64, vout: u32) -> L2Tx {
    L2Tx::Deposit(Deposit {
        l1_outpoint: L1Outpoint { txid: [vout as u8; 32], vout },
        amount,
        to,
        to_pubkey: pubkey(to_key),
    })
}

/// What the sequencer does: applies the transactions with the native STF (user
/// transactions must succeed) and seals the header.
fn seal(state: &mut TestState, number: u64, cursor: u64, txs: Vec<L2Tx>) -> Block {
    let prev_state_root = state.root();
    let packed = state.apply_block(&PARAMS, &txs).expect("user transactions of test blocks are valid");
    let intrinsic = txs.iter().filter(|tx| tx.is_intrinsic()).count() as u64;
    let header = BlockHeader {
        number,
        prev_state_root,
        state_root: state.root(),
        tx_commitment: tx_commitment(&packed),
        l1_cursor_before: cursor,
        l1_cursor_after: cursor + intrinsic,
        ..Default::default()
    };
    Block { header, txs }
}

/// Seals `txs` on a copy of `state` and makes the prover's witness from another.
fn witness_for(state: &TestState, txs: Vec<L2Tx>) -> (Block, BlockWitness) {
    let mut sequencer = state.clone();
    let block = seal(&mut sequencer, 1, 0, txs);
    let mut prover = state.clone();
    let witness = execute_block(&mut prover, &PARAMS, &block, &mut Chains::default()).expect("the witness");
    assert_eq!(prover.root(), sequencer.root());
    (block, witness)
}

fn prove_and_verify(witness: &BlockWitness) -> Result<(), ProofSystemError> {
    let proof = circuit().prove(witness)?;
    circuit().verify(&witness.statement, &proof)
}

/// The statement the native STF gives for `block` from `state` (chains from zero).
fn native_statement(state: &TestState, block: &Block) -> BlockStatement {
    let mut native = state.clone();
    let mut l1 = Digest::ZERO;
    let mut withdrawals = Digest::ZERO;
    let mut packed = Vec::new();
    for tx in &block.txs {
        packed.extend(native.pack(tx));
        if tx.is_intrinsic() {
            l1 = chain_l1_message(&l1, tx);
        }
        let (_, withdrawal) = native.apply_tx(&PARAMS, tx).expect("a valid block");
        if let Some(record) = withdrawal {
            withdrawals = chain_withdrawal(&withdrawals, &record);
        }
    }
    BlockStatement {
        number: block.header.number,
        prev_state_root: state.root(),
        state_root: native.root(),
        tx_commitment: tx_commitment(&packed),
        l1_cursor_before: block.header.l1_cursor_before,
        l1_cursor_after: block.header.l1_cursor_before
            + block.txs.iter().filter(|tx| tx.is_intrinsic()).count() as u64,
        l1_chain_before: Digest::ZERO,
        l1_chain_after: l1,
        withdrawal_chain_before: Digest::ZERO,
        withdrawal_chain_after: withdrawals,
    }
}

fn rejected(result: Result<(), ProofSystemError>) -> String {
    match result {
        Err(ProofSystemError::Prove(reason)) => reason,
        other => panic!("expected the prover to fail, got {other:?}"),
    }
}

/// A transaction the native STF refuses, proven as a forced no-op, then relabelled a
/// user transaction: the same slot, the same reads, only the kind differs.
fn forced_then_user(state: &TestState, bad: SignedTx, expected: TxError) {
    assert_eq!(state.check_user(&PARAMS, &bad), Err(expected));
    let txs = vec![L2Tx::Forced(bad.clone()), L2Tx::User(transfer(3, 4, 4, 10, 1, 1))];
    let (block, witness) = witness_for(state, txs);
    assert_eq!(witness.statement, native_statement(state, &block));
    prove_and_verify(&witness).expect("an invalid forced transaction is a provable no-op");
    let mut tampered = witness.clone();
    tampered.slots[0].tx = Some(L2Tx::User(bad));
    rejected(prove_and_verify(&tampered));
}

#[test]
fn random_blocks_prove_with_the_native_roots() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut state = genesis();
    let mut nonces = [0u32; 6];
    let mut chains = Chains::default();
    let mut cursor = 0;
    for number in 1..=3u64 {
        let mut txs = Vec::new();
        let deposits = rng.gen_range(0..=1);
        for _ in 0..deposits {
            let to = rng.gen_range(2..=7);
            txs.push(deposit(to, to, rng.gen_range(0..50_000), cursor as u32));
        }
        while txs.len() < CAPACITY - usize::from(number == 3) {
            let from = rng.gen_range(2..=5u32);
            nonces[from as usize] += 1;
            let nonce = nonces[from as usize];
            let tx = match rng.gen_range(0..4) {
                0 => withdraw(
                    from,
                    rng.gen_range(1..1_000),
                    rng.gen_range(0..3),
                    nonce,
                    &[0x51, 0x20, from as u8],
                ),
                1 => transfer(from, 1, 1, rng.gen_range(1..1_000), 0, nonce),
                2 => transfer(from, from, from, rng.gen_range(1..1_000), rng.gen_range(0..3), nonce),
                _ => {
                    let to = rng.gen_range(2..=9u32);
                    transfer(from, to, to, rng.gen_range(1..5_000), rng.gen_range(0..5), nonce)
                }
            };
            txs.push(L2Tx::User(tx));
        }
        let expected_prev = state.root();
        let mut sequencer = state.clone();
        let block = seal(&mut sequencer, number, cursor, txs);
        let mut expected = native_statement(&state, &block);
        expected.l1_chain_before = chains.l1_messages;
        expected.withdrawal_chain_before = chains.withdrawals;
        let witness = execute_block(&mut state, &PARAMS, &block, &mut chains).expect("the witness");
        expected.l1_chain_after = chains.l1_messages;
        expected.withdrawal_chain_after = chains.withdrawals;
        let proof = circuit().prove(&witness).expect("a random block proves");
        let proven = proof.statement().expect("statement");
        assert_eq!(proven.prev_state_root, expected_prev);
        assert_eq!(proven.state_root, sequencer.root());
        assert_eq!(proven.tx_commitment, block.header.tx_commitment);
        assert_eq!(proven.l1_chain_before, expected.l1_chain_before);
        circuit().verify(&expected, &proof).expect("verifies against the native statement");
        cursor = block.header.l1_cursor_after;
    }
}

#[test]
fn a_user_transaction_with_a_wrong_signature_is_rejected() {
    let state = genesis();
    let mut bad = transfer(2, 3, 3, 100, 1, 1);
    bad.signature = transfer(2, 3, 3, 101, 1, 1).signature;
    forced_then_user(&state, bad, TxError::BadSignature);
}

#[test]
fn a_user_overdraft_is_rejected() {
    let state = genesis();
    forced_then_user(
        &state,
        transfer(2, 3, 3, 1_000_000, 1, 1),
        TxError::InsufficientBalance { balance: 1_000_000, needed: 1_000_001 },
    );
}

#[test]
fn a_user_transaction_with_a_wrong_nonce_is_rejected() {
    let state = genesis();
    forced_then_user(&state, transfer(2, 3, 3, 10, 1, 2), TxError::BadNonce { expected: 1, got: 2 });
}

#[test]
fn a_changed_amount_is_rejected() {
    let state = genesis();
    let (_, witness) = witness_for(&state, vec![L2Tx::User(transfer(2, 3, 3, 100, 1, 1))]);
    prove_and_verify(&witness).expect("the untouched block proves");
    let mut tampered = witness.clone();
    let Some(L2Tx::User(SignedTx { tx: UserTx::Transfer(inner), .. })) = &mut tampered.slots[0].tx else {
        panic!("a transfer")
    };
    inner.amount = 99;
    rejected(prove_and_verify(&tampered));
}

#[test]
fn skipped_or_reordered_l1_messages_change_the_l1_chain() {
    let state = genesis();
    let (first, second) = (deposit(7, 7, 500, 0), deposit(8, 8, 600, 1));
    let (block, witness) = witness_for(&state, vec![first.clone(), second.clone()]);
    let expected = native_statement(&state, &block);
    assert_eq!(expected.l1_chain_after, chain_l1_message(&chain_l1_message(&Digest::ZERO, &first), &second));
    prove_and_verify(&witness).expect("in order, both");
    for txs in [vec![second.clone(), first.clone()], vec![second.clone()]] {
        let (_, other) = witness_for(&state, txs);
        let proof = circuit().prove(&other).expect("another block proves");
        assert_ne!(proof.statement().expect("statement").l1_chain_after, expected.l1_chain_after);
        assert!(matches!(
            circuit().verify(&expected, &proof),
            Err(ProofSystemError::StatementMismatch { .. })
        ));
    }
}

#[test]
fn an_l1_message_after_a_user_transaction_is_rejected() {
    let state = genesis();
    // A deposit that is a no-op (wrong key for account 2) leaves the reads unchanged
    // whatever its position, so only the order differs.
    let noop = deposit(2, 3, 5, 0);
    let user = L2Tx::User(transfer(4, 5, 5, 10, 1, 1));
    let (block, witness) = witness_for(&state, vec![noop.clone(), user.clone()]);
    assert_eq!(witness.statement, native_statement(&state, &block));
    prove_and_verify(&witness).expect("in order");
    let mut tampered = witness.clone();
    tampered.slots.swap(0, 1);
    rejected(prove_and_verify(&tampered));
    let mut sequencer = state.clone();
    let late = seal(&mut sequencer, 1, 0, vec![user, noop]);
    assert_eq!(
        execute_block(&mut state.clone(), &PARAMS, &late, &mut Chains::default()),
        Err(WitnessError::IntrinsicAfterUser { number: 1, position: 1 })
    );
}

#[test]
fn a_wrong_post_state_root_is_rejected() {
    let state = genesis();
    let (block, witness) = witness_for(&state, vec![L2Tx::User(transfer(2, 3, 3, 100, 1, 1))]);
    let proof = circuit().prove(&witness).expect("proves");
    let wrong = BlockStatement { state_root: block.header.prev_state_root, ..witness.statement };
    assert!(matches!(
        circuit().verify(&wrong, &proof),
        Err(ProofSystemError::StatementMismatch { field: "state_root", .. })
    ));
    let mut forged = proof.clone();
    forged.proof.public_inputs[5] += rollup_l2::F::ONE;
    assert!(matches!(circuit().verify(&witness.statement, &forged), Err(ProofSystemError::Verify(_))));
    // The witness generator refuses a header whose root re-execution does not reach.
    let mut lying = block.clone();
    lying.header.state_root = Digest([1, 2, 3, 4]);
    assert_eq!(
        execute_block(&mut state.clone(), &PARAMS, &lying, &mut Chains::default()),
        Err(WitnessError::WrongPostState {
            number: 1,
            claimed: Digest([1, 2, 3, 4]),
            actual: block.header.state_root
        })
    );
}

#[test]
fn a_dropped_withdrawal_is_rejected() {
    let state = genesis();
    let script = [0x00, 0x14, 9, 9, 9];
    let withdrawal = withdraw(2, 700, 1, 1, &script);
    let (block, witness) = witness_for(&state, vec![L2Tx::User(withdrawal)]);
    let expected = native_statement(&state, &block);
    assert_eq!(
        expected.withdrawal_chain_after,
        chain_withdrawal(&Digest::ZERO, &WithdrawalRecord { l1_script: script.to_vec(), amount: 700 })
    );
    let proof = circuit().prove(&witness).expect("proves");
    circuit().verify(&expected, &proof).expect("with the withdrawal");
    let dropped = BlockStatement { withdrawal_chain_after: Digest::ZERO, ..expected };
    assert!(matches!(
        circuit().verify(&dropped, &proof),
        Err(ProofSystemError::StatementMismatch { field: "withdrawal_chain_after", .. })
    ));
}

#[test]
fn deposits_prove_with_the_native_roots() {
    let state = genesis();
    let txs = vec![deposit(9, 9, 5_000, 0), deposit(2, 2, 7, 1), deposit(3, 4, 1, 2)];
    let (block, witness) = witness_for(&state, txs);
    let proof = circuit().prove(&witness).expect("proves");
    let statement = proof.statement().expect("statement");
    assert_eq!(statement.state_root, block.header.state_root);
    assert_eq!(statement.prev_state_root, block.header.prev_state_root);
    assert_eq!(statement.tx_commitment, block.header.tx_commitment);
    assert_eq!(statement.l1_cursor_after, 3);
    circuit().verify(&witness.statement, &proof).expect("verifies");
}

#[test]
fn an_empty_block_proves() {
    let (_, witness) = witness_for(&genesis(), Vec::new());
    prove_and_verify(&witness).expect("an empty block proves");
}

#[test]
fn the_tx_commitment_packs_user_transactions_with_keys_only_of_created_accounts() {
    let state = genesis();
    let txs = vec![
        deposit(8, 8, 5_000, 0),
        L2Tx::User(transfer(2, 3, 3, 100, 1, 1)),
        L2Tx::User(transfer(2, 9, 9, 200, 2, 2)),
        L2Tx::User(withdraw(3, 50, 0, 1, &[0x51, 0x20])),
    ];
    let (block, witness) = witness_for(&state, txs);
    let proof = circuit().prove(&witness).expect("proves");
    // Written out: the deposit is not packed (the L1 message chain has it); the
    // transfer to existing account 3 carries no key, the one creating 9 carries 9's.
    let packed = [
        PackedTx::Transfer { from: 2, to: 3, amount: 100, fee: 1, new_pubkey: None },
        PackedTx::Transfer { from: 2, to: 9, amount: 200, fee: 2, new_pubkey: Some(pubkey(9)) },
        PackedTx::Withdraw { from: 3, amount: 50, fee: 0, l1_script: vec![0x51, 0x20] },
    ];
    let expected = tx_commitment(&packed);
    assert_eq!(block.header.tx_commitment, expected);
    assert_eq!(proof.statement().expect("statement").tx_commitment, expected);
    circuit().verify(&witness.statement, &proof).expect("verifies");
    // Every other packing is another statement, refused.
    let mut with_key = packed.clone();
    with_key[0] = PackedTx::Transfer { from: 2, to: 3, amount: 100, fee: 1, new_pubkey: Some(pubkey(3)) };
    let mut without_key = packed.clone();
    without_key[1] = PackedTx::Transfer { from: 2, to: 9, amount: 200, fee: 2, new_pubkey: None };
    for other in [tx_commitment(&with_key), tx_commitment(&without_key), tx_commitment(&packed[..2])] {
        let wrong = BlockStatement { tx_commitment: other, ..witness.statement };
        assert!(matches!(
            circuit().verify(&wrong, &proof),
            Err(ProofSystemError::StatementMismatch { field: "tx_commitment", .. })
        ));
    }
}
