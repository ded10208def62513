//! Numpy-style broadcasting: result shapes, index maps and a fast zip of two operands.

use super::util::{numel, shape_err, strides, R};

/// The broadcast shape of two shapes (numpy rules: align right, extent 1 stretches).
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> R<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(shape_err(format!("shapes {a:?} and {b:?} do not broadcast")));
        };
    }
    Ok(out)
}

/// Strides of `shape` aligned to the rank of `out`, 0 on broadcast axes.
pub(crate) fn bstrides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let s = strides(shape);
    let off = out.len() - shape.len();
    (0..out.len()).map(|i| if i < off || shape[i - off] == 1 { 0 } else { s[i - off] }).collect()
}

/// For every element of `out` (row-major), the flat index of the element of `shape` it reads.
/// `shape` must broadcast to `out`.
pub(crate) fn broadcast_index(shape: &[usize], out: &[usize]) -> R<Vec<usize>> {
    if shape.len() > out.len() {
        return Err(shape_err(format!("{shape:?} does not broadcast to {out:?}")));
    }
    let off = out.len() - shape.len();
    for (i, &d) in shape.iter().enumerate() {
        if d != 1 && d != out[i + off] {
            return Err(shape_err(format!("{shape:?} does not broadcast to {out:?}")));
        }
    }
    let n = numel(out)?;
    let st = bstrides(shape, out);
    let mut idx = Vec::with_capacity(n);
    if n == 0 {
        return Ok(idx);
    }
    let mut pos = vec![0usize; out.len()];
    let mut cur = 0usize;
    for _ in 0..n {
        idx.push(cur);
        for d in (0..out.len()).rev() {
            pos[d] += 1;
            cur += st[d];
            if pos[d] < out[d] {
                break;
            }
            cur -= st[d] * out[d];
            pos[d] = 0;
        }
    }
    Ok(idx)
}

/// Applies `f` elementwise over the broadcast of `a` (shape `sa`) and `b` (shape `sb`).
pub(crate) fn zip<A: Copy, B: Copy, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    f: impl Fn(A, B) -> O,
) -> R<(Vec<O>, Vec<usize>)> {
    let out = broadcast_shape(sa, sb)?;
    let n = numel(&out)?;
    if n == 0 {
        return Ok((Vec::new(), out));
    }
    if sa == sb {
        return Ok((a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(), out));
    }
    if b.len() == 1 && a.len() == n {
        let y = b[0];
        return Ok((a.iter().map(|&x| f(x, y)).collect(), out));
    }
    if a.len() == 1 && b.len() == n {
        let x = a[0];
        return Ok((b.iter().map(|&y| f(x, y)).collect(), out));
    }
    let r = out.len();
    let ta = bstrides(sa, &out);
    let tb = bstrides(sb, &out);
    let inner = out[r - 1];
    let (ia, ib) = (ta[r - 1], tb[r - 1]);
    let outer = n / inner;
    let mut res = Vec::with_capacity(n);
    let mut pos = vec![0usize; r - 1];
    let (mut oa, mut ob) = (0usize, 0usize);
    for _ in 0..outer {
        for j in 0..inner {
            res.push(f(a[oa + j * ia], b[ob + j * ib]));
        }
        for d in (0..r - 1).rev() {
            pos[d] += 1;
            oa += ta[d];
            ob += tb[d];
            if pos[d] < out[d] {
                break;
            }
            oa -= ta[d] * out[d];
            ob -= tb[d] * out[d];
            pos[d] = 0;
        }
    }
    Ok((res, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast() {
        assert_eq!(broadcast_shape(&[2, 1, 3], &[4, 1]).unwrap(), vec![2, 4, 3]);
        assert_eq!(broadcast_shape(&[], &[5]).unwrap(), vec![5]);
        assert_eq!(broadcast_shape(&[0, 1], &[1, 3]).unwrap(), vec![0, 3]);
        assert!(broadcast_shape(&[2, 3], &[3, 2]).is_err());
    }

    #[test]
    fn index_map_and_zip_agree() {
        let a: Vec<i32> = (0..6).collect();
        let b = [10, 20];
        let (v, s) = zip(&a, &[3, 1, 2], &b, &[2, 1], |x, y| x + y).unwrap();
        assert_eq!(s, vec![3, 2, 2]);
        assert_eq!(v, vec![10, 11, 20, 21, 12, 13, 22, 23, 14, 15, 24, 25]);
        let ia = broadcast_index(&[3, 1, 2], &s).unwrap();
        let ib = broadcast_index(&[2, 1], &s).unwrap();
        let w: Vec<i32> = ia.iter().zip(&ib).map(|(&i, &j)| a[i] + b[j]).collect();
        assert_eq!(v, w);
        assert!(broadcast_index(&[2], &[3]).is_err());
    }

    #[test]
    fn zip_empty() {
        let (v, s) =
            zip::<f32, f32, f32>(&[], &[0, 3], &[1.0, 2.0, 3.0], &[3], |x, y| x + y).unwrap();
        assert!(v.is_empty());
        assert_eq!(s, vec![0, 3]);
    }
}
