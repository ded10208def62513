//! Typed-form quantized ops, whose parameters live in the operand and result types:
//! `Quantize`, `Dequantize`, `Requantize`, `QConv`, `QMatMul`, `QAdd`, `QMul`, `QConcat` and
//! `Lut` (the average pools are in the pooling file). Semantics are documented on the op
//! variants; every rounding and saturation goes through [`crate::qmath`].

use super::broadcast::zip;
use super::movement::concat_tensors;
use super::qconv::{int_conv, int_matmul, to_i32};
use super::quant_onnx::{dequantize_with, quantize_with};
use super::util::{
    dtype_err, float_out, floats, gather_data, mk, norm_axis, per_tensor, shape_err, Args,
    ParamIndex, R,
};
use super::OpError;
use crate::dtype::DType;
use crate::ops::ConvAttrs;
use crate::qmath;
use crate::tensor::{Data, Tensor};
use crate::types::Quant;

fn int_input(t: &Tensor, operand: usize) -> R<Vec<i32>> {
    to_i32(t, operand)
}

fn out_int(dtype: DType, shape: Vec<usize>, v: &[i64]) -> R<Tensor> {
    Tensor::from_i64_saturating(dtype, shape, v).map_err(|e| OpError::Internal(e.to_string()))
}

/// `Quantize`: float → the result type's dtype and parameters.
pub(crate) fn quantize(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let xv = floats(x, 0)?;
    let rt = a.result(0)?;
    if !rt.dtype.is_quantizable() {
        return Err(OpError::Quant(format!("result dtype {} cannot be quantized", rt.dtype)));
    }
    quantize_with(&xv, &x.shape, a.result_quant(0)?, rt.dtype)
}

/// `Dequantize`: quantized → f32 (or the result's float type).
pub(crate) fn dequantize(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let v = dequantize_with(x, a.operand_quant(0)?)?;
    let dt = a.results.first().map(|t| t.dtype).filter(|d| d.is_float()).unwrap_or(DType::F32);
    float_out(dt, x.shape.clone(), v)
}

/// `Requantize`: `saturate(round_half_even((x − zx) · f32(sx / sy)) + zy)` per element, with
/// per-tensor, per-axis or blocked parameters on either side.
pub(crate) fn requantize(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let qx = a.operand_quant(0)?;
    let qy = a.result_quant(0)?;
    let dt = a.result(0)?.dtype;
    let (lo, hi) = qmath::qrange(dt);
    let (px, py) = (ParamIndex::new(qx, &x.shape)?, ParamIndex::new(qy, &x.shape)?);
    let v = int_input(x, 0)?;
    let (sx, zx, sy, zy) = (qx.scales(), qx.zero_points(), qy.scales(), qy.zero_points());
    let out: Vec<i64> = v
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let (p, q) = (px.at(i), py.at(i));
            qmath::requantize(e as i64, zx[p], qmath::multiplier(sx[p], sy[q]), zy[q], lo, hi)
                as i64
        })
        .collect();
    out_int(dt, x.shape.clone(), &out)
}

/// The weight zero points of a typed weight: per tensor, or per output channel (axis 0).
fn weight_zps(q: &Quant, what: &str) -> R<Vec<i32>> {
    match q {
        Quant::Tensor { zero_point, .. } => Ok(vec![*zero_point]),
        Quant::Axis { axis: 0, zero_points, .. } => Ok(zero_points.clone()),
        _ => Err(OpError::Quant(format!(
            "{what} must be quantized per tensor or per output channel (axis 0)"
        ))),
    }
}

fn bias_vals(a: &Args<'_>, i: usize) -> R<Option<Vec<i32>>> {
    match a.opt(i) {
        None => Ok(None),
        Some(t) if t.dtype == DType::I32 => Ok(Some(to_i32(t, i)?)),
        Some(t) => Err(dtype_err(i, t.dtype)),
    }
}

/// `QConv(x, w, bias?)` → i32 accumulator `Σ (x − zx)(w − zw) + bias`.
pub(crate) fn qconv(a: &Args<'_>, at: &ConvAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let (x, w) = (a.req(0)?, a.req(1)?);
    let (_, zx) = per_tensor(a.operand_quant(0)?, "QConv input")?;
    let zw = weight_zps(a.operand_quant(1)?, "QConv weight")?;
    let bias = bias_vals(a, 2)?;
    let (acc, shape) = int_conv(x, zx, w, &zw, bias.as_deref(), at)?;
    mk(DType::I32, shape, Data::I32(acc))
}

/// `QMatMul(a, b, bias?)` → i32 accumulator `Σ (a − za)(b − zb) + bias`; b may be quantized per
/// column (its last axis), bias broadcasts over the result.
pub(crate) fn qmatmul(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 3)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    let (_, za) = per_tensor(a.operand_quant(0)?, "QMatMul A")?;
    let zb = match a.operand_quant(1)? {
        Quant::Tensor { zero_point, .. } => vec![*zero_point],
        Quant::Axis { axis, zero_points, .. } if y.rank() >= 2 && *axis == y.rank() - 1 => {
            zero_points.clone()
        }
        _ => {
            return Err(OpError::Quant(
                "QMatMul B must be quantized per tensor or per column".into(),
            ))
        }
    };
    let (mut acc, shape) = int_matmul(x, &[za], y, &zb)?;
    if let Some(bt) = a.opt(2) {
        if bt.dtype != DType::I32 {
            return Err(dtype_err(2, bt.dtype));
        }
        let idx = super::broadcast::broadcast_index(&bt.shape, &shape)?;
        let bv = bt.as_i32().map_err(|e| OpError::Internal(e.to_string()))?;
        for (v, &i) in acc.iter_mut().zip(&idx) {
            *v = v.wrapping_add(bv[i]);
        }
    }
    mk(DType::I32, shape, Data::I32(acc))
}

/// Per-tensor (scale, zero point) of both operands and the result, and the result dtype.
type BinParams = ((f32, i32), (f32, i32), (f32, i32), DType);

fn binary_params(a: &Args<'_>) -> R<BinParams> {
    let pa = per_tensor(a.operand_quant(0)?, "operand 0")?;
    let pb = per_tensor(a.operand_quant(1)?, "operand 1")?;
    let py = per_tensor(a.result_quant(0)?, "the result")?;
    Ok((pa, pb, py, a.result(0)?.dtype))
}

/// `QAdd(a, b)`: `saturate(round_half_even((a − za)·f32(sa/sy) + (b − zb)·f32(sb/sy)) + zy)`.
pub(crate) fn qadd(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    let ((sa, za), (sb, zb), (sy, zy), dt) = binary_params(a)?;
    let (lo, hi) = qmath::qrange(dt);
    let (ma, mb) = (qmath::multiplier(sa, sy), qmath::multiplier(sb, sy));
    let (p, q) = (int_input(x, 0)?, int_input(y, 1)?);
    let (v, s) = zip(&p, &x.shape, &q, &y.shape, |u, w| {
        let t = ((u as i64 - za as i64) as f32) * ma + ((w as i64 - zb as i64) as f32) * mb;
        qmath::round_saturate(t, zy, lo, hi) as i64
    })?;
    out_int(dt, s, &v)
}

/// `QMul(a, b)`: `saturate(round_half_even(f32((a − za)(b − zb)) · f32(sa·sb/sy)) + zy)`.
pub(crate) fn qmul(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    let ((sa, za), (sb, zb), (sy, zy), dt) = binary_params(a)?;
    let (lo, hi) = qmath::qrange(dt);
    let m = qmath::product_multiplier(sa, sb, sy);
    let (p, q) = (int_input(x, 0)?, int_input(y, 1)?);
    let (v, s) = zip(&p, &x.shape, &q, &y.shape, |u, w| {
        let prod = (u as i64 - za as i64) * (w as i64 - zb as i64);
        qmath::requantize(prod, 0, m, zy, lo, hi) as i64
    })?;
    out_int(dt, s, &v)
}

/// `QConcat(xs...)`: every operand requantized to the result's parameters, then concatenated.
pub(crate) fn qconcat(a: &Args<'_>, axis: i64) -> R<Tensor> {
    a.arity(1, usize::MAX)?;
    let (sy, zy) = per_tensor(a.result_quant(0)?, "QConcat result")?;
    let dt = a.result(0)?.dtype;
    let (lo, hi) = qmath::qrange(dt);
    let mut parts = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let x = a.req(i)?;
        let (sx, zx) = per_tensor(a.operand_quant(i)?, "QConcat operand")?;
        let m = qmath::multiplier(sx, sy);
        let v: Vec<i64> = int_input(x, i)?
            .into_iter()
            .map(|e| qmath::requantize(e as i64, zx, m, zy, lo, hi) as i64)
            .collect();
        parts.push(out_int(dt, x.shape.clone(), &v)?);
    }
    let refs: Vec<&Tensor> = parts.iter().collect();
    let ax = norm_axis(axis, refs[0].rank())?;
    concat_tensors(&refs, ax)
}

/// `Lut(x, table)`: `y = table[x − min(dtype(x))]`.
pub(crate) fn lut(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, t) = (a.req(0)?, a.req(1)?);
    let (lo, hi) = match x.dtype {
        DType::I8 | DType::U8 | DType::I4 | DType::U4 | DType::I16 => qmath::qrange(x.dtype),
        d => return Err(dtype_err(0, d)),
    };
    let n = (hi - lo + 1) as usize;
    if t.rank() != 1 || t.numel() != n {
        return Err(shape_err(format!(
            "table {:?} must have {n} entries for {}",
            t.shape, x.dtype
        )));
    }
    let idx: Vec<usize> = to_i32(x, 0)?
        .into_iter()
        .map(|e| {
            if e < lo || e > hi {
                Err(super::util::value_err(format!("{e} outside the range of {}", x.dtype)))
            } else {
                Ok((e - lo) as usize)
            }
        })
        .collect::<R<_>>()?;
    mk(t.dtype, x.shape.clone(), gather_data(&t.data, &idx))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;
    use crate::types::TensorType;

    fn qt(d: DType, shape: &[usize], s: f32, z: i32) -> TensorType {
        TensorType::fixed(d, shape).with_quant(Quant::tensor(s, z))
    }

    #[test]
    fn quantize_dequantize_typed_per_axis() {
        let x = Tensor::f32(&[2, 2], vec![0.25, 0.75, -1.25, 100.]);
        let q = Quant::Axis { axis: 0, scales: vec![0.5, 0.5], zero_points: vec![0, 5] };
        let rt = TensorType::fixed(DType::I8, &[2, 2]).with_quant(q.clone());
        let r = evt(&Op::Quantize, &[(Some(&x), None)], std::slice::from_ref(&rt)).unwrap();
        // 0.5 → 0, 1.5 → 2, −2.5 → −2 + 5 = 3, 200 + 5 → 127
        assert_eq!(r[0].as_i8().unwrap(), &[0, 2, 3, 127]);
        let d = evt(
            &Op::Dequantize,
            &[(Some(&r[0]), Some(&rt))],
            &[TensorType::fixed(DType::F32, &[2, 2])],
        )
        .unwrap();
        assert_eq!(d[0].as_f32().unwrap(), &[0., 1., -1., 61.]);
        assert!(evt(&Op::Quantize, &[(Some(&x), None)], &[TensorType::fixed(DType::I8, &[2, 2])])
            .is_err());
    }

    #[test]
    fn requantize_per_channel_ties() {
        let x = Tensor::i32(&[1, 2, 2], vec![5, 7, -5, 300]);
        let tx = TensorType::fixed(DType::I32, &[1, 2, 2]).with_quant(Quant::Axis {
            axis: 1,
            scales: vec![0.5, 0.25],
            zero_points: vec![0, 0],
        });
        let ty = qt(DType::I8, &[1, 2, 2], 1.0, 1);
        let r = evt(&Op::Requantize, &[(Some(&x), Some(&tx))], &[ty]).unwrap();
        // ch0 ·0.5: 2.5→2, 3.5→4; ch1 ·0.25: −1.25→−1, 75 → +1.
        assert_eq!(r[0].as_i8().unwrap(), &[3, 5, 0, 76]);
        let ty = qt(DType::U8, &[1, 2, 2], 0.01, 0);
        let r = evt(&Op::Requantize, &[(Some(&x), Some(&tx))], &[ty]).unwrap();
        assert_eq!(r[0].as_u8().unwrap(), &[250, 255, 0, 255]);
    }

    #[test]
    fn qconv_padding_is_zero_point_and_bias() {
        let x = Tensor::u8(&[1, 1, 1, 2], vec![10, 12]);
        let w = Tensor::i8(&[1, 1, 1, 3], vec![1, 2, 3]);
        let b = Tensor::i32(&[1], vec![100]);
        let tx = qt(DType::U8, &[1, 1, 1, 2], 0.1, 10);
        let tw = qt(DType::I8, &[1, 1, 1, 3], 0.2, 1);
        let at = ConvAttrs { pads: vec![0, 1, 0, 1], ..Default::default() };
        let r = evt(
            &Op::QConv(at),
            &[(Some(&x), Some(&tx)), (Some(&w), Some(&tw)), (Some(&b), None)],
            &[TensorType::fixed(DType::I32, &[1, 1, 1, 2])],
        )
        .unwrap();
        // x − zx = [0, 2], w − zw = [0, 1, 2]; windows [pad,0,2] → 0·0+0·1+2·2 = 4; [0,2,pad] → 2.
        assert_eq!(r[0].as_i32().unwrap(), &[104, 102]);
        assert!(evt(
            &Op::QConv(ConvAttrs::default()),
            &[(Some(&x), None), (Some(&w), Some(&tw))],
            &[]
        )
        .is_err());
    }

    #[test]
    fn qmatmul_per_column_and_bias() {
        let a = Tensor::i8(&[1, 2], vec![3, 4]);
        let b = Tensor::i8(&[2, 2], vec![1, 2, 3, 4]);
        let ta = qt(DType::I8, &[1, 2], 1.0, 1);
        let tb = TensorType::fixed(DType::I8, &[2, 2]).with_quant(Quant::Axis {
            axis: 1,
            scales: vec![1.0, 1.0],
            zero_points: vec![1, 0],
        });
        let bias = Tensor::i32(&[2], vec![10, -10]);
        let r = evt(
            &Op::QMatMul,
            &[(Some(&a), Some(&ta)), (Some(&b), Some(&tb)), (Some(&bias), None)],
            &[TensorType::fixed(DType::I32, &[1, 2])],
        )
        .unwrap();
        // a − 1 = [2, 3]; b − zb = [[0, 2], [2, 4]] → [6, 16] + bias.
        assert_eq!(r[0].as_i32().unwrap(), &[16, 6]);
    }

    #[test]
    fn qadd_qmul_broadcast_round_saturate() {
        let a = Tensor::u8(&[2], vec![130, 255]);
        let b = Tensor::u8(&[1], vec![129]);
        let ta = qt(DType::U8, &[2], 0.5, 128);
        let tb = qt(DType::U8, &[1], 0.25, 128);
        let ty = qt(DType::U8, &[2], 1.0, 100);
        let r = evt(
            &Op::QAdd,
            &[(Some(&a), Some(&ta)), (Some(&b), Some(&tb))],
            std::slice::from_ref(&ty),
        )
        .unwrap();
        // 2·0.5 + 1·0.25 = 1.25 → 1 → 101; 127·0.5 + 0.25 = 63.75 → 64 → 164
        assert_eq!(r[0].as_u8().unwrap(), &[101, 164]);
        let r = evt(
            &Op::QMul,
            &[(Some(&a), Some(&ta)), (Some(&b), Some(&tb))],
            std::slice::from_ref(&ty),
        )
        .unwrap();
        // 2·1·0.125 = 0.25 → 0 → 100; 127·0.125 = 15.875 → 16 → 116
        assert_eq!(r[0].as_u8().unwrap(), &[100, 116]);
        let ty2 = qt(DType::I8, &[2], 0.01, 0);
        let r = evt(&Op::QAdd, &[(Some(&a), Some(&ta)), (Some(&b), Some(&tb))], &[ty2]).unwrap();
        assert_eq!(r[0].as_i8().unwrap(), &[125, 127]);
        let b3 = Tensor::u8(&[3], vec![1, 2, 3]);
        assert!(evt(&Op::QAdd, &[(Some(&a), Some(&ta)), (Some(&b3), Some(&tb))], &[ty]).is_err());
    }

    #[test]
    fn qconcat_requantizes_each_operand() {
        let a = Tensor::i8(&[1], vec![10]);
        let b = Tensor::i8(&[2], vec![5, -128]);
        let ta = qt(DType::I8, &[1], 0.5, 0);
        let tb = qt(DType::I8, &[2], 0.25, 1);
        let ty = qt(DType::I8, &[3], 0.5, 2);
        let r = evt(
            &Op::QConcat(crate::ops::AxisAttrs { axis: 0 }),
            &[(Some(&a), Some(&ta)), (Some(&b), Some(&tb))],
            &[ty],
        )
        .unwrap();
        // a: 10·1 + 2 = 12; b: (5−1)·0.5 = 2 → 4; (−129)·0.5 = −64.5 → −64 → −62
        assert_eq!(r[0].as_i8().unwrap(), &[12, 4, -62]);
    }

    #[test]
    fn lut_i8_and_errors() {
        let x = Tensor::i8(&[3], vec![-128, 0, 127]);
        let table = Tensor::u8(&[256], (0..256).map(|i| (255 - i) as u8).collect());
        let r = ev1(&Op::Lut, &[&x, &table]);
        assert_eq!(r.as_u8().unwrap(), &[255, 127, 0]);
        let short = Tensor::u8(&[16], vec![0; 16]);
        assert!(matches!(ev_err(&Op::Lut, &[&x, &short]), OpError::Shape(_)));
        let xi = Tensor::i32(&[1], vec![0]);
        assert!(matches!(ev_err(&Op::Lut, &[&xi, &table]), OpError::DType { .. }));
    }

    #[test]
    fn lut_i16_has_65536_entries() {
        let x = Tensor::from_i64_saturating(DType::I16, vec![3], &[-32768, 0, 32767]).unwrap();
        let table = Tensor::u8(&[65536], (0..65536).map(|i| (i >> 8) as u8).collect());
        let r = ev1(&Op::Lut, &[&x, &table]);
        assert_eq!(r.as_u8().unwrap(), &[0, 128, 255]);
        let byte_table = Tensor::u8(&[256], vec![0; 256]);
        assert!(matches!(ev_err(&Op::Lut, &[&x, &byte_table]), OpError::Shape(_)));
    }
}
