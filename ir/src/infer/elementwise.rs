//! Inference for elementwise ops (numpy broadcasting), Cast, softmax and normalizations.

use super::dims::{self, broadcast};
use super::{operand_label, Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Shape, TensorType};

pub(super) fn infer(cx: &Ctx<'_>) -> R<TensorType> {
    match cx.op {
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
            cx.same_dtype(0, 1)?;
            Ok(TensorType::new(cx.ty(0)?.dtype, broadcast_operands(cx, &[0, 1])?))
        }
        Op::Pow => {
            // T and T1 may differ; the result has the base's dtype.
            Ok(TensorType::new(cx.ty(0)?.dtype, broadcast_operands(cx, &[0, 1])?))
        }
        Op::Max | Op::Min => {
            let n = cx.types.len();
            if n == 0 {
                return Err("needs at least one operand".into());
            }
            for i in 1..n {
                cx.same_dtype(0, i)?;
            }
            let idx: Vec<usize> = (0..n).collect();
            let shape = broadcast_operands(cx, &idx)?;
            Ok(TensorType { dtype: cx.ty(0)?.dtype, shape, quant: common_quant(cx, &idx)? })
        }
        Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual => {
            cx.same_dtype(0, 1)?;
            Ok(TensorType::new(DType::Bool, broadcast_operands(cx, &[0, 1])?))
        }
        Op::And | Op::Or | Op::Xor => {
            for i in 0..2 {
                cx.expect_dtype(i, "bool", |d| d == DType::Bool)?;
            }
            Ok(TensorType::new(DType::Bool, broadcast_operands(cx, &[0, 1])?))
        }
        Op::Not => {
            cx.expect_dtype(0, "bool", |d| d == DType::Bool)?;
            Ok(cx.ty(0)?.clone())
        }
        Op::Where => {
            cx.expect_dtype(0, "bool", |d| d == DType::Bool)?;
            cx.same_dtype(1, 2)?;
            let shape = broadcast_operands(cx, &[0, 1, 2])?;
            Ok(TensorType { dtype: cx.ty(1)?.dtype, shape, quant: common_quant(cx, &[1, 2])? })
        }
        Op::Clip => {
            let x = cx.ty(0)?;
            for i in 1..3 {
                if let Some(b) = cx.opt_ty(i) {
                    if b.dtype != x.dtype {
                        return Err(format!(
                            "{} must have the dtype of x ({}), got {}",
                            operand_label(cx.op, i),
                            x.dtype,
                            b.dtype
                        ));
                    }
                    if b.shape.rank().is_some_and(|r| r != 0) && b.shape.numel() != Some(1) {
                        return Err(format!(
                            "{} must be a scalar, got {}",
                            operand_label(cx.op, i),
                            b.shape
                        ));
                    }
                }
            }
            Ok(x.clone())
        }
        Op::Relu | Op::LeakyRelu(_) | Op::Neg | Op::Abs | Op::Sign => Ok(cx.ty(0)?.clone()),
        Op::Elu(_)
        | Op::Sigmoid
        | Op::HardSigmoid(_)
        | Op::HardSwish
        | Op::Tanh
        | Op::Erf
        | Op::Gelu(_)
        | Op::Exp
        | Op::Log
        | Op::Sqrt
        | Op::Reciprocal
        | Op::Floor
        | Op::Ceil
        | Op::Round
        | Op::Softplus
        | Op::Sin
        | Op::Cos => {
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            Ok(cx.ty(0)?.clone())
        }
        Op::Softmax(a) | Op::LogSoftmax(a) => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            if let Some(r) = x.shape.rank() {
                dims::axis(a.axis, r)?;
            }
            Ok(x.clone())
        }
        Op::LayerNormalization(a) => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            if let Some(xd) = x.shape.dims() {
                let ax = dims::axis(a.axis, xd.len())?;
                for i in 1..3 {
                    if let Some(t) = cx.opt_ty(i) {
                        // scale/bias broadcast to x.shape[axis..].
                        let norm = Shape(Some(xd[ax..].to_vec()));
                        let b = broadcast(&[&norm, &t.shape])?;
                        if b.rank() != norm.rank() {
                            return Err(format!(
                                "{} {} does not broadcast to the normalized shape {norm}",
                                operand_label(cx.op, i),
                                t.shape
                            ));
                        }
                    }
                }
            }
            Ok(TensorType::new(x.dtype, x.shape.clone()))
        }
        Op::BatchNormalization(_) | Op::InstanceNormalization(_) => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            let xd = x.shape.dims();
            if xd.is_some_and(|d| d.len() < 2) {
                return Err(format!("x must have rank ≥ 2, got {}", x.shape));
            }
            for i in 1..cx.types.len() {
                let t = cx.ty(i)?;
                cx.expect_rank(i, 1)?;
                if let (Some(xd), Some(td)) = (xd, t.shape.dims()) {
                    if !dims::compatible(&xd[1], &td[0]) {
                        return Err(format!(
                            "{} has {} elements, x has {} channels",
                            operand_label(cx.op, i),
                            td[0],
                            xd[1]
                        ));
                    }
                }
            }
            Ok(TensorType::new(x.dtype, x.shape.clone()))
        }
        Op::Cast(a) => Ok(TensorType::new(a.to, cx.ty(0)?.shape.clone())),
        other => Err(format!("{} is not an elementwise op", other.name())),
    }
}

/// Broadcasts the shapes of the given operands.
fn broadcast_operands(cx: &Ctx<'_>, idx: &[usize]) -> R<Shape> {
    let shapes = idx.iter().map(|&i| cx.ty(i).map(|t| &t.shape)).collect::<R<Vec<_>>>()?;
    broadcast(&shapes)
}

/// The operands' quantization when they all have the same per-tensor one, else none.
fn common_quant(cx: &Ctx<'_>, idx: &[usize]) -> R<Option<crate::types::Quant>> {
    let first = cx.ty(idx[0])?.quant.clone();
    for &i in &idx[1..] {
        if cx.ty(i)?.quant != first {
            return Ok(None);
        }
    }
    Ok(first.filter(|q| q.per_tensor().is_some()))
}
