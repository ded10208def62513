//! `Gather` and `GatherElements` (negative indices count from the end; out-of-range indices are
//! an error).

use super::util::{gather_data, ints, mk, norm_axis, numel, shape_err, value_err, Args, R};
use crate::tensor::Tensor;

fn fix(i: i64, d: usize) -> R<usize> {
    let j = if i < 0 { i + d as i64 } else { i };
    if j < 0 || j >= d as i64 {
        return Err(value_err(format!("index {i} out of range for extent {d}")));
    }
    Ok(j as usize)
}

/// `Gather(data, indices)` along `axis`.
pub(crate) fn gather(a: &Args<'_>, axis: i64) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, it) = (a.req(0)?, a.req(1)?);
    if !it.dtype.is_int() {
        return Err(super::util::dtype_err(1, it.dtype));
    }
    let ax = norm_axis(axis, x.rank())?;
    let d = x.shape[ax];
    let idx: Vec<usize> = ints(it, 1)?.into_iter().map(|i| fix(i, d)).collect::<R<_>>()?;
    let outer = numel(&x.shape[..ax])?;
    let inner = numel(&x.shape[ax + 1..])?;
    let mut oshape = x.shape[..ax].to_vec();
    oshape.extend(&it.shape);
    oshape.extend(&x.shape[ax + 1..]);
    let mut map = Vec::with_capacity(numel(&oshape)?);
    for o in 0..outer {
        for &i in &idx {
            let base = (o * d + i) * inner;
            map.extend(base..base + inner);
        }
    }
    mk(x.dtype, oshape, gather_data(&x.data, &map))
}

/// `GatherElements(data, indices)` along `axis`.
pub(crate) fn gather_elements(a: &Args<'_>, axis: i64) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, it) = (a.req(0)?, a.req(1)?);
    if !it.dtype.is_int() {
        return Err(super::util::dtype_err(1, it.dtype));
    }
    let ax = norm_axis(axis, x.rank())?;
    if it.rank() != x.rank() {
        return Err(shape_err(format!(
            "indices {:?} and data {:?} ranks differ",
            it.shape, x.shape
        )));
    }
    for (dd, (&i, &s)) in it.shape.iter().zip(&x.shape).enumerate() {
        if dd != ax && i > s {
            return Err(shape_err(format!("indices {:?} exceed data {:?}", it.shape, x.shape)));
        }
    }
    let d = x.shape[ax];
    let xs = super::util::strides(&x.shape);
    let is = super::util::strides(&it.shape);
    let iv = ints(it, 1)?;
    let mut map = Vec::with_capacity(iv.len());
    for (flat, &i) in iv.iter().enumerate() {
        let mut src = 0;
        for dd in 0..x.rank() {
            let c = (flat / is[dd]) % it.shape[dd];
            src += if dd == ax { fix(i, d)? } else { c } * xs[dd];
        }
        map.push(src);
    }
    mk(x.dtype, it.shape.clone(), gather_data(&x.data, &map))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::OpError;
    use super::*;
    use crate::ops::{AxisAttrs, Op};

    #[test]
    fn gather_axis_and_negative() {
        let x = Tensor::f32(&[3, 2], vec![1., 2., 3., 4., 5., 6.]);
        let i = Tensor::i64(&[2, 2], vec![0, 1, -1, 0]);
        let r = ev1(&Op::Gather(AxisAttrs { axis: 0 }), &[&x, &i]);
        assert_eq!(r.shape, vec![2, 2, 2]);
        assert_eq!(r.as_f32().unwrap(), &[1., 2., 3., 4., 5., 6., 1., 2.]);
        let i = Tensor::i32(&[], vec![1]);
        let r = ev1(&Op::Gather(AxisAttrs { axis: -1 }), &[&x, &i]);
        assert_eq!(r.shape, vec![3]);
        assert_eq!(r.as_f32().unwrap(), &[2., 4., 6.]);
        let bad = Tensor::i64(&[1], vec![3]);
        assert!(matches!(
            ev_err(&Op::Gather(AxisAttrs { axis: 0 }), &[&x, &bad]),
            OpError::Value(_)
        ));
    }

    #[test]
    fn gather_elements_by_hand() {
        let x = Tensor::i32(&[2, 2], vec![1, 2, 3, 4]);
        let i = Tensor::i64(&[2, 2], vec![0, 0, 1, 0]);
        let r = ev1(&Op::GatherElements(AxisAttrs { axis: 1 }), &[&x, &i]);
        assert_eq!(r.as_i32().unwrap(), &[1, 1, 4, 3]);
        let i = Tensor::i64(&[1, 2], vec![1, -2]);
        let r = ev1(&Op::GatherElements(AxisAttrs { axis: 0 }), &[&x, &i]);
        assert_eq!(r.as_i32().unwrap(), &[3, 2]);
        let bad = Tensor::i64(&[2], vec![0, 0]);
        assert!(ev(&Op::GatherElements(AxisAttrs { axis: 0 }), &[&x, &bad]).is_err());
    }
}
