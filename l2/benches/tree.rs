//! Account-tree updates per second and memory per million accounts.
//!
//! `cargo bench -p rollup-l2 --bench tree` (release). Fills a tree with
//! `ROLLUP_BENCH_ACCOUNTS` accounts (default 1,000,000) in batches, measuring the
//! resident memory growth of the accounts plus the tree (VmRSS from /proc), then
//! times single-leaf updates at random existing indices (32 Poseidon hashes each) and
//! batched updates of 1,000 leaves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rollup_l2::{Account, AccountTree, MemoryAccounts, MemoryTreeStore, PubKey, State};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let accounts: u32 = match std::env::var("ROLLUP_BENCH_ACCOUNTS") {
        Ok(count) => count.parse().expect("ROLLUP_BENCH_ACCOUNTS must be a number"),
        Err(_) if benching => 1_000_000,
        Err(_) => 1_000,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let before = rss_bytes();
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    let started = Instant::now();
    for index in 1..=accounts {
        let account = Account {
            pubkey: PubKey([rng.gen_range(0..1 << 63); 5]),
            balance: rng.gen_range(0..1 << 40),
            nonce: 0,
        };
        state.put_account(index, account);
    }
    let filled = started.elapsed();
    {
        let (accounts_store, tree) = state.stores_mut();
        accounts_store.take_changes();
        tree.take_changes();
    }
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "{accounts} accounts: filled in {:.1} s ({:.0} inserts/s), resident memory +{:.0} MiB ({:.0} bytes per account)",
        filled.as_secs_f64(),
        f64::from(accounts) / filled.as_secs_f64(),
        grown as f64 / (1024.0 * 1024.0),
        grown as f64 / f64::from(accounts)
    );

    let updates = if benching { 20_000 } else { 200 };
    let started = Instant::now();
    for _ in 0..updates {
        let index = rng.gen_range(1..=accounts);
        let mut account = state.account(index).unwrap();
        account.balance += 1;
        state.put_account(index, account);
    }
    let elapsed = started.elapsed();
    println!(
        "single-leaf updates: {:.0} per second ({:.1} µs each)",
        updates as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / updates as f64
    );
}
