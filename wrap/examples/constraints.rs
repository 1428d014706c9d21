//! The stage-4 R1CS's constraint count by part, in setup mode (no witness: the
//! synthesis Groth16's setup runs, over [`dummy_proof`]), for fast iteration on the
//! verifier's cost. The figures of record come from the full benchmark
//! (`cargo bench -p rollup-wrap --bench stage4`); this gives the same counts in a
//! fraction of the time.
//!
//! `cargo run -p rollup-wrap --example constraints [-- CACHE_FILE]`
//!
//! The wrapper circuit is built around the capacity-2 block circuit family of the
//! benchmark (about two minutes). With `CACHE_FILE`, its common data and verifier
//! constants are stored there the first time and read back on later runs; delete
//! the file whenever the wrapper circuit may have changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A developer tool: any failure is fatal.

use std::time::Instant;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::r1cs::{ConstraintSystem, SynthesisMode};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::DefaultGateSerializer;
use rollup_circuits::batch::BatchCircuits;
use rollup_circuits::block::{BlockCircuit, BlockParameters};
use rollup_circuits::ProofSystem;
use rollup_l2::StfParams;
use rollup_wrap::algebra::Gl;
use rollup_wrap::circuit::WrapCircuit;
use rollup_wrap::verifier::{dummy_proof, VerifierConstants};
use rollup_wrap::wrapper::Wrapper;

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };

/// The wrapper around the benchmark's block circuit family.
fn build() -> (CommonCircuitData<Gl, 2>, VerifierConstants) {
    let started = Instant::now();
    let block_circuit =
        BlockCircuit::setup(BlockParameters { capacity: 2, stf: PARAMS }).expect("block circuit");
    let circuits = BatchCircuits::build(&[&block_circuit]).expect("batch circuits");
    let wrapper = Wrapper::build(circuits.chain_verifier().data());
    println!("wrapper circuit built in {:.1} s", started.elapsed().as_secs_f64());
    (wrapper.data().common.clone(), wrapper.constants())
}

fn scalar_bytes(s: &Fr) -> Vec<u8> {
    s.into_bigint().to_bytes_le()
}

fn store(path: &str, common: &CommonCircuitData<Gl, 2>, constants: &VerifierConstants) {
    let common = common.to_bytes(&DefaultGateSerializer).expect("serializable common data");
    let mut out = Vec::new();
    out.extend((common.len() as u64).to_le_bytes());
    out.extend(common);
    for s in core::iter::once(&constants.circuit_digest).chain(&constants.constants_sigmas_cap) {
        out.extend(scalar_bytes(s));
    }
    std::fs::write(path, out).expect("writing the cache");
}

fn load(path: &str) -> Option<(CommonCircuitData<Gl, 2>, VerifierConstants)> {
    let bytes = std::fs::read(path).ok()?;
    let len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let common =
        CommonCircuitData::from_bytes(bytes.get(8..8 + len)?.to_vec(), &DefaultGateSerializer).ok()?;
    let scalars: Vec<Fr> = bytes.get(8 + len..)?.chunks(32).map(Fr::from_le_bytes_mod_order).collect();
    let (digest, cap) = scalars.split_first()?;
    Some((common, VerifierConstants { circuit_digest: *digest, constants_sigmas_cap: cap.to_vec() }))
}

fn main() {
    let cache = std::env::args().nth(1);
    let (common, constants) = match cache.as_deref().and_then(load) {
        Some(loaded) => loaded,
        None => {
            let built = build();
            if let Some(path) = &cache {
                store(path, &built.0, &built.1);
            }
            built
        }
    };
    let started = Instant::now();
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    let circuit = WrapCircuit {
        proof: dummy_proof(&common),
        common: common.into(),
        constants,
        inputs: [Fr::from(0u64); 5],
    };
    let b = circuit.synthesize(cs.clone()).expect("synthesis");
    println!(
        "R1CS (setup mode): {} constraints, {} witnesses, synthesized in {:.1} s",
        cs.num_constraints(),
        cs.num_witness_variables(),
        started.elapsed().as_secs_f64()
    );
    let (mut fri, mut gates) = (0, 0);
    for (name, count) in b.sections() {
        if name.starts_with("fri") {
            fri += count;
        } else if name.starts_with("gate") {
            gates += count;
        }
        println!("  {name}: {count}");
    }
    println!("  = FRI {fri}, gates {gates}");
    println!("  {:?}", b.stats());
}
