//! Data movement: the strided copy (Transpose, Slice with any step sign, Expand, Concat
//! operands; its outermost axis split across threads), Gather with bounds-checked indices
//! (its `outer·nidx` slices split), and Cast (chunks split).

use super::{for_chunks, nest, CHUNK};
use crate::emit::{Cg, K, R};
use crate::kernels::{rows, whole, Built};
use inkwell::types::IntType;
use inkwell::values::IntValue;
use inkwell::{FloatPredicate, IntPredicate};
use qcc_ir::DType;
use qcc_lowering::{GatherSpec, StridedCopy};

/// The integer type of an element of `bytes` bytes (bytes are moved, never interpreted).
fn elem_type<'ctx>(k: &K<'_, 'ctx>, bytes: usize) -> R<IntType<'ctx>> {
    match bytes {
        1 | 2 | 4 | 8 => Ok(k.int(bytes as u32 * 8)),
        b => Err(crate::BackendError::InvalidSpec(format!("{b}-byte elements"))),
    }
}

/// The strided copy (input: source; output: destination).
pub(crate) fn copy<'ctx>(cg: &mut Cg<'ctx>, name: &str, c: &StridedCopy) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let ty = elem_type(&k, c.elem_bytes)?;
    let (src, dst) = (k.buf(0, ty)?, k.buf(1, ty)?);
    let ss: Vec<i64> = c.src_strides.iter().map(|&s| s as i64).collect();
    let ds: Vec<i64> = c.dst_strides.iter().map(|&s| s as i64).collect();
    let at = [k.i64c(c.src_offset as i64), k.i64c(c.dst_offset as i64)];
    let split = !c.shape.is_empty() && !c.shape.contains(&0);
    nest(&k, &c.shape, &[&ss, &ds], 0, at, split, &mut |ix| {
        k.st(dst, ix[1], k.ldi(ty, src, ix[0])?)
    })?;
    let f = k.finish()?;
    Ok(if split { rows(f, c.shape[0]) } else { whole(f) })
}

/// Gather (inputs: data, indices; output). An index outside `[−d, d)` zero-fills its output
/// slice and stores `step + 1` into the status word at address `status`; nothing outside the
/// data is read.
pub(crate) fn gather<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    g: &GatherSpec,
    step: usize,
    status: crate::emit::ConstRef<'ctx>,
) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 3)?;
    let ty = elem_type(&k, g.elem_bytes)?;
    let it = k.int(if g.idx_i64 { 64 } else { 32 });
    let (data, idx, out) = (k.buf(0, ty)?, k.buf(1, it)?, k.buf(2, ty)?);
    let st = k.const_ptr(status, k.int(32))?;
    let inner = g.inner as i64;
    let nslices = g.outer * g.nidx;
    if g.nidx > 0 {
        k.for_range(k.r0, k.r1, &mut |r| {
            let o = k.udiv(r, g.nidx)?;
            let t = k.urem(r, g.nidx)?;
            let i = k.ext(k.ldi(it, idx, t)?, k.int(64), true)?;
            // Negative indices count from the end; after wrapping, one unsigned test covers
            // both ends.
            let neg = k.icmp(IntPredicate::SLT, i, k.i64c(0))?;
            let i = k.select(neg, k.add(i, k.i64c(g.d as i64))?, i)?.into_int_value();
            let ok = k.icmp(IntPredicate::ULT, i, k.i64c(g.d as i64))?;
            let dst = k.mul(r, k.i64c(inner))?;
            let src = k.mul(k.affine(o, g.d, i)?, k.i64c(inner))?;
            let zero = ty.const_zero();
            let bad = k.icmp(IntPredicate::EQ, ok, k.int(1).const_zero())?;
            k.if_(ok, &mut || {
                k.for_n(g.inner, &mut |e| {
                    k.st(out, k.add(dst, e)?, k.ldi(ty, data, k.add(src, e)?)?)
                })
            })?;
            k.if_(bad, &mut || {
                k.st(st, k.i64c(0), k.i32c(step as i32 + 1))?;
                k.for_n(g.inner, &mut |e| k.st(out, k.add(dst, e)?, zero))
            })
        })?;
    }
    Ok(rows(k.finish()?, nslices))
}

/// Loads element `i` of a `d` buffer as i64 (integers, bool as 0/1) or f32.
fn load_elem<'ctx>(
    k: &K<'_, 'ctx>,
    d: DType,
    p: inkwell::values::PointerValue<'ctx>,
    i: IntValue<'ctx>,
) -> R<inkwell::values::BasicValueEnum<'ctx>> {
    let i64t = k.int(64);
    Ok(match d {
        DType::F32 => k.ldf(p, i)?.into(),
        DType::I64 => k.ldi(i64t, p, i)?.into(),
        DType::I32 => k.ext(k.ldi(k.int(32), p, i)?, i64t, true)?.into(),
        DType::I8 => k.ext(k.ldi(k.int(8), p, i)?, i64t, true)?.into(),
        _ => k.ext(k.ldi(k.int(8), p, i)?, i64t, false)?.into(),
    })
}

/// The storage type of `d`.
fn store_type<'ctx>(k: &K<'_, 'ctx>, d: DType) -> inkwell::types::BasicTypeEnum<'ctx> {
    match d {
        DType::F32 => k.f32t().into(),
        DType::I64 => k.int(64).into(),
        DType::I32 => k.int(32).into(),
        _ => k.int(8).into(),
    }
}

/// Cast of `n` elements (input → output), as `qcc_ir`'s Cast: float → int rounds half to even
/// then saturates (NaN → 0), int → int saturates, → bool is `x != 0` (NaN is true), int → f32
/// rounds to nearest.
pub(crate) fn cast<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    n: usize,
    from: DType,
    to: DType,
) -> R<Built<'ctx>> {
    if !qcc_lowering::spec::cast_supported(from, to) {
        return Err(crate::BackendError::InvalidSpec(format!("cast {from} -> {to}")));
    }
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, store_type(&k, from))?, k.buf(1, store_type(&k, to))?);
    let i64t = k.int(64);
    let is_f = from == DType::F32;
    for_chunks(&k, n, CHUNK, &mut |i| {
        let v = load_elem(&k, from, x, i)?;
        match to {
            DType::F32 => {
                let f = if is_f { v.into_float_value() } else { k.sitofp(v.into_int_value())? };
                k.st(y, i, f)
            }
            DType::Bool => {
                let nz = if is_f {
                    k.fcmp(FloatPredicate::UNE, v.into_float_value(), k.f32c(0.0))?
                } else {
                    k.icmp(IntPredicate::NE, v.into_int_value(), i64t.const_zero())?
                };
                k.st(y, i, k.ext(nz, k.int(8), false)?)
            }
            _ => {
                let q = if is_f {
                    let r = k.rint(v.into_float_value())?;
                    let tys = [i64t.into(), k.f32t().into()];
                    k.intrinsic("llvm.fptosi.sat", &tys, &[r.into()])?.into_int_value()
                } else {
                    v.into_int_value()
                };
                let (lo, hi) = match to {
                    DType::I32 => (i32::MIN as i64, i32::MAX as i64),
                    DType::I8 => (-128, 127),
                    DType::U8 => (0, 255),
                    _ => (i64::MIN, i64::MAX),
                };
                let q = k.sclamp(q, k.i64c(lo), k.i64c(hi))?;
                let t = store_type(&k, to).into_int_type();
                k.st(y, i, k.trunc(q, t)?)
            }
        }
    })?;
    Ok(rows(k.finish()?, n.div_ceil(CHUNK)))
}
