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

use clap::{Args, Parser, Subcommand};

/// qcc: a quantizing compiler for neural networks.
#[derive(Debug, Parser)]
#[command(name = "qcc", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    limits: LimitFlags,
    /// Log what qcc does on stderr: -v info (imports, pass pipelines, calibration, compiles),
    /// -vv debug (each pass, each kernel), -vvv trace. `QCC_LOG` (an env-filter such as
    /// `qcc_passes=debug`) overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Installs the stderr logger for `-v` / `QCC_LOG` (nothing is logged without either).
fn init_logging(verbose: u8) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("QCC_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec)
            .map_err(|e| anyhow::anyhow!("QCC_LOG={spec:?} is not a valid log filter: {e}"))?,
        Err(_) => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// Resource limits for untrusted inputs (defaults: `qcc_ir::Limits`, overridden by the
/// `QCC_MAX_*` environment variables, overridden by these flags).
#[derive(Debug, Args)]
struct LimitFlags {
    /// Largest tensor (constant, data array, any value of known shape), in bytes.
    #[arg(long, global = true, value_name = "BYTES")]
    max_tensor_bytes: Option<u64>,
    /// Most nodes in a graph.
    #[arg(long, global = true, value_name = "N")]
    max_nodes: Option<usize>,
    /// Longest chain of nodes in a graph.
    #[arg(long, global = true, value_name = "N")]
    max_depth: Option<usize>,
    /// Largest memory arena of a compiled model, in bytes.
    #[arg(long, global = true, value_name = "BYTES")]
    max_arena_bytes: Option<u64>,
}

impl LimitFlags {
    fn limits(&self) -> anyhow::Result<qcc_ir::Limits> {
        let mut l = qcc_ir::Limits::from_env()?;
        if let Some(v) = self.max_tensor_bytes {
            l.max_tensor_bytes = v;
        }
        if let Some(v) = self.max_nodes {
            l.max_nodes = v;
        }
        if let Some(v) = self.max_depth {
            l.max_depth = v;
        }
        if let Some(v) = self.max_arena_bytes {
            l.max_arena_bytes = v;
        }
        Ok(l)
    }
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
    init_logging(cli.verbose)?;
    qcc::set_limits(cli.limits.limits()?);
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
