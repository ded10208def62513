//! ONNX ops without an IR op of their own, expressed exactly with IR ops:
//! `CastLike` (Cast to the second input's type), `ReduceL1` (ReduceSum ∘ Abs), `ReduceL2`
//! (Sqrt ∘ ReduceSumSquare), `ReduceLogSum` (Log ∘ ReduceSum), `ReduceLogSumExp`
//! (Log ∘ ReduceSum ∘ Exp), `PRelu` (Where(x < 0, x·slope, x)), `Selu` (γ·Elu_α), `Celu`
//! (α·Elu₁(x/α)), `Softsign` (x / (1 + |x|)), `ThresholdedRelu` (Where(x > α, x, 0)),
//! `Mish` (x·tanh(softplus x)).

use super::{onnx, NodeCx, OpEntry, Outs};
use crate::error::OnnxError;
use qcc_ir::ops::{AlphaAttrs, CastAttrs, ReduceAttrs};
use qcc_ir::{DType, Op, Tensor, Value};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("CastLike", 15, cast_like),
    onnx("ReduceL1", 1, reduce),
    onnx("ReduceL2", 1, reduce),
    onnx("ReduceLogSum", 1, reduce),
    onnx("ReduceLogSumExp", 1, reduce),
    onnx("PRelu", 7, prelu),
    onnx("Selu", 6, selu),
    onnx("Celu", 12, celu),
    onnx("Softsign", 1, softsign),
    onnx("ThresholdedRelu", 10, thresholded_relu),
    onnx("Mish", 18, mish),
];

fn cast_like(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let to = cx.dtype(cx.req(1)?);
    super::elementwise::check_cast(cx, to)?;
    let saturate = cx.ai_or("saturate", 1) != 0;
    NodeCx::one(cx.add1(Op::Cast(CastAttrs { to, saturate }), &[Some(x)], to)?)
}

/// A scalar constant of `dtype`.
fn scalar(cx: &mut NodeCx<'_>, tag: &str, dtype: DType, v: f32) -> Result<Value, OnnxError> {
    let t = match dtype {
        DType::F32 => Tensor::scalar_f32(v),
        d if d.is_int() => Tensor::from_i64_saturating(d, vec![], &[v as i64])?,
        d => return Err(cx.unsupported(format!("{} on {d}", cx.op_type))),
    };
    Ok(cx.constant(tag, t))
}

fn reduce(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let attrs = ReduceAttrs {
        keepdims: cx.abool("keepdims", true),
        noop_with_empty_axes: cx.abool("noop_with_empty_axes", false),
    };
    let axes = if cx.opset >= 18 {
        cx.input(1)?
    } else {
        cx.ais("axes").map(|a| cx.const_i64s("axes", &a))
    };
    let y = match cx.op_type.as_str() {
        "ReduceL1" => {
            let a = cx.helper("abs", Op::Abs, &[Some(x)], dt)?;
            cx.add1(Op::ReduceSum(attrs), &[Some(a), axes], dt)?
        }
        "ReduceL2" => {
            let s = cx.helper("sumsq", Op::ReduceSumSquare(attrs), &[Some(x), axes], dt)?;
            cx.add1(Op::Sqrt, &[Some(s)], dt)?
        }
        "ReduceLogSum" => {
            let s = cx.helper("sum", Op::ReduceSum(attrs), &[Some(x), axes], dt)?;
            cx.add1(Op::Log, &[Some(s)], dt)?
        }
        _ => {
            let e = cx.helper("exp", Op::Exp, &[Some(x)], dt)?;
            let s = cx.helper("sum", Op::ReduceSum(attrs), &[Some(e), axes], dt)?;
            cx.add1(Op::Log, &[Some(s)], dt)?
        }
    };
    NodeCx::one(y)
}

fn prelu(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let slope = cx.req(1)?;
    let dt = cx.dtype(x);
    let zero = scalar(cx, "zero", dt, 0.0)?;
    let neg = cx.helper("neg", Op::Less, &[Some(x), Some(zero)], DType::Bool)?;
    let scaled = cx.helper("scaled", Op::Mul, &[Some(x), Some(slope)], dt)?;
    NodeCx::one(cx.add1(Op::Where, &[Some(neg), Some(scaled), Some(x)], dt)?)
}

fn selu(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let alpha = cx.af_or("alpha", 1.673_263_2);
    let gamma = cx.af_or("gamma", 1.050_701);
    let e = cx.helper("elu", Op::Elu(AlphaAttrs { alpha }), &[Some(x)], dt)?;
    let g = scalar(cx, "gamma", dt, gamma)?;
    NodeCx::one(cx.add1(Op::Mul, &[Some(e), Some(g)], dt)?)
}

fn celu(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let alpha = cx.af_or("alpha", 1.0);
    let a = scalar(cx, "alpha", dt, alpha)?;
    let xs = cx.helper("scaled", Op::Div, &[Some(x), Some(a)], dt)?;
    let e = cx.helper("elu", Op::Elu(AlphaAttrs { alpha: 1.0 }), &[Some(xs)], dt)?;
    NodeCx::one(cx.add1(Op::Mul, &[Some(e), Some(a)], dt)?)
}

fn softsign(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let one = scalar(cx, "one", dt, 1.0)?;
    let a = cx.helper("abs", Op::Abs, &[Some(x)], dt)?;
    let d = cx.helper("denominator", Op::Add, &[Some(one), Some(a)], dt)?;
    NodeCx::one(cx.add1(Op::Div, &[Some(x), Some(d)], dt)?)
}

fn thresholded_relu(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let alpha = cx.af_or("alpha", 1.0);
    let a = scalar(cx, "alpha", dt, alpha)?;
    let zero = scalar(cx, "zero", dt, 0.0)?;
    let keep = cx.helper("keep", Op::Greater, &[Some(x), Some(a)], DType::Bool)?;
    NodeCx::one(cx.add1(Op::Where, &[Some(keep), Some(x), Some(zero)], dt)?)
}

fn mish(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let sp = cx.helper("softplus", Op::Softplus, &[Some(x)], dt)?;
    let t = cx.helper("tanh", Op::Tanh, &[Some(sp)], dt)?;
    NodeCx::one(cx.add1(Op::Mul, &[Some(x), Some(t)], dt)?)
}
