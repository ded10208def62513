//! Integer convolution and matrix product kernels: i32 accumulation with wrapping arithmetic,
//! `acc = Σ (x − zx)(w − zw)`, shared by `ConvInteger`, `QLinearConv`, `QConv`,
//! `MatMulInteger`, `QLinearMatMul` and `QMatMul`.
//!
//! Operands are widened once to i32 with their zero point subtracted; the convolution pads with
//! 0 after subtraction (the input zero point, i.e. a real zero). The product loops run
//! i-k-j over row-major B in cache blocks, so the inner loop is a contiguous axpy that
//! vectorizes; nothing is allocated per element.

use super::conv::{conv_geom, im2col, tile_rows};
use super::matmul::matmul_shape;
use super::util::{cmul, dtype_err, numel, shape_err, R};
use crate::ops::ConvAttrs;
use crate::tensor::{Data, Tensor};

/// The elements of an integer tensor (8/16/32-bit, 4-bit) as i32; errors on other dtypes.
pub(crate) fn to_i32(t: &Tensor, operand: usize) -> R<Vec<i32>> {
    Ok(match &t.data {
        Data::I32(v) => v.clone(),
        Data::I16(v) => v.iter().map(|&x| x as i32).collect(),
        Data::I8(v) => v.iter().map(|&x| x as i32).collect(),
        Data::U8(v) => v.iter().map(|&x| x as i32).collect(),
        Data::U16(v) => v.iter().map(|&x| x as i32).collect(),
        _ => return Err(dtype_err(operand, t.dtype)),
    })
}

/// `c[m×n] += a[m×k] · b[k×n]` (row-major, wrapping i32). Uses AVX2 when the CPU has it
/// (same results: integer arithmetic is exact).
pub(crate) fn igemm(m: usize, n: usize, k: usize, a: &[i32], b: &[i32], c: &mut [i32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "igemm bounds");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above; `igemm_avx2` has no other
            // precondition.
            unsafe { igemm_avx2(m, n, k, a, b, c) };
            return;
        }
    }
    igemm_body(m, n, k, a, b, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn igemm_avx2(m: usize, n: usize, k: usize, a: &[i32], b: &[i32], c: &mut [i32]) {
    igemm_body(m, n, k, a, b, c);
}

/// Register-tiled kernel: a 4×16 block of C stays in registers across the whole k loop; the
/// 16-column panel of B it reads is reused by every row block.
#[inline(always)]
fn igemm_body(m: usize, n: usize, k: usize, a: &[i32], b: &[i32], c: &mut [i32]) {
    const MR: usize = 4;
    const NR: usize = 16;
    let mut j = 0;
    while j + NR <= n {
        let mut i = 0;
        while i + MR <= m {
            let mut acc = [[0i32; NR]; MR];
            for (r, row) in acc.iter_mut().enumerate() {
                row.copy_from_slice(&c[(i + r) * n + j..(i + r) * n + j + NR]);
            }
            for l in 0..k {
                let brow: &[i32; NR] = b[l * n + j..l * n + j + NR].try_into().expect("NR columns");
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = a[(i + r) * k + l];
                    for q in 0..NR {
                        row[q] = row[q].wrapping_add(av.wrapping_mul(brow[q]));
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                c[(i + r) * n + j..(i + r) * n + j + NR].copy_from_slice(row);
            }
            i += MR;
        }
        for r in i..m {
            let mut acc: [i32; NR] = c[r * n + j..r * n + j + NR].try_into().expect("NR columns");
            for l in 0..k {
                let av = a[r * k + l];
                let brow = &b[l * n + j..l * n + j + NR];
                for q in 0..NR {
                    acc[q] = acc[q].wrapping_add(av.wrapping_mul(brow[q]));
                }
            }
            c[r * n + j..r * n + j + NR].copy_from_slice(&acc);
        }
        j += NR;
    }
    if j < n {
        for r in 0..m {
            for l in 0..k {
                let av = a[r * k + l];
                let brow = &b[l * n + j..l * n + n];
                let crow = &mut c[r * n + j..r * n + n];
                for (cv, &bv) in crow.iter_mut().zip(brow) {
                    *cv = cv.wrapping_add(av.wrapping_mul(bv));
                }
            }
        }
    }
}

/// Subtracts a per-tensor (len 1) or per-`axis`-index zero point from widened values.
fn sub_zp(v: &mut [i32], zp: &[i32], inner: usize, dim: usize) {
    if zp.len() == 1 {
        let z = zp[0];
        if z != 0 {
            v.iter_mut().for_each(|x| *x = x.wrapping_sub(z));
        }
    } else {
        for (i, x) in v.iter_mut().enumerate() {
            *x = x.wrapping_sub(zp[(i / inner) % dim]);
        }
    }
}

/// Integer convolution: returns (acc [N, M, out...], shape). `zx` per tensor; `zw` per tensor
/// (len 1) or per output channel (len M); `bias` (len M) is added with wrapping.
pub(crate) fn int_conv(
    x: &Tensor,
    zx: i32,
    w: &Tensor,
    zw: &[i32],
    bias: Option<&[i32]>,
    at: &ConvAttrs,
) -> R<(Vec<i32>, Vec<usize>)> {
    let (n, c, m, group, sp) = conv_geom(&x.shape, &w.shape, at)?;
    if zw.len() != 1 && zw.len() != m {
        return Err(shape_err(format!(
            "weight zero point has {} values for {m} channels",
            zw.len()
        )));
    }
    if let Some(b) = bias {
        if b.len() != m {
            return Err(shape_err(format!("bias has {} values for {m} channels", b.len())));
        }
    }
    let mut xv = to_i32(x, 0)?;
    sub_zp(&mut xv, &[zx], 1, 1);
    let mut wv = to_i32(w, 1)?;
    let wper = numel(&w.shape[1..])?;
    sub_zp(&mut wv, zw, wper, m);
    let mut oshape = vec![n, m];
    oshape.extend(sp.out_dims());
    let mut out = vec![0i32; numel(&oshape)?];
    let (ivol, ovol) = (sp.ivol(), sp.ovol());
    if let Some(b) = bias {
        for (i, o) in out.chunks_mut(ovol.max(1)).enumerate() {
            o.fill(b[i % m]);
        }
    }
    let (cg, mg) = (c / group, m / group);
    let kk = cmul(cg, sp.kvol())?;
    let nrows = sp.outs[0] * sp.outs[1];
    let tr = tile_rows(&sp, kk, 1 << 20);
    let mut col = Vec::new();
    let mut tile = Vec::new();
    for ni in 0..n {
        for g in 0..group {
            let xg = &xv[(ni * c + g * cg) * ivol..(ni * c + (g + 1) * cg) * ivol];
            let wg = &wv[g * mg * kk..(g + 1) * mg * kk];
            let ooff = (ni * m + g * mg) * ovol;
            if sp.is_pointwise() {
                igemm(mg, ovol, cg, wg, xg, &mut out[ooff..ooff + mg * ovol]);
                continue;
            }
            let mut r0 = 0;
            while r0 < nrows {
                let r1 = (r0 + tr).min(nrows);
                im2col(xg, cg, &sp, 0i32, r0..r1, &mut col);
                let width = (r1 - r0) * sp.outs[2];
                tile.clear();
                tile.resize(mg * width, 0i32);
                igemm(mg, width, kk, wg, &col, &mut tile);
                for oc in 0..mg {
                    let dst = &mut out[ooff + oc * ovol + r0 * sp.outs[2]..][..width];
                    for (d, t) in dst.iter_mut().zip(&tile[oc * width..(oc + 1) * width]) {
                        *d = d.wrapping_add(*t);
                    }
                }
                r0 = r1;
            }
        }
    }
    Ok((out, oshape))
}

/// Integer batched matmul with numpy broadcasting: `acc = Σ (a − za)(b − zb)`. `za` is per
/// tensor (len 1) or per row of A (len M); `zb` per tensor or per column of B (len N).
pub(crate) fn int_matmul(
    a: &Tensor,
    za: &[i32],
    b: &Tensor,
    zb: &[i32],
) -> R<(Vec<i32>, Vec<usize>)> {
    let g = matmul_shape(&a.shape, &b.shape)?;
    let (m, k, n) = (g.m, g.k, g.n);
    if za.len() != 1 && za.len() != m {
        return Err(shape_err(format!("A zero point has {} values for {m} rows", za.len())));
    }
    if zb.len() != 1 && zb.len() != n {
        return Err(shape_err(format!("B zero point has {} values for {n} columns", zb.len())));
    }
    let mut av = to_i32(a, 0)?;
    sub_zp(&mut av, za, k, m.max(1));
    let mut bv = to_i32(b, 1)?;
    sub_zp(&mut bv, zb, 1, n.max(1));
    let mut out = vec![0i32; cmul(g.pairs.len(), m * n)?];
    for (bi, &(ia, ib)) in g.pairs.iter().enumerate() {
        igemm(
            m,
            n,
            k,
            &av[ia * m * k..(ia + 1) * m * k],
            &bv[ib * k * n..(ib + 1) * k * n],
            &mut out[bi * m * n..(bi + 1) * m * n],
        );
    }
    Ok((out, g.out_shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive i64 reference of an integer 2-d convolution (then wrapped to i32).
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[i32],
        xs: [usize; 4],
        zx: i32,
        w: &[i32],
        ws: [usize; 4],
        zw: &[i32],
        group: usize,
        st: [usize; 2],
        di: [usize; 2],
        p: [usize; 4],
    ) -> Vec<i32> {
        let [n, c, h, wd] = xs;
        let [m, cg, kh, kw] = ws;
        let oh = (h + p[0] + p[2] - (kh - 1) * di[0] - 1) / st[0] + 1;
        let ow = (wd + p[1] + p[3] - (kw - 1) * di[1] - 1) / st[1] + 1;
        let mg = m / group;
        let mut out = vec![0i32; n * m * oh * ow];
        for ni in 0..n {
            for mo in 0..m {
                let z = if zw.len() == 1 { zw[0] } else { zw[mo] };
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut s = 0i64;
                        for ci in 0..cg {
                            let cc = (mo / mg) * cg + ci;
                            for a in 0..kh {
                                for b in 0..kw {
                                    let iy = (y * st[0] + a * di[0]) as isize - p[0] as isize;
                                    let ix = (xx * st[1] + b * di[1]) as isize - p[1] as isize;
                                    let xv = if iy < 0
                                        || ix < 0
                                        || iy >= h as isize
                                        || ix >= wd as isize
                                    {
                                        zx
                                    } else {
                                        x[((ni * c + cc) * h + iy as usize) * wd + ix as usize]
                                    };
                                    s += (xv - zx) as i64
                                        * (w[((mo * cg + ci) * kh + a) * kw + b] - z) as i64;
                                }
                            }
                        }
                        out[((ni * m + mo) * oh + y) * ow + xx] = s as i32;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn accumulator_wraps() {
        let a = Tensor::i32(&[1, 2], vec![i32::MAX, 1]);
        let b = Tensor::i32(&[2, 1], vec![1, 1]);
        let (v, s) = int_matmul(&a, &[0], &b, &[0]).unwrap();
        assert_eq!(s, vec![1, 1]);
        assert_eq!(v, vec![i32::MIN]);
    }

    #[test]
    fn matmul_zero_points_per_row_and_column() {
        let a = Tensor::u8(&[2, 2], vec![10, 11, 20, 22]);
        let b = Tensor::i8(&[2, 2], vec![1, -1, 3, 5]);
        let (v, _) = int_matmul(&a, &[10, 20], &b, &[1, -1]).unwrap();
        // a - za = [[0,1],[0,2]], b - zb = [[0,0],[2,6]]
        assert_eq!(v, vec![2, 6, 4, 12]);
        assert!(int_matmul(&a, &[1, 2, 3], &b, &[0]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn int_conv_matches_naive(
            n in 1usize..3, cg in 1usize..4, mg in 1usize..4, group in 1usize..4,
            h in 1usize..8, w in 1usize..8, kh in 1usize..4, kw in 1usize..4,
            sh in 1usize..3, sw in 1usize..3, dh in 1usize..3, dw in 1usize..3,
            p in proptest::array::uniform4(0usize..3), zx in 0i32..256, per_ch in any::<bool>(),
            xs in proptest::collection::vec(0u8..=255, 256), ws in proptest::collection::vec(-128i8..=127, 256),
        ) {
            let (c, m) = (cg * group, mg * group);
            prop_assume!(h + p[0] + p[2] > (kh - 1) * dh && w + p[1] + p[3] > (kw - 1) * dw);
            let xv: Vec<u8> = (0..n * c * h * w).map(|i| xs[i % 256]).collect();
            let wv: Vec<i8> = (0..m * cg * kh * kw).map(|i| ws[(i * 7) % 256]).collect();
            let zw: Vec<i32> = if per_ch { (0..m as i32).map(|i| i * 3 - 4).collect() } else { vec![2] };
            let at = ConvAttrs { strides: vec![sh, sw], dilations: vec![dh, dw], pads: p.to_vec(), group, ..Default::default() };
            let xt = Tensor::u8(&[n, c, h, w], xv.clone());
            let wt = Tensor::i8(&[m, cg, kh, kw], wv.clone());
            let (got, _) = int_conv(&xt, zx, &wt, &zw, None, &at).unwrap();
            let xi: Vec<i32> = xv.iter().map(|&v| v as i32).collect();
            let wi: Vec<i32> = wv.iter().map(|&v| v as i32).collect();
            let want = naive(&xi, [n, c, h, w], zx, &wi, [m, cg, kh, kw], &zw, group, [sh, sw], [dh, dw], p);
            prop_assert_eq!(got, want);
        }

        #[test]
        fn int_matmul_matches_naive(m in 1usize..7, k in 0usize..9, n in 1usize..7, za in -5i32..5, zb in -5i32..5,
            av in proptest::collection::vec(-128i8..=127, 64), bv in proptest::collection::vec(-128i8..=127, 64)) {
            let a: Vec<i8> = (0..m * k).map(|i| av[i % 64]).collect();
            let b: Vec<i8> = (0..k * n).map(|i| bv[i % 64]).collect();
            let (got, s) = int_matmul(&Tensor::i8(&[m, k], a.clone()), &[za], &Tensor::i8(&[k, n], b.clone()), &[zb]).unwrap();
            prop_assert_eq!(s, vec![m, n]);
            for i in 0..m { for j in 0..n {
                let want: i64 = (0..k).map(|l| (a[i * k + l] as i64 - za as i64) * (b[l * n + j] as i64 - zb as i64)).sum();
                prop_assert_eq!(got[i * n + j] as i64, want);
            }}
        }
    }
}
