//! `qcc bench`: latency of one model on one backend — compile time, then warm-up runs and timed
//! runs of one sample; median and percentiles, optionally a per-layer profile.

use super::qflags::{progress, QuantFlags};
use anyhow::{bail, Context};
use clap::Args;
use qcc_ir::{interp, DType, Graph, Tensor};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::run::Backend;

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Interp => "interp",
        Backend::Cranelift => "cranelift",
        Backend::Llvm => "llvm",
    }
}

/// Time a model: compile, warm up, then run one sample `--iters` times (median, p10, p90).
/// With `--calib` the model is quantized first and its integer realization is timed.
///
/// Example: `qcc bench model.onnx --calib calib.npz --backend cranelift --threads 1 --json`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The model (`.onnx` or `.qir`).
    model: PathBuf,
    #[command(flatten)]
    q: QuantFlags,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = Backend::Cranelift)]
    backend: Backend,
    /// Threads inside one run (the native backends split kernels' rows across them).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs (default: as many as fit in about 2 s, at least 10).
    #[arg(long)]
    iters: Option<usize>,
    /// Untimed runs first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// The sample to run: the first of this `.npz` (default: deterministic synthetic inputs).
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Bind an ONNX input's shape, e.g. `input_ids=1,128` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=D,D,...")]
    input_shape: Vec<String>,
    /// Per-layer time table (interpreter: per node; native backends: per kernel step, median of 5
    /// runs).
    #[arg(long)]
    profile: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Deterministic inputs in the graph's input types: floats in [−1, 1), integers 0 (valid token
/// ids and masks for every vocabulary).
fn synthetic_inputs(g: &Graph) -> anyhow::Result<Vec<Tensor>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::new();
    for &id in g.inputs() {
        let node = g.node(id);
        let ty = &node.results[0];
        let shape = ty.shape.as_fixed().with_context(|| {
            format!(
                "input `{}` has shape {}: bind it with --input-shape or give --inputs",
                node.name, ty.shape
            )
        })?;
        let n: usize = shape.iter().product();
        let t = match ty.dtype {
            DType::F32 => Tensor::f32(
                &shape,
                (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                    })
                    .collect(),
            ),
            d => Tensor::zeros(d, shape.clone())?,
        };
        out.push(t);
    }
    Ok(out)
}

/// A compiled model behind one `run` call.
enum Engine {
    Interp(Graph),
    Native(Box<dyn qcc::engine::NativeModel>),
}

impl Engine {
    fn run(&self, inputs: &[Tensor]) -> anyhow::Result<Vec<Tensor>> {
        Ok(match self {
            Engine::Interp(g) => interp::run(g, inputs)?,
            Engine::Native(m) => m.run(inputs)?,
        })
    }
}

/// Median and the p-th percentiles of durations in ms.
fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_ms.len() - 1) as f64 * p).round() as usize;
    sorted_ms[i.min(sorted_ms.len() - 1)]
}

/// Per-node time of interpreter runs: the gaps between successive value observations.
fn interp_profile(g: &Graph, inputs: &[Tensor], runs: usize) -> anyhow::Result<Vec<ProfileRow>> {
    let mut per: HashMap<qcc_ir::NodeId, Vec<f64>> = HashMap::new();
    for _ in 0..runs.max(1) {
        let mut last = Instant::now();
        interp::run_observed(g, inputs, &mut |v, _| {
            let now = Instant::now();
            per.entry(v.node).or_default().push((now - last).as_secs_f64() * 1e3);
            last = now;
        })?;
    }
    let mut rows: Vec<ProfileRow> = per
        .into_iter()
        .filter(|(id, _)| !matches!(g.node(*id).op, qcc_ir::Op::Input | qcc_ir::Op::Constant(_)))
        .map(|(id, mut ts)| {
            ts.sort_by(f64::total_cmp);
            let node = g.node(id);
            ProfileRow {
                node: node.name.clone(),
                ops: node.op.name().to_string(),
                ms: percentile(&ts, 0.5),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    Ok(rows)
}

struct ProfileRow {
    node: String,
    ops: String,
    ms: f64,
}

pub fn run(a: BenchArgs) -> anyhow::Result<i32> {
    let opts = qcc_onnx::ImportOptions {
        input_shapes: super::import::parse_input_shapes(&a.input_shape)?,
        ..Default::default()
    };
    let mut g = qcc::model::load_model_with(&a.model, &opts)?;
    let quantized = a.q.calib.is_some();
    if quantized {
        g = a.q.quantize(&g)?.int;
    } else if g.phase() < qcc_ir::Phase::Calibrated {
        // A float model; an already quantized graph (`qcc quantize -o x.qir`) is taken as is.
        qcc::quantize::canonicalize(&mut g)?;
    }
    let inputs = match &a.inputs {
        Some(p) => {
            let arrays = qcc::data::read_npz(p)?;
            let samples = qcc::model::bind_samples(&g, &arrays, &p.display().to_string())?;
            samples.into_iter().next().with_context(|| format!("{}: no samples", p.display()))?
        }
        None => synthetic_inputs(&g)?,
    };
    let t0 = Instant::now();
    let engine = match a.backend.native() {
        None => Engine::Interp(g.clone()),
        Some(native) => Engine::Native(
            qcc::engine::compile_native(native, &g, a.threads)
                .with_context(|| format!("compiling {}", a.model.display()))?,
        ),
    };
    let compile = t0.elapsed();
    for _ in 0..a.warmup {
        engine.run(&inputs)?;
    }
    let iters = match a.iters {
        Some(0) => bail!("--iters must be at least 1"),
        Some(n) => n,
        None => {
            let t = Instant::now();
            engine.run(&inputs)?;
            let one = t.elapsed().max(Duration::from_micros(1));
            ((2.0 / one.as_secs_f64()) as usize).clamp(10, 100_000)
        }
    };
    let pb = progress(iters as u64, "benchmarking");
    let mut ms = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let out = engine.run(&inputs)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(out);
        pb.inc(1);
    }
    pb.finish_and_clear();
    ms.sort_by(f64::total_cmp);
    let (median, p10, p90) = (percentile(&ms, 0.5), percentile(&ms, 0.1), percentile(&ms, 0.9));
    let profile = if a.profile {
        match &engine {
            Engine::Interp(g) => Some(interp_profile(g, &inputs, 5)?),
            Engine::Native(m) => {
                let mut rows: Vec<ProfileRow> = m
                    .profile(&inputs, 5)?
                    .into_iter()
                    .map(|(node, ops, kernel, ms)| ProfileRow {
                        node,
                        ops: format!("{ops} [{kernel}]"),
                        ms,
                    })
                    .collect();
                rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
                Some(rows)
            }
        }
    } else {
        None
    };
    if a.json {
        let mut obj = json!({
            "model": a.model.display().to_string(),
            "backend": backend_name(a.backend),
            "quantized": quantized,
            "threads": a.threads,
            "compile_ms": compile.as_secs_f64() * 1e3,
            "median_ms": median,
            "p10_ms": p10,
            "p90_ms": p90,
            "iters": iters,
        });
        if let Some(rows) = &profile {
            obj["profile"] = rows
                .iter()
                .map(|r| json!({"node": r.node, "ops": r.ops, "ms": r.ms}))
                .collect::<Vec<_>>()
                .into();
        }
        println!("{obj}");
    } else {
        println!(
            "{} on {} ({}, {} thread{}): compile {:.1} ms; median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms over {iters} runs",
            a.model.display(),
            backend_name(a.backend),
            if quantized { "int8" } else { "fp32" },
            a.threads,
            if a.threads == 1 { "" } else { "s" },
            compile.as_secs_f64() * 1e3,
            median,
            p10,
            p90
        );
        if let Some(rows) = &profile {
            let total: f64 = rows.iter().map(|r| r.ms).sum::<f64>().max(1e-12);
            println!("{:>9}  {:>6}  {:<32}  ops", "ms", "share", "node");
            for r in rows {
                println!(
                    "{:>9.4}  {:>5.1}%  {:<32}  {}",
                    r.ms,
                    100.0 * r.ms / total,
                    r.node,
                    r.ops
                );
            }
        }
    }
    Ok(0)
}
