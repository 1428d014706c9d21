//! Transaction acceptance rate and block mining/validation time of the devnet.
//!
//! `cargo bench -p rollup-devnet --bench throughput`. A funded devnet fans out coins to
//! a key, then for blocks of 1, 100 and 1,000 transactions: signs that many
//! independent P2TR key-path spends (not timed), submits them (timed: Core's checks
//! plus script verification by libbitcoinkernel per input), and mines one block with
//! them (timed: assembly, full validation by the kernel's `process_block`, indexing).
//! `ROLLUP_BENCH_ROUNDS` sets the rounds per size (default 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bitcoin::{
    absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};
use rollup_devnet::{Devnet, DevnetConfig, Policy, Wallet};

const SIZES: [usize; 3] = [1, 100, 1_000];
const COIN: Amount = Amount::from_sat(1_000_000);

fn fan_out(devnet: &mut Devnet, to: &Wallet, count: usize) -> Vec<(OutPoint, TxOut)> {
    let wallet = devnet.wallet().clone();
    let mut coins = Vec::new();
    while coins.len() < count {
        let (outpoint, spent) =
            devnet.spendable(&wallet.script_pubkey()).into_iter().next().expect("a wallet coin");
        let outputs = (count - coins.len()).min(2_000);
        let fee = Amount::from_sat(200 * outputs as u64 + 1_000);
        let change = spent.value - COIN * outputs as u64 - fee;
        let mut output = vec![TxOut { value: COIN, script_pubkey: to.script_pubkey() }; outputs];
        output.push(TxOut { value: change, script_pubkey: wallet.script_pubkey() });
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output,
        };
        wallet.sign_key_path(&mut tx, &[spent]).unwrap();
        let txid = devnet.submit(tx.clone()).unwrap();
        coins.extend((0..outputs).map(|vout| (OutPoint::new(txid, vout as u32), tx.output[vout].clone())));
        devnet.mine(1, &wallet.script_pubkey()).unwrap();
    }
    coins
}

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let rounds: usize = match std::env::var("ROLLUP_BENCH_ROUNDS") {
        Ok(rounds) => rounds.parse().expect("ROLLUP_BENCH_ROUNDS must be a number"),
        Err(_) if benching => 3,
        Err(_) => 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::open(&DevnetConfig {
        data_dir: dir.path().to_owned(),
        policy: Policy { accept_nonstandard: true, full_rbf: false },
    })
    .unwrap();
    devnet.ensure_funded().unwrap();
    let key = Wallet::random();
    let sink = Wallet::random().script_pubkey();
    let needed: usize = SIZES.iter().sum::<usize>() * rounds;
    let mut coins = fan_out(&mut devnet, &key, needed).into_iter();

    println!(
        "{:<12} {:>14} {:>16} {:>18} {:>14}",
        "txs/block", "accept (ms)", "accepted tx/s", "mine+validate (ms)", "block weight"
    );
    for size in SIZES {
        let (mut accept, mut mine) = (Duration::ZERO, Duration::ZERO);
        let mut weight = 0;
        for _ in 0..rounds {
            let txs: Vec<Transaction> = (&mut coins)
                .take(size)
                .map(|coin| key.pay(&[coin], sink.clone(), Amount::from_sat(900_000)).unwrap())
                .collect();
            let started = Instant::now();
            for tx in txs {
                devnet.submit(tx).unwrap();
            }
            accept += started.elapsed();
            let started = Instant::now();
            let hash = devnet.mine(1, &sink).unwrap()[0];
            mine += started.elapsed();
            let (block, _) = devnet.chain().block(&hash).unwrap();
            assert_eq!(block.txids.len(), size + 1, "every submitted transaction was mined");
            weight = block.weight.to_wu();
        }
        let per_round = |total: Duration| total.as_secs_f64() * 1000.0 / rounds as f64;
        let rate = (size * rounds) as f64 / accept.as_secs_f64();
        println!(
            "{size:<12} {:>14.2} {rate:>16.0} {:>18.2} {weight:>14}",
            per_round(accept),
            per_round(mine)
        );
    }
}
