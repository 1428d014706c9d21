//! Sizes of DA postings: bytes, weight and virtual bytes of the commit and the
//! reveals for a batch blob of each size, and the virtual bytes paid per data byte;
//! with the time to build (sign) the transactions and to decode the reveals. Then the
//! cost per transfer: batches of 100 and 10,000 transfers, packed, compressed,
//! posted; bytes, virtual bytes and fee per transfer.
//!
//! `cargo bench -p rollup-l1 --bench da`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::SecretKey;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, TxOut, Txid};
use rand::{Rng, SeedableRng};
use rollup_l1::da::{build_commit_reveal, decode_transaction, reassemble_batch, split_batch, FundingUtxo};
use rollup_l2::{compress, decompress, BatchBlob, CompactBlock, Digest, L1Anchor, PackedTx, PubKey};

fn main() {
    sizes();
    per_transfer();
}

fn sizes() {
    let secp = Secp256k1::new();
    let poster = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[0x11; 32]).unwrap());
    let script = ScriptBuf::new_p2tr(&secp, poster.x_only_public_key().0, None);
    let funding = [FundingUtxo {
        outpoint: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
        output: TxOut { value: Amount::from_sat(100_000_000), script_pubkey: script.clone() },
    }];
    println!(
        "| data bytes | reveals | commit bytes / WU / vB | reveal bytes / WU / vB (total) | total vB | vB per data byte | build (ms) | decode + reassemble (ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for size in [1_000usize, 100_000, 390_000, 780_000] {
        let blob: Vec<u8> = (0..size).map(|i| (i * 31 % 256) as u8).collect();
        let chunks = split_batch(1, 0, &blob).unwrap();
        let start = Instant::now();
        let posted = build_commit_reveal(
            &poster,
            &chunks,
            &funding,
            FeeRate::from_sat_per_vb_u32(1),
            &script,
            &script,
        )
        .unwrap();
        let build = start.elapsed();
        let start = Instant::now();
        let decoded: Vec<_> = posted
            .reveals
            .iter()
            .flat_map(|reveal| decode_transaction(reveal, 1))
            .map(|input| input.result.unwrap().envelope)
            .collect();
        assert_eq!(reassemble_batch(0, &decoded).unwrap(), blob);
        let decode = start.elapsed();
        let commit = &posted.commit;
        let (commit_bytes, commit_wu, commit_vb) =
            (serialize(commit).len(), commit.weight().to_wu(), commit.weight().to_vbytes_ceil());
        let reveal_bytes: usize = posted.reveals.iter().map(|reveal| serialize(reveal).len()).sum();
        let reveal_wu: u64 = posted.reveals.iter().map(|reveal| reveal.weight().to_wu()).sum();
        let reveal_vb: u64 = posted.reveals.iter().map(|reveal| reveal.weight().to_vbytes_ceil()).sum();
        let total_vb = commit_vb + reveal_vb;
        println!(
            "| {size} | {} | {commit_bytes} / {commit_wu} / {commit_vb} | {reveal_bytes} / {reveal_wu} / {reveal_vb} | {total_vb} | {:.4} | {:.1} | {:.1} |",
            posted.reveals.len(),
            total_vb as f64 / size as f64,
            build.as_secs_f64() * 1e3,
            decode.as_secs_f64() * 1e3,
        );
    }
}

/// Blocks per batch in the per-transfer table.
const BLOCKS: usize = 16;
/// Accounts the transfers are drawn from.
const ACCOUNTS: u32 = 1_000_000;

/// A batch of `transfers` transfers over 16 blocks: sender and receiver uniform over a
/// million accounts, amounts log-uniform from 1,000 to 100,000,000 sat, fees uniform
/// in 1..=1,000 sat, one transfer in a hundred creating its receiver (a random key,
/// which does not compress).
fn transfer_batch(transfers: usize, seed: u64) -> BatchBlob {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut blocks = Vec::with_capacity(BLOCKS);
    let per_block = transfers.div_ceil(BLOCKS);
    let mut left = transfers;
    for number in 0..BLOCKS {
        let count = per_block.min(left);
        left -= count;
        let txs = (0..count)
            .map(|_| {
                let creates = rng.gen_bool(0.01);
                PackedTx::Transfer {
                    from: rng.gen_range(1..=ACCOUNTS),
                    to: if creates {
                        ACCOUNTS + rng.gen_range(1..=ACCOUNTS)
                    } else {
                        rng.gen_range(1..=ACCOUNTS)
                    },
                    amount: 10f64.powf(rng.gen_range(3.0..8.0)) as u64,
                    fee: rng.gen_range(1..=1_000),
                    new_pubkey: creates
                        .then(|| PubKey(std::array::from_fn(|_| rng.gen_range(0..0xffff_ffff_0000_0001)))),
                }
            })
            .collect();
        blocks.push(CompactBlock {
            timestamp_ms: 1_764_000_000_000 + number as u64 * 2_000 + rng.gen_range(0..50),
            l1_messages: 0,
            l1_anchor: L1Anchor { height: 900_000, hash: [0x42; 32] },
            state_root: Digest(std::array::from_fn(|_| rng.gen_range(0..0xffff_ffff_0000_0001))),
            txs,
        });
    }
    BatchBlob { number: 7, first_block: 1_001, l1_cursor_before: 0, blocks }
}

fn per_transfer() {
    let secp = Secp256k1::new();
    let poster = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[0x11; 32]).unwrap());
    let script = ScriptBuf::new_p2tr(&secp, poster.x_only_public_key().0, None);
    let funding = [FundingUtxo {
        outpoint: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
        output: TxOut { value: Amount::from_sat(1_000_000_000), script_pubkey: script.clone() },
    }];
    println!();
    println!(
        "| transfers | blob bytes (per transfer) | posted bytes (per transfer) | chunks | total vB | vB per transfer | sat per transfer at 10 sat/vB | encode + compress (ms) | decompress + decode (ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for transfers in [100usize, 10_000] {
        let batch = transfer_batch(transfers, transfers as u64);
        let start = Instant::now();
        let blob = batch.encode();
        let posted = compress(&blob);
        let encode = start.elapsed();
        let start = Instant::now();
        assert_eq!(BatchBlob::decode(&decompress(&posted, blob.len()).unwrap()).unwrap(), batch);
        let decode = start.elapsed();
        let chunks = split_batch(1, batch.number, &posted).unwrap();
        let fee_rate = FeeRate::from_sat_per_vb_u32(10);
        let txs = build_commit_reveal(&poster, &chunks, &funding, fee_rate, &script, &script).unwrap();
        let total_vb: u64 =
            std::iter::once(&txs.commit).chain(&txs.reveals).map(|tx| tx.weight().to_vbytes_ceil()).sum();
        let n = transfers as f64;
        println!(
            "| {transfers} | {} ({:.2}) | {} ({:.2}) | {} | {total_vb} | {:.3} | {:.2} | {:.1} | {:.1} |",
            blob.len(),
            blob.len() as f64 / n,
            posted.len(),
            posted.len() as f64 / n,
            chunks.len(),
            total_vb as f64 / n,
            total_vb as f64 * 10.0 / n,
            encode.as_secs_f64() * 1e3,
            decode.as_secs_f64() * 1e3,
        );
    }
}
