//! Sizes of the tapscript toolkit's gadgets, each measured on a successful run under
//! Bitcoin Core's interpreter: leaf bytes, witness bytes, peak stack items (main and
//! alt stacks together) and the weight of the whole spending transaction.
//!
//! `cargo bench -p rollup-l1 --bench script`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rollup_l1::script::exec::{execute, Execution};
use rollup_l1::script::Script;

mod fq;
mod hash;
mod winternitz;

/// The weight a standard transaction may have (`MAX_STANDARD_TX_WEIGHT`).
const STANDARD_TX_WEIGHT: u64 = 400_000;

/// Runs `leaf` (the `gadget` under test plus what the test adds to end cleanly) on
/// `witness`, checks that it succeeds, prints one table row and returns the execution.
fn measure(name: &str, gadget: &Script, leaf: &Script, witness: &[Vec<u8>]) -> Execution {
    let start = Instant::now();
    let run = execute(leaf, witness).expect("the leaf runs");
    let elapsed = start.elapsed();
    assert!(run.success, "{name}: {:?}", run.error);
    println!(
        "| {name} | {} | {} | {} | {} | {} | {:.1} |",
        gadget.len(),
        run.script_bytes,
        run.witness_bytes,
        run.peak_stack,
        run.tx_weight.to_wu(),
        elapsed.as_secs_f64() * 1e3
    );
    run
}

fn main() {
    println!(
        "| gadget | gadget bytes | leaf bytes | witness bytes | peak stack | tx weight (WU) | run (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    winternitz::bench();
    hash::bench();
    fq::bench();
}
