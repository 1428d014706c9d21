//! Sizes of DA postings: bytes, weight and virtual bytes of the commit and the
//! reveals for a batch blob of each size, and the virtual bytes paid per data byte;
//! with the time to build (sign) the transactions and to decode the reveals.
//!
//! `cargo bench -p rollup-l1 --bench da`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1};
use bitcoin::secp256k1::SecretKey;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, TxOut, Txid};
use rollup_l1::da::{build_commit_reveal, decode_transaction, reassemble_batch, split_batch, FundingUtxo};

fn main() {
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
