//! Inference for quantized ops: the ONNX form (parameters as operands) and the typed form
//! (parameters in the types, DESIGN §3).
//!
//! Typed ops whose result dtype/quantization is a choice (Quantize, Requantize, QAdd, QMul,
//! QAveragePool, QGlobalAveragePool, QConcat, Lut) keep the declared ones and infer the shape.
//! QConv and QMatMul give an i32 accumulator whose scale is `f32(sx · sw)` (per output channel
//! when the weight is per-channel) with zero point 0.

use super::linalg::{conv_shape, global_pool_shape, matmul_shape, pool_shape};
use super::{operand_label, Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Quant, Shape, TensorType};

pub(super) fn infer(cx: &Ctx<'_>) -> R<Vec<TensorType>> {
    let one = |t: TensorType| Ok(vec![t]);
    match cx.op {
        Op::QuantizeLinear(a) => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            cx.expect_dtype(1, "a float tensor", DType::is_float)?;
            if let Some(z) = cx.opt_ty(2) {
                if z.dtype != a.dtype {
                    return Err(format!(
                        "zero_point has dtype {}, the dtype attribute says {}",
                        z.dtype, a.dtype
                    ));
                }
            }
            if !(a.dtype.is_quantizable() || a.dtype.is_minifloat()) {
                return Err(format!("cannot quantize to {}", a.dtype));
            }
            one(TensorType::new(a.dtype, x.shape.clone()))
        }
        Op::DequantizeLinear(_) => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "an integer or low-precision float tensor", |d| {
                d.is_int() || d.is_minifloat()
            })?;
            cx.expect_dtype(1, "a float tensor", DType::is_float)?;
            if cx.opt_ty(2).is_some() {
                cx.same_dtype(0, 2)?;
            }
            // The result has the scale's float type (f32, or f16/bf16 scales).
            one(TensorType::new(cx.ty(1)?.dtype, x.shape.clone()))
        }
        Op::DynamicQuantizeLinear => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "a float tensor", DType::is_float)?;
            Ok(vec![
                TensorType::new(DType::U8, x.shape.clone()),
                TensorType::new(DType::F32, Shape::scalar()),
                TensorType::new(DType::U8, Shape::scalar()),
            ])
        }
        Op::QLinearConv(a) => {
            for (i, what) in [(0, "x"), (3, "w")] {
                cx.expect_dtype(i, "an 8-bit integer tensor", is_8bit)
                    .map_err(|e| format!("{e} ({what})"))?;
            }
            let shape = conv_shape(&cx.ty(0)?.shape, &cx.ty(3)?.shape, a)?;
            if cx.opt_ty(8).is_some() {
                cx.expect_dtype(8, "i32", |d| d == DType::I32)?;
                cx.expect_rank(8, 1)?;
            }
            one(TensorType::new(y_zp_dtype(cx, 7), shape))
        }
        Op::QLinearMatMul => {
            let shape = matmul_shape(&cx.ty(0)?.shape, &cx.ty(3)?.shape)?;
            one(TensorType::new(y_zp_dtype(cx, 7), shape))
        }
        Op::MatMulInteger => {
            for i in 0..2 {
                cx.expect_dtype(i, "an 8-bit integer tensor", is_8bit)?;
            }
            one(TensorType::new(DType::I32, matmul_shape(&cx.ty(0)?.shape, &cx.ty(1)?.shape)?))
        }
        Op::ConvInteger(a) => {
            for i in 0..2 {
                cx.expect_dtype(i, "an 8-bit integer tensor", is_8bit)?;
            }
            one(TensorType::new(DType::I32, conv_shape(&cx.ty(0)?.shape, &cx.ty(1)?.shape, a)?))
        }
        Op::Quantize => {
            let x = cx.ty(0)?;
            if !x.dtype.is_float() || x.quant.is_some() {
                return Err(format!("operand 0 (x) must be a float tensor, got {x}"));
            }
            one(declared_with_shape(cx, x.shape.clone())?)
        }
        Op::Dequantize => {
            let x = cx.ty(0)?;
            quantized(cx, 0)?;
            one(TensorType::new(DType::F32, x.shape.clone()))
        }
        Op::Requantize => {
            quantized(cx, 0)?;
            one(declared_with_shape(cx, cx.ty(0)?.shape.clone())?)
        }
        Op::QConv(a) => {
            let sx = per_tensor_scale(cx, 0)?;
            let wq = quantized(cx, 1)?;
            let shape = conv_shape(&cx.ty(0)?.shape, &cx.ty(1)?.shape, a)?;
            check_qbias(cx, 2)?;
            let quant = match wq {
                Quant::Tensor { scale, .. } => Quant::tensor(sx * scale, 0),
                Quant::Axis { axis: 0, scales, .. } => Quant::Axis {
                    axis: 1,
                    scales: scales.iter().map(|s| sx * s).collect(),
                    zero_points: vec![0; scales.len()],
                },
                other => {
                    return Err(format!(
                        "operand 1 (w) must be quantized per tensor or per output channel \
                         (axis 0), got <{other}>"
                    ))
                }
            };
            one(TensorType { dtype: DType::I32, shape, quant: Some(quant) })
        }
        Op::QMatMul => {
            let sa = per_tensor_scale(cx, 0)?;
            let bq = quantized(cx, 1)?;
            let b = cx.ty(1)?;
            let shape = matmul_shape(&cx.ty(0)?.shape, &b.shape)?;
            check_qbias(cx, 2)?;
            let quant = match bq {
                Quant::Tensor { scale, .. } => Quant::tensor(sa * scale, 0),
                Quant::Axis { axis, scales, .. }
                    if b.shape.rank().is_some_and(|r| r >= 2 && *axis == r - 1) =>
                {
                    let Some(out_rank) = shape.rank() else {
                        return Err("per-axis b needs operands of known rank".into());
                    };
                    Quant::Axis {
                        axis: out_rank - 1,
                        scales: scales.iter().map(|s| sa * s).collect(),
                        zero_points: vec![0; scales.len()],
                    }
                }
                other => {
                    return Err(format!(
                        "operand 1 (b) must be quantized per tensor or per column (its last \
                         axis), got <{other}>"
                    ))
                }
            };
            one(TensorType { dtype: DType::I32, shape, quant: Some(quant) })
        }
        Op::QAdd | Op::QMul => {
            quantized(cx, 0)?;
            quantized(cx, 1)?;
            let shape = super::dims::broadcast(&[&cx.ty(0)?.shape, &cx.ty(1)?.shape])?;
            one(declared_with_shape(cx, shape)?)
        }
        Op::QAveragePool(a) => {
            quantized(cx, 0)?;
            one(declared_with_shape(cx, pool_shape(&cx.ty(0)?.shape, a)?)?)
        }
        Op::QGlobalAveragePool => {
            quantized(cx, 0)?;
            one(declared_with_shape(cx, global_pool_shape(&cx.ty(0)?.shape)?)?)
        }
        Op::QConcat(a) => {
            for i in 0..cx.types.len() {
                quantized(cx, i)?;
            }
            let shape = super::shape::infer(&Ctx {
                op: &Op::Concat(*a),
                types: cx.types,
                consts: cx.consts,
                declared: cx.declared,
            })?
            .shape;
            one(declared_with_shape(cx, shape)?)
        }
        Op::Lut => {
            let x = cx.ty(0)?;
            cx.expect_dtype(0, "an 8-bit or 16-bit integer tensor", |d| {
                is_8bit(d) || d == DType::I16
            })?;
            cx.expect_rank(1, 1)?;
            let table = cx.ty(1)?;
            let entries = if is_8bit(x.dtype) { 256 } else { 65536 };
            if let Some(n) = table.shape.numel() {
                if n != entries {
                    return Err(format!(
                        "table must have {entries} entries for {}, got {}",
                        x.dtype, table.shape
                    ));
                }
            }
            let out = declared_with_shape(cx, x.shape.clone())?;
            if table.dtype != out.dtype {
                return Err(format!(
                    "table has dtype {}, the result is declared {}",
                    table.dtype, out.dtype
                ));
            }
            one(out)
        }
        other => Err(format!("{} is not a quantized op", other.name())),
    }
}

fn is_8bit(d: DType) -> bool {
    matches!(d, DType::I8 | DType::U8)
}

/// The dtype of the `y_zero_point` operand (`u8` when absent, as ONNX's default; the signature
/// makes it required, so only a direct caller of `infer_node` can omit it).
fn y_zp_dtype(cx: &Ctx<'_>, slot: usize) -> DType {
    cx.opt_ty(slot).map_or(DType::U8, |t| t.dtype)
}

/// The declared result type (dtype and quantization kept) with the inferred shape.
fn declared_with_shape(cx: &Ctx<'_>, shape: Shape) -> R<TensorType> {
    Ok(cx.declared(0)?.with_shape(shape))
}

/// The quantization of a typed operand; an error naming the operand when it is not quantized.
fn quantized<'a>(cx: &Ctx<'a>, i: usize) -> R<&'a Quant> {
    let t = cx.ty(i)?;
    match &t.quant {
        Some(q) if t.dtype.is_quantizable() => Ok(q),
        _ => Err(format!("{} must have a quantized type, got {t}", operand_label(cx.op, i))),
    }
}

/// The per-tensor scale of a quantized operand.
fn per_tensor_scale(cx: &Ctx<'_>, i: usize) -> R<f32> {
    match quantized(cx, i)? {
        Quant::Tensor { scale, .. } => Ok(*scale),
        q => Err(format!("{} must be quantized per tensor, got <{q}>", operand_label(cx.op, i))),
    }
}

/// A typed-form bias: 1-d i32 (its quantization, if any, is the accumulator's).
fn check_qbias(cx: &Ctx<'_>, slot: usize) -> R<()> {
    if cx.opt_ty(slot).is_some() {
        cx.expect_dtype(slot, "i32", |d| d == DType::I32)?;
        cx.expect_rank(slot, 1)?;
    }
    Ok(())
}
