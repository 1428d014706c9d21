//! The controller role on a running node: sealed blocks are cut into batches by the
//! genesis rules, served by `rollup_getBatch` and `rollup_getBatchCount`, kept exactly
//! (none lost, none repeated) across a SIGKILL, and an open batch with no traffic is
//! closed by age with an empty block.

use std::time::{Duration, Instant};

use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, BatchRules, Block, Digest, Encode, Genesis, SignedTx, Transfer, UserTx, DEVNET_USER_SEED,
};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;
const MAX_AGE_MS: u64 = 2_000;

/// A sequencer and a controller, no prover; the genesis `genesis` names.
fn config(genesis: &std::path::Path) -> String {
    format!(
        "[roles]\nsequencer = true\ncontroller = true\n[node]\ngenesis = {:?}\n[sequencer]\nblock_time_ms = 20\n",
        genesis.to_str().unwrap()
    )
}

fn send_transfer(node: &NodeProcess, nonce: u32) -> String {
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let tx = UserTx::Transfer(Transfer {
        from: 2,
        to: 50,
        to_pubkey: pubkey_of(&SecretKey::from_seed(b"controller test")),
        amount: 1_000,
        fee: 1,
        nonce,
    });
    let signature = sign(&user, &tx.signing_message(CHAIN_ID));
    let hex = rollup_l2::hex::encode(&SignedTx { tx, signature }.encode());
    let sent = node.rpc("rollup_sendTransaction", json!([hex]));
    sent["result"].as_str().unwrap_or_else(|| panic!("{sent}")).to_owned()
}

/// Sends a transfer and returns the block that includes it.
fn transfer_in_a_block(node: &NodeProcess, nonce: u32) -> u64 {
    let id = send_transfer(node, nonce);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let receipt = node.rpc_ok("rollup_getTransactionReceipt", json!([id]));
        if let Some(number) = receipt["block_number"].as_u64() {
            return number;
        }
        assert!(Instant::now() < deadline, "no receipt for {id}\n{}", node.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn batch_count(node: &NodeProcess) -> u64 {
    node.rpc_ok("rollup_getBatchCount", json!([])).as_u64().unwrap()
}

fn wait_batch_count(node: &NodeProcess, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while batch_count(node) < count {
        assert!(Instant::now() < deadline, "fewer than {count} batches\n{}", node.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(batch_count(node), count, "{}", node.log());
}

/// Every closed batch, checked to be numbered from 0 and to cover blocks 1.. without
/// gap or overlap; returns `(first_block, last_block)` of each with the records.
fn batches(node: &NodeProcess) -> (Vec<(u64, u64)>, Vec<Value>) {
    let count = batch_count(node);
    let records: Vec<Value> = (0..count).map(|n| node.rpc_ok("rollup_getBatch", json!([n]))).collect();
    let mut next_block = 1;
    let mut spans = Vec::new();
    for (number, record) in (0u64..).zip(&records) {
        assert_eq!(record["number"], json!(number));
        let (first, last) = (record["first_block"].as_u64().unwrap(), record["last_block"].as_u64().unwrap());
        assert_eq!(first, next_block, "batch {number}: {record}");
        assert_eq!(record["blocks"], json!(last - first + 1));
        next_block = last + 1;
        spans.push((first, last));
    }
    assert_eq!(node.rpc_ok("rollup_getBatch", json!([count])), Value::Null);
    (spans, records)
}

fn block(node: &NodeProcess, number: u64) -> Option<Block> {
    let value = node.rpc_ok("rollup_getBlockByNumber", json!([number]));
    (!value.is_null()).then(|| serde_json::from_value(value).unwrap())
}

#[test]
fn batches_are_cut_kept_across_sigkill_and_closed_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let genesis_path = dir.path().join("genesis.json");
    let genesis = Genesis {
        block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
        batch: BatchRules { max_blocks: 2, max_blob_bytes: 390_000, max_age_ms: MAX_AGE_MS },
        ..Genesis::devnet(CHAIN_ID)
    };
    std::fs::write(&genesis_path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    let data_dir = dir.path().join("data");
    let options = NodeOptions::default().config(&config(&genesis_path)).data_dir(&data_dir);
    let mut node = NodeProcess::start(options.clone());
    node.wait_ready();
    assert_eq!(batch_count(&node), 0);
    assert_eq!(node.rpc_ok("rollup_getBatch", json!([0])), Value::Null);

    // One transfer per block: blocks 1 to 4, two per batch.
    for nonce in 1..=4 {
        assert_eq!(transfer_in_a_block(&node, nonce), u64::from(nonce));
    }
    wait_batch_count(&node, 2);
    let (spans, before) = batches(&node);
    assert_eq!(spans, [(1, 2), (3, 4)]);
    for (record, (first, last)) in before.iter().zip([(1, 2), (3, 4)]) {
        let (first, last) = (block(&node, first).unwrap(), block(&node, last).unwrap());
        assert_eq!(record["first_timestamp_ms"], json!(first.header.timestamp_ms));
        assert_eq!(record["last_timestamp_ms"], json!(last.header.timestamp_ms));
        assert_eq!(
            record["blob_bytes"],
            json!(first.encode().len() + last.encode().len()),
            "the blob is the blocks' canonical encodings"
        );
    }
    assert_eq!(node.metric("rollup_batches_total"), Some(2.0));

    // Block 5 opens batch 2; the node is killed while it is open.
    assert_eq!(transfer_in_a_block(&node, 5), 5);
    assert_eq!(node.rpc_ok("rollup_getBatch", json!([2])), Value::Null);
    let sealed_5 = Instant::now();
    assert_eq!(node.kill().code(), None);
    node = NodeProcess::start(options);
    node.wait_ready();
    // The closed batches are served as before; the open one is rebuilt, not stored.
    let (spans, after) = batches(&node);
    assert_eq!(after[..2], before[..]);
    if sealed_5.elapsed() < Duration::from_millis(MAX_AGE_MS) {
        assert_eq!(spans, [(1, 2), (3, 4)], "{}", node.log());
    }

    // No traffic: once batch 2 is MAX_AGE_MS old the sequencer seals an empty block 6,
    // which closes it by age, and then nothing more.
    wait_batch_count(&node, 3);
    let (spans, records) = batches(&node);
    assert_eq!(spans, [(1, 2), (3, 4), (5, 6)]);
    assert_eq!(records[..2], before[..]);
    let (five, six) = (block(&node, 5).unwrap(), block(&node, 6).unwrap());
    assert_eq!(six.txs, vec![]);
    assert_eq!(six.header.tx_commitment, Digest::ZERO);
    assert_eq!(six.header.prev_state_root, five.header.state_root);
    assert_eq!(six.header.state_root, five.header.state_root);
    assert_eq!(six.header.parent_hash, five.header.hash());
    assert!(six.header.timestamp_ms - five.header.timestamp_ms >= MAX_AGE_MS, "{six:?}");
    // This process committed batch 2 only: batches 0 and 1 were not cut again.
    assert_eq!(node.metric("rollup_batches_total"), Some(1.0));
    assert_eq!(node.metric("rollup_controller_next_batch"), Some(3.0));
    assert_eq!(node.metric("rollup_open_batch_blocks"), Some(0.0));
    std::thread::sleep(Duration::from_millis(MAX_AGE_MS + 500));
    assert_eq!(block(&node, 7), None, "a closed batch needs no empty block");
    assert_eq!(batch_count(&node), 3);

    // Bad params.
    let error = |method: &str, params: Value| node.rpc(method, params)["error"].clone();
    assert_eq!(
        error("rollup_getBatch", json!(["one"])),
        json!({ "code": -32602, "message": "invalid params: invalid type: string \"one\", expected u64" })
    );
    assert_eq!(
        error("rollup_getBatch", json!([-1])),
        json!({ "code": -32602, "message": "invalid params: invalid value: integer `-1`, expected u64" })
    );
    assert_eq!(
        error("rollup_getBatch", json!([])),
        json!({ "code": -32602, "message": "invalid params: invalid length 0, expected a tuple of size 1" })
    );
    assert_eq!(
        error("rollup_getBatchCount", json!([1])),
        json!({ "code": -32602, "message": "invalid params: this method takes no parameters" })
    );
    assert_eq!(node.terminate().code(), Some(0));
}
