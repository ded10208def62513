//! Batched matmul with runtime operands: `C[b] = A[b]·B[b]` over the broadcast batch, rows
//! (`batch·m` of them) split across threads. Each output row locates its A and B matrices from
//! its batch coordinates (the per-operand matrix strides, 0 on broadcast axes).
//!
//! * f32: `C[i,:] = 0; C[i,:] += A[i,p]·B[p,:]` for `p` in order (multiply then add, no FMA),
//!   so each output sums over `k` in the interpreter's order and the inner loop over `j` is
//!   contiguous and vectorizes without reassociation.
//! * Integer (u8/i8 × u8/i8): `Σ (a − za)(b − zb)` exactly in wrapping i32 (so the order is
//!   free), accumulated the same row-wise way in the i32 output or, with requantization, in a
//!   row of i32 on the stack; then the bias and `qcc_ir::qmath::requantize`. Rows wider than
//!   [`MAX_SCRATCH`] accumulators use one dot product per output instead. When B packed per
//!   batch fits [`MAX_PACKED_B`], the integer form runs on the GEMM's `pmaddwd` register
//!   tiles instead ([`int_mm_tiled`]; minilm's attention matmuls: 3.5–4.2 ms → see the README).

use crate::emit::{f32_bytes, i32_bytes, Cg, K, R};
use crate::kernels::gemm::{emit_tiles, per_column, BPack, QTile, TileJob, TileScratch};
use crate::kernels::{rows, Built};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use qcc_lowering::{BatchMatMul, MmElem};

/// Most i16 elements of B packed per batch on the stack (256 KiB) for the tiled integer form.
pub const MAX_PACKED_B: usize = 128 * 1024;

/// Integer batched matmul on the GEMM's register tiles ([`emit_tiles`]): for each batch whose
/// rows intersect `r0..r1`, B is packed into a stack buffer as `(b − zb)` i16 pairs (zero
/// padded), then the tiles run over those rows with `(a − za)` widened on the fly.
fn int_mm_tiled<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    s: &BatchMatMul,
    nrows: usize,
    t: QTile,
    (a_signed, b_signed, za, zb): (bool, bool, i32, i32),
) -> R<Built<'ctx>> {
    let (m, n, kk) = (s.m, s.n, s.k);
    let (nr, k2) = (t.nr(), kk.div_ceil(2));
    let nb = n.div_ceil(nr);
    let bias = s.bias.as_ref().map(|b| cg.constant(&i32_bytes(b)));
    let mults = s.requant.as_ref().map(|r| cg.constant(&f32_bytes(&per_column(&r.multipliers, n))));
    let k = cg.kernel(name, 3)?;
    let (i8t, i16t, i32t) = (k.int(8), k.int(16), k.int(32));
    let bsrc = k.buf(1, i8t)?;
    let bpack = k.array(i16t, nb * k2 * nr * 2)?;
    let scratch = TileScratch::new(&k, t, kk)?;
    let job = TileJob {
        t,
        n,
        kk,
        a: k.buf(0, i8t)?,
        a_signed,
        za,
        b: bpack,
        pack: BPack::I16Pairs,
        bias: bias.map(|p| k.const_ptr(p, i32t)).transpose()?,
        requant: match (&s.requant, mults) {
            (Some(r), Some(p)) => Some((r.clone(), k.const_ptr(p, k.f32t())?)),
            _ => None,
        },
        c8: k.buf(2, i8t)?,
        c32: k.buf(2, i32t)?,
    };
    let first = k.udiv(k.r0, m)?;
    let last = k.udiv(k.add(k.r1, k.i64c(m as i64 - 1))?, m)?;
    k.for_range(first, last, &mut |bt| {
        let row0 = k.mul(bt, k.i64c(m as i64))?;
        let (abase, bm) = operands(&k, s, row0)?;
        // Pack B[bt]: bpack[((jb·k2 + kp)·nr + c)·2 + h] = b[2kp + h][jb·nr + c] − zb or 0.
        k.for_n(nb * k2, &mut |jk| {
            let jb = k.udiv(jk, k2)?;
            let kp = k.urem(jk, k2)?;
            for c in 0..nr {
                for h in 0..2usize {
                    let j = k.affine(jb, nr, k.i64c(c as i64))?;
                    let p = k.affine(kp, 2, k.i64c(h as i64))?;
                    let inj = k.icmp(IntPredicate::SLT, j, k.i64c(n as i64))?;
                    let inp = k.icmp(IntPredicate::SLT, p, k.i64c(kk as i64))?;
                    let ok = k.b().build_and(inj, inp, "ok")?;
                    let idx = k.add(bm, k.affine(p, n, j)?)?;
                    let idx = k.select(ok, idx, bm)?.into_int_value();
                    let v = k.ext(k.ldi(i8t, bsrc, idx)?, i16t, b_signed)?;
                    let v = k.sub(v, i16t.const_int(zb as i64 as u64, true))?;
                    let v = k.select(ok, v, i16t.const_zero())?.into_int_value();
                    let at = k.affine(jk, nr * 2, k.i64c((c * 2 + h) as i64))?;
                    k.st(bpack, at, v)?;
                }
            }
            Ok(())
        })?;
        let lo = k.sub(k.r0, row0)?;
        let lo_neg = k.icmp(IntPredicate::SLT, lo, k.i64c(0))?;
        let lo = k.select(lo_neg, k.i64c(0), lo)?.into_int_value();
        let hi = k.sub(k.r1, row0)?;
        let hi_big = k.icmp(IntPredicate::SGT, hi, k.i64c(m as i64))?;
        let hi = k.select(hi_big, k.i64c(m as i64), hi)?.into_int_value();
        let cbase = k.mul(row0, k.i64c(n as i64))?;
        emit_tiles(&k, &job, &scratch, (abase, cbase), (lo, hi))
    })?;
    Ok(rows(k.finish()?, nrows))
}

/// Most i32 accumulators of the row-wise integer form.
pub const MAX_SCRATCH: usize = 16384;

/// The element offsets of A's and B's matrices for output row `r` (`r / m` is the batch index).
fn operands<'ctx>(
    k: &K<'_, 'ctx>,
    s: &BatchMatMul,
    r: IntValue<'ctx>,
) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
    let mut bidx = k.udiv(r, s.m)?;
    let (mut ao, mut bo) = (k.i64c(0), k.i64c(0));
    for d in (0..s.batch.len()).rev() {
        let c = if d == 0 { bidx } else { k.urem(bidx, s.batch[d])? };
        if d > 0 {
            bidx = k.udiv(bidx, s.batch[d])?;
        }
        ao = k.affine(c, s.a_strides[d] * s.m * s.k, ao)?;
        bo = k.affine(c, s.b_strides[d] * s.k * s.n, bo)?;
    }
    let i = k.urem(r, s.m)?;
    Ok((k.affine(i, s.k, ao)?, bo))
}

/// Builds the kernel (inputs: A, B; output: C).
pub(crate) fn build<'ctx>(cg: &mut Cg<'ctx>, name: &str, s: &BatchMatMul) -> R<Built<'ctx>> {
    let nrows = s.batch.iter().product::<usize>() * s.m;
    if s.m == 0 || s.n == 0 {
        let k = cg.kernel(name, 3)?;
        return Ok(rows(k.finish()?, nrows));
    }
    match &s.elem {
        MmElem::F32 => f32_mm(cg, name, s, nrows),
        MmElem::Int { a_signed, b_signed, a_zero_point, b_zero_point } => {
            let t = QTile::for_target(&cg.target).for_rows(s.m);
            let packed = s.n.div_ceil(t.nr()) * t.nr() * s.k.div_ceil(2) * 2;
            let ops = (*a_signed, *b_signed, *a_zero_point, *b_zero_point);
            if packed <= MAX_PACKED_B {
                int_mm_tiled(cg, name, s, nrows, t, ops)
            } else {
                int_mm(cg, name, s, nrows, ops)
            }
        }
    }
}

fn f32_mm<'ctx>(cg: &mut Cg<'ctx>, name: &str, s: &BatchMatMul, nrows: usize) -> R<Built<'ctx>> {
    let (n, kk) = (s.n, s.k);
    let k = cg.kernel(name, 3)?;
    let (a, b, c) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?, k.buf(2, k.f32t())?);
    k.for_range(k.r0, k.r1, &mut |r| {
        let (arow, bm) = operands(&k, s, r)?;
        let crow = k.mul(r, k.i64c(n as i64))?;
        k.for_n(n, &mut |j| k.st(c, k.add(crow, j)?, k.f32c(0.0)))?;
        k.for_n(kk, &mut |p| {
            let x = k.ldf(a, k.add(arow, p)?)?;
            let brow = k.affine(p, n, bm)?;
            k.for_n(n, &mut |j| {
                let ci = k.add(crow, j)?;
                let w = k.ldf(b, k.add(brow, j)?)?;
                k.st(c, ci, k.fadd(k.ldf(c, ci)?, k.fmul(x, w)?)?)
            })
        })
    })?;
    Ok(rows(k.finish()?, nrows))
}

fn int_mm<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    s: &BatchMatMul,
    nrows: usize,
    (a_signed, b_signed, za, zb): (bool, bool, i32, i32),
) -> R<Built<'ctx>> {
    let (n, kk) = (s.n, s.k);
    let bias = s.bias.as_ref().map(|b| cg.constant(&i32_bytes(b)));
    let mults = s.requant.as_ref().map(|r| {
        let v = if r.multipliers.len() == 1 {
            vec![r.multipliers[0]; n]
        } else {
            r.multipliers.clone()
        };
        cg.constant(&f32_bytes(&v))
    });
    let k = cg.kernel(name, 3)?;
    let (i8t, i32t) = (k.int(8), k.int(32));
    let (a, b) = (k.buf(0, i8t)?, k.buf(1, i8t)?);
    let (c8, c32) = (k.buf(2, i8t)?, k.buf(2, i32t)?);
    let bias = match bias {
        Some(p) => Some(k.const_ptr(p, i32t)?),
        None => None,
    };
    let mults = match mults {
        Some(p) => Some(k.const_ptr(p, k.f32t())?),
        None => None,
    };
    let lda = |i: IntValue<'ctx>| -> R<IntValue<'ctx>> {
        let x = k.ext(k.ldi(i8t, a, i)?, i32t, a_signed)?;
        if za == 0 {
            Ok(x)
        } else {
            k.sub(x, k.i32c(za))
        }
    };
    let ldb = |i: IntValue<'ctx>| -> R<IntValue<'ctx>> {
        let x = k.ext(k.ldi(i8t, b, i)?, i32t, b_signed)?;
        if zb == 0 {
            Ok(x)
        } else {
            k.sub(x, k.i32c(zb))
        }
    };
    let init = |j: IntValue<'ctx>| -> R<IntValue<'ctx>> {
        match bias {
            Some(p) => k.ldi(i32t, p, j),
            None => Ok(k.i32c(0)),
        }
    };
    // The requantized (or raw) result of column j with accumulator acc.
    let store = |crow: IntValue<'ctx>, j: IntValue<'ctx>, acc: IntValue<'ctx>| -> R<()> {
        let ci = k.add(crow, j)?;
        match (&s.requant, mults) {
            (Some(rq), Some(mp)) => {
                let m = k.ldf(mp, j)?;
                let y = k.requant(acc, rq.acc_zero_point, m, rq.zero_point, rq.lo, rq.hi)?;
                k.st(c8, ci, k.trunc(y, i8t)?)
            }
            _ => k.st(c32, ci, acc),
        }
    };
    // Row-wise accumulation target: the i32 output itself, or a stack row.
    let acc_row: Option<PointerValue<'ctx>> = if s.requant.is_none() {
        None
    } else if n <= MAX_SCRATCH {
        let arr = i32t.array_type(n as u32);
        let p = k.var(arr.const_zero().into())?;
        Some(k.cg.b.build_pointer_cast(p, i32t.ptr_type(Default::default()), "row")?)
    } else {
        // Dot products (B read down its columns).
        k.for_range(k.r0, k.r1, &mut |r| {
            let (arow, bm) = operands(&k, s, r)?;
            let crow = k.mul(r, k.i64c(n as i64))?;
            k.for_n(n, &mut |j| {
                let acc = k.var(init(j)?.into())?;
                let bcol = k.add(bm, j)?;
                k.for_n(kk, &mut |p| {
                    let x = lda(k.add(arow, p)?)?;
                    let w = ldb(k.affine(p, n, bcol)?)?;
                    let t = k.add(k.get(i32t, acc)?.into_int_value(), k.mul(x, w)?)?;
                    k.set(acc, t)
                })?;
                store(crow, j, k.get(i32t, acc)?.into_int_value())
            })
        })?;
        return Ok(rows(k.finish()?, nrows));
    };
    k.for_range(k.r0, k.r1, &mut |r| {
        let (arow, bm) = operands(&k, s, r)?;
        let crow = k.mul(r, k.i64c(n as i64))?;
        let (acc, abase) = match acc_row {
            Some(p) => (p, k.i64c(0)),
            None => (c32, crow),
        };
        k.for_n(n, &mut |j| k.st(acc, k.add(abase, j)?, init(j)?))?;
        k.for_n(kk, &mut |p| {
            let x = lda(k.add(arow, p)?)?;
            let brow = k.affine(p, n, bm)?;
            k.for_n(n, &mut |j| {
                let ai = k.add(abase, j)?;
                let w = ldb(k.add(brow, j)?)?;
                let t = k.add(k.ldi(i32t, acc, ai)?, k.mul(x, w)?)?;
                k.st(acc, ai, t)
            })
        })?;
        if acc_row.is_some() {
            k.for_n(n, &mut |j| store(crow, j, k.ldi(i32t, acc, j)?))?;
        }
        Ok(())
    })?;
    Ok(rows(k.finish()?, nrows))
}
