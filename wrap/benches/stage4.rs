//! Stage 4 figures for BENCHMARKS.md, at full size, on a real chain proof: the
//! wrapper circuit, its proof, the R1CS constraint count by part, the Groth16
//! setup, proof and verification, sizes and peak memory.
//!
//! `cargo bench -p rollup-wrap --bench stage4` (production strength), or
//! `cargo bench -p rollup-wrap --bench stage4 -- test` for the insecure test
//! strength that the node's fast stage-4 tests use.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark: any failure is fatal.

#[path = "../tests/common/chain.rs"]
mod chain;

use std::sync::Arc;
use std::time::Instant;

use ark_bls12_381::Fr;
use ark_relations::r1cs::ConstraintSystem;
use rand::SeedableRng;
use rollup_wrap::circuit::WrapCircuit;
use rollup_wrap::groth16;
use rollup_wrap::stage4::DEVELOPMENT_SEED;
use rollup_wrap::statement::Groth16Statement;
use rollup_wrap::verifier::{dummy_proof, verify_native};
use rollup_wrap::wrapper::{conjectured_security_bits, Wrapper, WrapperStrength};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; our own argument is `test`.
    let strength = match std::env::args().skip(1).any(|arg| arg == "test") {
        true => WrapperStrength::InsecureTest,
        false => WrapperStrength::Production,
    };
    println!("strength: {strength:?}");
    let started = Instant::now();
    let chain = chain::batch_zero();
    println!("chain proof (batch 0, capacity-2 family): {:.1} s", started.elapsed().as_secs_f64());
    let statement = chain.proof.statement().unwrap();

    let config = strength.fri_config();
    println!(
        "wrapper FRI: rate_bits {}, queries {}, proof of work {} bits, cap height {}: {} bits conjectured",
        config.rate_bits,
        config.num_query_rounds,
        config.proof_of_work_bits,
        config.cap_height,
        conjectured_security_bits(&config)
    );
    let started = Instant::now();
    let wrapper = Wrapper::build_with(chain.circuits.chain_verifier().data(), strength);
    let common = Arc::new(wrapper.data().common.clone());
    println!(
        "wrapper circuit: 2^{} rows, {} gates, built in {:.1} s",
        common.degree_bits(),
        common.gates.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let proof = wrapper.prove(&chain.proof.proof).unwrap();
    println!(
        "wrapper proof: {:.1} s, {} bytes; peak RSS so far {:.0} MiB",
        started.elapsed().as_secs_f64(),
        proof.to_bytes().len(),
        peak_rss_mib()
    );
    let constants = wrapper.constants();
    let started = Instant::now();
    verify_native(&common, &constants, &proof).unwrap();
    println!("native verification with our verifier: {:.2} s", started.elapsed().as_secs_f64());

    let inputs = Groth16Statement::from_chain_statement(&statement).inputs;
    let circuit =
        WrapCircuit { common: common.clone(), constants: constants.clone(), proof: proof.clone(), inputs };
    let started = Instant::now();
    let cs = ConstraintSystem::<Fr>::new_ref();
    let b = circuit.clone().synthesize(cs.clone()).unwrap();
    let synthesis = started.elapsed().as_secs_f64();
    assert!(cs.is_satisfied().unwrap());
    println!(
        "R1CS: {} constraints, {} witnesses, synthesized in {:.1} s",
        cs.num_constraints(),
        cs.num_witness_variables(),
        synthesis
    );
    let mut fri = 0;
    let mut gates = 0;
    for (name, count) in b.sections() {
        if name.starts_with("fri") {
            fri += count;
        } else if name.starts_with("gate") {
            gates += count;
        }
        println!("  {name}: {count}");
    }
    println!("  = FRI {fri}, gates {gates}");
    drop(cs);

    let started = Instant::now();
    let template = WrapCircuit {
        common: common.clone(),
        constants: constants.clone(),
        proof: dummy_proof(&common),
        inputs: [Fr::from(0u64); 5],
    };
    let keys = groth16::setup(template, DEVELOPMENT_SEED).unwrap();
    println!(
        "Groth16 setup: {:.1} s; verifying key {} bytes; peak RSS so far {:.0} MiB",
        started.elapsed().as_secs_f64(),
        keys.vk_bytes().len(),
        peak_rss_mib()
    );
    let started = Instant::now();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let groth = groth16::prove(&keys, circuit, &mut rng).unwrap();
    println!(
        "Groth16 prove (synthesis included): {:.1} s; proof {} bytes; peak RSS so far {:.0} MiB",
        started.elapsed().as_secs_f64(),
        groth.to_bytes().len(),
        peak_rss_mib()
    );
    let started = Instant::now();
    groth16::verify(keys.prepared_verifying_key(), &inputs, &groth).unwrap();
    println!("Groth16 verify: {:.2} ms", started.elapsed().as_secs_f64() * 1000.0);
    let mut tampered = inputs;
    tampered[4] += Fr::from(1u64);
    assert!(groth16::verify(keys.prepared_verifying_key(), &tampered, &groth).is_err());
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
