//! `qcc explain`: what the compiler does with every node of a quantized model — integer, float or
//! a conversion; which kernel and dot-product path; its share of a predicted cost — and the
//! warnings users most need before deploying: float islands between Dequantize and Quantize, heavy
//! ops left in float, and a quantized model predicted slower than its fp32 version.
//!
//! The cost model is deliberately simple and stated here: multiply-accumulates at the throughput
//! of the kernel that runs them, elementwise work and conversions per element. The rates are rough
//! single-core figures of this project's kernels on the development machine (`cargo bench -p
//! qcc-backend-cranelift --bench gemm`, DESIGN §5), good for ratios and not for absolute time.

use qcc_ir::{DType, Graph, NodeId, Op, Value};
use serde::Serialize;
use std::collections::HashMap;

/// The int8 dot-product instruction path a target gives integer GEMM/conv kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DotPath {
    /// x86 AVX-512 VNNI / AVX-VNNI `vpdpbusd` (u8·s8).
    Vnni,
    /// x86 without VNNI: weights widened to i16, `pmaddwd` (exact).
    Pmaddwd,
    /// AArch64 `sdot`/`usdot`.
    Sdot,
}

impl DotPath {
    /// Int8 multiply-accumulates per nanosecond on one core.
    fn int8_macs_per_ns(self) -> f64 {
        match self {
            DotPath::Vnni => 100.0,
            DotPath::Pmaddwd => 27.0,
            DotPath::Sdot => 50.0,
        }
    }
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            DotPath::Vnni => "vnni",
            DotPath::Pmaddwd => "pmaddwd",
            DotPath::Sdot => "sdot",
        }
    }
}

/// f32 multiply-accumulates per nanosecond (4-wide FMA kernels).
const F32_MACS_PER_NS: f64 = 8.0;
/// Elementwise f32 work (one transcendental or a few arithmetic ops) per nanosecond.
const F32_ELEMS_PER_NS: f64 = 1.0;
/// Integer elementwise work (requantize, table lookup, integer add) per nanosecond.
const INT_ELEMS_PER_NS: f64 = 2.0;
/// Quantize or dequantize (a pass over memory with rounding) per nanosecond.
const CONVERT_ELEMS_PER_NS: f64 = 1.0;

/// How a node computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Integer kernel.
    Integer,
    /// f32 kernel.
    Float,
    /// Quantize / Dequantize between float and integers.
    Convert,
    /// No work (views, inputs, constants).
    View,
}

/// One row of the explanation.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Node name (or `#index`).
    pub node: String,
    /// Op name.
    pub op: String,
    /// How it computes.
    pub precision: Precision,
    /// The kernel running it (`qgemm`, `gemm_f32`, …), `fused into NODE`, or `interpreter`.
    pub kernel: String,
    /// Dot-product path for integer GEMM/conv kernels.
    pub isa: Option<&'static str>,
    /// Predicted time (ns, cost model above).
    pub cost_ns: f64,
    /// Share of the model's predicted time.
    pub share: f64,
}

/// A warning of the explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// `float_island`, `float_heavy_op`, `slower_than_fp32`, `not_compiled`.
    pub kind: &'static str,
    /// The node concerned (empty for model-wide warnings).
    pub node: String,
    /// What and why, in words.
    pub message: String,
}

/// The explanation of one model.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Dot-product path assumed.
    pub dot_path: DotPath,
    /// Per node, in execution order.
    pub nodes: Vec<NodeRow>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Predicted time of the quantized model (ms, cost model).
    pub predicted_int8_ms: f64,
    /// Predicted time of the same model in fp32 (ms, cost model).
    pub predicted_fp32_ms: f64,
    /// Quantize/Dequantize nodes left in the model.
    pub conversions: usize,
    /// Elements those conversions touch per run.
    pub conversion_elements: usize,
}

fn name(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    if n.name.is_empty() {
        format!("#{}", id.index())
    } else {
        n.name.clone()
    }
}

fn numel(g: &Graph, v: Value) -> usize {
    g.value_type(v).shape.as_fixed().map_or(0, |s| s.iter().product())
}

/// Multiply-accumulates of a conv/matmul-like node (0 for others).
fn macs(g: &Graph, id: NodeId) -> usize {
    let out = numel(g, g.result(id));
    let op = &g.node(id).op;
    let operand_shape = |i: usize| {
        g.operand(id, i).and_then(|v| g.value_type(v).shape.as_fixed()).unwrap_or_default()
    };
    match op {
        Op::Conv(_) | Op::QConv(_) | Op::QLinearConv(_) | Op::ConvInteger(_) => {
            let w = operand_shape(if matches!(op, Op::QLinearConv(_)) { 3 } else { 1 });
            out * w.iter().skip(1).product::<usize>()
        }
        Op::MatMul | Op::QMatMul | Op::MatMulInteger | Op::QLinearMatMul => {
            let a = operand_shape(0);
            out * a.last().copied().unwrap_or(0)
        }
        Op::Gemm(at) => {
            let a = operand_shape(0);
            let k = if at.trans_a { a.first() } else { a.last() };
            out * k.copied().unwrap_or(0)
        }
        _ => 0,
    }
}

fn is_conversion(op: &Op) -> bool {
    matches!(
        op,
        Op::Quantize
            | Op::Dequantize
            | Op::QuantizeLinear(_)
            | Op::DequantizeLinear(_)
            | Op::DynamicQuantizeLinear
    )
}

fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Input
            | Op::Constant(_)
            | Op::Identity
            | Op::Reshape(_)
            | Op::Flatten(_)
            | Op::Squeeze
            | Op::Unsqueeze
    )
}

fn is_dequantize(op: &Op) -> bool {
    matches!(op, Op::Dequantize | Op::DequantizeLinear(_))
}

fn is_quantize(op: &Op) -> bool {
    matches!(op, Op::Quantize | Op::QuantizeLinear(_))
}

/// The producer of `v` looking through views.
fn producer(g: &Graph, mut v: Value) -> NodeId {
    while matches!(
        g.node(v.node).op,
        Op::Identity | Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze | Op::Unsqueeze
    ) {
        match g.operand(v.node, 0) {
            Some(x) => v = x,
            None => break,
        }
    }
    v.node
}

fn precision(g: &Graph, id: NodeId) -> Precision {
    let op = &g.node(id).op;
    if is_view(op) {
        Precision::View
    } else if is_conversion(op) {
        Precision::Convert
    } else if g.results(id).iter().all(|&v| g.value_type(v).dtype == DType::F32) {
        Precision::Float
    } else {
        Precision::Integer
    }
}

/// Predicted cost (ns) of a node computed as `p` on `path`.
fn cost(g: &Graph, id: NodeId, p: Precision, path: DotPath) -> f64 {
    let m = macs(g, id) as f64;
    let elems = g.results(id).iter().map(|&v| numel(g, v)).sum::<usize>() as f64;
    match p {
        Precision::View => 0.0,
        Precision::Convert => elems / CONVERT_ELEMS_PER_NS,
        Precision::Integer if m > 0.0 => m / path.int8_macs_per_ns(),
        Precision::Integer => elems / INT_ELEMS_PER_NS,
        Precision::Float if m > 0.0 => m / F32_MACS_PER_NS,
        Precision::Float => elems / F32_ELEMS_PER_NS,
    }
}

/// Predicted fp32 time (ns) of a graph: every compute node at f32 rates, conversions free (the
/// float model has none).
pub fn fp32_cost(g: &Graph) -> f64 {
    let order = g.topo_order().unwrap_or_default();
    order
        .into_iter()
        .filter(|&id| !is_view(&g.node(id).op) && !is_conversion(&g.node(id).op))
        .map(|id| {
            let m = macs(g, id) as f64;
            if m > 0.0 {
                m / F32_MACS_PER_NS
            } else {
                g.results(id).iter().map(|&v| numel(g, v)).sum::<usize>() as f64 / F32_ELEMS_PER_NS
            }
        })
        .sum()
}

/// Explains `int` (a realized or QDQ graph with known shapes); `fp32_ns` is the predicted time of
/// its float version ([`fp32_cost`]); `lowered` the backend plan when the graph compiles.
pub fn explain(
    int: &Graph,
    fp32_ns: f64,
    lowered: Result<&qcc_lowering::LoweredModel, String>,
    path: DotPath,
) -> Explanation {
    let g = int;
    // Kernel of each node from the plan: the first node of a step names it; fused ones follow.
    let mut kernel_of: HashMap<String, (String, bool)> = HashMap::new();
    if let Ok(l) = &lowered {
        for st in &l.steps {
            kernel_of.insert(st.node.clone(), (st.kernel.name().to_string(), true));
        }
    }
    let order = g.topo_order().unwrap_or_default();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let (mut conversions, mut conversion_elements) = (0usize, 0usize);
    for &id in &order {
        let op = &g.node(id).op;
        if matches!(op, Op::Input | Op::Constant(_)) {
            continue;
        }
        let p = precision(g, id);
        let n = name(g, id);
        if matches!(
            op,
            Op::Quantize | Op::Dequantize | Op::QuantizeLinear(_) | Op::DequantizeLinear(_)
        ) {
            // Constant weights dequantized at load time are not run-time conversions.
            let from_const = g.operand(id, 0).is_some_and(|v| g.const_value(v).is_some());
            if !from_const {
                conversions += 1;
                conversion_elements += numel(g, g.result(id));
            }
        }
        let kernel = match (&lowered, kernel_of.get(&n)) {
            (_, Some((k, _))) => k.clone(),
            (Ok(_), None) if p == Precision::View => "view".into(),
            (Ok(_), None) => "fused".into(),
            (Err(_), _) => "interpreter".into(),
        };
        let isa = (p == Precision::Integer && macs(g, id) > 0).then(|| path.name());
        let c = cost(g, id, p, path);
        rows.push(NodeRow {
            node: n.clone(),
            op: op.name().into(),
            precision: p,
            kernel,
            isa,
            cost_ns: c,
            share: 0.0,
        });
        // A float compute node fed by Dequantize and feeding Quantize: a float island.
        if p == Precision::Float {
            let ins: Vec<NodeId> = g
                .operands(id)
                .into_iter()
                .flatten()
                .filter(|&v| g.const_value(v).is_none())
                .map(|v| producer(g, v))
                .collect();
            let fed_by_dq = !ins.is_empty() && ins.iter().all(|&p| is_dequantize(&g.node(p).op));
            let users = g.users(g.result(id));
            let feeds_q =
                !users.is_empty() && users.iter().all(|(u, _)| is_quantize(&g.node(*u).op));
            if fed_by_dq && feeds_q {
                warnings.push(Warning {
                    kind: "float_island",
                    node: n.clone(),
                    message: format!(
                        "float island: `{}` runs in f32 between Dequantize and Quantize ({} conversions of {} elements around it); it has no integer form here",
                        op.name(),
                        ins.len() + users.len(),
                        numel(g, g.result(id))
                    ),
                });
            } else if macs(g, id) > 0 {
                warnings.push(Warning {
                    kind: "float_heavy_op",
                    node: n.clone(),
                    message: format!(
                        "`{}` stayed in f32 ({} MACs): excluded, or its operands are not quantized",
                        op.name(),
                        macs(g, id)
                    ),
                });
            }
        }
    }
    let total: f64 = rows.iter().map(|r| r.cost_ns).sum();
    for r in &mut rows {
        r.share = if total > 0.0 { r.cost_ns / total } else { 0.0 };
    }
    if let Err(e) = &lowered {
        warnings.push(Warning {
            kind: "not_compiled",
            node: String::new(),
            message: format!("the Cranelift backend cannot compile this model yet: {e}"),
        });
    }
    let conv_ns: f64 =
        rows.iter().filter(|r| r.precision == Precision::Convert).map(|r| r.cost_ns).sum();
    if total > fp32_ns {
        warnings.push(Warning {
            kind: "slower_than_fp32",
            node: String::new(),
            message: format!(
                "the quantized model is predicted SLOWER than fp32 ({:.3} ms vs {:.3} ms): {} run-time conversions of {} elements cost {:.3} ms and the float islands gain nothing",
                total / 1e6,
                fp32_ns / 1e6,
                conversions,
                conversion_elements,
                conv_ns / 1e6
            ),
        });
    }
    Explanation {
        dot_path: path,
        nodes: rows,
        warnings,
        predicted_int8_ms: total / 1e6,
        predicted_fp32_ms: fp32_ns / 1e6,
        conversions,
        conversion_elements,
    }
}

impl Explanation {
    /// The text table and warnings.
    pub fn to_text(&self) -> String {
        let w = self.nodes.iter().map(|r| r.node.len()).max().unwrap_or(4).clamp(4, 40);
        let mut s = format!(
            "{:w$}  {:<18}  {:<9}  {:<12}  {:<8}  {:>6}\n",
            "node", "op", "precision", "kernel", "isa", "cost"
        );
        for r in &self.nodes {
            let p = match r.precision {
                Precision::Integer => "int",
                Precision::Float => "FLOAT",
                Precision::Convert => "convert",
                Precision::View => "view",
            };
            s += &format!(
                "{:w$}  {:<18}  {:<9}  {:<12}  {:<8}  {:>5.1}%\n",
                r.node,
                r.op,
                p,
                r.kernel,
                r.isa.unwrap_or("-"),
                100.0 * r.share
            );
        }
        s += &format!(
            "predicted: int8 {:.3} ms vs fp32 {:.3} ms (dot path {}); {} run-time conversions ({} elements)\n",
            self.predicted_int8_ms,
            self.predicted_fp32_ms,
            self.dot_path.name(),
            self.conversions,
            self.conversion_elements
        );
        for wv in &self.warnings {
            if wv.node.is_empty() {
                s += &format!("warning: {}\n", wv.message);
            } else {
                s += &format!("warning: node `{}`: {}\n", wv.node, wv.message);
            }
        }
        s
    }
}
