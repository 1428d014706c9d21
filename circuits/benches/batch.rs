//! Stage 2 and 3 figures for BENCHMARKS.md: building the aggregation and recursion
//! circuits, time per leaf, per node and per recursion step, proof sizes, and the
//! latency from a batch's last sealed block to its stage-3 proof.
//!
//! `cargo bench -p rollup-circuits --bench batch -- [BLOCKS ...]` (default 16 and 64
//! blocks per batch; each size runs in its own process so that peak memory is its
//! own). The family is the production one: block circuits of capacities 8, 32 and
//! 128. Each batch's blocks hold one transfer each (capacity 8); the batch is the
//! second of the chain, so the recursion step verifies a real previous proof.

#![allow(clippy::expect_used)] // A benchmark: any failure is fatal and reported.

mod common;

use std::process::Command;

use common::{peak_rss_mib, reset_peak_rss};
use std::time::Instant;

use rollup_circuits::batch::{BatchCircuits, SegmentProof};
use rollup_circuits::block::{execute_block, BlockCircuit, BlockParameters, BlockProof, Chains};
use rollup_circuits::ProofSystem;
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    pubkey_of, sign, tx_commitment, Account, AccountTree, Block, BlockHeader, Digest, L2Tx, MemoryAccounts,
    MemoryTreeStore, SignedTx, State, StfParams, Transfer, UserTx, LAST_BLOCK_NUMBER,
};

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };

type BenchState = State<MemoryAccounts, MemoryTreeStore>;

struct Chain {
    sealed: BenchState,
    proving: BenchState,
    chains: Chains,
    number: u64,
    nonce: u32,
    user: SecretKey,
}

impl Chain {
    fn new() -> Self {
        let user = SecretKey::from_seed(b"bench user");
        let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
        state.put_account(
            1,
            Account { pubkey: pubkey_of(&SecretKey::from_seed(b"fee")), balance: 0, nonce: 0 },
        );
        state.put_account(2, Account { pubkey: pubkey_of(&user), balance: 1 << 40, nonce: 0 });
        Self { proving: state.clone(), sealed: state, chains: Chains::default(), number: 0, nonce: 0, user }
    }

    /// Seals and proves the next block: one transfer to a new account.
    fn next(&mut self, circuit: &BlockCircuit) -> BlockProof {
        self.number += 1;
        self.nonce += 1;
        let to = 1000 + self.nonce;
        let tx = UserTx::Transfer(Transfer {
            from: 2,
            to,
            to_pubkey: pubkey_of(&SecretKey::from_seed(&to.to_le_bytes())),
            amount: 1_000,
            fee: 3,
            nonce: self.nonce,
        });
        let signature = sign(&self.user, &tx.signing_message(PARAMS.chain_id));
        let tx = L2Tx::User(SignedTx { tx, signature });
        let prev_state_root = self.sealed.root();
        let packed = self.sealed.apply_block(&PARAMS, std::slice::from_ref(&tx)).expect("a valid transfer");
        let header = BlockHeader {
            number: self.number,
            prev_state_root,
            state_root: self.sealed.root(),
            tx_commitment: tx_commitment(&packed),
            ..Default::default()
        };
        let block = Block { header, txs: vec![tx] };
        let witness =
            execute_block(&mut self.proving, &PARAMS, &block, &mut self.chains).expect("the witness");
        circuit.prove(&witness).expect("the block proves")
    }
}

fn leaves(
    circuits: &BatchCircuits,
    block: &BlockCircuit,
    proofs: &[BlockProof],
    seconds: &mut Vec<f64>,
) -> Vec<SegmentProof> {
    let mut link = Digest::ZERO;
    proofs
        .iter()
        .map(|proof| {
            let started = Instant::now();
            let leaf = circuits.prove_leaf(block, proof, &link).expect("the leaf proves");
            seconds.push(started.elapsed().as_secs_f64());
            link = leaf.statement().expect("a statement").tx_chain_after;
            leaf
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn measure(blocks: usize) {
    let started = Instant::now();
    let block_circuits: Vec<BlockCircuit> = [8, 32, 128]
        .into_iter()
        .map(|capacity| {
            BlockCircuit::setup(BlockParameters { capacity, stf: PARAMS }).expect("block circuit")
        })
        .collect();
    let blocks_built = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let circuits =
        BatchCircuits::build(&block_circuits.iter().collect::<Vec<_>>()).expect("the family builds");
    let family_built = started.elapsed().as_secs_f64();
    let registry = circuits.registry(1, LAST_BLOCK_NUMBER).expect("registry");
    let digests = circuits.digests();
    let build_peak = peak_rss_mib();
    // Only capacity 8 proves blocks here; the family keeps what it needs of the others.
    let block_circuits: Vec<BlockCircuit> = block_circuits.into_iter().take(1).collect();
    let block = &block_circuits[0];

    // Batch 0: one block, to have a previous chain proof.
    let mut chain = Chain::new();
    let genesis_root = chain.sealed.root();
    let first = chain.next(block);
    let mut leaf_seconds = Vec::new();
    let root = circuits
        .aggregate(leaves(&circuits, block, &[first], &mut leaf_seconds), |_, _, _| {})
        .expect("root");
    let previous = circuits.prove_recursion(None, &root, &genesis_root, &registry).expect("batch 0");

    // Batch 1: `blocks` blocks; all but the last proven before the batch closes.
    let mut proofs: Vec<BlockProof> = (1..blocks).map(|_| chain.next(block)).collect();
    let closed = Instant::now();
    proofs.push(chain.next(block));
    let last_block = closed.elapsed().as_secs_f64();
    leaf_seconds.clear();
    reset_peak_rss();
    let leaves = leaves(&circuits, block, &proofs, &mut leaf_seconds);
    let mut node_seconds = Vec::new();
    let mut last = Instant::now();
    let root = circuits
        .aggregate(leaves, |_, _, _| {
            node_seconds.push(last.elapsed().as_secs_f64());
            last = Instant::now();
        })
        .expect("the tree");
    let recursion_started = Instant::now();
    let proof = circuits.prove_recursion(Some(&previous), &root, &genesis_root, &registry).expect("batch 1");
    let recursion = recursion_started.elapsed().as_secs_f64();
    let latency = closed.elapsed().as_secs_f64();
    let statement = proof.statement().expect("a statement");
    let verify_started = Instant::now();
    circuits.verify_chain(&statement, &proof).expect("the chain proof verifies");
    let verify = verify_started.elapsed().as_secs_f64();

    println!(
        "batch of {blocks} blocks: family degree 2^{}, block circuits built in {blocks_built:.1} s, family in {family_built:.1} s",
        digests.degree_bits
    );
    println!(
        "  leaf {:.2} s (mean of {}), node {:.2} s (mean of {}), recursion step {recursion:.2} s, chain verify {:.1} ms",
        mean(&leaf_seconds),
        leaf_seconds.len(),
        mean(&node_seconds),
        node_seconds.len(),
        verify * 1e3
    );
    println!(
        "  proof sizes: block {} B, segment {} B, chain {} B",
        proofs[0].to_bytes().len(),
        root.to_bytes().len(),
        proof.to_bytes().len()
    );
    println!(
        "  latency from the last block sealed to its stage-3 proof: {latency:.1} s (last block {last_block:.2} s, \
         tree {:.1} s, recursion {recursion:.1} s)",
        leaf_seconds.iter().sum::<f64>() + node_seconds.iter().sum::<f64>(),
    );
    println!(
        "  peak RSS: building the circuits {build_peak:.0} MiB, proving the tree and the recursion step {:.0} MiB",
        peak_rss_mib()
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    if let [blocks] = sizes.as_slice() {
        if std::env::var_os("ROLLUP_BENCH_CHILD").is_some() {
            measure(*blocks);
            return;
        }
    }
    let sizes = if sizes.is_empty() { vec![16, 64] } else { sizes };
    let exe = std::env::current_exe().expect("the bench binary");
    for blocks in sizes {
        let status = Command::new(&exe)
            .arg(blocks.to_string())
            .env("ROLLUP_BENCH_CHILD", "1")
            .status()
            .expect("the child runs");
        assert!(status.success(), "the batch of {blocks} failed");
    }
}
