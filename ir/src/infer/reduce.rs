//! Inference for reductions (axes as an optional operand) and ArgMax/ArgMin.

use super::dims::{self, unknown_dims};
use super::{Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Dim, Shape, TensorType};

pub(super) fn infer(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    match cx.op {
        Op::ReduceMean(a)
        | Op::ReduceSum(a)
        | Op::ReduceMax(a)
        | Op::ReduceMin(a)
        | Op::ReduceProd(a)
        | Op::ReduceSumSquare(a) => {
            // Quantization does not survive a reduction (except Max/Min, which keep values).
            let quant = if matches!(cx.op, Op::ReduceMax(_) | Op::ReduceMin(_)) {
                x.quant.clone().filter(|q| q.per_tensor().is_some())
            } else {
                None
            };
            let shape = reduce_shape(cx, a.keepdims, a.noop_with_empty_axes)?;
            Ok(TensorType { dtype: x.dtype, shape, quant })
        }
        Op::ArgMax(a) | Op::ArgMin(a) => {
            let shape = match x.shape.dims() {
                None => Shape::unknown(),
                Some(d) => {
                    let ax = dims::axis(a.axis, d.len())?;
                    let mut out = d.to_vec();
                    if a.keepdims {
                        out[ax] = Dim::Fixed(1);
                    } else {
                        out.remove(ax);
                    }
                    Shape(Some(out))
                }
            };
            Ok(TensorType::new(DType::I64, shape))
        }
        other => Err(format!("{} is not a reduction", other.name())),
    }
}

fn reduce_shape(cx: &Ctx<'_>, keepdims: bool, noop_empty: bool) -> R<Shape> {
    let x = cx.ty(0)?;
    let axes_ty = cx.opt_ty(1);
    if axes_ty.is_some() {
        cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
        cx.expect_rank(1, 1)?;
    }
    let axes = cx.const_ints(1)?;
    let empty_axes = match (&axes, axes_ty) {
        (_, None) => true,
        (Some(v), _) => v.is_empty(),
        (None, Some(t)) => t.shape.numel() == Some(0),
    };
    let Some(xd) = x.shape.dims() else { return Ok(Shape::unknown()) };
    let r = xd.len();
    if empty_axes {
        if noop_empty {
            return Ok(x.shape.clone());
        }
        return Ok(Shape(Some(if keepdims { vec![Dim::Fixed(1); r] } else { Vec::new() })));
    }
    let Some(axes) = axes else {
        // Axes computed at run time: with keepdims the rank is known.
        if keepdims {
            return Ok(unknown_dims(r));
        }
        return Ok(match axes_ty.and_then(|t| t.shape.as_fixed()) {
            Some(n) if n.len() == 1 && n[0] <= r => unknown_dims(r - n[0]),
            _ => Shape::unknown(),
        });
    };
    let mut reduced = vec![false; r];
    for a in axes {
        let ax = dims::axis(a, r)?;
        if std::mem::replace(&mut reduced[ax], true) {
            return Err(format!("axis {a} is repeated"));
        }
    }
    let out = xd
        .iter()
        .zip(&reduced)
        .filter_map(|(d, &red)| match (red, keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
        })
        .collect();
    Ok(Shape(Some(out)))
}
