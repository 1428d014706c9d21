//! The R1CS that Groth16 proves: the wrapper verifier run with the R1CS backend,
//! bound to the five public scalars of [`crate::statement::Groth16Statement`].

use std::sync::Arc;

use ark_bls12_381::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use plonky2::plonk::circuit_data::CommonCircuitData;

use crate::algebra::{Algebra, Backend, Gl};
use crate::poseidon::sponge;
use crate::r1cs::R1cs;
use crate::verifier::{verify, ProofVars, VerifierConstants, WrapProof};
use crate::wrapper::WRAP_PUBLIC_INPUTS;

/// Public scalars of the Groth16 proof: `from_lo, from_hi, to_lo, to_hi, rest`.
pub const GROTH16_INPUTS: usize = 5;

/// Checks that the wrapper's twelve public inputs are what the five Groth16 scalars
/// state: each root's halves packed (`g0 + g1·2^64`), and `rest` the Poseidon over
/// `Fr` hash of the wrapper's four `rest` values.
pub fn bind_statement<B: Backend>(b: &mut B, public_inputs: &[B::Base], scalars: &[B::Fr]) {
    if public_inputs.len() != WRAP_PUBLIC_INPUTS || scalars.len() != GROTH16_INPUTS {
        let zero = b.fr_constant(Fr::from(0u64));
        let one = b.fr_constant(Fr::from(1u64));
        b.assert_fr_equal(&zero, &one, "statement shape");
        return;
    }
    let mut parts: Vec<B::Fr> = public_inputs[..8].chunks(2).map(|pair| b.pack(pair)).collect();
    parts.push(sponge::hash_no_pad(b, &public_inputs[8..12]));
    for (part, scalar) in parts.iter().zip(scalars) {
        b.assert_fr_equal(part, scalar, "statement");
    }
}

/// The wrapper verifier as a Groth16 circuit.
#[derive(Clone)]
pub struct WrapCircuit {
    /// The wrapper circuit's common data.
    pub common: Arc<CommonCircuitData<Gl, 2>>,
    /// Its verifier constants.
    pub constants: VerifierConstants,
    /// The wrapper proof (a [`crate::verifier::dummy_proof`] at setup).
    pub proof: WrapProof,
    /// The public scalars.
    pub inputs: [Fr; GROTH16_INPUTS],
}

impl WrapCircuit {
    /// Synthesizes into `cs` and returns the backend (for its section counts).
    pub fn synthesize(self, cs: ConstraintSystemRef<Fr>) -> Result<R1cs, SynthesisError> {
        let mut scalars = Vec::with_capacity(GROTH16_INPUTS);
        for value in self.inputs {
            scalars.push(FpVar::new_input(cs.clone(), || Ok(value))?);
        }
        let mut b = R1cs::new(cs);
        b.section("witness");
        let vars = ProofVars::allocate(&mut b, &self.common, &self.proof).map_err(|error| {
            tracing::error!(target: "rollup::wrap", %error, "the wrapper proof does not fit the circuit");
            SynthesisError::Unsatisfiable
        })?;
        verify(&mut b, &self.common, &self.constants, &vars);
        b.section("statement");
        bind_statement(&mut b, &vars.public_inputs, &scalars);
        if let Some(error) = b.synthesis_error() {
            return Err(*error);
        }
        Ok(b)
    }
}

impl ConstraintSynthesizer<Fr> for WrapCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize(cs).map(|_| ())
    }
}
