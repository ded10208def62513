//! Shape and data movement: `Reshape`, `Flatten`, `Transpose`, `Concat`, `Split`, `Slice`,
//! `Gather`, `GatherElements`, `Squeeze`, `Unsqueeze`, `Expand`, `Tile`, `Pad`, `Resize`,
//! `Shape`, `Size`, `ConstantOfShape`, `Range`, `DepthToSpace`, `Constant`.
//!
//! Older attribute forms become constant operands: Split `split` (< 13), Slice
//! `starts/ends/axes` (< 10), Squeeze/Unsqueeze `axes` (< 13), Pad `pads`/`value` (< 11),
//! Resize 10's `(X, scales)` → `(X, _, scales, _)`.

use super::{onnx, NodeCx, OpEntry, Outs};
use crate::tensor::tensor_from_proto;
use qcc_ir::ops::{
    AxisAttrs, BlockAttrs, ConstantOfShapeAttrs, CoordMode, NearestMode, PadAttrs, PadMode,
    ReshapeAttrs, ResizeAttrs, ResizeMode, ShapeAttrs, SplitAttrs, TransposeAttrs,
};
use qcc_ir::{DType, Op, Tensor, TensorType};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("Reshape", 5, reshape),
    onnx("Flatten", 1, flatten),
    onnx("Transpose", 1, transpose),
    onnx("Concat", 4, concat),
    onnx("Split", 2, split),
    onnx("Slice", 1, slice),
    onnx("Gather", 1, gather),
    onnx("GatherElements", 11, gather),
    onnx("Squeeze", 1, squeeze),
    onnx("Unsqueeze", 1, squeeze),
    onnx("Expand", 8, expand_tile),
    onnx("Tile", 6, expand_tile),
    onnx("Pad", 2, pad),
    onnx("Resize", 10, resize),
    onnx("Shape", 1, shape),
    onnx("Size", 1, size),
    onnx("ConstantOfShape", 9, constant_of_shape),
    onnx("Range", 11, range),
    onnx("DepthToSpace", 1, depth_to_space),
    onnx("Constant", 1, constant),
];

fn reshape(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let s = cx.req(1)?;
    let dt = cx.dtype(x);
    let attrs = ReshapeAttrs { allowzero: cx.abool("allowzero", false) };
    NodeCx::one(cx.add1(Op::Reshape(attrs), &[Some(x), Some(s)], dt)?)
}

fn flatten(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::Flatten(AxisAttrs { axis: cx.ai_or("axis", 1) }), &[Some(x)], dt)?)
}

fn transpose(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let perm = cx.ausize("perm")?;
    NodeCx::one(cx.add1(Op::Transpose(TransposeAttrs { perm }), &[Some(x)], dt)?)
}

fn concat(cx: &mut NodeCx<'_>) -> Outs {
    let ins = cx.all_inputs()?;
    if ins.is_empty() || ins.iter().any(Option::is_none) {
        return Err(cx.err("every input is required"));
    }
    let axis = cx.ai("axis").ok_or_else(|| cx.err("missing axis"))?;
    let dt = cx.dtype(ins[0].expect("checked"));
    NodeCx::one(cx.add1(Op::Concat(AxisAttrs { axis }), &ins, dt)?)
}

fn split(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let axis = cx.ai_or("axis", 0);
    let n_out = cx.node.output.len();
    let mut sizes = if cx.opset < 13 {
        cx.ais("split").filter(|s| !s.is_empty()).map(|s| cx.const_i64s("split", &s))
    } else {
        cx.input(1)?
    };
    if sizes.is_none() {
        if let Some(num) = cx.ai("num_outputs") {
            if num as usize != n_out {
                return Err(cx.err(format!("num_outputs={num} but {n_out} outputs")));
            }
            // ONNX 18: chunks of ceil(len / n), the last one smaller. With a known extent
            // that is a constant sizes operand; the IR's equal split covers the divisible case.
            let ty = cx.ty(x);
            if let Some(dims) = ty.shape.dims() {
                let r = dims.len() as i64;
                let a = if axis < 0 { axis + r } else { axis };
                if let Some(len) = dims.get(a as usize).and_then(|d| d.fixed()) {
                    let chunk = len.div_ceil(n_out.max(1));
                    if len % n_out != 0 {
                        let mut v = Vec::new();
                        let mut left = len;
                        for _ in 0..n_out {
                            let c = chunk.min(left);
                            v.push(c as i64);
                            left -= c;
                        }
                        sizes = Some(cx.const_i64s("split", &v));
                    }
                }
            }
        }
    }
    let results: Vec<TensorType> = (0..n_out).map(|i| cx.out_ty(i, dt)).collect();
    let vs = cx.add(Op::Split(SplitAttrs { axis }), &[Some(x), sizes], results)?;
    Ok(vs.into_iter().map(Some).collect())
}

fn slice(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let ops = if cx.opset < 10 {
        let starts = cx.ais("starts").ok_or_else(|| cx.err("missing starts"))?;
        let ends = cx.ais("ends").ok_or_else(|| cx.err("missing ends"))?;
        let s = cx.const_i64s("starts", &starts);
        let e = cx.const_i64s("ends", &ends);
        let a = cx.ais("axes").map(|a| cx.const_i64s("axes", &a));
        vec![Some(x), Some(s), Some(e), a, None]
    } else {
        vec![Some(x), Some(cx.req(1)?), Some(cx.req(2)?), cx.input(3)?, cx.input(4)?]
    };
    NodeCx::one(cx.add1(Op::Slice, &ops, dt)?)
}

fn gather(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let i = cx.req(1)?;
    let dt = cx.dtype(x);
    let a = AxisAttrs { axis: cx.ai_or("axis", 0) };
    let op = if cx.op_type == "Gather" { Op::Gather(a) } else { Op::GatherElements(a) };
    NodeCx::one(cx.add1(op, &[Some(x), Some(i)], dt)?)
}

fn squeeze(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let axes = if cx.opset < 13 {
        cx.ais("axes").map(|a| cx.const_i64s("axes", &a))
    } else {
        cx.input(1)?
    };
    let op = if cx.op_type == "Squeeze" {
        Op::Squeeze
    } else {
        if axes.is_none() {
            return Err(cx.err("Unsqueeze needs axes"));
        }
        Op::Unsqueeze
    };
    NodeCx::one(cx.add1(op, &[Some(x), axes], dt)?)
}

fn expand_tile(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let s = cx.req(1)?;
    let dt = cx.dtype(x);
    let op = if cx.op_type == "Expand" { Op::Expand } else { Op::Tile };
    NodeCx::one(cx.add1(op, &[Some(x), Some(s)], dt)?)
}

fn pad(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let mode = match cx.astr("mode").as_deref() {
        None | Some("constant") => PadMode::Constant,
        Some("reflect") => PadMode::Reflect,
        Some("edge") => PadMode::Edge,
        Some("wrap") => PadMode::Wrap,
        Some(o) => return Err(cx.err(format!("unknown mode `{o}`"))),
    };
    let ops = if cx.opset < 11 {
        let pads = cx.ais("pads").ok_or_else(|| cx.err("missing pads"))?;
        let p = cx.const_i64s("pads", &pads);
        let value = cx.af_or("value", 0.0);
        let v = if value != 0.0 {
            if dt != DType::F32 {
                return Err(cx.unsupported(format!("Pad value on {dt}")));
            }
            Some(cx.constant("value", Tensor::scalar_f32(value)))
        } else {
            None
        };
        vec![Some(x), Some(p), v, None]
    } else {
        vec![Some(x), Some(cx.req(1)?), cx.input(2)?, cx.input(3)?]
    };
    NodeCx::one(cx.add1(Op::Pad(PadAttrs { mode }), &ops, dt)?)
}

fn resize(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    if cx.ai_or("antialias", 0) != 0 {
        return Err(cx.unsupported("antialias=1"));
    }
    if cx.has("axes") {
        return Err(cx.unsupported("axes attribute"));
    }
    match cx.astr("keep_aspect_ratio_policy").as_deref() {
        None | Some("stretch") => {}
        Some(o) => return Err(cx.unsupported(format!("keep_aspect_ratio_policy={o}"))),
    }
    let mode = match cx.astr("mode").as_deref() {
        None | Some("nearest") => ResizeMode::Nearest,
        Some("linear") => ResizeMode::Linear,
        Some("cubic") => ResizeMode::Cubic,
        Some(o) => return Err(cx.err(format!("unknown mode `{o}`"))),
    };
    let default_ctm = if cx.opset < 11 { "asymmetric" } else { "half_pixel" };
    let ctm = cx.astr("coordinate_transformation_mode").unwrap_or(default_ctm.into());
    let coordinate_transformation_mode = match ctm.as_str() {
        "half_pixel" => CoordMode::HalfPixel,
        "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
        "align_corners" => CoordMode::AlignCorners,
        "asymmetric" => CoordMode::Asymmetric,
        "tf_crop_and_resize" => CoordMode::TfCropAndResize,
        "half_pixel_symmetric" => CoordMode::HalfPixelSymmetric,
        o => return Err(cx.err(format!("unknown coordinate_transformation_mode `{o}`"))),
    };
    let nearest_mode = match cx.astr("nearest_mode").as_deref() {
        None | Some("round_prefer_floor") => NearestMode::RoundPreferFloor,
        Some("round_prefer_ceil") => NearestMode::RoundPreferCeil,
        Some("floor") => NearestMode::Floor,
        Some("ceil") => NearestMode::Ceil,
        Some(o) => return Err(cx.err(format!("unknown nearest_mode `{o}`"))),
    };
    let attrs = ResizeAttrs {
        mode,
        coordinate_transformation_mode,
        nearest_mode,
        cubic_coeff_a: cx.af_or("cubic_coeff_a", -0.75),
        exclude_outside: cx.abool("exclude_outside", false),
        extrapolation_value: cx.af_or("extrapolation_value", 0.0),
    };
    let ops = if cx.opset < 11 {
        vec![Some(x), None, Some(cx.req(1)?), None]
    } else {
        vec![Some(x), cx.input(1)?, cx.input(2)?, cx.input(3)?]
    };
    NodeCx::one(cx.add1(Op::Resize(attrs), &ops, dt)?)
}

fn shape(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let attrs = ShapeAttrs { start: cx.ai_or("start", 0), end: cx.ai("end") };
    NodeCx::one(cx.add1(Op::Shape(attrs), &[Some(x)], DType::I64)?)
}

fn size(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    NodeCx::one(cx.add1(Op::Size, &[Some(x)], DType::I64)?)
}

fn constant_of_shape(cx: &mut NodeCx<'_>) -> Outs {
    let s = cx.req(0)?;
    let (dtype, value) = match cx.atensor("value") {
        None => (DType::F32, 0.0),
        Some(tp) => {
            let t = tensor_from_proto(tp)?;
            if t.numel() != 1 {
                return Err(cx.err("value must have one element"));
            }
            (t.dtype, t.to_f64_vec()[0])
        }
    };
    let op = Op::ConstantOfShape(ConstantOfShapeAttrs { dtype, value });
    NodeCx::one(cx.add1(op, &[Some(s)], dtype)?)
}

fn range(cx: &mut NodeCx<'_>) -> Outs {
    let ops = [Some(cx.req(0)?), Some(cx.req(1)?), Some(cx.req(2)?)];
    let dt = cx.dtype(ops[0].expect("required"));
    NodeCx::one(cx.add1(Op::Range, &ops, dt)?)
}

fn depth_to_space(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let blocksize = cx.ai("blocksize").ok_or_else(|| cx.err("missing blocksize"))?;
    if blocksize < 1 {
        return Err(cx.err("blocksize < 1"));
    }
    let mode = cx.astr("mode").unwrap_or_else(|| "DCR".into());
    if mode != "DCR" && mode != "CRD" {
        return Err(cx.err(format!("unknown mode `{mode}`")));
    }
    let op = Op::DepthToSpace(BlockAttrs { blocksize: blocksize as usize, mode });
    NodeCx::one(cx.add1(op, &[Some(x)], dt)?)
}

fn constant(cx: &mut NodeCx<'_>) -> Outs {
    let t = if let Some(tp) = cx.atensor("value") {
        tensor_from_proto(tp)?
    } else if let Some(f) = cx.af("value_float") {
        Tensor::scalar_f32(f)
    } else if let Some(i) = cx.ai("value_int") {
        Tensor::i64(&[], vec![i])
    } else if cx.has("value_floats") {
        let v = cx.afs("value_floats").unwrap_or_default();
        Tensor::f32(&[v.len()], v)
    } else if cx.has("value_ints") {
        let v = cx.ais("value_ints").unwrap_or_default();
        Tensor::i64(&[v.len()], v)
    } else if cx.has("sparse_value") {
        return Err(cx.unsupported("sparse_value"));
    } else if cx.has("value_string") || cx.has("value_strings") {
        return Err(OnnxError::UnsupportedDType { name: cx.name.clone(), dtype: "STRING".into() });
    } else {
        return Err(cx.err("no value attribute"));
    };
    let name = cx.node.output.first().cloned().unwrap_or_else(|| cx.name.clone());
    NodeCx::one(cx.g().add_const(name, t))
}

use crate::error::OnnxError;
