//! Stage 4 in the prover: the Groth16 proof of every batch proof.
//!
//! Stage 4 takes minutes and up to 10 GiB of memory per batch, so it runs in a
//! process of its own, `rollup prove-batch` (the same command operators run by
//! hand): a failure there, or the kernel's OOM killer, cannot take the node down,
//! and its memory is returned when it exits. A thread of the prover role drives it:
//! it follows `batch_proofs` in order, writes the batch's chain proof and the genesis
//! to `work_dir`, runs the command, checks the proof it writes (the statement is the
//! stored one, the key is the pinned one, the proof verifies) and commits it to
//! `groth16_proofs` with the progress key `next_groth16` of `prover_meta`. A restart
//! therefore resumes at the first batch without a proof and never proves one twice.
//! Stopping the role kills the process; the process also dies with the node.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rollup_circuits::batch::ChainVerifier;

use rollup_l2::Genesis;
use rollup_storage::Store;
use rollup_wrap::batch_proof::{BatchGroth16, BatchGroth16Json};

use super::component::{ProverMetrics, POLL};
use super::rpc::BatchProofJson;
use super::tables::{BatchProofRecord, BatchProofs, Groth16Proofs, Groth16Record, ProverMeta};

/// `prover_meta` key of the first batch without a Groth16 proof (`u64` BE).
pub(super) const NEXT_GROTH16_KEY: &str = "next_groth16";

/// How stage 4 is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Groth16Settings {
    /// The `rollup` executable whose `prove-batch` command makes the proofs.
    pub program: PathBuf,
    /// Where the chain proof, the genesis and the proof are handed over.
    pub work_dir: PathBuf,
    /// The key cache directory.
    pub key_dir: PathBuf,
    /// The development setup's seed.
    pub seed: [u8; 32],
    /// The verifying-key hash the keys must have, if pinned.
    pub vk_hash: Option<[u8; 32]>,
    /// Wrap with the insecure test strength (`debug.insecure_test_wrapper`, regtest
    /// only): the whole path at a fraction of the cost, for tests.
    pub insecure_test_wrapper: bool,
}

/// File in `work_dir` with the recursion circuit's verifier data.
const CHAIN_VERIFIER_FILE: &str = "chain-verifier.bin";

/// The stage-4 thread's state.
pub(super) struct Groth16Worker {
    pub(super) store: Arc<Store>,
    pub(super) settings: Groth16Settings,
    pub(super) genesis: Genesis,
    pub(super) metrics: ProverMetrics,
    /// Set by the proving thread once it has built the circuits.
    pub(super) verifier: Arc<OnceLock<ChainVerifier>>,
}

impl Groth16Worker {
    /// Proves batch after batch until `stop`.
    pub(super) fn run(self, stop: &AtomicBool) -> Result<(), String> {
        let work_dir = &self.settings.work_dir;
        std::fs::create_dir_all(work_dir)
            .map_err(|error| format!("cannot create {}: {error}", work_dir.display()))?;
        let genesis = serde_json::to_vec_pretty(&self.genesis).map_err(|error| error.to_string())?;
        let genesis_path = work_dir.join("genesis.json");
        std::fs::write(&genesis_path, genesis)
            .map_err(|error| format!("cannot write {}: {error}", genesis_path.display()))?;
        // The proving thread builds the circuits (a minute or so); the verifier data it
        // leaves spares every stage-4 process that build.
        let verifier = loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.verifier.get() {
                Some(verifier) => break verifier,
                None => std::thread::sleep(POLL),
            }
        };
        let bytes = verifier.to_bytes().map_err(|error| error.to_string())?;
        let verifier_path = work_dir.join(CHAIN_VERIFIER_FILE);
        std::fs::write(&verifier_path, bytes)
            .map_err(|error| format!("cannot write {}: {error}", verifier_path.display()))?;
        while !stop.load(Ordering::Relaxed) {
            let next = self.next_batch()?;
            self.metrics.next_groth16.set(i64::try_from(next).unwrap_or(i64::MAX));
            let record =
                self.store.read(|tx| tx.get::<BatchProofs>(&next)).map_err(|error| error.to_string())?;
            let Some(record) = record else {
                std::thread::sleep(POLL);
                continue;
            };
            let started = Instant::now();
            let Some(proof) = self.prove(next, &record, stop)? else { return Ok(()) };
            let seconds = started.elapsed().as_secs_f64();
            let json = proof.to_json();
            self.store
                .write(|tx| {
                    tx.put::<Groth16Proofs>(&next, &Groth16Record(json.clone()))?;
                    tx.put::<ProverMeta>(&NEXT_GROTH16_KEY.to_owned(), &(next + 1).to_be_bytes().to_vec())
                })
                .map_err(|error| error.to_string())?;
            self.metrics.groth16_seconds.observe(seconds);
            self.metrics.groth16_proofs.inc();
            self.metrics.next_groth16.set(i64::try_from(next + 1).unwrap_or(i64::MAX));
            tracing::info!(
                target: "rollup::prover",
                batch = next,
                seconds,
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

    /// Runs `rollup prove-batch` on batch `number` and checks what it made; `None`
    /// when `stop` was raised first (the process is killed).
    fn prove(
        &self,
        number: u64,
        record: &BatchProofRecord,
        stop: &AtomicBool,
    ) -> Result<Option<BatchGroth16>, String> {
        let settings = &self.settings;
        let chain_path = settings.work_dir.join(format!("batch-{number}.chain.json"));
        let out_path = settings.work_dir.join(format!("batch-{number}.groth16.json"));
        let chain = BatchProofJson {
            number,
            statement: record.statement,
            aggregation_seconds: record.aggregation_seconds,
            recursion_seconds: record.recursion_seconds,
            proof: rollup_l2::hex::encode(&record.proof),
            aggregation_proof: String::new(),
        };
        let chain = serde_json::to_vec(&chain).map_err(|error| error.to_string())?;
        std::fs::write(&chain_path, chain)
            .map_err(|error| format!("cannot write {}: {error}", chain_path.display()))?;
        let _ = std::fs::remove_file(&out_path);

        let mut command = Command::new(&settings.program);
        command
            .arg("prove-batch")
            .arg(number.to_string())
            .arg("--chain-proof")
            .arg(&chain_path)
            .arg("--genesis")
            .arg(settings.work_dir.join("genesis.json"))
            .arg("--chain-verifier")
            .arg(settings.work_dir.join(CHAIN_VERIFIER_FILE))
            .arg("--key-dir")
            .arg(&settings.key_dir)
            .arg("--setup-seed")
            .arg(rollup_l2::hex::encode(&settings.seed))
            .arg("--out")
            .arg(&out_path)
            .arg("--parent-pid")
            .arg(std::process::id().to_string());
        if let Some(pinned) = &settings.vk_hash {
            command.arg("--vk-hash").arg(rollup_l2::hex::encode(pinned));
        }
        if settings.insecure_test_wrapper {
            command.arg("--insecure-test-wrapper");
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        tracing::info!(
            target: "rollup::prover",
            batch = number,
            key_dir = %settings.key_dir.display(),
            "stage 4: running `rollup prove-batch` (minutes; the first one also sets up the keys; its progress follows)"
        );
        let mut child =
            command.spawn().map_err(|error| format!("cannot run {}: {error}", settings.program.display()))?;
        let said = relay_stderr(&mut child, number);
        let status = loop {
            if stop.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                tracing::info!(target: "rollup::prover", batch = number, "stage 4 stopped");
                return Ok(None);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(POLL),
                Err(error) => return Err(format!("stage 4 of batch {number}: {error}")),
            }
        };
        let said = said.and_then(|relay| relay.join().ok()).unwrap_or_default();
        let _ = std::fs::remove_file(&chain_path);
        if !status.success() {
            return Err(format!("stage 4 of batch {number}: `rollup prove-batch` {status}: {said}"));
        }
        let text = std::fs::read_to_string(&out_path).map_err(|error| {
            format!("stage 4 of batch {number}: cannot read {}: {error}", out_path.display())
        })?;
        let _ = std::fs::remove_file(&out_path);
        let json: BatchGroth16Json =
            serde_json::from_str(&text).map_err(|error| format!("stage 4 of batch {number}: {error}"))?;
        let proof =
            BatchGroth16::from_json(&json).map_err(|error| format!("stage 4 of batch {number}: {error}"))?;
        if proof.batch != number || proof.statement != record.statement {
            return Err(format!("stage 4 of batch {number}: the proof made states {:?}", proof.statement));
        }
        let key = settings.vk_hash.unwrap_or_else(|| proof.vk_hash());
        proof.check(&key).map_err(|error| format!("stage 4 of batch {number}: {error}"))?;
        Ok(Some(proof))
    }
}

/// Logs the child's progress lines as they come; the thread returns its last line
/// (the error, when it fails).
fn relay_stderr(child: &mut Child, batch: u64) -> Option<std::thread::JoinHandle<String>> {
    let stderr = child.stderr.take()?;
    std::thread::Builder::new()
        .name("rollup-groth16-log".to_owned())
        .spawn(move || {
            let mut last = String::new();
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                // Progress lines end with "... " until their step is done.
                for part in line.split("... ").filter(|part| !part.trim().is_empty()) {
                    tracing::info!(target: "rollup::prover", batch, "stage 4: {}", part.trim());
                }
                last = line;
            }
            last
        })
        .ok()
}
