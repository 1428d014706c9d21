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
use std::time::Instant;

use clap::Args;
use rollup_roles::prover::BatchProofJson;
use rollup_wrap::batch_proof::{BatchGroth16, BatchGroth16Json};
use rollup_wrap::stage4::{Stage4, DEVELOPMENT_SEED};

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
    let blocks = build_blocks(&genesis)?;
    let family = build_family(&blocks)?;
    let chain = family
        .decode_chain(&bytes)
        .map_err(|error| CircuitsError::Failed(format!("the chain proof does not decode: {error}")))?;
    family.verify_chain(&served.statement, &chain).map_err(|error| {
        CircuitsError::Failed(format!("the chain proof of batch {} does not verify: {error}", args.batch))
    })?;
    eprintln!("the chain proof of batch {} verifies", args.batch);

    eprint!(
        "building the wrapper and loading its Groth16 keys from {} (a first setup takes minutes)... ",
        key_dir.display()
    );
    let started = Instant::now();
    let stage4 = Stage4::load_or_setup(&family, &key_dir, seed)
        .map_err(|error| CircuitsError::Failed(format!("stage 4: {error}")))?;
    // Only the wrapper is needed from here on: the memory goes to Groth16.
    drop((family, blocks));
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
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
    eprint!("proving batch {} (the wrapper, then Groth16: minutes)... ", args.batch);
    let started = Instant::now();
    let proof = stage4
        .prove_batch(&chain)
        .map_err(|error| CircuitsError::Failed(format!("stage 4 of batch {}: {error}", args.batch)))?;
    eprintln!(
        "done in {:.1} s (wrapper {:.1} s, Groth16 {:.1} s); it verifies under verifying-key hash {}",
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
