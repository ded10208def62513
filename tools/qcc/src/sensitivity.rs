//! Per-layer sensitivity and automatic mixed precision.
//!
//! * **Sensitivity** of a layer: the SQNR of the model's outputs (QDQ simulation against fp32)
//!   when only that layer is quantized; low SQNR = sensitive.
//! * **Auto mixed precision** (`--auto-mixed --min-sqnr DB`): layers are ranked by the noise
//!   they add alone (10^(−SQNR/10)) per unit of cost (multiply-accumulates), the shortest prefix
//!   of that ranking kept in higher precision that meets the target is found by bisection, then
//!   each kept layer, most expensive first (at most 16), goes back to 8 bits when the target still
//!   holds without it. The higher precision is float, or with [`Fallback::Wide`] first i16 (the
//!   model stays integer), and float only when even every ranked layer at i16 misses the target.
//!   The figure checked is the integer realization's output SQNR on the given samples.

use crate::metrics::Fidelity;
use crate::quantize::{Prepared, QuantizeConfig, QuantizeError, QuantizedModel};
use qcc_ir::{interp, Graph, NodeId, Op, Tensor};
use qcc_passes::quant::insert::node_label;
use serde::Serialize;

/// At most this many kept layers are tried again in the pruning step.
const MAX_PRUNE_TRIALS: usize = 16;

/// How sensitive one layer is.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSensitivity {
    /// Node label (name, or `Op#index`).
    pub node: String,
    /// Op name.
    pub op: String,
    /// Output SQNR (dB, worst output) when only this layer is quantized.
    pub sqnr_db: f64,
    /// Multiply-accumulates (or elements for elementwise ops) per sample.
    pub cost: u64,
}

/// What auto mixed precision keeps sensitive layers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// Float (the layer is excluded from quantization).
    #[default]
    Float,
    /// i16 results (the layer stays integer); float when i16 cannot reach the target.
    Wide,
}

/// What auto mixed precision chose.
#[derive(Debug, Clone, Serialize)]
pub struct AutoMixedReport {
    /// The target (dB).
    pub min_sqnr_db: f64,
    /// Output SQNR (dB, worst output) of the chosen model, integer realization.
    pub sqnr_db: f64,
    /// Output SQNR with every layer quantized.
    pub all_quantized_sqnr_db: f64,
    /// Layers kept in float.
    pub kept_float: Vec<String>,
    /// Layers whose results are kept at i16.
    pub kept_wide: Vec<String>,
    /// True when the target was met.
    pub met: bool,
    /// Models built and evaluated during the search.
    pub evaluations: usize,
}

/// The lowest output SQNR (dB) of `test` against `reference` over `samples`.
pub fn output_sqnr(
    reference: &Graph,
    test: &Graph,
    samples: &[Vec<Tensor>],
) -> Result<f64, interp::InterpError> {
    let refs: Vec<Vec<Tensor>> =
        samples.iter().map(|s| interp::run(reference, s)).collect::<Result<_, _>>()?;
    sqnr_against(&refs, test, samples)
}

fn sqnr_against(
    refs: &[Vec<Tensor>],
    test: &Graph,
    samples: &[Vec<Tensor>],
) -> Result<f64, interp::InterpError> {
    use rayon::prelude::*;
    let outs: Vec<Vec<Tensor>> =
        samples.par_iter().map(|s| interp::run(test, s)).collect::<Result<_, _>>()?;
    let n = refs.first().map_or(0, Vec::len);
    let mut worst = f64::INFINITY;
    for i in 0..n {
        let mut f = Fidelity::default();
        for (r, t) in refs.iter().zip(&outs) {
            f.add(&r[i], &t[i]);
        }
        worst = worst.min(f.summary().sqnr_db);
    }
    Ok(worst)
}

/// Multiply-accumulates of a node per sample (elements of its output for ops without weights).
pub fn node_cost(g: &Graph, n: NodeId) -> u64 {
    let out = g.results(n).first().and_then(|&v| g.value_type(v).shape.numel()).unwrap_or(0);
    let w = g.operand(n, 1).and_then(|v| g.value_type(v).shape.as_fixed());
    let inner = match (&g.node(n).op, w) {
        (Op::Conv(_), Some(w)) if w.len() > 1 => w[1..].iter().product::<usize>(),
        (Op::MatMul, Some(w)) if w.len() >= 2 => w[w.len() - 2],
        (Op::Gemm(a), Some(w)) if w.len() == 2 => {
            if a.trans_b {
                w[1]
            } else {
                w[0]
            }
        }
        _ => 1,
    };
    (out * inner) as u64
}

/// The nodes to widen so that layer `label`'s quantized result is i16: the layer and the Relu/Clip
/// chain that only it feeds (the quantizer fuses those into the layer's requantization, so the
/// value it quantizes is the last one's).
pub fn widened(g: &Graph, label: &str) -> Vec<String> {
    let mut out = vec![label.to_string()];
    let Some(mut n) = g.node_ids().into_iter().find(|&n| node_label(g, n) == label) else {
        return out;
    };
    loop {
        let res = g.results(n);
        let [v] = res.as_slice() else { break };
        if g.outputs().iter().any(|(_, o)| o == v) {
            break;
        }
        match g.users(*v).as_slice() {
            [(u, 0)] if matches!(g.node(*u).op, Op::Relu | Op::Clip) => {
                n = *u;
                out.push(node_label(g, n));
            }
            _ => break,
        }
    }
    out
}

/// Sensitivity of every layer that `cfg` quantizes, measured on `samples`, in graph order.
pub fn sensitivity(
    p: &Prepared,
    cfg: &QuantizeConfig,
    samples: &[Vec<Tensor>],
) -> Result<Vec<LayerSensitivity>, QuantizeError> {
    let full = p.build(cfg)?;
    let refs: Vec<Vec<Tensor>> =
        samples.iter().map(|s| interp::run(&p.float, s)).collect::<Result<_, _>>()?;
    let by_label: std::collections::HashMap<String, NodeId> =
        p.float.node_ids().into_iter().map(|n| (node_label(&p.float, n), n)).collect();
    let mut out = Vec::new();
    for label in &full.report.quantized {
        let Some(&n) = by_label.get(label) else { continue };
        let mut c = cfg.clone();
        c.scheme.only = vec![label.clone()];
        // One layer alone: its error is what is measured, without a bias correction round.
        c.bias_rounds = 0;
        let q = p.build(&c)?;
        let sqnr_db = sqnr_against(&refs, &q.qdq, samples)?;
        out.push(LayerSensitivity {
            node: label.clone(),
            op: p.float.node(n).op.name().to_string(),
            sqnr_db,
            cost: node_cost(&p.float, n),
        });
    }
    Ok(out)
}

/// Keeps the fewest, cheapest layers in float (or at i16, `fallback`) until the integer
/// realization's output SQNR on `samples` reaches `min_sqnr_db` (see the module doc). `sens`
/// comes from [`sensitivity`].
pub fn auto_mixed(
    p: &Prepared,
    cfg: &QuantizeConfig,
    samples: &[Vec<Tensor>],
    sens: &[LayerSensitivity],
    min_sqnr_db: f64,
    fallback: Fallback,
) -> Result<(QuantizedModel, AutoMixedReport), QuantizeError> {
    let refs: Vec<Vec<Tensor>> =
        samples.iter().map(|s| interp::run(&p.float, s)).collect::<Result<_, _>>()?;
    if fallback == Fallback::Wide {
        let (q, mut r) = search(p, cfg, samples, &refs, sens, min_sqnr_db, Fallback::Wide)?;
        if r.met {
            return Ok((q, r));
        }
        let evaluations = r.evaluations;
        let (q, r2) = search(p, cfg, samples, &refs, sens, min_sqnr_db, Fallback::Float)?;
        r = AutoMixedReport { evaluations: evaluations + r2.evaluations, ..r2 };
        return Ok((q, r));
    }
    search(p, cfg, samples, &refs, sens, min_sqnr_db, fallback)
}

/// The ranking, bisection and pruning of [`auto_mixed`] with one kind of higher precision.
fn search(
    p: &Prepared,
    cfg: &QuantizeConfig,
    samples: &[Vec<Tensor>],
    refs: &[Vec<Tensor>],
    sens: &[LayerSensitivity],
    min_sqnr_db: f64,
    fallback: Fallback,
) -> Result<(QuantizedModel, AutoMixedReport), QuantizeError> {
    let kept = |r: AutoMixedReport, layers: Vec<String>| match fallback {
        Fallback::Float => AutoMixedReport { kept_float: layers, ..r },
        Fallback::Wide => AutoMixedReport { kept_wide: layers, ..r },
    };
    let evaluations = std::cell::Cell::new(0usize);
    let eval = |keep: &[String]| -> Result<(QuantizedModel, f64), QuantizeError> {
        let mut c = cfg.clone();
        match fallback {
            Fallback::Float => c.scheme.exclude.extend(keep.iter().cloned()),
            Fallback::Wide => c.scheme.wide.extend(keep.iter().flat_map(|l| widened(&p.float, l))),
        }
        let q = p.build(&c)?;
        let db = sqnr_against(refs, &q.int, samples)?;
        evaluations.set(evaluations.get() + 1);
        Ok((q, db))
    };
    // Rank: noise added alone per unit of cost, largest first.
    let mut ranked: Vec<&LayerSensitivity> = sens.iter().collect();
    let score = |l: &LayerSensitivity| 10f64.powf(-l.sqnr_db / 10.0) / (l.cost.max(1) as f64);
    ranked.sort_by(|a, b| score(b).total_cmp(&score(a)));
    let names: Vec<String> = ranked.iter().map(|l| l.node.clone()).collect();
    let (all_q, all_db) = eval(&[])?;
    if all_db >= min_sqnr_db {
        let report = AutoMixedReport {
            min_sqnr_db,
            sqnr_db: all_db,
            all_quantized_sqnr_db: all_db,
            kept_float: Vec::new(),
            kept_wide: Vec::new(),
            met: true,
            evaluations: evaluations.get(),
        };
        return Ok((all_q, report));
    }
    // Bisection on the prefix length (more layers in float ⇒ higher SQNR, nearly always).
    let (mut lo, mut hi) = (0usize, names.len());
    let mut best = eval(&names)?;
    if best.1 < min_sqnr_db {
        let report = AutoMixedReport {
            min_sqnr_db,
            sqnr_db: best.1,
            all_quantized_sqnr_db: all_db,
            kept_float: Vec::new(),
            kept_wide: Vec::new(),
            met: false,
            evaluations: evaluations.get(),
        };
        return Ok((best.0, kept(report, names)));
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let r = eval(&names[..mid])?;
        if r.1 >= min_sqnr_db {
            hi = mid;
            best = r;
        } else {
            lo = mid;
        }
    }
    // Prune: quantize again each kept layer, most expensive first, when the target holds.
    let mut keep: Vec<String> = names[..hi].to_vec();
    let cost_of = |n: &str| sens.iter().find(|l| l.node == n).map_or(0, |l| l.cost);
    let mut order = keep.clone();
    order.sort_by_key(|n| std::cmp::Reverse(cost_of(n)));
    order.truncate(MAX_PRUNE_TRIALS);
    for name in order {
        if keep.len() <= 1 {
            break;
        }
        let trial: Vec<String> = keep.iter().filter(|k| **k != name).cloned().collect();
        let r = eval(&trial)?;
        if r.1 >= min_sqnr_db {
            keep = trial;
            best = r;
        }
    }
    let report = AutoMixedReport {
        min_sqnr_db,
        sqnr_db: best.1,
        all_quantized_sqnr_db: all_db,
        kept_float: Vec::new(),
        kept_wide: Vec::new(),
        met: true,
        evaluations: evaluations.get(),
    };
    Ok((best.0, kept(report, keep)))
}
