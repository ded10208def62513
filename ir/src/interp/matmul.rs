//! Matrix products in f32: `MatMul` (batched, numpy-broadcast batch axes, 1-d operands promoted)
//! and `Gemm`, both through the `gemm` crate, plus the strided f32 kernel wrapper shared with the
//! convolutions.

use super::broadcast::broadcast_shape;
use super::util::{cmul, dtype_err, float_out, floats, numel, shape_err, strides, Args, R};
use crate::ops::GemmAttrs;
use crate::tensor::Tensor;

/// A strided f32 matrix view: element (i, j) is `data[off + i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub off: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` columns starting at `off`.
    pub fn rows(data: &'a [f32], off: usize, cols: usize) -> Mat<'a> {
        Mat { data, off, rs: cols, cs: 1 }
    }
    fn fits(&self, r: usize, c: usize) -> bool {
        if r == 0 || c == 0 {
            return true;
        }
        let last = (r - 1)
            .checked_mul(self.rs)
            .and_then(|a| (c - 1).checked_mul(self.cs).and_then(|b| a.checked_add(b)))
            .and_then(|x| x.checked_add(self.off));
        matches!(last, Some(l) if l < self.data.len())
    }
}

/// `dst[m×n] (row-major, row stride dst_rs, from dst_off) = (accumulate ? dst : 0) + alpha·A·B`
/// with A `m×k`, B `k×n`. Panics only on an internal bounds bug (checked before the unsafe call).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    dst: &mut [f32],
    dst_off: usize,
    dst_rs: usize,
    accumulate: bool,
    alpha: f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    let dst_ok = (m - 1)
        .checked_mul(dst_rs)
        .and_then(|x| x.checked_add(n - 1 + dst_off))
        .is_some_and(|l| l < dst.len());
    assert!(a.fits(m, k) && b.fits(k, n) && dst_ok, "sgemm bounds");
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                dst[dst_off + i * dst_rs..dst_off + i * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: every index the kernel touches, (i·rs + j·cs + off) for i < rows, j < cols, was
    // checked above to lie inside its slice; dst does not alias a or b (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().add(dst_off),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr().add(a.off),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr().add(b.off),
            b.cs as isize,
            b.rs as isize,
            1.0f32,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The batch broadcast of two matmul operand shapes (after 1-d promotion): returns
/// (batch shape, m, k, n, a batch strides, b batch strides) in matrices.
pub(crate) struct MatmulShape {
    /// Rows of A.
    pub m: usize,
    /// Inner extent.
    pub k: usize,
    /// Columns of B.
    pub n: usize,
    /// For each batch element, the matrix index in A and in B.
    pub pairs: Vec<(usize, usize)>,
    /// The result shape (1-d promotions removed).
    pub out_shape: Vec<usize>,
}

/// Computes the batched matmul geometry of shapes `sa` and `sb` (ONNX/numpy semantics).
pub(crate) fn matmul_shape(sa: &[usize], sb: &[usize]) -> R<MatmulShape> {
    if sa.is_empty() || sb.is_empty() {
        return Err(shape_err("MatMul operands must have rank >= 1"));
    }
    let a2: Vec<usize> = if sa.len() == 1 { vec![1, sa[0]] } else { sa.to_vec() };
    let b2: Vec<usize> = if sb.len() == 1 { vec![sb[0], 1] } else { sb.to_vec() };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(shape_err(format!("matmul inner extents differ: {sa:?} x {sb:?}")));
    }
    let ba = &a2[..a2.len() - 2];
    let bb = &b2[..b2.len() - 2];
    let batch = broadcast_shape(ba, bb)?;
    let nb = numel(&batch)?;
    let sta = super::broadcast::bstrides(ba, &batch);
    let stb = super::broadcast::bstrides(bb, &batch);
    let bs = strides(&batch);
    let mut pairs = Vec::with_capacity(nb);
    for i in 0..nb {
        let (mut ia, mut ib) = (0, 0);
        for d in 0..batch.len() {
            let c = (i / bs[d]) % batch[d];
            ia += c * sta[d];
            ib += c * stb[d];
        }
        pairs.push((ia, ib));
    }
    let mut out_shape = batch.clone();
    if sa.len() > 1 {
        out_shape.push(m);
    }
    if sb.len() > 1 {
        out_shape.push(n);
    }
    numel(&out_shape)?;
    cmul(cmul(m, k)?, n)?;
    Ok(MatmulShape { m, k, n, pairs, out_shape })
}

/// `MatMul(a, b)` on floats.
pub(crate) fn matmul(a: &Args<'_>) -> R<Tensor> {
    a.arity(2, 2)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    if y.dtype != x.dtype {
        return Err(dtype_err(1, y.dtype));
    }
    let g = matmul_shape(&x.shape, &y.shape)?;
    let (p, q) = (floats(x, 0)?, floats(y, 1)?);
    let (m, k, n) = (g.m, g.k, g.n);
    let mut out = vec![0f32; cmul(g.pairs.len(), m * n)?];
    for (bi, &(ia, ib)) in g.pairs.iter().enumerate() {
        sgemm(
            m,
            n,
            k,
            Mat::rows(&p, ia * m * k, k),
            Mat::rows(&q, ib * k * n, n),
            &mut out,
            bi * m * n,
            n,
            false,
            1.0,
        );
    }
    float_out(x.dtype, g.out_shape, out)
}

/// `Gemm(a, b, c?)`: `alpha·op(a)·op(b) + beta·c`, c broadcast to the result.
pub(crate) fn gemm_op(a: &Args<'_>, at: &GemmAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let (x, y) = (a.req(0)?, a.req(1)?);
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    if y.dtype != x.dtype {
        return Err(dtype_err(1, y.dtype));
    }
    if x.rank() != 2 || y.rank() != 2 {
        return Err(shape_err(format!(
            "Gemm needs 2-d operands, got {:?} and {:?}",
            x.shape, y.shape
        )));
    }
    let (m, k) = if at.trans_a { (x.shape[1], x.shape[0]) } else { (x.shape[0], x.shape[1]) };
    let (kb, n) = if at.trans_b { (y.shape[1], y.shape[0]) } else { (y.shape[0], y.shape[1]) };
    if k != kb {
        return Err(shape_err(format!(
            "Gemm inner extents differ: {:?} x {:?} (trans_a={}, trans_b={})",
            x.shape, y.shape, at.trans_a, at.trans_b
        )));
    }
    let (p, q) = (floats(x, 0)?, floats(y, 1)?);
    let mut out = vec![0f32; cmul(m, n)?];
    let mut acc = false;
    if let Some(c) = a.opt(2) {
        if c.dtype != x.dtype {
            return Err(dtype_err(2, c.dtype));
        }
        let idx = super::broadcast::broadcast_index(&c.shape, &[m, n])?;
        let cv = floats(c, 2)?;
        for (o, &i) in out.iter_mut().zip(&idx) {
            *o = at.beta * cv[i];
        }
        acc = true;
    }
    let am = if at.trans_a { Mat { data: &p, off: 0, rs: 1, cs: m } } else { Mat::rows(&p, 0, k) };
    let bm = if at.trans_b { Mat { data: &q, off: 0, rs: 1, cs: k } } else { Mat::rows(&q, 0, n) };
    sgemm(m, n, k, am, bm, &mut out, 0, n, acc, at.alpha);
    float_out(x.dtype, vec![m, n], out)
}

/// A naive f32 matmul reference for tests.
#[cfg(test)]
pub(crate) fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for l in 0..k {
                s += a[i * k + l] as f64 * b[l * n + j] as f64;
            }
            c[i * n + j] = s as f32;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;
    use proptest::prelude::*;

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn matmul_2x3x2() {
        let a = Tensor::f32(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let b = Tensor::f32(&[3, 2], vec![7., 8., 9., 10., 11., 12.]);
        let r = ev1(&Op::MatMul, &[&a, &b]);
        assert_eq!(r.shape, vec![2, 2]);
        assert_eq!(r.as_f32().unwrap(), &[58., 64., 139., 154.]);
    }

    #[test]
    fn matmul_1d_and_broadcast_batch() {
        let a = Tensor::f32(&[3], vec![1., 2., 3.]);
        let b = Tensor::f32(&[2, 3, 1], vec![1., 1., 1., 0., 1., 0.]);
        let r = ev1(&Op::MatMul, &[&a, &b]);
        assert_eq!(r.shape, vec![2, 1]);
        assert_eq!(r.as_f32().unwrap(), &[6., 2.]);
        let v = Tensor::f32(&[3], vec![1., 0., 1.]);
        let m = Tensor::f32(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let r = ev1(&Op::MatMul, &[&m, &v]);
        assert_eq!(r.shape, vec![2]);
        assert_eq!(r.as_f32().unwrap(), &[4., 10.]);
        let e = Tensor::f32(&[2, 4], vec![0.; 8]);
        assert!(matches!(ev_err(&Op::MatMul, &[&m, &e]), super::super::OpError::Shape(_)));
        let z = Tensor::f32(&[2, 0], vec![]);
        let w = Tensor::f32(&[0, 3], vec![]);
        let r = ev1(&Op::MatMul, &[&z, &w]);
        assert_eq!(r.as_f32().unwrap(), &[0.; 6]);
    }

    #[test]
    fn gemm_trans_alpha_beta() {
        let a = Tensor::f32(&[3, 2], vec![1., 4., 2., 5., 3., 6.]); // transposed [2,3]
        let b = Tensor::f32(&[2, 3], vec![7., 9., 11., 8., 10., 12.]); // transposed [3,2]
        let c = Tensor::f32(&[2], vec![1., -1.]);
        let at = GemmAttrs { alpha: 2.0, beta: 3.0, trans_a: true, trans_b: true };
        let r = ev1(&Op::Gemm(at.clone()), &[&a, &b, &c]);
        assert_eq!(r.as_f32().unwrap(), &[119., 125., 281., 305.]);
        let bad = Tensor::f32(&[3], vec![0.; 3]);
        assert!(ev(&Op::Gemm(at), &[&a, &b, &bad]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn batched_matmul_matches_naive(b0 in 1usize..3, b1 in 1usize..3, m in 1usize..9, k in 0usize..9, n in 1usize..9, bcast in any::<bool>(), seed in any::<u64>()) {
            let bb0 = if bcast { 1 } else { b0 };
            let av = rnd(b0 * b1 * m * k, seed);
            let bv = rnd(bb0 * k * n, seed ^ 77);
            let a = Tensor::f32(&[b0, b1, m, k], av.clone());
            let b = Tensor::f32(&[bb0, 1, k, n], bv.clone());
            let r = ev1(&Op::MatMul, &[&a, &b]);
            prop_assert_eq!(&r.shape, &vec![b0, b1, m, n]);
            let got = r.as_f32().unwrap();
            for i in 0..b0 {
                for j in 0..b1 {
                    let ai = (i * b1 + j) * m * k;
                    let bi = if bcast { 0 } else { i } * k * n;
                    let want = naive(m, k, n, &av[ai..ai + m * k], &bv[bi..bi + k * n]);
                    let oi = (i * b1 + j) * m * n;
                    close(&got[oi..oi + m * n], &want, 1e-5);
                }
            }
        }
    }
}
