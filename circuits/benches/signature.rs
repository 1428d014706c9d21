//! Rows and proving time of one EcGFp5 Schnorr verification (`verify_schnorr`).
//!
//! `cargo bench -p rollup-circuits --bench signature`: builds a circuit that only verifies one
//! signature (its bit as the public input), prints its rows (gates before padding, then the
//! padded degree) and times proving and verification of a valid signature.

use std::time::{Duration, Instant};

use plonky2::field::types::Field;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitConfig;
use rollup_circuits::ecgfp5::{verify_schnorr, SignatureTarget};
use rollup_circuits::{C, D, F};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::Digest;

const RUNS: usize = 10;

fn main() -> anyhow::Result<()> {
    let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let pubkey = builder.add_virtual_target_arr();
    let message = builder.add_virtual_target_arr();
    let signature = SignatureTarget::new(&mut builder);
    let ok = verify_schnorr(&mut builder, pubkey, message, &signature);
    builder.register_public_input(ok.target);
    let gates = builder.num_gates();
    let start = Instant::now();
    let data = builder.build::<C>();
    let build_time = start.elapsed();
    println!("rows (gates before constants and padding): {gates}");
    println!("degree (padded rows): {}", data.common.degree());
    println!("gate types: {:?}", data.common.gates.iter().map(|g| g.0.id()).collect::<Vec<_>>());
    println!("build: {build_time:.2?}");

    let secret = SecretKey::from_seed(b"bench");
    let message_value = Digest([1, 2, 3, 4]);
    let bytes: [u8; 80] = rollup_l2::sign(&secret, &message_value)
        .try_into()
        .map_err(|_| anyhow::anyhow!("a signature is 80 bytes"))?;
    let pubkey_value = rollup_l2::pubkey_of(&secret);

    let mut prove_times = Vec::with_capacity(RUNS);
    let mut verify_times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut pw = PartialWitness::new();
        for (t, v) in pubkey.iter().zip(pubkey_value.0) {
            pw.set_target(*t, F::from_canonical_u64(v))?;
        }
        for (t, v) in message.iter().zip(message_value.0) {
            pw.set_target(*t, F::from_canonical_u64(v))?;
        }
        signature.set(&mut pw, &bytes)?;
        let start = Instant::now();
        let proof = data.prove(pw)?;
        prove_times.push(start.elapsed());
        anyhow::ensure!(proof.public_inputs[0] == F::ONE, "the signature must verify");
        let start = Instant::now();
        data.verify(proof)?;
        verify_times.push(start.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!("prove: median {:.2?} over {RUNS} runs", median(&mut prove_times));
    println!("verify: median {:.2?} over {RUNS} runs", median(&mut verify_times));
    Ok(())
}
