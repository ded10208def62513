//! Inserting quantize/dequantize pairs (QDQ form): the float simulation of the quantized model.
//!
//! Each quantizable op (see [`super::scheme::role`]) becomes a *unit*: its activation inputs and
//! its output pass through `Quantize → Dequantize` with parameters from the calibrated ranges,
//! its weights become integer constants (per-channel symmetric by default) followed by
//! `Dequantize`, and its bias an i32 constant at scale `s_in · s_w`. A Relu/Clip that is the
//! only user of a Conv/MatMul/Gemm/Add joins its unit (no QDQ in between), and so does a
//! constant bias `Add` after a MatMul. The graph still computes in float on the interpreter;
//! [`super::realize`] turns units into integer ops.

use super::params::{activation_params, quantize_bias, quantize_weight, Granularity};
use super::scheme::{role, QuantScheme, Role, WeightGranularity};
use crate::calibrate::{ChannelMeans, Ranges};
use qcc_ir::{DType, Graph, GraphError, NodeId, Op, Quant, Tensor, TensorType, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Errors while inserting quantization.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// A graph operation failed (a bug in the pass; the message names it).
    #[error("graph: {0}")]
    Graph(#[from] GraphError),
    /// A constant could not be quantized.
    #[error("node `{node}` ({op}): {message}")]
    Weight {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// The scheme is not valid.
    #[error("{0}")]
    Scheme(String),
}

/// What the insertion did, by node name.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct QuantReport {
    /// Nodes that were quantized (units and tables).
    pub quantized: Vec<String>,
    /// Quantizable nodes left in float, with the reason.
    pub kept_float: Vec<(String, String)>,
}

/// A node's name, or `Op#index` when it has none (the names of [`QuantReport`]).
pub fn node_label(g: &Graph, n: NodeId) -> String {
    let node = g.node(n);
    if node.name.is_empty() {
        format!("{}#{}", node.op.name(), n.index())
    } else {
        node.name.clone()
    }
}

/// The single user of a value, if it has exactly one and is not a graph output.
fn sole_user(g: &Graph, v: Value) -> Option<NodeId> {
    let users = g.users(v);
    if users.len() == 1 && !g.outputs().iter().any(|(_, o)| *o == v) {
        Some(users[0].0)
    } else {
        None
    }
}

fn is_const_f32(g: &Graph, v: Option<Value>) -> Option<&Tensor> {
    let t = g.const_value(v?)?;
    (t.dtype == DType::F32).then_some(t.as_ref())
}

/// A unit: the compute node, the nodes fused after it, and its output value.
struct Unit {
    head: NodeId,
    output: Value,
    /// Constant bias of a fused `Add` after a MatMul (the Add node, the bias value).
    fused_bias: Option<(NodeId, Value)>,
}

/// Dequantized values of a per-tensor or per-axis quantized weight (`None` for blocked).
fn dequant_weight(wq: &Tensor, q: &Quant) -> Option<Vec<f32>> {
    let v = wq.to_i64_vec()?;
    match q {
        Quant::Tensor { scale, zero_point } => Some(
            v.iter().map(|&x| qcc_ir::qmath::dequantize(x as i32, *scale, *zero_point)).collect(),
        ),
        Quant::Axis { axis, scales, zero_points } => {
            let inner: usize = wq.shape.get(axis + 1..)?.iter().product();
            let c = scales.len();
            Some(
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let ch = (i / inner.max(1)) % c;
                        qcc_ir::qmath::dequantize(x as i32, scales[ch], zero_points[ch])
                    })
                    .collect(),
            )
        }
        Quant::Block { .. } => None,
    }
}

/// `ΔW · E[x]` per output channel: the mean shift that quantizing `w` causes, given the mean of
/// each input channel. `None` when shapes do not line up.
fn weight_error_shift(
    op: &Op,
    w: &Tensor,
    wq: &Tensor,
    q: &Quant,
    mean: &[f32],
) -> Option<Vec<f32>> {
    let wf = w.as_f32().ok()?;
    let wd = dequant_weight(wq, q)?;
    let delta: Vec<f64> = wd.iter().zip(wf).map(|(&a, &b)| a as f64 - b as f64).collect();
    let s = &w.shape;
    let out = match op {
        Op::Conv(_) => {
            let (o_n, cg) = (s[0], s[1]);
            let ksz: usize = s[2..].iter().product();
            if cg == 0
                || !mean.len().is_multiple_of(cg)
                || !o_n.is_multiple_of((mean.len() / cg).max(1))
            {
                return None;
            }
            let per_group = o_n / (mean.len() / cg);
            (0..o_n)
                .map(|o| {
                    let base = (o / per_group) * cg;
                    let mut acc = 0.0;
                    for c in 0..cg {
                        let m = mean[base + c] as f64;
                        for k in 0..ksz {
                            acc += delta[(o * cg + c) * ksz + k] * m;
                        }
                    }
                    acc as f32
                })
                .collect()
        }
        Op::Gemm(a) if a.trans_b => {
            let (n, k) = (s[0], s[1]);
            if mean.len() != k {
                return None;
            }
            (0..n)
                .map(|j| (0..k).map(|i| delta[j * k + i] * mean[i] as f64).sum::<f64>() as f32)
                .collect()
        }
        _ => {
            let (k, n) = (s[0], s[1]);
            if mean.len() != k {
                return None;
            }
            (0..n)
                .map(|j| (0..k).map(|i| delta[i * n + j] * mean[i] as f64).sum::<f64>() as f32)
                .collect()
        }
    };
    Some(out)
}

/// Inserts QDQ around every quantizable op whose values have calibrated ranges. `means` (per
/// input channel, from calibration) drives bias correction when the scheme asks for it.
pub fn insert_qdq(
    g: &mut Graph,
    ranges: &Ranges,
    means: &ChannelMeans,
    scheme: &QuantScheme,
) -> Result<QuantReport, QuantError> {
    insert_qdq_with_offsets(g, ranges, means, scheme, &BiasOffsets::new())
}

/// Per-channel amounts added to the float bias of Conv/Gemm/MatMul(+Add) units before it is
/// quantized, by node label (empirical bias correction, see [`super::bias_correct`]).
pub type BiasOffsets = BTreeMap<String, Vec<f32>>;

/// [`insert_qdq`], adding `offsets` to the biases of the named units (a Conv or Gemm without
/// a bias gets one; a MatMul without a fused bias `Add` is left alone).
pub fn insert_qdq_with_offsets(
    g: &mut Graph,
    ranges: &Ranges,
    means: &ChannelMeans,
    scheme: &QuantScheme,
    offsets: &BiasOffsets,
) -> Result<QuantReport, QuantError> {
    if !matches!(scheme.activations, DType::U8 | DType::I8 | DType::I16) {
        return Err(QuantError::Scheme(format!(
            "activations must be u8, i8 or i16, not {}",
            scheme.activations
        )));
    }
    if !matches!(scheme.weights, DType::I8 | DType::I4) {
        return Err(QuantError::Scheme(format!(
            "weights must be i8 or i4, not {}",
            scheme.weights
        )));
    }
    let mut report = QuantReport::default();
    let order = g.topo_order()?;
    let has_range = |v: Value| ranges.contains_key(&v);
    let mut absorbed: BTreeSet<NodeId> = BTreeSet::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut tables: Vec<NodeId> = Vec::new();

    for &n in &order {
        if absorbed.contains(&n) {
            continue;
        }
        let op = g.node(n).op.clone();
        let r = role(&op);
        if !matches!(r, Role::Compute | Role::Table) {
            continue;
        }
        if scheme.excludes(g, n) {
            report.kept_float.push((node_label(g, n), "excluded".into()));
            continue;
        }
        if !scheme.only.is_empty() && !scheme.only.contains(&node_label(g, n)) {
            report.kept_float.push((node_label(g, n), "not selected".into()));
            continue;
        }
        let ops = g.operands(n);
        let out = g.result(n);
        if g.value_type(out).dtype != DType::F32 || !has_range(out) {
            report.kept_float.push((node_label(g, n), "no calibrated range for its output".into()));
            continue;
        }
        let act = |v: Option<Value>| v.is_some_and(|v| g.const_value(v).is_none() && has_range(v));
        let eligible = match &op {
            Op::Conv(_) => {
                act(ops[0])
                    && is_const_f32(g, ops[1]).is_some()
                    && (ops.get(2).copied().flatten().is_none()
                        || is_const_f32(g, ops[2]).is_some())
            }
            Op::MatMul => {
                act(ops[0])
                    && (act(ops[1]) || is_const_f32(g, ops[1]).is_some_and(|w| w.rank() == 2))
            }
            Op::Gemm(a) => {
                a.alpha == 1.0
                    && a.beta == 1.0
                    && !a.trans_a
                    && act(ops[0])
                    && is_const_f32(g, ops[1]).is_some()
                    && (ops.get(2).copied().flatten().is_none()
                        || is_const_f32(g, ops[2]).is_some_and(|c| c.rank() == 1))
            }
            Op::Add | Op::Mul => {
                ops.len() == 2
                    && ops.iter().all(|&o| act(o) || is_const_f32(g, o).is_some())
                    && ops.iter().any(|&o| act(o))
            }
            Op::Concat(_) => ops.iter().all(|&o| act(o)),
            Op::Clip => {
                act(ops[0]) && ops[1..].iter().all(|&o| o.is_none() || is_const_f32(g, o).is_some())
            }
            _ => act(ops[0]) && ops.len() == 1,
        };
        if !eligible {
            report.kept_float.push((node_label(g, n), "operands not quantizable (no range, non-constant weight or unsupported attributes)".into()));
            continue;
        }
        if r == Role::Table {
            tables.push(n);
            continue;
        }
        let mut unit = Unit { head: n, output: out, fused_bias: None };
        // MatMul + constant bias Add.
        if matches!(op, Op::MatMul) && is_const_f32(g, ops[1]).is_some() {
            if let Some(u) = sole_user(g, unit.output) {
                let uo = g.operands(u);
                let n_out = g.const_value(ops[1].expect("weight")).map(|w| w.shape[1]);
                if matches!(g.node(u).op, Op::Add) && !scheme.excludes(g, u) {
                    let other = if uo[0] == Some(unit.output) { uo[1] } else { uo[0] };
                    if let Some(b) = is_const_f32(g, other) {
                        if Some(b.numel()) == n_out
                            && b.shape.last().copied() == n_out
                            && has_range(g.result(u))
                        {
                            unit.fused_bias = Some((u, other.expect("bias")));
                            absorbed.insert(u);
                            unit.output = g.result(u);
                        }
                    }
                }
            }
        }
        // Relu / Clip(const) as the only user.
        if matches!(op, Op::Conv(_) | Op::MatMul | Op::Gemm(_) | Op::Add) {
            if let Some(u) = sole_user(g, unit.output) {
                let uo = g.operands(u);
                let clip_ok = matches!(g.node(u).op, Op::Clip)
                    && uo[1..].iter().all(|&o| o.is_none() || is_const_f32(g, o).is_some());
                if (matches!(g.node(u).op, Op::Relu) || clip_ok)
                    && !scheme.excludes(g, u)
                    && has_range(g.result(u))
                {
                    absorbed.insert(u);
                    unit.output = g.result(u);
                }
            }
        }
        units.push(unit);
    }

    // With float outputs, an Add/Mul/pool/Concat unit or a table whose result no quantized op
    // reads would compute in float on dequantized inputs anyway (only Conv/MatMul/Gemm can
    // dequantize an accumulator): quantizing its inputs only adds rounding. Drop such units
    // until none is left (dropping one can orphan its producers).
    if scheme.float_outputs {
        let head_inputs = |g: &Graph, n: NodeId| -> Vec<Value> {
            let ops = g.operands(n);
            match g.node(n).op {
                Op::Conv(_) | Op::Gemm(_) => ops[0].into_iter().collect(),
                _ => {
                    ops.iter().flatten().copied().filter(|&v| g.const_value(v).is_none()).collect()
                }
            }
        };
        loop {
            let consumed: BTreeSet<Value> = units
                .iter()
                .map(|u| u.head)
                .chain(tables.iter().copied())
                .flat_map(|n| head_inputs(g, n))
                .collect();
            let (nu, nt) = (units.len(), tables.len());
            let reason = "its result is only read by float ops (no integer op to feed)";
            units.retain(|u| {
                let keep = matches!(g.node(u.head).op, Op::Conv(_) | Op::MatMul | Op::Gemm(_))
                    || feeds_quantized(g, u.output, &consumed, scheme);
                if !keep {
                    report.kept_float.push((node_label(g, u.head), reason.into()));
                }
                keep
            });
            tables.retain(|&t| {
                let keep = feeds_quantized(g, g.result(t), &consumed, scheme);
                if !keep {
                    report.kept_float.push((node_label(g, t), reason.into()));
                }
                keep
            });
            if units.len() == nu && tables.len() == nt {
                break;
            }
        }
    }

    // Parameters of every activation value that gets quantized.
    let mut params: BTreeMap<Value, Quant> = BTreeMap::new();
    let want = |v: Value, params: &mut BTreeMap<Value, Quant>| {
        if let Some(&(lo, hi)) = ranges.get(&v) {
            let (lo, hi) =
                if scheme.saturation_ranges { useful_range(g, v, lo, hi) } else { (lo, hi) };
            let dt = if scheme.widens(g, v.node) { DType::I16 } else { scheme.activations };
            params.entry(v).or_insert_with(|| activation_params(lo, hi, dt));
        }
    };
    for u in &units {
        let ops = g.operands(u.head);
        let acts: Vec<Value> = match g.node(u.head).op {
            Op::Conv(_) | Op::Gemm(_) => vec![ops[0].expect("checked")],
            _ => ops.iter().flatten().copied().filter(|&v| g.const_value(v).is_none()).collect(),
        };
        for v in acts {
            want(v, &mut params);
        }
    }
    for &t in &tables {
        want(g.operand(t, 0).expect("checked"), &mut params);
        want(g.result(t), &mut params);
    }
    // A unit's output is quantized when a quantized op reads it (directly or through
    // transparent ops), or when the scheme asks for every output. Otherwise the integer
    // accumulator is dequantized straight to float: no 8-bit rounding before float ops and
    // graph outputs (ONNX Runtime's QDQ MatMul/Conv do the same).
    let consumed: BTreeSet<Value> = params.keys().copied().collect();
    for u in &units {
        if !scheme.float_outputs || feeds_quantized(g, u.output, &consumed, scheme) {
            want(u.output, &mut params);
        }
    }

    // Weights, biases and constant operands of Add/Mul.
    for u in &units {
        let head = u.head;
        let op = g.node(head).op.clone();
        let ops = g.operands(head);
        let label = node_label(g, head);
        let werr = |message: String| QuantError::Weight {
            node: label.clone(),
            op: op.name().to_string(),
            message,
        };
        match &op {
            Op::Conv(_) | Op::Gemm(_) | Op::MatMul
                if ops[1].is_some_and(|w| g.const_value(w).is_some()) =>
            {
                let w = g.const_value(ops[1].expect("weight")).expect("constant").clone();
                let (axis, k_axis) = match &op {
                    Op::Conv(_) => (0, 1),
                    Op::Gemm(a) if a.trans_b => (0, 1),
                    _ => (1, 0),
                };
                let gran = match (scheme.granularity, &op) {
                    (WeightGranularity::Tensor, _) => Granularity::Tensor,
                    (WeightGranularity::Group(size), Op::MatMul | Op::Gemm(_)) => {
                        Granularity::Group { axis: k_axis, size }
                    }
                    _ => Granularity::Channel { axis },
                };
                let (wq, wp) = quantize_weight(&w, scheme.weights, gran).map_err(werr)?;
                let wv = dq_const(g, &format!("{label}.weight_q"), wq.clone(), wp.clone())?;
                g.set_operand(head, 1, Some(wv))?;
                let s_in = params
                    .get(&ops[0].expect("activation"))
                    .and_then(|q| q.per_tensor())
                    .map(|p| p.0);
                let mut bias = match (&op, u.fused_bias) {
                    (Op::MatMul, Some((add, b))) => Some((add, b)),
                    (Op::Conv(_) | Op::Gemm(_), _) => {
                        ops.get(2).copied().flatten().map(|b| (head, b))
                    }
                    _ => None,
                };
                // Bias correction: subtract the mean shift the weight error causes.
                let shift = match means.get(&ops[0].expect("activation")) {
                    Some(m) if scheme.bias_correction => weight_error_shift(&op, &w, &wq, &wp, m),
                    _ => None,
                };
                // Plus the empirical offset, if any: `shift` is what gets subtracted.
                let shift = match (shift, offsets.get(&label)) {
                    (Some(s), Some(o)) if s.len() == o.len() => {
                        Some(s.iter().zip(o).map(|(s, o)| s - o).collect())
                    }
                    (None, Some(o)) => Some(o.iter().map(|o| -o).collect()),
                    (s, _) => s,
                };
                if let Some(shift) = shift {
                    let old = bias.map(|(_, b)| g.const_value(b).expect("constant bias").clone());
                    let base: Vec<f32> = match &old {
                        Some(t) => t.as_f32().map_err(|e| werr(e.to_string()))?.to_vec(),
                        None => vec![0.0; shift.len()],
                    };
                    if base.len() == shift.len()
                        && (bias.is_some() || matches!(op, Op::Conv(_) | Op::Gemm(_)))
                    {
                        let shape = old.as_ref().map_or(vec![shift.len()], |t| t.shape.clone());
                        let nb: Vec<f32> = base.iter().zip(&shift).map(|(b, d)| b - d).collect();
                        let bv =
                            g.add_const(format!("{label}.bias_corrected"), Tensor::f32(&shape, nb));
                        let owner = bias.map_or(head, |(owner, _)| owner);
                        match bias {
                            Some((owner, b)) => {
                                let slot = g
                                    .operands(owner)
                                    .iter()
                                    .position(|&o| o == Some(b))
                                    .expect("bias operand");
                                g.set_operand(owner, slot, Some(bv))?;
                            }
                            None => {
                                let mut all = g.operands(head);
                                all.resize(3, None);
                                all[2] = Some(bv);
                                g.set_operands(head, &all)?;
                            }
                        }
                        bias = Some((owner, bv));
                    }
                }
                // With int4 groups the bias stays float (it has no single scale per channel).
                let grouped = matches!(wp, Quant::Block { .. });
                if let (Some((owner, b)), Some(s_in), false) = (bias, s_in, grouped) {
                    let bt = g.const_value(b).expect("constant bias").clone();
                    let s_w: Vec<f32> = wp.scales().to_vec();
                    let (bq, bp) = quantize_bias(&bt, s_in, &s_w).map_err(werr)?;
                    let bv = dq_const(g, &format!("{label}.bias_q"), bq, bp)?;
                    let slot =
                        g.operands(owner).iter().position(|&o| o == Some(b)).expect("bias operand");
                    g.set_operand(owner, slot, Some(bv))?;
                }
            }
            Op::Add | Op::Mul => {
                for (slot, o) in ops.iter().enumerate() {
                    let Some(c) = o.and_then(|v| g.const_value(v)).cloned() else { continue };
                    let data = c.as_f32().map_err(|e| werr(e.to_string()))?;
                    let (lo, hi) =
                        data.iter().fold((0f32, 0f32), |(l, h), &x| (l.min(x), h.max(x)));
                    let p = activation_params(lo, hi, scheme.activations);
                    let (s, z) = p.per_tensor().expect("per-tensor");
                    let (qlo, qhi) = qcc_ir::qmath::qrange(scheme.activations);
                    let q: Vec<i64> = data
                        .iter()
                        .map(|&x| qcc_ir::qmath::quantize(x, s, z, qlo, qhi) as i64)
                        .collect();
                    let qt = Tensor::from_i64_saturating(scheme.activations, c.shape.clone(), &q)
                        .map_err(|e| werr(e.to_string()))?;
                    let cv = dq_const(g, &format!("{label}.const{slot}_q"), qt, p)?;
                    g.set_operand(head, slot, Some(cv))?;
                }
            }
            _ => {}
        }
        report.quantized.push(label);
    }
    for &t in &tables {
        report.quantized.push(node_label(g, t));
    }

    // Quantize → Dequantize after every chosen activation value.
    for (v, q) in params {
        let ty = g.value_type(v).clone();
        let label = node_label(g, v.node);
        let users = g.users(v);
        let outputs: Vec<usize> =
            g.outputs().iter().enumerate().filter(|(_, (_, o))| *o == v).map(|(i, _)| i).collect();
        let dtype = if scheme.widens(g, v.node) { DType::I16 } else { scheme.activations };
        let qty = TensorType { dtype, shape: ty.shape.clone(), quant: Some(q) };
        let qv = g.add_op(Op::Quantize, format!("{label}.q"), &[v], qty)?;
        let dq = g.add_op(Op::Dequantize, format!("{label}.dq"), &[qv], ty)?;
        for (user, slot) in users {
            g.set_operand(user, slot, Some(dq))?;
        }
        if !outputs.is_empty() {
            let mut outs = g.outputs().to_vec();
            for i in outputs {
                outs[i].1 = dq;
            }
            g.set_outputs(outs)?;
        }
    }
    Ok(report)
}

/// The part of an input's domain where a saturating op still varies: below it (and above
/// it) the op's output is constant, so quantizing those values exactly is wasted precision.
fn saturation_domain(g: &Graph, n: NodeId) -> Option<(f32, f32)> {
    match &g.node(n).op {
        Op::HardSwish => Some((-3.0, f32::INFINITY)),
        Op::HardSigmoid(a) if a.alpha > 0.0 => Some((-a.beta / a.alpha, (1.0 - a.beta) / a.alpha)),
        Op::Relu => Some((0.0, f32::INFINITY)),
        Op::Clip => {
            let bound = |slot: usize, dflt: f32| match g.operand(n, slot) {
                None => Some(dflt),
                Some(b) => g.const_value(b)?.as_f32().ok()?.first().copied(),
            };
            Some((bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?))
        }
        _ => None,
    }
}

/// The calibrated range `[lo, hi]` of `v` narrowed to the union of its users' saturation
/// domains when every user saturates (e.g. a conv output read only by HardSwish needs no
/// values below −3): exact, since the clipped values give the same outputs.
fn useful_range(g: &Graph, v: Value, lo: f32, hi: f32) -> (f32, f32) {
    let users = g.users(v);
    if users.is_empty() || g.outputs().iter().any(|(_, o)| *o == v) {
        return (lo, hi);
    }
    let mut dom: Option<(f32, f32)> = None;
    for (u, slot) in users {
        let Some(d) = (slot == 0).then(|| saturation_domain(g, u)).flatten() else {
            return (lo, hi);
        };
        dom = Some(dom.map_or(d, |(a, b)| (a.min(d.0), b.max(d.1))));
    }
    let Some((dlo, dhi)) = dom else { return (lo, hi) };
    let (nlo, nhi) = (lo.max(dlo), hi.min(dhi));
    if nlo >= nhi {
        return (lo, hi);
    }
    // A narrowed bound moves out by one 8-bit step, so the extreme code dequantizes beyond
    // the saturation point (e.g. ≤ −3 for HardSwish, whose output there is exactly 0):
    // otherwise every clipped value would come back as a small non-zero output, a bias.
    let step = (nhi - nlo) / 255.0;
    // (Zero needs no margin: it is always exact.)
    let nlo = if nlo > lo && nlo != 0.0 { (nlo - step).max(lo) } else { nlo };
    let nhi = if nhi < hi && nhi != 0.0 { (nhi + step).min(hi) } else { nhi };
    (nlo, nhi)
}

/// True when a quantized op reads `v`, directly or through transparent ops.
fn feeds_quantized(g: &Graph, v: Value, consumed: &BTreeSet<Value>, scheme: &QuantScheme) -> bool {
    if consumed.contains(&v) {
        return true;
    }
    g.users(v).into_iter().any(|(user, _)| {
        role(&g.node(user).op) == Role::Transparent
            && !scheme.excludes(g, user)
            && g.results(user).into_iter().any(|r| feeds_quantized(g, r, consumed, scheme))
    })
}

/// Adds a quantized constant and its `Dequantize`, returning the float value.
fn dq_const(g: &mut Graph, name: &str, t: Tensor, q: Quant) -> Result<Value, QuantError> {
    let ty = TensorType::fixed(t.dtype, &t.shape).with_quant(q);
    let fty = TensorType::fixed(DType::F32, &t.shape);
    let c = g.add_const_typed(name, t, ty);
    Ok(g.add_op(Op::Dequantize, format!("{name}.dq"), &[c], fty)?)
}
