//! Stage 4 in the prover: the Groth16 proof of every batch proof, on a thread of its
//! own so that block and batch proving never wait minutes behind it.
//!
//! The thread follows `batch_proofs` in order. Its progress is the `next_groth16` key
//! of `prover_meta`, committed together with each proof in `groth16_proofs`, so a
//! restart resumes at the first batch without one and never proves a batch twice.
//! The wrapper circuit and the Groth16 keys are made only when the first batch proof
//! is there (a minute to build, several minutes to set up the first time, then
//! loaded from `key_dir`; gigabytes of memory while held).
//!
//! One stage-4 thread runs per process: a restarted role's thread waits until the
//! previous one has finished the proof it had in flight.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::time::Instant;

use rollup_storage::Store;
use rollup_wrap::stage4::Stage4;

use super::batches::Circuits;
use super::component::{ProverMetrics, POLL};
use super::tables::{BatchProofs, Groth16Proofs, Groth16Record, ProverMeta};

/// `prover_meta` key of the first batch without a Groth16 proof (`u64` BE).
pub(super) const NEXT_GROTH16_KEY: &str = "next_groth16";

/// Held by the running stage-4 thread: at most one per process.
static STAGE4_THREAD: Mutex<()> = Mutex::new(());

/// Where stage 4 takes its keys from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Groth16Settings {
    /// The key cache directory.
    pub key_dir: PathBuf,
    /// The development setup's seed.
    pub seed: [u8; 32],
    /// The verifying-key hash the keys must have, if pinned.
    pub vk_hash: Option<[u8; 32]>,
}

/// The stage-4 thread's state.
pub(super) struct Groth16Worker {
    pub(super) store: Arc<Store>,
    pub(super) settings: Groth16Settings,
    pub(super) metrics: ProverMetrics,
    /// Set by the block worker once it has built the circuits.
    pub(super) circuits: Arc<OnceLock<Arc<Circuits>>>,
}

impl Groth16Worker {
    /// Proves batch after batch until `stop`; `busy` is raised while a proof (or the
    /// keys) is being made, which nothing can interrupt.
    pub(super) fn run(self, stop: &AtomicBool, busy: &AtomicBool) -> Result<(), String> {
        let _running = loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match STAGE4_THREAD.try_lock() {
                Ok(guard) => break guard,
                // A thread that panicked held it: nothing it guarded is left half made.
                Err(TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => std::thread::sleep(POLL),
            }
        };
        let circuits = loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.circuits.get() {
                Some(circuits) => break circuits.clone(),
                None => std::thread::sleep(POLL),
            }
        };
        let mut stage4: Option<Stage4> = None;
        while !stop.load(Ordering::Relaxed) {
            let next = self.next_batch()?;
            self.metrics.next_groth16.set(i64::try_from(next).unwrap_or(i64::MAX));
            let record =
                self.store.read(|tx| tx.get::<BatchProofs>(&next)).map_err(|error| error.to_string())?;
            let Some(record) = record else {
                std::thread::sleep(POLL);
                continue;
            };
            busy.store(true, Ordering::Relaxed);
            let keys = match stage4.take() {
                Some(keys) => keys,
                None => self.load_keys(&circuits)?,
            };
            let stage4 = stage4.insert(keys);
            let started = Instant::now();
            let chain = circuits
                .family
                .decode_chain(&record.proof)
                .map_err(|error| format!("batch {next}: the stored chain proof: {error}"))?;
            tracing::info!(target: "rollup::prover", batch = next, "stage 4: wrapping the batch proof");
            let proof =
                stage4.prove_batch(&chain).map_err(|error| format!("batch {next}: stage 4: {error}"))?;
            if proof.statement != record.statement {
                return Err(format!("batch {next}: the Groth16 proof states {:?}", proof.statement));
            }
            let seconds = started.elapsed().as_secs_f64();
            let json = proof.to_json();
            self.store
                .write(|tx| {
                    tx.put::<Groth16Proofs>(&next, &Groth16Record(json.clone()))?;
                    tx.put::<ProverMeta>(&NEXT_GROTH16_KEY.to_owned(), &(next + 1).to_be_bytes().to_vec())
                })
                .map_err(|error| error.to_string())?;
            busy.store(false, Ordering::Relaxed);
            self.metrics.groth16_seconds.observe(seconds);
            self.metrics.groth16_proofs.inc();
            self.metrics.next_groth16.set(i64::try_from(next + 1).unwrap_or(i64::MAX));
            tracing::info!(
                target: "rollup::prover",
                batch = next,
                wrap_seconds = proof.wrap_seconds,
                groth16_seconds = proof.groth16_seconds,
                vk_hash = %json.vk_hash,
                "batch Groth16 proof made"
            );
        }
        Ok(())
    }

    fn next_batch(&self) -> Result<u64, String> {
        let stored = self
            .store
            .read(|tx| tx.get::<ProverMeta>(&NEXT_GROTH16_KEY.to_owned()))
            .map_err(|error| error.to_string())?;
        match stored.as_deref() {
            None => Ok(0),
            Some(bytes) => bytes
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| format!("corrupt prover metadata: {NEXT_GROTH16_KEY} is not 8 bytes")),
        }
    }

    /// Builds the wrapper and loads (or sets up) its keys, checking the pinned hash.
    fn load_keys(&self, circuits: &Circuits) -> Result<Stage4, String> {
        let settings = &self.settings;
        let started = Instant::now();
        tracing::info!(
            target: "rollup::prover",
            key_dir = %settings.key_dir.display(),
            "stage 4: building the wrapper circuit and loading its Groth16 keys (the first setup takes minutes)"
        );
        let stage4 = Stage4::load_or_setup(&circuits.family, &settings.key_dir, settings.seed)
            .map_err(|error| format!("stage 4: {error}"))?;
        let found = stage4.keys().vk_hash();
        if let Some(pinned) = settings.vk_hash {
            if found != pinned {
                return Err(format!(
                    "the Groth16 keys in {} have verifying-key hash {}, prover.groth16.vk_hash pins {}",
                    settings.key_dir.display(),
                    rollup_l2::hex::encode(&found),
                    rollup_l2::hex::encode(&pinned)
                ));
            }
        }
        tracing::info!(
            target: "rollup::prover",
            vk_hash = %rollup_l2::hex::encode(&found),
            seconds = started.elapsed().as_secs_f64(),
            "stage 4 ready"
        );
        Ok(stage4)
    }
}
