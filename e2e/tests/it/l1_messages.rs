//! L1 messages read from the devnet through Esplora: deposits and a forced
//! transaction posted in reveals, scanned once final, numbered by the cursor, with
//! the deposit rule applied; a reorganisation below finality is followed, one that
//! replaces a final block stops the follower. Then a node whose sequencer follows
//! Bitcoin: a deposit is credited after finality, and a censored user's transfer is
//! forced through Bitcoin.

use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::{Address, Amount, FeeRate, KnownHrp, ScriptBuf};
use rollup_e2e::{NodeOptions, NodeProcess, TestEnv};
use rollup_l1::da::{build_commit_reveal, Envelope, FundingUtxo};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    encode_forced_payload, hex, pubkey_of, sign, Deposit, DepositPayload, Encode, Genesis, L1Anchor,
    L1Outpoint, L1Rules, L2Tx, PubKey, SignedTx, Transfer, UserTx, DEVNET_BRIDGE_SCRIPT, DEVNET_USER_SEED,
    SIGNATURE_LEN,
};
use rollup_roles::sequencer::{BitcoinL1Source, L1MessageSource, L1SourceError, ScannedBlocks};
use serde_json::{json, Value};

use super::output_of;

const CHAIN_ID: u64 = 0x11;
const WAIT: Duration = Duration::from_secs(60);

fn forced() -> SignedTx {
    SignedTx {
        tx: UserTx::Transfer(Transfer {
            from: 2,
            to: 3,
            to_pubkey: PubKey([4; 5]),
            amount: 5,
            fee: 1,
            nonce: 1,
        }),
        signature: vec![7; SIGNATURE_LEN],
    }
}

fn anchor_of(env: &TestEnv, height: u32) -> L1Anchor {
    let hash = env.esplora().get_block_hash(height).unwrap();
    L1Anchor { height, hash: hash.to_byte_array() }
}

/// Asks `source` until it answers with a final tip of at least `height`.
fn next_at(source: &mut BitcoinL1Source, from: u64, height: u32) -> rollup_roles::sequencer::L1Inclusion {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(inclusion) = source.next(from, 16) {
            if inclusion.final_tip_height >= height && inclusion.anchor.height >= height {
                return inclusion;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the follower did not reach height {height}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn deposits_and_forced_transactions_are_read_from_final_blocks() {
    let env = TestEnv::start();
    let secp = Secp256k1::new();
    let poster = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
    let address = Address::p2tr(&secp, poster.x_only_public_key().0, None, KnownHrp::Regtest);
    let funding_txid = env.fund(&address, Amount::from_sat(1_000_000));
    env.mine(1, None);
    let (outpoint, output) = output_of(&env, funding_txid, &address.script_pubkey());

    // Each reveal pays the bridge its dust limit (330 sat for P2TR): a deposit of 330
    // is covered, one of 331 is not.
    let bridge = ScriptBuf::from_bytes(DEVNET_BRIDGE_SCRIPT.to_vec());
    let paid = bridge.minimal_non_dust().to_sat();
    assert_eq!(paid, 330);
    let covered = DepositPayload { to: 9, to_pubkey: PubKey([9; 5]), amount: paid };
    let uncovered = DepositPayload { to: 8, to_pubkey: PubKey([8; 5]), amount: paid + 1 };
    let envelopes = vec![
        Envelope::deposit(CHAIN_ID, covered.encode()).unwrap(),
        Envelope::deposit(CHAIN_ID, uncovered.encode()).unwrap(),
        Envelope::forced_transaction(CHAIN_ID, encode_forced_payload(&forced())).unwrap(),
        // Ours for another chain: foreign.
        Envelope::deposit(CHAIN_ID + 1, covered.encode()).unwrap(),
    ];
    let posted = build_commit_reveal(
        &poster,
        &envelopes,
        &[FundingUtxo { outpoint, output }],
        FeeRate::from_sat_per_vb_u32(2),
        &address.script_pubkey(),
        &bridge,
    )
    .unwrap();

    let start_height = env.esplora().get_height().unwrap() + 1;
    let rules = L1Rules { start_height, finality_depth: 2, forced_inclusion_window: 6, ..L1Rules::devnet() };
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(rollup_storage::Store::open(dir.path(), CHAIN_ID).unwrap());
    let start = |store: &std::sync::Arc<rollup_storage::Store>| {
        let poll = Duration::from_millis(20);
        BitcoinL1Source::start_esplora(env.esplora_url(), CHAIN_ID, &rules, poll, Some(store.clone()))
            .unwrap()
    };
    let mut source = start(&store);
    assert_eq!(env.broadcast(&posted.commit), None);
    for reveal in &posted.reveals {
        assert_eq!(env.broadcast(reveal), None);
    }
    let block = env.mine(1, None)[0];
    assert_eq!(env.esplora().get_block_status(&block).unwrap().height, Some(start_height));

    // One confirmation is not final at depth 2 (a bounded wait: it can miss a bug,
    // never fail a correct follower).
    assert!(!source.wait_scanned(start_height, Duration::from_millis(500)));
    env.mine(1, None);
    assert!(source.wait_scanned(start_height, WAIT));
    let inclusion = next_at(&mut source, 0, start_height);
    assert_eq!(inclusion.anchor, anchor_of(&env, start_height));
    assert_eq!(inclusion.final_tip_height, start_height);

    // The covered deposit and the forced transaction, in block order; the uncovered
    // deposit and the foreign envelope are skipped.
    let txids = env.esplora().get_block_txids(&block).unwrap();
    let position = |txid| txids.iter().position(|id| *id == txid).unwrap();
    let deposit_txid = posted.reveals[0].compute_txid();
    let forced_txid = posted.reveals[2].compute_txid();
    let deposit = L2Tx::Deposit(Deposit {
        l1_outpoint: L1Outpoint { txid: deposit_txid.to_byte_array(), vout: 0 },
        amount: paid,
        to: 9,
        to_pubkey: PubKey([9; 5]),
    });
    let mut expected = [(position(deposit_txid), deposit), (position(forced_txid), L2Tx::Forced(forced()))];
    expected.sort_by_key(|(position, _)| *position);
    let found: Vec<(u64, L2Tx)> =
        inclusion.messages.iter().map(|message| (message.cursor, message.tx.clone())).collect();
    assert_eq!(found, vec![(0, expected[0].1.clone()), (1, expected[1].1.clone())]);

    // A block anchored at the scan's tip with both consumed asks from cursor 2.
    let later = next_at(&mut source, 2, start_height);
    assert_eq!((later.messages.len(), later.anchor), (0, anchor_of(&env, start_height)));

    // The unfinal tip (start + 1) is replaced: the follower takes the new branch.
    env.reorg(1);
    let tip = env.esplora().get_height().unwrap();
    assert_eq!(tip, start_height + 2);
    let after = next_at(&mut source, 2, start_height + 1);
    assert_eq!(after.anchor, anchor_of(&env, start_height + 1));
    assert_eq!(after.final_tip_height, start_height + 1);

    // Started again on its store, the source goes on after the last scanned block:
    // the same messages under the same cursors, without scanning again.
    drop(source);
    let scanned = store.read(|tx| tx.range::<ScannedBlocks>(.., 10)).unwrap();
    let heights: Vec<u64> = scanned.iter().map(|(height, _)| *height).collect();
    assert_eq!(heights, [u64::from(start_height), u64::from(start_height) + 1]);
    assert_eq!(scanned[0].1.end_cursor, 2);
    let mut source = start(&store);
    let again = next_at(&mut source, 0, start_height + 1);
    assert_eq!(again.messages, inclusion.messages);
    assert_eq!(again.anchor, anchor_of(&env, start_height + 1));
    // Nothing was appended twice: after the two messages there are none.
    assert_eq!(next_at(&mut source, 2, start_height + 1).messages, vec![]);

    // Replacing final blocks stops the follower: no answer rather than a wrong one.
    env.reorg(3);
    let deadline = std::time::Instant::now() + WAIT;
    let error = loop {
        match source.next(2, 16) {
            Err(L1SourceError::Unavailable(reason)) if reason.contains("was final") => break reason,
            _ => assert!(std::time::Instant::now() < deadline, "the follower did not notice the deep reorg"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let replaced = start_height + 1;
    assert!(error.starts_with(&format!("cannot follow Bitcoin: block {replaced} (")), "{error}");
    assert!(error.ends_with("was final but is no longer on the source's best chain"), "{error}");
}

/// A node whose sequencer follows the devnet and ignores account 2's RPC transactions.
fn start_node(env: &TestEnv, dir: &std::path::Path, genesis: &Genesis) -> NodeProcess {
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&genesis_path, serde_json::to_string_pretty(genesis).unwrap()).unwrap();
    let config = format!(
        "[roles]\nsequencer = true\n[node]\nchain_id = {}\ngenesis = {:?}\n[bitcoin]\nesplora_url = {:?}\n\
         [sequencer]\nblock_time_ms = 20\nfollow_bitcoin = true\nl1_poll_ms = 20\n\
         [debug]\nfault_injection = true\nignore_rpc_txs_from = [2]\n",
        genesis.chain_id,
        genesis_path.to_str().unwrap(),
        env.esplora_url(),
    );
    let node = NodeProcess::start(NodeOptions::default().config(&config).data_dir(&dir.join("data")));
    node.wait_ready();
    node
}

fn account(node: &NodeProcess, index: u32) -> Option<(u64, u64)> {
    let account = node.rpc_ok("rollup_getAccount", json!([{ "index": index }]));
    (!account.is_null()).then(|| (account["balance"].as_u64().unwrap(), account["nonce"].as_u64().unwrap()))
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_deposit_is_credited_after_finality_and_a_censored_transfer_is_forced_through_bitcoin() {
    let env = TestEnv::start();
    let dir = tempfile::tempdir().unwrap();
    let start_height = env.esplora().get_height().unwrap() + 1;
    let chain_id = 0x4c31;
    let genesis = Genesis {
        l1: L1Rules { start_height, finality_depth: 2, forced_inclusion_window: 6, ..L1Rules::devnet() },
        ..Genesis::devnet(chain_id)
    };
    let node = start_node(&env, dir.path(), &genesis);

    // No Bitcoin block at or above the start height is final yet: no block can be
    // anchored, and the node says so.
    wait_for("the stall to be reported", || {
        node.rpc_ok("rollup_getL1Status", json!([]))["stalled"]
            == "L1 messages unavailable: no final Bitcoin block whose messages fit is scanned yet"
    });
    assert_eq!(node.metric("rollup_sequencer_l1_stalled"), Some(1.0));

    // The user (account 2) is censored: its RPC transfer is acknowledged, never included.
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let receiver = SecretKey::from_seed(b"forced inclusion receiver");
    let transfer = UserTx::Transfer(Transfer {
        from: 2,
        to: 3,
        to_pubkey: pubkey_of(&receiver),
        amount: 5_000,
        fee: 10,
        nonce: 1,
    });
    let signed = SignedTx { signature: sign(&user, &transfer.signing_message(chain_id)), tx: transfer };
    let id = node.rpc_ok("rollup_sendTransaction", json!([hex::encode(&signed.encode())]));
    assert!(id.is_string(), "{id}");

    // A deposit to a new account 9 and the same transfer forced, in one commit.
    let secp = Secp256k1::new();
    let poster = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
    let address = Address::p2tr(&secp, poster.x_only_public_key().0, None, KnownHrp::Regtest);
    let funding_txid = env.fund(&address, Amount::from_sat(1_000_000));
    env.mine(1, None); // start_height
    let (outpoint, output) = output_of(&env, funding_txid, &address.script_pubkey());
    let depositor = SecretKey::from_seed(b"forced inclusion depositor");
    let deposit = DepositPayload { to: 9, to_pubkey: pubkey_of(&depositor), amount: 330 };
    let envelopes = vec![
        Envelope::deposit(chain_id, deposit.encode()).unwrap(),
        Envelope::forced_transaction(chain_id, encode_forced_payload(&signed)).unwrap(),
    ];
    let bridge = ScriptBuf::from_bytes(DEVNET_BRIDGE_SCRIPT.to_vec());
    let posted = build_commit_reveal(
        &poster,
        &envelopes,
        &[FundingUtxo { outpoint, output }],
        FeeRate::from_sat_per_vb_u32(2),
        &address.script_pubkey(),
        &bridge,
    )
    .unwrap();
    assert_eq!(env.broadcast(&posted.commit), None);
    for reveal in &posted.reveals {
        assert_eq!(env.broadcast(reveal), None);
    }
    let carrying = env.mine(1, None)[0]; // start_height + 1: start_height is final now
    let carrying_height = start_height + 1;
    assert_eq!(env.esplora().get_block_status(&carrying).unwrap().height, Some(carrying_height));

    // Production resumes anchored at the start height; the messages are not final yet.
    wait_for("production to resume", || node.rpc_ok("rollup_getL1Status", json!([]))["stalled"].is_null());
    assert_eq!(account(&node, 9), None);

    // One more confirmation makes them final: the deposit credits account 9, the
    // forced transfer executes, and the block names the carrying block as anchor.
    env.mine(1, None);
    wait_for("the deposit to be credited", || account(&node, 9).is_some());
    assert_eq!(account(&node, 9), Some((330, 0)));
    assert_eq!(account(&node, 3), Some((5_000, 0)));
    assert_eq!(account(&node, 2), Some((rollup_l2::DEVNET_USER_BALANCE - 5_010, 1)));
    let status = node.rpc_ok("rollup_getL1Status", json!([]));
    assert_eq!(status["cursor"], 2);
    assert_eq!(status["anchor_height"], carrying_height);
    assert_eq!(status["anchor_hash"], hex::encode(&carrying.to_byte_array()));
    // The forced transaction has the censored one's id (its signing message).
    let receipt = node.rpc_ok("rollup_getTransactionReceipt", json!([id]));
    assert_eq!(receipt["receipt"], json!({ "status": "success" }), "{receipt}");
    assert_eq!((receipt["block_number"].as_u64(), receipt["position"].as_u64()), (Some(1), Some(1)));
    let block = node.rpc_ok("rollup_getBlockByNumber", json!([1]));
    let kinds: Vec<&str> =
        block["txs"].as_array().unwrap().iter().map(|tx| tx["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["deposit", "forced"]);
    assert_eq!(block["header"]["l1_cursor_before"], 0);
    assert_eq!(block["header"]["l1_cursor_after"], 2);
    assert_eq!(block["header"]["l1_anchor"]["height"], carrying_height);

    // Bitcoin goes on without new messages (tip carrying + 9, final tip carrying + 8):
    // the next block is anchored at the final tip. A block needs content: account 9
    // sends a transfer.
    env.mine(8, None);
    let tip_final = carrying_height + 8;
    wait_for("the follower to see the new final tip", || {
        node.rpc_ok("rollup_getL1Status", json!([]))["final_tip_height"] == tip_final
    });
    let transfer = UserTx::Transfer(Transfer {
        from: 9,
        to: 3,
        to_pubkey: pubkey_of(&receiver),
        amount: 100,
        fee: 1,
        nonce: 1,
    });
    let signed = SignedTx { signature: sign(&depositor, &transfer.signing_message(chain_id)), tx: transfer };
    let id = node.rpc_ok("rollup_sendTransaction", json!([hex::encode(&signed.encode())]));
    wait_for("the transfer to be included", || {
        !node.rpc_ok("rollup_getTransactionReceipt", json!([id])).is_null()
    });
    let status = node.rpc_ok("rollup_getL1Status", json!([]));
    assert_eq!(status["stalled"], Value::Null);
    assert_eq!(status["anchor_height"], tip_final);
    assert_eq!(status["cursor"], 2);
    assert_eq!(node.metric("rollup_sequencer_l1_stalled"), Some(0.0));
    assert_eq!(node.metric("rollup_sequencer_l1_anchor_lag_blocks"), Some(0.0));

    // Restarted, the follower scans again from the start height: the same messages
    // get the same cursors, nothing is consumed twice, production goes on.
    let mut node = node;
    node.restart();
    node.wait_ready();
    let transfer = UserTx::Transfer(Transfer {
        from: 9,
        to: 3,
        to_pubkey: pubkey_of(&receiver),
        amount: 100,
        fee: 1,
        nonce: 2,
    });
    let signed = SignedTx { signature: sign(&depositor, &transfer.signing_message(chain_id)), tx: transfer };
    let id = node.rpc_ok("rollup_sendTransaction", json!([hex::encode(&signed.encode())]));
    wait_for("a transfer after the restart", || {
        !node.rpc_ok("rollup_getTransactionReceipt", json!([id])).is_null()
    });
    let status = node.rpc_ok("rollup_getL1Status", json!([]));
    assert_eq!(
        (status["cursor"].as_u64(), status["anchor_height"].as_u64()),
        (Some(2), Some(u64::from(tip_final)))
    );
    assert_eq!(account(&node, 9), Some((330 - 202, 2)));
    assert_eq!(account(&node, 2), Some((rollup_l2::DEVNET_USER_BALANCE - 5_010, 1)));
}

/// Runs `rollup wallet ARGS`, which must succeed; its standard output.
fn wallet(args: &[&str]) -> String {
    let output = rollup_e2e::run_rollup(&[&["wallet"], args].concat(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "rollup wallet {args:?} failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_wallet_deposits_and_force_sends_through_bitcoin() {
    let env = TestEnv::start();
    let dir = tempfile::tempdir().unwrap();
    let start_height = env.esplora().get_height().unwrap() + 1;
    let chain_id = 0x4c32;
    let genesis = Genesis {
        l1: L1Rules { start_height, finality_depth: 2, forced_inclusion_window: 6, ..L1Rules::devnet() },
        ..Genesis::devnet(chain_id)
    };
    let node = start_node(&env, dir.path(), &genesis);

    // A Bitcoin key with one coin, and two fresh L2 keys.
    let secp = Secp256k1::new();
    let bitcoin_key = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
    let key_file = dir.path().join("bitcoin.key");
    std::fs::write(&key_file, bitcoin_key.secret_key().display_secret().to_string()).unwrap();
    let address = Address::p2tr(&secp, bitcoin_key.x_only_public_key().0, None, KnownHrp::Regtest);
    env.fund(&address, Amount::from_sat(2_000_000));
    env.mine(1, None);
    let (alice, bob) = (dir.path().join("alice.key"), dir.path().join("bob.key"));
    let (alice, bob) = (alice.to_str().unwrap(), bob.to_str().unwrap());
    wallet(&["--wallet", alice, "new"]);
    wallet(&["--wallet", bob, "new"]);
    let bob_pubkey = wallet(&["--wallet", bob, "address"]).trim().to_owned();
    let bitcoin_args = ["--bitcoin-key", key_file.to_str().unwrap(), "--esplora", env.esplora_url()];

    // Alice deposits 50,000 sat into a new account 12.
    let out = wallet(
        &[&["--wallet", alice, "--node", node.url(), "deposit", "50000", "--to", "12"], &bitcoin_args[..]]
            .concat(),
    );
    assert!(out.starts_with("deposit of 50000 sat to account 12 posted in "), "{out}");
    env.mine(2, None);
    wait_for("the deposit to be credited", || account(&node, 12).is_some());
    assert_eq!(account(&node, 12), Some((50_000, 0)));

    // Alice forces a transfer of 1,000 sat (fee 1) to Bob's new account 13.
    let out = wallet(
        &[
            &[
                "--wallet",
                alice,
                "--node",
                node.url(),
                "force-send",
                "--to",
                "13",
                "--to-pubkey",
                &bob_pubkey,
            ],
            &["--amount", "1000", "--fee", "1"][..],
            &bitcoin_args[..],
        ]
        .concat(),
    );
    assert!(out.starts_with("forced transfer "), "{out}");
    env.mine(2, None);
    wait_for("the forced transfer to execute", || account(&node, 13).is_some());
    assert_eq!(account(&node, 13), Some((1_000, 0)));
    assert_eq!(account(&node, 12), Some((48_999, 1)));
    let balance = wallet(&["--wallet", bob, "--node", node.url(), "balance"]);
    assert_eq!(balance.trim(), "account 13: balance 1000 sat, nonce 0");
}

#[test]
fn a_sequencer_that_cannot_reach_bitcoin_produces_no_block_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: Esplora is unreachable.
    let config = "[roles]\nsequencer = true\n[bitcoin]\nesplora_url = \"http://127.0.0.1:1\"\n\
                  [sequencer]\nblock_time_ms = 20\nfollow_bitcoin = true\nl1_poll_ms = 20\n";
    let node = NodeProcess::start(NodeOptions::default().config(config).data_dir(&dir.path().join("data")));
    node.wait_ready();
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    let chain_id = node.rpc_ok("rollup_nodeInfo", json!([]))["chain_id"].as_u64().unwrap();
    let transfer = UserTx::Transfer(Transfer {
        from: 2,
        to: 3,
        to_pubkey: pubkey_of(&SecretKey::from_seed(b"unreachable")),
        amount: 10,
        fee: 1,
        nonce: 1,
    });
    let signed = SignedTx { signature: sign(&user, &transfer.signing_message(chain_id)), tx: transfer };
    let id = node.rpc_ok("rollup_sendTransaction", json!([hex::encode(&signed.encode())]));
    wait_for("the stall to be reported", || {
        node.rpc_ok("rollup_getL1Status", json!([]))["stalled"].as_str().is_some_and(|reason| {
            reason.starts_with(
                "L1 messages unavailable: cannot follow Bitcoin: bitcoin source: cannot read the tip height",
            )
        })
    });
    // No final Bitcoin tip is known, so no block can be shown to keep the window.
    assert_eq!(node.rpc_ok("rollup_getStateRoot", json!([]))["block_number"], 0);
    assert_eq!(node.rpc_ok("rollup_getTransactionReceipt", json!([id])), Value::Null);
    assert_eq!(node.metric("rollup_sequencer_l1_stalled"), Some(1.0));
    assert!(node.log().contains("block production stopped"), "{}", node.log());
}
