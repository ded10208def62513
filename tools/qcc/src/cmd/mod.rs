//! Subcommands, one file each.

mod opt;
mod run;

use clap::{Parser, Subcommand};

/// qcc: a quantizing compiler for neural networks.
#[derive(Debug, Parser)]
#[command(name = "qcc", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Opt(opt::OptArgs),
    Run(run::RunArgs),
}

/// Runs the chosen subcommand; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Opt(a) => opt::run(a),
        Command::Run(a) => run::run(a),
    }
}
