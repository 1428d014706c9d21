//! The prover role on a running node: a block the sequencer seals is proven, the
//! proof is served by `rollup_getBlockProof`, and it verifies here, independently,
//! against the statement made from the block the sequencer serves; closed batches
//! are aggregated and chained from genesis, and their chain proofs verify here too.
//!
//! The nodes run a genesis with one block capacity (8): building the circuits of
//! every default capacity would cost each process start a minute.

use std::time::{Duration, Instant};

use rollup_circuits::batch::{BatchCircuits, ChainStatement};
use rollup_circuits::block::{BlockCircuit, BlockParameters, BlockProof, BlockStatement};
use rollup_circuits::ProofSystem;
use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    chain_batch_tx, pubkey_of, sign, AccountTree, BatchRules, Block, Digest, Encode, Genesis, MemoryAccounts,
    MemoryTreeStore, SignedTx, State, Transfer, UserTx, DEVNET_USER_SEED, LAST_BLOCK_NUMBER,
};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;

/// The development genesis with block circuits of capacity 8 only and batches of
/// two blocks, written into `dir`; returns the config naming it.
fn one_capacity_genesis(dir: &std::path::Path) -> (Genesis, String) {
    let mut genesis = Genesis::devnet(CHAIN_ID);
    genesis.block_capacities = vec![8];
    genesis.batch = BatchRules { max_blocks: 2, max_blob_bytes: 390_000, max_age_ms: 3_600_000 };
    let path = dir.join("genesis.json");
    std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    (genesis, format!("[node]\ngenesis = {:?}\n", path.to_str().unwrap()))
}

#[test]
fn a_sealed_block_is_proven_by_the_prover_role_and_the_proof_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (_, genesis) = one_capacity_genesis(dir.path());
    let node = NodeProcess::start(
        NodeOptions::profile("operator")
            .config(&format!("{genesis}[sequencer]\nblock_time_ms = 50\nmax_block_txs = 8\n")),
    );
    node.wait_ready();
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let tx = UserTx::Transfer(Transfer {
        from: 2,
        to: 40,
        to_pubkey: pubkey_of(&SecretKey::from_seed(b"prover test")),
        amount: 12_345,
        fee: 5,
        nonce: 1,
    });
    let signature = sign(&user, &tx.signing_message(CHAIN_ID));
    let hex = rollup_l2::hex::encode(&SignedTx { tx, signature }.encode());
    let sent = node.rpc("rollup_sendTransaction", json!([hex]));
    assert!(sent["result"].is_string(), "{sent}");

    // Block 1 holds the transfer; wait for its proof (the first one builds the circuit).
    let deadline = Instant::now() + Duration::from_secs(600);
    let record = loop {
        let record = node.rpc_ok("rollup_getBlockProof", json!([1]));
        if !record.is_null() {
            break record;
        }
        assert!(Instant::now() < deadline, "block 1 was not proven\n{}", node.log());
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(node.rpc_ok("rollup_getBlockProof", json!([2])), Value::Null);
    let block: Block =
        serde_json::from_value(node.rpc_ok("rollup_getBlockByNumber", json!([1]))).expect("block 1");
    assert_eq!(block.txs.len(), 1);
    assert_eq!(record["capacity"], json!(8));

    // The statement a verifier expects, made from the block alone.
    let header = &block.header;
    let expected = BlockStatement {
        number: 1,
        prev_state_root: header.prev_state_root,
        state_root: header.state_root,
        tx_commitment: header.tx_commitment,
        l1_cursor_before: 0,
        l1_cursor_after: 0,
        ..BlockStatement::default()
    };
    let served: BlockStatement = serde_json::from_value(record["statement"].clone()).expect("statement");
    assert_eq!(served, expected);
    let genesis = Genesis::devnet(CHAIN_ID);
    let circuit =
        BlockCircuit::setup(BlockParameters { capacity: 8, stf: genesis.params() }).expect("circuit");
    let bytes = rollup_l2::hex::decode(record["proof"].as_str().expect("proof hex")).expect("hex");
    let proof: BlockProof = circuit.decode_proof(&bytes).expect("the proof decodes");
    circuit.verify(&expected, &proof).expect("the served proof verifies");
    // And it proves nothing else.
    let other = BlockStatement { state_root: header.prev_state_root, ..expected };
    assert!(matches!(
        circuit.verify(&other, &proof),
        Err(rollup_circuits::ProofSystemError::StatementMismatch { field: "state_root", .. })
    ));
    assert_eq!(node.metric("rollup_block_proofs_total"), Some(1.0));
}

fn send_transfer(node: &NodeProcess, nonce: u32) {
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let tx = UserTx::Transfer(Transfer {
        from: 2,
        to: 41,
        to_pubkey: pubkey_of(&SecretKey::from_seed(b"resume test")),
        amount: 1_000,
        fee: 1,
        nonce,
    });
    let signature = sign(&user, &tx.signing_message(CHAIN_ID));
    let sent = node
        .rpc("rollup_sendTransaction", json!([rollup_l2::hex::encode(&SignedTx { tx, signature }.encode())]));
    assert!(sent["result"].is_string(), "{sent}");
}

fn wait_for(node: &NodeProcess, method: &str, number: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let value = node.rpc_ok(method, json!([number]));
        if !value.is_null() {
            return value;
        }
        assert!(Instant::now() < deadline, "no {method} for {number}\n{}", node.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_prover_killed_mid_proof_resumes_at_the_first_unproven_block() {
    let dir = tempfile::tempdir().unwrap();
    let (_, genesis) = one_capacity_genesis(dir.path());
    let config =
        format!("{genesis}[roles]\nsequencer = true\nprover = true\n[sequencer]\nblock_time_ms = 20\nmax_block_txs = 8\n");
    let config = config.as_str();
    let mut first = NodeProcess::start(NodeOptions::default().config(config));
    first.wait_ready();
    send_transfer(&first, 1);
    wait_for(&first, "rollup_getBlockProof", 1);
    // Kill -9 as soon as block 2 is sealed: its proof is in flight.
    send_transfer(&first, 2);
    wait_for(&first, "rollup_getBlockByNumber", 2);
    assert_eq!(first.rpc_ok("rollup_getBlockProof", json!([2])), Value::Null);
    first.kill();
    let data_dir = first.data_dir().to_owned();
    let node = NodeProcess::start(NodeOptions::default().config(config).data_dir(&data_dir));
    node.wait_ready();
    let record = wait_for(&node, "rollup_getBlockProof", 2);
    assert_eq!(record["number"], json!(2));
    // Block 1 was not proven again: this process made exactly one proof.
    assert_eq!(node.metric("rollup_block_proofs_total"), Some(1.0), "{}", node.log());
    let block: Block =
        serde_json::from_value(node.rpc_ok("rollup_getBlockByNumber", json!([2]))).expect("block 2");
    let served: BlockStatement = serde_json::from_value(record["statement"].clone()).expect("statement");
    assert_eq!(
        (served.prev_state_root, served.state_root),
        (block.header.prev_state_root, block.header.state_root)
    );
    assert_eq!(node.rpc_ok("rollup_getBlockProof", json!([1]))["number"], json!(1));
}

/// Sends a transfer and waits until a block includes it.
fn transfer_in_a_block(node: &NodeProcess, nonce: u32) {
    send_transfer(node, nonce);
    wait_for(node, "rollup_getBlockByNumber", u64::from(nonce));
}

/// The chain statement of batch `number` over blocks `first..=last`, made from the
/// blocks the sequencer serves (no deposits, no withdrawals in these tests).
fn expected_chain(
    node: &NodeProcess,
    genesis: &Genesis,
    circuits: &BatchCircuits,
    number: u64,
    first: u64,
    last: u64,
) -> ChainStatement {
    let blocks: Vec<Block> = (first..=last)
        .map(|n| serde_json::from_value(node.rpc_ok("rollup_getBlockByNumber", json!([n]))).unwrap())
        .collect();
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    genesis.initialize(&mut state);
    ChainStatement {
        genesis_root: state.root(),
        code_control_root: circuits.registry(1, LAST_BLOCK_NUMBER).unwrap().root(),
        batch_number: number,
        first_block: first,
        last_block: last,
        from_root: blocks[0].header.prev_state_root,
        to_root: blocks[blocks.len() - 1].header.state_root,
        tx_chain: blocks.iter().fold(Digest::ZERO, |link, block| {
            chain_batch_tx(&link, block.header.number, &block.header.tx_commitment)
        }),
        ..ChainStatement::default()
    }
}

fn served_chain_proof(circuits: &BatchCircuits, record: &Value) -> rollup_circuits::batch::ChainProof {
    let bytes = rollup_l2::hex::decode(record["proof"].as_str().unwrap()).unwrap();
    circuits.decode_chain(&bytes).unwrap()
}

#[test]
fn batches_are_aggregated_and_chained_and_a_kill_during_aggregation_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, genesis_config) = one_capacity_genesis(dir.path());
    // Stage 4 has a test of its own (`groth16`); here it would only compete for the CPU.
    let config = format!(
        "{genesis_config}[sequencer]\nblock_time_ms = 20\nmax_block_txs = 8\n[prover.groth16]\nenabled = false\n"
    );
    let mut first = NodeProcess::start(NodeOptions::profile("operator").config(&config));
    first.wait_ready();
    for nonce in 1..=4 {
        transfer_in_a_block(&first, nonce);
    }
    let batch0 = wait_for(&first, "rollup_getBatchProof", 0);
    // Kill -9 once the first proof of batch 1's tree is committed: the tree is half made.
    let deadline = Instant::now() + Duration::from_secs(600);
    while first.metric("rollup_aggregation_prove_seconds_count").unwrap_or(0.0) < 4.0 {
        assert!(Instant::now() < deadline, "batch 1 was not aggregated\n{}", first.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(first.rpc_ok("rollup_getBatchProof", json!([1])), Value::Null);
    first.kill();

    let data_dir = first.data_dir().to_owned();
    let node = NodeProcess::start(NodeOptions::profile("operator").config(&config).data_dir(&data_dir));
    node.wait_ready();
    let batch1 = wait_for(&node, "rollup_getBatchProof", 1);
    // Batch 0 was kept, not proven again; batch 1's tree resumed from its stored leaf.
    assert_eq!(node.rpc_ok("rollup_getBatchProof", json!([0])), batch0);
    assert_eq!(node.metric("rollup_batch_proofs_total"), Some(1.0), "{}", node.log());
    let made = node.metric("rollup_aggregation_prove_seconds_count").unwrap_or(0.0);
    assert!((1.0..=2.0).contains(&made), "{made} aggregation proofs after the restart\n{}", node.log());

    // Both chain proofs verify here against statements made from the served blocks.
    let block = BlockCircuit::setup(BlockParameters { capacity: 8, stf: genesis.params() }).unwrap();
    let circuits = BatchCircuits::build(&[&block]).unwrap();
    for (number, record, first_block) in [(0, &batch0, 1), (1, &batch1, 3)] {
        let expected = expected_chain(&node, &genesis, &circuits, number, first_block, first_block + 1);
        let served: ChainStatement = serde_json::from_value(record["statement"].clone()).unwrap();
        assert_eq!(served, expected);
        circuits.verify_chain(&expected, &served_chain_proof(&circuits, record)).unwrap();
        let root = rollup_l2::hex::decode(record["aggregation_proof"].as_str().unwrap()).unwrap();
        let root = circuits.decode_segment(&root).unwrap();
        assert_eq!(root.statement().unwrap().last_block, first_block + 1);
    }
    assert_eq!(
        serde_json::from_value::<ChainStatement>(batch1["statement"].clone()).unwrap().from_root,
        serde_json::from_value::<ChainStatement>(batch0["statement"].clone()).unwrap().to_root
    );
}

#[test]
fn a_sequencer_sealing_blocks_larger_than_the_genesis_circuits_cannot_run_beside_a_prover() {
    let dir = tempfile::tempdir().unwrap();
    let (_, genesis_config) = one_capacity_genesis(dir.path());
    let config = dir.path().join("node.toml");
    let data_dir = dir.path().join("data");
    std::fs::write(&config, format!("{genesis_config}[roles]\nsequencer = true\nprover = true\n")).unwrap();
    let output = rollup_e2e::run_rollup(
        &["node", "--config", config.to_str().unwrap(), "--data-dir", data_dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "sequencer.max_block_txs is 128, but the largest block circuit of this genesis holds 8 transactions"
        ),
        "{stderr}"
    );
}
