//! ONNX-form quantized ops, imported as the IR's ONNX-form ops with their quantization
//! parameters as runtime operands: `QuantizeLinear`/`DequantizeLinear` (per tensor, per axis,
//! blocked), `DynamicQuantizeLinear`, `QLinearConv`, `QLinearMatMul`, `MatMulInteger`,
//! `ConvInteger`. The same importers serve the `com.microsoft` variants of Q/DQ.

use super::linalg::conv_attrs;
use super::{ms, onnx, NodeCx, OpEntry, Outs};
use crate::error::OnnxError;
use crate::tensor::dtype_from_onnx;
use qcc_ir::ops::QLinearAttrs;
use qcc_ir::{DType, Op, Shape, TensorType, Value};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("QuantizeLinear", 10, quantize_linear),
    onnx("DequantizeLinear", 10, dequantize_linear),
    onnx("DynamicQuantizeLinear", 11, dynamic_quantize_linear),
    onnx("QLinearConv", 10, qlinear_conv),
    onnx("QLinearMatMul", 10, qlinear_matmul),
    onnx("MatMulInteger", 10, matmul_integer),
    onnx("ConvInteger", 10, conv_integer),
    ms("QuantizeLinear", quantize_linear),
    ms("DequantizeLinear", dequantize_linear),
];

/// The qlinear attributes of a Q/DQ node.
fn qattrs(cx: &NodeCx<'_>, dtype: DType) -> Result<QLinearAttrs, OnnxError> {
    let block = cx.ai_or("block_size", 0);
    if block < 0 {
        return Err(cx.err(format!("negative block_size {block}")));
    }
    Ok(QLinearAttrs {
        axis: cx.ai_or("axis", 1),
        block_size: block as usize,
        dtype,
        saturate: cx.ai_or("saturate", 1) != 0,
    })
}

/// Quantized dtype of a QuantizeLinear: the zero point's, else `output_dtype`, else u8.
fn quantized_dtype(cx: &NodeCx<'_>, zp_slot: usize) -> Result<DType, OnnxError> {
    if let Some(zp) = cx.input(zp_slot)? {
        return Ok(cx.dtype(zp));
    }
    match cx.ai("output_dtype") {
        Some(code) if code != 0 => dtype_from_onnx(code as i32, &cx.name),
        _ => Ok(DType::U8),
    }
}

fn check_qdtype(cx: &NodeCx<'_>, d: DType) -> Result<(), OnnxError> {
    if d.is_quantizable() || d.is_minifloat() {
        Ok(())
    } else {
        Err(cx.unsupported(format!("quantized element type {d}")))
    }
}

/// A one-element zero point next to a scalar scale (`[1]` vs `[]`, which ONNX Runtime and the
/// ONNX reference accept) is reshaped to the scale's scalar shape, the IR's single form.
fn zp_like_scale(
    cx: &mut NodeCx<'_>,
    s: Value,
    zp: Option<Value>,
) -> Result<Option<Value>, OnnxError> {
    let Some(z) = zp else { return Ok(None) };
    let (st, zt) = (cx.ty(s), cx.ty(z));
    if st.shape.rank() == Some(0) && zt.shape.as_fixed().is_some_and(|d| d == [1]) {
        let shape = cx.constant("zp_shape", qcc_ir::Tensor::i64(&[0], vec![]));
        let dt = zt.dtype;
        return Ok(Some(cx.helper(
            "zp_scalar",
            Op::Reshape(Default::default()),
            &[Some(z), Some(shape)],
            dt,
        )?));
    }
    Ok(Some(z))
}

/// A constant scale must be finite and positive (a zero, negative, NaN or infinite scale has no
/// meaning and would make quantization divide by zero or produce garbage).
pub(crate) fn check_const_scale(cx: &NodeCx<'_>, s: Value) -> Result<(), OnnxError> {
    let Some(t) = cx.const_of(s) else { return Ok(()) };
    if let Some(bad) = t.to_f32_vec().into_iter().find(|x| !(x.is_finite() && *x > 0.0)) {
        return Err(cx.err(format!("scale {bad} is not a finite positive number")));
    }
    Ok(())
}

/// `QuantizeLinear(x, scale, zp?)`.
pub(crate) fn quantize_linear(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let s = cx.req(1)?;
    let zp = cx.input(2)?;
    check_const_scale(cx, s)?;
    let dt = quantized_dtype(cx, 2)?;
    check_qdtype(cx, dt)?;
    let zp = zp_like_scale(cx, s, zp)?;
    if dt == DType::I32 {
        return Err(cx.unsupported("QuantizeLinear to int32"));
    }
    let attrs = qattrs(cx, dt)?;
    NodeCx::one(cx.add1(Op::QuantizeLinear(attrs), &[Some(x), Some(s), zp], dt)?)
}

/// `DequantizeLinear(x, scale, zp?)`; the result has the scale's float type.
pub(crate) fn dequantize_linear(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let s = cx.req(1)?;
    let zp = cx.input(2)?;
    check_const_scale(cx, s)?;
    check_qdtype(cx, cx.dtype(x))?;
    let zp = zp_like_scale(cx, s, zp)?;
    let out = match cx.ai("output_dtype") {
        Some(code) if code != 0 => dtype_from_onnx(code as i32, &cx.name)?,
        _ => cx.dtype(s),
    };
    let attrs = qattrs(cx, QLinearAttrs::default().dtype)?;
    NodeCx::one(cx.add1(Op::DequantizeLinear(attrs), &[Some(x), Some(s), zp], out)?)
}

fn dynamic_quantize_linear(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let scalar = |cx: &NodeCx<'_>, i: usize, d: DType| {
        let t = cx.out_ty(i, d);
        if t.shape.rank().is_none() {
            TensorType::new(d, Shape::scalar())
        } else {
            t
        }
    };
    let tys = vec![cx.out_ty(0, DType::U8), scalar(cx, 1, DType::F32), scalar(cx, 2, DType::U8)];
    let vs = cx.add(Op::DynamicQuantizeLinear, &[Some(x)], tys)?;
    Ok(vs.into_iter().map(Some).collect())
}

fn qlinear_conv(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = conv_attrs(cx)?;
    let ops: Vec<_> =
        (0..9)
            .map(|i| {
                if i == 2 || i == 5 || i == 7 || i == 8 {
                    cx.input(i)
                } else {
                    cx.req(i).map(Some)
                }
            })
            .collect::<Result<_, _>>()?;
    let dt = match ops[7] {
        Some(zp) => cx.dtype(zp),
        None => DType::U8,
    };
    NodeCx::one(cx.add1(Op::QLinearConv(attrs), &ops, dt)?)
}

fn qlinear_matmul(cx: &mut NodeCx<'_>) -> Outs {
    let ops: Vec<_> = (0..8)
        .map(|i| if i == 2 || i == 5 || i == 7 { cx.input(i) } else { cx.req(i).map(Some) })
        .collect::<Result<_, _>>()?;
    let dt = match ops[7] {
        Some(zp) => cx.dtype(zp),
        None => DType::U8,
    };
    NodeCx::one(cx.add1(Op::QLinearMatMul, &ops, dt)?)
}

fn matmul_integer(cx: &mut NodeCx<'_>) -> Outs {
    let ops = [Some(cx.req(0)?), Some(cx.req(1)?), cx.input(2)?, cx.input(3)?];
    NodeCx::one(cx.add1(Op::MatMulInteger, &ops, DType::I32)?)
}

fn conv_integer(cx: &mut NodeCx<'_>) -> Outs {
    let attrs = conv_attrs(cx)?;
    let ops = [Some(cx.req(0)?), Some(cx.req(1)?), cx.input(2)?, cx.input(3)?];
    NodeCx::one(cx.add1(Op::ConvInteger(attrs), &ops, DType::I32)?)
}
