//! The devnet core against Bitcoin Core's engine: mining, acceptance, reorgs, restarts
//! and blocks the kernel itself refuses.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use rollup_devnet::{Devnet, DevnetConfig, MineError, Policy, RejectCode, TxRejected, Wallet, FUNDED_HEIGHT};

fn open(dir: &std::path::Path) -> Devnet {
    Devnet::open(&DevnetConfig {
        data_dir: dir.to_owned(),
        policy: Policy { accept_nonstandard: true, full_rbf: false },
    })
    .unwrap()
}

fn funded() -> (tempfile::TempDir, Devnet) {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = open(dir.path());
    devnet.ensure_funded().unwrap();
    (dir, devnet)
}

fn rejected(reason: &str) -> TxRejected {
    TxRejected { code: RejectCode::Rejected, reason: reason.to_owned() }
}

/// The single output of `txid` paying `script`.
fn output_to(devnet: &Devnet, txid: bitcoin::Txid, script: &ScriptBuf) -> (OutPoint, TxOut) {
    let tx = devnet
        .mempool()
        .get(&txid)
        .map(|entry| entry.tx.clone())
        .or_else(|| devnet.chain().tx(&txid).map(|c| c.tx.clone()))
        .unwrap();
    let vout = tx.output.iter().position(|output| output.script_pubkey == *script).unwrap();
    (OutPoint::new(txid, vout as u32), tx.output[vout].clone())
}

#[test]
fn a_new_devnet_mines_to_maturity_and_pays_from_its_faucet() {
    let (_dir, mut devnet) = funded();
    assert_eq!(devnet.height(), FUNDED_HEIGHT);
    // Coinbases of heights 1..=11 are mature for the block at height 111.
    assert_eq!(devnet.spendable(&devnet.wallet().script_pubkey()).len(), 11);

    let user = Wallet::random();
    let txid = devnet.faucet(user.script_pubkey(), Amount::from_sat(150_000_000)).unwrap();
    assert!(devnet.mempool().get(&txid).is_some());
    devnet.mine(1, &user.script_pubkey()).unwrap();
    assert!(devnet.mempool().is_empty());
    let confirmed = devnet.chain().tx(&txid).unwrap();
    assert_eq!(confirmed.height, FUNDED_HEIGHT + 1);
    assert_eq!(confirmed.position, 1);
    // The user now has the payment (the fresh coinbase is immature).
    let coins = devnet.spendable(&user.script_pubkey());
    assert_eq!(coins.len(), 1);
    assert_eq!(coins[0].1.value, Amount::from_sat(150_000_000));
}

#[test]
fn double_spends_and_bad_signatures_are_refused_with_core_reasons() {
    let (_dir, mut devnet) = funded();
    let user = Wallet::random();
    let funding = devnet.faucet(user.script_pubkey(), Amount::from_sat(100_000)).unwrap();
    devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    let coin = output_to(&devnet, funding, &user.script_pubkey());

    let sink = Wallet::random().script_pubkey();
    let spend =
        |value: u64| user.pay(std::slice::from_ref(&coin), sink.clone(), Amount::from_sat(value)).unwrap();
    let first = spend(50_000);
    devnet.submit(first.clone()).unwrap();
    assert_eq!(devnet.submit(first.clone()), Err(rejected("txn-already-in-mempool")));
    assert_eq!(devnet.submit(spend(40_000)), Err(rejected("txn-mempool-conflict")));

    devnet.mine(1, &sink).unwrap();
    assert_eq!(
        devnet.submit(spend(40_000)),
        Err(TxRejected { code: RejectCode::Verify, reason: "bad-txns-inputs-missingorspent".to_owned() })
    );

    // A forged signature on an unspent coin.
    let change = output_to(&devnet, first.compute_txid(), &user.script_pubkey());
    let mut forged = user.pay(&[change], sink.clone(), Amount::from_sat(10_000)).unwrap();
    let mut signature = forged.input[0].witness.to_vec();
    signature[0][5] ^= 1;
    forged.input[0].witness = Witness::from_slice(&signature);
    let error = devnet.submit(forged.clone()).unwrap_err();
    assert_eq!(
        error,
        rejected(&format!(
            "mempool-script-verify-flag-failed (Invalid Schnorr signature), input 0 of {} (wtxid {}), spending {}",
            forged.compute_txid(),
            forged.compute_wtxid(),
            forged.input[0].previous_output
        ))
    );
}

#[test]
fn immature_coinbases_and_early_csv_spends_are_refused() {
    let (_dir, mut devnet) = funded();
    let wallet = devnet.wallet().clone();
    // The newest coinbase is immature.
    let tip = devnet.chain().tip().unwrap().clone();
    let coinbase_txid = tip.txids[0];
    let coinbase = output_to(&devnet, coinbase_txid, &wallet.script_pubkey());
    let early = wallet.pay(&[coinbase], wallet.script_pubkey(), Amount::from_sat(1_000_000)).unwrap();
    assert_eq!(
        devnet.submit(early),
        Err(rejected("bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 1"))
    );

    // An output locked by OP_CSV for 3 blocks (P2WSH of `3 OP_CSV OP_DROP OP_TRUE`).
    let witness_script = bitcoin::script::Builder::new()
        .push_int(3)
        .push_opcode(bitcoin::opcodes::all::OP_CSV)
        .push_opcode(bitcoin::opcodes::all::OP_DROP)
        .push_opcode(bitcoin::opcodes::OP_TRUE)
        .into_script();
    let locked_script = ScriptBuf::new_p2wsh(&witness_script.wscript_hash());
    let funding = devnet.faucet(locked_script.clone(), Amount::from_sat(500_000)).unwrap();
    devnet.mine(1, &wallet.script_pubkey()).unwrap();
    let (outpoint, _) = output_to(&devnet, funding, &locked_script);
    let spend = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::from_height(3),
            witness: Witness::from_slice(&[witness_script.as_bytes()]),
        }],
        output: vec![TxOut { value: Amount::from_sat(490_000), script_pubkey: wallet.script_pubkey() }],
    };
    // Confirmed at height h, spendable in block h + 3.
    assert_eq!(devnet.submit(spend.clone()), Err(rejected("non-BIP68-final")));
    devnet.mine(1, &wallet.script_pubkey()).unwrap();
    assert_eq!(devnet.submit(spend.clone()), Err(rejected("non-BIP68-final")));
    devnet.mine(1, &wallet.script_pubkey()).unwrap();
    assert_eq!(devnet.submit(spend.clone()), Ok(spend.compute_txid()));
    devnet.mine(1, &wallet.script_pubkey()).unwrap();
    assert!(devnet.chain().tx(&spend.compute_txid()).is_some());
}

#[test]
fn the_kernel_refuses_blocks_that_break_consensus_rules() {
    let (_dir, mut devnet) = funded();
    let height = devnet.height();
    // Too much coinbase value: the devnet's own checks never look at it.
    let error = devnet
        .mine_block_with(Vec::new(), |block| {
            block.txdata[0].output[0].value += Amount::from_sat(1);
            rollup_devnet::finalize(block);
        })
        .unwrap_err();
    match error {
        MineError::Rejected(rejection) => assert_eq!(rejection.reason, "bad-cb-amount"),
        other => panic!("expected a rejection, got {other}"),
    }
    // A wrong witness commitment.
    let error = devnet
        .mine_block_with(Vec::new(), |block| {
            let commitment = block.txdata[0].output.last_mut().unwrap();
            let mut bytes = commitment.script_pubkey.to_bytes();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            commitment.script_pubkey = ScriptBuf::from_bytes(bytes);
            rollup_devnet::finalize(block);
        })
        .unwrap_err();
    match error {
        MineError::Rejected(rejection) => assert_eq!(rejection.reason, "bad-witness-merkle-match"),
        other => panic!("expected a rejection, got {other}"),
    }
    assert_eq!(devnet.height(), height);
    // An untampered block still goes through.
    devnet.mine_block_with(Vec::new(), |_| {}).unwrap();
    assert_eq!(devnet.height(), height + 1);
}

#[test]
fn a_reorg_unconfirms_and_a_new_block_confirms_again() {
    let (_dir, mut devnet) = funded();
    let user = Wallet::random();
    let txid = devnet.faucet(user.script_pubkey(), Amount::from_sat(70_000)).unwrap();
    let mined = devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    let height = devnet.height();
    assert_eq!(devnet.chain().tx(&txid).unwrap().height, height);

    let branch = devnet.reorg(1).unwrap();
    assert_eq!(branch.len(), 2);
    assert_eq!(devnet.height(), height + 1);
    assert!(devnet.chain().tx(&txid).is_none());
    assert!(devnet.mempool().get(&txid).is_some());
    let (block, in_best_chain) = devnet.chain().block(&mined[0]).unwrap();
    assert_eq!((block.height, in_best_chain), (height, false));

    devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    assert_eq!(devnet.chain().tx(&txid).unwrap().height, height + 2);
    assert!(devnet.mempool().is_empty());
}

#[test]
fn a_restarted_devnet_continues_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (tip, address) = {
        let mut devnet = open(dir.path());
        devnet.mine(5, &devnet.wallet().script_pubkey()).unwrap();
        (devnet.chain().tip().unwrap().hash, devnet.wallet().address())
    };
    let mut devnet = open(dir.path());
    assert_eq!(devnet.height(), 5);
    assert_eq!(devnet.chain().tip().unwrap().hash, tip);
    assert_eq!(devnet.wallet().address(), address);
    devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    assert_eq!(devnet.height(), 6);
}

#[test]
fn a_valid_side_block_confirms_nothing() {
    let (_dir, mut devnet) = funded();
    let user = Wallet::random();
    let txid = devnet.faucet(user.script_pubkey(), Amount::from_sat(20_000)).unwrap();
    let tx = devnet.mempool().get(&txid).unwrap().tx.clone();
    let fee = devnet.mempool().get(&txid).unwrap().fee;
    let tip = devnet.chain().tip().unwrap().clone();
    let parent = devnet.chain().block_at(tip.height - 1).unwrap().clone();
    // A competitor of the tip with the same work: valid, stored, but the tip stays.
    let side = rollup_devnet::assemble(rollup_devnet::BlockPlan {
        prev: parent.hash,
        height: tip.height,
        time: tip.header.time + 1,
        txs: vec![tx],
        fees: fee,
        payout: user.script_pubkey(),
        extra_nonce: 77,
    });
    assert_eq!(devnet.submit_block(&side).unwrap(), side.block_hash());
    assert_eq!(devnet.chain().tip().unwrap().hash, tip.hash);
    assert!(
        devnet.mempool().get(&txid).is_some(),
        "a side block must not take transactions out of the mempool"
    );
    assert!(devnet.chain().tx(&txid).is_none());
}

#[test]
fn a_fee_floor_leaves_cheap_transactions_stuck_until_a_child_pays_for_them() {
    let (_dir, mut devnet) = funded();
    let user = Wallet::random();
    let miner = devnet.wallet().script_pubkey();
    // The faucet pays 2 sat/vB: below a 5 sat/vB floor.
    let funding = devnet.faucet(user.script_pubkey(), Amount::from_sat(100_000)).unwrap();
    let height = devnet.height();
    devnet.mine_above(2, &miner, bitcoin::FeeRate::from_sat_per_vb_u32(5)).unwrap();
    assert_eq!(devnet.height(), height + 2);
    assert!(devnet.mempool().get(&funding).is_some(), "stuck below the floor");

    // A child spending the unconfirmed output with 5,000 sats of fee lifts the package.
    let (outpoint, output) = output_to(&devnet, funding, &user.script_pubkey());
    let mut child = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(95_000),
            script_pubkey: Wallet::random().script_pubkey(),
        }],
    };
    user.sign_key_path(&mut child, &[output]).unwrap();
    let child = devnet.submit(child).unwrap();
    devnet.mine_above(1, &miner, bitcoin::FeeRate::from_sat_per_vb_u32(5)).unwrap();
    assert!(devnet.mempool().is_empty());
    let mined = devnet.chain().tip().unwrap().hash;
    let block = devnet.full_block(&mined).unwrap();
    let txids: Vec<bitcoin::Txid> = block.txdata.iter().skip(1).map(Transaction::compute_txid).collect();
    assert_eq!(txids, [funding, child], "the parent goes in first, with its child");
}

/// `from`'s coins spent whole to `to`, minus `fee`, signed.
fn spend_all(from: &Wallet, coins: &[(OutPoint, TxOut)], to: &ScriptBuf, fee: u64) -> Transaction {
    let total: u64 = coins.iter().map(|(_, output)| output.value.to_sat()).sum();
    let mut tx = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: coins
            .iter()
            .map(|(outpoint, _)| TxIn {
                previous_output: *outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            })
            .collect(),
        output: vec![TxOut { value: Amount::from_sat(total - fee), script_pubkey: to.clone() }],
    };
    let spent: Vec<TxOut> = coins.iter().map(|(_, output)| output.clone()).collect();
    from.sign_key_path(&mut tx, &spent).unwrap();
    tx
}

#[test]
fn full_rbf_replaces_by_fee_with_cores_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::open(&DevnetConfig {
        data_dir: dir.path().to_owned(),
        policy: Policy { accept_nonstandard: true, full_rbf: true },
    })
    .unwrap();
    devnet.ensure_funded().unwrap();
    let (user, next) = (Wallet::random(), Wallet::random());
    let funding = devnet.faucet(user.script_pubkey(), Amount::from_sat(100_000)).unwrap();
    devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    let coin = output_to(&devnet, funding, &user.script_pubkey());

    // A transaction without RBF signalling (sequence final) and a child of it.
    let first = spend_all(&user, std::slice::from_ref(&coin), &next.script_pubkey(), 1_000);
    let first_id = devnet.submit(first.clone()).unwrap();
    let child_coin = output_to(&devnet, first_id, &next.script_pubkey());
    let child = spend_all(&next, std::slice::from_ref(&child_coin), &user.script_pubkey(), 500);
    let child_id = devnet.submit(child).unwrap();

    let refused = |devnet: &mut Devnet, tx: Transaction| devnet.submit(tx).unwrap_err().reason;
    // The first and its child paid 1,500 sat: the same fee as the first alone does not
    // pay for what it evicts (rule 3).
    let same = spend_all(&user, std::slice::from_ref(&coin), &user.script_pubkey(), 1_000);
    assert_eq!(
        refused(&mut devnet, same.clone()),
        format!(
            "insufficient fee, rejecting replacement {}, less fees than conflicting txs; 0.00001 < 0.000015",
            same.compute_txid()
        )
    );
    // As much as the evicted pair, but nothing for its own relay (rule 4: 0.1 sat/vB).
    let short = spend_all(&user, std::slice::from_ref(&coin), &user.script_pubkey(), 1_500);
    let vsize = short.weight().to_vbytes_ceil();
    assert_eq!(
        refused(&mut devnet, short.clone()),
        format!(
            "insufficient fee, rejecting replacement {}, not enough additional fees to relay; 0.00 < 0.{:08}",
            short.compute_txid(),
            vsize.div_ceil(10)
        )
        .trim_end_matches('0')
        .to_owned()
    );
    // Spending an output of the transaction it would evict.
    let both = spend_all(&user, &[coin.clone(), child_coin.clone()], &user.script_pubkey(), 10_000);
    assert_eq!(
        refused(&mut devnet, both.clone()),
        format!(
            "bad-txns-spends-conflicting-tx, {} spends conflicting transaction {first_id}",
            both.compute_txid()
        )
    );
    // Nothing changed so far. (Core 31 dropped BIP-125's rule 2: a replacement may add
    // unconfirmed inputs.)
    assert!(devnet.mempool().get(&first_id).is_some() && devnet.mempool().get(&child_id).is_some());

    // Paying for both plus its own size: accepted; the replaced pair leaves the pool.
    let replacement = spend_all(&user, std::slice::from_ref(&coin), &user.script_pubkey(), 3_000);
    let replacement_id = devnet.submit(replacement).unwrap();
    assert!(devnet.mempool().get(&first_id).is_none());
    assert!(devnet.mempool().get(&child_id).is_none());
    assert!(devnet.mempool().spender(&coin.0).is_some_and(|(txid, _)| txid == replacement_id));
    devnet.mine(1, &devnet.wallet().script_pubkey()).unwrap();
    assert!(devnet.chain().tx(&replacement_id).is_some());
    assert!(devnet.chain().tx(&first_id).is_none());
}

#[test]
fn broadcasts_answer_as_sendrawtransaction_does_and_relay_limits_are_cores() {
    let (_dir, mut devnet) = funded();
    let user = Wallet::random();
    let payout = devnet.wallet().script_pubkey();
    let funding = devnet.faucet(user.script_pubkey(), Amount::from_sat(1_000_000)).unwrap();
    // Already in the mempool: accepted again, its txid returned.
    let funding_tx = devnet.mempool().get(&funding).unwrap().tx.clone();
    assert_eq!(devnet.broadcast(funding_tx.clone()), Ok(funding));
    devnet.mine(1, &payout).unwrap();
    // Confirmed, with unspent outputs: refused with code -27.
    assert_eq!(
        devnet.broadcast(funding_tx),
        Err(TxRejected {
            code: RejectCode::AlreadyInChain,
            reason: "Transaction outputs already in utxo set".to_owned()
        })
    );

    // Below 0.1 sat/vB (Core 31's minimum relay fee): refused, with both fees.
    let coin = output_to(&devnet, funding, &user.script_pubkey());
    let free = spend_all(&user, std::slice::from_ref(&coin), &user.script_pubkey(), 0);
    let vsize = free.weight().to_vbytes_ceil();
    assert_eq!(
        devnet.broadcast(free),
        Err(rejected(&format!("min relay fee not met, 0 < {}", vsize.div_ceil(10))))
    );

    // A chain of unconfirmed transactions: 64 make one cluster, Core 31's most; the
    // 65th is refused.
    let mut last = coin;
    for _ in 0..64 {
        let next = spend_all(&user, std::slice::from_ref(&last), &user.script_pubkey(), 200);
        let txid = devnet.broadcast(next).unwrap();
        last = output_to(&devnet, txid, &user.script_pubkey());
    }
    let over = spend_all(&user, std::slice::from_ref(&last), &user.script_pubkey(), 200);
    assert_eq!(devnet.broadcast(over.clone()), Err(rejected("too-large-cluster")));
    // Once the chain is mined, the same transaction is a cluster of its own.
    devnet.mine(1, &payout).unwrap();
    assert_eq!(devnet.broadcast(over.clone()), Ok(over.compute_txid()));
}
