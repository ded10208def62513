//! `Pad(x, pads, constant_value?, axes?)` in constant, reflect, edge and wrap modes. Negative
//! pads crop.

use super::util::{int_list, mk, norm_axis, numel, shape_err, value_err, Args, R};
use super::OpError;
use crate::ops::{PadAttrs, PadMode};
use crate::tensor::{Data, Tensor};

/// The source coordinate of output coordinate `o` along an axis of extent `n` padded by `pb`
/// at the start (None: the constant).
fn src(o: i64, n: i64, pb: i64, mode: PadMode) -> Option<usize> {
    let i = o.saturating_sub(pb);
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    Some(match mode {
        PadMode::Constant => return None,
        PadMode::Edge => i.clamp(0, n - 1) as usize,
        PadMode::Wrap => i.rem_euclid(n) as usize,
        PadMode::Reflect => {
            if n == 1 {
                0
            } else {
                let p = 2 * (n - 1);
                let m = i.rem_euclid(p);
                (if m < n { m } else { p - m }) as usize
            }
        }
    })
}

/// Evaluates `Pad`.
pub(crate) fn pad(a: &Args<'_>, at: &PadAttrs) -> R<Tensor> {
    a.arity(2, 4)?;
    let x = a.req(0)?;
    let r = x.rank();
    let pads = int_list(a.req(1)?, 1)?;
    let axes: Vec<usize> = match a.opt(3) {
        Some(t) => int_list(t, 3)?.into_iter().map(|v| norm_axis(v, r)).collect::<R<_>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(shape_err(format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    let mut pb = vec![0i64; r];
    let mut pe = vec![0i64; r];
    for (i, &ax) in axes.iter().enumerate() {
        pb[ax] = pads[i];
        pe[ax] = pads[axes.len() + i];
    }
    let mut oshape = Vec::with_capacity(r);
    for d in 0..r {
        let n = x.shape[d] as i64;
        let o = n.checked_add(pb[d]).and_then(|v| v.checked_add(pe[d])).ok_or(OpError::Overflow)?;
        if o < 0 {
            return Err(value_err(format!("pads {pads:?} crop axis {d} below zero")));
        }
        if n == 0 && o > 0 && at.mode != PadMode::Constant {
            return Err(value_err(format!("cannot {:?}-pad an empty axis", at.mode)));
        }
        oshape.push(o as usize);
    }
    let total = numel(&oshape)?;
    let maps: Vec<Vec<Option<usize>>> = (0..r)
        .map(|d| (0..oshape[d] as i64).map(|k| src(k, x.shape[d] as i64, pb[d], at.mode)).collect())
        .collect();
    let st = super::util::strides(&x.shape);
    // Flat source index per output element; usize::MAX marks the constant.
    let mut idx = Vec::with_capacity(total);
    if total > 0 {
        let mut pos = vec![0usize; r];
        'outer: loop {
            let mut s = Some(0usize);
            for d in 0..r {
                s = match (s, maps[d][pos[d]]) {
                    (Some(a), Some(c)) => Some(a + c * st[d]),
                    _ => None,
                };
            }
            idx.push(s.unwrap_or(usize::MAX));
            let mut d = r;
            loop {
                if d == 0 {
                    break 'outer;
                }
                d -= 1;
                pos[d] += 1;
                if pos[d] < oshape[d] {
                    break;
                }
                pos[d] = 0;
            }
        }
    }
    let cv = match a.opt(2) {
        Some(c) if c.dtype != x.dtype => return Err(super::util::dtype_err(2, c.dtype)),
        Some(c) if c.numel() != 1 => return Err(shape_err("constant_value must be a scalar")),
        Some(c) => Some(c),
        None => None,
    };
    macro_rules! fill {
        ($($v:ident),*) => {
            match &x.data {
                $(Data::$v(v) => {
                    let c = match cv.map(|t| &t.data) {
                        Some(Data::$v(c)) => c[0],
                        Some(_) => return Err(OpError::Internal("constant variant".into())),
                        None => Default::default(),
                    };
                    Data::$v(idx.iter().map(|&i| if i == usize::MAX { c } else { v[i] }).collect())
                })*
            }
        };
    }
    let data = fill!(F32, F16, BF16, I64, I32, I16, I8, U8, U16, F8E4M3FN, F8E5M2, F4E2M1, Bool);
    mk(x.dtype, oshape, data)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;

    fn p(mode: PadMode, x: &Tensor, pads: Vec<i64>) -> Vec<i32> {
        let pt = Tensor::i64(&[pads.len()], pads);
        ev1(&Op::Pad(PadAttrs { mode }), &[x, &pt]).into_i32().unwrap()
    }

    #[test]
    fn modes_1d() {
        let x = Tensor::i32(&[3], vec![1, 2, 3]);
        assert_eq!(p(PadMode::Constant, &x, vec![2, 1]), vec![0, 0, 1, 2, 3, 0]);
        assert_eq!(p(PadMode::Edge, &x, vec![2, 1]), vec![1, 1, 1, 2, 3, 3]);
        assert_eq!(p(PadMode::Reflect, &x, vec![2, 2]), vec![3, 2, 1, 2, 3, 2, 1]);
        assert_eq!(p(PadMode::Wrap, &x, vec![2, 1]), vec![2, 3, 1, 2, 3, 1]);
        assert_eq!(p(PadMode::Constant, &x, vec![-1, 0]), vec![2, 3]);
    }

    #[test]
    fn constant_value_axes_and_errors() {
        let x = Tensor::f32(&[2, 2], vec![1., 2., 3., 4.]);
        let pads = Tensor::i64(&[2], vec![1, 0]);
        let c = Tensor::scalar_f32(9.);
        let ax = Tensor::i64(&[1], vec![-1]);
        let r = ev1(&Op::Pad(PadAttrs::default()), &[&x, &pads, &c, &ax]);
        assert_eq!(r.shape, vec![2, 3]);
        assert_eq!(r.as_f32().unwrap(), &[9., 1., 2., 9., 3., 4.]);
        let bad = Tensor::i64(&[3], vec![1, 0, 0]);
        assert!(ev(&Op::Pad(PadAttrs::default()), &[&x, &bad]).is_err());
        let e = Tensor::f32(&[0], vec![]);
        let pads = Tensor::i64(&[2], vec![1, 1]);
        assert!(ev(&Op::Pad(PadAttrs { mode: PadMode::Edge }), &[&e, &pads]).is_err());
        assert_eq!(ev1(&Op::Pad(PadAttrs::default()), &[&e, &pads]).as_f32().unwrap(), &[0., 0.]);
    }
}
