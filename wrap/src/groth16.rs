//! Groth16 over BLS12-381: setup, an on-disk key cache, proving, verification and
//! the 192-byte proof that goes to Bitcoin.
//!
//! Any R1CS over the BLS12-381 scalar field (an
//! [`ark_relations::r1cs::ConstraintSynthesizer<Fr>`]) can be set up, proven and
//! verified here; the wrapper's verifier circuit is one such R1CS.
//!
//! # The setup is a development setup
//!
//! [`setup`] derives all of Groth16's secret randomness ("toxic waste": α, β, γ, δ,
//! the evaluation point τ and the generators) from a ChaCha20 stream seeded with a
//! 32-byte seed. It is deterministic, which makes devnets and tests reproducible,
//! and it is **not a trusted setup**: anyone who knows the seed can recompute the
//! toxic waste and forge proofs of false statements for the resulting verifying
//! key. Production keys must come from a multi-party ceremony; the verifying key
//! that the settlement contract trusts is pinned by its [`Keys::vk_hash`].
//!
//! # Key files
//!
//! [`load_or_setup`] caches keys under `dir/groth16-<hex(circuit_id)>.keys`
//! ([`key_path`]). The file is, in order:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `RWRPG16K` |
//! | 4 | format version, `u32` little-endian (currently 1) |
//! | 32 | circuit id (chosen by the caller, e.g. a hash of the circuit's shape) |
//! | 32 | setup seed |
//! | 32 | verifying-key hash ([`vk_hash`]) |
//! | 8 × 3 | constraints, public inputs, witness variables (`u64` LE each) |
//! | 8 | body length `n` (`u64` LE) |
//! | n | the proving key (which contains the verifying key), `ark-serialize` uncompressed |
//! | 32 | BLAKE3 of everything above |
//!
//! Files are written atomically (a temporary file in the same directory, synced,
//! then renamed over the final name). [`load_keys`] checks, in this order, the magic
//! and version, the length, the checksum, the circuit id and seed, then decodes the
//! key, validates the verifying key's points (on curve, in the prime-order
//! subgroup), recomputes the verifying-key hash and checks the sizes of every part
//! of the key against the recorded shape. Any failure is a
//! [`Groth16Error::KeyFile`] naming the path and the [`KeyFileProblem`].
//!
//! **Policy of [`load_or_setup`]:** a missing file is created; a file that fails any
//! check (corrupt, truncated, another format version, another circuit id or seed)
//! is never used: a `warn` event names the path and the problem, and the keys are
//! set up again and written over it. The keys are a deterministic function of the
//! circuit and the seed, so replacing a bad cache entry loses nothing but time. A
//! file that cannot be read at all (permissions, I/O errors) or a directory that
//! cannot be written is an error ([`Groth16Error::Io`]), not a silent rebuild.
//!
//! The checks detect accidents (disk corruption, interrupted writes, stale files of
//! another circuit, seed or format), not an adversary who can write the cache
//! directory: such an adversary can write a well-formed file with keys of its own.
//! The cache directory is trusted storage, and a deployment compares
//! [`Keys::vk_hash`] with the hash its configuration pins.
//!
//! **Encoding and point validation on load.** Only the verifying key decides what
//! verifies, so its points are always fully validated (on the curve, in the
//! prime-order subgroup), and its hash is taken over its compressed encoding
//! ([`vk_bytes`]). The proving key is stored *uncompressed* and decoded *without*
//! point checks: the checksum already guarantees that the file holds exactly the
//! bytes that a setup wrote, and a bad proving-key point could only make the prover
//! produce proofs that fail verification (or fail [`Proof::from_ark`]'s checks),
//! never make a false proof verify. Measured by `benches/groth16.rs` on this
//! project's 2-core machine, for a circuit of 2^18 constraints (a 72 MiB
//! compressed, 144 MiB uncompressed proving key; setup takes 36 s), decoding the
//! proving key takes:
//!
//! | encoding | validated | unchecked |
//! |---|---|---|
//! | compressed | 139 s | 58 s (the square roots of decompression remain) |
//! | uncompressed | 92 s | 0.32 s |
//!
//! and at 2^16 constraints 35.6 s, 15.3 s, 21.5 s and 0.08 s (setup: 7.6 s). Any
//! compressed or validated load is slower than setting the keys up again; twice
//! the disk space is the price of a cache worth having (`load_keys` of the 2^18
//! file, checksum and verifying-key checks included: 0.37 s).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine};
use ark_groth16::{PreparedVerifyingKey, ProvingKey, VerifyingKey};
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_std::rand::{CryptoRng, RngCore};
use ark_std::UniformRand;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tracing::{info, warn};

/// Groth16 over BLS12-381 with arkworks' default (libsnark) R1CS-to-QAP reduction.
type Snark = ark_groth16::Groth16<Bls12_381>;

/// Bytes of a compressed G1 point.
pub const G1_BYTES: usize = 48;
/// Bytes of a compressed G2 point.
pub const G2_BYTES: usize = 96;
/// Bytes of a compressed proof: `A` (G1), `B` (G2), `C` (G1).
pub const PROOF_BYTES: usize = G1_BYTES + G2_BYTES + G1_BYTES;

/// The first bytes of a key file.
pub const KEY_FILE_MAGIC: [u8; 8] = *b"RWRPG16K";
/// The key-file format this code writes and reads.
pub const KEY_FILE_VERSION: u32 = 1;
/// Bytes before the proving key in a key file.
const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 32 + 8 * 3 + 8;
/// Bytes of the trailing checksum.
const CHECKSUM_LEN: usize = 32;
/// Bytes of a compressed verifying key before its `gamma_abc_g1` entries: four
/// points and the vector length.
const VK_FIXED_BYTES: usize = G1_BYTES + 3 * G2_BYTES + 8;

/// Why setting up, proving, verifying, decoding or caching failed.
#[derive(Debug, thiserror::Error)]
pub enum Groth16Error {
    /// The circuit failed to generate its constraints or witness.
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[source] SynthesisError),
    /// The witness does not satisfy the circuit: proving it would give a proof that
    /// does not verify.
    #[error("the witness does not satisfy constraint {index} (of {num_constraints})")]
    Unsatisfied {
        /// The first unsatisfied constraint.
        index: usize,
        /// The circuit's constraints.
        num_constraints: usize,
    },
    /// The circuit being proven is not the one the keys were set up for.
    #[error("the circuit does not match the keys: the keys are for {expected}, the circuit has {found}")]
    ShapeMismatch {
        /// The shape the keys were set up for.
        expected: CircuitShape,
        /// The shape of the circuit given.
        found: CircuitShape,
    },
    /// The number of public inputs differs from the verifying key's.
    #[error("{found} public inputs given, the verifying key takes {expected}")]
    PublicInputCount {
        /// The verifying key's number of public inputs.
        expected: usize,
        /// The number given.
        found: usize,
    },
    /// The proof does not verify for these public inputs and this verifying key.
    #[error("the proof does not verify")]
    VerificationFailed,
    /// The pairing check could not be evaluated.
    #[error("verification could not run: {0}")]
    Verification(#[source] SynthesisError),
    /// Proof bytes of the wrong length.
    #[error("a proof is {expected} bytes, got {found}")]
    ProofLength {
        /// [`PROOF_BYTES`].
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A proof point that does not decode, is not on the curve or not in the
    /// prime-order subgroup, or is not canonically encoded.
    #[error("invalid proof point {part}: {reason}")]
    InvalidProofPoint {
        /// Which point.
        part: ProofPart,
        /// Why it is invalid.
        reason: String,
    },
    /// Verifying-key bytes that do not decode to a valid key.
    #[error("invalid verifying key: {0}")]
    InvalidVerifyingKey(String),
    /// Serializing a key or proof failed.
    #[error("serialization failed: {0}")]
    Serialization(String),
    /// A key file exists but cannot be used.
    #[error("key file {}: {problem}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: KeyFileProblem,
    },
    /// Reading or writing a key file failed.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a key file (see the module docs for the format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileProblem {
    /// The file does not start with [`KEY_FILE_MAGIC`].
    #[error("not a Groth16 key file (bad magic)")]
    BadMagic,
    /// The file has another format version.
    #[error("format version {found}, this code reads version {KEY_FILE_VERSION}")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
    },
    /// The file is shorter or longer than its header says (an interrupted write).
    #[error("truncated or padded: {found} bytes, the header implies {expected}")]
    Length {
        /// The length the header implies (or the minimum, for a file too short to
        /// hold a header).
        expected: u64,
        /// The file's length.
        found: u64,
    },
    /// The trailing BLAKE3 checksum does not match the contents.
    #[error("checksum mismatch: the file is corrupt")]
    Checksum,
    /// The file holds keys of another circuit.
    #[error("keys for circuit {}, expected circuit {}", hex(.found), hex(.expected))]
    WrongCircuit {
        /// The circuit id asked for.
        expected: [u8; 32],
        /// The circuit id in the file.
        found: [u8; 32],
    },
    /// The file holds keys set up from another seed.
    #[error("keys set up from another seed")]
    WrongSeed,
    /// The proving key does not decode.
    #[error("the proving key does not decode: {0}")]
    Decode(String),
    /// The verifying key has a point off the curve or outside the subgroup.
    #[error("invalid verifying key point: {0}")]
    InvalidVerifyingKey(String),
    /// The verifying key's hash differs from the one recorded in the header.
    #[error("verifying key hash {} differs from the header's {}", hex(.computed), hex(.recorded))]
    VkHashMismatch {
        /// The hash in the header.
        recorded: [u8; 32],
        /// The hash of the decoded key.
        computed: [u8; 32],
    },
    /// The key's parts do not have the sizes the recorded shape implies.
    #[error("the key does not match its recorded shape: {0}")]
    Inconsistent(String),
}

/// The points of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPart {
    /// `A`, in G1 (bytes 0..48).
    A,
    /// `B`, in G2 (bytes 48..144).
    B,
    /// `C`, in G1 (bytes 144..192).
    C,
}

impl fmt::Display for ProofPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProofPart::A => "A",
            ProofPart::B => "B",
            ProofPart::C => "C",
        })
    }
}

/// The size of an R1CS: what a set of keys is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CircuitShape {
    /// Constraints.
    pub num_constraints: usize,
    /// Public inputs (instance variables other than the constant one).
    pub num_public_inputs: usize,
    /// Private witness variables.
    pub num_witness_variables: usize,
}

impl CircuitShape {
    /// The shape of a synthesized constraint system.
    fn of(cs: &ConstraintSystemRef<Fr>) -> Self {
        Self {
            num_constraints: cs.num_constraints(),
            num_public_inputs: cs.num_instance_variables().saturating_sub(1),
            num_witness_variables: cs.num_witness_variables(),
        }
    }

    /// The size of the QAP evaluation domain: the smallest power of two holding the
    /// constraints and the instance variables (ark-groth16's radix-2 domain).
    fn domain_size(&self) -> Option<usize> {
        self.num_constraints.checked_add(self.num_public_inputs)?.checked_add(1)?.checked_next_power_of_two()
    }
}

impl fmt::Display for CircuitShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} constraints, {} public inputs, {} witness variables",
            self.num_constraints, self.num_public_inputs, self.num_witness_variables
        )
    }
}

/// A circuit's proving key and prepared verifying key, with what identifies them.
#[derive(Clone)]
pub struct Keys {
    pk: ProvingKey<Bls12_381>,
    pvk: PreparedVerifyingKey<Bls12_381>,
    shape: CircuitShape,
    seed: [u8; 32],
    vk_bytes: Vec<u8>,
    vk_hash: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("shape", &self.shape)
            .field("vk_hash", &hex(&self.vk_hash))
            .finish_non_exhaustive()
    }
}

impl Keys {
    fn new(pk: ProvingKey<Bls12_381>, shape: CircuitShape, seed: [u8; 32]) -> Result<Self, Groth16Error> {
        let vk_bytes = vk_bytes(&pk.vk)?;
        let vk_hash = *blake3::hash(&vk_bytes).as_bytes();
        let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
        Ok(Self { pk, pvk, shape, seed, vk_bytes, vk_hash })
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey<Bls12_381> {
        &self.pk
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bls12_381> {
        &self.pk.vk
    }

    /// The verifying key, prepared for [`verify`].
    pub fn prepared_verifying_key(&self) -> &PreparedVerifyingKey<Bls12_381> {
        &self.pvk
    }

    /// The shape of the circuit the keys are for.
    pub fn shape(&self) -> CircuitShape {
        self.shape
    }

    /// The development-setup seed the keys were derived from.
    pub fn seed(&self) -> [u8; 32] {
        self.seed
    }

    /// The verifying key, compressed ([`vk_bytes`]).
    pub fn vk_bytes(&self) -> &[u8] {
        &self.vk_bytes
    }

    /// BLAKE3 of [`Keys::vk_bytes`] ([`vk_hash`]).
    pub fn vk_hash(&self) -> [u8; 32] {
        self.vk_hash
    }
}

/// A Groth16 proof over BLS12-381 whose points are valid (on the curve, in the
/// prime-order subgroup), with its canonical 192-byte encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct Proof {
    inner: ark_groth16::Proof<Bls12_381>,
    bytes: [u8; PROOF_BYTES],
}

impl Proof {
    /// Wraps an arkworks proof, checking its points and encoding it.
    pub fn from_ark(inner: ark_groth16::Proof<Bls12_381>) -> Result<Self, Groth16Error> {
        let mut bytes = [0u8; PROOF_BYTES];
        inner
            .serialize_compressed(&mut bytes[..])
            .map_err(|error| Groth16Error::Serialization(error.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// The arkworks proof.
    pub fn inner(&self) -> &ark_groth16::Proof<Bls12_381> {
        &self.inner
    }

    /// The compressed encoding: `A` (48 bytes), `B` (96 bytes), `C` (48 bytes), each
    /// in arkworks' BLS12-381 compressed form (the big-endian x coordinate with the
    /// compression, infinity and sign flags in the top three bits of its first
    /// byte, as in Zcash and the IETF pairing-friendly-curves draft).
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        self.bytes
    }

    /// Decodes [`Proof::to_bytes`]. Rejects a wrong length, and any point that does
    /// not decode, is not on the curve, is not in the prime-order subgroup or is not
    /// canonically encoded, naming the point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Groth16Error> {
        let bytes: [u8; PROOF_BYTES] = bytes
            .try_into()
            .map_err(|_| Groth16Error::ProofLength { expected: PROOF_BYTES, found: bytes.len() })?;
        let (a_bytes, rest) = bytes.split_at(G1_BYTES);
        let (b_bytes, c_bytes) = rest.split_at(G2_BYTES);
        let a: G1Affine = decode_point(a_bytes, ProofPart::A)?;
        let b: G2Affine = decode_point(b_bytes, ProofPart::B)?;
        let c: G1Affine = decode_point(c_bytes, ProofPart::C)?;
        Ok(Self { inner: ark_groth16::Proof { a, b, c }, bytes })
    }
}

/// Decodes one compressed point with full validation, and checks that the encoding
/// is the canonical one.
fn decode_point<P: CanonicalSerialize + CanonicalDeserialize>(
    bytes: &[u8],
    part: ProofPart,
) -> Result<P, Groth16Error> {
    let invalid = |reason: String| Groth16Error::InvalidProofPoint { part, reason };
    let point = P::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|error| invalid(error.to_string()))?;
    let mut again = Vec::with_capacity(bytes.len());
    point.serialize_compressed(&mut again).map_err(|error| invalid(error.to_string()))?;
    if again != bytes {
        return Err(invalid("non-canonical encoding".to_owned()));
    }
    Ok(point)
}

/// The compressed encoding of a verifying key: `alpha_g1`, `beta_g2`, `gamma_g2`,
/// `delta_g2`, then `gamma_abc_g1` as a `u64` little-endian count and the points.
pub fn vk_bytes(vk: &VerifyingKey<Bls12_381>) -> Result<Vec<u8>, Groth16Error> {
    let mut bytes = Vec::with_capacity(vk.compressed_size());
    vk.serialize_compressed(&mut bytes).map_err(|error| Groth16Error::Serialization(error.to_string()))?;
    Ok(bytes)
}

/// BLAKE3 of [`vk_bytes`]: the verifying-key hash that configurations pin.
pub fn vk_hash(vk: &VerifyingKey<Bls12_381>) -> Result<[u8; 32], Groth16Error> {
    Ok(*blake3::hash(&vk_bytes(vk)?).as_bytes())
}

/// Decodes [`vk_bytes`], validating every point (on the curve, in the prime-order
/// subgroup). The length is checked against the encoded point count before anything
/// is allocated.
pub fn verifying_key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey<Bls12_381>, Groth16Error> {
    let invalid = |reason: String| Groth16Error::InvalidVerifyingKey(reason);
    let count_bytes = bytes
        .get(VK_FIXED_BYTES - 8..VK_FIXED_BYTES)
        .ok_or_else(|| invalid(format!("{} bytes, at least {VK_FIXED_BYTES} expected", bytes.len())))?;
    let mut count = [0u8; 8];
    count.copy_from_slice(count_bytes);
    let count = u64::from_le_bytes(count);
    let expected = usize::try_from(count)
        .ok()
        .and_then(|count| count.checked_mul(G1_BYTES))
        .and_then(|points| points.checked_add(VK_FIXED_BYTES));
    if expected != Some(bytes.len()) {
        return Err(invalid(format!("{} bytes for {count} input points", bytes.len())));
    }
    let vk = VerifyingKey::<Bls12_381>::deserialize_compressed(bytes)
        .map_err(|error| invalid(error.to_string()))?;
    if vk.gamma_abc_g1.is_empty() {
        return Err(invalid("no input points".to_owned()));
    }
    Ok(vk)
}

/// Wraps a circuit to record its shape once it has generated its constraints.
struct Measured<'a, C> {
    circuit: C,
    shape: &'a mut Option<CircuitShape>,
}

impl<C: ConstraintSynthesizer<Fr>> ConstraintSynthesizer<Fr> for Measured<'_, C> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let started = Instant::now();
        self.circuit.generate_constraints(cs.clone())?;
        let shape = CircuitShape::of(&cs);
        info!(
            constraints = shape.num_constraints,
            public_inputs = shape.num_public_inputs,
            witness_variables = shape.num_witness_variables,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "groth16 setup: circuit synthesized"
        );
        *self.shape = Some(shape);
        Ok(())
    }
}

/// **Development setup, not a trusted ceremony**: Groth16 keys for `circuit` with
/// all of the setup's secret randomness drawn from ChaCha20 seeded with `seed`.
///
/// Deterministic: the same circuit and seed give the same keys. Anyone who knows
/// `seed` can forge proofs for these keys (see the module docs). Only the
/// circuit's shape matters, not its witness values (setup synthesizes it in setup
/// mode).
pub fn setup<C: ConstraintSynthesizer<Fr>>(circuit: C, seed: [u8; 32]) -> Result<Keys, Groth16Error> {
    warn!(
        "groth16 development setup: the keys are derived from a seed, not from a trusted ceremony; \
         anyone who knows the seed can forge proofs"
    );
    info!("groth16 setup: started");
    let started = Instant::now();
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut shape = None;
    let pk =
        Snark::generate_random_parameters_with_reduction(Measured { circuit, shape: &mut shape }, &mut rng)
            .map_err(Groth16Error::Synthesis)?;
    let shape = shape.ok_or(Groth16Error::Synthesis(SynthesisError::MissingCS))?;
    let keys = Keys::new(pk, shape, seed)?;
    info!(
        constraints = shape.num_constraints,
        public_inputs = shape.num_public_inputs,
        elapsed_ms = started.elapsed().as_millis() as u64,
        vk_hash = %hex(&keys.vk_hash),
        "groth16 setup: done"
    );
    Ok(keys)
}

/// Proves `circuit` with `keys`, drawing the proof's blinding factors from `rng`.
///
/// The circuit is synthesized, checked against the shape the keys were set up for
/// ([`Groth16Error::ShapeMismatch`]) and checked satisfied
/// ([`Groth16Error::Unsatisfied`]) before the proof is computed.
pub fn prove<C, R>(keys: &Keys, circuit: C, rng: &mut R) -> Result<Proof, Groth16Error>
where
    C: ConstraintSynthesizer<Fr>,
    R: RngCore + CryptoRng,
{
    prove_with_public_inputs(keys, circuit, rng).map(|(proof, _)| proof)
}

/// [`prove`], also returning the public inputs the circuit assigned (the values a
/// verifier must be given).
pub fn prove_with_public_inputs<C, R>(
    keys: &Keys,
    circuit: C,
    rng: &mut R,
) -> Result<(Proof, Vec<Fr>), Groth16Error>
where
    C: ConstraintSynthesizer<Fr>,
    R: RngCore + CryptoRng,
{
    let started = Instant::now();
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone()).map_err(Groth16Error::Synthesis)?;
    let shape = CircuitShape::of(&cs);
    if shape != keys.shape {
        return Err(Groth16Error::ShapeMismatch { expected: keys.shape, found: shape });
    }
    info!(
        constraints = shape.num_constraints,
        synthesis_ms = started.elapsed().as_millis() as u64,
        "groth16 prove: started"
    );
    cs.finalize();
    let matrices = cs.to_matrices().ok_or(Groth16Error::Synthesis(SynthesisError::MissingCS))?;
    let (full_assignment, public_inputs) = {
        let system = cs.borrow().ok_or(Groth16Error::Synthesis(SynthesisError::MissingCS))?;
        let full = [system.instance_assignment.as_slice(), system.witness_assignment.as_slice()].concat();
        let public = system.instance_assignment.get(1..).unwrap_or_default().to_vec();
        (full, public)
    };
    check_satisfied(&matrices, &full_assignment)?;
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let proof = Snark::create_proof_with_reduction_and_matrices(
        &keys.pk,
        r,
        s,
        &matrices,
        matrices.num_instance_variables,
        matrices.num_constraints,
        &full_assignment,
    )
    .map_err(Groth16Error::Synthesis)?;
    let proof = Proof::from_ark(proof)?;
    info!(
        constraints = shape.num_constraints,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "groth16 prove: done"
    );
    Ok((proof, public_inputs))
}

/// The first constraint `⟨a_i, z⟩ · ⟨b_i, z⟩ = ⟨c_i, z⟩` that the full assignment
/// `z` violates, as an error.
fn check_satisfied(
    matrices: &ark_relations::r1cs::ConstraintMatrices<Fr>,
    assignment: &[Fr],
) -> Result<(), Groth16Error> {
    let evaluate = |row: &[(Fr, usize)]| -> Option<Fr> {
        row.iter().try_fold(Fr::from(0u64), |acc, (coefficient, index)| {
            Some(acc + *coefficient * assignment.get(*index)?)
        })
    };
    let rows = matrices.a.iter().zip(&matrices.b).zip(&matrices.c);
    for (index, ((a, b), c)) in rows.enumerate() {
        let satisfied = match (evaluate(a), evaluate(b), evaluate(c)) {
            (Some(a), Some(b), Some(c)) => a * b == c,
            _ => return Err(Groth16Error::Synthesis(SynthesisError::AssignmentMissing)),
        };
        if !satisfied {
            return Err(Groth16Error::Unsatisfied { index, num_constraints: matrices.num_constraints });
        }
    }
    Ok(())
}

/// Verifies `proof` for `public_inputs` against a prepared verifying key. A proof
/// that does not verify is [`Groth16Error::VerificationFailed`].
pub fn verify(
    vk: &PreparedVerifyingKey<Bls12_381>,
    public_inputs: &[Fr],
    proof: &Proof,
) -> Result<(), Groth16Error> {
    let expected = match vk.vk.gamma_abc_g1.len().checked_sub(1) {
        Some(expected) => expected,
        None => return Err(Groth16Error::InvalidVerifyingKey("no input points".to_owned())),
    };
    if public_inputs.len() != expected {
        return Err(Groth16Error::PublicInputCount { expected, found: public_inputs.len() });
    }
    let started = Instant::now();
    let verified =
        Snark::verify_proof(vk, &proof.inner, public_inputs).map_err(Groth16Error::Verification)?;
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, verified, "groth16 verify");
    if verified {
        Ok(())
    } else {
        Err(Groth16Error::VerificationFailed)
    }
}

/// Where [`load_or_setup`] keeps the keys of `circuit_id` in `dir`:
/// `dir/groth16-<lower-case hex of circuit_id>.keys`.
pub fn key_path(dir: &Path, circuit_id: [u8; 32]) -> PathBuf {
    dir.join(format!("groth16-{}.keys", hex(&circuit_id)))
}

/// The keys of `circuit_id` from `dir`, or, if there are none or the file there is
/// unusable, a [`setup`] of `make_circuit()` with `seed`, written to `dir`.
///
/// See the module docs for the file format and the replacement policy: an unusable
/// file is replaced after a `warn` event, never used. `make_circuit` is called only
/// when the keys are set up. `circuit_id` must identify the circuit's constraints
/// (the caller hashes its circuit's shape): keys found under a circuit id are used
/// for it, and [`prove`] catches only a mismatch of sizes.
pub fn load_or_setup<C, F>(
    dir: &Path,
    circuit_id: [u8; 32],
    seed: [u8; 32],
    make_circuit: F,
) -> Result<Keys, Groth16Error>
where
    C: ConstraintSynthesizer<Fr>,
    F: FnOnce() -> C,
{
    let path = key_path(dir, circuit_id);
    match load_keys(&path, circuit_id, seed) {
        Ok(keys) => return Ok(keys),
        Err(Groth16Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            info!(path = %path.display(), "groth16 key cache: no keys yet, setting up");
        }
        Err(Groth16Error::KeyFile { path, problem }) => {
            warn!(path = %path.display(), %problem, "groth16 key cache: unusable key file, setting up again and replacing it");
        }
        Err(error) => return Err(error),
    }
    let keys = setup(make_circuit(), seed)?;
    fs::create_dir_all(dir).map_err(|source| Groth16Error::Io { path: dir.to_path_buf(), source })?;
    store_keys(&path, circuit_id, &keys)?;
    Ok(keys)
}

/// Reads keys from a key file, checking everything the module docs list. Returns
/// [`Groth16Error::Io`] if the file cannot be read (`NotFound` if it is missing) and
/// [`Groth16Error::KeyFile`] if its contents are unusable.
pub fn load_keys(path: &Path, circuit_id: [u8; 32], seed: [u8; 32]) -> Result<Keys, Groth16Error> {
    let started = Instant::now();
    let io_error = |source: io::Error| Groth16Error::Io { path: path.to_path_buf(), source };
    let problem = |problem: KeyFileProblem| Groth16Error::KeyFile { path: path.to_path_buf(), problem };

    let mut file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let minimum = (HEADER_LEN + CHECKSUM_LEN) as u64;
    if file_len < minimum {
        return Err(problem(KeyFileProblem::Length { expected: minimum, found: file_len }));
    }
    let mut header_bytes = [0u8; HEADER_LEN];
    file.read_exact(&mut header_bytes).map_err(io_error)?;
    let header = Header::decode(&header_bytes).map_err(problem)?;
    let expected_len = header
        .body_len
        .checked_add(minimum)
        .ok_or(problem(KeyFileProblem::Length { expected: u64::MAX, found: file_len }))?;
    if file_len != expected_len {
        return Err(problem(KeyFileProblem::Length { expected: expected_len, found: file_len }));
    }

    // The checksum first: nothing of the body is decoded (and no length in it is
    // trusted for an allocation) before the file is known to be what was written.
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let mut hasher = blake3::Hasher::new();
    let hashed_len = file_len - CHECKSUM_LEN as u64;
    let copied = io::copy(&mut BufReader::with_capacity(1 << 20, (&mut file).take(hashed_len)), &mut hasher)
        .map_err(io_error)?;
    let mut checksum = [0u8; CHECKSUM_LEN];
    file.read_exact(&mut checksum).map_err(io_error)?;
    if copied != hashed_len || *hasher.finalize().as_bytes() != checksum {
        return Err(problem(KeyFileProblem::Checksum));
    }

    if header.circuit_id != circuit_id {
        return Err(problem(KeyFileProblem::WrongCircuit { expected: circuit_id, found: header.circuit_id }));
    }
    if header.seed != seed {
        return Err(problem(KeyFileProblem::WrongSeed));
    }

    file.seek(SeekFrom::Start(HEADER_LEN as u64)).map_err(io_error)?;
    let mut body = BufReader::with_capacity(1 << 20, (&mut file).take(header.body_len));
    // Proving-key points are decoded without checks (module docs).
    let pk = ProvingKey::<Bls12_381>::deserialize_with_mode(&mut body, Compress::No, Validate::No)
        .map_err(|error| problem(KeyFileProblem::Decode(error.to_string())))?;
    let mut rest = [0u8; 1];
    if body.read(&mut rest).map_err(io_error)? != 0 {
        return Err(problem(KeyFileProblem::Decode("bytes after the proving key".to_owned())));
    }
    // The verifying key decides what verifies: validate all of its points.
    ark_serialize::Valid::check(&pk.vk)
        .map_err(|error| problem(KeyFileProblem::InvalidVerifyingKey(error.to_string())))?;
    check_key_shape(&pk, &header.shape).map_err(|reason| problem(KeyFileProblem::Inconsistent(reason)))?;

    let keys = Keys::new(pk, header.shape, seed)?;
    if keys.vk_hash != header.vk_hash {
        return Err(problem(KeyFileProblem::VkHashMismatch {
            recorded: header.vk_hash,
            computed: keys.vk_hash,
        }));
    }
    info!(
        path = %path.display(),
        bytes = file_len,
        constraints = header.shape.num_constraints,
        elapsed_ms = started.elapsed().as_millis() as u64,
        vk_hash = %hex(&keys.vk_hash),
        "groth16 key cache: keys loaded"
    );
    Ok(keys)
}

/// Writes keys to `path` atomically: a temporary file in the same directory,
/// synced, renamed over `path`.
pub fn store_keys(path: &Path, circuit_id: [u8; 32], keys: &Keys) -> Result<(), Groth16Error> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| Groth16Error::Io { path, source }
    };
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let temporary = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));

    let body_len = keys.pk.uncompressed_size() as u64;
    let header = Header { circuit_id, seed: keys.seed, vk_hash: keys.vk_hash, shape: keys.shape, body_len }
        .encode()
        .map_err(|reason| Groth16Error::Serialization(reason.to_owned()))?;

    let write = || -> Result<(), Groth16Error> {
        let file =
            File::options().write(true).create_new(true).open(&temporary).map_err(io_error(&temporary))?;
        let mut out =
            HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: blake3::Hasher::new() };
        out.write_all(&header).map_err(io_error(&temporary))?;
        keys.pk
            .serialize_uncompressed(&mut out)
            .map_err(|error| Groth16Error::Serialization(error.to_string()))?;
        let checksum = *out.hasher.finalize().as_bytes();
        let mut file = out.inner;
        file.write_all(&checksum).map_err(io_error(&temporary))?;
        let file = file.into_inner().map_err(|error| io_error(&temporary)(error.into_error()))?;
        file.sync_all().map_err(io_error(&temporary))?;
        fs::rename(&temporary, path).map_err(io_error(path))
    };
    if let Err(error) = write() {
        // Best effort: the temporary file is useless now.
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    // Make the rename durable. A failure here leaves a complete file that may not
    // survive a crash; the next load would then find no file or a checked one.
    if let Err(error) = File::open(dir).and_then(|dir| dir.sync_all()) {
        warn!(path = %dir.display(), %error, "groth16 key cache: could not sync the directory");
    }
    info!(path = %path.display(), bytes = body_len + (HEADER_LEN + CHECKSUM_LEN) as u64, "groth16 key cache: keys written");
    Ok(())
}

/// The proving key's parts have the sizes that `shape` implies (ark-groth16's
/// generator: one A, B and B₂ query point per variable including the constant one,
/// one L point per witness variable, one H point per power below the domain size,
/// one verifying-key input point per instance variable).
fn check_key_shape(pk: &ProvingKey<Bls12_381>, shape: &CircuitShape) -> Result<(), String> {
    let instance = shape.num_public_inputs.checked_add(1).ok_or("too many public inputs")?;
    let variables = instance.checked_add(shape.num_witness_variables).ok_or("too many variables")?;
    let domain = shape.domain_size().ok_or("too many constraints")?;
    let parts = [
        ("gamma_abc_g1", pk.vk.gamma_abc_g1.len(), instance),
        ("a_query", pk.a_query.len(), variables),
        ("b_g1_query", pk.b_g1_query.len(), variables),
        ("b_g2_query", pk.b_g2_query.len(), variables),
        ("l_query", pk.l_query.len(), shape.num_witness_variables),
        ("h_query", pk.h_query.len(), domain - 1),
    ];
    match parts.iter().find(|(_, found, expected)| found != expected) {
        Some((name, found, expected)) => {
            Err(format!("{name} has {found} points, the shape ({shape}) implies {expected}"))
        }
        None => Ok(()),
    }
}

/// The fixed-size header of a key file.
struct Header {
    circuit_id: [u8; 32],
    seed: [u8; 32],
    vk_hash: [u8; 32],
    shape: CircuitShape,
    body_len: u64,
}

impl Header {
    fn encode(&self) -> Result<[u8; HEADER_LEN], &'static str> {
        let count = |value: usize| {
            u64::try_from(value).map(u64::to_le_bytes).map_err(|_| "count does not fit 64 bits")
        };
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&KEY_FILE_MAGIC);
        out.extend_from_slice(&KEY_FILE_VERSION.to_le_bytes());
        out.extend_from_slice(&self.circuit_id);
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&self.vk_hash);
        out.extend_from_slice(&count(self.shape.num_constraints)?);
        out.extend_from_slice(&count(self.shape.num_public_inputs)?);
        out.extend_from_slice(&count(self.shape.num_witness_variables)?);
        out.extend_from_slice(&self.body_len.to_le_bytes());
        out.try_into().map_err(|_| "header length")
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, KeyFileProblem> {
        let mut reader = ByteReader(bytes);
        if reader.array::<8>() != KEY_FILE_MAGIC {
            return Err(KeyFileProblem::BadMagic);
        }
        let version = u32::from_le_bytes(reader.array());
        if version != KEY_FILE_VERSION {
            return Err(KeyFileProblem::UnsupportedVersion { found: version });
        }
        let circuit_id = reader.array();
        let seed = reader.array();
        let vk_hash = reader.array();
        let mut count = || {
            usize::try_from(u64::from_le_bytes(reader.array())).map_err(|_| {
                KeyFileProblem::Inconsistent("a count does not fit this machine's usize".to_owned())
            })
        };
        let shape = CircuitShape {
            num_constraints: count()?,
            num_public_inputs: count()?,
            num_witness_variables: count()?,
        };
        let body_len = u64::from_le_bytes(reader.array());
        Ok(Self { circuit_id, seed, vk_hash, shape, body_len })
    }
}

/// Reads fixed-size arrays off a byte slice; past its end it reads zeros (the
/// header's size is fixed, so [`Header::decode`] never gets there).
struct ByteReader<'a>(&'a [u8]);

impl ByteReader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let taken = self.0.len().min(N);
        let (head, tail) = self.0.split_at(taken);
        out[..taken].copy_from_slice(head);
        self.0 = tail;
        out
    }
}

/// A writer that hashes what it writes.
struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(buf.get(..written).unwrap_or(buf));
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
