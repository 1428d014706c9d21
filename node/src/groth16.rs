//! `rollup prove-batch` and `rollup verify-groth16`: stage 4 by hand, for operators.
//!
//! `prove-batch` takes a batch's chain proof from a node (`rollup_getBatchProof`),
//! checks it, wraps it into a Groth16 proof with the keys of `prover.groth16`
//! (set up on first use) and writes the proof in its JSON form
//! (`rollup_wrap::batch_proof`), the same that `rollup_getGroth16Proof` serves.
//! `verify-groth16` checks such a proof against a pinned verifying-key hash: the
//! key must be the pinned one, the public inputs those of the stated batch, and the
//! proof must verify.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use rollup_circuits::batch::ChainVerifier;
use rollup_roles::prover::BatchProofJson;
use rollup_wrap::batch_proof::{BatchGroth16, BatchGroth16Json};
use rollup_wrap::stage4::{Stage4, Stage4Step, DEVELOPMENT_SEED};
use rollup_wrap::wrapper::WrapperStrength;

use crate::circuits::{build_blocks, build_family, load_genesis, CircuitsError, GenesisArgs};

/// The node API most commands talk to by default.
const DEFAULT_RPC: &str = "http://127.0.0.1:8545";

/// `rollup prove-batch`.
#[derive(Debug, Args)]
pub(crate) struct ProveBatchArgs {
    /// The batch to prove.
    #[arg(value_name = "N")]
    batch: u64,
    /// JSON-RPC URL of the node that serves the batch's chain proof.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    rpc: String,
    /// Read the chain proof from this file (the JSON `rollup_getBatchProof`
    /// answers) instead of asking a node.
    #[arg(long, value_name = "FILE")]
    chain_proof: Option<PathBuf>,
    /// Read the recursion circuit's verifier data from this file (the prover role
    /// writes it as `stage4/chain-verifier.bin`) instead of building every circuit
    /// of the genesis again (a minute or more).
    #[arg(long, value_name = "FILE")]
    chain_verifier: Option<PathBuf>,
    /// Wrap with the insecure test strength (a 6-bit FRI: the whole code path at a
    /// fraction of the cost; its keys are its own and its proofs prove nothing).
    /// For tests: refused unless the configuration's network is regtest;
    /// `debug.insecure_test_wrapper` sets it too.
    #[arg(long)]
    insecure_test_wrapper: bool,
    /// Groth16 key directory; overrides `prover.groth16.key_dir`.
    #[arg(long, value_name = "DIR")]
    key_dir: Option<PathBuf>,
    /// The development setup's seed (hex); overrides `prover.groth16.setup_seed`.
    #[arg(long, value_name = "HEX")]
    setup_seed: Option<String>,
    /// Refuse keys without this verifying-key hash (hex); overrides
    /// `prover.groth16.vk_hash`.
    #[arg(long, value_name = "HEX")]
    vk_hash: Option<String>,
    /// Write the proof to this file (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Set by the prover role that runs this command: exit when that process dies.
    #[arg(long, value_name = "PID", hide = true)]
    parent_pid: Option<u32>,
    #[command(flatten)]
    source: GenesisArgs,
}

/// `rollup verify-groth16`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The proof in its JSON form (as `prove-batch` writes it); `-` reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "batch", required_unless_present = "batch")]
    proof: Option<PathBuf>,
    /// Fetch batch N's proof from a node (`rollup_getGroth16Proof`) instead.
    #[arg(long, value_name = "N")]
    batch: Option<u64>,
    /// JSON-RPC URL of that node.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    rpc: String,
    /// The verifying-key hash to accept (hex); overrides `prover.groth16.vk_hash`.
    #[arg(long, value_name = "HEX")]
    vk_hash: Option<String>,
    #[command(flatten)]
    source: GenesisArgs,
}

/// Runs `prove-batch`: progress on stderr, the proof on stdout or in `--out`.
pub(crate) fn prove_batch(args: ProveBatchArgs) -> Result<(), CircuitsError> {
    if let Some(parent) = args.parent_pid {
        die_with_parent(parent)?;
    }
    let (config, genesis) = load_genesis(&args.source)?;
    if args.insecure_test_wrapper && config.bitcoin.network != rollup_config::BitcoinNetwork::Regtest {
        return Err(CircuitsError::Input(format!(
            "--insecure-test-wrapper is refused on {}: its proofs prove nothing (a 6-bit FRI, for tests on regtest)",
            config.bitcoin.network
        )));
    }
    let groth16 = &config.prover.groth16;
    let key_dir = args.key_dir.clone().unwrap_or_else(|| groth16.key_dir(&config.node.data_dir));
    let seed = match &args.setup_seed {
        Some(text) => parse_hash("--setup-seed", text)?,
        None => groth16.setup_seed().unwrap_or(DEVELOPMENT_SEED),
    };
    let pinned = match &args.vk_hash {
        Some(text) => Some(parse_hash("--vk-hash", text)?),
        None => groth16.vk_hash(),
    };
    let served: BatchProofJson = match &args.chain_proof {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| CircuitsError::Input(format!("cannot read {}: {error}", path.display())))?;
            serde_json::from_str(&text).map_err(|error| {
                CircuitsError::Input(format!("{} is not a chain proof: {error}", path.display()))
            })?
        }
        None => {
            let served: Option<BatchProofJson> = rpc_call(&args.rpc, "rollup_getBatchProof", args.batch)?;
            served.ok_or_else(|| {
                CircuitsError::Input(format!("batch {} has no chain proof at {} yet", args.batch, args.rpc))
            })?
        }
    };
    if served.number != args.batch || served.statement.batch_number != args.batch {
        return Err(CircuitsError::Failed(format!(
            "the chain proof given is for batch {} (statement of batch {}), not batch {}",
            served.number, served.statement.batch_number, args.batch
        )));
    }
    let bytes = rollup_l2::hex::decode(&served.proof)
        .ok_or_else(|| CircuitsError::Failed("the chain proof is not hex".to_owned()))?;
    let strength = match args.insecure_test_wrapper || config.debug.insecure_test_wrapper {
        true => {
            eprintln!("warning: the insecure test wrapper (6-bit FRI): this proof proves nothing");
            WrapperStrength::InsecureTest
        }
        false => WrapperStrength::Production,
    };
    let verifier = chain_verifier(&args, &genesis)?;
    let chain = verifier
        .decode_chain(&bytes)
        .map_err(|error| CircuitsError::Failed(format!("the chain proof does not decode: {error}")))?;
    verifier.verify_chain(&served.statement, &chain).map_err(|error| {
        CircuitsError::Failed(format!("the chain proof of batch {} does not verify: {error}", args.batch))
    })?;
    eprintln!("the chain proof of batch {} verifies", args.batch);

    eprintln!("Groth16 keys: {}", key_dir.display());
    let progress = StepReporter::start();
    let stage4 = Stage4::load_or_setup(&verifier, &key_dir, seed, strength, &|step| progress.step(step))
        .map_err(|error| CircuitsError::Failed(format!("stage 4: {error}")))?;
    progress.finish();
    let vk_hash = stage4.keys().vk_hash();
    if let Some(pinned) = pinned {
        if pinned != vk_hash {
            return Err(CircuitsError::Failed(format!(
                "the keys in {} have verifying-key hash {}, the pinned hash is {}",
                key_dir.display(),
                rollup_l2::hex::encode(&vk_hash),
                rollup_l2::hex::encode(&pinned)
            )));
        }
    }
    let started = Instant::now();
    let progress = StepReporter::start();
    let proof = stage4
        .prove_batch(&chain, &|step| progress.step(step))
        .map_err(|error| CircuitsError::Failed(format!("stage 4 of batch {}: {error}", args.batch)))?;
    progress.finish();
    eprintln!(
        "batch {} proven in {:.1} s (wrapper {:.1} s, Groth16 {:.1} s); it verifies under verifying-key hash {}",
        args.batch,
        started.elapsed().as_secs_f64(),
        proof.wrap_seconds,
        proof.groth16_seconds,
        rollup_l2::hex::encode(&vk_hash)
    );
    let text = serde_json::to_string_pretty(&proof.to_json())
        .map_err(|error| CircuitsError::Failed(format!("cannot write the JSON: {error}")))?;
    match &args.out {
        Some(path) => write_atomically(path, format!("{text}\n").as_bytes())
            .map_err(|error| CircuitsError::Failed(format!("cannot write {}: {error}", path.display())))?,
        None => println!("{text}"),
    }
    Ok(())
}

/// The recursion circuit's verifier data: from `--chain-verifier`, else from the
/// genesis' circuits, built here.
fn chain_verifier(
    args: &ProveBatchArgs,
    genesis: &rollup_l2::Genesis,
) -> Result<ChainVerifier, CircuitsError> {
    match &args.chain_verifier {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|error| CircuitsError::Input(format!("cannot read {}: {error}", path.display())))?;
            ChainVerifier::from_bytes(&bytes)
                .map_err(|error| CircuitsError::Input(format!("{}: {error}", path.display())))
        }
        None => Ok(build_family(&build_blocks(genesis)?)?.chain_verifier()),
    }
}

/// How often a step that is still running says so.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Progress of stage 4 on stderr: a line when each step starts, one after every
/// [`HEARTBEAT`] the step runs, and one with its time when it ends. (The prover role
/// logs each line of this process as it comes.)
struct StepReporter {
    current: Arc<Mutex<Option<Running>>>,
    done: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// The step under way, since when, and how many heartbeats it has had.
#[derive(Clone, Copy)]
struct Running {
    step: Stage4Step,
    since: Instant,
    beats: u32,
}

impl StepReporter {
    fn start() -> Self {
        let current: Arc<Mutex<Option<Running>>> = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let (watched, stop) = (current.clone(), done.clone());
        let ticker = std::thread::Builder::new()
            .name("rollup-stage4-progress".to_owned())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    let mut running = watched.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if let Some(running) = running.as_mut() {
                        if running.since.elapsed()
                            >= HEARTBEAT.saturating_mul(running.beats.saturating_add(1))
                        {
                            running.beats = running.beats.saturating_add(1);
                            eprintln!("still {}: {} so far", running.step.describe(), elapsed(running.since));
                        }
                    }
                }
            })
            .ok();
        Self { current, done, ticker }
    }

    /// `step` starts: the previous one is done.
    fn step(&self, step: Stage4Step) {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match current.take() {
            // Looking for keys ends in a setup when none is usable: nothing was loaded.
            Some(previous) if previous.step == Stage4Step::LoadKeys && step == Stage4Step::SetUpKeys => {
                eprintln!("{}: none usable in the cache", previous.step.describe());
            }
            Some(previous) => eprintln!("{}: done in {}", previous.step.describe(), elapsed(previous.since)),
            None => {}
        }
        eprintln!("{}...", step.describe());
        *current = Some(Running { step, since: Instant::now(), beats: 0 });
    }

    /// The last step is done.
    fn finish(mut self) {
        let last = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(last) = last {
            eprintln!("{}: done in {}", last.step.describe(), elapsed(last.since));
        }
        self.stop_ticker();
    }

    fn stop_ticker(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

impl Drop for StepReporter {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// `12.3 s`, or `4 min 05 s` from a minute on.
fn elapsed(since: Instant) -> String {
    let seconds = since.elapsed().as_secs_f64();
    match seconds < 60.0 {
        true => format!("{seconds:.1} s"),
        false => {
            let whole = since.elapsed().as_secs();
            format!("{} min {:02} s", whole / 60, whole % 60)
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over
/// `path`: a reader sees the old file or the whole new one.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// Makes the kernel kill this process when `parent` (the node that started it)
/// exits, so that a killed node leaves no stage-4 process behind.
fn die_with_parent(parent: u32) -> Result<(), CircuitsError> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|error| CircuitsError::Failed(format!("cannot tie this process to its parent: {error}")))?;
    // The parent may have died before the call above: then this process is adopted.
    if nix::unistd::getppid().as_raw() != i32::try_from(parent).unwrap_or(i32::MAX) {
        return Err(CircuitsError::Failed(format!("the process that started this one ({parent}) is gone")));
    }
    Ok(())
}

/// Runs `verify-groth16`: `ok: ...` on stdout when the proof is accepted.
pub(crate) fn verify(args: VerifyArgs) -> Result<(), CircuitsError> {
    let pinned = match &args.vk_hash {
        Some(text) => Some(parse_hash("--vk-hash", text)?),
        None => load_genesis(&args.source)?.0.prover.groth16.vk_hash(),
    };
    let pinned = pinned.ok_or_else(|| {
        CircuitsError::Input(
            "no verifying key is pinned: pass --vk-hash (the hash the epoch configuration commits to) or set \
             prover.groth16.vk_hash in --config"
                .to_owned(),
        )
    })?;
    let json: BatchGroth16Json = match (&args.proof, args.batch) {
        (Some(path), _) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|error| CircuitsError::Input(format!("cannot read stdin: {error}")))?;
                text
            } else {
                std::fs::read_to_string(path).map_err(|error| {
                    CircuitsError::Input(format!("cannot read {}: {error}", path.display()))
                })?
            };
            serde_json::from_str(&text).map_err(|error| {
                CircuitsError::Input(format!("{} is not a batch proof: {error}", path.display()))
            })?
        }
        (None, Some(batch)) => {
            let served: Option<BatchGroth16Json> = rpc_call(&args.rpc, "rollup_getGroth16Proof", batch)?;
            served.ok_or_else(|| {
                CircuitsError::Input(format!("batch {batch} has no Groth16 proof at {} yet", args.rpc))
            })?
        }
        (None, None) => return Err(CircuitsError::Input("pass --proof FILE or --batch N".to_owned())),
    };
    let proof = BatchGroth16::from_json(&json)
        .map_err(|error| CircuitsError::Failed(format!("the proof does not decode: {error}")))?;
    proof
        .check(&pinned)
        .map_err(|error| CircuitsError::Failed(format!("batch {}: refused: {error}", proof.batch)))?;
    let statement = &proof.statement;
    println!(
        "ok: batch {} (blocks {}..={}) from state {} to {}, verifying-key hash {}",
        proof.batch,
        statement.first_block,
        statement.last_block,
        statement.from_root,
        statement.to_root,
        rollup_l2::hex::encode(&pinned)
    );
    Ok(())
}

fn parse_hash(flag: &str, text: &str) -> Result<[u8; 32], CircuitsError> {
    rollup_l2::hex::decode(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| CircuitsError::Input(format!("{flag} {text:?} is not 32 bytes in hex")))
}

/// One JSON-RPC call with a single number parameter.
fn rpc_call<T: serde::de::DeserializeOwned>(
    url: &str,
    method: &str,
    number: u64,
) -> Result<T, CircuitsError> {
    rollup_roles::prover::rpc_call(url, method, serde_json::json!([number])).map_err(CircuitsError::Failed)
}
