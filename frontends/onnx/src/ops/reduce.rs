//! Reductions (`ReduceMean`, `ReduceSum`, `ReduceMax`, `ReduceMin`, `ReduceProd`,
//! `ReduceSumSquare`) and `ArgMax`/`ArgMin`. Axes given as an attribute (ReduceSum before
//! opset 13, the others before 18) become a constant operand.

use super::{onnx, NodeCx, OpEntry, Outs};
use qcc_ir::ops::{ArgAttrs, ReduceAttrs};
use qcc_ir::{DType, Op};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("ReduceMean", 1, reduce),
    onnx("ReduceSum", 1, reduce),
    onnx("ReduceMax", 1, reduce),
    onnx("ReduceMin", 1, reduce),
    onnx("ReduceProd", 1, reduce),
    onnx("ReduceSumSquare", 1, reduce),
    onnx("ArgMax", 1, arg),
    onnx("ArgMin", 1, arg),
];

fn reduce(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let attrs = ReduceAttrs {
        keepdims: cx.abool("keepdims", true),
        noop_with_empty_axes: cx.abool("noop_with_empty_axes", false),
    };
    let axes_as_input = if cx.op_type == "ReduceSum" { cx.opset >= 13 } else { cx.opset >= 18 };
    let axes = if axes_as_input {
        cx.input(1)?
    } else {
        cx.ais("axes").map(|a| cx.const_i64s("axes", &a))
    };
    let op = match cx.op_type.as_str() {
        "ReduceMean" => Op::ReduceMean(attrs),
        "ReduceSum" => Op::ReduceSum(attrs),
        "ReduceMax" => Op::ReduceMax(attrs),
        "ReduceMin" => Op::ReduceMin(attrs),
        "ReduceProd" => Op::ReduceProd(attrs),
        _ => Op::ReduceSumSquare(attrs),
    };
    NodeCx::one(cx.add1(op, &[Some(x), axes], dt)?)
}

fn arg(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let attrs = ArgAttrs {
        axis: cx.ai_or("axis", 0),
        keepdims: cx.abool("keepdims", true),
        select_last_index: cx.abool("select_last_index", false),
    };
    let op = if cx.op_type == "ArgMax" { Op::ArgMax(attrs) } else { Op::ArgMin(attrs) };
    NodeCx::one(cx.add1(op, &[Some(x)], DType::I64)?)
}
