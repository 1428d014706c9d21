//! `rollup circuits`: the digests of this binary's circuits for a genesis, and the
//! CodeControlGroup (`code_control` in the genesis file) that allows its block
//! circuits.
//!
//! The block circuits depend on the genesis (chain id and fee account are circuit
//! constants); there is one per genesis block capacity, and class `i` is the circuit
//! of `block_capacities[i]`. The aggregation and recursion circuits are built over
//! them in that order.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use rollup_circuits::batch::BatchCircuits;
use rollup_circuits::block::{BlockCircuit, BlockParameters};
use rollup_circuits::ProofSystem;
use rollup_config::{Config, ConfigSources};
use rollup_l2::{CodeControlGroup, Digest, Genesis, LAST_BLOCK_NUMBER};
use serde_json::json;

/// Circuit commands.
#[derive(Debug, Args)]
pub(crate) struct CircuitsArgs {
    #[command(flatten)]
    source: GenesisArgs,
    #[command(subcommand)]
    command: CircuitsCommand,
}

/// Where a command that builds circuits takes its configuration and genesis from.
#[derive(Debug, Args)]
pub(crate) struct GenesisArgs {
    /// TOML config file; its `node.genesis` and `node.chain_id` choose the genesis.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Roles preset the configuration is validated with (the roles do not matter
    /// here); default: the file's [roles], or `all` without --config.
    #[arg(long, short = 'p', global = true, value_name = "NAME")]
    profile: Option<String>,
    /// Genesis file (JSON); overrides `node.genesis`.
    #[arg(long, global = true, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Chain id of the built-in development genesis, used when no genesis file is
    /// given; overrides `node.chain_id`.
    #[arg(long, global = true, value_name = "ID")]
    chain_id: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum CircuitsCommand {
    /// Build every circuit for the genesis and print their digests as JSON.
    ///
    /// Prints `genesis_hash`, `block_circuits` (class, capacity, digest, degree_bits
    /// per genesis capacity), the aggregation `leaves`, `node` and `recursion`
    /// digests and `family_degree_bits`. Progress goes to stderr.
    Digests,
    /// Print the CodeControlGroup that allows this binary's block circuits for a block
    /// range, as JSON: `{"code_control": [...], "root": "..."}`; paste `code_control`
    /// into the genesis file. With --check, check the genesis' `code_control` instead.
    Registry {
        /// The first block the circuits may prove.
        #[arg(long, value_name = "N", default_value_t = 1)]
        first_block: u64,
        /// The last block the circuits may prove (inclusive; default: no end).
        #[arg(long, value_name = "M", default_value_t = LAST_BLOCK_NUMBER)]
        last_block: u64,
        /// Check that the genesis' `code_control` lists every block circuit of this
        /// binary for the range (exit code 1 naming each one missing).
        #[arg(long)]
        check: bool,
    },
}

/// Why a circuits command failed.
#[derive(Debug)]
pub(crate) enum CircuitsError {
    /// The configuration, genesis or arguments are unusable; nothing was built.
    Input(String),
    /// Building failed, or the check found block circuits the genesis does not list.
    Failed(String),
}

impl std::fmt::Display for CircuitsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Input(message) | Self::Failed(message) => f.write_str(message),
        }
    }
}

/// Runs a circuits command; what it prints goes to stdout, progress to stderr.
pub(crate) fn run(args: CircuitsArgs) -> Result<(), CircuitsError> {
    match &args.command {
        CircuitsCommand::Digests => {
            let genesis = load_genesis(&args.source)?.1;
            let blocks = build_blocks(&genesis)?;
            let family = build_family(&blocks)?;
            let digests = family.digests();
            let block_circuits: Vec<_> = blocks
                .iter()
                .zip(&digests.blocks)
                .enumerate()
                .map(|(class, (circuit, (capacity, digest)))| {
                    json!({
                        "class": class,
                        "capacity": capacity,
                        "digest": digest.to_string(),
                        "degree_bits": circuit.stats().degree_bits,
                    })
                })
                .collect();
            print_json(&json!({
                "genesis_hash": genesis.hash().to_string(),
                "block_circuits": block_circuits,
                "leaves": digests.leaves.iter().map(Digest::to_string).collect::<Vec<_>>(),
                "node": digests.node.to_string(),
                "recursion": digests.recursion.to_string(),
                "family_degree_bits": digests.degree_bits,
            }))
        }
        &CircuitsCommand::Registry { first_block, last_block, check } => {
            check_range(first_block, last_block)?;
            let genesis = load_genesis(&args.source)?.1;
            let blocks = build_blocks(&genesis)?;
            if check {
                return check_registry(&genesis, &blocks, first_block, last_block);
            }
            let family = build_family(&blocks)?;
            let registry = family.registry(first_block, last_block).map_err(|error| {
                CircuitsError::Failed(format!("cannot make the code control group: {error}"))
            })?;
            print_json(&json!({ "code_control": registry, "root": registry.root().to_string() }))
        }
    }
}

/// Refuses a range no registry entry can hold.
fn check_range(first_block: u64, last_block: u64) -> Result<(), CircuitsError> {
    let problem = if first_block == 0 {
        Some("--first-block must be at least 1 (block 0 is the genesis)".to_owned())
    } else if first_block > last_block {
        Some("--first-block is after --last-block".to_owned())
    } else if last_block > LAST_BLOCK_NUMBER {
        Some(format!("--last-block must be at most {LAST_BLOCK_NUMBER}"))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            Err(CircuitsError::Input(format!("bad block range {first_block}..={last_block}: {problem}")))
        }
        None => Ok(()),
    }
}

/// The configuration (with the command-line overrides) and the genesis it names.
pub(crate) fn load_genesis(args: &GenesisArgs) -> Result<(Config, Genesis), CircuitsError> {
    let mut sources = ConfigSources::from_process_env();
    sources.file.clone_from(&args.config);
    sources.profile = match (&args.profile, &args.config) {
        (Some(profile), _) => Some(profile.clone()),
        (None, Some(_)) => None,
        (None, None) => Some("all".to_owned()),
    };
    if let Some(path) = &args.genesis {
        sources.overrides.push(("node.genesis".to_owned(), path.display().to_string()));
    }
    if let Some(chain_id) = args.chain_id {
        sources.overrides.push(("node.chain_id".to_owned(), chain_id.to_string()));
    }
    let config = rollup_config::load(&sources).map_err(|error| CircuitsError::Input(error.to_string()))?;
    let genesis = rollup_roles::genesis_of(&config).map_err(|error| match &config.node.genesis {
        Some(path) => {
            CircuitsError::Input(format!("cannot use the genesis file {}: {error}", path.display()))
        }
        None => CircuitsError::Input(error.to_string()),
    })?;
    Ok((config, genesis))
}

/// Builds the block circuit of every genesis capacity, in class order.
pub(crate) fn build_blocks(genesis: &Genesis) -> Result<Vec<BlockCircuit>, CircuitsError> {
    let mut circuits = Vec::with_capacity(genesis.block_capacities.len());
    for capacity in &genesis.block_capacities {
        eprint!("building the block circuit of capacity {capacity}... ");
        let started = Instant::now();
        let capacity = usize::try_from(*capacity)
            .map_err(|_| CircuitsError::Input(format!("block capacity {capacity} does not fit in memory")))?;
        let circuit =
            BlockCircuit::setup(BlockParameters { capacity, stf: genesis.params() }).map_err(|error| {
                CircuitsError::Failed(format!(
                    "cannot build the block circuit of capacity {capacity}: {error}"
                ))
            })?;
        eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
        circuits.push(circuit);
    }
    Ok(circuits)
}

/// Builds the aggregation and recursion circuits over `blocks`.
pub(crate) fn build_family(blocks: &[BlockCircuit]) -> Result<BatchCircuits, CircuitsError> {
    eprint!("building the aggregation and recursion circuits... ");
    let started = Instant::now();
    let family = BatchCircuits::build(&blocks.iter().collect::<Vec<_>>()).map_err(|error| {
        CircuitsError::Failed(format!("cannot build the aggregation and recursion circuits: {error}"))
    })?;
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(family)
}

/// Checks that the genesis' registry allows every block circuit for the range.
fn check_registry(
    genesis: &Genesis,
    blocks: &[BlockCircuit],
    first_block: u64,
    last_block: u64,
) -> Result<(), CircuitsError> {
    let empty = CodeControlGroup::default();
    let registry = genesis.code_control.as_ref().unwrap_or(&empty);
    let missing: Vec<String> = blocks
        .iter()
        .enumerate()
        .filter_map(|(class, circuit)| {
            let digest = circuit.digest();
            let listed = u32::try_from(class)
                .ok()
                .and_then(|id| registry.find(id, &digest, first_block, last_block))
                .is_some();
            (!listed)
                .then(|| format!("  - class {class} (capacity {}): {digest}", circuit.parameters().capacity))
        })
        .collect();
    if missing.is_empty() {
        println!(
            "ok: the genesis' code_control lists all {} block circuits for blocks {first_block}..={last_block}",
            blocks.len()
        );
        return Ok(());
    }
    let registry_state = if genesis.code_control.is_none() { " (it has no code_control)" } else { "" };
    Err(CircuitsError::Failed(format!(
        "the genesis{registry_state} does not list {} of this binary's block circuits for blocks \
         {first_block}..={last_block}:\n{}\n(print the entries to add with `rollup circuits registry`)",
        missing.len(),
        missing.join("\n")
    )))
}

fn print_json(value: &serde_json::Value) -> Result<(), CircuitsError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|error| CircuitsError::Failed(format!("cannot print the JSON: {error}")))?;
    println!("{text}");
    Ok(())
}
