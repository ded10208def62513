//! `powf` in f64 (`e^{y·ln|x|}` with the f64 `exp` of the softmax and [`log64`], rounded
//! once; the `powf` special cases by selects) and the f64 `ln` LogSoftmax uses too: the
//! Cranelift backend's `kernels::pow`, whose docs state them.

use super::transcendental::{and, bits, horner64, i64v, un};
use super::xformer::{f64c, fext, ftrunc};
use crate::emit::{K, R};
use inkwell::values::FloatValue;
use inkwell::FloatPredicate as P;

/// `ln v` in f64 of a positive, finite, normal f64 (as the Cranelift backend's `log64`).
pub(crate) fn log64<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let f64t = super::xformer::f64t(k);
    let b = k.b().build_bit_cast(v, k.int(64), "b")?.into_int_value();
    let e = k.sub(k.b().build_right_shift(b, k.i64c(52), true, "e")?, k.i64c(1022))?;
    let mb = k.b().build_and(b, k.i64c(0x000f_ffff_ffff_ffff), "m")?;
    let mb = k.b().build_or(mb, k.i64c(0x3fe0_0000_0000_0000), "m")?;
    let m = k.b().build_bit_cast(mb, f64t, "m")?.into_float_value();
    let small = k.fcmp(P::OLT, m, f64c(k, std::f64::consts::FRAC_1_SQRT_2))?;
    let m = k.fsel(small, k.fadd(m, m)?, m)?;
    let e = k.sub(e, i64v(k, small)?)?;
    let one = f64c(k, 1.0);
    let s = k.fdiv(k.fsub(m, one)?, k.fadd(m, one)?)?;
    let inv: Vec<f64> = (0..11).map(|i| 1.0 / (2 * i + 1) as f64).collect();
    let p = horner64(k, k.fmul(s, s)?, &inv)?;
    let lnm = k.fmul(k.fmul(s, f64c(k, 2.0))?, p)?;
    let ef = k.b().build_signed_int_to_float(e, f64t, "ef")?;
    k.fadd(k.fmul(ef, f64c(k, std::f64::consts::LN_2))?, lnm)
}

/// `x^y` with `powf` semantics (`|x|^y` as `e^{y·ln|x|}` in f64).
pub(crate) fn pow<'ctx>(
    k: &K<'_, 'ctx>,
    x: FloatValue<'ctx>,
    y: FloatValue<'ctx>,
) -> R<FloatValue<'ctx>> {
    let ax = un(k, "llvm.fabs", x)?;
    let l = log64(k, fext(k, ax)?)?;
    let l = k.fsel(k.fcmp(P::OEQ, ax, k.f32c(0.0))?, f64c(k, f64::NEG_INFINITY), l)?;
    let l = k.fsel(k.fcmp(P::OEQ, ax, k.f32c(f32::INFINITY))?, f64c(k, f64::INFINITY), l)?;
    let l = k.fsel(k.fcmp(P::UNO, ax, ax)?, f64c(k, f64::NAN), l)?;
    let t = k.fmin(k.fmul(fext(k, y)?, l)?, f64c(k, 90.0))?;
    // exp_f64 converts rint(t·log₂e) to an integer: keep NaN away from that conversion.
    let tnan = k.fcmp(P::UNO, t, t)?;
    let e = super::xformer::norm::exp_f64(k, k.fsel(tnan, f64c(k, 0.0), t)?)?;
    let mut r = ftrunc(k, k.fsel(tnan, f64c(k, f64::NAN), e)?)?;
    let fy = un(k, "llvm.floor", y)?;
    let yint = k.fcmp(P::OEQ, fy, y)?;
    let hy = k.fmul(y, k.f32c(0.5))?;
    let odd = and(k, yint, k.fcmp(P::ONE, un(k, "llvm.floor", hy)?, hy)?)?;
    let xs = and(k, bits(k, x)?, k.i32c(i32::MIN))?;
    let flip = k.select(odd, xs, k.i32c(0))?.into_int_value();
    let rb = k.b().build_xor(bits(k, r)?, flip, "xor")?;
    r = k.bitcast_f32(rb)?;
    let zero = k.f32c(0.0);
    let bad = and(k, k.fcmp(P::OLT, x, zero)?, k.fcmp(P::OGT, x, k.f32c(f32::NEG_INFINITY))?)?;
    let bad = and(k, bad, k.fcmp(P::UNE, fy, y)?)?;
    r = k.fsel(bad, k.f32c(f32::NAN), r)?;
    let yis = |v: f32| k.fcmp(P::OEQ, y, k.f32c(v));
    let one = k.f32c(1.0);
    r = k.fsel(yis(2.0)?, k.fmul(x, x)?, r)?;
    r = k.fsel(yis(1.0)?, x, r)?;
    r = k.fsel(yis(-1.0)?, k.fdiv(one, x)?, r)?;
    let inf = k.f32c(f32::INFINITY);
    let rt = k.fadd(k.sqrt(x)?, zero)?;
    let rt = k.fsel(k.fcmp(P::OEQ, x, k.f32c(f32::NEG_INFINITY))?, inf, rt)?;
    r = k.fsel(yis(0.5)?, rt, r)?;
    let yinf = k.fcmp(P::OEQ, un(k, "llvm.fabs", y)?, inf)?;
    let c = and(k, yinf, k.fcmp(P::OEQ, x, k.f32c(-1.0))?)?;
    r = k.fsel(c, one, r)?;
    r = k.fsel(k.fcmp(P::OEQ, x, one)?, one, r)?;
    k.fsel(yis(0.0)?, one, r)
}
