//! Groth16 over BLS12-381 with small real circuits: setup, prove, verify, the proof
//! encoding, the key cache; and the batch statement's public inputs.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ark_bls12_381::{Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field as _, PrimeField, UniformRand};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_serialize::CanonicalSerialize;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Field64, PrimeField64};
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};
use rollup_circuits::batch::{ChainStatement, CHAIN_LEN};
use rollup_wrap::groth16::{
    key_path, load_keys, load_or_setup, prove, prove_with_public_inputs, setup, verify,
    verifying_key_from_bytes, CircuitShape, Groth16Error, KeyFileProblem, Keys, Proof, ProofPart,
    KEY_FILE_VERSION, PROOF_BYTES,
};
use rollup_wrap::statement::{
    root_from_scalars, root_scalars, Groth16Statement, StatementError, INPUT_NAMES, STATEMENT_BYTES,
};

const SEED: [u8; 32] = [7; 32];
const OTHER_SEED: [u8; 32] = [8; 32];

/// Knowledge of `x` with `x^3 + x + 5 = y`, `y` public.
#[derive(Clone, Copy)]
struct Cubic {
    x: Option<Fr>,
    y: Option<Fr>,
}

impl Cubic {
    fn blank() -> Self {
        Self { x: None, y: None }
    }
    fn for_x(x: u64) -> Self {
        let x = Fr::from(x);
        Self { x: Some(x), y: Some(x * x * x + x + Fr::from(5u64)) }
    }
}

impl ConstraintSynthesizer<Fr> for Cubic {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let y = FpVar::new_input(cs.clone(), || self.y.ok_or(SynthesisError::AssignmentMissing))?;
        let x = FpVar::new_witness(cs, || self.x.ok_or(SynthesisError::AssignmentMissing))?;
        let x3 = &x * &x * &x;
        (x3 + &x + Fr::from(5u64)).enforce_equal(&y)
    }
}

/// Knowledge of `x` with `x^2 = y`, `y` public: another circuit of one public input.
#[derive(Clone, Copy)]
struct Square {
    x: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for Square {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let y =
            FpVar::new_input(cs.clone(), || self.x.map(|x| x * x).ok_or(SynthesisError::AssignmentMissing))?;
        let x = FpVar::new_witness(cs, || self.x.ok_or(SynthesisError::AssignmentMissing))?;
        (&x * &x).enforce_equal(&y)
    }
}

/// `steps` rounds of `x ← x·(x + k) + c_i` (`k = 1` in three rounds of four) from
/// a private start `x0` and a private `k`, each round's `x` a fresh witness (so
/// that no linear combination grows): one constraint per round. Public: the
/// start's square `x0^2` and the end value.
#[derive(Clone)]
struct Chain {
    steps: usize,
    x0: Option<Fr>,
    k: Option<Fr>,
}

impl Chain {
    fn constant(i: usize) -> Fr {
        Fr::from(i as u64 * 0x9e37_79b9 + 1)
    }

    fn round(i: usize, x: Fr, k: Fr) -> Fr {
        let k = if i % 4 == 0 { k } else { Fr::from(1u64) };
        x * (x + k) + Self::constant(i)
    }

    /// The public inputs, computed natively.
    fn native(&self) -> Option<[Fr; 2]> {
        let (x0, k) = (self.x0?, self.k?);
        let end = (0..self.steps).fold(x0, |x, i| Self::round(i, x, k));
        Some([x0 * x0, end])
    }
}

impl ConstraintSynthesizer<Fr> for Chain {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let missing = SynthesisError::AssignmentMissing;
        let public = self.native();
        let start = FpVar::new_input(cs.clone(), || public.map(|p| p[0]).ok_or(missing))?;
        let end = FpVar::new_input(cs.clone(), || public.map(|p| p[1]).ok_or(missing))?;
        let mut value = self.x0;
        let mut x = FpVar::new_witness(cs.clone(), || value.ok_or(missing))?;
        let k = FpVar::new_witness(cs.clone(), || self.k.ok_or(missing))?;
        x.mul_equals(&x, &start)?;
        for i in 0..self.steps {
            value = value.zip(self.k).map(|(x, k)| Self::round(i, x, k));
            let next = FpVar::new_witness(cs.clone(), || value.ok_or(missing))?;
            let factor = if i % 4 == 0 { &x + &k } else { &x + Fr::from(1u64) };
            x.mul_equals(&factor, &(&next - Self::constant(i)))?;
            x = next;
        }
        x.enforce_equal(&end)
    }
}

/// The five batch-statement inputs as public inputs, bound to witnesses.
struct StatementCircuit {
    inputs: Option<[Fr; 5]>,
}

impl ConstraintSynthesizer<Fr> for StatementCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        for i in 0..5 {
            let value = || self.inputs.map(|inputs| inputs[i]).ok_or(SynthesisError::AssignmentMissing);
            let public = FpVar::new_input(cs.clone(), value)?;
            let private = FpVar::new_witness(cs.clone(), value)?;
            public.enforce_equal(&private)?;
        }
        Ok(())
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn cubic_keys() -> Keys {
    setup(Cubic::blank(), SEED).unwrap()
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rollup-wrap-groth16-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_valid_proof_verifies_and_its_public_inputs_are_the_circuits() {
    let keys = cubic_keys();
    assert_eq!(
        keys.shape(),
        CircuitShape { num_constraints: 3, num_public_inputs: 1, num_witness_variables: 3 }
    );
    let (proof, inputs) = prove_with_public_inputs(&keys, Cubic::for_x(3), &mut rng(1)).unwrap();
    assert_eq!(inputs, vec![Fr::from(35u64)]);
    verify(keys.prepared_verifying_key(), &inputs, &proof).unwrap();
    // Proofs are randomised; each verifies.
    let again = prove(&keys, Cubic::for_x(3), &mut rng(2)).unwrap();
    assert_ne!(again.to_bytes(), proof.to_bytes());
    verify(keys.prepared_verifying_key(), &inputs, &again).unwrap();
}

#[test]
fn a_tampered_public_input_is_rejected() {
    let keys = cubic_keys();
    let proof = prove(&keys, Cubic::for_x(3), &mut rng(1)).unwrap();
    let result = verify(keys.prepared_verifying_key(), &[Fr::from(36u64)], &proof);
    assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");
    for inputs in [vec![], vec![Fr::from(35u64), Fr::from(0u64)]] {
        let result = verify(keys.prepared_verifying_key(), &inputs, &proof);
        assert!(
            matches!(result, Err(Groth16Error::PublicInputCount { expected: 1, found }) if found == inputs.len()),
            "{result:?}"
        );
    }
}

#[test]
fn tampered_proof_points_are_rejected_in_each_of_a_b_and_c() {
    let keys = cubic_keys();
    let proof = prove(&keys, Cubic::for_x(3), &mut rng(1)).unwrap();
    let inputs = [Fr::from(35u64)];
    let bytes = proof.to_bytes();
    let regions = [(ProofPart::A, 0usize), (ProofPart::B, 48), (ProofPart::C, 144)];

    // The sign flag (bit 5 of a point's first byte) turns P into -P: a valid point
    // that must fail the pairing check.
    for (_, start) in regions {
        let mut tampered = bytes;
        tampered[start] ^= 0x20;
        let tampered = Proof::from_bytes(&tampered).unwrap();
        let result = verify(keys.prepared_verifying_key(), &inputs, &tampered);
        assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");
    }

    // Any other byte change: either the point no longer decodes (and the error
    // names it) or it decodes to another point and the proof fails.
    let mut decode_failures = [0usize; 3];
    for (region, (part, start)) in regions.iter().enumerate() {
        for offset in [1usize, 17, 47] {
            let mut tampered = bytes;
            tampered[start + offset] ^= 0x01;
            match Proof::from_bytes(&tampered) {
                Err(Groth16Error::InvalidProofPoint { part: found, .. }) => {
                    assert_eq!(found, *part);
                    decode_failures[region] += 1;
                }
                Ok(tampered) => {
                    let result = verify(keys.prepared_verifying_key(), &inputs, &tampered);
                    assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
    }
    // A random x is on the curve half the time, and a curve point is in the
    // prime-order subgroup with negligible probability: every change was caught
    // by decoding.
    assert_eq!(decode_failures, [3, 3, 3]);
}

#[test]
fn a_proof_for_other_keys_is_rejected() {
    let keys = cubic_keys();
    let other_circuit = setup(Square { x: None }, SEED).unwrap();
    let proof = prove(&other_circuit, Square { x: Some(Fr::from(6u64)) }, &mut rng(1)).unwrap();
    verify(other_circuit.prepared_verifying_key(), &[Fr::from(36u64)], &proof).unwrap();
    let result = verify(keys.prepared_verifying_key(), &[Fr::from(36u64)], &proof);
    assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");

    // The same circuit set up from another seed: other keys, and no proof carries over.
    let other_seed = setup(Cubic::blank(), OTHER_SEED).unwrap();
    let proof = prove(&other_seed, Cubic::for_x(3), &mut rng(1)).unwrap();
    verify(other_seed.prepared_verifying_key(), &[Fr::from(35u64)], &proof).unwrap();
    let result = verify(keys.prepared_verifying_key(), &[Fr::from(35u64)], &proof);
    assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");
}

#[test]
fn proving_checks_the_shape_and_the_witness() {
    let keys = cubic_keys();
    let result = prove(&keys, Square { x: Some(Fr::from(6u64)) }, &mut rng(1));
    match result {
        Err(Groth16Error::ShapeMismatch { expected, found }) => {
            assert_eq!(expected, keys.shape());
            assert_eq!(
                found,
                CircuitShape { num_constraints: 2, num_public_inputs: 1, num_witness_variables: 2 }
            );
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    // y = 36 is not 3^3 + 3 + 5: the last constraint (the equality) fails.
    let wrong = Cubic { x: Some(Fr::from(3u64)), y: Some(Fr::from(36u64)) };
    let result = prove(&keys, wrong, &mut rng(1));
    assert!(matches!(result, Err(Groth16Error::Unsatisfied { index: 2, num_constraints: 3 })), "{result:?}");
    // A missing witness value is a synthesis error.
    let result = prove(&keys, Cubic { x: None, y: Some(Fr::from(35u64)) }, &mut rng(1));
    assert!(matches!(result, Err(Groth16Error::Synthesis(SynthesisError::AssignmentMissing))), "{result:?}");
}

#[test]
fn setup_is_deterministic_in_its_seed() {
    let a = cubic_keys();
    let b = cubic_keys();
    let c = setup(Cubic::blank(), OTHER_SEED).unwrap();
    assert_eq!(a.vk_bytes(), b.vk_bytes());
    assert_eq!(a.vk_hash(), b.vk_hash());
    let mut pk_a = Vec::new();
    let mut pk_b = Vec::new();
    a.proving_key().serialize_compressed(&mut pk_a).unwrap();
    b.proving_key().serialize_compressed(&mut pk_b).unwrap();
    assert_eq!(pk_a, pk_b);
    assert_ne!(a.vk_bytes(), c.vk_bytes());
    assert_ne!(a.vk_hash(), c.vk_hash());
    // Only the shape matters, not the witness values setup is given.
    assert_eq!(setup(Cubic::for_x(9), SEED).unwrap().vk_bytes(), a.vk_bytes());
}

#[test]
fn a_chain_of_thousands_of_constraints_proves_what_native_code_computes() {
    let steps = 3000;
    let keys = setup(Chain { steps, x0: None, k: None }, SEED).unwrap();
    assert_eq!(keys.shape().num_constraints, steps + 2);
    assert_eq!(keys.shape().num_public_inputs, 2);
    let mut values = ChaCha8Rng::seed_from_u64(11);
    for round in 0..2 {
        let circuit = Chain { steps, x0: Some(Fr::rand(&mut values)), k: Some(Fr::rand(&mut values)) };
        let native = circuit.native().unwrap();
        let (proof, inputs) = prove_with_public_inputs(&keys, circuit, &mut rng(round)).unwrap();
        assert_eq!(inputs, native.to_vec());
        verify(keys.prepared_verifying_key(), &native, &proof).unwrap();
        let mut tampered = native;
        tampered[1] += Fr::from(1u64);
        let result = verify(keys.prepared_verifying_key(), &tampered, &proof);
        assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "{result:?}");
    }
}

#[test]
fn a_proof_is_192_bytes_and_round_trips() {
    let keys = cubic_keys();
    let proof = prove(&keys, Cubic::for_x(5), &mut rng(3)).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), 192);
    assert_eq!(PROOF_BYTES, 192);
    let mut ark_bytes = Vec::new();
    proof.inner().serialize_compressed(&mut ark_bytes).unwrap();
    assert_eq!(ark_bytes, bytes);
    let decoded = Proof::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, proof);
    verify(keys.prepared_verifying_key(), &[Fr::from(135u64)], &decoded).unwrap();
    for length in [0usize, 191, 193] {
        let mut wrong = bytes.to_vec();
        wrong.resize(length, 0);
        let result = Proof::from_bytes(&wrong);
        assert!(
            matches!(result, Err(Groth16Error::ProofLength { expected: 192, found }) if found == length),
            "{result:?}"
        );
    }
}

/// A point on the curve outside the prime-order subgroup, found by trying x = 1, 2, ...
fn off_subgroup<P: AffineRepr>(
    point_from_x: impl Fn(u64) -> Option<P>,
    in_subgroup: impl Fn(&P) -> bool,
) -> P {
    (1u64..).find_map(|x| point_from_x(x).filter(|p| !in_subgroup(p))).unwrap()
}

fn encode<P: CanonicalSerialize>(point: &P) -> Vec<u8> {
    let mut bytes = Vec::new();
    point.serialize_compressed(&mut bytes).unwrap();
    bytes
}

#[test]
fn invalid_points_are_rejected_on_decode() {
    let keys = cubic_keys();
    let proof = prove(&keys, Cubic::for_x(5), &mut rng(3)).unwrap().to_bytes();
    let g1 = off_subgroup(
        |x| G1Affine::get_point_from_x_unchecked(ark_bls12_381::Fq::from(x), false),
        |p| p.is_in_correct_subgroup_assuming_on_curve(),
    );
    let g2 = off_subgroup(
        |x| G2Affine::get_point_from_x_unchecked(ark_bls12_381::Fq2::from(x), false),
        |p| p.is_in_correct_subgroup_assuming_on_curve(),
    );
    assert!(g1.is_on_curve() && g2.is_on_curve());

    let expect_invalid = |bytes: &[u8], part: ProofPart| {
        let result = Proof::from_bytes(bytes);
        assert!(
            matches!(&result, Err(Groth16Error::InvalidProofPoint { part: found, .. }) if *found == part),
            "{part}: {result:?}"
        );
    };
    // On the curve, outside the subgroup.
    for (part, start, point) in
        [(ProofPart::A, 0, encode(&g1)), (ProofPart::B, 48, encode(&g2)), (ProofPart::C, 144, encode(&g1))]
    {
        let mut bytes = proof;
        bytes[start..start + point.len()].copy_from_slice(&point);
        expect_invalid(&bytes, part);
    }
    // Not on the curve: an x for which x^3 + 4 is not a square.
    let off_curve = (1u64..)
        .find(|x| G1Affine::get_point_from_x_unchecked(ark_bls12_381::Fq::from(*x), false).is_none())
        .unwrap();
    let mut bytes = proof;
    let mut x = [0u8; 48];
    x[40..].copy_from_slice(&off_curve.to_be_bytes());
    x[0] |= 0x80;
    bytes[..48].copy_from_slice(&x);
    expect_invalid(&bytes, ProofPart::A);
    // An x coordinate not below the base field's modulus.
    let mut bytes = proof;
    bytes[144..192].fill(0xff);
    bytes[144] = 0x9f;
    expect_invalid(&bytes, ProofPart::C);
    // The infinity flag with a nonzero x, and a point without the compression flag.
    let mut bytes = proof;
    bytes[48] = 0xc0;
    bytes[49] = 1;
    expect_invalid(&bytes, ProofPart::B);
    let mut bytes = proof;
    bytes[0] &= 0x7f;
    expect_invalid(&bytes, ProofPart::A);
}

#[test]
fn verifying_keys_export_and_decode_strictly() {
    let keys = cubic_keys();
    let bytes = keys.vk_bytes().to_vec();
    // Four points, a count and one input point per instance variable.
    assert_eq!(bytes.len(), 48 + 3 * 96 + 8 + 2 * 48);
    assert_eq!(keys.vk_hash(), *blake3::hash(&bytes).as_bytes());
    assert_eq!(rollup_wrap::groth16::vk_hash(keys.verifying_key()).unwrap(), keys.vk_hash());
    let decoded = verifying_key_from_bytes(&bytes).unwrap();
    assert_eq!(&decoded, keys.verifying_key());
    // Truncated, padded, or a count that promises more points than there are.
    for wrong in [&bytes[..bytes.len() - 1], &[bytes.as_slice(), &[0]].concat(), &bytes[..100]] {
        assert!(matches!(verifying_key_from_bytes(wrong), Err(Groth16Error::InvalidVerifyingKey(_))));
    }
    let mut huge = bytes.clone();
    huge[336..344].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(verifying_key_from_bytes(&huge), Err(Groth16Error::InvalidVerifyingKey(_))));
    // A point outside the subgroup.
    let g1 = off_subgroup(
        |x| G1Affine::get_point_from_x_unchecked(ark_bls12_381::Fq::from(x), false),
        |p| p.is_in_correct_subgroup_assuming_on_curve(),
    );
    let mut bad = bytes.clone();
    bad[..48].copy_from_slice(&encode(&g1));
    assert!(matches!(verifying_key_from_bytes(&bad), Err(Groth16Error::InvalidVerifyingKey(_))));
}

fn key_file_problem(result: Result<Keys, Groth16Error>, path: &Path) -> KeyFileProblem {
    match result {
        Err(Groth16Error::KeyFile { path: found, problem }) => {
            assert_eq!(found, path);
            problem
        }
        other => panic!("expected a key file problem, got {other:?}"),
    }
}

/// Rewrites the trailing checksum after an edit, so that checks behind it are reached.
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - 32;
    let checksum = *blake3::hash(&bytes[..body]).as_bytes();
    bytes[body..].copy_from_slice(&checksum);
}

#[test]
fn the_key_cache_writes_then_loads() {
    let dir = TempDir::new("cache");
    let id = [1u8; 32];
    let path = key_path(dir.path(), id);
    assert_eq!(path.file_name().unwrap().to_str().unwrap(), format!("groth16-{}.keys", "01".repeat(32)));
    let made = Cell::new(0);
    let make = || {
        made.set(made.get() + 1);
        Chain { steps: 2000, x0: None, k: None }
    };

    let started = Instant::now();
    let first = load_or_setup(dir.path(), id, SEED, make).unwrap();
    let setup_time = started.elapsed();
    assert_eq!(made.get(), 1);
    assert!(path.exists());
    // Nothing but the key file is left in the directory (no temporary file).
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    let started = Instant::now();
    let second = load_or_setup(dir.path(), id, SEED, make).unwrap();
    let load_time = started.elapsed();
    eprintln!("2000-step chain: setup and write {setup_time:?}, load {load_time:?}");
    assert_eq!(made.get(), 1, "the second call loads instead of setting up");
    assert_eq!(second.vk_bytes(), first.vk_bytes());
    assert_eq!(second.shape(), first.shape());
    assert_eq!(second.seed(), SEED);

    // The loaded keys prove.
    let circuit = Chain { steps: 2000, x0: Some(Fr::from(3u64)), k: Some(Fr::from(4u64)) };
    let inputs = circuit.native().unwrap();
    let proof = prove(&second, circuit, &mut rng(5)).unwrap();
    verify(first.prepared_verifying_key(), &inputs, &proof).unwrap();
}

#[test]
fn unusable_key_files_are_reported_and_replaced() {
    let dir = TempDir::new("replace");
    let id = [2u8; 32];
    let path = key_path(dir.path(), id);
    let made = Cell::new(0);
    let make = || {
        made.set(made.get() + 1);
        Cubic::blank()
    };
    let good = load_or_setup(dir.path(), id, SEED, make).unwrap();
    let original = fs::read(&path).unwrap();
    let reloaded = |bytes: &[u8]| {
        fs::write(&path, bytes).unwrap();
        load_keys(&path, id, SEED)
    };

    // Missing: an I/O error, NotFound.
    let missing = dir.path().join("missing.keys");
    assert!(matches!(
        load_keys(&missing, id, SEED),
        Err(Groth16Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound
    ));

    // Each kind of damage, with the exact problem reported.
    let mut corrupt = original.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 1;
    assert_eq!(key_file_problem(reloaded(&corrupt), &path), KeyFileProblem::Checksum);

    let truncated = &original[..original.len() / 2];
    let expected = original.len() as u64;
    assert_eq!(
        key_file_problem(reloaded(truncated), &path),
        KeyFileProblem::Length { expected, found: truncated.len() as u64 }
    );
    assert_eq!(
        key_file_problem(reloaded(&original[..10]), &path),
        KeyFileProblem::Length { expected: 140 + 32, found: 10 }
    );
    let padded = [original.as_slice(), &[0u8; 3]].concat();
    assert_eq!(
        key_file_problem(reloaded(&padded), &path),
        KeyFileProblem::Length { expected, found: expected + 3 }
    );

    let mut magic = original.clone();
    magic[0] = b'X';
    assert_eq!(key_file_problem(reloaded(&magic), &path), KeyFileProblem::BadMagic);

    let mut version = original.clone();
    version[8..12].copy_from_slice(&(KEY_FILE_VERSION + 1).to_le_bytes());
    assert_eq!(
        key_file_problem(reloaded(&version), &path),
        KeyFileProblem::UnsupportedVersion { found: KEY_FILE_VERSION + 1 }
    );

    fs::write(&path, &original).unwrap();
    assert_eq!(key_file_problem(load_keys(&path, id, OTHER_SEED), &path), KeyFileProblem::WrongSeed);

    // Header fields changed and the checksum recomputed: the checks behind it.
    let mut vk_hash = original.clone();
    vk_hash[76] ^= 1;
    reseal(&mut vk_hash);
    let mut recorded = good.vk_hash();
    recorded[0] ^= 1;
    assert_eq!(
        key_file_problem(reloaded(&vk_hash), &path),
        KeyFileProblem::VkHashMismatch { recorded, computed: good.vk_hash() }
    );
    let mut shape = original.clone();
    shape[108] += 1; // one more constraint: the same domain, but the witness count
    shape[124] += 1; // of the proving key no longer matches.
    reseal(&mut shape);
    assert!(matches!(key_file_problem(reloaded(&shape), &path), KeyFileProblem::Inconsistent(_)));
    let mut body = original.clone();
    body[140] ^= 0x80; // the compression flag of alpha_g1
    reseal(&mut body);
    assert!(matches!(key_file_problem(reloaded(&body), &path), KeyFileProblem::Decode(_)));

    // load_or_setup replaces every one of them with good keys.
    for damaged in [corrupt, truncated.to_vec(), padded, magic, version, vk_hash, shape, body] {
        fs::write(&path, &damaged).unwrap();
        let before = made.get();
        let keys = load_or_setup(dir.path(), id, SEED, make).unwrap();
        assert_eq!(made.get(), before + 1);
        assert_eq!(keys.vk_bytes(), good.vk_bytes());
        assert_eq!(fs::read(&path).unwrap(), original);
    }
    // And keys of another seed.
    let keys = load_or_setup(dir.path(), id, OTHER_SEED, make).unwrap();
    assert_ne!(keys.vk_bytes(), good.vk_bytes());
    assert_eq!(load_keys(&path, id, OTHER_SEED).unwrap().vk_bytes(), keys.vk_bytes());
}

#[test]
fn a_key_file_of_another_circuit_is_not_used() {
    let dir = TempDir::new("foreign");
    let (cubic_id, square_id) = ([3u8; 32], [4u8; 32]);
    let cubic = load_or_setup(dir.path(), cubic_id, SEED, Cubic::blank).unwrap();
    let square_path = key_path(dir.path(), square_id);
    fs::copy(key_path(dir.path(), cubic_id), &square_path).unwrap();
    assert_eq!(
        key_file_problem(load_keys(&square_path, square_id, SEED), &square_path),
        KeyFileProblem::WrongCircuit { expected: square_id, found: cubic_id }
    );
    let square = load_or_setup(dir.path(), square_id, SEED, || Square { x: None }).unwrap();
    assert_ne!(square.vk_bytes(), cubic.vk_bytes());
    let proof = prove(&square, Square { x: Some(Fr::from(5u64)) }, &mut rng(1)).unwrap();
    verify(square.prepared_verifying_key(), &[Fr::from(25u64)], &proof).unwrap();
    assert_eq!(load_keys(&square_path, square_id, SEED).unwrap().vk_bytes(), square.vk_bytes());
}

fn random_chain_statement(values: &mut ChaCha8Rng) -> ChainStatement {
    let fields: Vec<GoldilocksField> = (0..CHAIN_LEN)
        .map(|_| GoldilocksField::from_canonical_u64(values.gen_range(0..GoldilocksField::ORDER)))
        .collect();
    ChainStatement::from_fields(&fields).unwrap()
}

#[test]
fn the_statement_splits_the_roots_and_keeps_the_rest_in_order() {
    let mut values = ChaCha8Rng::seed_from_u64(21);
    for _ in 0..10 {
        let statement = random_chain_statement(&mut values);
        let inputs = Groth16Statement::from_chain_statement(&statement);
        let from = statement.from_root.elements();
        let to = statement.to_root.elements();
        let two64 = Fr::from(u128::from(u64::MAX) + 1);
        let scalar = |g: GoldilocksField| Fr::from(g.to_canonical_u64());
        assert_eq!(inputs.inputs[0], scalar(from[0]) + scalar(from[1]) * two64);
        assert_eq!(inputs.inputs[1], scalar(from[2]) + scalar(from[3]) * two64);
        assert_eq!(inputs.inputs[2], scalar(to[0]) + scalar(to[1]) * two64);
        assert_eq!(inputs.inputs[3], scalar(to[2]) + scalar(to[3]) * two64);
        assert_eq!(inputs.from_root(), Some(from));
        assert_eq!(inputs.to_root(), Some(to));

        let fields = statement.to_fields();
        let rest = Groth16Statement::rest_fields(&statement);
        assert_eq!(rest.len(), CHAIN_LEN - 8);
        assert_eq!(fields[11..15], from);
        assert_eq!(fields[15..19], to);
        assert_eq!(rest[..11], fields[..11]);
        assert_eq!(rest[11..], fields[19..]);
    }
}

// The `rest` input hashes with `crate::poseidon::sponge::hash_no_pad`, written in
// parallel with this module: this test checks how `rest` depends on the statement,
// and holds for any collision-resistant sponge.
#[test]
fn the_rest_input_depends_on_every_rest_field_and_not_on_the_roots() {
    let mut values = ChaCha8Rng::seed_from_u64(22);
    let statement = random_chain_statement(&mut values);
    let inputs = Groth16Statement::from_chain_statement(&statement);
    let fields = statement.to_fields();
    for index in 0..CHAIN_LEN {
        let mut changed = fields.clone();
        // The DA flag (element 41) is read as zero or not: flip it; add one elsewhere.
        changed[index] = match index {
            41 if fields[41] == GoldilocksField::ZERO => GoldilocksField::ONE,
            41 => GoldilocksField::ZERO,
            _ => fields[index] + GoldilocksField::ONE,
        };
        let changed = ChainStatement::from_fields(&changed).unwrap();
        let other = Groth16Statement::from_chain_statement(&changed);
        let is_root = (11..19).contains(&index);
        assert_eq!(other.inputs[4] == inputs.inputs[4], is_root, "field {index}");
        assert_eq!(other.inputs[..4] == inputs.inputs[..4], !is_root, "field {index}");
    }
}

#[test]
fn the_rest_input_is_the_bls12_sponge_of_the_goldilocks_digest_of_the_rest_fields() {
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::plonk::config::Hasher;
    let mut values = ChaCha8Rng::seed_from_u64(25);
    let statement = random_chain_statement(&mut values);
    let digest = PoseidonHash::hash_no_pad(&Groth16Statement::rest_fields(&statement)).elements;
    assert_eq!(Groth16Statement::rest_digest(&statement), digest);
    let rest =
        rollup_wrap::poseidon::sponge::hash_no_pad(&mut rollup_wrap::algebra::Native::new(), &digest[..]);
    assert_eq!(Groth16Statement::from_chain_statement(&statement).rest(), rest);
    assert_eq!(rollup_wrap::statement::rest_input(&digest), rest);
}

#[test]
fn statement_bytes_round_trip_and_decode_strictly() {
    let mut values = ChaCha8Rng::seed_from_u64(23);
    let statement = Groth16Statement::from_chain_statement(&random_chain_statement(&mut values));
    let bytes = statement.to_bytes();
    assert_eq!(bytes.len(), STATEMENT_BYTES);
    assert_eq!(STATEMENT_BYTES, 160);
    for (chunk, input) in bytes.chunks(32).zip(&statement.inputs) {
        assert_eq!(chunk, input.into_bigint().to_bytes_le());
    }
    assert_eq!(Groth16Statement::from_bytes(&bytes), Ok(statement));

    for length in [0usize, 159, 161] {
        let mut wrong = bytes.to_vec();
        wrong.resize(length, 0);
        assert_eq!(
            Groth16Statement::from_bytes(&wrong),
            Err(StatementError::Length { expected: 160, found: length })
        );
    }
    // The modulus itself, in each position, is not canonical.
    let modulus = Fr::MODULUS.to_bytes_le();
    for (index, name) in INPUT_NAMES.iter().enumerate() {
        let mut wrong = bytes;
        wrong[32 * index..32 * index + 32].copy_from_slice(&modulus);
        assert_eq!(
            Groth16Statement::from_bytes(&wrong),
            Err(StatementError::NonCanonicalScalar { input: name })
        );
    }
    // A root half above 2^128, or with a 64-bit half that is not canonical Goldilocks.
    for index in 0..4 {
        for (at, value) in [(16usize, 1u64), (0, GoldilocksField::ORDER), (8, u64::MAX)] {
            let mut wrong = bytes;
            wrong[32 * index + at..32 * index + at + 8].copy_from_slice(&value.to_le_bytes());
            assert_eq!(
                Groth16Statement::from_bytes(&wrong),
                Err(StatementError::RootOutOfRange { input: INPUT_NAMES[index] })
            );
        }
    }
    // `rest` is any canonical scalar.
    let mut top = statement;
    top.inputs[4] = -Fr::ONE;
    assert_eq!(Groth16Statement::from_bytes(&top.to_bytes()), Ok(top));
    // Root helpers agree with the decoder.
    let root = [5u64, GoldilocksField::ORDER - 1, 0, 7].map(GoldilocksField::from_canonical_u64);
    let [lo, hi] = root_scalars(&root);
    assert_eq!(root_from_scalars(&lo, &hi), Some(root));
    assert_eq!(root_from_scalars(&(lo + Fr::from(u128::MAX)), &hi), None);
}

#[test]
fn a_proof_of_the_statement_inputs_verifies_and_each_tampered_input_fails() {
    let mut values = ChaCha8Rng::seed_from_u64(24);
    let statement = Groth16Statement::from_chain_statement(&random_chain_statement(&mut values));
    let keys = setup(StatementCircuit { inputs: None }, SEED).unwrap();
    let (proof, inputs) =
        prove_with_public_inputs(&keys, StatementCircuit { inputs: Some(statement.inputs) }, &mut rng(1))
            .unwrap();
    assert_eq!(inputs, statement.inputs.to_vec());
    let decoded = Groth16Statement::from_bytes(&statement.to_bytes()).unwrap();
    verify(keys.prepared_verifying_key(), &decoded.inputs, &proof).unwrap();
    for index in 0..5 {
        let mut tampered = statement.inputs;
        tampered[index] += Fr::from(1u64);
        let result = verify(keys.prepared_verifying_key(), &tampered, &proof);
        assert!(matches!(result, Err(Groth16Error::VerificationFailed)), "input {index}: {result:?}");
    }
}
