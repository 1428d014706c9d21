//! End-to-end transfers per second through JSON-RPC into sealed blocks.
//!
//! `cargo bench -p rollup-node --bench transfers` (release). Starts `rollup node
//! --profile operator` (20 ms blocks), signs `ROLLUP_BENCH_TXS` transfers (default
//! 3,000; signing not timed) from the development genesis' funded account to fresh
//! accounts, then submits them over HTTP keep-alive from one client in nonce order
//! (each call returns after the transaction is committed to the node database) and
//! waits until the last one has a receipt. Reports submissions per second and sealed
//! transfers per second (first send to last receipt).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{pubkey_of, sign, Encode, SignedTx, Transfer, UserTx, DEVNET_USER_SEED};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;

fn main() {
    std::env::set_var("ROLLUP_BIN", env!("CARGO_BIN_EXE_rollup"));
    let benching = std::env::args().any(|arg| arg == "--bench");
    let count: u32 = match std::env::var("ROLLUP_BENCH_TXS") {
        Ok(count) => count.parse().expect("ROLLUP_BENCH_TXS must be a number"),
        Err(_) if benching => 3_000,
        Err(_) => 20,
    };
    let node =
        NodeProcess::start(NodeOptions::profile("operator").config(
            "[sequencer]\nblock_time_ms = 20\nmempool_per_account = 65536\n[log]\nfilter = \"warn\"\n",
        ));
    node.wait_ready();
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let receiver = pubkey_of(&SecretKey::from_seed(b"bench receiver"));
    let bodies: Vec<String> = (1..=count)
        .map(|nonce| {
            let tx = UserTx::Transfer(Transfer {
                from: 2,
                to: 1_000,
                to_pubkey: receiver,
                amount: 1,
                fee: 1,
                nonce,
            });
            let signature = sign(&user, &tx.signing_message(CHAIN_ID));
            let hex: String =
                SignedTx { tx, signature }.encode().iter().map(|byte| format!("{byte:02x}")).collect();
            json!({ "jsonrpc": "2.0", "method": "rollup_sendTransaction", "params": [hex], "id": nonce })
                .to_string()
        })
        .collect();
    let agent = ureq::AgentBuilder::new().build();
    let url = format!("{}/", node.url());
    let started = Instant::now();
    let mut last_id = String::new();
    for body in &bodies {
        let answer: Value = agent.post(&url).send_string(body).unwrap().into_json().unwrap();
        last_id = answer["result"].as_str().unwrap_or_else(|| panic!("refused: {answer}")).to_owned();
    }
    let submitted = started.elapsed();
    loop {
        let answer: Value = agent
            .post(&url)
            .send_json(json!({ "jsonrpc": "2.0", "method": "rollup_getTransactionReceipt", "params": [last_id], "id": 0 }))
            .unwrap()
            .into_json()
            .unwrap();
        if !answer["result"].is_null() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "transactions not sealed");
        std::thread::sleep(Duration::from_millis(2));
    }
    let sealed = started.elapsed();
    let balance: Value = agent
        .post(&url)
        .send_json(json!({ "jsonrpc": "2.0", "method": "rollup_getAccount", "params": [{ "index": 1000 }], "id": 0 }))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(balance["result"]["balance"].as_u64(), Some(u64::from(count)), "every transfer executed");
    println!(
        "{count} transfers: submitted in {:.2} s ({:.0} tx/s), sealed in {:.2} s ({:.0} tx/s end to end)",
        submitted.as_secs_f64(),
        f64::from(count) / submitted.as_secs_f64(),
        sealed.as_secs_f64(),
        f64::from(count) / sealed.as_secs_f64()
    );
}
