//! Elementwise kernels: Quantize (f32 → 8-bit), Dequantize (per tensor, and per axis for i8,
//! u8 and i32), f32 binary arithmetic with broadcast (nested loops over the output shape with
//! per-operand strides; Pow from [`super::pow::pow`]) and the f32 unary ops of [`UnaryOp`], exactly as `qcc_ir::qmath` and the interpreter.

use super::{whole, Built};
use crate::emit::{q8_range, Cg, R};
use inkwell::values::IntValue;
use inkwell::FloatPredicate;
use qcc_ir::DType;
use qcc_lowering::{BinOp, Kernel, LoweredModel, Step, UnaryOp};

/// Builds the step's elementwise kernel.
pub(crate) fn build<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    st: &Step,
    name: &str,
) -> R<Built<'ctx>> {
    let n = l.buffers[st.output].numel();
    match &st.kernel {
        Kernel::Quantize { scale, zero_point, signed } => {
            let (lo, hi) = q8_range(*signed);
            let k = cg.kernel(name, 2)?;
            let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.int(8))?);
            k.for_n(n, &mut |i| {
                let t = k.fdiv(k.ldf(x, i)?, k.f32c(*scale))?;
                let q = k.round_saturate(t, *zero_point, lo, hi)?;
                k.st(y, i, k.trunc(q, k.int(8))?)
            })?;
            Ok(whole(k.finish()?))
        }
        Kernel::Dequantize { scale, zero_point, signed } => {
            let k = cg.kernel(name, 2)?;
            let (x, y) = (k.buf(0, k.int(8))?, k.buf(1, k.f32t())?);
            k.for_n(n, &mut |i| {
                let q = k.ext(k.ldi(k.int(8), x, i)?, k.int(32), *signed)?;
                let q = k.sub(q, k.i32c(*zero_point))?;
                k.st(y, i, k.fmul(k.sitofp(q)?, k.f32c(*scale))?)
            })?;
            Ok(whole(k.finish()?))
        }
        Kernel::DequantizeAxis(d) => {
            let scales = cg.constant(&crate::emit::f32_bytes(&d.scales));
            let zps = cg.constant(&crate::emit::i32_bytes(&d.zero_points));
            let k = cg.kernel(name, 2)?;
            let wide = d.dtype == DType::I32;
            let (qt, signed) =
                if wide { (k.int(32), true) } else { (k.int(8), d.dtype == DType::I8) };
            // i32 inputs subtract in i64 (exact, as the interpreter), 8-bit ones in i32.
            let at = if wide { k.int(64) } else { k.int(32) };
            let (x, y) = (k.buf(0, qt)?, k.buf(1, k.f32t())?);
            let (ps, pz) = (k.const_ptr(scales, k.f32t())?, k.const_ptr(zps, k.int(32))?);
            k.for_n(d.outer, &mut |o| {
                k.for_n(d.axis_len, &mut |c| {
                    let s = k.ldf(ps, c)?;
                    let z = k.ext(k.ldi(k.int(32), pz, c)?, at, true)?;
                    let row = k.affine(o, d.axis_len, c)?;
                    let base = k.mul(row, k.i64c(d.inner as i64))?;
                    k.for_n(d.inner, &mut |j| {
                        let i = k.add(base, j)?;
                        let q = k.ext(k.ldi(qt, x, i)?, at, signed)?;
                        let v = k.sitofp(k.sub(q, z)?)?;
                        k.st(y, i, k.fmul(v, s)?)
                    })
                })
            })?;
            Ok(whole(k.finish()?))
        }
        Kernel::Binary { op, shape, a_strides, b_strides } => {
            let k = cg.kernel(name, 3)?;
            let (a, b, c) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?, k.buf(2, k.f32t())?);
            let mut sc = vec![1usize; shape.len()];
            for d in (0..shape.len().saturating_sub(1)).rev() {
                sc[d] = sc[d + 1] * shape[d + 1];
            }
            let z = k.i64c(0);
            strided_nest(&k, shape, &[a_strides, b_strides, &sc], 0, [z, z, z], &mut |ix| {
                let (x, y) = (k.ldf(a, ix[0])?, k.ldf(b, ix[1])?);
                let r = match op {
                    BinOp::Add => k.fadd(x, y)?,
                    BinOp::Sub => k.fsub(x, y)?,
                    BinOp::Mul => k.fmul(x, y)?,
                    BinOp::Div => k.fdiv(x, y)?,
                    BinOp::Max => k.fmax(x, y)?,
                    BinOp::Min => k.fmin(x, y)?,
                    BinOp::Pow => super::pow::pow(&k, x, y)?,
                };
                k.st(c, ix[2], r)
            })?;
            Ok(whole(k.finish()?))
        }
        Kernel::Unary(u) => {
            let k = cg.kernel(name, 2)?;
            let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
            k.for_n(n, &mut |i| {
                let v = k.ldf(x, i)?;
                let r = match *u {
                    UnaryOp::Relu => {
                        let neg = k.fcmp(FloatPredicate::OLT, v, k.f32c(0.0))?;
                        k.fsel(neg, k.f32c(0.0), v)?
                    }
                    UnaryOp::Clip(lo, hi) => {
                        let below = k.fcmp(FloatPredicate::OLT, v, k.f32c(lo))?;
                        let v = k.fsel(below, k.f32c(lo), v)?;
                        let above = k.fcmp(FloatPredicate::OGT, v, k.f32c(hi))?;
                        k.fsel(above, k.f32c(hi), v)?
                    }
                    UnaryOp::Neg => k.b().build_float_neg(v, "neg")?,
                    UnaryOp::Abs => f32_intrinsic(&k, "llvm.fabs", v)?,
                    UnaryOp::Floor => f32_intrinsic(&k, "llvm.floor", v)?,
                    UnaryOp::Ceil => f32_intrinsic(&k, "llvm.ceil", v)?,
                    UnaryOp::Round => k.rint(v)?,
                    UnaryOp::Reciprocal => k.fdiv(k.f32c(1.0), v)?,
                    UnaryOp::Sign => {
                        let pos = k.fcmp(FloatPredicate::OGT, v, k.f32c(0.0))?;
                        let neg = k.fcmp(FloatPredicate::OLT, v, k.f32c(0.0))?;
                        let r = k.fsel(neg, k.f32c(-1.0), v)?;
                        k.fsel(pos, k.f32c(1.0), r)?
                    }
                    UnaryOp::LeakyRelu(alpha) => {
                        let nonneg = k.fcmp(FloatPredicate::OGE, v, k.f32c(0.0))?;
                        let ax = k.fmul(k.f32c(alpha), v)?;
                        k.fsel(nonneg, v, ax)?
                    }
                };
                k.st(y, i, r)
            })?;
            Ok(whole(k.finish()?))
        }
        other => {
            Err(crate::BackendError::InvalidSpec(format!("{} is not elementwise", other.name())))
        }
    }
}

/// A one-argument f32 intrinsic (`llvm.fabs`, `llvm.floor`, `llvm.ceil`: exact, vectorizable).
fn f32_intrinsic<'ctx>(
    k: &crate::emit::K<'_, 'ctx>,
    name: &str,
    v: inkwell::values::FloatValue<'ctx>,
) -> R<inkwell::values::FloatValue<'ctx>> {
    use inkwell::types::BasicType;
    let t = k.f32t().as_basic_type_enum();
    Ok(k.intrinsic(name, &[t], &[v.into()])?.into_float_value())
}

/// Nested loops over `shape` carrying one element index per operand (`strides[o][d]` elements
/// per step of axis `d`); `body` gets the indices at each point.
pub(crate) fn strided_nest<'ctx, const N: usize>(
    k: &crate::emit::K<'_, 'ctx>,
    shape: &[usize],
    strides: &[&[usize]; N],
    d: usize,
    at: [IntValue<'ctx>; N],
    body: &mut dyn FnMut([IntValue<'ctx>; N]) -> R<()>,
) -> R<()> {
    if d == shape.len() {
        return body(at);
    }
    k.for_n(shape[d], &mut |i| {
        let mut next = at;
        for o in 0..N {
            next[o] = k.affine(i, strides[o][d], at[o])?;
        }
        strided_nest(k, shape, strides, d + 1, next, body)
    })
}
