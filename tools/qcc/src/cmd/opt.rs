//! `qcc opt`: parse, verify, transform with a pass pipeline and print a graph.

use anyhow::Context;
use clap::Args;
use qcc_ir::print::PrintOptions;
use qcc_passes::{PassManager, PassManagerOptions, Registry};
use std::path::PathBuf;

/// Run a pass pipeline on a graph and print the result.
///
/// Example: `qcc opt model.qir --passes canonicalize,cse -o out.qir --time-passes`
#[derive(Debug, Args)]
pub struct OptArgs {
    /// Input graph (`.qir` with its `.safetensors`, or `.onnx`).
    input: Option<PathBuf>,
    /// Write the result here (a `.safetensors` goes beside it when weights are large); default stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The pipeline, e.g. `canonicalize,fold-batchnorm,cse{max=100}` (empty: parse, verify, print).
    #[arg(long, default_value = "")]
    passes: String,
    /// List the registered passes and pipelines and exit.
    #[arg(long)]
    list_passes: bool,
    /// Print every weight in full instead of `dense<…>` references.
    #[arg(long)]
    print_weights: bool,
    #[command(flatten)]
    pm: PassManagerOptions,
}

pub fn run(a: OptArgs) -> anyhow::Result<i32> {
    let reg = Registry::with_builtins();
    if a.list_passes {
        for l in reg.list() {
            match &l.expands_to {
                Some(e) => println!("{:<28} {} (= {e})", l.name, l.summary),
                None => println!("{:<28} {}", l.name, l.summary),
            }
        }
        return Ok(0);
    }
    let input = a.input.context("an input graph is needed (or --list-passes)")?;
    let mut g = qcc::model::load_model(&input)?;
    if let Err(errs) = qcc_ir::verify::verify(&g) {
        eprintln!(
            "{}: the graph does not verify ({} errors):\n{errs}",
            input.display(),
            errs.len()
        );
        return Ok(1);
    }
    if !a.passes.is_empty() {
        let mut pm = PassManager::from_pipeline(&reg, &a.passes, a.pm.clone())?;
        pm.run(&mut g)?;
    }
    let limit = if a.print_weights { usize::MAX } else { PrintOptions::default().inline_limit };
    match a.output {
        Some(out) => {
            qcc_ir::weights::save_qir(&g, &out, &PrintOptions { inline_limit: limit })
                .with_context(|| format!("writing {}", out.display()))?;
        }
        None => {
            let shown = if a.print_weights { usize::MAX } else { 64 };
            let p = qcc_ir::print::print_with(
                &g,
                &PrintOptions { inline_limit: shown },
                &Default::default(),
            );
            print!("{}", p.text);
        }
    }
    Ok(0)
}
