//! End-to-end tests of the Bitcoin side, through the Esplora API (esplora-client) and
//! the devnet control API only. They run unchanged against an external regtest
//! bitcoind + Esplora (`cargo xtask e2e-reference`; docs/devnet.md).

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::Message;
use bitcoin::sighash::{Prevouts, SighashCache};
use bitcoin::taproot::{LeafVersion, TapLeafHash, TaprootBuilder};
use bitcoin::{
    absolute, opcodes, transaction, Address, Amount, KnownHrp, OutPoint, ScriptBuf, Sequence, TapSighashType,
    Transaction, TxIn, TxOut, Txid, Witness,
};
use rollup_devnet::Wallet;
use rollup_e2e::{http_get, TestEnv};

mod da;
mod da_poster;
mod esplora_shapes;
mod l1_messages;
mod winternitz;

/// The output of `txid` paying `script`, read through Esplora.
fn output_of(env: &TestEnv, txid: Txid, script: &ScriptBuf) -> (OutPoint, TxOut) {
    let tx = env.esplora().get_tx(&txid).unwrap().expect("transaction known to Esplora");
    let vout = tx.output.iter().position(|output| output.script_pubkey == *script).expect("output to script");
    (OutPoint::new(txid, vout as u32), tx.output[vout].clone())
}

fn confirmed_height(env: &TestEnv, txid: &Txid) -> Option<u32> {
    let status = env.esplora().get_tx_status(txid).unwrap();
    status.confirmed.then(|| status.block_height.unwrap())
}

/// A one-input, one-output transaction spending `outpoint` to `to`.
fn spend(outpoint: OutPoint, value: Amount, to: ScriptBuf, sequence: Sequence) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value, script_pubkey: to }],
    }
}

fn sink() -> ScriptBuf {
    Wallet::random().script_pubkey()
}

/// The reject reason Bitcoin Core 31 gives when input `input` of `tx` fails its
/// script with `error` (Core's `ScriptErrorString`).
fn script_refusal(tx: &Transaction, input: usize, error: &str) -> String {
    format!(
        "mempool-script-verify-flag-failed ({error}), input {input} of {} (wtxid {}), spending {}",
        tx.compute_txid(),
        tx.compute_wtxid(),
        tx.input[input].previous_output
    )
}

#[test]
fn a_key_path_spend_is_mined_and_its_merkle_proofs_check_against_the_header() {
    let env = TestEnv::start();
    let user = Wallet::random();
    let funding = env.fund(&user.address(), Amount::from_sat(100_000_000));
    assert_eq!(confirmed_height(&env, &funding), None);
    env.mine(1, None);
    let funded_at = confirmed_height(&env, &funding).expect("funding confirmed");

    let utxos = env.esplora().get_address_utxos(&user.address()).unwrap();
    assert_eq!(utxos.len(), 1);
    assert_eq!(
        (utxos[0].txid, utxos[0].value, utxos[0].status.confirmed),
        (funding, Amount::from_sat(100_000_000), true)
    );

    let coin = output_of(&env, funding, &user.script_pubkey());
    let payment = user.pay(std::slice::from_ref(&coin), sink(), Amount::from_sat(40_000_000)).unwrap();
    assert_eq!(env.broadcast(&payment), None);
    let txid = payment.compute_txid();
    let block = env.mine(1, None)[0];
    assert_eq!(confirmed_height(&env, &txid), Some(funded_at + 1));

    // The merkle branch leads from the txid to the header's merkle root.
    let header = env.esplora().get_header_by_hash(&block).unwrap();
    let proof = env.esplora().get_merkle_proof(&txid).unwrap().unwrap();
    assert_eq!(proof.block_height, funded_at + 1);
    let mut hash = txid.to_raw_hash();
    let mut position = proof.pos;
    for sibling in &proof.merkle {
        let mut engine = bitcoin::hashes::sha256d::Hash::engine();
        let (left, right) =
            if position % 2 == 0 { (hash, sibling.to_raw_hash()) } else { (sibling.to_raw_hash(), hash) };
        bitcoin::hashes::HashEngine::input(&mut engine, left.as_byte_array());
        bitcoin::hashes::HashEngine::input(&mut engine, right.as_byte_array());
        hash = bitcoin::hashes::sha256d::Hash::from_engine(engine);
        position /= 2;
    }
    assert_eq!(hash, header.merkle_root.to_raw_hash());
    // The BIP-37 merkle block proves the same.
    let merkle_block = env.esplora().get_merkle_block(&txid).unwrap().unwrap();
    assert_eq!(merkle_block.header, header);
    let (mut matches, mut indexes) = (Vec::new(), Vec::new());
    let root = merkle_block.txn.extract_matches(&mut matches, &mut indexes).unwrap();
    assert_eq!((root, matches), (header.merkle_root, vec![txid]));

    // The funding output is reported spent by the payment.
    let outspend = env.esplora().get_output_status(&funding, coin.0.vout as u64).unwrap().unwrap();
    assert!(outspend.spent);
    assert_eq!(outspend.txid, Some(txid));
    assert_eq!(outspend.vin, Some(0));
    let info = env.esplora().get_tx_info(&txid).unwrap().unwrap();
    assert_eq!(
        info.fee,
        100_000_000 - payment.output.iter().map(|output| output.value.to_sat()).sum::<u64>()
    );
    assert_eq!(info.vin[0].prevout.as_ref().unwrap().value, 100_000_000);
}

#[test]
fn a_tapscript_path_spend_is_accepted_and_a_forged_one_is_refused() {
    let env = TestEnv::start();
    let secp = Secp256k1::new();
    let leaf_key = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
    let internal = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng()).x_only_public_key().0;
    let script = bitcoin::script::Builder::new()
        .push_x_only_key(&leaf_key.x_only_public_key().0)
        .push_opcode(opcodes::all::OP_CHECKSIG)
        .into_script();
    let tree = TaprootBuilder::new().add_leaf(0, script.clone()).unwrap().finalize(&secp, internal).unwrap();
    let address = Address::p2tr_tweaked(tree.output_key(), KnownHrp::Regtest);
    let funding = env.fund(&address, Amount::from_sat(50_000_000));
    env.mine(1, None);
    let (outpoint, prevout) = output_of(&env, funding, &address.script_pubkey());

    let signed = |tamper: bool| {
        let mut tx = spend(outpoint, Amount::from_sat(49_990_000), sink(), Sequence::MAX);
        let leaf_hash = TapLeafHash::from_script(&script, LeafVersion::TapScript);
        let sighash = SighashCache::new(&tx)
            .taproot_script_spend_signature_hash(
                0,
                &Prevouts::All(std::slice::from_ref(&prevout)),
                leaf_hash,
                TapSighashType::Default,
            )
            .unwrap();
        let mut signature =
            secp.sign_schnorr(&Message::from_digest(sighash.to_byte_array()), &leaf_key).serialize().to_vec();
        if tamper {
            signature[10] ^= 0x80;
        }
        let control = tree.control_block(&(script.clone(), LeafVersion::TapScript)).unwrap();
        tx.input[0].witness = Witness::from_slice(&[signature, script.to_bytes(), control.serialize()]);
        tx
    };
    let forged = signed(true);
    let reason = env.broadcast(&forged).expect("forged signature refused");
    assert_eq!(reason, script_refusal(&forged, 0, "Invalid Schnorr signature"));
    let good = signed(false);
    assert_eq!(env.broadcast(&good), None);
    env.mine(1, None);
    assert!(confirmed_height(&env, &good.compute_txid()).is_some());
}

#[test]
fn a_csv_locked_output_is_refused_early_and_accepted_at_maturity() {
    let env = TestEnv::start();
    let witness_script = bitcoin::script::Builder::new()
        .push_int(3)
        .push_opcode(opcodes::all::OP_CSV)
        .push_opcode(opcodes::all::OP_DROP)
        .push_opcode(opcodes::OP_TRUE)
        .into_script();
    let address = Address::p2wsh(&witness_script, KnownHrp::Regtest);
    let funding = env.fund(&address, Amount::from_sat(500_000));
    env.mine(1, None);
    let (outpoint, _) = output_of(&env, funding, &address.script_pubkey());
    let mut tx = spend(outpoint, Amount::from_sat(490_000), sink(), Sequence::from_height(3));
    tx.input[0].witness = Witness::from_slice(&[witness_script.as_bytes()]);

    // Confirmed at height h: spendable from the block at h + 3 on.
    assert_eq!(env.broadcast(&tx).as_deref(), Some("non-BIP68-final"));
    env.mine(1, None);
    assert_eq!(env.broadcast(&tx).as_deref(), Some("non-BIP68-final"));
    env.mine(1, None);
    assert_eq!(env.broadcast(&tx), None);
    env.mine(1, None);
    assert!(confirmed_height(&env, &tx.compute_txid()).is_some());
}

#[test]
fn double_spends_and_immature_coinbase_spends_are_refused() {
    let env = TestEnv::start();
    let user = Wallet::random();
    let funding = env.fund(&user.address(), Amount::from_sat(10_000_000));
    env.mine(1, None);
    let coin = output_of(&env, funding, &user.script_pubkey());
    let first = user.pay(std::slice::from_ref(&coin), sink(), Amount::from_sat(5_000_000)).unwrap();
    assert_eq!(env.broadcast(&first), None);
    env.mine(1, None);
    let second = user.pay(&[coin], sink(), Amount::from_sat(4_000_000)).unwrap();
    assert_eq!(env.broadcast(&second).as_deref(), Some("bad-txns-inputs-missingorspent"));

    // A coinbase paying the user, spent right away.
    let block = env.mine(1, Some(&user.address()))[0];
    let coinbase = env.esplora().get_txid_at_block_index(&block, 0).unwrap().unwrap();
    let reward = output_of(&env, coinbase, &user.script_pubkey());
    let early = user.pay(&[reward], sink(), Amount::from_sat(1_000_000)).unwrap();
    assert_eq!(
        env.broadcast(&early).as_deref(),
        Some("bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 1")
    );
}

#[test]
fn a_reorg_unconfirms_a_transaction_and_a_new_block_confirms_it_again() {
    let env = TestEnv::start();
    let user = Wallet::random();
    let txid = env.fund(&user.address(), Amount::from_sat(3_000_000));
    let first_block = env.mine(1, None)[0];
    let height = confirmed_height(&env, &txid).expect("confirmed");
    assert_eq!(env.esplora().get_block_hash(height).unwrap(), first_block);

    env.reorg(1);
    assert_eq!(env.esplora().get_height().unwrap(), height + 1);
    assert_eq!(confirmed_height(&env, &txid), None, "still confirmed after the reorg");
    assert!(!env.esplora().get_block_status(&first_block).unwrap().in_best_chain);
    assert_eq!(env.esplora().get_mempool_txids().unwrap(), vec![txid]);

    let again = env.mine(1, None)[0];
    assert_eq!(confirmed_height(&env, &txid), Some(height + 2));
    assert_eq!(env.esplora().get_tx_status(&txid).unwrap().block_hash, Some(again));
}

#[test]
fn unknown_and_malformed_queries_get_esplora_answers() {
    let env = TestEnv::start();
    let unknown = Txid::from_byte_array([7; 32]);
    assert_eq!(env.esplora().get_tx(&unknown).unwrap(), None);
    assert_eq!(env.esplora().get_tx_info(&unknown).unwrap(), None);
    assert_eq!(env.esplora().get_merkle_proof(&unknown).unwrap(), None);
    let (status, _) = http_get(&format!("{}/tx/not-a-txid", env.esplora_url()));
    assert_eq!(status, 400);
    let (status, body) = http_get(&format!("{}/tx/{unknown}", env.esplora_url()));
    assert_eq!((status, body.as_str()), (404, "Transaction not found"));
    let (status, _) = http_get(&format!("{}/block-height/999999", env.esplora_url()));
    assert_eq!(status, 404);
    let tip = env.esplora().get_height().unwrap();
    let tip_hash = env.esplora().get_tip_hash().unwrap();
    assert_eq!(env.esplora().get_block_hash(tip).unwrap(), tip_hash);
    assert_eq!(env.esplora().get_block_info(&tip_hash).unwrap().height, tip);
    // Targets in blocks to sat/vB; electrs has none on a regtest chain without fee
    // history (an empty map), and readers fall back to their floor.
    let (status, body) = http_get(&format!("{}/fee-estimates", env.esplora_url()));
    assert_eq!(status, 200);
    let estimates: std::collections::BTreeMap<u16, f64> = serde_json::from_str(&body).unwrap();
    assert!(estimates.iter().all(|(target, rate)| *target >= 1 && *rate > 0.0), "{body}");
}

#[test]
fn the_embedded_devnet_continues_its_chain_after_a_restart() {
    let mut env = TestEnv::start();
    if !env.is_embedded() {
        eprintln!("a test of the devnet itself: the external backend is not restarted by this suite");
        return;
    }
    let user = Wallet::random();
    let txid = env.fund(&user.address(), Amount::from_sat(1_000_000));
    env.mine(2, None);
    let (height, tip) = (env.esplora().get_height().unwrap(), env.esplora().get_tip_hash().unwrap());
    env.restart_devnet();
    assert_eq!(env.esplora().get_height().unwrap(), height);
    assert_eq!(env.esplora().get_tip_hash().unwrap(), tip);
    assert!(confirmed_height(&env, &txid).is_some());
    env.mine(1, None);
    assert_eq!(env.esplora().get_height().unwrap(), height + 1);
}

#[test]
fn the_control_api_refuses_bad_requests_with_reasons() {
    let env = TestEnv::start();
    if !env.is_embedded() {
        eprintln!("a test of the devnet itself: bitcoind has no devnet control API");
        return;
    }
    let post = |action: &str, body: &str| -> (u16, String) {
        match ureq::post(&format!("{}/devnet/{action}", env.esplora_url())).send_string(body) {
            Ok(response) => (response.status(), response.into_string().unwrap()),
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(
        post("mine", r#"{"blocks":0}"#),
        (400, r#"{"error":"blocks must be between 1 and 10000"}"#.to_owned())
    );
    let (status, body) = post("mine", r#"{"blocks":1,"extra":true}"#);
    assert_eq!(status, 400);
    assert!(body.starts_with(r#"{"error":"invalid request: unknown field `extra`"#), "{body}");
    assert_eq!(post("mine", "not json").0, 400);
    assert_eq!(
        post("faucet", r#"{"address":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","amount_sat":5}"#),
        (
            400,
            r#"{"error":"invalid regtest address: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}"#.to_owned()
        )
    );
    let address = Wallet::random().address().to_string();
    let (status, body) =
        post("faucet", &format!(r#"{{"address":"{address}","amount_sat":2100000000000000}}"#));
    assert_eq!(status, 422);
    assert!(body.starts_with(r#"{"error":"insufficient funds: need "#), "{body}");
    let height = env.esplora().get_height().unwrap();
    assert_eq!(
        post("reorg", &format!(r#"{{"depth":{}}}"#, height + 1)),
        (
            400,
            format!(
                r#"{{"error":"cannot reorganise {} blocks: the chain has {height} blocks above genesis"}}"#,
                height + 1
            )
        )
    );
    // Nothing changed.
    assert_eq!(env.esplora().get_height().unwrap(), height);
}
