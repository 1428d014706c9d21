//! A real stage-3 chain proof to wrap: a capacity-2 block circuit family, one block
//! with a deposit and a transfer, batch 0.

use rollup_circuits::batch::{BatchCircuits, ChainProof};
use rollup_circuits::block::{execute_block, BlockCircuit, BlockParameters, Chains};
use rollup_circuits::ProofSystem;
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, tx_commitment, Account, AccountTree, Block, BlockHeader, Deposit, Digest, L1Outpoint,
    L2Tx, MemoryAccounts, MemoryTreeStore, SignedTx, State, StfParams, Transfer, UserTx, LAST_BLOCK_NUMBER,
};

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };

/// The family and batch 0's chain proof.
pub(crate) struct Chain {
    pub(crate) circuits: BatchCircuits,
    pub(crate) proof: ChainProof,
}

fn key(index: u32) -> SecretKey {
    SecretKey::from_seed(&[index as u8, 7])
}

/// Builds the family and proves batch 0 (one block).
pub(crate) fn batch_zero() -> Chain {
    let block_circuit =
        BlockCircuit::setup(BlockParameters { capacity: 2, stf: PARAMS }).expect("block circuit");
    let circuits = BatchCircuits::build(&[&block_circuit]).expect("batch circuits");
    let registry = circuits.registry(1, LAST_BLOCK_NUMBER).expect("registry");

    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    for index in 1..=3 {
        state.put_account(index, Account { pubkey: pubkey_of(&key(index)), balance: 1_000_000, nonce: 0 });
    }
    let genesis_root = state.root();
    let transfer = UserTx::Transfer(Transfer {
        from: 2,
        to: 3,
        to_pubkey: pubkey_of(&key(3)),
        amount: 100,
        fee: 3,
        nonce: 1,
    });
    let signature = sign(&key(2), &transfer.signing_message(PARAMS.chain_id));
    let txs = vec![
        L2Tx::Deposit(Deposit {
            l1_outpoint: L1Outpoint { txid: [9; 32], vout: 0 },
            amount: 500,
            to: 3,
            to_pubkey: pubkey_of(&key(3)),
        }),
        L2Tx::User(SignedTx { tx: transfer, signature }),
    ];
    let mut sealed = state.clone();
    let packed = sealed.apply_block(&PARAMS, &txs).expect("valid transactions");
    let header = BlockHeader {
        number: 1,
        prev_state_root: genesis_root,
        state_root: sealed.root(),
        tx_commitment: tx_commitment(&packed),
        l1_cursor_before: 0,
        l1_cursor_after: 1,
        ..Default::default()
    };
    let block = Block { header, txs };
    let mut chains = Chains::default();
    let witness = execute_block(&mut state, &PARAMS, &block, &mut chains).expect("witness");
    let block_proof = block_circuit.prove(&witness).expect("block proof");
    let leaf = circuits.prove_leaf(&block_circuit, &block_proof, &Digest::ZERO).expect("leaf");
    let root = circuits.aggregate(vec![leaf], |_, _, _| {}).expect("aggregation");
    let proof = circuits.prove_recursion(None, &root, &genesis_root, &registry).expect("chain proof");
    let statement = proof.statement().expect("statement");
    circuits.verify_chain(&statement, &proof).expect("the chain proof verifies");
    Chain { circuits, proof }
}
