//! Poseidon over the BLS12-381 scalar field: the permutation, its R1CS gadget, the
//! hash functions, and plonky2 proving and verifying with [`PoseidonBls12Config`].

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, Field as ArkField, MontFp, One, PrimeField, UniformRand, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode};
use plonky2::field::types::{Field, Field64};
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::iop::challenger::Challenger;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, VerifierCircuitData};
use plonky2::plonk::config::{GenericHashOut, Hasher};
use plonky2::plonk::proof::ProofWithPublicInputs;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rollup_wrap::algebra::{digest_limbs, pack, unpack, Gl, GlExt, Native};
use rollup_wrap::poseidon::sponge::{self, TWO_TO_ONE_TAG};
use rollup_wrap::poseidon::{
    permute, permute_textbook, r1cs, Digest, PoseidonBls12Config, PoseidonBls12Hash, PoseidonBls12Permutation,
};
use serde::Deserialize;

type C = PoseidonBls12Config;
const D: usize = 2;

fn random_state(rng: &mut ChaCha8Rng) -> [Fr; 5] {
    core::array::from_fn(|_| Fr::rand(rng))
}

fn random_gl(rng: &mut ChaCha8Rng) -> Gl {
    Gl::from_canonical_u64(rng.gen_range(0..Gl::ORDER))
}

fn permuted(state: [Fr; 5]) -> [Fr; 5] {
    let mut state = state;
    permute(&mut state);
    state
}

// ---------------------------------------------------------------------------------
// The permutation.

/// HadesHash `code/test_vectors.txt`, `poseidonperm_x5_255_5`: the permutation of
/// `[0, 1, 2, 3, 4]` (also asserted by independent implementations, e.g. the
/// Poseidon.lean and nimue test suites).
#[test]
fn permutation_matches_the_reference_test_vector() {
    let expected: [Fr; 5] = [
        MontFp!("0x2a918b9c9f9bd7bb509331c81e297b5707f6fc7393dcee1b13901a0b22202e18"),
        MontFp!("0x65ebf8671739eeb11fb217f2d5c5bf4a0c3f210e3f3cd3b08b5db75675d797f7"),
        MontFp!("0x2cc176fc26bc70737a696a9dfd1b636ce360ee76926d182390cdb7459cf585ce"),
        MontFp!("0x4dc4e29d283afd2a491fe6aef122b9a968e74eff05341f3cc23fda1781dcb566"),
        MontFp!("0x03ff622da276830b9451b88b85e6184fd6ae15c8ab3ee25a5667be8592cce3b1"),
    ];
    assert_eq!(permuted([0u64, 1, 2, 3, 4].map(Fr::from)), expected);
}

/// ark-crypto-primitives' `PoseidonSponge` with the same constants computes the same
/// permutation: absorbing `[a, b, c, d]` into the zero state (capacity first) and
/// squeezing four elements returns `permute([0, a, b, c, d])[1..5]`.
#[test]
fn permutation_matches_ark_crypto_primitives_poseidon_sponge() {
    use ark_crypto_primitives::sponge::poseidon::{PoseidonConfig, PoseidonSponge};
    use ark_crypto_primitives::sponge::{CryptographicSponge, FieldBasedCryptographicSponge};
    let params = rollup_wrap::poseidon::params::params();
    let config = PoseidonConfig::new(
        8,
        60,
        5,
        params.mds.iter().map(|row| row.to_vec()).collect(),
        params.round_constants.iter().map(|row| row.to_vec()).collect(),
        4,
        1,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for _ in 0..4 {
        let rate: Vec<Fr> = (0..4).map(|_| Fr::rand(&mut rng)).collect();
        let mut sponge = PoseidonSponge::new(&config);
        sponge.absorb(&rate);
        let squeezed: Vec<Fr> = sponge.squeeze_native_field_elements(4);
        let ours = permuted([Fr::zero(), rate[0], rate[1], rate[2], rate[3]]);
        assert_eq!(squeezed, ours[1..].to_vec());
    }
}

#[test]
fn fast_and_textbook_permutations_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..16 {
        let state = random_state(&mut rng);
        let mut textbook = state;
        permute_textbook(&mut textbook);
        assert_eq!(permuted(state), textbook);
    }
}

// ---------------------------------------------------------------------------------
// The R1CS gadget.

fn witness_state(cs: &ConstraintSystemRef<Fr>, state: &[Fr; 5]) -> [FpVar<Fr>; 5] {
    core::array::from_fn(|i| FpVar::new_witness(cs.clone(), || Ok(state[i])).unwrap())
}

#[test]
fn r1cs_permutation_agrees_with_native_and_costs_300_constraints() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for _ in 0..4 {
        let state = random_state(&mut rng);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let input = witness_state(&cs, &state);
        let output = r1cs::permute(&input).unwrap();
        assert_eq!(output.value().unwrap(), permuted(state));
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 300);
        assert_eq!(r1cs::CONSTRAINTS, 300);
        assert_eq!(cs.num_witness_variables(), 5 + 300);
    }
}

#[test]
fn r1cs_permutation_checks_a_claimed_output() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let state = random_state(&mut rng);
    let correct = permuted(state);
    for tampered_position in [None, Some(0), Some(1), Some(4)] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let input = witness_state(&cs, &state);
        let output = r1cs::permute(&input).unwrap();
        let mut claimed = correct;
        if let Some(i) = tampered_position {
            claimed[i] += Fr::one();
        }
        for (out, value) in output.iter().zip(claimed) {
            let claimed = FpVar::new_input(cs.clone(), || Ok(value)).unwrap();
            out.enforce_equal(&claimed).unwrap();
        }
        assert_eq!(cs.is_satisfied().unwrap(), tampered_position.is_none(), "{tampered_position:?}");
    }
}

/// Every witness of the gadget (the five inputs and the 300 S-box values) is
/// constrained: changing any one of them breaks a constraint.
#[test]
fn r1cs_permutation_rejects_every_tampered_witness() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let state = random_state(&mut rng);
    let build = || {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let _ = r1cs::permute(&witness_state(&cs, &state)).unwrap();
        cs
    };
    let witnesses = build().num_witness_variables();
    assert_eq!(witnesses, 305);
    for k in 0..witnesses {
        // A fresh system each time: evaluated linear combinations are cached.
        let cs = build();
        cs.borrow_mut().unwrap().witness_assignment[k] += Fr::one();
        assert!(!cs.is_satisfied().unwrap(), "witness {k}");
    }
}

#[test]
fn r1cs_permutation_builds_in_setup_mode() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    let input: [FpVar<Fr>; 5] = core::array::from_fn(|_| {
        FpVar::new_witness(cs.clone(), || Err::<Fr, _>(SynthesisError::AssignmentMissing)).unwrap()
    });
    let output = r1cs::permute(&input).unwrap();
    assert_eq!(cs.num_constraints(), 300);
    assert!(output[0].value().is_err());
    cs.finalize();
    assert_eq!(cs.num_constraints(), 300);
}

#[test]
fn r1cs_permutation_of_constants_is_free_and_constant_elements_save_sboxes() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let state = random_state(&mut rng);
    let constants = state.map(FpVar::Constant);
    let output = r1cs::permute(&constants).unwrap();
    assert!(output.iter().all(|v| matches!(v, FpVar::Constant(_))));
    assert_eq!(output.value().unwrap(), permuted(state));

    // two_to_one's shape: constant tag and zero padding around two variables.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let left = FpVar::new_witness(cs.clone(), || Ok(state[1])).unwrap();
    let right = FpVar::new_witness(cs.clone(), || Ok(state[2])).unwrap();
    let tag = Fr::from(TWO_TO_ONE_TAG);
    let zero = FpVar::Constant(Fr::zero());
    let mixed = [FpVar::Constant(tag), left, right, zero.clone(), zero];
    let output = r1cs::permute(&mixed).unwrap();
    assert_eq!(output.value().unwrap(), permuted([tag, state[1], state[2], Fr::zero(), Fr::zero()]));
    assert!(cs.is_satisfied().unwrap());
    assert_eq!(cs.num_constraints(), 300 - 3 * 3);
}

// ---------------------------------------------------------------------------------
// Hash functions (native backend).

/// `hash_no_pad` as its documentation specifies it, written out independently.
fn hash_no_pad_spec(inputs: &[Gl]) -> Fr {
    let scalars: Vec<Fr> = inputs.chunks(3).map(pack).collect();
    let mut state = [Fr::from(inputs.len() as u64), Fr::zero(), Fr::zero(), Fr::zero(), Fr::zero()];
    let blocks: Vec<&[Fr]> = if scalars.is_empty() { vec![&[]] } else { scalars.chunks(4).collect() };
    for block in blocks {
        for i in 0..4 {
            state[1 + i] = block.get(i).copied().unwrap_or_default();
        }
        permute(&mut state);
    }
    state[1]
}

fn hash_no_pad(inputs: &[Gl]) -> Fr {
    sponge::hash_no_pad(&mut Native::new(), inputs)
}

#[test]
fn hash_no_pad_follows_its_specification() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    for n in [0, 1, 2, 3, 4, 11, 12, 13, 24, 25, 100] {
        let inputs: Vec<Gl> = (0..n).map(|_| random_gl(&mut rng)).collect();
        let digest = hash_no_pad(&inputs);
        assert_eq!(digest, hash_no_pad_spec(&inputs), "n = {n}");
        assert_eq!(digest, hash_no_pad(&inputs), "deterministic");
        assert_eq!(PoseidonBls12Hash::hash_no_pad(&inputs), Digest(digest));
    }
    // The empty input: one permutation of the zero state.
    assert_eq!(hash_no_pad(&[]), permuted([Fr::zero(); 5])[1]);
}

#[test]
fn hash_no_pad_separates_lengths_and_inputs() {
    let x = Gl::from_canonical_u64(7);
    let z = Gl::ZERO;
    let inputs: Vec<Vec<Gl>> = vec![
        vec![],
        vec![z],
        vec![z, z],
        vec![x],
        vec![x, z],
        vec![z, x],
        vec![x, z, z, z],
        vec![z; 12],
        vec![z; 13],
        vec![x; 12],
        [vec![x; 12], vec![z]].concat(),
    ];
    let digests: Vec<Fr> = inputs.iter().map(|i| hash_no_pad(i)).collect();
    for (i, a) in digests.iter().enumerate() {
        for (j, b) in digests.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{:?} vs {:?}", inputs[i], inputs[j]);
        }
    }
}

#[test]
fn hash_or_noop_packs_up_to_three_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let values: Vec<Gl> = (0..5).map(|_| random_gl(&mut rng)).collect();
    for n in 0..=3 {
        let packed = sponge::hash_or_noop(&mut Native::new(), &values[..n]);
        assert_eq!(packed, pack(&values[..n]), "n = {n}");
        assert_eq!(PoseidonBls12Hash::hash_or_noop(&values[..n]), Digest(packed));
    }
    assert_eq!(unpack(&PoseidonBls12Hash::hash_or_noop(&values[..3]).0), [values[0], values[1], values[2]]);
    for n in 4..=5 {
        let hashed = sponge::hash_or_noop(&mut Native::new(), &values[..n]);
        assert_eq!(hashed, hash_no_pad(&values[..n]), "n = {n}");
        assert_eq!(PoseidonBls12Hash::hash_or_noop(&values[..n]), Digest(hashed));
    }
}

#[test]
fn two_to_one_is_one_tagged_permutation_and_order_sensitive() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let (a, b) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let ab = sponge::two_to_one(&mut Native::new(), &a, &b);
    let ba = sponge::two_to_one(&mut Native::new(), &b, &a);
    assert_ne!(ab, ba);
    assert_eq!(ab, permuted([Fr::from(1u128 << 64), a, b, Fr::zero(), Fr::zero()])[1]);
    assert_eq!(PoseidonBls12Hash::two_to_one(Digest(a), Digest(b)), Digest(ab));
    // Not the hash of the same scalars with an input-length capacity.
    assert_ne!(ab, permuted([Fr::from(2u64), a, b, Fr::zero(), Fr::zero()])[1]);
    assert_ne!(ab, sponge::two_to_one(&mut Native::new(), &a, &(b + Fr::one())));
}

// ---------------------------------------------------------------------------------
// The transcript permutation and plonky2's Challenger.

#[test]
fn permute_view_packs_the_rate_and_carries_the_capacity() {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let view: [Gl; 12] = core::array::from_fn(|_| random_gl(&mut rng));
    let capacity = Fr::rand(&mut rng);
    let (out, out_capacity) = sponge::permute_view(&mut Native::new(), &view, &capacity);

    let mut state = [capacity, pack(&view[0..3]), pack(&view[3..6]), pack(&view[6..9]), pack(&view[9..12])];
    permute(&mut state);
    assert_eq!(out_capacity, state[0]);
    for i in 0..4 {
        assert_eq!(&out[3 * i..3 * i + 3], &unpack(&state[1 + i])[..]);
    }

    let mut perm = PoseidonBls12Permutation::from_parts(view, capacity);
    perm.permute();
    assert_eq!(perm.squeeze(), &out[..]);
    assert_eq!(perm.capacity(), out_capacity);
}

#[test]
fn plonky2_permutation_state_semantics() {
    let values: Vec<Gl> = (1..=5).map(Gl::from_canonical_u64).collect();
    let perm = PoseidonBls12Permutation::new(values.iter().copied());
    assert_eq!(&perm.as_ref()[..5], &values[..]);
    assert!(perm.as_ref()[5..].iter().all(|v| *v == Gl::ZERO));
    assert_eq!(perm.capacity(), Fr::zero());
    assert_eq!(PoseidonBls12Permutation::new(core::iter::empty()), PoseidonBls12Permutation::default());

    let mut perm = PoseidonBls12Permutation::default();
    perm.set_from_slice(&values, 9); // only three fit
    assert_eq!(&perm.as_ref()[9..], &values[..3]);
    perm.set_from_iter(values.iter().copied(), 10);
    assert_eq!(&perm.as_ref()[10..], &values[..2]);
    perm.set_elt(Gl::NEG_ONE, 0);
    assert_eq!(perm.as_ref()[0], Gl::NEG_ONE);
}

#[test]
fn plonky2_challenger_runs_on_permute_view() {
    let observed: Vec<Gl> = (0..17).map(|i| Gl::from_canonical_u64(1000 + i)).collect();
    let mut challenger = Challenger::<Gl, PoseidonBls12Hash>::new();
    challenger.observe_elements(&observed);
    let challenges = challenger.get_n_challenges(13);

    // By hand: 12 inputs fill the rate and trigger a permutation; the next 5
    // overwrite the first positions; challenges are read last element first.
    let mut native = Native::new();
    let mut view: [Gl; 12] = observed[..12].try_into().unwrap();
    let (after, capacity) = sponge::permute_view(&mut native, &view, &Fr::zero());
    view = after;
    view[..5].copy_from_slice(&observed[12..]);
    let (after, capacity) = sponge::permute_view(&mut native, &view, &capacity);
    let mut expected: Vec<Gl> = after.iter().rev().copied().collect();
    let (again, _) = sponge::permute_view(&mut native, &after, &capacity);
    expected.push(again[11]);
    assert_eq!(challenges, expected);
}

// ---------------------------------------------------------------------------------
// Digest encodings.

fn modulus_le_bytes() -> Vec<u8> {
    Fr::MODULUS.to_bytes_le()
}

#[test]
fn digest_bytes_round_trip_and_from_bytes_is_total() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let d = Digest(Fr::rand(&mut rng));
    let bytes = d.to_bytes();
    assert_eq!(bytes.len(), 32);
    assert_eq!(bytes, d.0.into_bigint().to_bytes_le());
    assert_eq!(Digest::from_bytes(&bytes), d);
    assert_eq!(GenericHashOut::<Gl>::to_vec(&d), digest_limbs(&d.0).to_vec());

    // Short input: zero-padded.
    assert_eq!(Digest::from_bytes(&[5]), Digest(Fr::from(5u64)));
    assert_eq!(Digest::from_bytes(&[]), Digest(Fr::zero()));
    // Non-canonical: reduced modulo r (every digest has the encoding d + r < 2^256).
    let mut plus_r = Fr::MODULUS;
    assert!(!plus_r.add_with_carry(&d.0.into_bigint()));
    assert_eq!(Digest::from_bytes(&plus_r.to_bytes_le()), d);
    assert_eq!(Digest::from_bytes(&modulus_le_bytes()), Digest(Fr::zero()));
    assert_eq!(Digest::from_bytes(&[0xff; 32]), Digest(Fr::from_le_bytes_mod_order(&[0xff; 32])));
    // Longer input: reduced as an integer.
    let mut long = vec![0u8; 40];
    long[32] = 1;
    assert_eq!(Digest::from_bytes(&long), Digest(ArkField::pow(&Fr::from(2u64), [256u64])));

    assert_eq!(Digest::from_canonical_le_bytes(&bytes), Some(d));
    assert_eq!(Digest::from_canonical_le_bytes(&plus_r.to_bytes_le()), None);
    assert_eq!(Digest::from_canonical_le_bytes(&bytes[..31]), None);
}

#[test]
fn digest_serde_is_strict() {
    use serde::de::value::{BytesDeserializer, Error, SeqDeserializer};
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let d = Digest(Fr::rand(&mut rng));
    let bytes = d.to_bytes();
    let from_bytes = |b: &[u8]| Digest::deserialize(BytesDeserializer::<Error>::new(b));
    let from_seq = |b: &[u8]| Digest::deserialize(SeqDeserializer::<_, Error>::new(b.iter().copied()));
    assert_eq!(from_bytes(&bytes).unwrap(), d);
    assert_eq!(from_seq(&bytes).unwrap(), d);
    assert!(from_bytes(&bytes[..31]).is_err());
    assert!(from_seq(&bytes[..31]).is_err());
    assert!(from_seq(&[bytes.clone(), vec![0]].concat()).is_err());
    assert!(from_bytes(&modulus_le_bytes()).is_err());
    assert!(from_seq(&modulus_le_bytes()).is_err());
}

// ---------------------------------------------------------------------------------
// plonky2 proving and verifying with PoseidonBls12Config.

/// The standard recursion config with a high-rate FRI, as for the wrapper: 15
/// queries at rate 2^-6 and 12 bits of grinding give the 100 conjectured bits that
/// plonky2 requires (`15·6 + 12 = 102`; 14 queries would need 16 bits). The final
/// polynomial is cut to 2 coefficients (standard: 32) so that this small circuit
/// (2^5 rows) still has one FRI folding step, of the standard arity 16.
pub(crate) fn wrapper_like_config() -> CircuitConfig {
    let mut config = CircuitConfig::standard_recursion_config();
    config.fri_config.reduction_strategy = FriReductionStrategy::ConstantArityBits(4, 1);
    config.fri_config.rate_bits = 6;
    config.fri_config.cap_height = 2;
    config.fri_config.proof_of_work_bits = 12;
    config.fri_config.num_query_rounds = 15;
    config
}

/// Arithmetic operations in the small circuit (20 per arithmetic gate row).
const OPERATIONS: usize = 400;

struct Proven {
    verifier: VerifierCircuitData<Gl, C, D>,
    proof: ProofWithPublicInputs<Gl, C, D>,
    degree_bits: usize,
    proving_time: Duration,
}

/// `y = f^OPERATIONS(x)` with `f(a) = a·a + x`; public inputs `x` and `y`.
fn proven() -> &'static Proven {
    static PROVEN: OnceLock<Proven> = OnceLock::new();
    PROVEN.get_or_init(|| {
        let mut builder = CircuitBuilder::<Gl, D>::new(wrapper_like_config());
        let x = builder.add_virtual_target();
        builder.register_public_input(x);
        let mut acc = x;
        for _ in 0..OPERATIONS {
            acc = builder.mul_add(acc, acc, x);
        }
        builder.register_public_input(acc);
        let data = builder.build::<C>();
        let mut witness = PartialWitness::new();
        witness.set_target(x, Gl::from_canonical_u64(3)).unwrap();
        let start = Instant::now();
        let proof = data.prove(witness).unwrap();
        let proving_time = start.elapsed();
        Proven { degree_bits: data.common.degree_bits(), verifier: data.verifier_data(), proof, proving_time }
    })
}

fn expected_output(x: Gl) -> Gl {
    (0..OPERATIONS).fold(x, |acc, _| acc * acc + x)
}

#[test]
fn plonky2_proof_verifies_with_plonky2s_verifier() {
    let proven = proven();
    println!(
        "small circuit: 2^{} rows, rate_bits 6, proved in {:?}, proof {} bytes",
        proven.degree_bits,
        proven.proving_time,
        proven.proof.to_bytes().len()
    );
    assert_eq!(proven.degree_bits, 5);
    let fri = &proven.proof.proof.opening_proof;
    assert_eq!(fri.commit_phase_merkle_caps.len(), 1);
    assert_eq!(fri.final_poly.coeffs.len(), 2);
    assert_eq!(fri.query_round_proofs.len(), 15);
    let three = Gl::from_canonical_u64(3);
    assert_eq!(proven.proof.public_inputs, vec![three, expected_output(three)]);
    proven.verifier.verify(proven.proof.clone()).unwrap();
}

#[test]
fn plonky2_rejects_a_tampered_merkle_cap() {
    let proven = proven();
    for which in 0..3 {
        let mut proof = proven.proof.clone();
        let cap = match which {
            0 => &mut proof.proof.wires_cap,
            1 => &mut proof.proof.plonk_zs_partial_products_cap,
            _ => &mut proof.proof.quotient_polys_cap,
        };
        cap.0[1].0 += Fr::one();
        assert!(proven.verifier.verify(proof).is_err(), "cap {which}");
    }
    let mut proof = proven.proof.clone();
    proof.proof.opening_proof.commit_phase_merkle_caps[0].0[0].0 += Fr::one();
    assert!(proven.verifier.verify(proof).is_err(), "FRI commit-phase cap");
}

#[test]
fn plonky2_rejects_tampered_opening_values() {
    let proven = proven();
    let one = GlExt::ONE;
    let mut proof = proven.proof.clone();
    proof.proof.openings.wires[0] += one;
    assert!(proven.verifier.verify(proof).is_err(), "wire opening");
    let mut proof = proven.proof.clone();
    proof.proof.openings.quotient_polys[0] += one;
    assert!(proven.verifier.verify(proof).is_err(), "quotient opening");
    let mut proof = proven.proof.clone();
    proof.proof.openings.plonk_zs[0] += one;
    assert!(proven.verifier.verify(proof).is_err(), "Z opening");
    let mut proof = proven.proof.clone();
    let (values, _) =
        &mut proof.proof.opening_proof.query_round_proofs[0].initial_trees_proof.evals_proofs[1];
    values[0] += Gl::ONE;
    assert!(proven.verifier.verify(proof).is_err(), "FRI query opening");
    let mut proof = proven.proof.clone();
    let sibling = &mut proof.proof.opening_proof.query_round_proofs[0].initial_trees_proof.evals_proofs[1]
        .1
        .siblings[0];
    sibling.0 += Fr::one();
    assert!(proven.verifier.verify(proof).is_err(), "Merkle path sibling");
}

#[test]
fn plonky2_rejects_a_tampered_final_polynomial_pow_witness_or_public_input() {
    let proven = proven();
    let mut proof = proven.proof.clone();
    proof.proof.opening_proof.final_poly.coeffs[0] += GlExt::ONE;
    assert!(proven.verifier.verify(proof).is_err(), "final polynomial");

    let mut proof = proven.proof.clone();
    proof.proof.opening_proof.pow_witness += Gl::ONE;
    assert!(proven.verifier.verify(proof).is_err(), "PoW witness");

    let mut proof = proven.proof.clone();
    proof.public_inputs[1] += Gl::ONE;
    assert!(proven.verifier.verify(proof).is_err(), "public input");
}

#[test]
fn plonky2_proof_round_trips_through_bytes() {
    let proven = proven();
    let bytes = proven.proof.to_bytes();
    let decoded =
        ProofWithPublicInputs::<Gl, C, D>::from_bytes(bytes.clone(), &proven.verifier.common).unwrap();
    assert_eq!(decoded, proven.proof);
    assert_eq!(decoded.to_bytes(), bytes);
    proven.verifier.verify(decoded).unwrap();

    // Documented malleability: a digest written as d + r decodes to d.
    let cap = proven.proof.proof.wires_cap.0[0];
    let canonical = cap.to_bytes();
    let at = bytes.windows(32).position(|w| w == canonical.as_slice()).unwrap();
    let mut plus_r = Fr::MODULUS;
    assert!(!plus_r.add_with_carry(&cap.0.into_bigint()));
    let mut malleated = bytes.clone();
    malleated[at..at + 32].copy_from_slice(&plus_r.to_bytes_le());
    let decoded = ProofWithPublicInputs::<Gl, C, D>::from_bytes(malleated, &proven.verifier.common).unwrap();
    assert_eq!(decoded, proven.proof);

    // A truncated proof is an error, not a panic.
    let truncated = bytes[..bytes.len() - 1].to_vec();
    assert!(ProofWithPublicInputs::<Gl, C, D>::from_bytes(truncated, &proven.verifier.common).is_err());
}
