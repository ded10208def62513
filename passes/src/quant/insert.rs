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
use crate::calibrate::Ranges;
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

fn node_label(g: &Graph, n: NodeId) -> String {
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

/// Inserts QDQ around every quantizable op whose values have calibrated ranges.
pub fn insert_qdq(
    g: &mut Graph,
    ranges: &Ranges,
    scheme: &QuantScheme,
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

    // Parameters of every activation value that gets quantized.
    let mut params: BTreeMap<Value, Quant> = BTreeMap::new();
    let want = |v: Value, params: &mut BTreeMap<Value, Quant>| {
        if let Some(&(lo, hi)) = ranges.get(&v) {
            params.entry(v).or_insert_with(|| activation_params(lo, hi, scheme.activations));
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
        want(u.output, &mut params);
    }
    for &t in &tables {
        want(g.operand(t, 0).expect("checked"), &mut params);
        want(g.result(t), &mut params);
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
                let wv = dq_const(g, &format!("{label}.weight_q"), wq, wp.clone())?;
                g.set_operand(head, 1, Some(wv))?;
                let s_in = params
                    .get(&ops[0].expect("activation"))
                    .and_then(|q| q.per_tensor())
                    .map(|p| p.0);
                let bias = match (&op, u.fused_bias) {
                    (Op::MatMul, Some((add, b))) => Some((add, b)),
                    (Op::Conv(_) | Op::Gemm(_), _) => {
                        ops.get(2).copied().flatten().map(|b| (head, b))
                    }
                    _ => None,
                };
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
        let qty = TensorType { dtype: scheme.activations, shape: ty.shape.clone(), quant: Some(q) };
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

/// Adds a quantized constant and its `Dequantize`, returning the float value.
fn dq_const(g: &mut Graph, name: &str, t: Tensor, q: Quant) -> Result<Value, QuantError> {
    let ty = TensorType::fixed(t.dtype, &t.shape).with_quant(q);
    let fty = TensorType::fixed(DType::F32, &t.shape);
    let c = g.add_const_typed(name, t, ty);
    Ok(g.add_op(Op::Dequantize, format!("{name}.dq"), &[c], fty)?)
}
