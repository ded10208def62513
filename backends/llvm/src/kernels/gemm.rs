//! GEMM kernels on register tiles ([`QTile`]: `MR` rows × `NRV` vectors, sized for the
//! target's vector registers).
//!
//! * [`qgemm`]: `C = epi(Σ_k (A[i,k] − za)·B[k,j] + bias[j])` for 8-bit A and constant i8 B,
//!   through [`emit_tiles`]: B packed at compile time as i8 pairs ([`pack_b`]), A widened to
//!   i16 pairs with its zero point subtracted, `pmaddwd` into i32 accumulators that stay in
//!   registers over the whole `k` loop, then the fused epilogue (`qmath::requantize`). The
//!   integer batched matmul (`xformer::bmm`) reuses the same tiles with B packed per batch.
//!   Measured (`cargo bench -p qcc-backend-llvm --bench gemm`, Zen 2 AVX2, one thread): 95–100
//!   GOP/s on 256³, 85–87 GOP/s on 3136×64×576.
//!   With AVX-512 VNNI on 512-bit tiles ([`use_vnni`]) B is packed as i8 quads ([`pack_b4`]),
//!   A stays bytes (i8 shifted to u8 by `xor 0x80`), and `vpdpbusd` adds four u8·i8 products
//!   per i32 lane; the zero point and the shift become `−(za + 128·signed)·colsum(B)` in the
//!   bias (exact: the same integers). Measured on an AVX-512 VNNI Xeon (2026-12-08, one thread,
//!   u8 / i32 output): 486 / 560 GOP/s on 256³, 429 / 373 GOP/s on 3136×64×576.
//! * [`sgemm`]: `C = A·B + bias` in f32 on the same tiles with `llvm.fmuladd`; each output
//!   sums over `k` in the interpreter's order (only the fused rounding differs).
//!
//! Both split rows across threads.

use super::{rows, Built};
use crate::emit::K;
use crate::emit::{f32_bytes, i32_bytes, Cg, R};
use inkwell::values::{IntValue, PointerValue, VectorValue};
use inkwell::{FloatPredicate, IntPredicate};
use qcc_lowering::{QGemm, QRequant};

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
    /// Columns per tile.
    pub fn nr(&self) -> usize {
        self.nrv * self.lanes
    }
    /// The tile for `m` rows: with fewer rows than the tile has, as many rows as there are and
    /// more column vectors (the same accumulator count; m = 1 is batch-1 inference).
    pub fn for_rows(self, m: usize) -> QTile {
        if m >= self.mr {
            return self;
        }
        let acc = self.mr * self.nrv;
        QTile { mr: m.max(1), nrv: (acc / m.max(1)).min(6), lanes: self.lanes }
    }
    /// The same accumulator count reshaped (`MR·NRV` kept, 2 ≤ NRV ≤ 6, MR ≥ 2) so that the
    /// last column block wastes the fewest lanes on `n` columns (e.g. n = 64 on 16-lane vectors:
    /// 6×4 instead of 8×3, whose second block would compute 48 columns for 16).
    pub fn for_cols(self, n: usize) -> QTile {
        let acc = self.mr * self.nrv;
        let waste = |t: &QTile| n.div_ceil(t.nr()) * t.nr() - n;
        (2..=6)
            .filter(|&v| acc.is_multiple_of(v) && acc / v >= 2)
            .map(|v| QTile { mr: acc / v, nrv: v, lanes: self.lanes })
            .fold(self, |best, t| if waste(&t) < waste(&best) { t } else { best })
    }
}

/// B packed for the pair-wise multiply-add: `[n/NR][k/2][NR][2]` i8 (zero padded), so one
/// vector load gives `NR/NRV` columns × 2 consecutive k, sign-extended to i16 in registers
/// (one byte per weight in memory: batch-1 GEMVs are bound by reading the weights).
pub(crate) fn pack_b(b: &[i8], n: usize, k: usize, t: QTile) -> Vec<u8> {
    let (nr, k2, nb) = (t.nr(), k.div_ceil(2), n.div_ceil(t.nr()));
    let mut out = vec![0u8; nb * k2 * nr * 2];
    for jb in 0..nb {
        for kp in 0..k2 {
            for c in 0..nr {
                for h in 0..2 {
                    let (j, p) = (jb * nr + c, 2 * kp + h);
                    if j < n && p < k {
                        out[((jb * k2 + kp) * nr + c) * 2 + h] = b[p * n + j] as u8;
                    }
                }
            }
        }
    }
    out
}

/// B packed for `vpdpbusd`: `[n/NR][k/4][NR][4]` i8 (zero padded), so one 512-bit load gives 16
/// columns × 4 consecutive k.
pub(crate) fn pack_b4(b: &[i8], n: usize, k: usize, t: QTile) -> Vec<u8> {
    let (nr, k4, nb) = (t.nr(), k.div_ceil(4), n.div_ceil(t.nr()));
    let mut out = vec![0u8; nb * k4 * nr * 4];
    for p in 0..k {
        for j in 0..n {
            let (jb, c) = (j / nr, j % nr);
            out[((jb * k4 + p / 4) * nr + c) * 4 + p % 4] = b[p * n + j] as u8;
        }
    }
    out
}

/// Whether integer GEMMs with a constant B use `vpdpbusd`: x86-64 with AVX-512 VNNI, on the
/// 512-bit tiles.
pub(crate) fn use_vnni(target: &crate::target::TargetSpec, t: QTile) -> bool {
    target.triple.starts_with("x86_64") && target.has("avx512vnni") && t.lanes == 16
}

/// How [`emit_tiles`] finds B and A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BPack {
    /// `(b − zb)` as i16 pairs (runtime B of the batched matmul).
    I16Pairs,
    /// i8 pairs ([`pack_b`]), sign-extended after loading; A widened to `(a − za)` i16 pairs.
    I8Pairs,
    /// i8 quads ([`pack_b4`]) for `vpdpbusd`; A as u8 bytes (`a ^ 0x80` when signed), the zero
    /// point and the shift folded into the bias by the caller.
    I8Quads,
}

/// The integer GEMM of a [`QGemm`] step (inputs: A; output: C): B packed at compile time,
/// then [`emit_tiles`] over rows `r0..r1`.
pub(crate) fn qgemm<'ctx>(cg: &mut Cg<'ctx>, name: &str, q: &QGemm) -> R<Built<'ctx>> {
    let t = QTile::for_target(&cg.target);
    let t = if q.m >= t.mr { t.for_cols(q.n) } else { t.for_rows(q.m) };
    let (m, n, kk) = (q.m, q.n, q.k);
    let vnni = use_vnni(&cg.target, t);
    let (pb, bias) = if vnni {
        // Σ (a − za)·b = Σ a'·b − (za + 128·signed)·Σ b, with a' the u8 byte `vpdpbusd` reads.
        let shift = q.a_zero_point as i64 + if q.a_signed { 128 } else { 0 };
        let bias: Vec<i32> = (0..n)
            .map(|j| {
                let colsum: i64 = (0..kk).map(|p| q.b[p * n + j] as i64).sum();
                let b0 = q.bias.as_ref().map_or(0, |b| b[j] as i64);
                (b0 - shift * colsum) as i32
            })
            .collect();
        (pack_b4(&q.b, n, kk, t), Some(bias))
    } else {
        (pack_b(&q.b, n, kk, t), q.bias.clone())
    };
    let pb = cg.constant(&pb);
    let bias = bias.as_ref().map(|b| cg.constant(&i32_bytes(b)));
    let mults = q.requant.as_ref().map(|r| cg.constant(&f32_bytes(&per_column(&r.multipliers, n))));
    let k = cg.kernel(name, 2)?;
    let (i8t, i32t) = (k.int(8), k.int(32));
    let scratch = TileScratch::new(&k, t, kk)?;
    let job = TileJob {
        t,
        n,
        kk,
        a: k.buf(0, i8t)?,
        a_signed: q.a_signed,
        za: q.a_zero_point,
        b: k.const_ptr(pb, i8t)?,
        pack: if vnni { BPack::I8Quads } else { BPack::I8Pairs },
        bias: bias.map(|p| k.const_ptr(p, i32t)).transpose()?,
        requant: match (&q.requant, mults) {
            (Some(r), Some(p)) => Some((r.clone(), k.const_ptr(p, k.f32t())?)),
            _ => None,
        },
        c8: k.buf(1, i8t)?,
        c32: k.buf(1, i32t)?,
    };
    emit_tiles(&k, &job, &scratch, (k.i64c(0), k.i64c(0)), (k.r0, k.r1))?;
    Ok(rows(k.finish()?, m))
}

/// One multiplier per column (a per-tensor multiplier repeated).
pub(crate) fn per_column(m: &[f32], n: usize) -> Vec<f32> {
    if m.len() == 1 {
        vec![m[0]; n]
    } else {
        m.to_vec()
    }
}

/// What [`emit_tiles`] computes: `C = epi(Σ_k (A − za)·B + bias)` for 8-bit A (runtime, rows
/// of `kk`), B packed as [`pack_b`] (i8, or `(b − zb)` in i16), optional i32 bias per column, and
/// either a fused requantization into 8-bit C or i32 C.
pub(crate) struct TileJob<'ctx> {
    /// Register tile.
    pub t: QTile,
    /// Columns.
    pub n: usize,
    /// Reduction extent.
    pub kk: usize,
    /// A (`i8*`).
    pub a: PointerValue<'ctx>,
    /// A is i8 (else u8).
    pub a_signed: bool,
    /// A's zero point (subtracted while widening).
    pub za: i32,
    /// Packed B (`i8*`, or `i16*` for [`BPack::I16Pairs`]).
    pub b: PointerValue<'ctx>,
    /// How B is packed (and A read).
    pub pack: BPack,
    /// Bias per column (`i32*`).
    pub bias: Option<PointerValue<'ctx>>,
    /// Requantization and its per-column multipliers (`f32*`).
    pub requant: Option<(QRequant, PointerValue<'ctx>)>,
    /// C as `i8*` (requantized output).
    pub c8: PointerValue<'ctx>,
    /// C as `i32*` (accumulator output).
    pub c32: PointerValue<'ctx>,
}

/// Stack buffers and accumulators of [`emit_tiles`] (allocated once per kernel).
pub(crate) struct TileScratch<'ctx> {
    apack: PointerValue<'ctx>,
    tile: PointerValue<'ctx>,
    accs: Vec<PointerValue<'ctx>>,
}

impl<'ctx> TileScratch<'ctx> {
    /// Buffers for tile `t` and reduction extent `kk`.
    pub(crate) fn new(k: &K<'_, 'ctx>, t: QTile, kk: usize) -> R<TileScratch<'ctx>> {
        let i32t = k.int(32);
        let v32 = i32t.vec_type(t.lanes as u32);
        Ok(TileScratch {
            apack: k.array(i32t, kk.div_ceil(2) * t.mr)?,
            tile: k.array(i32t, t.mr * t.nr())?,
            accs: (0..t.mr * t.nrv).map(|_| k.var(v32.const_zero().into())).collect::<R<_>>()?,
        })
    }
}

/// Emits rows `lo..hi` of one matrix product (A's row `i` at element `a_base + i·kk`, C's at
/// `c_base + i·n`).
///
/// Per block of `MR` rows, A is widened to i16 pairs `(a − za)` (`[k/2][MR]` i32 words, zero
/// padded) in a stack buffer; per block of `NR` columns the `k/2` loop keeps `MR × NRV` i32
/// accumulator vectors in registers and adds `pmaddwd(broadcast(A pair), B pair vector)`
/// (exact: `(a − za)` and `(b − zb)` fit i16 and a pair of their products fits i32). x86 uses
/// the `pmaddwd` intrinsic at the tile's width; other targets get the same arithmetic as
/// generic vector IR. The tile is then stored and the epilogue (bias, requantization) runs
/// over its valid rows and columns.
pub(crate) fn emit_tiles<'ctx>(
    k: &K<'_, 'ctx>,
    job: &TileJob<'ctx>,
    sc: &TileScratch<'ctx>,
    (a_base, c_base): (IntValue<'ctx>, IntValue<'ctx>),
    (lo, hi): (IntValue<'ctx>, IntValue<'ctx>),
) -> R<()> {
    let t = job.t;
    let (n, kk) = (job.n, job.kk);
    let (nr, k2, mr, lanes) = (t.nr(), kk.div_ceil(2), t.mr, t.lanes);
    let x86 = k.cg.target.triple.starts_with("x86_64");
    let (i8t, i16t, i32t) = (k.int(8), k.int(16), k.int(32));
    let (v16, v32) = (i16t.vec_type(2 * lanes as u32), i32t.vec_type(lanes as u32));
    let (a, b) = (job.a, job.b);
    let (apack, accs) = (sc.apack, &sc.accs);
    let nrows = k.sub(hi, lo)?;
    let up = k.add(nrows, k.i64c(mr as i64 - 1))?;
    let nblk = k.b().build_int_signed_div(up, k.i64c(mr as i64), "nb")?;
    let zero_v = v32.const_zero();
    let widen = |v: IntValue<'ctx>| -> R<IntValue<'ctx>> {
        let w = k.ext(v, i16t, job.a_signed)?;
        if job.za == 0 {
            Ok(w)
        } else {
            k.sub(w, i16t.const_int(job.za as i64 as u64, true))
        }
    };
    k.for_range(k.i64c(0), nblk, &mut |blk| {
        let i0 = k.affine(blk, mr, lo)?;
        let left = k.sub(hi, i0)?;
        let lt = k.icmp(IntPredicate::SLT, left, k.i64c(mr as i64))?;
        let valid = k.select(lt, left, k.i64c(mr as i64))?.into_int_value();
        if job.pack == BPack::I8Quads {
            pack_a_quads(k, job, apack, (i0, valid), a_base)?;
            return dot4_blocks(k, job, sc, (i0, valid), c_base);
        }
        // Widen A rows i0..i0+valid into i16 pairs; rows past `valid` and the odd k are zero.
        for r in 0..mr {
            let live = k.icmp(IntPredicate::SLT, k.i64c(r as i64), valid)?;
            let row = k.add(i0, k.i64c(r as i64))?;
            let row = k.select(live, row, i0)?.into_int_value();
            let arow = k.affine(row, kk, a_base)?;
            k.for_n(k2, &mut |kp| {
                let p0 = k.add(arow, k.mul(kp, k.i64c(2))?)?;
                let lo16 = widen(k.ldi(i8t, a, p0)?)?;
                let hi16 = if kk % 2 == 1 {
                    // The last pair's second element is padding.
                    let last = k.icmp(IntPredicate::EQ, kp, k.i64c(k2 as i64 - 1))?;
                    let p1 = k.add(p0, k.i64c(1))?;
                    let p1 = k.select(last, p0, p1)?.into_int_value();
                    let v = widen(k.ldi(i8t, a, p1)?)?;
                    k.select(last, i16t.const_zero(), v)?.into_int_value()
                } else {
                    widen(k.ldi(i8t, a, k.add(p0, k.i64c(1))?)?)?
                };
                let w = k.add(
                    k.ext(lo16, i32t, false)?,
                    k.mul(k.ext(hi16, i32t, false)?, k.i32c(1 << 16))?,
                )?;
                let w = k.select(live, w, k.i32c(0))?.into_int_value();
                k.st(apack, k.affine(kp, mr, k.i64c(r as i64))?, w)
            })?;
        }
        k.for_n(n.div_ceil(nr), &mut |jb| {
            for acc in accs {
                k.set(*acc, zero_v)?;
            }
            let bblk = k.mul(jb, k.i64c((k2 * nr * 2) as i64))?;
            k.for_n(k2, &mut |kp| {
                let boff = k.affine(kp, nr * 2, bblk)?;
                let bv: Vec<_> = (0..t.nrv)
                    .map(|c| {
                        let at = k.add(boff, k.i64c((c * lanes * 2) as i64))?;
                        if job.pack == BPack::I8Pairs {
                            let v8 = k.ld_vec(i8t.vec_type(2 * lanes as u32), b, at)?;
                            Ok(k.b().build_int_s_extend(v8, v16, "b16")?)
                        } else {
                            k.ld_vec(v16, b, at)
                        }
                    })
                    .collect::<R<_>>()?;
                for r in 0..mr {
                    let w = k.ldi(i32t, apack, k.affine(kp, mr, k.i64c(r as i64))?)?;
                    let av = k.splat(w, lanes)?;
                    let av = k.b().build_bit_cast(av, v16, "a16")?.into_vector_value();
                    for (c, bvc) in bv.iter().enumerate() {
                        let acc = accs[r * t.nrv + c];
                        let prod = pmaddwd(k, x86, av, *bvc, v32)?;
                        let cur = k.get(v32, acc)?.into_vector_value();
                        k.set(acc, k.b().build_int_add(cur, prod, "acc")?)?;
                    }
                }
                Ok(())
            })?;
            store_tile(k, job, sc, jb, (i0, valid), c_base)
        })
    })
}

/// Stores the accumulators of column block `jb` to the stack tile, then runs the epilogue
/// (bias, requantization or i32 store) over its valid rows and columns.
fn store_tile<'ctx>(
    k: &K<'_, 'ctx>,
    job: &TileJob<'ctx>,
    sc: &TileScratch<'ctx>,
    jb: IntValue<'ctx>,
    (i0, valid): (IntValue<'ctx>, IntValue<'ctx>),
    c_base: IntValue<'ctx>,
) -> R<()> {
    let (t, n) = (job.t, job.n);
    let (nr, mr, lanes) = (t.nr(), t.mr, t.lanes);
    let (i8t, i32t) = (k.int(8), k.int(32));
    let v32 = i32t.vec_type(lanes as u32);
    let (tile, accs) = (sc.tile, &sc.accs);
    for r in 0..mr {
        for c in 0..t.nrv {
            let v = k.get(v32, accs[r * t.nrv + c])?;
            k.st_vec(tile, k.i64c((r * nr + c * lanes) as i64), v.into_vector_value())?;
        }
    }
    // Epilogue over the valid part of the tile.
    let j0 = k.mul(jb, k.i64c(nr as i64))?;
    let cols_left = k.sub(k.i64c(n as i64), j0)?;
    let clt = k.icmp(IntPredicate::SLT, cols_left, k.i64c(nr as i64))?;
    let cols = k.select(clt, cols_left, k.i64c(nr as i64))?.into_int_value();
    k.for_range(k.i64c(0), valid, &mut |r| {
        let crow = k.affine(k.add(i0, r)?, n, c_base)?;
        k.for_range(k.i64c(0), cols, &mut |c| {
            let j = k.add(j0, c)?;
            let mut acc = k.ldi(i32t, tile, k.affine(r, nr, c)?)?;
            if let Some(bs) = job.bias {
                acc = k.add(acc, k.ldi(i32t, bs, j)?)?;
            }
            let ci = k.add(crow, j)?;
            match &job.requant {
                Some((rq, mp)) => {
                    let m = k.ldf(*mp, j)?;
                    let y = k.requant(acc, rq.acc_zero_point, m, rq.zero_point, rq.lo, rq.hi)?;
                    k.st(job.c8, ci, k.trunc(y, i8t)?)
                }
                None => k.st(job.c32, ci, acc),
            }
        })
    })
}

/// A rows `i0..i0 + valid` as `[k/4][MR]` i32 words of four bytes each (`a ^ 0x80` for i8 A;
/// rows past `valid` and k past the end are zero) for [`dot4_blocks`].
fn pack_a_quads<'ctx>(
    k: &K<'_, 'ctx>,
    job: &TileJob<'ctx>,
    apack: PointerValue<'ctx>,
    (i0, valid): (IntValue<'ctx>, IntValue<'ctx>),
    a_base: IntValue<'ctx>,
) -> R<()> {
    let (mr, kk) = (job.t.mr, job.kk);
    let (i8t, i32t) = (k.int(8), k.int(32));
    for r in 0..mr {
        let live = k.icmp(IntPredicate::SLT, k.i64c(r as i64), valid)?;
        let row = k.add(i0, k.i64c(r as i64))?;
        let row = k.select(live, row, i0)?.into_int_value();
        let arow = k.affine(row, kk, a_base)?;
        k.for_n(kk.div_ceil(4), &mut |kq| {
            if kk % 4 == 0 {
                // Whole quads: one 4-byte load.
                let v = k.ld_vec(i8t.vec_type(4), job.a, k.affine(kq, 4, arow)?)?;
                let mut w = k.b().build_bit_cast(v, i32t, "q")?.into_int_value();
                if job.a_signed {
                    w = k.b().build_xor(w, k.i32c(0x8080_8080u32 as i32), "u8")?;
                }
                let w = k.select(live, w, k.i32c(0))?.into_int_value();
                return k.st(apack, k.affine(kq, mr, k.i64c(r as i64))?, w);
            }
            let mut w = k.i32c(0);
            for h in 0..4 {
                let p = k.add(k.mul(kq, k.i64c(4))?, k.i64c(h))?;
                // The last quad's tail is padding (B is zero there).
                let inb = k.icmp(IntPredicate::SLT, p, k.i64c(kk as i64))?;
                let pc = k.select(inb, p, k.i64c(0))?.into_int_value();
                let v = k.ldi(i8t, job.a, k.add(arow, pc)?)?;
                let byte = k.select(inb, v, i8t.const_zero())?.into_int_value();
                let byte = k.ext(byte, i32t, false)?;
                let byte =
                    if job.a_signed { k.b().build_xor(byte, k.i32c(0x80), "u8")? } else { byte };
                w = k.b().build_or(
                    w,
                    k.b().build_left_shift(byte, k.i32c(8 * h as i32), "sh")?,
                    "w",
                )?;
            }
            let w = k.select(live, w, k.i32c(0))?.into_int_value();
            k.st(apack, k.affine(kq, mr, k.i64c(r as i64))?, w)
        })?;
    }
    Ok(())
}

/// The column blocks of one row block with `vpdpbusd`: per k quad, `NRV` 512-bit loads of B and
/// per row one broadcast A word, `MR × NRV` accumulators in zmm registers.
fn dot4_blocks<'ctx>(
    k: &K<'_, 'ctx>,
    job: &TileJob<'ctx>,
    sc: &TileScratch<'ctx>,
    (i0, valid): (IntValue<'ctx>, IntValue<'ctx>),
    c_base: IntValue<'ctx>,
) -> R<()> {
    let t = job.t;
    let (nr, mr, lanes, k4) = (t.nr(), t.mr, t.lanes, job.kk.div_ceil(4));
    let (i8t, i32t) = (k.int(8), k.int(32));
    let v32 = i32t.vec_type(lanes as u32);
    let v8 = i8t.vec_type(4 * lanes as u32);
    let zero_v = v32.const_zero();
    k.for_n(job.n.div_ceil(nr), &mut |jb| {
        for acc in &sc.accs {
            k.set(*acc, zero_v)?;
        }
        let bblk = k.mul(jb, k.i64c((k4 * nr * 4) as i64))?;
        k.for_n(k4, &mut |kq| {
            let boff = k.affine(kq, nr * 4, bblk)?;
            let bv: Vec<_> = (0..t.nrv)
                .map(|c| {
                    let at = k.add(boff, k.i64c((c * lanes * 4) as i64))?;
                    let v = k.ld_vec(v8, job.b, at)?;
                    Ok(k.b().build_bit_cast(v, v32, "b4")?.into_vector_value())
                })
                .collect::<R<_>>()?;
            for r in 0..mr {
                let w = k.ldi(i32t, sc.apack, k.affine(kq, mr, k.i64c(r as i64))?)?;
                let av = k.splat(w, lanes)?;
                for (c, bvc) in bv.iter().enumerate() {
                    let acc = sc.accs[r * t.nrv + c];
                    let cur = k.get(v32, acc)?;
                    let args = [cur, av.into(), (*bvc).into()];
                    let s = k.intrinsic("llvm.x86.avx512.vpdpbusd.512", &[], &args)?;
                    k.set(acc, s)?;
                }
            }
            Ok(())
        })?;
        store_tile(k, job, sc, jb, (i0, valid), c_base)
    })
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
///
/// Register-tiled like [`qgemm`]: per tile of `MR` rows × `NRV` f32 vectors, the accumulators
/// start at the bias and stay in registers over the whole `k` loop, adding
/// `broadcast(A[i,p]) · B[p, j..j+NR]` with `llvm.fmuladd` (fused where the target has FMA).
/// Each output still sums over `k` in the interpreter's order (only the fused rounding
/// differs). B is packed `[n/NR][k][NR]` with zero padding; full tiles store straight to C,
/// tails go through a stack tile. A fused Relu/Clip (`clamp`) is applied to the accumulators
/// before they are stored, with the unary Clip kernel's compare-and-select.
pub(crate) fn sgemm<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    (m, n, kk): (usize, usize, usize),
    bmat: &[f32],
    bias: Option<&[f32]>,
    clamp: Option<(f32, f32)>,
) -> R<Built<'ctx>> {
    let t = QTile::for_target(&cg.target).for_rows(m);
    let (mr, lanes, nrv) = (t.mr, t.lanes, t.nrv);
    let nr = nrv * lanes;
    let nb = n.div_ceil(nr);
    let mut packed = vec![0f32; nb * kk * nr];
    for jb in 0..nb {
        for p in 0..kk {
            for c in 0..nr {
                let j = jb * nr + c;
                if j < n {
                    packed[(jb * kk + p) * nr + c] = bmat[p * n + j];
                }
            }
        }
    }
    let mut bpad = vec![0f32; nb * nr];
    if let Some(b) = bias {
        bpad[..n].copy_from_slice(b);
    }
    let pb = cg.constant(&f32_bytes(&packed));
    let pbias = cg.constant(&f32_bytes(&bpad));
    let k = cg.kernel(name, 2)?;
    let f32t = k.f32t();
    let vt = f32t.vec_type(lanes as u32);
    let a = k.buf(0, f32t)?;
    let c = k.buf(1, f32t)?;
    let b = k.const_ptr(pb, f32t)?;
    let bs = k.const_ptr(pbias, f32t)?;
    let tile = k.array(f32t, mr * nr)?;
    let accs: Vec<_> = (0..mr * nrv).map(|_| k.var(vt.const_zero().into())).collect::<R<_>>()?;
    let rows_here = k.sub(k.r1, k.r0)?;
    let up = k.add(rows_here, k.i64c(mr as i64 - 1))?;
    let nblk = k.b().build_int_signed_div(up, k.i64c(mr as i64), "nb")?;
    k.for_range(k.i64c(0), nblk, &mut |blk| {
        let i0 = k.affine(blk, mr, k.r0)?;
        let left = k.sub(k.r1, i0)?;
        let lt = k.icmp(IntPredicate::SLT, left, k.i64c(mr as i64))?;
        let valid = k.select(lt, left, k.i64c(mr as i64))?.into_int_value();
        // Row r of the tile reads row min(r, valid − 1) of A (rows past the end are discarded).
        let arows: Vec<_> = (0..mr)
            .map(|r| {
                let live = k.icmp(IntPredicate::SLT, k.i64c(r as i64), valid)?;
                let last = k.sub(valid, k.i64c(1))?;
                let rr = k.select(live, k.i64c(r as i64), last)?.into_int_value();
                k.mul(k.add(i0, rr)?, k.i64c(kk as i64))
            })
            .collect::<R<_>>()?;
        k.for_n(nb, &mut |jb| {
            for cc in 0..nrv {
                let bv = k.ld_vec(vt, bs, k.affine(jb, nr, k.i64c((cc * lanes) as i64))?)?;
                for r in 0..mr {
                    k.set(accs[r * nrv + cc], bv)?;
                }
            }
            let bblk = k.mul(jb, k.i64c((kk * nr) as i64))?;
            k.for_n(kk, &mut |p| {
                let boff = k.affine(p, nr, bblk)?;
                let bv: Vec<_> = (0..nrv)
                    .map(|cc| k.ld_vec(vt, b, k.add(boff, k.i64c((cc * lanes) as i64))?))
                    .collect::<R<_>>()?;
                for (r, arow) in arows.iter().enumerate() {
                    let av = k.splat_f(k.ldf(a, k.add(*arow, p)?)?, lanes)?;
                    for (cc, bvc) in bv.iter().enumerate() {
                        let acc = accs[r * nrv + cc];
                        let cur = k.get(vt, acc)?;
                        let args = [av.into(), (*bvc).into(), cur];
                        let s = k.intrinsic("llvm.fmuladd", &[vt.into()], &args)?;
                        k.set(acc, s)?;
                    }
                }
                Ok(())
            })?;
            let j0 = k.mul(jb, k.i64c(nr as i64))?;
            let cols_left = k.sub(k.i64c(n as i64), j0)?;
            let clt = k.icmp(IntPredicate::SLT, cols_left, k.i64c(nr as i64))?;
            let cols = k.select(clt, cols_left, k.i64c(nr as i64))?.into_int_value();
            let full_r = k.icmp(IntPredicate::EQ, valid, k.i64c(mr as i64))?;
            let full_c = k.icmp(IntPredicate::EQ, cols, k.i64c(nr as i64))?;
            let full = k.b().build_and(full_r, full_c, "full")?;
            let partial = k.b().build_not(full, "part")?;
            let result = |acc| -> R<VectorValue<'ctx>> {
                let mut v = k.get(vt, acc)?.into_vector_value();
                if let Some((lo, hi)) = clamp {
                    for (c, p) in [(lo, FloatPredicate::OLT), (hi, FloatPredicate::OGT)] {
                        let cv = k.splat_f(k.f32c(c), lanes)?;
                        let m = k.b().build_float_compare(p, v, cv, "clamp")?;
                        v = k.b().build_select(m, cv, v, "clamp")?.into_vector_value();
                    }
                }
                Ok(v)
            };
            k.if_(full, &mut || {
                for r in 0..mr {
                    let crow = k.mul(k.add(i0, k.i64c(r as i64))?, k.i64c(n as i64))?;
                    for cc in 0..nrv {
                        let v = result(accs[r * nrv + cc])?;
                        k.st_vec(c, k.add(crow, k.add(j0, k.i64c((cc * lanes) as i64))?)?, v)?;
                    }
                }
                Ok(())
            })?;
            k.if_(partial, &mut || {
                for r in 0..mr {
                    for cc in 0..nrv {
                        let v = result(accs[r * nrv + cc])?;
                        k.st_vec(tile, k.i64c((r * nr + cc * lanes) as i64), v)?;
                    }
                }
                k.for_range(k.i64c(0), valid, &mut |r| {
                    let crow = k.mul(k.add(i0, r)?, k.i64c(n as i64))?;
                    k.for_range(k.i64c(0), cols, &mut |cj| {
                        let v = k.ldf(tile, k.affine(r, nr, cj)?)?;
                        k.st(c, k.add(crow, k.add(j0, cj)?)?, v)
                    })
                })
            })
        })
    })?;
    Ok(rows(k.finish()?, m))
}
