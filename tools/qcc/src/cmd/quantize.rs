//! `qcc quantize`: calibrate and quantize a model; write QDQ ONNX or `.qir`.

use super::qflags::QuantFlags;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use qcc_ir::print::PrintOptions;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Form {
    /// Quantize/Dequantize around float ops (what other runtimes load).
    Qdq,
    /// Integer ops (QConv, QMatMul, Requantize…): what qcc's backends compile.
    Integer,
}

/// Quantize a model with calibration data.
///
/// Example: `qcc quantize model.onnx --calib calib.npz --method entropy -o model.int8.onnx`
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The float model (`.onnx` or `.qir`).
    model: PathBuf,
    #[command(flatten)]
    q: QuantFlags,
    /// Output: `.onnx` (QDQ form, runs in ONNX Runtime) or `.qir`.
    #[arg(short, long)]
    output: PathBuf,
    /// Graph form written (default: qdq for .onnx, integer for .qir).
    #[arg(long, value_enum)]
    form: Option<Form>,
    /// Print one JSON object (what was quantized) on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: QuantizeArgs) -> anyhow::Result<i32> {
    let g = qcc::model::load_model(&a.model)?;
    let outcome = a.q.quantize_full(&g)?;
    let q = &outcome.model;
    let ext = a.output.extension().and_then(|e| e.to_str()).unwrap_or("");
    let form = a.form.unwrap_or(if ext == "onnx" { Form::Qdq } else { Form::Integer });
    let graph = match form {
        Form::Qdq => &q.qdq,
        Form::Integer => &q.int,
    };
    match ext {
        "onnx" => {
            let bytes = qcc_onnx::export_model(graph)?;
            std::fs::write(&a.output, bytes)
                .with_context(|| format!("writing {}", a.output.display()))?;
        }
        "qir" => {
            qcc_ir::weights::save_qir(graph, &a.output, &PrintOptions::default())?;
        }
        _ => bail!("{}: the output must end in .onnx or .qir", a.output.display()),
    }
    if a.json {
        let mut j = serde_json::json!({
            "quantized_nodes": q.report.quantized.len(),
            "float_nodes": q.report.kept_float,
            "integer_ops": q.realized.integer_ops.len(),
            "boundaries": q.realized.boundaries,
        });
        if let Some(m) = j.as_object_mut() {
            m.extend(outcome.json_fields());
        }
        println!("{j}");
    } else {
        outcome.print_text();
        eprintln!(
            "quantized {} nodes ({} kept in float), {} integer ops, {} Q/DQ at float boundaries → {}",
            q.report.quantized.len(),
            q.report.kept_float.len(),
            q.realized.integer_ops.len(),
            q.realized.boundaries,
            a.output.display()
        );
    }
    Ok(0)
}
