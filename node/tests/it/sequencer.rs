//! The sequencer through JSON-RPC on a running node: transfers to new and existing
//! accounts, withdrawals, every rejection with its code and no state change, and
//! blocks and receipts served again after a restart.

use rollup_e2e::{NodeOptions, NodeProcess};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, Encode, PubKey, SignedTx, Transfer, UserTx, Withdraw, DEVNET_USER_SEED, MAX_AMOUNT,
};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 0x0052_4f4c;
/// The sequencer alone: these tests are about it, and a prover beside it would spend
/// both cores proving every block they make.
const FAST_BLOCKS: &str = "[roles]\nsequencer = true\n[sequencer]\nblock_time_ms = 20\n";

fn user() -> SecretKey {
    SecretKey::from_seed(DEVNET_USER_SEED)
}

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

fn signed(secret: &SecretKey, tx: UserTx) -> String {
    let signature = sign(secret, &tx.signing_message(CHAIN_ID));
    rollup_l2::hex::encode(&SignedTx { tx, signature }.encode())
}

fn transfer(from: u32, to: u32, to_pubkey: PubKey, amount: u64, fee: u64, nonce: u32) -> UserTx {
    UserTx::Transfer(Transfer { from, to, to_pubkey, amount, fee, nonce })
}

fn send(node: &NodeProcess, hex: &str) -> Value {
    node.rpc("rollup_sendTransaction", json!([hex]))
}

fn wait_receipt(node: &NodeProcess, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let receipt = node.rpc_ok("rollup_getTransactionReceipt", json!([id]));
        if !receipt.is_null() {
            return receipt;
        }
        assert!(std::time::Instant::now() < deadline, "no receipt for {id}\n{}", node.log());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn balance(node: &NodeProcess, index: u32) -> Option<u64> {
    node.rpc_ok("rollup_getAccount", json!({ "index": index }))["balance"].as_u64()
}

#[test]
fn transfers_withdrawals_and_rejections_through_json_rpc() {
    let mut node = NodeProcess::start(NodeOptions::default().config(FAST_BLOCKS));
    node.wait_ready();
    let user = user();
    let funded = rollup_l2::DEVNET_USER_BALANCE;
    assert_eq!(balance(&node, 2), Some(funded));

    // To a new account, then to that (now existing) account again, then a withdrawal.
    let alice = pubkey_of(&key(7));
    let first = send(&node, &signed(&user, transfer(2, 10, alice, 5_000, 3, 1)))["result"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = send(&node, &signed(&user, transfer(2, 10, alice, 1_000, 2, 2)))["result"]
        .as_str()
        .unwrap()
        .to_owned();
    let withdraw = UserTx::Withdraw(Withdraw {
        from: 2,
        amount: 700,
        fee: 1,
        nonce: 3,
        l1_script: vec![0x51, 0x20, 7, 7],
    });
    let third = send(&node, &signed(&user, withdraw))["result"].as_str().unwrap().to_owned();
    for id in [&first, &second, &third] {
        assert_eq!(wait_receipt(&node, id)["receipt"], json!({ "status": "success" }));
    }
    assert_eq!(balance(&node, 10), Some(6_000));
    assert_eq!(balance(&node, 2), Some(funded - 5_003 - 1_002 - 701));
    assert_eq!(balance(&node, 1), Some(6));
    let by_key = node.rpc_ok("rollup_getAccount", json!([{ "pubkey": alice }]));
    assert_eq!(by_key["index"], 10);
    let proof = node.rpc_ok("rollup_getAccountProof", json!([10]));
    assert_eq!(proof["siblings"].as_array().unwrap().len(), 32);
    let root = node.rpc_ok("rollup_getStateRoot", json!([]));
    assert_eq!(proof["state_root"], root["state_root"]);

    // Every rejection: its code, and the state root does not move.
    let state_root = root["state_root"].clone();
    let code = |hex: &str| send(&node, hex)["error"]["code"].as_i64();
    // Flip the lowest byte of s (the signature's first half; e < 2^256 leaves the top of e zero).
    let mut forged = signed(&user, transfer(2, 10, alice, 10, 1, 4));
    let s_at = forged.len() - 160;
    let flipped = if &forged[s_at..s_at + 2] == "00" { "01" } else { "00" };
    forged.replace_range(s_at..s_at + 2, flipped);
    assert_eq!(code(&forged), Some(1001), "bad signature");
    assert_eq!(code(&signed(&user, transfer(2, 10, alice, 10, 1, 3))), Some(1002), "nonce replay");
    assert_eq!(code(&signed(&user, transfer(2, 10, alice, 10, 1, 9))), Some(1002), "nonce gap");
    assert_eq!(
        code(&signed(&key(7), transfer(10, 2, pubkey_of(&user), 10_000, 1, 1))),
        Some(1003),
        "overdraft"
    );
    assert_eq!(
        code(&signed(&user, transfer(2, 10, alice, MAX_AMOUNT, 1, 4))),
        Some(1003),
        "more than the balance"
    );
    assert_eq!(code(&signed(&user, transfer(2, 10, alice, 0, 1, 4))), Some(1005), "zero amount");
    assert_eq!(
        code(&signed(&key(8), transfer(99, 2, pubkey_of(&user), 1, 1, 1))),
        Some(1006),
        "unknown sender"
    );
    // An amount over 2^56 cannot even be encoded canonically: malformed.
    let mut overflow = signed(&user, transfer(2, 10, alice, 1, 1, 4));
    let amount_at = 2 * (1 + 1 + 4 + 4 + 40);
    overflow.replace_range(amount_at..amount_at + 16, "ffffffffffffffff");
    assert_eq!(
        send(&node, &overflow)["error"]["message"],
        "malformed transaction: amount = 18446744073709551615 is out of range"
    );
    assert_eq!(code("zz"), Some(1000), "not hex");
    assert_eq!(code("0100"), Some(1000), "truncated");
    let (status, _) = node.post(&format!(
        r#"{{"jsonrpc":"2.0","method":"rollup_sendTransaction","params":["{}"],"id":1}}"#,
        "00".repeat(2 * 1024 * 1024)
    ));
    assert_eq!(status, 413, "oversize request");
    assert_eq!(node.rpc_ok("rollup_getStateRoot", json!([]))["state_root"], state_root);

    // Restart: every acknowledged block and receipt is served again.
    let block_number = wait_receipt(&node, &third)["block_number"].as_u64().unwrap();
    let block = node.rpc_ok("rollup_getBlockByNumber", json!([block_number]));
    node.restart();
    node.wait_ready();
    assert_eq!(node.rpc_ok("rollup_getBlockByNumber", json!([block_number])), block);
    for id in [&first, &second, &third] {
        assert_eq!(wait_receipt(&node, id)["receipt"], json!({ "status": "success" }));
    }
    assert_eq!(balance(&node, 10), Some(6_000));
    assert_eq!(node.terminate().code(), Some(0));
}
