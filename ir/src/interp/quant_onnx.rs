//! ONNX-form quantized ops, whose parameters are runtime operands: `QuantizeLinear` and
//! `DequantizeLinear` (per tensor, per axis, blocked), `DynamicQuantizeLinear`, `QLinearConv`,
//! `QLinearMatMul`, `MatMulInteger` and `ConvInteger`. Integer arithmetic goes through
//! [`crate::qmath`]; the low-precision float targets (float8, float4) compute
//! `convert(x / scale + zero_point)` in f32 and `(x − zero_point) · scale`, as the ONNX reference.

use super::qconv::{int_conv, int_matmul, to_i32};
use super::util::{dtype_err, float_out, floats, mk, norm_axis, shape_err, Args, ParamIndex, R};
use super::OpError;
use crate::dtype::DType;
use crate::ops::{ConvAttrs, QLinearAttrs};
use crate::qmath;
use crate::tensor::{Data, Tensor};
use crate::types::Quant;

fn zp_list(t: Option<&Tensor>, operand: usize) -> R<Vec<i32>> {
    match t {
        None => Ok(vec![0]),
        Some(t) => to_i32(t, operand),
    }
}

fn scale_list(t: &Tensor, operand: usize) -> R<Vec<f32>> {
    let v = floats(t, operand)?.into_owned();
    if v.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(OpError::Quant(format!(
            "operand {operand} has a non-positive or non-finite scale"
        )));
    }
    Ok(v)
}

/// Builds the [`Quant`] of ONNX (scale, zero point) operands for a tensor of `shape`.
fn onnx_quant(shape: &[usize], scale: &Tensor, zp: Option<&Tensor>, at: &QLinearAttrs) -> R<Quant> {
    let scales = scale_list(scale, 1)?;
    let mut zps = zp_list(zp, 2)?;
    if zp.is_some() && zp.map(|z| &z.shape) != Some(&scale.shape) {
        return Err(shape_err("scale and zero point shapes differ"));
    }
    if zp.is_none() {
        zps = vec![0; scales.len()];
    }
    if scale.numel() == 1 && scale.rank() <= 1 && at.block_size == 0 {
        return Ok(Quant::tensor(scales[0], zps[0]));
    }
    let axis = norm_axis(at.axis, shape.len())?;
    if at.block_size > 0 {
        let mut want = shape.to_vec();
        want[axis] = shape[axis].div_ceil(at.block_size);
        if scale.shape != want {
            return Err(shape_err(format!("blocked scale {:?} must be {want:?}", scale.shape)));
        }
        return Ok(Quant::Block { axis, block: at.block_size, scales, zero_points: zps });
    }
    if scale.rank() != 1 || scale.numel() != shape[axis] {
        return Err(shape_err(format!(
            "per-axis scale {:?} for axis {axis} of {shape:?}",
            scale.shape
        )));
    }
    Ok(Quant::Axis { axis, scales, zero_points: zps })
}

/// Quantizes float values with `q` into `dtype`.
pub(crate) fn quantize_with(x: &[f32], shape: &[usize], q: &Quant, dtype: DType) -> R<Tensor> {
    let pi = ParamIndex::new(q, shape)?;
    let (lo, hi) = qmath::qrange(dtype);
    let (s, z) = (q.scales(), q.zero_points());
    let v: Vec<i64> = x
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let p = pi.at(i);
            qmath::quantize(e, s[p], z[p], lo, hi) as i64
        })
        .collect();
    Tensor::from_i64_saturating(dtype, shape.to_vec(), &v)
        .map_err(|e| OpError::Internal(e.to_string()))
}

/// Dequantizes integer values with `q` into f32.
pub(crate) fn dequantize_with(x: &Tensor, q: &Quant) -> R<Vec<f32>> {
    let pi = ParamIndex::new(q, &x.shape)?;
    let (s, z) = (q.scales(), q.zero_points());
    let v = to_i32(x, 0)?;
    Ok(v.iter()
        .enumerate()
        .map(|(i, &e)| {
            let p = pi.at(i);
            qmath::dequantize(e, s[p], z[p])
        })
        .collect())
}

fn check_qdtype(d: DType, operand: usize) -> R<()> {
    if d.is_quantizable() || d.is_minifloat() {
        Ok(())
    } else {
        Err(dtype_err(operand, d))
    }
}

/// `QuantizeLinear(x, scale, zero_point?)`: the result type is the zero point's, else `dtype`.
pub(crate) fn quantize_linear(a: &Args<'_>, at: &QLinearAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let x = a.req(0)?;
    let xv: Vec<f32> = match &x.data {
        Data::F32(_) | Data::F16(_) | Data::BF16(_) => floats(x, 0)?.into_owned(),
        Data::I32(v) => v.iter().map(|&e| e as f32).collect(),
        _ => return Err(dtype_err(0, x.dtype)),
    };
    let zp = a.opt(2);
    let dtype = zp.map_or(at.dtype, |z| z.dtype);
    check_qdtype(dtype, 2)?;
    if dtype.is_minifloat() {
        let (q, z) = minifloat_params(&x.shape, a.req(1)?, zp, at)?;
        let pi = ParamIndex::new(&q, &x.shape)?;
        let s = q.scales();
        let v: Vec<f32> =
            xv.iter().enumerate().map(|(i, &e)| e / s[pi.at(i)] + z[pi.at(i)]).collect();
        let data = Data::minifloat_from_f32(dtype, &v, at.saturate)
            .ok_or_else(|| OpError::Internal(format!("{dtype} is not a minifloat")))?;
        return mk(dtype, x.shape.clone(), data);
    }
    let q = onnx_quant(&x.shape, a.req(1)?, zp, at)?;
    quantize_with(&xv, &x.shape, &q, dtype)
}

/// The scales (with zero zero points, for indexing) and the float zero points of a quantization
/// to a low-precision float type; the zero point must have the scale's shape.
fn minifloat_params(
    shape: &[usize],
    scale: &Tensor,
    zp: Option<&Tensor>,
    at: &QLinearAttrs,
) -> R<(Quant, Vec<f32>)> {
    let q = onnx_quant(shape, scale, None, at)?;
    let z = match zp {
        Some(z) if z.shape != scale.shape => {
            return Err(shape_err("scale and zero point shapes differ"))
        }
        Some(z) => z.to_f32_vec(),
        None => vec![0.0; q.scales().len()],
    };
    Ok((q, z))
}

/// `DequantizeLinear(x, scale, zero_point?)`: the result has the scale's float type.
pub(crate) fn dequantize_linear(a: &Args<'_>, at: &QLinearAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let x = a.req(0)?;
    check_qdtype(x.dtype, 0)?;
    let zp = a.opt(2);
    if let Some(z) = zp {
        if z.dtype != x.dtype {
            return Err(dtype_err(2, z.dtype));
        }
    }
    let scale = a.req(1)?;
    if x.dtype.is_minifloat() {
        let (q, z) = minifloat_params(&x.shape, scale, zp, at)?;
        let pi = ParamIndex::new(&q, &x.shape)?;
        let s = q.scales();
        let v: Vec<f32> = x
            .to_f32_vec()
            .iter()
            .enumerate()
            .map(|(i, &e)| (e - z[pi.at(i)]) * s[pi.at(i)])
            .collect();
        return float_out(scale.dtype, x.shape.clone(), v);
    }
    let q = onnx_quant(&x.shape, scale, zp, at)?;
    let v = dequantize_with(x, &q)?;
    float_out(scale.dtype, x.shape.clone(), v)
}

/// `DynamicQuantizeLinear(x)` → (y: u8, scale, zero point), per the ONNX formula with the range
/// extended to include 0; an all-zero range uses scale 1 (as ONNX Runtime).
pub(crate) fn dynamic_quantize_linear(a: &Args<'_>) -> R<Vec<Tensor>> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let v = floats(x, 0)?;
    let (mut mn, mut mx) = (0f32, 0f32);
    for &e in v.iter() {
        if e < mn {
            mn = e;
        }
        if e > mx {
            mx = e;
        }
    }
    let (qmin, qmax) = (0f32, 255f32);
    let scale = if mx == mn { 1.0 } else { (mx - mn) / (qmax - qmin) };
    let init = qmin - mn / scale;
    let zp = qmath::round_half_even(init.clamp(qmin, qmax)) as i32;
    let y = quantize_with(&v, &x.shape, &Quant::tensor(scale, zp), DType::U8)?;
    Ok(vec![y, Tensor::scalar_f32(scale), Tensor::u8(&[], vec![zp as u8])])
}

fn per_channel(v: Vec<f32>, m: usize, what: &str) -> R<Vec<f32>> {
    if v.len() == 1 || v.len() == m {
        Ok(v)
    } else {
        Err(shape_err(format!("{what} has {} values for {m} channels", v.len())))
    }
}

/// Requantizes i32 accumulators laid out [outer, m, inner] with per-channel multipliers.
#[allow(clippy::too_many_arguments)]
fn requant_acc(
    acc: &[i32],
    shape: Vec<usize>,
    inner: usize,
    m: usize,
    sx: f32,
    sw: &[f32],
    sy: f32,
    zy: i32,
    dtype: DType,
) -> R<Tensor> {
    let (lo, hi) = qmath::qrange(dtype);
    let mult: Vec<f32> = (0..m)
        .map(|c| qmath::product_multiplier(sx, sw[if sw.len() == 1 { 0 } else { c }], sy))
        .collect();
    let v: Vec<i64> = acc
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            qmath::requantize(e as i64, 0, mult[(i / inner.max(1)) % m.max(1)], zy, lo, hi) as i64
        })
        .collect();
    Tensor::from_i64_saturating(dtype, shape, &v).map_err(|e| OpError::Internal(e.to_string()))
}

fn scalar_zp(t: &Tensor, operand: usize) -> R<i32> {
    let v = to_i32(t, operand)?;
    if v.len() != 1 {
        return Err(shape_err(format!("operand {operand} must be a per-tensor zero point")));
    }
    Ok(v[0])
}

fn scalar_scale(t: &Tensor, operand: usize) -> R<f32> {
    let v = scale_list(t, operand)?;
    if v.len() != 1 {
        return Err(shape_err(format!("operand {operand} must be a per-tensor scale")));
    }
    Ok(v[0])
}

fn bias_i32(b: Option<&Tensor>, operand: usize) -> R<Option<Vec<i32>>> {
    match b {
        None => Ok(None),
        Some(t) if t.dtype == DType::I32 => Ok(Some(to_i32(t, operand)?)),
        Some(t) => Err(dtype_err(operand, t.dtype)),
    }
}

fn check8(t: &Tensor, operand: usize) -> R<()> {
    match t.data {
        Data::I8(_) | Data::U8(_) => Ok(()),
        _ => Err(dtype_err(operand, t.dtype)),
    }
}

/// `QLinearConv(x, sx, zx, w, sw, zw, sy, zy, b?)`.
pub(crate) fn qlinear_conv(a: &Args<'_>, at: &ConvAttrs) -> R<Tensor> {
    a.arity(8, 9)?;
    let (x, w) = (a.req(0)?, a.req(3)?);
    check8(x, 0)?;
    check8(w, 3)?;
    let sx = scalar_scale(a.req(1)?, 1)?;
    let zx = scalar_zp(a.req(2)?, 2)?;
    let m = w.shape.first().copied().unwrap_or(0);
    let sw = per_channel(scale_list(a.req(4)?, 4)?, m, "w_scale")?;
    let zw = to_i32(a.req(5)?, 5)?;
    let sy = scalar_scale(a.req(6)?, 6)?;
    let zyt = a.req(7)?;
    let zy = scalar_zp(zyt, 7)?;
    let bias = bias_i32(a.opt(8), 8)?;
    let (acc, shape) = int_conv(x, zx, w, &zw, bias.as_deref(), at)?;
    let inner: usize = shape[2..].iter().product();
    requant_acc(&acc, shape, inner, m, sx, &sw, sy, zy, zyt.dtype)
}

/// `QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)`; a's parameters may be per row (len M) and
/// b's per column (len N): each result element uses `product_multiplier(sa[i], sb[j], sy)`.
pub(crate) fn qlinear_matmul(a: &Args<'_>) -> R<Tensor> {
    a.arity(8, 8)?;
    let (x, y) = (a.req(0)?, a.req(3)?);
    check8(x, 0)?;
    check8(y, 3)?;
    let sa = scale_list(a.req(1)?, 1)?;
    let za = to_i32(a.req(2)?, 2)?;
    let sb = scale_list(a.req(4)?, 4)?;
    let zb = to_i32(a.req(5)?, 5)?;
    let sy = scalar_scale(a.req(6)?, 6)?;
    let zyt = a.req(7)?;
    let zy = scalar_zp(zyt, 7)?;
    let (acc, shape) = int_matmul(x, &za, y, &zb)?;
    let m = if x.rank() > 1 { x.shape[x.rank() - 2] } else { 1 };
    let n = if y.rank() > 1 { y.shape[y.rank() - 1] } else { 1 };
    let sa = per_channel(sa, m, "a_scale")?;
    let sb = per_channel(sb, n, "b_scale")?;
    let (lo, hi) = qmath::qrange(zyt.dtype);
    let pick = |v: &[f32], i: usize| v[if v.len() == 1 { 0 } else { i }];
    let v: Vec<i64> = acc
        .iter()
        .enumerate()
        .map(|(e, &q)| {
            let (i, j) = ((e / n.max(1)) % m.max(1), e % n.max(1));
            let mult = qmath::product_multiplier(pick(&sa, i), pick(&sb, j), sy);
            qmath::requantize(q as i64, 0, mult, zy, lo, hi) as i64
        })
        .collect();
    Tensor::from_i64_saturating(zyt.dtype, shape, &v).map_err(|e| OpError::Internal(e.to_string()))
}

/// `MatMulInteger(a, b, za?, zb?)` → i32.
pub(crate) fn matmul_integer(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 4)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    check8(x, 0)?;
    check8(y, 1)?;
    let za = zp_list(a.opt(2), 2)?;
    let zb = zp_list(a.opt(3), 3)?;
    let (acc, shape) = int_matmul(x, &za, y, &zb)?;
    mk(DType::I32, shape, Data::I32(acc))
}

/// `ConvInteger(x, w, zx?, zw?)` → i32.
pub(crate) fn conv_integer(a: &Args<'_>, at: &ConvAttrs) -> R<Tensor> {
    a.arity(2, 4)?;
    let (x, w) = (a.req(0)?, a.req(1)?);
    check8(x, 0)?;
    check8(w, 1)?;
    let zx = match a.opt(2) {
        Some(t) => scalar_zp(t, 2)?,
        None => 0,
    };
    let zw = zp_list(a.opt(3), 3)?;
    let (acc, shape) = int_conv(x, zx, w, &zw, None, at)?;
    mk(DType::I32, shape, Data::I32(acc))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;

    fn ql(axis: i64, block: usize) -> QLinearAttrs {
        QLinearAttrs { axis, block_size: block, dtype: DType::U8, saturate: true }
    }

    #[test]
    fn quantize_linear_ties_saturation_zero_point() {
        let x = Tensor::f32(&[6], vec![0.5, 1.5, 2.5, -1000., 1000., -0.5]);
        let s = Tensor::scalar_f32(1.0);
        let z = Tensor::i8(&[], vec![-3]);
        let r = ev1(&Op::QuantizeLinear(ql(1, 0)), &[&x, &s, &z]);
        assert_eq!(r.dtype, DType::I8);
        assert_eq!(r.as_i8().unwrap(), &[-3, -1, -1, -128, 127, -3]);
        let zu = Tensor::u8(&[], vec![128]);
        let r = ev1(&Op::QuantizeLinear(ql(1, 0)), &[&x, &s, &zu]);
        assert_eq!(r.as_u8().unwrap(), &[128, 130, 130, 0, 255, 128]);
        let r = ev1(&Op::QuantizeLinear(ql(1, 0)), &[&x, &s]);
        assert_eq!(r.dtype, DType::U8);
        assert_eq!(r.as_u8().unwrap(), &[0, 2, 2, 0, 255, 0]);
    }

    #[test]
    fn per_axis_and_blocked() {
        let x = Tensor::f32(&[2, 2], vec![1., 2., 3., 4.]);
        let s = Tensor::f32(&[2], vec![1., 2.]);
        let z = Tensor::i8(&[2], vec![0, 10]);
        let r = ev1(&Op::QuantizeLinear(ql(0, 0)), &[&x, &s, &z]);
        assert_eq!(r.as_i8().unwrap(), &[1, 2, 12, 12]);
        let r = ev1(&Op::QuantizeLinear(ql(-1, 0)), &[&x, &s, &z]);
        assert_eq!(r.as_i8().unwrap(), &[1, 11, 3, 12]);
        let d = ev1(&Op::DequantizeLinear(ql(-1, 0)), &[&r, &s, &z]);
        assert_eq!(d.as_f32().unwrap(), &[1., 2., 3., 4.]);
        // blocked: [1, 4] with block 2 along axis 1 → scales [1, 2].
        let x = Tensor::f32(&[1, 4], vec![1., 2., 3., 5.]);
        let s = Tensor::f32(&[1, 2], vec![1., 2.]);
        let z = Tensor::i8(&[1, 2], vec![0, 0]);
        let r = ev1(&Op::QuantizeLinear(ql(1, 2)), &[&x, &s, &z]);
        assert_eq!(r.as_i8().unwrap(), &[1, 2, 2, 2]); // 1.5 → 2, 2.5 → 2
        let bad = Tensor::f32(&[3], vec![1.; 3]);
        assert!(ev(&Op::QuantizeLinear(ql(1, 0)), &[&x, &bad]).is_err());
        let zero = Tensor::scalar_f32(0.0);
        assert!(matches!(ev_err(&Op::QuantizeLinear(ql(1, 0)), &[&x, &zero]), OpError::Quant(_)));
    }

    #[test]
    fn quantize_linear_int4_and_f16_input() {
        let x = Tensor::new(
            vec![4],
            Data::F16(vec![
                half::f16::from_f32(-20.0),
                half::f16::from_f32(2.5),
                half::f16::from_f32(3.5),
                half::f16::from_f32(20.0),
            ]),
        )
        .unwrap();
        let s = Tensor::scalar_f32(1.0);
        let z = Tensor::with_dtype(DType::I4, vec![], Data::I8(vec![1])).unwrap();
        let r = ev1(&Op::QuantizeLinear(ql(0, 0)), &[&x, &s, &z]);
        assert_eq!(r.dtype, DType::I4);
        assert_eq!(r.as_i8().unwrap(), &[-8, 3, 5, 7]);
        let d = ev1(&Op::DequantizeLinear(ql(0, 0)), &[&r, &s, &z]);
        assert_eq!(d.as_f32().unwrap(), &[-9.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    fn dequantize_linear_i32_and_u8() {
        let x = Tensor::u8(&[3], vec![0, 128, 255]);
        let s = Tensor::scalar_f32(0.5);
        let z = Tensor::u8(&[], vec![128]);
        assert_eq!(
            ev1(&Op::DequantizeLinear(ql(1, 0)), &[&x, &s, &z]).as_f32().unwrap(),
            &[-64., 0., 63.5]
        );
        let xi = Tensor::i32(&[2], vec![-4, 6]);
        assert_eq!(ev1(&Op::DequantizeLinear(ql(1, 0)), &[&xi, &s]).as_f32().unwrap(), &[-2., 3.]);
    }

    #[test]
    fn dynamic_quantize_linear_onnx_example() {
        // ONNX doc example: x = [0, 2, -3, -2.5, 1.34, 0.5] → scale 5/255, zp 153.
        let x = Tensor::f32(&[6], vec![0., 2., -3., -2.5, 1.34, 0.5]);
        let r = evo(&Op::DynamicQuantizeLinear, &[Some(&x)], 3).unwrap();
        assert_eq!(r[1].as_f32().unwrap(), &[5.0 / 255.0]);
        assert_eq!(r[2].as_u8().unwrap(), &[153]);
        assert_eq!(r[0].as_u8().unwrap(), &[153, 255, 0, 26, 221, 179]);
        let z = Tensor::f32(&[2], vec![0., 0.]);
        let r = evo(&Op::DynamicQuantizeLinear, &[Some(&z)], 3).unwrap();
        assert_eq!(r[1].as_f32().unwrap(), &[1.0]);
        assert_eq!(r[0].as_u8().unwrap(), &[0, 0]);
    }

    #[test]
    fn qlinear_matmul_by_hand() {
        // ONNX doc example of QLinearMatMul.
        let a = Tensor::u8(&[2, 4], vec![208, 236, 0, 238, 3, 214, 255, 29]);
        let b = Tensor::u8(&[4, 3], vec![152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247]);
        let r = ev1(
            &Op::QLinearMatMul,
            &[
                &a,
                &Tensor::scalar_f32(0.0066),
                &Tensor::u8(&[], vec![113]),
                &b,
                &Tensor::scalar_f32(0.00705),
                &Tensor::u8(&[], vec![114]),
                &Tensor::scalar_f32(0.0107),
                &Tensor::u8(&[], vec![118]),
            ],
        );
        assert_eq!(r.as_u8().unwrap(), &[168, 115, 255, 1, 66, 151]);
    }

    #[test]
    fn qlinear_matmul_per_row_and_column() {
        let a = Tensor::i8(&[2, 1], vec![3, 3]);
        let b = Tensor::i8(&[1, 2], vec![5, 5]);
        let sa = Tensor::f32(&[2], vec![1.0, 0.5]);
        let za = Tensor::i8(&[2], vec![0, 1]);
        let sb = Tensor::f32(&[2], vec![0.5, 0.25]);
        let zb = Tensor::i8(&[2], vec![0, 0]);
        let r = ev1(
            &Op::QLinearMatMul,
            &[&a, &sa, &za, &b, &sb, &zb, &Tensor::scalar_f32(1.0), &Tensor::i8(&[], vec![0])],
        );
        // acc = [[15, 15], [10, 10]]; multipliers [[0.5, 0.25], [0.25, 0.125]]
        // → [[7.5→8, 3.75→4], [2.5→2, 1.25→1]]
        assert_eq!(r.as_i8().unwrap(), &[8, 4, 2, 1]);
    }

    #[test]
    fn matmul_integer_and_conv_integer() {
        let a = Tensor::u8(&[4, 3], vec![11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
        let b = Tensor::u8(&[3, 2], vec![1, 4, 2, 5, 3, 6]);
        let r = ev1(
            &Op::MatMulInteger,
            &[&a, &b, &Tensor::u8(&[], vec![12]), &Tensor::u8(&[], vec![0])],
        );
        assert_eq!(r.as_i32().unwrap(), &[-38, -83, -44, -98, -50, -113, -56, -128]);
        let x = Tensor::u8(&[1, 1, 3, 3], vec![2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let w = Tensor::u8(&[1, 1, 2, 2], vec![1, 1, 1, 1]);
        let r = ev1(&Op::ConvInteger(ConvAttrs::default()), &[&x, &w, &Tensor::u8(&[], vec![1])]);
        assert_eq!(r.as_i32().unwrap(), &[12, 16, 24, 28]);
        let at = ConvAttrs { pads: vec![1, 1, 1, 1], ..Default::default() };
        let r = ev1(&Op::ConvInteger(at), &[&x, &w, &Tensor::u8(&[], vec![1])]);
        assert_eq!(r.shape, vec![1, 1, 4, 4]);
        assert_eq!(r.as_i32().unwrap()[..4], [1, 3, 5, 3]);
    }

    #[test]
    fn qlinear_conv_per_channel_requant() {
        let x = Tensor::u8(&[1, 1, 1, 2], vec![130, 126]);
        let w = Tensor::i8(&[2, 1, 1, 1], vec![3, -3]);
        let sw = Tensor::f32(&[2], vec![0.5, 0.25]);
        let zw = Tensor::i8(&[2], vec![0, 0]);
        let b = Tensor::i32(&[2], vec![1, 0]);
        let r = ev1(
            &Op::QLinearConv(ConvAttrs::default()),
            &[
                &x,
                &Tensor::scalar_f32(1.0),
                &Tensor::u8(&[], vec![128]),
                &w,
                &sw,
                &zw,
                &Tensor::scalar_f32(1.0),
                &Tensor::i8(&[], vec![-1]),
                &b,
            ],
        );
        // acc ch0 = [2·3+1, −2·3+1] = [7, −5] · 0.5 = [3.5, −2.5] → [4, −2] → +zy → [3, −3]
        // acc ch1 = [−6, 6] · 0.25 = [−1.5, 1.5] → [−2, 2] → [−3, 1]
        assert_eq!(r.as_i8().unwrap(), &[3, -3, -3, 1]);
    }
}
