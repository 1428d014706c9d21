//! The prover role on a running node: a block the sequencer seals is proven, the
//! proof is served by `rollup_getBlockProof`, and it verifies here, independently,
//! against the statement made from the block the sequencer serves.

use std::time::{Duration, Instant};

use rollup_circuits::block::{BlockCircuit, BlockParameters, BlockProof, BlockStatement};
use rollup_circuits::ProofSystem;
use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{pubkey_of, sign, Block, Encode, Genesis, SignedTx, Transfer, UserTx, DEVNET_USER_SEED};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;

#[test]
fn a_sealed_block_is_proven_by_the_prover_role_and_the_proof_verifies() {
    let node =
        NodeProcess::start(NodeOptions::profile("operator").config("[sequencer]\nblock_time_ms = 50\n"));
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
    let config = "[roles]\nsequencer = true\nprover = true\n[sequencer]\nblock_time_ms = 20\n";
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
