//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rollup_config::{Config, ConfigSources, LogFormat};

use crate::{boot, logging};

/// Exit code for a configuration that cannot be used.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a node that failed while starting or running.
const EXIT_FAILURE: u8 = 1;

/// A Bitcoin zk-rollup node.
///
/// One binary runs every role: sequencer, prover, controller and vigilante (the
/// signer and backup roles are not implemented yet). Which ones run is set by the
/// configuration, most simply with a profile: `rollup node --profile operator`.
#[derive(Debug, Parser)]
#[command(name = "rollup", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Log line format; overrides `log.format`. The `RUST_LOG` environment variable
    /// sets the log filter (default: `log.filter`, `info`).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormatArg>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node with the roles its configuration enables.
    ///
    /// Examples:
    ///   rollup node --profile operator
    ///   rollup node --config node.toml --profile vigilante --data-dir /var/lib/rollup
    #[command(verbatim_doc_comment)]
    Node(SourceArgs),
    /// Print or check the effective configuration without starting anything.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run a development network on this machine: an embedded Bitcoin regtest and a
    /// rollup node with every implemented role (profile `all`).
    ///
    /// The regtest chain is validated by Bitcoin Core's consensus engine and serves
    /// the Esplora API (and a control API under /devnet/) on --esplora-listen. A new
    /// devnet mines 110 blocks to its own wallet and funds a key for you; it prints the
    /// endpoints and that key. Data lives in --data-dir, so a restarted devnet
    /// continues its chain.
    Devnet(DevnetArgs),
    /// An L2 wallet: a key file and transfers, withdrawals and queries through a node.
    ///
    /// Examples:
    ///   rollup wallet new --devnet-user          # the development genesis' funded key
    ///   rollup wallet balance
    ///   rollup wallet send --to 10 --to-pubkey <hex> --amount 5000
    #[command(verbatim_doc_comment)]
    Wallet(crate::wallet::WalletArgs),
    /// The circuits' digests for a genesis, and the CodeControlGroup (the genesis'
    /// `code_control`) that allows this binary's block circuits.
    ///
    /// Examples:
    ///   rollup circuits digests --genesis genesis.json
    ///   rollup circuits registry --genesis genesis.json            # entries to paste
    ///   rollup circuits registry --genesis genesis.json --check    # is this binary allowed?
    #[command(verbatim_doc_comment)]
    Circuits(crate::circuits::CircuitsArgs),
    /// Wrap a batch's chain proof into its Groth16 proof (stage 4), as the prover
    /// role does, and print it as JSON (the form `rollup_getGroth16Proof` serves).
    ///
    /// Fetches the chain proof from a node (or reads it with --chain-proof), checks
    /// it, then builds the wrapper (and, without --chain-verifier, every circuit of
    /// the genesis first) and loads the Groth16 keys of `prover.groth16` (a first
    /// development setup takes minutes and up to 10 GiB of memory). Progress goes to
    /// stderr: each step as it starts, every 30 s while it runs, and its time.
    ///
    /// Examples:
    ///   rollup prove-batch 0 --out batch-0.json
    ///   rollup prove-batch 3 --rpc http://operator:8545 --config node.toml
    #[command(verbatim_doc_comment)]
    ProveBatch(crate::groth16::ProveBatchArgs),
    /// Check a batch's Groth16 proof: its verifying key is the pinned one, its public
    /// inputs are those of its statement, and it verifies. Exit code 0 when accepted,
    /// 1 when refused, 2 for unusable input.
    ///
    /// Examples:
    ///   rollup verify-groth16 --proof batch-0.json --vk-hash <hex>
    ///   rollup verify-groth16 --batch 0 --rpc http://operator:8545 --vk-hash <hex>
    #[command(verbatim_doc_comment)]
    VerifyGroth16(crate::groth16::VerifyArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the effective configuration as TOML: defaults, file, profile, environment
    /// and flags merged.
    Dump(SourceArgs),
    /// Validate the configuration and report every problem at once (exit code 2 if any).
    Check(SourceArgs),
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
struct SourceArgs {
    /// TOML config file (see `rollup config dump` for every key and its default).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Roles preset: operator, backup, signer, vigilante or all. Replaces the file's [roles].
    #[arg(long, short = 'p', value_name = "NAME")]
    profile: Option<String>,
    /// Data directory; overrides `node.data_dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// JSON-RPC listen address (IP:PORT, port 0 for any); overrides `rpc.listen`.
    #[arg(long, value_name = "ADDR")]
    rpc_listen: Option<String>,
}

#[derive(Debug, Args)]
struct DevnetArgs {
    /// Data directory of the devnet (rollup node and Bitcoin chain).
    #[arg(long, value_name = "DIR", default_value = ".rollup-devnet")]
    data_dir: PathBuf,
    /// JSON-RPC listen address of the rollup node.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8545")]
    rpc_listen: String,
    /// Listen address of the regtest's Esplora and control API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3002")]
    esplora_listen: String,
    /// Mine a block every this many milliseconds (0: only when asked through the control API).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    block_time_ms: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormatArg {
    Pretty,
    Json,
}

impl Cli {
    pub(crate) fn run(self) -> ExitCode {
        match self.command {
            Command::Node(sources) => match load(&sources) {
                Ok(config) => run_node(config, self.log_format, false),
                Err(code) => code,
            },
            Command::Config { action: ConfigAction::Dump(sources) } => match load(&sources) {
                Ok(config) => match rollup_config::to_toml(&config) {
                    Ok(text) => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(error) => fail(EXIT_FAILURE, &error),
                },
                Err(code) => code,
            },
            Command::Config { action: ConfigAction::Check(sources) } => match load(&sources) {
                Ok(config) => {
                    let roles: Vec<&str> = config.roles.enabled().iter().map(|role| role.as_str()).collect();
                    let idle: Vec<&str> = config
                        .roles
                        .enabled()
                        .iter()
                        .filter(|role| !role.is_implemented())
                        .map(|role| role.as_str())
                        .collect();
                    match idle.is_empty() {
                        true => println!("configuration ok: roles {}", roles.join(", ")),
                        false => println!(
                            "configuration ok: roles {} (not implemented yet, they run nothing: {})",
                            roles.join(", "),
                            idle.join(", ")
                        ),
                    }
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            },
            Command::Wallet(args) => match crate::wallet::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(EXIT_FAILURE, &format!("{error:#}")),
            },
            Command::Circuits(args) => command_outcome(crate::circuits::run(args)),
            Command::ProveBatch(args) => command_outcome(crate::groth16::prove_batch(args)),
            Command::VerifyGroth16(args) => command_outcome(crate::groth16::verify(args)),
            Command::Devnet(args) => {
                let mut sources = ConfigSources::from_process_env();
                sources.profile = Some("all".to_owned());
                sources.overrides = vec![
                    ("node.data_dir".to_owned(), args.data_dir.display().to_string()),
                    ("rpc.listen".to_owned(), args.rpc_listen),
                    ("devnet.esplora_listen".to_owned(), args.esplora_listen),
                    ("devnet.block_time_ms".to_owned(), args.block_time_ms.to_string()),
                ];
                match rollup_config::load(&sources) {
                    Ok(config) => run_node(config, self.log_format, true),
                    Err(error) => fail(EXIT_CONFIG, &error),
                }
            }
        }
    }
}

fn load(args: &SourceArgs) -> Result<Config, ExitCode> {
    let mut sources = ConfigSources::from_process_env();
    sources.file.clone_from(&args.config);
    sources.profile.clone_from(&args.profile);
    if let Some(dir) = &args.data_dir {
        sources.overrides.push(("node.data_dir".to_owned(), dir.display().to_string()));
    }
    if let Some(listen) = &args.rpc_listen {
        sources.overrides.push(("rpc.listen".to_owned(), listen.clone()));
    }
    rollup_config::load(&sources).map_err(|error| fail(EXIT_CONFIG, &error))
}

fn run_node(mut config: Config, log_format: Option<LogFormatArg>, with_devnet: bool) -> ExitCode {
    if let Some(format) = log_format {
        config.log.format = match format {
            LogFormatArg::Pretty => LogFormat::Pretty,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    if let Err(error) = logging::init(&config.log) {
        return fail(EXIT_CONFIG, &error);
    }
    match boot::run(config, with_devnet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(target: "rollup::node", "{error:#}");
            fail(EXIT_FAILURE, &format!("{error:#}"))
        }
    }
}

/// Exit code 2 for unusable input (nothing was done), 1 for a failure.
fn command_outcome(outcome: Result<(), crate::circuits::CircuitsError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ crate::circuits::CircuitsError::Input(_)) => fail(EXIT_CONFIG, &error),
        Err(error @ crate::circuits::CircuitsError::Failed(_)) => fail(EXIT_FAILURE, &error),
    }
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
