//! Linear algebra: `Conv`, `ConvTranspose`, `Gemm`, `MatMul`.

use super::{auto_pad, onnx, NodeCx, OpEntry, Outs};
use crate::error::OnnxError;
use qcc_ir::ops::{ConvAttrs, ConvTransposeAttrs, GemmAttrs};
use qcc_ir::Op;

pub(crate) const OPS: &[OpEntry] = &[
    onnx("Conv", 1, conv),
    onnx("ConvTranspose", 1, conv_transpose),
    onnx("Gemm", 7, gemm),
    onnx("MatMul", 1, matmul),
];

/// Reads the convolution attributes shared by Conv, ConvInteger, QLinearConv.
pub(crate) fn conv_attrs(cx: &NodeCx<'_>) -> Result<ConvAttrs, OnnxError> {
    let group = cx.ai_or("group", 1);
    if group < 1 {
        return Err(cx.err(format!("group {group} < 1")));
    }
    Ok(ConvAttrs {
        kernel_shape: cx.ausize("kernel_shape")?,
        strides: cx.ausize("strides")?,
        pads: cx.ausize("pads")?,
        dilations: cx.ausize("dilations")?,
        group: group as usize,
        auto_pad: auto_pad(cx)?,
    })
}

fn conv(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = conv_attrs(cx)?;
    let x = cx.req(0)?;
    let w = cx.req(1)?;
    let b = cx.input(2)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::Conv(attrs), &[Some(x), Some(w), b], dt)?)
}

fn conv_transpose(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = ConvTransposeAttrs {
        conv: conv_attrs(cx)?,
        output_padding: cx.ausize("output_padding")?,
        output_shape: cx.ausize("output_shape")?,
    };
    let x = cx.req(0)?;
    let w = cx.req(1)?;
    let b = cx.input(2)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::ConvTranspose(attrs), &[Some(x), Some(w), b], dt)?)
}

fn gemm(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = GemmAttrs {
        alpha: cx.af_or("alpha", 1.0),
        beta: cx.af_or("beta", 1.0),
        trans_a: cx.abool("transA", false),
        trans_b: cx.abool("transB", false),
    };
    let a = cx.req(0)?;
    let b = cx.req(1)?;
    let c = cx.input(2)?;
    let dt = cx.dtype(a);
    NodeCx::one(cx.add1(Op::Gemm(attrs), &[Some(a), Some(b), c], dt)?)
}

fn matmul(cx: &mut NodeCx<'_>) -> Outs {
    let a = cx.req(0)?;
    let b = cx.req(1)?;
    let dt = cx.dtype(a);
    NodeCx::one(cx.add1(Op::MatMul, &[Some(a), Some(b)], dt)?)
}
