//! `qcc import`: ONNX → `.qir` (+ `.safetensors`).

use anyhow::Context;
use clap::Args;
use qcc_ir::print::PrintOptions;
use std::collections::HashMap;
use std::path::PathBuf;

/// Import an ONNX model into qcc's text IR.
///
/// Example: `qcc import model.onnx -o model.qir --input-shape input=1,3,224,224`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Output `.qir` (its weights go to the `.safetensors` beside it).
    #[arg(short, long)]
    output: PathBuf,
    /// Bind an input's shape, e.g. `input_ids=1,128` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=D,D,...")]
    input_shape: Vec<String>,
    /// Run the `canonicalize` pipeline after import.
    #[arg(long)]
    canonicalize: bool,
}

/// Parses `NAME=1,3,224,224` flags.
pub fn parse_input_shapes(flags: &[String]) -> anyhow::Result<HashMap<String, Vec<usize>>> {
    let mut m = HashMap::new();
    for f in flags {
        let (name, dims) = f
            .split_once('=')
            .with_context(|| format!("--input-shape `{f}`: expected NAME=D,D,..."))?;
        let dims: Vec<usize> = dims
            .split(',')
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .with_context(|| {
                format!("--input-shape `{f}`: dimensions must be non-negative integers")
            })?;
        m.insert(name.to_string(), dims);
    }
    Ok(m)
}

pub fn run(a: ImportArgs) -> anyhow::Result<i32> {
    let opts = qcc_onnx::ImportOptions {
        input_shapes: parse_input_shapes(&a.input_shape)?,
        limits: qcc::limits(),
        ..Default::default()
    };
    let mut g = qcc::model::load_model_with(&a.model, &opts)?;
    if a.canonicalize {
        qcc::quantize::canonicalize(&mut g)?;
    }
    qcc_ir::weights::save_qir(&g, &a.output, &PrintOptions::default())
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!("{} → {} ({} nodes)", a.model.display(), a.output.display(), g.node_count());
    Ok(0)
}
