//! ONNX Runtime `com.microsoft` QOperator ops, decomposed as
//! `DequantizeLinear → float op → QuantizeLinear`.
//!
//! **Reference semantics.** qcc defines each of these ops as exactly that composition: every
//! quantized operand is dequantized to f32 with `(q − zp) · scale`, the float op runs in f32,
//! and the result is quantized with `saturate(round_half_even(y / scale) + zp)`. ONNX Runtime's
//! own kernels compute some of them differently (fixed-point requantization, lookup tables for
//! QLinearSigmoid/LeakyRelu, integer accumulation in QGemm), so results can differ from ONNX
//! Runtime by one unit in the last place of the quantized result. Ops covered: QLinearAdd,
//! QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearGlobalAveragePool,
//! QLinearAveragePool, QLinearConcat, QGemm.

use super::pool::pool_attrs;
use super::{ms, NodeCx, OpEntry, Outs};
use crate::error::OnnxError;
use qcc_ir::ops::{AlphaAttrs, AxisAttrs, GemmAttrs, QLinearAttrs, TransposeAttrs};
use qcc_ir::{DType, Op, Value};

pub(crate) const OPS: &[OpEntry] = &[
    ms("QLinearAdd", binary),
    ms("QLinearMul", binary),
    ms("QLinearSigmoid", unary),
    ms("QLinearLeakyRelu", unary),
    ms("QLinearSoftmax", unary),
    ms("QLinearGlobalAveragePool", unary),
    ms("QLinearAveragePool", unary),
    ms("QLinearConcat", concat),
    ms("QGemm", qgemm),
];

/// DequantizeLinear helper node (`axis` for per-axis scales).
fn dq(
    cx: &mut NodeCx<'_>,
    tag: &str,
    x: Value,
    s: Value,
    zp: Option<Value>,
    axis: i64,
) -> Result<Value, OnnxError> {
    let attrs = QLinearAttrs { axis, ..Default::default() };
    cx.helper(tag, Op::DequantizeLinear(attrs), &[Some(x), Some(s), zp], DType::F32)
}

/// The final QuantizeLinear, named after the node; its dtype is the zero point's (else u8).
fn q_out(cx: &mut NodeCx<'_>, y: Value, s: Value, zp: Option<Value>) -> Outs {
    let dtype = zp.map(|z| cx.dtype(z)).unwrap_or(DType::U8);
    let attrs = QLinearAttrs { dtype, ..Default::default() };
    NodeCx::one(cx.add1(Op::QuantizeLinear(attrs), &[Some(y), Some(s), zp], dtype)?)
}

fn binary(cx: &mut NodeCx<'_>) -> Outs {
    let a = dq(cx, "dq_a", cx.req(0)?, cx.req(1)?, cx.input(2)?, 1)?;
    let b = dq(cx, "dq_b", cx.req(3)?, cx.req(4)?, cx.input(5)?, 1)?;
    let op = if cx.op_type == "QLinearAdd" { Op::Add } else { Op::Mul };
    let y = cx.helper("float", op, &[Some(a), Some(b)], DType::F32)?;
    q_out(cx, y, cx.req(6)?, cx.input(7)?)
}

/// Rank of a value, needed for channels_last.
fn rank(cx: &NodeCx<'_>, v: Value) -> Result<usize, OnnxError> {
    cx.ty(v)
        .shape
        .rank()
        .ok_or_else(|| cx.unsupported("channels_last=1 with an input of unknown rank"))
}

fn unary(cx: &mut NodeCx<'_>) -> Outs {
    let xq = cx.req(0)?;
    let mut x = dq(cx, "dq", xq, cx.req(1)?, cx.input(2)?, 1)?;
    let channels_last = cx.abool("channels_last", false);
    let r = if channels_last { rank(cx, xq)? } else { 0 };
    if channels_last {
        let mut perm = vec![0, r - 1];
        perm.extend(1..r - 1);
        x = cx.helper("to_nchw", Op::Transpose(TransposeAttrs { perm }), &[Some(x)], DType::F32)?;
    }
    let op = match cx.op_type.as_str() {
        "QLinearSigmoid" => Op::Sigmoid,
        "QLinearLeakyRelu" => Op::LeakyRelu(AlphaAttrs { alpha: cx.af_or("alpha", 0.01) }),
        "QLinearSoftmax" => {
            let axis = cx.ai_or("axis", -1);
            let ver = cx.ai_or("opset", 13);
            let last = axis == -1 || cx.ty(xq).shape.rank().is_some_and(|r| axis == r as i64 - 1);
            if ver < 13 && !last {
                return Err(cx.unsupported("QLinearSoftmax with opset < 13 on a non-last axis"));
            }
            Op::Softmax(AxisAttrs { axis })
        }
        "QLinearGlobalAveragePool" => Op::GlobalAveragePool,
        _ => Op::AveragePool(pool_attrs(cx)?),
    };
    let mut y = cx.helper("float", op, &[Some(x)], DType::F32)?;
    if channels_last {
        let mut perm = vec![0];
        perm.extend(2..r);
        perm.push(1);
        y = cx.helper("to_nhwc", Op::Transpose(TransposeAttrs { perm }), &[Some(y)], DType::F32)?;
    }
    q_out(cx, y, cx.req(3)?, cx.input(4)?)
}

fn concat(cx: &mut NodeCx<'_>) -> Outs {
    let n = cx.n_inputs();
    if n < 5 || (n - 2) % 3 != 0 {
        return Err(
            cx.err(format!("{n} inputs: expected Y_scale, Y_zp and triples (X, scale, zp)"))
        );
    }
    let mut xs = Vec::new();
    for k in 0..(n - 2) / 3 {
        let i = 2 + 3 * k;
        let v = dq(cx, &format!("dq{k}"), cx.req(i)?, cx.req(i + 1)?, cx.input(i + 2)?, 1)?;
        xs.push(Some(v));
    }
    let axis = cx.ai("axis").ok_or_else(|| cx.err("missing axis"))?;
    let y = cx.helper("float", Op::Concat(AxisAttrs { axis }), &xs, DType::F32)?;
    q_out(cx, y, cx.req(0)?, cx.input(1)?)
}

fn qgemm(cx: &mut NodeCx<'_>) -> Outs {
    let trans_a = cx.abool("transA", false);
    let trans_b = cx.abool("transB", false);
    let a = dq(cx, "dq_a", cx.req(0)?, cx.req(1)?, cx.input(2)?, 1)?;
    let b_axis = if trans_b { 0 } else { 1 };
    let b = dq(cx, "dq_b", cx.req(3)?, cx.req(4)?, cx.input(5)?, b_axis)?;
    let c = match cx.input(6)? {
        None => None,
        Some(c) => {
            // The i32 bias has scale a_scale · b_scale and zero point 0.
            let s = cx.helper(
                "bias_scale",
                Op::Mul,
                &[Some(cx.req(1)?), Some(cx.req(4)?)],
                DType::F32,
            )?;
            Some(dq(cx, "dq_c", c, s, None, -1)?)
        }
    };
    let attrs = GemmAttrs { alpha: cx.af_or("alpha", 1.0), beta: 1.0, trans_a, trans_b };
    match cx.input(7)? {
        Some(ys) => {
            let y = cx.helper("float", Op::Gemm(attrs), &[Some(a), Some(b), c], DType::F32)?;
            q_out(cx, y, ys, cx.input(8)?)
        }
        // Without y_scale the output is float.
        None => NodeCx::one(cx.add1(Op::Gemm(attrs), &[Some(a), Some(b), c], DType::F32)?),
    }
}
