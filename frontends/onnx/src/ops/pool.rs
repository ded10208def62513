//! Pooling: `MaxPool` (no `Indices` output), `AveragePool`, `GlobalAveragePool`, `GlobalMaxPool`.

use super::{auto_pad, onnx, NodeCx, OpEntry, Outs};
use crate::error::OnnxError;
use qcc_ir::ops::PoolAttrs;
use qcc_ir::Op;

pub(crate) const OPS: &[OpEntry] = &[
    onnx("MaxPool", 1, max_pool),
    onnx("AveragePool", 1, avg_pool),
    onnx("GlobalAveragePool", 1, global),
    onnx("GlobalMaxPool", 1, global),
];

/// Reads pooling attributes (shared with the `com.microsoft` QLinearAveragePool).
pub(crate) fn pool_attrs(cx: &NodeCx<'_>) -> Result<PoolAttrs, OnnxError> {
    let kernel_shape = cx.ausize("kernel_shape")?;
    if kernel_shape.is_empty() {
        return Err(cx.err("missing kernel_shape"));
    }
    if cx.ai_or("storage_order", 0) != 0 {
        return Err(cx.unsupported("storage_order=1"));
    }
    Ok(PoolAttrs {
        kernel_shape,
        strides: cx.ausize("strides")?,
        pads: cx.ausize("pads")?,
        dilations: cx.ausize("dilations")?,
        ceil_mode: cx.abool("ceil_mode", false),
        count_include_pad: cx.abool("count_include_pad", false),
        auto_pad: auto_pad(cx)?,
    })
}

fn max_pool(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = pool_attrs(cx)?;
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    // Output 1 (Indices) is not produced: the driver reports it if the model uses it.
    NodeCx::one(cx.add1(Op::MaxPool(attrs), &[Some(x)], dt)?)
}

fn avg_pool(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = pool_attrs(cx)?;
    if !attrs.dilations.is_empty() && attrs.dilations.iter().any(|&d| d != 1) {
        return Err(cx.unsupported("AveragePool with dilations"));
    }
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::AveragePool(attrs), &[Some(x)], dt)?)
}

fn global(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let op =
        if cx.op_type == "GlobalAveragePool" { Op::GlobalAveragePool } else { Op::GlobalMaxPool };
    NodeCx::one(cx.add1(op, &[Some(x)], dt)?)
}
