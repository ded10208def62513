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
use inkwell::values::VectorValue;
use qcc_lowering::QGemm;

/// Register tile of the integer GEMM: `MR` rows × `NRV` vectors of `lanes` i32 columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QTile {
    /// Rows per tile.
    pub mr: usize,
    /// Vectors of columns per tile.
    pub nrv: usize,
    /// i32 lanes per vector (4, 8 or 16).
    pub lanes: usize,
}

impl QTile {
    /// The tile for a target: 6×2 vectors of 8 lanes with AVX2 (12 accumulators + 2 B
    /// vectors + 1 broadcast A of 16 ymm registers), 8×3 of 16 lanes with AVX-512BW (of 32 zmm),
    /// else 4×2 of 4 lanes (128-bit).
    pub fn for_target(t: &crate::target::TargetSpec) -> QTile {
        match t.vector_bits() {
            512 => QTile { mr: 8, nrv: 3, lanes: 16 },
            256 => QTile { mr: 6, nrv: 2, lanes: 8 },
            _ => QTile { mr: 4, nrv: 2, lanes: 4 },
        }
    }
    fn nr(&self) -> usize {
        self.nrv * self.lanes
    }
}

/// B packed for the pair-wise multiply-add: `[n/NR][k/2][NR][2]` i16 (zero padded), so one
/// vector load gives `NR/NRV` columns × 2 consecutive k.
fn pack_b(b: &[i8], n: usize, k: usize, t: QTile) -> Vec<u8> {
    let (nr, k2, nb) = (t.nr(), k.div_ceil(2), n.div_ceil(t.nr()));
    let mut out = vec![0i16; nb * k2 * nr * 2];
    for jb in 0..nb {
        for kp in 0..k2 {
            for c in 0..nr {
                for h in 0..2 {
                    let (j, p) = (jb * nr + c, 2 * kp + h);
                    if j < n && p < k {
                        out[((jb * k2 + kp) * nr + c) * 2 + h] = b[p * n + j] as i16;
                    }
                }
            }
        }
    }
    out.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The integer GEMM of a [`QGemm`] step (inputs: A; output: C).
///
/// Per block of `MR` rows, A is widened to i16 pairs (`[k/2][MR]` i32 words, zero padded) in a
/// stack buffer; per block of `NR` columns the `k/2` loop keeps `MR × NRV` i32 accumulator
/// vectors in registers and adds `pmaddwd(broadcast(A pair), B pair vector)` (exact: products
/// of 8-bit values summed in pairs never overflow i32). x86 uses the `pmaddwd` intrinsic at the
/// tile's width; other targets get the same arithmetic as generic vector IR. The tile is then
/// stored and the epilogue (bias, requantization) runs over its valid rows and columns.
pub(crate) fn qgemm<'ctx>(cg: &mut Cg<'ctx>, name: &str, q: &QGemm) -> R<Built<'ctx>> {
    let t = QTile::for_target(&cg.target);
    let (m, n, kk) = (q.m, q.n, q.k);
    let (nr, k2, mr, lanes) = (t.nr(), kk.div_ceil(2), t.mr, t.lanes);
    // Zero point folded into the bias: Σ (a − za)·b = Σ a·b − za·Σ b (exact in wrapping i32).
    let mut bias = vec![0i32; n.div_ceil(nr) * nr];
    for j in 0..n {
        let colsum = (0..kk).fold(0i32, |s, p| s.wrapping_add(q.b[p * n + j] as i32));
        let b0 = q.bias.as_ref().map_or(0, |b| b[j]);
        bias[j] = b0.wrapping_sub(q.a_zero_point.wrapping_mul(colsum));
    }
    let pb = cg.constant(&pack_b(&q.b, n, kk, t));
    let pbias = cg.constant(&i32_bytes(&bias));
    let mults = q.requant.as_ref().map(|r| {
        let v = if r.multipliers.len() == 1 {
            vec![r.multipliers[0]; n]
        } else {
            r.multipliers.clone()
        };
        cg.constant(&f32_bytes(&v))
    });
    let x86 = cg.target.triple.starts_with("x86_64");
    let k = cg.kernel(name, 2)?;
    let ctx = k.cg.ctx;
    let (i8t, i16t, i32t) = (k.int(8), k.int(16), k.int(32));
    let (v16, v32) = (i16t.vec_type(2 * lanes as u32), i32t.vec_type(lanes as u32));
    let a = k.buf(0, i8t)?;
    let b = k.const_ptr(pb, i16t)?;
    let bs = k.const_ptr(pbias, i32t)?;
    let mp = match mults {
        Some(p) => Some(k.const_ptr(p, k.f32t())?),
        None => None,
    };
    let (c8, c32) = (k.buf(1, i8t)?, k.buf(1, i32t)?);
    // Stack buffers: the widened A block and the accumulator tile.
    let apack = k.array(i32t, k2 * mr)?;
    let tile = k.array(i32t, mr * nr)?;
    let accs: Vec<_> = (0..mr * t.nrv).map(|_| k.var(v32.const_zero().into())).collect::<R<_>>()?;
    let rows_here = k.sub(k.r1, k.r0)?;
    let nblk = k.b().build_int_signed_div(
        k.add(rows_here, k.i64c(mr as i64 - 1))?,
        k.i64c(mr as i64),
        "nb",
    )?;
    let zero_v = v32.const_zero();
    k.for_range(k.i64c(0), nblk, &mut |blk| {
        let i0 = k.affine(blk, mr, k.r0)?;
        let left = k.sub(k.r1, i0)?;
        let lt = k.icmp(inkwell::IntPredicate::SLT, left, k.i64c(mr as i64))?;
        let valid = k.select(lt, left, k.i64c(mr as i64))?.into_int_value();
        // Widen A rows i0..i0+valid into i16 pairs; rows past `valid` and the odd k are zero.
        for r in 0..mr {
            let live = k.icmp(inkwell::IntPredicate::SLT, k.i64c(r as i64), valid)?;
            let row = k.add(i0, k.i64c(r as i64))?;
            let row = k.select(live, row, k.i64c(0))?.into_int_value();
            let arow = k.mul(row, k.i64c(kk as i64))?;
            k.for_n(k2, &mut |kp| {
                let p0 = k.add(arow, k.mul(kp, k.i64c(2))?)?;
                let lo = k.ext(k.ldi(i8t, a, p0)?, i16t, q.a_signed)?;
                let hi = if kk % 2 == 1 {
                    // The last pair's second element is padding.
                    let last = k.icmp(inkwell::IntPredicate::EQ, kp, k.i64c(k2 as i64 - 1))?;
                    let p1 = k.add(p0, k.i64c(1))?;
                    let p1 = k.select(last, p0, p1)?.into_int_value();
                    let v = k.ext(k.ldi(i8t, a, p1)?, i16t, q.a_signed)?;
                    k.select(last, i16t.const_zero(), v)?.into_int_value()
                } else {
                    k.ext(k.ldi(i8t, a, k.add(p0, k.i64c(1))?)?, i16t, q.a_signed)?
                };
                let w = k.add(
                    k.ext(lo, i32t, false)?,
                    k.mul(k.ext(hi, i32t, false)?, k.i32c(1 << 16))?,
                )?;
                let w = k.select(live, w, k.i32c(0))?.into_int_value();
                k.st(apack, k.affine(kp, mr, k.i64c(r as i64))?, w)
            })?;
        }
        k.for_n(n.div_ceil(nr), &mut |jb| {
            for acc in &accs {
                k.set(*acc, zero_v)?;
            }
            let bblk = k.mul(jb, k.i64c((k2 * nr * 2) as i64))?;
            k.for_n(k2, &mut |kp| {
                let boff = k.affine(kp, nr * 2, bblk)?;
                let bv: Vec<_> = (0..t.nrv)
                    .map(|c| k.ld_vec(v16, b, k.add(boff, k.i64c((c * lanes * 2) as i64))?))
                    .collect::<R<_>>()?;
                for r in 0..mr {
                    let w = k.ldi(i32t, apack, k.affine(kp, mr, k.i64c(r as i64))?)?;
                    let av = k.splat(w, lanes)?;
                    let av = k.b().build_bit_cast(av, v16, "a16")?.into_vector_value();
                    for (c, bvc) in bv.iter().enumerate() {
                        let acc = accs[r * t.nrv + c];
                        let prod = pmaddwd(&k, x86, av, *bvc, v32)?;
                        let cur = k.get(v32, acc)?.into_vector_value();
                        k.set(acc, k.b().build_int_add(cur, prod, "acc")?)?;
                    }
                }
                Ok(())
            })?;
            for r in 0..mr {
                for c in 0..t.nrv {
                    let v = k.get(v32, accs[r * t.nrv + c])?;
                    k.st_vec(tile, k.i64c((r * nr + c * lanes) as i64), v.into_vector_value())?;
                }
            }
            // Epilogue over the valid part of the tile.
            let j0 = k.mul(jb, k.i64c(nr as i64))?;
            let cols_left = k.sub(k.i64c(n as i64), j0)?;
            let clt = k.icmp(inkwell::IntPredicate::SLT, cols_left, k.i64c(nr as i64))?;
            let cols = k.select(clt, cols_left, k.i64c(nr as i64))?.into_int_value();
            k.for_range(k.i64c(0), valid, &mut |r| {
                let crow = k.mul(k.add(i0, r)?, k.i64c(n as i64))?;
                k.for_range(k.i64c(0), cols, &mut |c| {
                    let j = k.add(j0, c)?;
                    let acc = k.ldi(i32t, tile, k.affine(r, nr, c)?)?;
                    let acc = k.add(acc, k.ldi(i32t, bs, j)?)?;
                    let ci = k.add(crow, j)?;
                    match (&q.requant, mp) {
                        (Some(rq), Some(mp)) => {
                            let y = k.requant(
                                acc,
                                rq.acc_zero_point,
                                k.ldf(mp, j)?,
                                rq.zero_point,
                                rq.lo,
                                rq.hi,
                            )?;
                            k.st(c8, ci, k.trunc(y, i8t)?)
                        }
                        _ => k.st(c32, ci, acc),
                    }
                })
            })
        })
    })?;
    let _ = ctx;
    Ok(rows(k.finish()?, m))
}

/// `Σ` of adjacent i16 products into i32 lanes (`pmaddwd`): the x86 intrinsic at the vector's
/// width, else the same arithmetic in generic IR (widen, multiply, add even and odd lanes).
fn pmaddwd<'ctx>(
    k: &crate::emit::K<'_, 'ctx>,
    x86: bool,
    a: VectorValue<'ctx>,
    b: VectorValue<'ctx>,
    v32: inkwell::types::VectorType<'ctx>,
) -> R<VectorValue<'ctx>> {
    let lanes = v32.get_size();
    let name = match lanes {
        4 => "llvm.x86.sse2.pmadd.wd",
        8 => "llvm.x86.avx2.pmadd.wd",
        _ => "llvm.x86.avx512.pmaddw.d.512",
    };
    if x86 {
        return Ok(k.intrinsic(name, &[], &[a.into(), b.into()])?.into_vector_value());
    }
    let wide = k.int(32).vec_type(2 * lanes);
    let bld = k.b();
    let aw = bld.build_int_s_extend(a, wide, "aw")?;
    let bw = bld.build_int_s_extend(b, wide, "bw")?;
    let p = bld.build_int_mul(aw, bw, "p")?;
    let idx = |odd: u32| {
        let v: Vec<_> =
            (0..lanes).map(|i| k.int(32).const_int((2 * i + odd) as u64, false)).collect();
        inkwell::types::VectorType::const_vector(&v)
    };
    let even = bld.build_shuffle_vector(p, p, idx(0), "ev")?;
    let odd = bld.build_shuffle_vector(p, p, idx(1), "od")?;
    Ok(bld.build_int_add(even, odd, "pm")?)
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
