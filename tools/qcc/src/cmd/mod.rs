//! Subcommands, one file each.

mod bench;
mod compile;
mod conformance;
mod eval;
mod explain;
mod import;
mod opt;
mod qflags;
mod quantize;
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
    Import(import::ImportArgs),
    Opt(opt::OptArgs),
    Run(run::RunArgs),
    Quantize(quantize::QuantizeArgs),
    Compile(compile::CompileArgs),
    Eval(eval::EvalArgs),
    Explain(explain::ExplainArgs),
    Bench(bench::BenchArgs),
    Conformance(conformance::ConformanceArgs),
}

/// Runs the chosen subcommand; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Import(a) => import::run(a),
        Command::Opt(a) => opt::run(a),
        Command::Run(a) => run::run(a),
        Command::Quantize(a) => quantize::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Conformance(a) => conformance::run(a),
    }
}
