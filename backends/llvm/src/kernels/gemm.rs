//! GEMM kernels with constant B.
//!
//! * [`qgemm`]: `C = epi(Σ_k (A[i,k] − za)·B[k,j] + bias[j])` for 8-bit A and i8 B. B is stored
//!   transposed (`n × k`, each column contiguous) and the zero point folded into the bias at
//!   compile time (`bias[j] − za·Σ_k B[k,j]`, exact in wrapping i32), so the inner loop is a
//!   plain widening dot product, which LLVM vectorizes into `pmaddwd` (AVX2) or `sdot`-style
//!   sequences at the target's full width. The fused epilogue is `qmath::requantize`.
//! * [`sgemm`]: `C = A·B + bias` in f32. Float reductions cannot be reordered (no fast-math),
//!   so the loop runs over `j` innermost (`C[i,:] += A[i,k]·B[k,:]`), which vectorizes without
//!   reassociation and sums over `k` in the interpreter's order.
//!
//! Both split rows across threads.

use super::{rows, Built};
use crate::emit::{f32_bytes, i32_bytes, Cg, R};
use qcc_lowering::QGemm;

/// The integer GEMM of a [`QGemm`] step (inputs: A; output: C).
pub(crate) fn qgemm<'ctx>(cg: &mut Cg<'ctx>, name: &str, q: &QGemm) -> R<Built<'ctx>> {
    let (m, n, kk) = (q.m, q.n, q.k);
    let mut bt = vec![0u8; n * kk];
    let mut bias = vec![0i32; n];
    for j in 0..n {
        let mut colsum = 0i32;
        for p in 0..kk {
            let w = q.b[p * n + j];
            bt[j * kk + p] = w as u8;
            colsum = colsum.wrapping_add(w as i32);
        }
        let b0 = q.bias.as_ref().map_or(0, |b| b[j]);
        bias[j] = b0.wrapping_sub(q.a_zero_point.wrapping_mul(colsum));
    }
    let pb = cg.constant(&bt);
    let pbias = cg.constant(&i32_bytes(&bias));
    let mults = q.requant.as_ref().map(|r| {
        let mut v = r.multipliers.clone();
        if v.len() == 1 {
            v = vec![v[0]; n];
        }
        cg.constant(&f32_bytes(&v))
    });
    let k = cg.kernel(name, 2)?;
    let (i8t, i32t) = (k.int(8), k.int(32));
    let a = k.buf(0, i8t)?;
    let b = k.const_ptr(pb, i8t)?;
    let bs = k.const_ptr(pbias, i32t)?;
    let mp = match mults {
        Some(p) => Some(k.const_ptr(p, k.f32t())?),
        None => None,
    };
    let c8 = k.buf(1, i8t)?;
    let c32 = k.buf(1, i32t)?;
    k.for_range(k.r0, k.r1, &mut |i| {
        let arow = k.mul(i, k.i64c(kk as i64))?;
        let crow = k.mul(i, k.i64c(n as i64))?;
        k.for_n(n, &mut |j| {
            let brow = k.mul(j, k.i64c(kk as i64))?;
            let acc = k.var(k.ldi(i32t, bs, j)?.into())?;
            k.for_n(kk, &mut |p| {
                let x = k.ext(k.ldi(i8t, a, k.add(arow, p)?)?, i32t, q.a_signed)?;
                let w = k.ext(k.ldi(i8t, b, k.add(brow, p)?)?, i32t, true)?;
                let s = k.add(k.get(i32t, acc)?.into_int_value(), k.mul(x, w)?)?;
                k.set(acc, s)
            })?;
            let acc = k.get(i32t, acc)?.into_int_value();
            let ci = k.add(crow, j)?;
            match (&q.requant, mp) {
                (Some(r), Some(mp)) => {
                    let y =
                        k.requant(acc, r.acc_zero_point, k.ldf(mp, j)?, r.zero_point, r.lo, r.hi)?;
                    k.st(c8, ci, k.trunc(y, i8t)?)
                }
                _ => k.st(c32, ci, acc),
            }
        })
    })?;
    Ok(rows(k.finish()?, m))
}

/// The f32 GEMM `C[m×n] = A[m×k]·B[k×n] + bias` (inputs: A; output: C).
pub(crate) fn sgemm<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    (m, n, kk): (usize, usize, usize),
    bmat: &[f32],
    bias: Option<&[f32]>,
) -> R<Built<'ctx>> {
    let pb = cg.constant(&f32_bytes(bmat));
    let pbias = bias.map(|b| cg.constant(&f32_bytes(b)));
    let k = cg.kernel(name, 2)?;
    let a = k.buf(0, k.f32t())?;
    let c = k.buf(1, k.f32t())?;
    let b = k.const_ptr(pb, k.f32t())?;
    let bs = match pbias {
        Some(p) => Some(k.const_ptr(p, k.f32t())?),
        None => None,
    };
    k.for_range(k.r0, k.r1, &mut |i| {
        let crow = k.mul(i, k.i64c(n as i64))?;
        let arow = k.mul(i, k.i64c(kk as i64))?;
        k.for_n(n, &mut |j| {
            let v = match bs {
                Some(bs) => k.ldf(bs, j)?,
                None => k.f32c(0.0),
            };
            k.st(c, k.add(crow, j)?, v)
        })?;
        k.for_n(kk, &mut |p| {
            let x = k.ldf(a, k.add(arow, p)?)?;
            let brow = k.mul(p, k.i64c(n as i64))?;
            k.for_n(n, &mut |j| {
                let ci = k.add(crow, j)?;
                let w = k.ldf(b, k.add(brow, j)?)?;
                k.st(c, ci, k.fadd(k.ldf(c, ci)?, k.fmul(x, w)?)?)
            })
        })
    })?;
    Ok(rows(k.finish()?, m))
}
