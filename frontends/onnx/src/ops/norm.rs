//! Normalization and softmax: `Softmax`/`LogSoftmax` (opset < 13: 2-d coercion at `axis`,
//! rewritten as Flatten → Softmax → Reshape unless the axis is the last one),
//! `LayerNormalization`, `BatchNormalization` (inference), `InstanceNormalization`.

use super::{onnx, NodeCx, OpEntry, Outs};
use qcc_ir::ops::{AxisAttrs, EpsAttrs, LayerNormAttrs, ShapeAttrs};
use qcc_ir::{DType, Op};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("Softmax", 1, softmax),
    onnx("LogSoftmax", 1, softmax),
    onnx("LayerNormalization", 17, layer_norm),
    onnx("BatchNormalization", 7, batch_norm),
    onnx("InstanceNormalization", 6, instance_norm),
];

fn softmax(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let log = cx.op_type == "LogSoftmax";
    let mk = |axis: i64| {
        if log {
            Op::LogSoftmax(AxisAttrs { axis })
        } else {
            Op::Softmax(AxisAttrs { axis })
        }
    };
    if cx.opset >= 13 {
        let axis = cx.ai_or("axis", -1);
        return NodeCx::one(cx.add1(mk(axis), &[Some(x)], dt)?);
    }
    let axis = cx.ai_or("axis", 1);
    let rank = cx.ty(x).shape.rank();
    let last = match rank {
        Some(r) => axis == -1 || axis == r as i64 - 1,
        None => axis == -1,
    };
    if last {
        return NodeCx::one(cx.add1(mk(-1), &[Some(x)], dt)?);
    }
    // Coerce to 2-d at `axis`, normalize rows, restore the shape.
    let flat = cx.helper("flatten", Op::Flatten(AxisAttrs { axis }), &[Some(x)], dt)?;
    let sm = cx.helper("rows", mk(1), &[Some(flat)], dt)?;
    let shape = cx.helper("shape", Op::Shape(ShapeAttrs::default()), &[Some(x)], DType::I64)?;
    let y = cx.add1(Op::Reshape(Default::default()), &[Some(sm), Some(shape)], dt)?;
    NodeCx::one(y)
}

fn layer_norm(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let s = cx.req(1)?;
    let b = cx.input(2)?;
    let dt = cx.dtype(x);
    let attrs = LayerNormAttrs { axis: cx.ai_or("axis", -1), epsilon: cx.af_or("epsilon", 1e-5) };
    NodeCx::one(cx.add1(Op::LayerNormalization(attrs), &[Some(x), Some(s), b], dt)?)
}

fn batch_norm(cx: &mut NodeCx<'_>) -> Outs {
    if cx.ai_or("training_mode", 0) != 0 {
        return Err(cx.unsupported("BatchNormalization in training mode"));
    }
    if cx.opset < 9 && cx.ai_or("spatial", 1) != 1 {
        return Err(cx.unsupported("spatial=0"));
    }
    let ins: Vec<_> = (0..5).map(|i| cx.req(i).map(Some)).collect::<Result<_, _>>()?;
    let dt = cx.dtype(ins[0].expect("required"));
    let attrs = EpsAttrs { epsilon: cx.af_or("epsilon", 1e-5) };
    NodeCx::one(cx.add1(Op::BatchNormalization(attrs), &ins, dt)?)
}

fn instance_norm(cx: &mut NodeCx<'_>) -> Outs {
    let ins: Vec<_> = (0..3).map(|i| cx.req(i).map(Some)).collect::<Result<_, _>>()?;
    let dt = cx.dtype(ins[0].expect("required"));
    let attrs = EpsAttrs { epsilon: cx.af_or("epsilon", 1e-5) };
    NodeCx::one(cx.add1(Op::InstanceNormalization(attrs), &ins, dt)?)
}
