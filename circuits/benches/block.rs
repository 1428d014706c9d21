//! Block circuit figures for BENCHMARKS.md: gates per transaction slot, circuit size,
//! setup, proving and verification time, peak memory and proven transfers per second.
//!
//! `cargo bench -p rollup-circuits --bench block -- [CAPACITY ...]` (default 8 and 32;
//! each capacity is measured in its own process so that peak memory is its own).

#![allow(clippy::expect_used)] // A benchmark: any failure is fatal and reported.

mod common;

use std::process::Command;

use common::peak_rss_mib;
use std::time::Instant;

use rollup_circuits::block::{execute_block, BlockCircuit, BlockParameters, Chains};
use rollup_circuits::ProofSystem;
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, tx_commitment, Account, AccountTree, Block, BlockHeader, L2Tx, MemoryAccounts,
    MemoryTreeStore, SignedTx, State, StfParams, Transfer, UserTx,
};

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };

/// Gates of a circuit with `capacity` slots.
fn gates(capacity: usize) -> usize {
    BlockCircuit::setup(BlockParameters { capacity, stf: PARAMS })
        .map(|circuit| circuit.stats().gates)
        .unwrap_or(0)
}

fn measure(capacity: usize) {
    let started = Instant::now();
    let circuit = BlockCircuit::setup(BlockParameters { capacity, stf: PARAMS }).expect("setup");
    let setup = started.elapsed().as_secs_f64();
    let stats = circuit.stats();

    // A full block of transfers: half to new accounts, half to existing ones, all with fees.
    let user = SecretKey::from_seed(b"bench user");
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    state.put_account(1, Account { pubkey: pubkey_of(&SecretKey::from_seed(b"fee")), balance: 0, nonce: 0 });
    state.put_account(2, Account { pubkey: pubkey_of(&user), balance: 1 << 40, nonce: 0 });
    let prover_state = state.clone();
    let prev_state_root = state.root();
    let mut txs = Vec::new();
    let mut packed = Vec::new();
    for i in 0..capacity as u32 {
        let to = if i % 2 == 0 { 100 + i } else { 100 + i - 1 };
        let tx = UserTx::Transfer(Transfer {
            from: 2,
            to,
            to_pubkey: pubkey_of(&SecretKey::from_seed(&to.to_le_bytes())),
            amount: 1_000 + u64::from(i),
            fee: 3,
            nonce: i + 1,
        });
        let signature = sign(&user, &tx.signing_message(PARAMS.chain_id));
        let tx = L2Tx::User(SignedTx { tx, signature });
        packed.extend(state.pack(&tx));
        state.apply_tx(&PARAMS, &tx).expect("valid");
        txs.push(tx);
    }
    let header = BlockHeader {
        number: 1,
        prev_state_root,
        state_root: state.root(),
        tx_commitment: tx_commitment(&packed),
        ..Default::default()
    };
    let block = Block { header, txs };
    let mut prover_state = prover_state;
    let started = Instant::now();
    let witness = execute_block(&mut prover_state, &PARAMS, &block, &mut Chains::default()).expect("witness");
    let witness_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let proof = circuit.prove(&witness).expect("prove");
    let prove = started.elapsed().as_secs_f64();
    let started = Instant::now();
    circuit.verify(&witness.statement, &proof).expect("verify");
    let verify = started.elapsed().as_secs_f64();
    println!(
        "capacity {capacity}: {} gates (2^{} rows), setup {setup:.1} s, witness {:.3} s, prove {prove:.2} s, \
         verify {:.1} ms, proof {} bytes, peak RSS {:.0} MiB, {:.2} proven transfers/s",
        stats.gates,
        stats.degree_bits,
        witness_seconds,
        verify * 1e3,
        proof.to_bytes().len(),
        peak_rss_mib(),
        capacity as f64 / (witness_seconds + prove),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    if let Some(capacity) = args.first().and_then(|arg| arg.strip_prefix("child=")) {
        measure(capacity.parse().expect("a capacity"));
        return;
    }
    let one = gates(1);
    let two = gates(2);
    println!("gates per transaction slot: {} (a 1-slot circuit has {one}, a 2-slot one {two})", two - one);
    let capacities: Vec<String> = if args.is_empty() { vec!["8".into(), "32".into()] } else { args };
    let exe = std::env::current_exe().expect("the bench binary");
    for capacity in capacities {
        let status =
            Command::new(&exe).arg(format!("child={capacity}")).status().expect("run the measurement");
        assert!(status.success(), "capacity {capacity} failed");
    }
}
