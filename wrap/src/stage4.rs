//! Stage 4 end to end: a chain proof in, a 192-byte Groth16 proof and its five
//! public scalars out.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use plonky2::plonk::circuit_data::CommonCircuitData;
use rand::SeedableRng;
use rollup_circuits::batch::{ChainProof, ChainVerifier};

use crate::algebra::Gl;
use crate::circuit::WrapCircuit;
use crate::groth16::{self, Groth16Error, Keys, Proof};
use crate::statement::Groth16Statement;
use crate::verifier::{dummy_proof, verify_native, VerifierConstants, VerifyError};
use crate::wrapper::{Wrapper, WrapperStrength};

/// The version of the R1CS this code emits; part of the key cache's circuit id,
/// so that keys made by another version are never used.
pub const R1CS_VERSION: u32 = 2;

/// The development setup's seed: public, so these keys prove nothing to anyone
/// but a developer (see [`crate::groth16::setup`]).
pub const DEVELOPMENT_SEED: [u8; 32] = *b"rollup development setup, public";

/// Why stage 4 failed.
#[derive(Debug, thiserror::Error)]
pub enum Stage4Error {
    /// The chain proof has no statement or does not verify.
    #[error("the chain proof: {0}")]
    Chain(String),
    /// Proving the wrapper failed.
    #[error("the wrapper: {0}")]
    Wrapper(String),
    /// Our own verifier refused the wrapper proof (a bug, never a user error).
    #[error("the wrapper proof does not pass the R1CS verifier natively: {0}")]
    Native(#[from] VerifyError),
    /// Groth16 failed.
    #[error(transparent)]
    Groth16(#[from] Groth16Error),
}

/// A batch's Groth16 proof with what it states and what it cost.
#[derive(Clone, Debug)]
pub struct Groth16Batch {
    /// The five public scalars.
    pub statement: Groth16Statement,
    /// The proof.
    pub proof: Proof,
    /// Seconds spent proving the plonky2 wrapper.
    pub wrap_seconds: f64,
    /// Seconds spent on the Groth16 proof (synthesis included).
    pub groth16_seconds: f64,
}

/// A step of stage 4, announced as it starts (for progress output: every step but
/// loading the keys takes minutes at production strength; BENCHMARKS.md has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage4Step {
    /// Building the wrapper circuit around the recursion circuit (hashing its
    /// constants' Merkle tree with Poseidon over `Fr` is most of it).
    BuildWrapper,
    /// Loading the Groth16 keys from the key cache.
    LoadKeys,
    /// No usable keys in the cache: the development setup runs and stores them.
    SetUpKeys,
    /// Proving the wrapper for the chain proof.
    ProveWrapper,
    /// Proving, with Groth16, that the wrapper proof passes the R1CS verifier.
    ProveGroth16,
}

impl Stage4Step {
    /// What the step does, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Stage4Step::BuildWrapper => "building the wrapper circuit",
            Stage4Step::LoadKeys => "loading the Groth16 keys",
            Stage4Step::SetUpKeys => "setting up the Groth16 keys (the first time: they are cached after)",
            Stage4Step::ProveWrapper => "proving the wrapper",
            Stage4Step::ProveGroth16 => "making the Groth16 proof",
        }
    }
}

/// The wrapper circuit and the Groth16 keys of its verifier.
pub struct Stage4 {
    wrapper: Wrapper,
    common: Arc<CommonCircuitData<Gl, 2>>,
    constants: VerifierConstants,
    keys: Keys,
}

impl Stage4 {
    /// Builds the wrapper around the recursion circuit that `chain` checks and loads
    /// the Groth16 keys from `key_dir`, or runs the development setup with `seed` and
    /// stores them there (minutes and gigabytes at production strength: see
    /// BENCHMARKS.md). `progress` hears of each step as it starts.
    pub fn load_or_setup(
        chain: &ChainVerifier,
        key_dir: &Path,
        seed: [u8; 32],
        strength: WrapperStrength,
        progress: &dyn Fn(Stage4Step),
    ) -> Result<Self, Stage4Error> {
        progress(Stage4Step::BuildWrapper);
        let started = Instant::now();
        let wrapper = Wrapper::build_with(chain.data(), strength);
        tracing::info!(
            target: "rollup::wrap",
            degree_bits = wrapper.data().common.degree_bits(),
            ?strength,
            seconds = started.elapsed().as_secs_f64(),
            "wrapper circuit built"
        );
        let constants = wrapper.constants();
        let common = Arc::new(wrapper.data().common.clone());
        let circuit_id = circuit_id(&constants, &common);
        progress(Stage4Step::LoadKeys);
        // `groth16::load_or_setup` asks for the circuit only when it has to set up.
        let keys = groth16::load_or_setup(key_dir, circuit_id, seed, || {
            progress(Stage4Step::SetUpKeys);
            WrapCircuit {
                proof: dummy_proof(&common),
                common: common.clone(),
                constants: constants.clone(),
                inputs: [ark_bls12_381::Fr::from(0u64); 5],
            }
        })?;
        Ok(Self { wrapper, common, constants, keys })
    }

    /// The Groth16 keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Wraps a chain proof (checked by the caller against the recursion circuit)
    /// into a Groth16 proof, and verifies the result before returning it.
    /// `progress` hears of each step as it starts.
    pub fn prove(
        &self,
        chain: &ChainProof,
        progress: &dyn Fn(Stage4Step),
    ) -> Result<Groth16Batch, Stage4Error> {
        let statement = chain.statement().ok_or_else(|| Stage4Error::Chain("no statement".to_owned()))?;
        progress(Stage4Step::ProveWrapper);
        let started = Instant::now();
        let proof = self.wrapper.prove(&chain.proof).map_err(|e| Stage4Error::Wrapper(format!("{e:#}")))?;
        let wrap_seconds = started.elapsed().as_secs_f64();
        verify_native(&self.common, &self.constants, &proof)?;
        let statement = Groth16Statement::from_chain_statement(&statement);
        progress(Stage4Step::ProveGroth16);
        let started = Instant::now();
        let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
        let circuit = WrapCircuit {
            common: self.common.clone(),
            constants: self.constants.clone(),
            proof,
            inputs: statement.inputs,
        };
        let proof = groth16::prove(&self.keys, circuit, &mut rng)?;
        let groth16_seconds = started.elapsed().as_secs_f64();
        self.verify(&statement, &proof)?;
        Ok(Groth16Batch { statement, proof, wrap_seconds, groth16_seconds })
    }

    /// Verifies a batch's Groth16 proof.
    pub fn verify(&self, statement: &Groth16Statement, proof: &Proof) -> Result<(), Groth16Error> {
        groth16::verify(self.keys.prepared_verifying_key(), &statement.inputs, proof)
    }
}

/// What identifies the Groth16 circuit: the R1CS version, the wrapper's verifier
/// constants (its digest commits to its gates and wiring) and its shape.
pub fn circuit_id(
    constants: &VerifierConstants,
    common: &plonky2::plonk::circuit_data::CommonCircuitData<crate::algebra::Gl, 2>,
) -> [u8; 32] {
    use ark_ff::{BigInteger, PrimeField};
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"rollup stage-4 circuit");
    hasher.update(&R1CS_VERSION.to_le_bytes());
    hasher.update(&constants.circuit_digest.into_bigint().to_bytes_le());
    for digest in &constants.constants_sigmas_cap {
        hasher.update(&digest.into_bigint().to_bytes_le());
    }
    hasher.update(format!("{:?}", common.config).as_bytes());
    hasher.update(&(common.degree_bits() as u64).to_le_bytes());
    hasher.update(&(common.num_public_inputs as u64).to_le_bytes());
    *hasher.finalize().as_bytes()
}
