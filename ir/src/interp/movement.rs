//! Data movement ops, dtype-generic through index maps: `Transpose`, `Concat`, `Split`,
//! `Slice` (negative and clamped starts/ends, negative steps), `Expand`, `Tile` and
//! `DepthToSpace` (DCR and CRD).

use super::broadcast::{broadcast_index, broadcast_shape};
use super::util::{
    attr_err, cmul, gather_data, int_list, mk, norm_axis, numel, same_variant, shape_err, strides,
    value_err, Args, R,
};
use super::OpError;
use crate::ops::BlockAttrs;
use crate::tensor::{Data, Tensor};

/// For an output of `oshape`, the flat source index given per-axis source coordinates maps
/// `maps[d][i]` and source strides.
fn index_map(oshape: &[usize], maps: &[Vec<usize>], sstr: &[usize]) -> R<Vec<usize>> {
    let n = numel(oshape)?;
    let mut idx = Vec::with_capacity(n);
    if n == 0 {
        return Ok(idx);
    }
    let r = oshape.len();
    let mut pos = vec![0usize; r];
    loop {
        idx.push((0..r).map(|d| maps[d][pos[d]] * sstr[d]).sum());
        let mut d = r;
        loop {
            if d == 0 {
                return Ok(idx);
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

/// Permutes axes (a general strided copy).
pub(crate) fn permute(x: &Tensor, perm: &[usize]) -> R<Tensor> {
    let oshape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let st = strides(&x.shape);
    let ost: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let maps: Vec<Vec<usize>> = oshape.iter().map(|&d| (0..d).collect()).collect();
    let idx = index_map(&oshape, &maps, &ost)?;
    mk(x.dtype, oshape, gather_data(&x.data, &idx))
}

/// `Transpose(x)` with `perm` (empty: reverse).
pub(crate) fn transpose(a: &Args<'_>, perm: &[usize]) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let r = x.rank();
    let perm: Vec<usize> = if perm.is_empty() { (0..r).rev().collect() } else { perm.to_vec() };
    let mut seen = vec![false; r];
    if perm.len() != r || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true)) {
        return Err(attr_err(format!("perm {perm:?} is not a permutation of rank {r}")));
    }
    permute(x, &perm)
}

/// Concatenates tensors of one dtype along `axis` (already normalized).
pub(crate) fn concat_tensors(xs: &[&Tensor], axis: usize) -> R<Tensor> {
    let first = xs[0];
    let mut oshape = first.shape.clone();
    oshape[axis] = 0;
    for (i, t) in xs.iter().enumerate() {
        if t.dtype != first.dtype || !same_variant(&t.data, &first.data) {
            return Err(super::util::dtype_err(i, t.dtype));
        }
        if t.rank() != first.rank()
            || t.shape.iter().enumerate().any(|(d, &e)| d != axis && e != first.shape[d])
        {
            return Err(shape_err(format!(
                "cannot concatenate {:?} and {:?} on axis {axis}",
                first.shape, t.shape
            )));
        }
        oshape[axis] = oshape[axis].checked_add(t.shape[axis]).ok_or(OpError::Overflow)?;
    }
    let outer = numel(&first.shape[..axis])?;
    let inner = numel(&first.shape[axis + 1..])?;
    numel(&oshape)?;
    macro_rules! cat {
        ($($v:ident),*) => {
            match &first.data {
                $(Data::$v(_) => {
                    let mut out = Vec::with_capacity(numel(&oshape)?);
                    for o in 0..outer {
                        for t in xs {
                            let Data::$v(v) = &t.data else { unreachable!("checked variant") };
                            let w = t.shape[axis] * inner;
                            out.extend_from_slice(&v[o * w..(o + 1) * w]);
                        }
                    }
                    Data::$v(out)
                })*
            }
        };
    }
    let data = cat!(F32, F16, BF16, I64, I32, I16, I8, U8, U16, F8E4M3FN, F8E5M2, F4E2M1, Bool);
    mk(first.dtype, oshape, data)
}

/// `Concat(xs...)`.
pub(crate) fn concat(a: &Args<'_>, axis: i64) -> R<Tensor> {
    a.arity(1, usize::MAX)?;
    let xs: Vec<&Tensor> = (0..a.len()).map(|i| a.req(i)).collect::<R<_>>()?;
    let ax = norm_axis(axis, xs[0].rank())?;
    concat_tensors(&xs, ax)
}

/// Slices `x` to `[start, start+len)` along `axis`.
fn take_range(x: &Tensor, axis: usize, start: usize, len: usize) -> R<Tensor> {
    let outer = numel(&x.shape[..axis])?;
    let inner = numel(&x.shape[axis + 1..])?;
    let d = x.shape[axis];
    let mut idx = Vec::with_capacity(cmul(cmul(outer, len)?, inner)?);
    for o in 0..outer {
        let base = (o * d + start) * inner;
        idx.extend(base..base + len * inner);
    }
    let mut shape = x.shape.clone();
    shape[axis] = len;
    mk(x.dtype, shape, gather_data(&x.data, &idx))
}

/// `Split(x, sizes?)` into the declared number of results.
pub(crate) fn split(a: &Args<'_>, axis: i64) -> R<Vec<Tensor>> {
    a.arity(1, 2)?;
    let x = a.req(0)?;
    let ax = norm_axis(axis, x.rank())?;
    let d = x.shape[ax];
    let sizes: Vec<usize> = match a.opt(1) {
        Some(s) => int_list(s, 1)?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| value_err(format!("negative split size {v}"))))
            .collect::<R<_>>()?,
        None => {
            let k = a.nresults();
            if k == 0 {
                return Err(OpError::ResultCount { expected: 1, got: 0 });
            }
            // ONNX 18: equal parts, the last one smaller when not divisible.
            let part = d.div_ceil(k);
            (0..k).map(|i| part.min(d.saturating_sub(i * part))).collect()
        }
    };
    if sizes.iter().try_fold(0usize, |acc, &v| acc.checked_add(v)) != Some(d) {
        return Err(shape_err(format!("split sizes {sizes:?} do not sum to extent {d}")));
    }
    if a.nresults() != 0 && sizes.len() != a.nresults() {
        return Err(OpError::ResultCount { expected: sizes.len(), got: a.nresults() });
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut s = 0;
    for &n in &sizes {
        out.push(take_range(x, ax, s, n)?);
        s += n;
    }
    Ok(out)
}

/// `Slice(x, starts, ends, axes?, steps?)`.
pub(crate) fn slice(a: &Args<'_>) -> R<Tensor> {
    a.arity(3, 5)?;
    let x = a.req(0)?;
    let starts = int_list(a.req(1)?, 1)?;
    let ends = int_list(a.req(2)?, 2)?;
    let r = x.rank();
    let axes: Vec<usize> = match a.opt(3) {
        Some(t) => int_list(t, 3)?.into_iter().map(|v| norm_axis(v, r)).collect::<R<_>>()?,
        None => (0..starts.len()).collect(),
    };
    let steps = match a.opt(4) {
        Some(t) => int_list(t, 4)?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(shape_err("Slice starts, ends, axes and steps lengths differ"));
    }
    let mut maps: Vec<Vec<usize>> = x.shape.iter().map(|&d| (0..d).collect()).collect();
    let mut seen = vec![false; r];
    for i in 0..starts.len() {
        let ax = axes[i];
        if ax >= r || std::mem::replace(&mut seen[ax], true) {
            return Err(value_err(format!("Slice axis {} repeated or out of range", axes[i])));
        }
        let d = x.shape[ax] as i64;
        let step = steps[i];
        if step == 0 {
            return Err(value_err("Slice step 0"));
        }
        let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (s, e) = (norm(starts[i]), norm(ends[i]));
        let mut m = Vec::new();
        if step > 0 {
            let (s, e) = (s.clamp(0, d), e.clamp(0, d));
            let mut k = s;
            while k < e {
                m.push(k as usize);
                k = k.saturating_add(step);
            }
        } else {
            let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
            let mut k = s;
            while k > e {
                m.push(k as usize);
                k += step;
            }
        }
        maps[ax] = m;
    }
    let oshape: Vec<usize> = maps.iter().map(|m| m.len()).collect();
    let idx = index_map(&oshape, &maps, &strides(&x.shape))?;
    mk(x.dtype, oshape, gather_data(&x.data, &idx))
}

/// `Expand(x, shape)`: bidirectional broadcast.
pub(crate) fn expand(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let x = a.req(0)?;
    let s: Vec<usize> = int_list(a.req(1)?, 1)?
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| value_err(format!("negative extent {v}"))))
        .collect::<R<_>>()?;
    let out = broadcast_shape(&x.shape, &s)?;
    let idx = broadcast_index(&x.shape, &out)?;
    mk(x.dtype, out, gather_data(&x.data, &idx))
}

/// `Tile(x, repeats)`.
pub(crate) fn tile(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let x = a.req(0)?;
    let reps = int_list(a.req(1)?, 1)?;
    if reps.len() != x.rank() || reps.iter().any(|&r| r < 0) {
        return Err(value_err(format!("Tile repeats {reps:?} for rank {}", x.rank())));
    }
    let oshape: Vec<usize> =
        x.shape.iter().zip(&reps).map(|(&d, &r)| cmul(d, r as usize)).collect::<R<_>>()?;
    numel(&oshape)?;
    let maps: Vec<Vec<usize>> = x
        .shape
        .iter()
        .zip(&oshape)
        .map(|(&d, &n)| (0..n).map(|i| i % d.max(1)).collect())
        .collect();
    let idx = index_map(&oshape, &maps, &strides(&x.shape))?;
    mk(x.dtype, oshape, gather_data(&x.data, &idx))
}

/// `DepthToSpace(x)`.
pub(crate) fn depth_to_space(a: &Args<'_>, at: &BlockAttrs) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let b = at.blocksize;
    let bb = b.checked_mul(b).unwrap_or(0);
    if x.rank() != 4 || bb == 0 || x.shape[1] % bb != 0 {
        return Err(shape_err(format!("DepthToSpace of {:?} with blocksize {b}", x.shape)));
    }
    let [n, c, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
    let co = c / bb;
    let t = match at.mode.as_str() {
        "DCR" | "" => {
            let v = mk(x.dtype, vec![n, b, b, co, h, w], x.data.clone())?;
            permute(&v, &[0, 3, 4, 1, 5, 2])?
        }
        "CRD" => {
            let v = mk(x.dtype, vec![n, co, b, b, h, w], x.data.clone())?;
            permute(&v, &[0, 1, 4, 2, 5, 3])?
        }
        m => return Err(attr_err(format!("DepthToSpace mode `{m}`"))),
    };
    mk(x.dtype, vec![n, co, h * b, w * b], t.data)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::{AxisAttrs, Op, SplitAttrs, TransposeAttrs};

    fn iota(shape: &[usize]) -> Tensor {
        Tensor::i32(shape, (0..shape.iter().product::<usize>() as i32).collect())
    }

    #[test]
    fn transpose_default_and_perm() {
        let x = iota(&[2, 3]);
        let r = ev1(&Op::Transpose(TransposeAttrs::default()), &[&x]);
        assert_eq!(r.shape, vec![3, 2]);
        assert_eq!(r.as_i32().unwrap(), &[0, 3, 1, 4, 2, 5]);
        let x = iota(&[2, 1, 2]);
        let r = ev1(&Op::Transpose(TransposeAttrs { perm: vec![2, 0, 1] }), &[&x]);
        assert_eq!(r.shape, vec![2, 2, 1]);
        assert_eq!(r.as_i32().unwrap(), &[0, 2, 1, 3]);
        assert!(ev(&Op::Transpose(TransposeAttrs { perm: vec![0, 0, 1] }), &[&x]).is_err());
    }

    #[test]
    fn concat_and_split() {
        let a = iota(&[2, 2]);
        let b = Tensor::i32(&[2, 1], vec![9, 8]);
        let r = ev1(&Op::Concat(AxisAttrs { axis: -1 }), &[&a, &b]);
        assert_eq!(r.as_i32().unwrap(), &[0, 1, 9, 2, 3, 8]);
        let e = Tensor::i32(&[2, 0], vec![]);
        assert_eq!(ev1(&Op::Concat(AxisAttrs { axis: 1 }), &[&a, &e]).shape, vec![2, 2]);
        assert!(ev(&Op::Concat(AxisAttrs { axis: 0 }), &[&a, &b]).is_err());
        let x = iota(&[5]);
        let parts = evo(&Op::Split(SplitAttrs { axis: 0 }), &[Some(&x)], 2).unwrap();
        assert_eq!(parts[0].as_i32().unwrap(), &[0, 1, 2]);
        assert_eq!(parts[1].as_i32().unwrap(), &[3, 4]);
        let s = Tensor::i64(&[3], vec![1, 0, 4]);
        let parts = evo(&Op::Split(SplitAttrs { axis: -1 }), &[Some(&x), Some(&s)], 3).unwrap();
        assert_eq!(parts[1].shape, vec![0]);
        assert_eq!(parts[2].as_i32().unwrap(), &[1, 2, 3, 4]);
        let s = Tensor::i64(&[2], vec![1, 1]);
        assert!(evo(&Op::Split(SplitAttrs { axis: 0 }), &[Some(&x), Some(&s)], 2).is_err());
    }

    #[test]
    fn slice_negative_clamped_steps() {
        let x = iota(&[10]);
        let sl = |s: i64, e: i64, st: i64| {
            let (s, e, ax, st) = (
                Tensor::i64(&[1], vec![s]),
                Tensor::i64(&[1], vec![e]),
                Tensor::i64(&[1], vec![0]),
                Tensor::i64(&[1], vec![st]),
            );
            ev1(&Op::Slice, &[&x, &s, &e, &ax, &st]).into_i32().unwrap()
        };
        assert_eq!(sl(2, 5, 1), vec![2, 3, 4]);
        assert_eq!(sl(-3, 100, 1), vec![7, 8, 9]);
        assert_eq!(sl(-100, 3, 2), vec![0, 2]);
        assert_eq!(sl(100, -100, -3), vec![9, 6, 3, 0]);
        assert_eq!(sl(5, 2, 1), Vec::<i32>::new());
        assert_eq!(sl(-1, i64::MIN, -1), (0..10).rev().collect::<Vec<_>>());
        let m = iota(&[2, 3]);
        let (s, e) = (Tensor::i64(&[1], vec![1]), Tensor::i64(&[1], vec![3]));
        let ax = Tensor::i64(&[1], vec![-1]);
        let r = ev1(&Op::Slice, &[&m, &s, &e, &ax]);
        assert_eq!(r.as_i32().unwrap(), &[1, 2, 4, 5]);
        let z = Tensor::i64(&[1], vec![0]);
        assert!(ev(&Op::Slice, &[&m, &s, &e, &ax, &z]).is_err());
    }

    #[test]
    fn expand_tile_depth_to_space() {
        let x = Tensor::i32(&[3, 1], vec![1, 2, 3]);
        let s = Tensor::i64(&[3], vec![2, 1, 2]);
        let r = ev1(&Op::Expand, &[&x, &s]);
        assert_eq!(r.shape, vec![2, 3, 2]);
        assert_eq!(r.as_i32().unwrap(), &[1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
        let x = iota(&[2, 2]);
        let rp = Tensor::i64(&[2], vec![1, 2]);
        assert_eq!(ev1(&Op::Tile, &[&x, &rp]).as_i32().unwrap(), &[0, 1, 0, 1, 2, 3, 2, 3]);
        let x = iota(&[1, 4, 1, 2]);
        let r = ev1(&Op::DepthToSpace(BlockAttrs { blocksize: 2, mode: "DCR".into() }), &[&x]);
        assert_eq!(r.shape, vec![1, 1, 2, 4]);
        assert_eq!(r.as_i32().unwrap(), &[0, 2, 1, 3, 4, 6, 5, 7]);
        let r = ev1(&Op::DepthToSpace(BlockAttrs { blocksize: 2, mode: "CRD".into() }), &[&x]);
        assert_eq!(r.as_i32().unwrap(), &[0, 2, 1, 3, 4, 6, 5, 7]);
        let x = iota(&[1, 8, 1, 1]);
        let d = ev1(&Op::DepthToSpace(BlockAttrs { blocksize: 2, mode: "DCR".into() }), &[&x]);
        let c = ev1(&Op::DepthToSpace(BlockAttrs { blocksize: 2, mode: "CRD".into() }), &[&x]);
        assert_eq!(d.as_i32().unwrap(), &[0, 2, 4, 6, 1, 3, 5, 7]);
        assert_eq!(c.as_i32().unwrap(), &[0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
