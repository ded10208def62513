//! `qcc eval`: fidelity of the quantized model against fp32, per output and per layer, as text,
//! JSON or an HTML report ([`qcc::report`]).

use super::qflags::{progress, QuantFlags};
use anyhow::Context;
use clap::Args;
use qcc::metrics::{argmax_rows, Fidelity, FidelitySummary};
use qcc_ir::{interp, Graph, Op, Tensor, Value};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Evaluate a quantized model against its float version: SQNR, cosine, max error, top-1
/// agreement per output, accuracy with labels, and SQNR per layer.
///
/// Example: `qcc eval model.onnx --calib calib.npz --data eval.npz --labels labels --report r.html`
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The float model (`.onnx` or `.qir`).
    model: PathBuf,
    #[command(flatten)]
    q: QuantFlags,
    /// Evaluation inputs (`.npz`).
    #[arg(long)]
    data: PathBuf,
    /// Array of `--data` holding integer class labels (accuracy of output 0's argmax).
    #[arg(long)]
    labels: Option<String>,
    /// Only the first N evaluation samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML report (summary, per-layer SQNR chart) to this file.
    #[arg(long, value_name = "OUT.html")]
    report: Option<PathBuf>,
    /// Also run the float and integer models on this backend and compare with the
    /// interpreter (integer: must be bit-exact; float: max abs difference).
    #[arg(long, value_enum, default_value_t = super::run::Backend::Interp)]
    backend: super::run::Backend,
    /// Threads for `--backend cranelift/llvm` (rows of each kernel).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Backend vs interpreter on one model: largest absolute difference and differing elements.
#[derive(Default)]
struct BackendDiff {
    max_abs: f64,
    differing: usize,
    total: usize,
}

impl BackendDiff {
    fn add(&mut self, want: &[Tensor], got: &[Tensor]) {
        for (w, g) in want.iter().zip(got) {
            let (w, g) = (w.to_f64_vec(), g.to_f64_vec());
            self.total += w.len();
            for (x, y) in w.iter().zip(&g) {
                let d = (x - y).abs();
                if d != 0.0 || x.is_nan() != y.is_nan() {
                    self.differing += 1;
                }
                if d > self.max_abs {
                    self.max_abs = d;
                }
            }
        }
    }
    fn json(&self) -> serde_json::Value {
        json!({"max_abs_diff": self.max_abs, "differing": self.differing, "elements": self.total})
    }
}

fn summary_json(s: &FidelitySummary) -> serde_json::Value {
    json!({"sqnr_db": s.sqnr_db, "cosine_mean": s.cosine_mean, "max_abs_err": s.max_abs_err, "top1_agreement": s.top1_agreement})
}

/// Values worth a per-layer figure: float results of compute nodes.
fn layer_values(g: &Graph) -> Vec<Value> {
    let mut vs = Vec::new();
    for n in g.topo_order().unwrap_or_default() {
        let node = g.node(n);
        if matches!(node.op, Op::Input | Op::Constant(_)) {
            continue;
        }
        for v in g.results(n) {
            if g.value_type(v).dtype == qcc_ir::DType::F32 {
                vs.push(v);
            }
        }
    }
    vs
}

pub fn run(a: EvalArgs) -> anyhow::Result<i32> {
    let g = qcc::model::load_model(&a.model)?;
    let outcome = a.q.quantize_full(&g)?;
    let q = &outcome.model;
    let arrays = qcc::data::read_npz(&a.data)?;
    let mut samples = qcc::model::bind_samples(&q.float, &arrays, &a.data.display().to_string())?;
    if let Some(n) = a.limit {
        samples.truncate(n);
    }
    let labels: Option<Vec<i64>> = match &a.labels {
        None => None,
        Some(k) => {
            let (_, t) = arrays
                .iter()
                .find(|(n, _)| n == k)
                .with_context(|| format!("{}: no array `{k}`", a.data.display()))?;
            Some(t.to_i64_vec().with_context(|| format!("labels `{k}` must be integers"))?)
        }
    };
    let names: Vec<String> = q.float.outputs().iter().map(|(n, _)| n.clone()).collect();
    let mut out_int: Vec<Fidelity> = vec![Fidelity::default(); names.len()];
    let mut out_qdq: Vec<Fidelity> = vec![Fidelity::default(); names.len()];
    let layers = layer_values(&q.float);
    let mut per_layer: HashMap<Value, Fidelity> = HashMap::new();
    let (mut correct_f, mut correct_q) = (0usize, 0usize);
    let compiled = match a.backend.native() {
        None => None,
        Some(native) => {
            let cf = qcc::engine::compile_native(native, &q.float, a.threads)
                .context("compiling fp32")?;
            let ci =
                qcc::engine::compile_native(native, &q.int, a.threads).context("compiling int8")?;
            Some((cf, ci))
        }
    };
    let (mut diff_f, mut diff_i) = (BackendDiff::default(), BackendDiff::default());
    let pb = progress(samples.len() as u64, "evaluating");
    for (k, s) in samples.iter().enumerate() {
        let mut float_vals: HashMap<Value, Tensor> = HashMap::new();
        let f = interp::run_observed(&q.float, s, &mut |v, t| {
            float_vals.insert(v, t.clone());
        })?;
        let qd = interp::run_observed(&q.qdq, s, &mut |v, t| {
            if let Some(r) = float_vals.get(&v) {
                if r.shape == t.shape {
                    per_layer.entry(v).or_default().add(r, t);
                }
            }
        })?;
        let it = interp::run(&q.int, s)?;
        if let Some((cf, ci)) = &compiled {
            diff_f.add(&f, &cf.run(s)?);
            diff_i.add(&it, &ci.run(s)?);
        }
        for i in 0..names.len() {
            out_qdq[i].add(&f[i], &qd[i]);
            out_int[i].add(&f[i], &it[i]);
        }
        if let Some(l) = &labels {
            if let Some(&label) = l.get(k) {
                correct_f += (argmax_rows(&f[0]).first() == Some(&(label as usize))) as usize;
                correct_q += (argmax_rows(&it[0]).first() == Some(&(label as usize))) as usize;
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let n = samples.len().max(1) as f64;
    let mut outputs = serde_json::Map::new();
    let mut qdq_outputs = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        outputs.insert(name.clone(), summary_json(&out_int[i].summary()));
        qdq_outputs.insert(name.clone(), summary_json(&out_qdq[i].summary()));
    }
    let layer_list: Vec<serde_json::Value> = layers
        .iter()
        .filter_map(|v| {
            let s = per_layer.get(v)?.summary();
            let node = q.float.node(v.node);
            Some(json!({"node": node.name, "op": node.op.name(), "sqnr_db": s.sqnr_db}))
        })
        .collect();
    let model_name = a.model.display().to_string();
    let mut report = json!({
        "model": model_name,
        "samples": samples.len(),
        "outputs": outputs,
        "qdq_outputs": qdq_outputs,
        "layers": layer_list,
        "quantized_nodes": q.report.quantized.len(),
        "float_nodes": q.report.kept_float.len(),
        "integer_ops": q.realized.integer_ops.len(),
    });
    if compiled.is_some() {
        report["backend"] = json!({"fp32_vs_interp": diff_f.json(), "int_vs_interp": diff_i.json(), "int_bit_exact": diff_i.differing == 0});
    }
    if labels.is_some() {
        report["accuracy"] =
            json!({"fp32": correct_f as f64 / n, "quantized": correct_q as f64 / n});
    }
    if let Some(m) = report.as_object_mut() {
        m.extend(outcome.json_fields());
    }
    if let Some(path) = &a.report {
        std::fs::write(path, qcc::report::eval_html(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        println!("{report}");
    } else {
        for (i, name) in names.iter().enumerate() {
            let s = out_int[i].summary();
            println!(
                "{name}: SQNR {:.2} dB, cosine {:.5}, max abs err {:.4}, top-1 agreement {:.3} (QDQ simulation: {:.2} dB)",
                s.sqnr_db,
                s.cosine_mean,
                s.max_abs_err,
                s.top1_agreement,
                out_qdq[i].summary().sqnr_db
            );
        }
        if compiled.is_some() {
            println!(
                "backend vs interpreter: fp32 max abs diff {:.3e}; int {} ({} of {} elements differ)",
                diff_f.max_abs,
                if diff_i.differing == 0 { "bit-exact" } else { "MISMATCH" },
                diff_i.differing,
                diff_i.total
            );
        }
        if labels.is_some() {
            println!(
                "accuracy: fp32 {:.4}, quantized {:.4}",
                correct_f as f64 / n,
                correct_q as f64 / n
            );
        }
        let mut worst: BTreeMap<i64, String> = BTreeMap::new();
        for l in report["layers"].as_array().into_iter().flatten() {
            let db = l["sqnr_db"].as_f64().unwrap_or(0.0);
            worst.insert(
                (db * 1000.0) as i64,
                format!(
                    "{:>8.2} dB  {} ({})",
                    db,
                    l["node"].as_str().unwrap_or(""),
                    l["op"].as_str().unwrap_or("")
                ),
            );
        }
        outcome.print_text();
        println!("lowest per-layer SQNR (QDQ simulation vs fp32):");
        for line in worst.values().take(8) {
            println!("  {line}");
        }
    }
    Ok(if diff_i.differing == 0 { 0 } else { 1 })
}
