//! The devnet's Esplora answers have electrs's JSON shapes, field for field: the same
//! requests, against the reference electrs and against an embedded devnet on which
//! the same scene was played, must give the same status, the same fields with the same
//! JSON types, and the same error bodies.
//!
//! A test of the devnet itself: it needs a real electrs to compare with, so on the
//! embedded backend alone it says so and checks nothing.

use bitcoin::{Amount, BlockHash, Txid};
use rollup_devnet::Wallet;
use rollup_e2e::{http_get, TestEnv};
use serde_json::{json, Value};

use super::{output_of, sink};

/// What one backend answered to the scene's requests.
struct Answers {
    /// `(request, status, shape of the body)`, in request order.
    answers: Vec<(String, u16, Value)>,
}

/// Plays the scene on `env` and asks every request of it.
///
/// The scene: a fresh key-path wallet is funded and the funding mined (block 1); it
/// pays a sink and itself, mined (block 2, with the coinbase); then it pays again
/// from its change, left in the mempool.
fn play(env: &TestEnv) -> Answers {
    let user = Wallet::random();
    let funding = env.fund(&user.address(), Amount::from_sat(1_000_000));
    let first_block = env.mine(1, None)[0];
    let coin = output_of(env, funding, &user.script_pubkey());
    let spend = user.pay(std::slice::from_ref(&coin), sink(), Amount::from_sat(400_000)).unwrap();
    assert_eq!(env.broadcast(&spend), None);
    let block = env.mine(1, None)[0];
    let change = output_of(env, spend.compute_txid(), &user.script_pubkey());
    let pending = user.pay(&[change], sink(), Amount::from_sat(100_000)).unwrap();
    assert_eq!(env.broadcast(&pending), None);
    env.wait_synced();
    // electrs refreshes its mempool statistics every few seconds.
    env.wait_until("the mempool statistics to count the pending payment", || {
        let (_, body) = http_get(&format!("{}/mempool", env.esplora_url()));
        serde_json::from_str::<Value>(&body).is_ok_and(|stats| stats["count"] == json!(1))
    });

    let height = env.esplora().get_height().unwrap();
    let coinbase = env.esplora().get_txid_at_block_index(&block, 0).unwrap().unwrap();
    let address = user.address();
    let script_hash = rollup_devnet::script_hash(&user.script_pubkey());
    let requests = requests(&Scene {
        first_block,
        block,
        height,
        spend: spend.compute_txid(),
        pending: pending.compute_txid(),
        coinbase,
        address: address.to_string(),
        script_hash: script_hash.to_string(),
    });
    let answers = requests
        .into_iter()
        .map(|request| {
            let (status, body) = http_get(&format!("{}{request}", env.esplora_url()));
            (request, status, shape_of_body(status, &body))
        })
        .collect();
    Answers { answers }
}

/// The scene's blocks, transactions and addresses.
struct Scene {
    first_block: BlockHash,
    block: BlockHash,
    height: u32,
    spend: Txid,
    pending: Txid,
    coinbase: Txid,
    address: String,
    script_hash: String,
}

/// Every request compared, in both chains' terms.
fn requests(scene: &Scene) -> Vec<String> {
    let Scene { first_block, block, height, spend, pending, coinbase, address, script_hash, .. } = scene;
    let unknown_block = BlockHash::from_raw_hash(bitcoin::hashes::Hash::from_byte_array([7; 32]));
    let unknown_tx = Txid::from_raw_hash(bitcoin::hashes::Hash::from_byte_array([7; 32]));
    [
        "/blocks/tip/height".to_owned(),
        "/blocks/tip/hash".to_owned(),
        "/blocks".to_owned(),
        format!("/blocks/{height}"),
        format!("/block-height/{height}"),
        format!("/block/{block}"),
        format!("/block/{block}/header"),
        format!("/block/{block}/status"),
        format!("/block/{first_block}/status"),
        format!("/block/{block}/txids"),
        format!("/block/{block}/txid/1"),
        format!("/block/{block}/txs"),
        format!("/tx/{spend}"),
        format!("/tx/{spend}/hex"),
        format!("/tx/{spend}/status"),
        format!("/tx/{spend}/merkle-proof"),
        format!("/tx/{spend}/merkleblock-proof"),
        format!("/tx/{spend}/outspends"),
        format!("/tx/{spend}/outspend/0"),
        format!("/tx/{spend}/outspend/1"),
        format!("/tx/{pending}"),
        format!("/tx/{pending}/status"),
        format!("/tx/{coinbase}"),
        format!("/address/{address}"),
        format!("/address/{address}/utxo"),
        format!("/address/{address}/txs"),
        format!("/address/{address}/txs/chain"),
        format!("/address/{address}/txs/mempool"),
        format!("/scripthash/{script_hash}"),
        format!("/scripthash/{script_hash}/utxo"),
        "/mempool".to_owned(),
        "/mempool/txids".to_owned(),
        "/mempool/recent".to_owned(),
        // Not `/fee-estimates`: electrs's answer depends on bitcoind's fee history
        // (docs/devnet.md); e2e's `unknown_and_malformed_queries_get_esplora_answers`
        // checks its form.
        // Refusals and unknowns.
        format!("/block/{unknown_block}"),
        format!("/block/{unknown_block}/status"),
        format!("/tx/{unknown_tx}"),
        format!("/tx/{unknown_tx}/status"),
        format!("/tx/{unknown_tx}/outspends"),
        format!("/tx/{unknown_tx}/merkle-proof"),
        "/tx/not-a-txid".to_owned(),
        "/block-height/999999".to_owned(),
        "/block-height/not-a-number".to_owned(),
        format!("/tx/{spend}/outspend/not-a-number"),
        format!("/block/{block}/txid/99"),
        format!("/block/{block}/txs/25"),
        "/address/not-an-address".to_owned(),
        "/address/bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4".to_owned(),
        "/scripthash/zz".to_owned(),
        "/scripthash/00".to_owned(),
    ]
    .into()
}

/// The shape of an answer: for JSON, every field with its JSON type (arrays: the
/// distinct shapes of their items); for a refusal, its exact text; for other text,
/// what it is (a number, or hex of its length).
fn shape_of_body(status: u16, body: &str) -> Value {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        if value.is_object() || value.is_array() {
            return shape(&value);
        }
    }
    if status != 200 {
        return json!({ "text": body });
    }
    if body.parse::<u64>().is_ok() {
        json!("text: a number")
    } else if !body.is_empty() && body.chars().all(|c| c.is_ascii_hexdigit()) {
        json!(format!("text: {} hex digits", body.len()))
    } else {
        json!({ "text": body })
    }
}

fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = items.iter().map(shape).collect();
            shapes.sort_by_key(Value::to_string);
            shapes.dedup();
            Value::Array(shapes)
        }
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(key, value)| (key.clone(), shape(value))).collect())
        }
    }
}

#[test]
fn the_devnet_answers_in_the_json_shapes_of_electrs() {
    let reference = TestEnv::start();
    if reference.is_embedded() {
        eprintln!(
            "a test of the devnet itself: it compares the devnet with a real electrs; run it through \
             ../shared/reference/regtest (ROLLUP_E2E_ESPLORA_URL and ROLLUP_E2E_BITCOIND_RPC)"
        );
        return;
    }
    let devnet = TestEnv::embedded_with(&[]);
    let electrs = play(&reference);
    let ours = play(&devnet);
    assert_eq!(electrs.answers.len(), ours.answers.len());
    let differences: Vec<String> = electrs
        .answers
        .iter()
        .zip(&ours.answers)
        .filter(|((_, status_a, shape_a), (_, status_b, shape_b))| (status_a, shape_a) != (status_b, shape_b))
        .map(|((request, status_a, shape_a), (_, status_b, shape_b))| {
            format!("{request}\n  electrs: {status_a} {shape_a}\n  devnet:  {status_b} {shape_b}")
        })
        .collect();
    assert!(differences.is_empty(), "{} answers differ:\n{}", differences.len(), differences.join("\n"));
}
