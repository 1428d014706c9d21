//! The block circuit against the native STF: random blocks prove and verify with the
//! native roots, and every tampering is rejected.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rollup_circuits::block::{
    execute_block, BlockCircuit, BlockParameters, BlockStatement, BlockWitness, Chains,
};
use rollup_circuits::{ProofSystem, ProofSystemError};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    chain_tx, pubkey_of, sign, Account, AccountIndex, AccountTree, Block, BlockHeader, Deposit, Digest,
    L1Outpoint, L2Tx, MemoryAccounts, MemoryTreeStore, PubKey, SignedTx, State, StfParams, Transfer, UserTx,
    Withdraw,
};

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
    for tx in &txs {
        let (receipt, _) = state.apply_tx(&PARAMS, tx).expect("user transactions of test blocks are valid");
        let _ = receipt;
    }
    let intrinsic = txs.iter().filter(|tx| tx.is_intrinsic()).count() as u64;
    let header = BlockHeader {
        number,
        prev_state_root,
        state_root: state.root(),
        tx_commitment: txs.iter().fold(Digest::ZERO, |link, tx| chain_tx(&link, tx)),
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
