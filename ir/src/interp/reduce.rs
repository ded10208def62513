//! Reductions (`ReduceMean/Sum/Max/Min/Prod/SumSquare` with an optional axes operand,
//! keepdims and noop_with_empty_axes) and `ArgMax`/`ArgMin` (select_last_index).
//!
//! Float sums accumulate in f64; integer reductions compute in i64 and wrap to the dtype.

use super::util::{
    dtype_err, float_out, floats, int_list, int_out_wrapping, ints, norm_axis, numel, value_err,
    Args, R,
};
use crate::ops::{ArgAttrs, ReduceAttrs};
use crate::tensor::Tensor;

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Mean,
    Sum,
    Max,
    Min,
    Prod,
    SumSquare,
}

/// For every input element (row-major), the flat output index after reducing `red` axes.
fn out_index(shape: &[usize], red: &[bool]) -> R<(Vec<usize>, Vec<usize>)> {
    let kept: Vec<usize> = shape.iter().zip(red).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let ost = super::util::strides(&kept);
    let n = numel(shape)?;
    let mut idx = Vec::with_capacity(n);
    if n > 0 {
        let r = shape.len();
        let st: Vec<usize> = (0..r).map(|d| if red[d] { 0 } else { ost[d] }).collect();
        let mut pos = vec![0usize; r];
        let mut cur = 0;
        for _ in 0..n {
            idx.push(cur);
            for d in (0..r).rev() {
                pos[d] += 1;
                cur += st[d];
                if pos[d] < shape[d] {
                    break;
                }
                cur -= st[d] * shape[d];
                pos[d] = 0;
            }
        }
    }
    Ok((idx, kept))
}

/// Evaluates a reduction.
pub(crate) fn reduce(a: &Args<'_>, at: &ReduceAttrs, kind: Kind) -> R<Tensor> {
    a.arity(1, 2)?;
    let x = a.req(0)?;
    let r = x.rank();
    let axes: Vec<usize> = match a.opt(1) {
        Some(t) => int_list(t, 1)?.into_iter().map(|v| norm_axis(v, r)).collect::<R<_>>()?,
        None => vec![],
    };
    if axes.is_empty() && at.noop_with_empty_axes {
        return Ok(x.clone());
    }
    let mut red = vec![axes.is_empty(); r];
    for &ax in &axes {
        red[ax] = true;
    }
    let (idx, kept) = out_index(&x.shape, &red)?;
    let out_shape: Vec<usize> = if at.keepdims {
        kept.clone()
    } else {
        x.shape.iter().zip(&red).filter(|(_, &r)| !r).map(|(&d, _)| d).collect()
    };
    let on = numel(&kept)?;
    let count = if on == 0 { 0 } else { x.numel() / on };
    if x.dtype.is_float() {
        let v = floats(x, 0)?;
        let out: Vec<f32> = match kind {
            Kind::Max | Kind::Min => {
                let max = kind == Kind::Max;
                let mut o = vec![if max { f32::NEG_INFINITY } else { f32::INFINITY }; on];
                for (&i, &e) in idx.iter().zip(v.iter()) {
                    let cur = o[i];
                    if e.is_nan() || (max && e > cur) || (!max && e < cur) {
                        o[i] = e;
                    }
                }
                o
            }
            _ => {
                let mut o = vec![if kind == Kind::Prod { 1f64 } else { 0f64 }; on];
                for (&i, &e) in idx.iter().zip(v.iter()) {
                    let e = e as f64;
                    match kind {
                        Kind::Prod => o[i] *= e,
                        Kind::SumSquare => o[i] += e * e,
                        _ => o[i] += e,
                    }
                }
                if kind == Kind::Mean {
                    o.iter_mut().for_each(|s| *s /= count as f64);
                }
                o.into_iter().map(|s| s as f32).collect()
            }
        };
        return float_out(x.dtype, out_shape, out);
    }
    if !x.dtype.is_int() {
        return Err(dtype_err(0, x.dtype));
    }
    let v = ints(x, 0)?;
    let init = match kind {
        Kind::Max => i64::MIN,
        Kind::Min => i64::MAX,
        Kind::Prod => 1,
        _ => 0,
    };
    if matches!(kind, Kind::Max | Kind::Min) && count == 0 && on > 0 {
        return Err(value_err("max/min over an empty axis of an integer tensor"));
    }
    let mut o = vec![init; on];
    for (&i, &e) in idx.iter().zip(&v) {
        o[i] = match kind {
            Kind::Max => o[i].max(e),
            Kind::Min => o[i].min(e),
            Kind::Prod => o[i].wrapping_mul(e),
            Kind::SumSquare => o[i].wrapping_add(e.wrapping_mul(e)),
            _ => o[i].wrapping_add(e),
        };
    }
    if kind == Kind::Mean {
        // Integer mean truncates toward zero (ONNX Runtime behaviour).
        o.iter_mut().for_each(|s| *s = if count == 0 { 0 } else { *s / count as i64 });
    }
    int_out_wrapping(x.dtype, out_shape, &o)
}

/// `ArgMax` (`max = true`) or `ArgMin`.
pub(crate) fn arg(a: &Args<'_>, at: &ArgAttrs, max: bool) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let ax = norm_axis(at.axis, x.rank())?;
    let d = x.shape[ax];
    let outer = numel(&x.shape[..ax])?;
    let inner = numel(&x.shape[ax + 1..])?;
    if d == 0 && outer * inner > 0 {
        return Err(value_err("ArgMax/ArgMin over an empty axis"));
    }
    let v: Vec<f64> = if x.dtype.is_float() || x.dtype.is_int() {
        x.to_f64_vec()
    } else {
        return Err(dtype_err(0, x.dtype));
    };
    let iv = x.to_i64_vec();
    let better = |i: usize, j: usize| -> (bool, bool) {
        // (strictly better, equal)
        match &iv {
            Some(w) if x.dtype.is_int() => {
                let (p, q) = (w[i], w[j]);
                (if max { p > q } else { p < q }, p == q)
            }
            _ => {
                let (p, q) = (v[i], v[j]);
                (if max { p > q } else { p < q }, p == q)
            }
        }
    };
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at_k = |k: usize| (o * d + k) * inner + i;
            let mut best = 0usize;
            for k in 1..d {
                let (b, e) = better(at_k(k), at_k(best));
                if b || (e && at.select_last_index) {
                    best = k;
                }
            }
            out.push(best as i64);
        }
    }
    let mut shape = x.shape.clone();
    if at.keepdims {
        shape[ax] = 1;
    } else {
        shape.remove(ax);
    }
    Ok(Tensor::i64(&shape, out))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;

    fn x() -> Tensor {
        Tensor::f32(&[2, 3], vec![1., 5., 3., 4., 2., 6.])
    }

    #[test]
    fn reductions_axes_keepdims() {
        let ax = Tensor::i64(&[1], vec![1]);
        let r = ev1(&Op::ReduceSum(ReduceAttrs::default()), &[&x(), &ax]);
        assert_eq!(r.shape, vec![2, 1]);
        assert_eq!(r.as_f32().unwrap(), &[9., 12.]);
        let ax0 = Tensor::i64(&[1], vec![-2]);
        let nk = ReduceAttrs { keepdims: false, noop_with_empty_axes: false };
        let r = ev1(&Op::ReduceMean(nk), &[&x(), &ax0]);
        assert_eq!(r.shape, vec![3]);
        assert_eq!(r.as_f32().unwrap(), &[2.5, 3.5, 4.5]);
        let r = ev1(&Op::ReduceMax(nk), &[&x()]);
        assert_eq!(r.shape, Vec::<usize>::new());
        assert_eq!(r.as_f32().unwrap(), &[6.]);
        let r = ev1(&Op::ReduceMin(ReduceAttrs::default()), &[&x()]);
        assert_eq!(r.shape, vec![1, 1]);
        assert_eq!(r.as_f32().unwrap(), &[1.]);
        assert_eq!(ev1(&Op::ReduceProd(nk), &[&x(), &ax]).as_f32().unwrap(), &[15., 48.]);
        assert_eq!(ev1(&Op::ReduceSumSquare(nk), &[&x(), &ax]).as_f32().unwrap(), &[35., 56.]);
        let noop = ReduceAttrs { keepdims: true, noop_with_empty_axes: true };
        assert_eq!(ev1(&Op::ReduceSum(noop), &[&x()]), x());
        let bad = Tensor::i64(&[1], vec![2]);
        assert!(ev(&Op::ReduceSum(nk), &[&x(), &bad]).is_err());
    }

    #[test]
    fn integer_and_empty_reductions() {
        let xi = Tensor::i32(&[2, 2], vec![-7, 2, 3, 4]);
        let ax = Tensor::i64(&[1], vec![1]);
        let nk = ReduceAttrs { keepdims: false, noop_with_empty_axes: false };
        assert_eq!(ev1(&Op::ReduceSum(nk), &[&xi, &ax]).as_i32().unwrap(), &[-5, 7]);
        assert_eq!(ev1(&Op::ReduceMean(nk), &[&xi, &ax]).as_i32().unwrap(), &[-2, 3]);
        let e = Tensor::f32(&[0, 3], vec![]);
        let ax0 = Tensor::i64(&[1], vec![0]);
        assert_eq!(ev1(&Op::ReduceSum(nk), &[&e, &ax0]).as_f32().unwrap(), &[0., 0., 0.]);
    }

    #[test]
    fn argmax_argmin_ties() {
        let t = Tensor::f32(&[2, 3], vec![1., 5., 5., 4., 4., 0.]);
        let r = ev1(
            &Op::ArgMax(ArgAttrs { axis: 1, keepdims: false, select_last_index: false }),
            &[&t],
        );
        assert_eq!(r.as_i64().unwrap(), &[1, 0]);
        let r =
            ev1(&Op::ArgMax(ArgAttrs { axis: -1, keepdims: true, select_last_index: true }), &[&t]);
        assert_eq!(r.shape, vec![2, 1]);
        assert_eq!(r.as_i64().unwrap(), &[2, 1]);
        let r = ev1(
            &Op::ArgMin(ArgAttrs { axis: 0, keepdims: false, select_last_index: false }),
            &[&t],
        );
        assert_eq!(r.as_i64().unwrap(), &[0, 1, 1]);
        let ti = Tensor::i8(&[3], vec![-1, -128, -128]);
        let r = ev1(
            &Op::ArgMin(ArgAttrs { axis: 0, keepdims: false, select_last_index: true }),
            &[&ti],
        );
        assert_eq!(r.as_i64().unwrap(), &[2]);
    }
}
