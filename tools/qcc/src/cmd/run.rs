//! `qcc run`: run a model on every sample of a data file.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use qcc::compare::{check, OutputCheck};
use qcc::data::{read_npz, stack_samples, write_npz};
use qcc::model::bind_samples;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Execution backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The reference interpreter (the oracle).
    Interp,
    /// Native code from the Cranelift JIT (`--threads` splits each kernel's rows).
    Cranelift,
    /// Native code from the LLVM JIT at the host's full vector width (`--threads` as Cranelift).
    Llvm,
}

impl Backend {
    /// The native backend, if this is one.
    pub fn native(self) -> Option<qcc::engine::Native> {
        match self {
            Backend::Interp => None,
            Backend::Cranelift => Some(qcc::engine::Native::Cranelift),
            Backend::Llvm => Some(qcc::engine::Native::Llvm),
        }
    }
}

/// Runs `samples` on `backend`: (results, seconds spent running, compile seconds if any).
pub fn run_on(
    backend: Backend,
    g: &qcc_ir::Graph,
    samples: &[Vec<qcc_ir::Tensor>],
    threads: usize,
) -> anyhow::Result<(Vec<Vec<qcc_ir::Tensor>>, f64, Option<f64>)> {
    match backend.native() {
        None => {
            let t0 = std::time::Instant::now();
            let r = qcc::run_interp(g, samples, threads)?;
            Ok((r, t0.elapsed().as_secs_f64(), None))
        }
        Some(native) => {
            let m = qcc::engine::compile_native(native, g, threads)?;
            let t0 = std::time::Instant::now();
            let r = samples.iter().map(|s| m.run(s)).collect::<anyhow::Result<Vec<_>>>()?;
            Ok((r, t0.elapsed().as_secs_f64(), Some(m.compile_time().as_secs_f64())))
        }
    }
}

/// Run a model on the samples of a `.npz` file.
///
/// Example: `qcc run model.qir --inputs eval.npz --outputs out.npz --assert-outputs ref.npz`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model (`.qir` or `.onnx`).
    model: PathBuf,
    /// Inputs: one array per model input, shaped `[M, *input_shape]`.
    #[arg(long)]
    inputs: PathBuf,
    /// Write outputs here, one array per model output, shaped `[M, *output_shape]`.
    #[arg(long)]
    outputs: Option<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = Backend::Interp)]
    backend: Backend,
    /// Worker threads (interpreter: samples in parallel; cranelift/llvm: rows of each kernel).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Only the first N samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Compare the outputs with this reference file; exit 1 when any output is off.
    #[arg(long)]
    assert_outputs: Option<PathBuf>,
    /// Relative tolerance for `--assert-outputs`.
    #[arg(long, default_value_t = 1e-3)]
    rtol: f64,
    /// Absolute tolerance for `--assert-outputs`.
    #[arg(long, default_value_t = 1e-4)]
    atol: f64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Bind an ONNX input's shape, e.g. `input_ids=1,128` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=D,D,...")]
    input_shape: Vec<String>,
    /// Quantize first (needs `--calib`) and run the integer realization.
    #[arg(long)]
    quantize: bool,
    #[command(flatten)]
    q: super::qflags::QuantFlags,
}

pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    let opts = qcc_onnx::ImportOptions {
        input_shapes: super::import::parse_input_shapes(&a.input_shape)?,
        limits: qcc::limits(),
        ..Default::default()
    };
    let mut g = qcc::model::load_model_with(&a.model, &opts)?;
    if a.quantize {
        g = a.q.quantize(&g)?.int;
    }
    let arrays = read_npz(&a.inputs)?;
    let mut samples = bind_samples(&g, &arrays, &a.inputs.display().to_string())?;
    if let Some(n) = a.limit {
        samples.truncate(n);
    }
    if samples.is_empty() {
        bail!("{}: no samples", a.inputs.display());
    }
    let (results, secs, compile_secs) = run_on(a.backend, &g, &samples, a.threads)
        .with_context(|| format!("running {}", a.model.display()))?;
    let elapsed = std::time::Duration::from_secs_f64(secs);
    let names: Vec<String> = g.outputs().iter().map(|(n, _)| n.clone()).collect();
    let mut stacked = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let per: Vec<_> = results.iter().map(|r| r[k].clone()).collect();
        stacked.push((name.clone(), stack_samples(&per).map_err(anyhow::Error::msg)?));
    }
    if let Some(out) = &a.outputs {
        write_npz(out, &stacked)?;
    }
    let mut code = 0;
    let mut report: BTreeMap<String, OutputCheck> = BTreeMap::new();
    if let Some(refp) = &a.assert_outputs {
        let refs = read_npz(refp)?;
        for (name, got) in &stacked {
            let (_, want) = refs.iter().find(|(n, _)| n == name).with_context(|| {
                format!("{}: no reference array for output `{name}`", refp.display())
            })?;
            let want = if want.shape.first() != got.shape.first() {
                // The reference may hold more samples than were run (--limit).
                let mut s = qcc::data::split_samples(want).map_err(anyhow::Error::msg)?;
                s.truncate(samples.len());
                stack_samples(&s).map_err(anyhow::Error::msg)?
            } else {
                want.clone()
            };
            let c = check(got, &want, a.rtol, a.atol)
                .map_err(|e| anyhow::anyhow!("output `{name}`: {e}"))?;
            if !c.ok {
                code = 1;
            }
            report.insert(name.clone(), c);
        }
    }
    if a.json {
        let mut obj =
            serde_json::json!({ "samples": samples.len(), "seconds": elapsed.as_secs_f64() });
        if let Some(c) = compile_secs {
            obj["compile_seconds"] = serde_json::json!(c);
        }
        if a.assert_outputs.is_some() {
            obj["outputs"] = serde_json::to_value(&report)?;
            obj["ok"] = serde_json::json!(code == 0);
        }
        println!("{obj}");
    } else {
        if let Some(c) = compile_secs {
            eprintln!("compiled in {:.1} ms", c * 1e3);
        }
        eprintln!(
            "ran {} samples in {:.1} ms ({:.2} ms/sample)",
            samples.len(),
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e3 / samples.len() as f64
        );
        for (name, c) in &report {
            eprintln!(
                "{name}: {} (max abs err {:.3e}, max rel err {:.3e}, rtol {}, atol {})",
                if c.ok { "ok" } else { "MISMATCH" },
                c.max_abs_err,
                c.max_rel_err,
                a.rtol,
                a.atol
            );
        }
    }
    Ok(code)
}
