//! `rollup`: the Bitcoin zk-rollup node.
//!
//! The command line ([`cli`]) loads a configuration, sets up logging and hands over to
//! [`boot`], which opens the node database, starts one supervised actor per enabled
//! role that is implemented (the others are announced as not implemented), serves
//! the API and shuts everything down cleanly on SIGINT or SIGTERM.

mod api;
mod boot;
mod circuits;
mod cli;
mod devnet;
mod groth16;
mod logging;
mod wallet;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
