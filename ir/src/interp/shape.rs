//! Shape ops: `Reshape` (0 copies an extent unless allowzero, -1 is inferred), `Flatten`,
//! `Squeeze`, `Unsqueeze`, `Shape`, `Size`, `ConstantOfShape` and `Range`.

use super::util::{
    attr_err, cmul, dtype_err, int_list, ints, mk, norm_axis, numel, scalar_f64, shape_err,
    value_err, Args, R,
};
use crate::dtype::DType;
use crate::ops::{ConstantOfShapeAttrs, ReshapeAttrs, ShapeAttrs};
use crate::tensor::{Data, Tensor};

fn with_shape(x: &Tensor, shape: Vec<usize>) -> R<Tensor> {
    if numel(&shape)? != x.numel() {
        return Err(shape_err(format!("cannot view {:?} as {shape:?}", x.shape)));
    }
    mk(x.dtype, shape, x.data.clone())
}

/// `Reshape(x, shape)`.
pub(crate) fn reshape(a: &Args<'_>, at: &ReshapeAttrs) -> R<Tensor> {
    a.arity(2, 2)?;
    let x = a.req(0)?;
    let spec = int_list(a.req(1)?, 1)?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        out.push(match d {
            -1 => {
                if infer.replace(i).is_some() {
                    return Err(value_err("Reshape shape has more than one -1"));
                }
                1
            }
            0 if !at.allowzero => *x
                .shape
                .get(i)
                .ok_or_else(|| value_err(format!("Reshape 0 at axis {i} beyond input rank")))?,
            d if d < 0 => return Err(value_err(format!("Reshape extent {d}"))),
            d => d as usize,
        });
    }
    if let Some(i) = infer {
        if at.allowzero && spec.contains(&0) {
            return Err(value_err("Reshape with allowzero cannot mix 0 and -1"));
        }
        let rest = numel(&out)?;
        if rest == 0 || x.numel() % rest != 0 {
            return Err(shape_err(format!("cannot reshape {:?} to {spec:?}", x.shape)));
        }
        out[i] = x.numel() / rest;
    }
    with_shape(x, out)
}

/// `Flatten(x)` at `axis` (in `[-r, r]`).
pub(crate) fn flatten(a: &Args<'_>, axis: i64) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let r = x.rank() as i64;
    if axis < -r || axis > r {
        return Err(attr_err(format!("Flatten axis {axis} out of range for rank {r}")));
    }
    let ax = if axis < 0 { axis + r } else { axis } as usize;
    let outer = numel(&x.shape[..ax])?;
    let inner = numel(&x.shape[ax..])?;
    with_shape(x, vec![outer, inner])
}

fn axes_list(t: &Tensor, rank: usize) -> R<Vec<usize>> {
    let mut v: Vec<usize> =
        int_list(t, 1)?.into_iter().map(|a| norm_axis(a, rank)).collect::<R<_>>()?;
    v.sort();
    let n = v.len();
    v.dedup();
    if v.len() != n {
        return Err(value_err("repeated axis"));
    }
    Ok(v)
}

/// `Squeeze(x, axes?)`.
pub(crate) fn squeeze(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 2)?;
    let x = a.req(0)?;
    let axes = match a.opt(1) {
        Some(t) => axes_list(t, x.rank())?,
        None => (0..x.rank()).filter(|&i| x.shape[i] == 1).collect(),
    };
    for &ax in &axes {
        if x.shape[ax] != 1 {
            return Err(shape_err(format!("cannot squeeze axis {ax} of extent {}", x.shape[ax])));
        }
    }
    let out =
        x.shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
    with_shape(x, out)
}

/// `Unsqueeze(x, axes)`: axes index the result.
pub(crate) fn unsqueeze(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let x = a.req(0)?;
    let t = a.req(1)?;
    let r = x.rank() + int_list(t, 1)?.len();
    let axes = axes_list(t, r)?;
    let mut out = Vec::with_capacity(r);
    let mut it = x.shape.iter();
    for i in 0..r {
        if axes.contains(&i) {
            out.push(1);
        } else {
            out.push(*it.next().ok_or_else(|| shape_err("bad unsqueeze axes"))?);
        }
    }
    with_shape(x, out)
}

/// `Shape(x)` sliced to `[start, end)`.
pub(crate) fn shape_of(a: &Args<'_>, at: &ShapeAttrs) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let r = x.rank() as i64;
    let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let s = clampi(at.start);
    let e = clampi(at.end.unwrap_or(r));
    let dims: Vec<i64> =
        if s < e { x.shape[s..e].iter().map(|&d| d as i64).collect() } else { vec![] };
    Ok(Tensor::i64(&[dims.len()], dims))
}

/// `Size(x)`.
pub(crate) fn size(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    Ok(Tensor::i64(&[], vec![a.req(0)?.numel() as i64]))
}

fn shape_operand(t: &Tensor, operand: usize) -> R<Vec<usize>> {
    int_list(t, operand)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| value_err(format!("negative extent {d}"))))
        .collect()
}

/// `ConstantOfShape(shape)`.
pub(crate) fn constant_of_shape(a: &Args<'_>, at: &ConstantOfShapeAttrs) -> R<Tensor> {
    a.arity(1, 1)?;
    let shape = shape_operand(a.req(0)?, 0)?;
    let n = numel(&shape)?;
    fill(at.dtype, shape, n, at.value)
}

fn fill(dtype: DType, shape: Vec<usize>, n: usize, v: f64) -> R<Tensor> {
    let data = match dtype {
        DType::F32 => Data::F32(vec![v as f32; n]),
        DType::F16 => Data::F16(vec![half::f16::from_f64(v); n]),
        DType::BF16 => Data::BF16(vec![half::bf16::from_f64(v); n]),
        DType::Bool => Data::Bool(vec![v != 0.0; n]),
        d => {
            let (lo, hi) = d.int_range().ok_or(dtype_err(0, d))?;
            if v.fract() != 0.0 || v < lo as f64 || v > hi as f64 {
                return Err(attr_err(format!("value {v} does not fit {d}")));
            }
            return Tensor::from_i64_saturating(d, shape, &vec![v as i64; n])
                .map_err(|e| super::OpError::Internal(e.to_string()));
        }
    };
    mk(dtype, shape, data)
}

/// `Range(start, limit, delta)`.
pub(crate) fn range(a: &Args<'_>) -> R<Tensor> {
    a.arity(3, 3)?;
    let (s, l, d) = (a.req(0)?, a.req(1)?, a.req(2)?);
    if s.dtype != l.dtype || s.dtype != d.dtype {
        return Err(shape_err("Range operands must share a dtype"));
    }
    if s.dtype.is_float() {
        let (s0, l0, d0) =
            (scalar_f64(s, 0)? as f32, scalar_f64(l, 1)? as f32, scalar_f64(d, 2)? as f32);
        if d0 == 0.0 || !d0.is_finite() {
            return Err(value_err("Range delta must be finite and nonzero"));
        }
        let cnt = ((l0 - s0) / d0).ceil().max(0.0);
        if !cnt.is_finite() || cnt > 1e9 {
            return Err(super::OpError::Overflow);
        }
        let v: Vec<f32> = (0..cnt as usize).map(|i| s0 + i as f32 * d0).collect();
        return super::util::float_out(s.dtype, vec![v.len()], v);
    }
    if !s.dtype.is_int() {
        return Err(dtype_err(0, s.dtype));
    }
    let (s0, l0, d0) = (ints(s, 0)?, ints(l, 1)?, ints(d, 2)?);
    if s0.len() != 1 || l0.len() != 1 || d0.len() != 1 {
        return Err(shape_err("Range operands must be scalars"));
    }
    let (s0, l0, d0) = (s0[0] as i128, l0[0] as i128, d0[0] as i128);
    if d0 == 0 {
        return Err(value_err("Range delta must be nonzero"));
    }
    let span = l0 - s0;
    let cnt = if (span > 0) == (d0 > 0) && span != 0 { (span + d0 - d0.signum()) / d0 } else { 0 };
    let cnt = usize::try_from(cnt).map_err(|_| super::OpError::Overflow)?;
    cmul(cnt, 8)?;
    if cnt > 1 << 30 {
        return Err(super::OpError::Overflow);
    }
    let v: Vec<i64> = (0..cnt as i128).map(|i| (s0 + i * d0) as i64).collect();
    Tensor::from_i64_saturating(s.dtype, vec![cnt], &v)
        .map_err(|e| super::OpError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::OpError;
    use super::*;
    use crate::ops::{AxisAttrs, Op};

    #[test]
    fn reshape_zero_and_minus_one() {
        let x = Tensor::f32(&[2, 3, 4], (0..24).map(|v| v as f32).collect());
        let s = Tensor::i64(&[3], vec![0, -1, 2]);
        let r = ev1(&Op::Reshape(ReshapeAttrs::default()), &[&x, &s]);
        assert_eq!(r.shape, vec![2, 6, 2]);
        assert_eq!(r.as_f32().unwrap(), x.as_f32().unwrap());
        let e = Tensor::f32(&[0, 3], vec![]);
        let s = Tensor::i64(&[2], vec![0, 5]);
        let r = ev1(&Op::Reshape(ReshapeAttrs { allowzero: true }), &[&e, &s]);
        assert_eq!(r.shape, vec![0, 5]);
        let s = Tensor::i64(&[2], vec![5, -1]);
        assert!(matches!(
            ev_err(&Op::Reshape(ReshapeAttrs::default()), &[&x, &s]),
            OpError::Shape(_)
        ));
        let s = Tensor::i64(&[2], vec![-1, -1]);
        assert!(matches!(
            ev_err(&Op::Reshape(ReshapeAttrs::default()), &[&x, &s]),
            OpError::Value(_)
        ));
    }

    #[test]
    fn flatten_squeeze_unsqueeze() {
        let x = Tensor::f32(&[2, 1, 3], vec![0.; 6]);
        assert_eq!(ev1(&Op::Flatten(AxisAttrs { axis: -1 }), &[&x]).shape, vec![2, 3]);
        assert_eq!(ev1(&Op::Flatten(AxisAttrs { axis: 0 }), &[&x]).shape, vec![1, 6]);
        assert_eq!(ev1(&Op::Flatten(AxisAttrs { axis: 3 }), &[&x]).shape, vec![6, 1]);
        assert_eq!(ev1(&Op::Squeeze, &[&x]).shape, vec![2, 3]);
        let ax = Tensor::i64(&[1], vec![-2]);
        assert_eq!(ev1(&Op::Squeeze, &[&x, &ax]).shape, vec![2, 3]);
        let ax0 = Tensor::i64(&[1], vec![0]);
        assert!(matches!(ev_err(&Op::Squeeze, &[&x, &ax0]), OpError::Shape(_)));
        let ax = Tensor::i64(&[2], vec![-1, 0]);
        assert_eq!(ev1(&Op::Unsqueeze, &[&x, &ax]).shape, vec![1, 2, 1, 3, 1]);
    }

    #[test]
    fn shape_size_constant_range() {
        let x = Tensor::f32(&[2, 3, 4], vec![0.; 24]);
        let r = ev1(&Op::Shape(ShapeAttrs { start: -2, end: None }), &[&x]);
        assert_eq!(r.as_i64().unwrap(), &[3, 4]);
        let r = ev1(&Op::Shape(ShapeAttrs { start: 0, end: Some(-5) }), &[&x]);
        assert_eq!(r.shape, vec![0]);
        assert_eq!(ev1(&Op::Size, &[&x]).as_i64().unwrap(), &[24]);
        let s = Tensor::i64(&[2], vec![2, 2]);
        let r = ev1(
            &Op::ConstantOfShape(ConstantOfShapeAttrs { dtype: DType::I32, value: 7.0 }),
            &[&s],
        );
        assert_eq!(r.as_i32().unwrap(), &[7; 4]);
        let r = ev(
            &Op::ConstantOfShape(ConstantOfShapeAttrs { dtype: DType::I8, value: 300.0 }),
            &[&s],
        );
        assert!(r.is_err());
        let (a, b, c) =
            (Tensor::i64(&[], vec![10]), Tensor::i64(&[], vec![1]), Tensor::i64(&[], vec![-3]));
        assert_eq!(ev1(&Op::Range, &[&a, &b, &c]).as_i64().unwrap(), &[10, 7, 4]);
        let (a, b, c) = (Tensor::scalar_f32(0.), Tensor::scalar_f32(1.), Tensor::scalar_f32(0.25));
        assert_eq!(ev1(&Op::Range, &[&a, &b, &c]).as_f32().unwrap(), &[0., 0.25, 0.5, 0.75]);
        let z = Tensor::scalar_f32(0.);
        assert!(ev(&Op::Range, &[&a, &b, &z]).is_err());
    }
}
