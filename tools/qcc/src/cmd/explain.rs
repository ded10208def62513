//! `qcc explain`: per node — integer or float, kernel, dot-product path, predicted cost share —
//! and warnings (float islands, heavy ops in float, quantized slower than fp32).

use super::qflags::QuantFlags;
use clap::{Args, ValueEnum};
use qcc::explain::{explain, fp32_cost, DotPath};
use std::path::PathBuf;

/// Target whose dot-product path the explanation assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainTarget {
    /// This machine (VNNI when the CPU has it, else pmaddwd).
    Host,
    /// x86-64 with AVX-512 VNNI or AVX-VNNI.
    X86_64Vnni,
    /// x86-64 without VNNI.
    X86_64,
    /// AArch64 with the dot-product extension.
    Aarch64,
}

/// Explain what the compiler does with each node of a quantized model and warn about float
/// islands, float heavy ops and int8 that is predicted slower than fp32. MODEL is a float model
/// (give `--calib` to quantize it) or an already quantized QDQ model (ONNX Runtime's or qcc's).
///
/// Example: `qcc explain model.int8.onnx --json` or `qcc explain model.onnx --calib calib.npz`
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The model (`.onnx` or `.qir`).
    model: PathBuf,
    #[command(flatten)]
    q: QuantFlags,
    /// Whose dot-product path to assume.
    #[arg(long, value_enum, default_value_t = ExplainTarget::Host)]
    target: ExplainTarget,
    /// Bind an ONNX input's shape, e.g. `input_ids=1,128` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=D,D,...")]
    input_shape: Vec<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ExplainArgs) -> anyhow::Result<i32> {
    let opts = qcc_onnx::ImportOptions {
        input_shapes: super::import::parse_input_shapes(&a.input_shape)?,
        ..Default::default()
    };
    let g = qcc::model::load_model_with(&a.model, &opts)?;
    let (int, fp32_ns) = if a.q.calib.is_some() {
        let q = a.q.quantize(&g)?;
        (q.int, fp32_cost(&q.float))
    } else {
        // An already quantized (QDQ) model: realize what the integer kernels can run.
        let mut int = g;
        let qdq = qcc::quantize::realize_qdq_model(&mut int)?;
        (int, fp32_cost(&qdq))
    };
    let path = match a.target {
        ExplainTarget::Host => {
            if qcc_backend_cranelift::isa::HostFeatures::detect().has_vnni() {
                DotPath::Vnni
            } else {
                DotPath::Pmaddwd
            }
        }
        ExplainTarget::X86_64Vnni => DotPath::Vnni,
        ExplainTarget::X86_64 => DotPath::Pmaddwd,
        ExplainTarget::Aarch64 => DotPath::Sdot,
    };
    let lowered = qcc_lowering::lower(&int).map_err(|e| e.to_string());
    let e = explain(&int, fp32_ns, lowered.as_ref().map_err(Clone::clone), path);
    if a.json {
        println!("{}", serde_json::to_string(&e)?);
    } else {
        print!("{}", e.to_text());
    }
    Ok(0)
}
