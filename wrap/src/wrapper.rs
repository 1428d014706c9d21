//! The wrapper: a plonky2 circuit, committed with Poseidon over `Fr`, that
//! verifies one stage-3 chain proof and exposes what the Groth16 proof states.
//!
//! Public inputs (12 Goldilocks values): the chain's `from_root` (4), `to_root`
//! (4), and `rest` (4), the Goldilocks Poseidon hash (`PoseidonHash::hash_no_pad`)
//! of every other field of the chain statement in `ChainStatement::to_fields`
//! order ([`rest_fields`]). The circuit also checks that the chain proof claims
//! the recursion circuit's own verifier data, as `verify_chain` does natively.
//!
//! # Security of the wrapper's FRI
//!
//! plonky2's conjectured security of FRI is `rate_bits · num_query_rounds +
//! proof_of_work_bits` bits; [`wrap_fri_config`] is chosen for at least 100 (see
//! [`conjectured_security_bits`]). The chain proof it verifies has plonky2's
//! standard recursion configuration (100 bits).
//!
//! [`WrapperStrength::InsecureTest`] builds the same circuit with a FRI of a few
//! bits ([`test_fri_config`]): the whole stage-4 code path at a fraction of the
//! cost, for tests of the node's wiring. Its keys are its own (the configuration
//! is part of the Groth16 circuit id) and its proofs prove nothing.

use anyhow::{anyhow, Context, Result};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::fri::FriConfig;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData, VerifierCircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};

use crate::verifier::{VerifierConstants, WrapConfig, WrapProof};

type F = GoldilocksField;
type C = PoseidonGoldilocksConfig;
const D: usize = 2;

/// Elements of the chain statement in a chain proof's public inputs.
pub const CHAIN_FIELDS: usize = 46;
/// Where `from_root` sits in the chain statement's fields.
const FROM_ROOT: core::ops::Range<usize> = 11..15;
/// Where `to_root` sits.
const TO_ROOT: core::ops::Range<usize> = 15..19;
/// Public inputs of the wrapper.
pub const WRAP_PUBLIC_INPUTS: usize = 12;

/// The FRI configuration of the wrapper: high rate, few queries, proof of work.
pub fn wrap_fri_config() -> FriConfig {
    FriConfig {
        rate_bits: 6,
        cap_height: 2,
        proof_of_work_bits: 16,
        reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
        num_query_rounds: 14,
    }
}

/// The FRI configuration of [`WrapperStrength::InsecureTest`]: rate 1/8, 2 queries,
/// no proof of work, 6 bits. For tests only.
pub fn test_fri_config() -> FriConfig {
    FriConfig {
        rate_bits: 3,
        cap_height: 2,
        proof_of_work_bits: 0,
        reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
        num_query_rounds: 2,
    }
}

/// How strong the wrapper's FRI is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WrapperStrength {
    /// [`wrap_fri_config`]: at least 100 bits. The only strength for real proofs.
    #[default]
    Production,
    /// [`test_fri_config`]: 6 bits. The same circuit and code path with a much
    /// smaller R1CS, for tests of the node's stage-4 wiring; never for a real chain.
    InsecureTest,
}

impl WrapperStrength {
    /// The FRI configuration of this strength.
    pub fn fri_config(self) -> FriConfig {
        match self {
            WrapperStrength::Production => wrap_fri_config(),
            WrapperStrength::InsecureTest => test_fri_config(),
        }
    }
}

/// plonky2's conjectured security of a FRI configuration, in bits.
pub fn conjectured_security_bits(config: &FriConfig) -> usize {
    config.rate_bits * config.num_query_rounds + config.proof_of_work_bits as usize
}

/// The wrapper's circuit configuration: plonky2's standard recursion layout
/// (135 wires, 80 routed) with [`wrap_fri_config`], no zero knowledge.
pub fn wrap_circuit_config() -> CircuitConfig {
    circuit_config(WrapperStrength::Production)
}

/// The wrapper's circuit configuration at `strength` (plonky2 checks that the FRI
/// reaches `security_bits`: 100 at production strength, the test FRI's 6 otherwise).
pub fn circuit_config(strength: WrapperStrength) -> CircuitConfig {
    let fri_config = strength.fri_config();
    CircuitConfig {
        security_bits: match strength {
            WrapperStrength::Production => CircuitConfig::standard_recursion_config().security_bits,
            WrapperStrength::InsecureTest => conjectured_security_bits(&fri_config),
        },
        fri_config,
        zero_knowledge: false,
        ..CircuitConfig::standard_recursion_config()
    }
}

/// The chain statement's fields other than `from_root` and `to_root`, in order.
pub fn rest_fields<T: Copy>(fields: &[T]) -> Vec<T> {
    fields
        .iter()
        .take(CHAIN_FIELDS)
        .enumerate()
        .filter(|(i, _)| !FROM_ROOT.contains(i) && !TO_ROOT.contains(i))
        .map(|(_, v)| *v)
        .collect()
}

/// The built wrapper circuit.
pub struct Wrapper {
    data: CircuitData<F, WrapConfig, D>,
    inner: ProofWithPublicInputsTarget<D>,
}

impl Wrapper {
    /// Builds the wrapper, at production strength, around the recursion circuit
    /// whose verifier data is `recursion`.
    pub fn build(recursion: &VerifierCircuitData<F, C, D>) -> Self {
        Self::build_with(recursion, WrapperStrength::Production)
    }

    /// Builds the wrapper at `strength` around the recursion circuit whose verifier
    /// data is `recursion`.
    pub fn build_with(recursion: &VerifierCircuitData<F, C, D>, strength: WrapperStrength) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(circuit_config(strength));
        let inner = builder.add_virtual_proof_with_pis(&recursion.common);
        let verifier = builder.constant_verifier_data(&recursion.verifier_only);
        builder.verify_proof::<C>(&inner, &verifier, &recursion.common);

        // The chain proof must claim the recursion circuit's own verifier data
        // (digest, then cap, right after the padded payload).
        let claimed = &inner.public_inputs[inner.public_inputs.len() - verifier_data_len(recursion)..];
        let own: Vec<Target> = verifier
            .circuit_digest
            .elements
            .iter()
            .chain(verifier.constants_sigmas_cap.0.iter().flat_map(|h| h.elements.iter()))
            .copied()
            .collect();
        for (&claimed, &own) in claimed.iter().zip(&own) {
            builder.connect(claimed, own);
        }

        let fields = &inner.public_inputs[..CHAIN_FIELDS];
        builder.register_public_inputs(&fields[FROM_ROOT]);
        builder.register_public_inputs(&fields[TO_ROOT]);
        let rest = builder.hash_n_to_hash_no_pad::<PoseidonHash>(rest_fields(fields));
        builder.register_public_inputs(&rest.elements);
        let data = builder.build::<WrapConfig>();
        Self { data, inner }
    }

    /// The wrapper's plonky2 data.
    pub fn data(&self) -> &CircuitData<F, WrapConfig, D> {
        &self.data
    }

    /// Its verifier constants.
    pub fn constants(&self) -> VerifierConstants {
        VerifierConstants::new(&self.data.verifier_only)
    }

    /// Proves the wrapper for a chain proof (which the caller has verified).
    pub fn prove(&self, chain: &ProofWithPublicInputs<F, C, D>) -> Result<WrapProof> {
        let mut witness = PartialWitness::new();
        witness.set_proof_with_pis_target(&self.inner, chain).context("setting the chain proof")?;
        let proof = self.data.prove(witness).context("proving the wrapper")?;
        self.data.verify(proof.clone()).map_err(|e| anyhow!("the wrapper proof does not verify: {e}"))?;
        Ok(proof)
    }
}

fn verifier_data_len(recursion: &VerifierCircuitData<F, C, D>) -> usize {
    4 + 4 * recursion.verifier_only.constants_sigmas_cap.0.len()
}
