//! Groth16 over BLS12-381 at 2^16 and 2^18 constraints: setup, key sizes, key-file
//! load (and the proving-key decoding variants it chose between), prove, verify and
//! peak memory.
//!
//! `cargo bench -p rollup-wrap --bench groth16` runs both sizes; a list of
//! exponents after `--` (e.g. `-- 16`) runs those only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::time::{Duration, Instant};

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::ProvingKey;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_std::UniformRand;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rollup_wrap::groth16::{key_path, load_keys, prove, setup, store_keys, verify};

/// `steps` rounds of `x ← x·(x + 1) + c_i` from a private `x`, the end public: one
/// constraint per round (each round's `x` a fresh witness, so that no linear
/// combination grows) and one for the output.
struct Chain {
    steps: usize,
    x0: Option<Fr>,
}

impl Chain {
    fn native(&self) -> Option<Fr> {
        let mut x = self.x0?;
        for i in 0..self.steps {
            x = x * (x + Fr::from(1u64)) + Fr::from(i as u64 + 1);
        }
        Some(x)
    }
}

impl ConstraintSynthesizer<Fr> for Chain {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let end = self.native();
        let y = FpVar::new_input(cs.clone(), || end.ok_or(SynthesisError::AssignmentMissing))?;
        let mut value = self.x0;
        let mut x = FpVar::new_witness(cs.clone(), || value.ok_or(SynthesisError::AssignmentMissing))?;
        for i in 0..self.steps {
            let c = Fr::from(i as u64 + 1);
            value = value.map(|v| v * (v + Fr::from(1u64)) + c);
            let next = FpVar::new_witness(cs.clone(), || value.ok_or(SynthesisError::AssignmentMissing))?;
            x.mul_equals(&(&x + Fr::from(1u64)), &(&next - c))?;
            x = next;
        }
        x.enforce_equal(&y)
    }
}

/// Peak resident set size so far, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

fn run(log_size: u32) {
    // Constraints + instance variables = 2^log_size: the QAP domain is exactly 2^log_size.
    let steps = (1usize << log_size) - 3;
    println!("\n== 2^{log_size}: {steps} squaring rounds ==");

    let (keys, setup_time) = timed(|| setup(Chain { steps, x0: None }, [1; 32]).unwrap());
    let shape = keys.shape();
    println!(
        "shape: {} constraints, {} public inputs, {} witness variables",
        shape.num_constraints, shape.num_public_inputs, shape.num_witness_variables
    );
    println!("setup: {:.2} s (peak RSS {:.0} MiB)", setup_time.as_secs_f64(), peak_rss_mib());

    let pk = keys.proving_key();
    let compressed = {
        let mut bytes = Vec::new();
        pk.serialize_compressed(&mut bytes).unwrap();
        bytes
    };
    let uncompressed = {
        let mut bytes = Vec::new();
        pk.serialize_uncompressed(&mut bytes).unwrap();
        bytes
    };
    println!(
        "sizes: proving key {:.1} MiB compressed ({:.1} MiB uncompressed), verifying key {} bytes",
        mib(compressed.len()),
        mib(uncompressed.len()),
        keys.vk_bytes().len()
    );

    let dir = std::env::temp_dir().join(format!("rollup-wrap-groth16-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = key_path(&dir, [log_size as u8; 32]);
    let (_, store_time) = timed(|| store_keys(&path, [log_size as u8; 32], &keys).unwrap());
    let file_len = fs::metadata(&path).unwrap().len() as usize;
    let (loaded, load_time) = timed(|| load_keys(&path, [log_size as u8; 32], [1; 32]).unwrap());
    assert_eq!(loaded.vk_bytes(), keys.vk_bytes());
    drop(loaded);
    fs::remove_dir_all(&dir).unwrap();
    println!(
        "key file: {:.1} MiB, write {:.2} s, load_keys {:.2} s",
        mib(file_len),
        store_time.as_secs_f64(),
        load_time.as_secs_f64()
    );

    for (name, bytes, compress) in
        [("compressed", &compressed, Compress::Yes), ("uncompressed", &uncompressed, Compress::No)]
    {
        for (checks, validate) in [("validated", Validate::Yes), ("unchecked", Validate::No)] {
            let (decoded, time) = timed(|| {
                ProvingKey::<Bls12_381>::deserialize_with_mode(bytes.as_slice(), compress, validate).unwrap()
            });
            assert_eq!(decoded.vk, pk.vk);
            println!("  decode proving key, {name}, {checks}: {:.2} s", time.as_secs_f64());
        }
    }
    let (hash, hash_time) = timed(|| blake3::hash(&compressed));
    println!("  blake3 of the compressed key: {:.3} s ({})", hash_time.as_secs_f64(), &hash.to_hex()[..8]);
    drop(compressed);
    drop(uncompressed);

    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(log_size));
    let circuit = Chain { steps, x0: Some(Fr::rand(&mut rng)) };
    let output = circuit.native().unwrap();
    let (proof, prove_time) = timed(|| prove(&keys, circuit, &mut rng).unwrap());
    println!("prove: {:.2} s (peak RSS {:.0} MiB)", prove_time.as_secs_f64(), peak_rss_mib());

    let rounds = 20;
    let (_, verify_time) = timed(|| {
        for _ in 0..rounds {
            verify(keys.prepared_verifying_key(), &[output], &proof).unwrap();
        }
    });
    println!(
        "verify: {:.2} ms (mean of {rounds}); proof {} bytes",
        verify_time.as_secs_f64() * 1000.0 / f64::from(rounds),
        proof.to_bytes().len()
    );
    println!("peak RSS so far: {:.0} MiB", peak_rss_mib());
}

fn main() {
    let sizes: Vec<u32> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![16, 18] } else { sizes };
    println!("threads: {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    for log_size in sizes {
        run(log_size);
    }
}
