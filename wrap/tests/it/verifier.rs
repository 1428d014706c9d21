//! The generic verifier, run natively: it accepts what plonky2 accepts and refuses
//! each kind of tampering.

use std::sync::OnceLock;

use plonky2::field::types::Field;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::{GenericHashOut, PoseidonGoldilocksConfig};
use rollup_wrap::algebra::{Gl, GlExt};
use rollup_wrap::verifier::{verify_native, VerifierConstants, VerifyError, WrapConfig, WrapProof};

const D: usize = 2;

/// A small circuit with the wrapper's FRI shape (one folding step).
pub(crate) struct Fixture {
    pub(crate) data: CircuitData<Gl, WrapConfig, D>,
    pub(crate) proof: WrapProof,
}

impl Fixture {
    pub(crate) fn constants(&self) -> VerifierConstants {
        VerifierConstants::new(&self.data.verifier_only)
    }
}

/// 400 multiply-adds; public inputs x, the result and ten constants.
pub(crate) fn small() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| small_circuit(2000))
}

/// The same shape with other constants: another circuit.
pub(crate) fn small_variant() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| small_circuit(3000))
}

fn small_circuit(constants_from: u64) -> Fixture {
    {
        let mut builder = CircuitBuilder::<Gl, D>::new(crate::poseidon::wrapper_like_config());
        let x = builder.add_virtual_target();
        builder.register_public_input(x);
        let mut acc = x;
        for _ in 0..400 {
            acc = builder.mul_add(acc, acc, x);
        }
        builder.register_public_input(acc);
        // Twelve public inputs, as the wrapper has.
        for i in 0..10 {
            let c = builder.constant(Gl::from_canonical_u64(constants_from + i));
            builder.register_public_input(c);
        }
        let data = builder.build::<WrapConfig>();
        let mut witness = PartialWitness::new();
        witness.set_target(x, Gl::from_canonical_u64(3)).unwrap();
        let proof = data.prove(witness).unwrap();
        data.verify(proof.clone()).unwrap();
        Fixture { data, proof }
    }
}

/// A circuit that verifies a standard plonky2 proof: every gate of the wrapper.
pub(crate) fn recursive() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        type C = PoseidonGoldilocksConfig;
        let mut builder = CircuitBuilder::<Gl, D>::new(CircuitConfig::standard_recursion_config());
        let x = builder.add_virtual_target();
        builder.register_public_input(x);
        let mut acc = x;
        for _ in 0..2000 {
            acc = builder.mul_add(acc, acc, x);
        }
        builder.register_public_input(acc);
        let inner = builder.build::<C>();
        let mut witness = PartialWitness::new();
        witness.set_target(x, Gl::from_canonical_u64(5)).unwrap();
        let inner_proof = inner.prove(witness).unwrap();

        let mut config = CircuitConfig::standard_recursion_config();
        config.fri_config.rate_bits = 3;
        config.fri_config.cap_height = 2;
        config.fri_config.proof_of_work_bits = 16;
        config.fri_config.num_query_rounds = 28;
        let mut builder = CircuitBuilder::<Gl, D>::new(config);
        let target = builder.add_virtual_proof_with_pis(&inner.common);
        let verifier = builder.constant_verifier_data(&inner.verifier_only);
        builder.verify_proof::<C>(&target, &verifier, &inner.common);
        // Twelve public inputs, as the wrapper has: the inner proof's two and ten more.
        builder.register_public_inputs(&target.public_inputs);
        for i in 0..10 {
            let c = builder.constant(Gl::from_canonical_u64(1000 + i));
            builder.register_public_input(c);
        }
        let data = builder.build::<WrapConfig>();
        let mut witness = PartialWitness::new();
        witness.set_proof_with_pis_target(&target, &inner_proof).unwrap();
        let started = std::time::Instant::now();
        let proof = data.prove(witness).unwrap();
        eprintln!(
            "recursive fixture: 2^{} rows, proven in {:.1} s",
            data.common.degree_bits(),
            started.elapsed().as_secs_f64()
        );
        data.verify(proof.clone()).unwrap();
        Fixture { data, proof }
    })
}

fn refused(fixture: &Fixture, proof: &WrapProof) -> VerifyError {
    assert!(fixture.data.verify(proof.clone()).is_err(), "plonky2 accepts the tampered proof");
    verify_native(&fixture.data.common, &fixture.constants(), proof).unwrap_err()
}

#[test]
fn the_native_verifier_accepts_a_valid_proof() {
    let fixture = small();
    verify_native(&fixture.data.common, &fixture.constants(), &fixture.proof).unwrap();
}

#[test]
fn the_native_verifier_accepts_a_recursive_proof() {
    let fixture = recursive();
    verify_native(&fixture.data.common, &fixture.constants(), &fixture.proof).unwrap();
}

#[test]
fn each_tampering_is_refused() {
    let fixture = small();
    let one = GlExt::ONE;

    let mut proof = fixture.proof.clone();
    proof.public_inputs[1] += Gl::ONE;
    assert_eq!(refused(fixture, &proof), VerifyError::Check("vanishing polynomial = Z_H · quotient at zeta"));

    let mut proof = fixture.proof.clone();
    proof.proof.openings.wires[0] += one;
    assert_eq!(refused(fixture, &proof), VerifyError::Check("vanishing polynomial = Z_H · quotient at zeta"));

    let mut proof = fixture.proof.clone();
    proof.proof.openings.plonk_sigmas[3] += one;
    assert!(matches!(refused(fixture, &proof), VerifyError::Check(_)));

    let mut proof = fixture.proof.clone();
    proof.proof.opening_proof.query_round_proofs[0].initial_trees_proof.evals_proofs[1].0[0] += Gl::ONE;
    assert_eq!(refused(fixture, &proof), VerifyError::Check("initial Merkle path"));

    let mut proof = fixture.proof.clone();
    let sibling = &mut proof.proof.opening_proof.query_round_proofs[2].initial_trees_proof.evals_proofs[0]
        .1
        .siblings[0];
    *sibling = GenericHashOut::from_bytes(&[7u8; 32]);
    assert_eq!(refused(fixture, &proof), VerifyError::Check("initial Merkle path"));

    let mut proof = fixture.proof.clone();
    proof.proof.opening_proof.query_round_proofs[1].steps[0].evals[0] += one;
    assert!(matches!(refused(fixture, &proof), VerifyError::Check(_)));

    let mut proof = fixture.proof.clone();
    proof.proof.opening_proof.final_poly.coeffs[0] += one;
    assert!(matches!(refused(fixture, &proof), VerifyError::Check(_)));

    let mut proof = fixture.proof.clone();
    proof.proof.opening_proof.pow_witness += Gl::ONE;
    assert!(matches!(refused(fixture, &proof), VerifyError::Check(_)));
}

mod r1cs {
    use std::sync::Arc;

    use ark_bls12_381::Fr;
    use ark_relations::r1cs::{ConstraintSystem, SynthesisMode};
    use rollup_wrap::circuit::WrapCircuit;
    use rollup_wrap::statement::Groth16Statement;
    use rollup_wrap::verifier::dummy_proof;

    use super::*;

    /// The five scalars a proof with public inputs `pis` (12 of them) states.
    fn scalars_of(pis: &[Gl]) -> [Fr; 5] {
        Groth16Statement::from_wrapper_public_inputs(pis).unwrap().inputs
    }

    pub(crate) fn circuit(fixture: &Fixture, proof: WrapProof) -> WrapCircuit {
        let pis = &proof.public_inputs;
        let mut padded = pis.clone();
        padded.resize(12, Gl::ZERO);
        WrapCircuit {
            common: Arc::new(fixture.data.common.clone()),
            constants: fixture.constants(),
            inputs: scalars_of(&padded),
            proof,
        }
    }

    /// Synthesizes `proof` against `fixture`'s circuit: the first failed check, and
    /// whether the system is satisfied.
    fn run(fixture: &Fixture, proof: WrapProof, inputs_of: &WrapProof) -> (Option<&'static str>, bool) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut circuit = circuit(fixture, proof);
        circuit.inputs = circuit_inputs(inputs_of);
        let b = circuit.synthesize(cs.clone()).unwrap();
        (rollup_wrap::algebra::Backend::failure(&b), cs.is_satisfied().unwrap())
    }

    fn circuit_inputs(proof: &WrapProof) -> [Fr; 5] {
        let mut padded = proof.public_inputs.clone();
        padded.resize(12, Gl::ZERO);
        scalars_of(&padded)
    }

    #[test]
    fn the_r1cs_refuses_each_tampering_and_another_circuits_proof() {
        let fixture = small();
        let honest = &fixture.proof;
        assert_eq!(run(fixture, honest.clone(), honest), (None, true));

        // A public scalar that is not what the proof states.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut tampered = circuit(fixture, honest.clone());
        tampered.inputs[4] += Fr::from(1u64);
        let b = tampered.synthesize(cs.clone()).unwrap();
        assert_eq!(rollup_wrap::algebra::Backend::failure(&b), Some("statement"));
        assert!(!cs.is_satisfied().unwrap());

        let vanishing = Some("vanishing polynomial = Z_H · quotient at zeta");
        // A public input of the plonky2 proof changed consistently with the scalars.
        let mut proof = honest.clone();
        proof.public_inputs[1] += Gl::ONE;
        assert_eq!(run(fixture, proof.clone(), &proof), (vanishing, false));

        // An opening value.
        let mut proof = honest.clone();
        proof.proof.openings.wires[3] += GlExt::ONE;
        assert_eq!(run(fixture, proof, honest), (vanishing, false));

        // A Merkle path.
        let mut proof = honest.clone();
        proof.proof.opening_proof.query_round_proofs[4].initial_trees_proof.evals_proofs[1].1.siblings[2] =
            GenericHashOut::from_bytes(&[3u8; 32]);
        assert_eq!(run(fixture, proof, honest), (Some("initial Merkle path"), false));

        // The FRI final polynomial.
        let mut proof = honest.clone();
        proof.proof.opening_proof.final_poly.coeffs[1] += GlExt::ONE;
        assert!(matches!(run(fixture, proof, honest), (Some(_), false)));

        // The proof-of-work nonce.
        let mut proof = honest.clone();
        proof.proof.opening_proof.pow_witness += Gl::ONE;
        assert!(matches!(run(fixture, proof, honest), (Some(_), false)));

        // A valid proof of another circuit of the same shape.
        let variant = &small_variant().proof;
        assert_eq!(variant.proof.openings.wires.len(), honest.proof.openings.wires.len());
        assert!(matches!(run(fixture, variant.clone(), variant), (Some(_), false)));

        // A valid proof of a circuit of another shape.
        let other = recursive();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut foreign = circuit(fixture, other.proof.clone());
        foreign.inputs = circuit_inputs(&other.proof);
        assert!(foreign.synthesize(cs).is_err());
    }

    #[test]
    fn a_real_recursive_proof_satisfies_the_r1cs_and_setup_mode_has_the_same_shape() {
        let fixture = recursive();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = circuit(fixture, fixture.proof.clone()).synthesize(cs.clone()).unwrap();
        eprintln!("constraints: {}; sections: {:?}", cs.num_constraints(), b.sections());
        assert_eq!(rollup_wrap::algebra::Backend::failure(&b), None);
        if !cs.is_satisfied().unwrap() {
            panic!("unsatisfied: {:?}", cs.which_is_unsatisfied());
        }

        let setup = ConstraintSystem::<Fr>::new_ref();
        setup.set_mode(SynthesisMode::Setup);
        circuit(fixture, dummy_proof(&fixture.data.common)).synthesize(setup.clone()).unwrap();
        assert_eq!(setup.num_constraints(), cs.num_constraints());
    }
}
