//! `qcc opt`: parse, verify and print (and, with the passes crate, transform) a `.qir` graph.

use anyhow::Context;
use clap::Args;
use qcc_ir::print::PrintOptions;
use std::path::PathBuf;

/// Parse, verify and print a graph.
///
/// Example: `qcc opt model.qir -o out.qir`
#[derive(Debug, Args)]
pub struct OptArgs {
    /// Input graph (`.qir`, with its `.safetensors` beside it if it has one).
    input: PathBuf,
    /// Write the result here (a `.safetensors` goes beside it when weights are large); default stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print every weight in full instead of `dense<…>` references.
    #[arg(long)]
    print_weights: bool,
}

pub fn run(a: OptArgs) -> anyhow::Result<i32> {
    let g = qcc_ir::weights::load_qir(&a.input)?;
    if let Err(errs) = qcc_ir::verify::verify(&g) {
        eprintln!(
            "{}: the graph does not verify ({} errors):\n{errs}",
            a.input.display(),
            errs.len()
        );
        return Ok(1);
    }
    let opts = PrintOptions {
        inline_limit: if a.print_weights {
            usize::MAX
        } else {
            PrintOptions::default().inline_limit
        },
    };
    match a.output {
        Some(out) => {
            qcc_ir::weights::save_qir(&g, &out, &opts)
                .with_context(|| format!("writing {}", out.display()))?;
        }
        None => {
            let p = qcc_ir::print::print_with(
                &g,
                &PrintOptions { inline_limit: usize::MAX },
                &Default::default(),
            );
            print!("{}", p.text);
        }
    }
    Ok(0)
}
