//! Float-op family kernels, with the arithmetic of the Cranelift backend's `kernels::fops`
//! (whose docs state it): comparisons (f32 ordered, i32/i64 signed) → bool bytes, Where
//! (bit-for-bit select with three-way broadcast), ArgMax/ArgMin (the interpreter's scan, i64
//! result), LogSoftmax (`f32(z − ln Σ eᶻ)` with `z = f64(x − max)`, exp, sum and ln in f64 as
//! the interpreter; outer index split) and
//! one Resize axis (copy for nearest, f64 weighted sum for linear/cubic; tap tables as
//! constants).

use super::elem::strided_nest;
use super::pow::log64;
use super::xformer::norm::exp_f64;
use super::xformer::{f64c, f64t, fext, ftrunc};
use super::{rows, whole, Built};
use crate::emit::{Cg, R};
use inkwell::values::{FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use qcc_ir::DType;
use qcc_lowering::{ArgReduce, CmpOp, Compare, Kernel, Resample, Step, WhereSpec};

/// Row-major element strides of `shape`.
fn dense(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Builds the step's kernel.
pub(crate) fn build<'ctx>(cg: &mut Cg<'ctx>, st: &Step, name: &str) -> R<Built<'ctx>> {
    match &st.kernel {
        Kernel::Compare(c) => compare(cg, name, c),
        Kernel::Where(w) => select(cg, name, w),
        Kernel::ArgReduce(a) => arg_reduce(cg, name, a),
        Kernel::LogSoftmax { outer, d, inner } => log_softmax(cg, name, *outer, *d, *inner),
        Kernel::Resample(r) => resample(cg, name, r),
        other => Err(crate::BackendError::InvalidSpec(format!(
            "{} is not a float-op kernel",
            other.name()
        ))),
    }
}

fn compare<'ctx>(cg: &mut Cg<'ctx>, name: &str, c: &Compare) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 3)?;
    let float = c.elem == DType::F32;
    let et: inkwell::types::BasicTypeEnum<'ctx> = match c.elem {
        DType::F32 => k.f32t().into(),
        DType::I32 => k.int(32).into(),
        _ => k.int(64).into(),
    };
    let (a, b, y) = (k.buf(0, et)?, k.buf(1, et)?, k.buf(2, k.int(8))?);
    let z = k.i64c(0);
    let sc = dense(&c.shape);
    strided_nest(&k, &c.shape, &[&c.a_strides, &c.b_strides, &sc], 0, [z, z, z], &mut |ix| {
        let (p, q) = (k.ld(et, a, ix[0])?, k.ld(et, b, ix[1])?);
        let r = if float {
            let pred = match c.op {
                CmpOp::Equal => FloatPredicate::OEQ,
                CmpOp::Less => FloatPredicate::OLT,
                CmpOp::LessOrEqual => FloatPredicate::OLE,
                CmpOp::Greater => FloatPredicate::OGT,
                CmpOp::GreaterOrEqual => FloatPredicate::OGE,
            };
            k.fcmp(pred, p.into_float_value(), q.into_float_value())?
        } else {
            let pred = match c.op {
                CmpOp::Equal => IntPredicate::EQ,
                CmpOp::Less => IntPredicate::SLT,
                CmpOp::LessOrEqual => IntPredicate::SLE,
                CmpOp::Greater => IntPredicate::SGT,
                CmpOp::GreaterOrEqual => IntPredicate::SGE,
            };
            k.icmp(pred, p.into_int_value(), q.into_int_value())?
        };
        k.st(y, ix[2], k.ext(r, k.int(8), false)?)
    })?;
    Ok(whole(k.finish()?))
}

fn select<'ctx>(cg: &mut Cg<'ctx>, name: &str, w: &WhereSpec) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 4)?;
    let et = k.int(8 * w.elem_bytes as u32);
    let (c, x, y, o) = (k.buf(0, k.int(8))?, k.buf(1, et)?, k.buf(2, et)?, k.buf(3, et)?);
    let z = k.i64c(0);
    let so = dense(&w.shape);
    let st: [&[usize]; 4] = [&w.c_strides, &w.x_strides, &w.y_strides, &so];
    strided_nest(&k, &w.shape, &st, 0, [z, z, z, z], &mut |ix| {
        let cv = k.icmp(IntPredicate::NE, k.ldi(k.int(8), c, ix[0])?, k.int(8).const_zero())?;
        let v = k.select(cv, k.ldi(et, x, ix[1])?, k.ldi(et, y, ix[2])?)?;
        k.st(o, ix[3], v)
    })?;
    Ok(whole(k.finish()?))
}

fn arg_reduce<'ctx>(cg: &mut Cg<'ctx>, name: &str, a: &ArgReduce) -> R<Built<'ctx>> {
    let pred = match (a.max, a.select_last) {
        (true, false) => FloatPredicate::OGT,
        (true, true) => FloatPredicate::OGE,
        (false, false) => FloatPredicate::OLT,
        (false, true) => FloatPredicate::OLE,
    };
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.int(64))?);
    if a.d > 0 {
        k.for_n(a.outer, &mut |o| {
            k.for_n(a.inner, &mut |i| {
                let base = k.add(k.mul(o, k.i64c((a.d * a.inner) as i64))?, i)?;
                let bv = k.var(k.ldf(x, base)?.into())?;
                let bk = k.var(k.i64c(0).into())?;
                k.for_n(a.d - 1, &mut |t| {
                    let kk = k.add(t, k.i64c(1))?;
                    let v = k.ldf(x, k.affine(kk, a.inner, base)?)?;
                    let best = k.get(k.f32t(), bv)?.into_float_value();
                    let better = k.fcmp(pred, v, best)?;
                    k.set(bv, k.fsel(better, v, best)?)?;
                    let cur = k.get(k.int(64), bk)?.into_int_value();
                    k.set(bk, k.select(better, kk, cur)?)
                })?;
                let idx = k.affine(o, a.inner, i)?;
                k.st(y, idx, k.get(k.int(64), bk)?)
            })
        })?;
    }
    Ok(whole(k.finish()?))
}

fn log_softmax<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    outer: usize,
    d: usize,
    inner: usize,
) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let (x, out) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    k.for_range(k.r0, k.r1, &mut |o| {
        let obase = k.mul(o, k.i64c((d * inner) as i64))?;
        k.for_n(inner, &mut |c| {
            let base = k.add(obase, c)?;
            let at = |j: IntValue<'ctx>| k.affine(j, inner, base);
            let m = k.var(k.f32c(f32::NEG_INFINITY).into())?;
            let s = k.var(f64c(&k, 0.0).into())?;
            let get = |v| -> R<FloatValue<'ctx>> { Ok(k.get(k.f32t(), v)?.into_float_value()) };
            let get64 = |v| -> R<FloatValue<'ctx>> { Ok(k.get(f64t(&k), v)?.into_float_value()) };
            k.for_n(d, &mut |j| k.set(m, k.fmax(get(m)?, k.ldf(x, at(j)?)?)?))?;
            let mv = get(m)?;
            k.for_n(d, &mut |j| {
                // exp_f64 converts rint(z·log₂e) to an integer: keep NaN away from it.
                let z = fext(&k, k.fsub(k.ldf(x, at(j)?)?, mv)?)?;
                let zn = k.fcmp(FloatPredicate::UNO, z, z)?;
                let e = exp_f64(&k, k.fsel(zn, f64c(&k, 0.0), z)?)?;
                let e = k.fsel(zn, z, e)?;
                k.set(s, k.fadd(get64(s)?, e)?)
            })?;
            let sv = get64(s)?;
            let ls = k.fsel(k.fcmp(FloatPredicate::UNO, sv, sv)?, sv, log64(&k, sv)?)?;
            k.for_n(d, &mut |j| {
                let i = at(j)?;
                let z = fext(&k, k.fsub(k.ldf(x, i)?, mv)?)?;
                k.st(out, i, ftrunc(&k, k.fsub(z, ls)?)?)
            })
        })
    })?;
    Ok(rows(k.finish()?, outer))
}

fn resample<'ctx>(cg: &mut Cg<'ctx>, name: &str, r: &Resample) -> R<Built<'ctx>> {
    let copy = r.is_copy();
    let idx_bytes: Vec<u8> = r.index.iter().flat_map(|v| v.to_le_bytes()).collect();
    let w_bytes: Vec<u8> = r.weight.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ic = cg.constant(&idx_bytes);
    let wc = cg.constant(&w_bytes);
    let k = cg.kernel(name, 2)?;
    let et: inkwell::types::BasicTypeEnum<'ctx> =
        if copy { k.int(8 * r.elem_bytes as u32).into() } else { k.f32t().into() };
    let (x, y) = (k.buf(0, et)?, k.buf(1, et)?);
    let (pi, pw) = (k.const_ptr(ic, k.int(32))?, k.const_ptr(wc, f64t(&k))?);
    k.for_n(r.outer, &mut |o| {
        let xo = k.mul(o, k.i64c((r.n_in * r.inner) as i64))?;
        k.for_n(r.n_out, &mut |j| {
            let mut srcs = Vec::with_capacity(r.taps);
            let mut ws = Vec::with_capacity(r.taps);
            for t in 0..r.taps {
                let ti = k.add(k.mul(j, k.i64c(r.taps as i64))?, k.i64c(t as i64))?;
                let ix = k.ext(k.ldi(k.int(32), pi, ti)?, k.int(64), false)?;
                srcs.push(k.affine(ix, r.inner, xo)?);
                if !copy {
                    ws.push(k.ld(f64t(&k), pw, ti)?.into_float_value());
                }
            }
            let ob = k.mul(k.add(k.mul(o, k.i64c(r.n_out as i64))?, j)?, k.i64c(r.inner as i64))?;
            k.for_n(r.inner, &mut |i| {
                let dst = k.add(ob, i)?;
                if copy {
                    let v = k.ld(et, x, k.add(srcs[0], i)?)?;
                    return k.st(y, dst, v);
                }
                let mut acc: Option<FloatValue<'ctx>> = None;
                for t in 0..r.taps {
                    let v = fext(&k, k.ldf(x, k.add(srcs[t], i)?)?)?;
                    let p = k.fmul(v, ws[t])?;
                    acc = Some(match acc {
                        None => p,
                        Some(a) => k.fadd(a, p)?,
                    });
                }
                match acc {
                    Some(a) => k.st(y, dst, ftrunc(&k, a)?),
                    None => Ok(()),
                }
            })
        })
    })?;
    Ok(whole(k.finish()?))
}
