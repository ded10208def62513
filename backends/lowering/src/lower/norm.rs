//! Float normalization and math: LayerNormalization ([`Kernel::LayerNorm`], scale and bias
//! expanded to the normalized extent at compile time), Softmax ([`Kernel::Softmax`]) and
//! LogSoftmax ([`Kernel::LogSoftmax`]) over any axis, elementwise math (Sqrt, Exp, Erf, Gelu
//! (both forms), Tanh, Log, Softplus, Sin, Cos, Elu: [`Kernel::Math`]) and ReduceSum / Mean /
//! Max / Min / Prod / SumSquare and GlobalMaxPool ([`Kernel::Reduce`]).

use super::Cx;
use crate::model::{Kernel, Storage};
use crate::spec::{MathOp, ReduceOp};
use crate::LowerError;
use qcc_ir::ops::{AxisAttrs, GeluApprox};
use qcc_ir::{DType, NodeId, Op, Tensor};
use std::sync::Arc;

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (a >= 0 && (a as usize) < rank).then_some(a as usize)
}

impl Cx<'_> {
    /// A LayerNorm parameter as a buffer of `d` f32: constants are broadcast to the normalized
    /// shape at compile time; runtime values must already have `d` elements.
    fn ln_param(
        &mut self,
        id: NodeId,
        slot: usize,
        tail: &[usize],
    ) -> Result<Option<usize>, LowerError> {
        let Some(v) = self.g.operand(id, slot) else { return Ok(None) };
        let d: usize = tail.iter().product();
        if self.g.value_type(v).dtype != DType::F32 {
            return Err(self.err(id, format!("operand {slot} must be f32")));
        }
        if let Some(t) = self.constant(v) {
            let st = super::bcast_strides(&t.shape, tail)
                .ok_or_else(|| self.err(id, format!("operand {slot} does not broadcast")))?;
            let src = t.to_f32_vec();
            let ost = super::movement::strides(tail);
            let vals: Vec<f32> = (0..d)
                .map(|i| {
                    let off: usize = (0..tail.len()).map(|a| (i / ost[a]) % tail[a] * st[a]).sum();
                    src[off]
                })
                .collect();
            let t = Arc::new(Tensor::f32(&[d], vals));
            return Ok(Some(self.new_buf(DType::F32, vec![d], Storage::Const(t))));
        }
        let s = self.shape(id, v)?;
        if s.iter().product::<usize>() != d {
            return Err(self.err(id, format!("runtime operand {slot} must have {d} elements")));
        }
        Ok(Some(self.buf(id, v)?))
    }

    /// Lowers LayerNormalization / Softmax / math / reductions (f32 only).
    pub(super) fn norm(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let out = g.result(id);
        let x = self.operand(id, 0)?;
        if g.value_type(x).dtype != DType::F32 || g.value_type(out).dtype != DType::F32 {
            return Err(self.err(id, "only f32"));
        }
        let xs = self.shape(id, x)?;
        let n: usize = xs.iter().product();
        let xb = self.buf(id, x)?;
        let name = g.node(id).op.name().to_string();
        let op = g.node(id).op.clone();
        match &op {
            Op::LayerNormalization(at) => {
                if g.results(id).len() > 1 {
                    return Err(self.err(id, "Mean/InvStdDev results are not supported"));
                }
                let ax = norm_axis(at.axis, xs.len()).ok_or_else(|| self.err(id, "bad axis"))?;
                let tail = xs[ax..].to_vec();
                let d: usize = tail.iter().product();
                let mut ins = vec![xb];
                ins.push(self.ln_param(id, 1, &tail)?.ok_or_else(|| self.err(id, "no scale"))?);
                if let Some(b) = self.ln_param(id, 2, &tail)? {
                    ins.push(b);
                }
                let rows = n.checked_div(d).unwrap_or(0);
                let k = Kernel::LayerNorm { rows, d, epsilon: at.epsilon };
                self.push(id, name, k, ins, out)
            }
            Op::Softmax(AxisAttrs { axis }) | Op::LogSoftmax(AxisAttrs { axis }) => {
                let ax = norm_axis(*axis, xs.len()).ok_or_else(|| self.err(id, "bad axis"))?;
                let (outer, d, inner) =
                    (xs[..ax].iter().product(), xs[ax], xs[ax + 1..].iter().product());
                let k = if matches!(op, Op::Softmax(_)) {
                    Kernel::Softmax { outer, d, inner }
                } else {
                    Kernel::LogSoftmax { outer, d, inner }
                };
                self.push(id, name, k, vec![xb], out)
            }
            Op::Sqrt
            | Op::Exp
            | Op::Erf
            | Op::Gelu(_)
            | Op::Tanh
            | Op::Log
            | Op::Softplus
            | Op::Sin
            | Op::Cos
            | Op::Elu(_) => {
                let m = match op {
                    Op::Sqrt => MathOp::Sqrt,
                    Op::Exp => MathOp::Exp,
                    Op::Erf => MathOp::Erf,
                    Op::Gelu(at) if at.approximate == GeluApprox::None => MathOp::Gelu,
                    Op::Gelu(_) => MathOp::GeluTanh,
                    Op::Tanh => MathOp::Tanh,
                    Op::Log => MathOp::Log,
                    Op::Softplus => MathOp::Softplus,
                    Op::Sin => MathOp::Sin,
                    Op::Cos => MathOp::Cos,
                    Op::Elu(at) => MathOp::Elu(at.alpha),
                    _ => return Err(self.err(id, "not a math op")),
                };
                self.push(id, name, Kernel::Math { op: m, n }, vec![xb], out)
            }
            Op::GlobalMaxPool => {
                if xs.len() < 2 {
                    return Err(self.err(id, "global pooling needs [N, C, ...]"));
                }
                let reduced: Vec<bool> = (0..xs.len()).map(|d| d >= 2).collect();
                if xs[2..].contains(&0) {
                    return Err(self.err(id, "max over an empty axis"));
                }
                let k = Kernel::Reduce { op: ReduceOp::Max, shape: xs, reduced };
                self.push(id, name, k, vec![xb], out)
            }
            Op::ReduceSum(at)
            | Op::ReduceMean(at)
            | Op::ReduceMax(at)
            | Op::ReduceMin(at)
            | Op::ReduceProd(at)
            | Op::ReduceSumSquare(at) => {
                let r = xs.len();
                let axes = match g.operand(id, 1) {
                    None => vec![],
                    Some(v) => self
                        .constant(v)
                        .and_then(|t| t.to_i64_vec())
                        .ok_or_else(|| self.err(id, "axes must be an integer constant"))?,
                };
                let mut reduced = vec![axes.is_empty() && !at.noop_with_empty_axes; r];
                for a in axes {
                    let a = norm_axis(a, r).ok_or_else(|| self.err(id, "bad axis"))?;
                    reduced[a] = true;
                }
                let rop = match op {
                    Op::ReduceSum(_) => ReduceOp::Sum,
                    Op::ReduceMean(_) => ReduceOp::Mean,
                    Op::ReduceMax(_) => ReduceOp::Max,
                    Op::ReduceProd(_) => ReduceOp::Prod,
                    Op::ReduceSumSquare(_) => ReduceOp::SumSquare,
                    _ => ReduceOp::Min,
                };
                let empty = xs.iter().zip(&reduced).any(|(&d, &r)| r && d == 0);
                if empty && matches!(rop, ReduceOp::Max | ReduceOp::Min) {
                    return Err(self.err(id, "max/min over an empty axis"));
                }
                let k = Kernel::Reduce { op: rop, shape: xs, reduced };
                self.push(id, name, k, vec![xb], out)
            }
            _ => Err(self.err(id, "not a normalization op")),
        }
    }
}
