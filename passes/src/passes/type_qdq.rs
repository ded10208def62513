//! `type-qdq`: turns ONNX-form `QuantizeLinear` / `DequantizeLinear` with constant scales and
//! zero points (as imported from QDQ models: ONNX Runtime's quantizer, QAT exports, qcc's own
//! export) into the typed `Quantize` / `Dequantize` whose parameters live in the quantized
//! value's type — the form `realize-qdq` turns into integer ops. The scales are kept exactly as
//! the model has them.
//!
//! * `QuantizeLinear(x, s, z)` → `Quantize(x) : T<s:z>`;
//! * `DequantizeLinear(w, s, z)` of a constant `w` → `Dequantize(w : T<s:z>)` (a typed weight);
//! * `DequantizeLinear(q, s, z)` of a `Quantize` with the same parameters → `Dequantize(q)`;
//!   of a graph input without quantization in its type → the input's type gains `<s:z>`.
//!
//! Per-tensor and per-axis parameters are typed; blocked ones and nodes whose parameters are not
//! constants are left in ONNX form (the interpreter still runs them).

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use qcc_ir::{DType, Graph, NodeId, Op, Quant, TensorType, Value};

/// Types ONNX-form Q/DQ.
#[derive(Debug, Default)]
pub struct TypeQdq;

impl DeclaredPass for TypeQdq {
    const NAME: &'static str = "type-qdq";
    const SUMMARY: &'static str =
        "turn ONNX-form QuantizeLinear/DequantizeLinear with constant parameters into typed Quantize/Dequantize";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        TypeQdq
    }
}

/// The quantization parameters of a Q/DQ node (operands 1 and 2) for a value of rank `rank`,
/// with the integer type they imply.
fn params(g: &Graph, id: NodeId, rank: usize, attr_dtype: DType) -> Option<(DType, Quant)> {
    let (Op::QuantizeLinear(a) | Op::DequantizeLinear(a)) = &g.node(id).op else { return None };
    if a.block_size != 0 {
        return None;
    }
    let scales = g.const_value(g.operand(id, 1)?)?.to_f32_vec();
    let (dtype, zps) = match g.operand(id, 2) {
        Some(z) => {
            let t = g.const_value(z)?;
            (t.dtype, t.to_i64_vec()?.into_iter().map(|v| v as i32).collect::<Vec<_>>())
        }
        None => (attr_dtype, vec![0; scales.len()]),
    };
    if scales.len() != zps.len() || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return None;
    }
    let (lo, hi) = qcc_ir::qmath::qrange(dtype);
    if zps.iter().any(|&z| z < lo || z > hi) {
        return None;
    }
    let q = if scales.len() == 1 {
        Quant::Tensor { scale: scales[0], zero_point: zps[0] }
    } else {
        let axis = if a.axis < 0 { a.axis + rank as i64 } else { a.axis };
        if axis < 0 || axis as usize >= rank {
            return None;
        }
        Quant::Axis { axis: axis as usize, scales, zero_points: zps }
    };
    Some((dtype, q))
}

fn rank_of(g: &Graph, v: Value) -> usize {
    g.value_type(v).shape.rank().unwrap_or(0)
}

/// Rewrites one node; returns whether it changed.
fn rewrite(g: &mut Graph, id: NodeId) -> Result<bool, qcc_ir::GraphError> {
    let node = g.node(id).clone();
    let Some(x) = g.operand(id, 0) else { return Ok(false) };
    match &node.op {
        Op::QuantizeLinear(a) => {
            let Some((dtype, q)) = params(g, id, rank_of(g, x), a.dtype) else { return Ok(false) };
            if !matches!(dtype, DType::U8 | DType::I8 | DType::I16 | DType::I4 | DType::U4) {
                return Ok(false);
            }
            let ty = TensorType::new(dtype, node.results[0].shape.clone()).with_quant(q);
            let new = g.add_op(Op::Quantize, node.name.clone(), &[x], ty)?;
            g.replace_all_uses(g.result(id), new)?;
            g.remove_node(id)?;
            Ok(true)
        }
        Op::DequantizeLinear(_) => {
            let xt = g.value_type(x).clone();
            let Some((dtype, q)) = params(g, id, rank_of(g, x), xt.dtype) else { return Ok(false) };
            if dtype != xt.dtype {
                return Ok(false);
            }
            let typed_x = if let Some(t) = g.const_value(x).cloned() {
                let ty = TensorType::new(t.dtype, xt.shape.clone()).with_quant(q);
                let cname = g.node(x.node).name.clone();
                g.add_const_typed(cname, t, ty)
            } else if xt.quant.as_ref() == Some(&q) {
                x
            } else if xt.quant.is_none() && matches!(g.node(x.node).op, Op::Input) {
                g.set_value_type(x, xt.with_quant(q));
                x
            } else {
                return Ok(false);
            };
            let ty = TensorType::new(DType::F32, node.results[0].shape.clone());
            let new = g.add_op(Op::Dequantize, node.name.clone(), &[typed_x], ty)?;
            g.replace_all_uses(g.result(id), new)?;
            g.remove_node(id)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

impl Pass for TypeQdq {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let mut n = 0u64;
        let order = g.topo_order().map_err(|e| PassError::graph(Self::NAME, e))?;
        for id in order {
            if g.contains(id) && rewrite(g, id).map_err(|e| PassError::graph(Self::NAME, e))? {
                n += 1;
            }
        }
        cx.bump("type-qdq.typed", n);
        Ok(Changed::from(n > 0))
    }
}
