//! End-to-end transfers per second through JSON-RPC into sealed blocks.
//!
//! `cargo bench -p rollup-node --bench transfers` (release). Starts `rollup node
//! --profile operator` (20 ms blocks) and, for 1 and for 8 concurrent senders, signs
//! `ROLLUP_BENCH_TXS` transfers in all (default 4,000; signing not timed), submits them
//! over keep-alive HTTP connections, each sender in nonce order (each call returns once
//! the transaction is durably in the node's mempool table), and waits until every
//! sender's last transaction has a receipt. Reports transfers per second from the first
//! send to the last receipt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{pubkey_of, sign, Encode, PubKey, SignedTx, Transfer, UserTx, DEVNET_USER_SEED};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;
const RECEIVER: u32 = 1_000;

fn call(agent: &ureq::Agent, url: &str, method: &str, params: Value) -> Value {
    let request = json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": 1 });
    agent.post(url).send_json(request).unwrap().into_json().unwrap()
}

fn transfer_hex(key: &SecretKey, from: u32, to: u32, to_pubkey: PubKey, amount: u64, nonce: u32) -> String {
    let tx = UserTx::Transfer(Transfer { from, to, to_pubkey, amount, fee: 1, nonce });
    let signature = sign(key, &tx.signing_message(CHAIN_ID));
    rollup_l2::hex::encode(&SignedTx { tx, signature }.encode())
}

fn wait_receipt(agent: &ureq::Agent, url: &str, id: &str) {
    let started = Instant::now();
    while call(agent, url, "rollup_getTransactionReceipt", json!([id]))["result"].is_null() {
        assert!(started.elapsed() < Duration::from_secs(600), "not sealed");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends every sender's transactions in order, the senders concurrently; returns the
/// elapsed time until the last receipt.
fn run(url: &str, senders: Vec<Vec<String>>) -> Duration {
    let started = Instant::now();
    let threads: Vec<_> = senders
        .into_iter()
        .map(|bodies| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().build();
                let mut last = String::new();
                for hex in bodies {
                    let answer = call(&agent, &url, "rollup_sendTransaction", json!([hex]));
                    last =
                        answer["result"].as_str().unwrap_or_else(|| panic!("refused: {answer}")).to_owned();
                }
                wait_receipt(&agent, &url, &last);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    started.elapsed()
}

fn main() {
    std::env::set_var("ROLLUP_BIN", env!("CARGO_BIN_EXE_rollup"));
    let benching = std::env::args().any(|arg| arg == "--bench");
    let count: u32 = match std::env::var("ROLLUP_BENCH_TXS") {
        Ok(count) => count.parse().expect("ROLLUP_BENCH_TXS must be a number"),
        Err(_) if benching => 4_000,
        Err(_) => 16,
    };
    let node =
        // The sequencer alone, with blocks as large as before the prover capped them at
        // 128 transactions: this measures admission and sealing, not proving.
        NodeProcess::start(NodeOptions::default().config(
            "[roles]\nsequencer = true\n[sequencer]\nblock_time_ms = 20\nmax_block_txs = 4096\nmempool_per_account = 65536\n[log]\nfilter = \"warn\"\n",
        ));
    node.wait_ready();
    let url = format!("{}/", node.url());
    let agent = ureq::AgentBuilder::new().build();
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let receiver = pubkey_of(&SecretKey::from_seed(b"bench receiver"));

    // One sender: the funded account's own nonce chain.
    let bodies: Vec<String> =
        (1..=count).map(|nonce| transfer_hex(&user, 2, RECEIVER, receiver, 1, nonce)).collect();
    let one = run(&url, vec![bodies]);

    // Eight senders: fund them first (not timed).
    let keys: Vec<SecretKey> = (0..8u8).map(|i| SecretKey::from_seed(&[b'b', i])).collect();
    let mut last = String::new();
    for (i, key) in keys.iter().enumerate() {
        let hex = transfer_hex(&user, 2, 100 + i as u32, pubkey_of(key), 1_000_000, count + 1 + i as u32);
        last =
            call(&agent, &url, "rollup_sendTransaction", json!([hex]))["result"].as_str().unwrap().to_owned();
    }
    wait_receipt(&agent, &url, &last);
    let per_sender = count / 8;
    let senders: Vec<Vec<String>> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            (1..=per_sender)
                .map(|nonce| transfer_hex(key, 100 + i as u32, RECEIVER, receiver, 1, nonce))
                .collect()
        })
        .collect();
    let eight = run(&url, senders);

    let balance = call(&agent, &url, "rollup_getAccount", json!([{ "index": RECEIVER }]));
    assert_eq!(
        balance["result"]["balance"].as_u64(),
        Some(u64::from(count + per_sender * 8)),
        "every transfer executed"
    );
    println!(
        "1 sender:  {count} transfers sealed in {:.2} s: {:.0} tx/s",
        one.as_secs_f64(),
        f64::from(count) / one.as_secs_f64()
    );
    println!(
        "8 senders: {} transfers sealed in {:.2} s: {:.0} tx/s",
        per_sender * 8,
        eight.as_secs_f64(),
        f64::from(per_sender * 8) / eight.as_secs_f64()
    );
}
