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
/// One binary runs every role: sequencer, prover, controller, signer, vigilante and
/// backup. Which ones run is set by the configuration, most simply with a profile:
/// `rollup node --profile operator`.
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
    /// Run a development network on this machine.
    ///
    /// Starts a node with every role (profile `all`) in `--data-dir` (default
    /// `.rollup-devnet`) and prints its endpoints. The embedded Bitcoin regtest that
    /// completes the devnet is not built yet: roles that need Bitcoin do not reach it.
    Devnet(DevnetArgs),
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
    /// Data directory of the devnet.
    #[arg(long, value_name = "DIR", default_value = ".rollup-devnet")]
    data_dir: PathBuf,
    /// JSON-RPC listen address of the devnet node.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8545")]
    rpc_listen: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormatArg {
    Pretty,
    Json,
}

impl Cli {
    pub(crate) fn run(self) -> ExitCode {
        match self.command {
            Command::Node(sources) => run_node(&sources, self.log_format),
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
                    println!("configuration ok: roles {}", roles.join(", "));
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            },
            Command::Devnet(args) => {
                let sources = SourceArgs {
                    config: None,
                    profile: Some("all".to_owned()),
                    data_dir: Some(args.data_dir),
                    rpc_listen: Some(args.rpc_listen),
                };
                run_node(&sources, self.log_format)
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

fn run_node(sources: &SourceArgs, log_format: Option<LogFormatArg>) -> ExitCode {
    let mut config = match load(sources) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Some(format) = log_format {
        config.log.format = match format {
            LogFormatArg::Pretty => LogFormat::Pretty,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    if let Err(error) = logging::init(&config.log) {
        return fail(EXIT_CONFIG, &error);
    }
    match boot::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(target: "rollup::node", "{error:#}");
            fail(EXIT_FAILURE, &format!("{error:#}"))
        }
    }
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
