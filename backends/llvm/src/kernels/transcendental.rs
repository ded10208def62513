//! Float transcendentals emitted inline as plain arithmetic and selects (so the loop vectorizer
//! widens them), built on [`super::math::exp`]: the same algorithms and constants as the
//! Cranelift backend's `kernels::transcendental`, whose docs state them (Cephes `logf` and
//! `tanhf`, Kahan's `ln_1p` for Softplus, fdlibm's π/2 reduction and sin/cos kernels in f64,
//! `powf` special cases with exact forms for y = 2, 1, −1, ½). Accuracy against the interpreter
//! is measured by the conformance case `float_math_accuracy`.

use super::math::exp;

use super::xformer::{f64c, fext, ftrunc};
use crate::emit::{K, R};
use inkwell::types::BasicType;
use inkwell::values::{FloatValue, IntValue};
use inkwell::FloatPredicate as P;

/// A one-argument float intrinsic (`llvm.fabs`, `llvm.floor`, `llvm.rint`) of `v`'s type.
fn un<'ctx>(k: &K<'_, 'ctx>, name: &str, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let t = v.get_type().as_basic_type_enum();
    Ok(k.intrinsic(name, &[t], &[v.into()])?.into_float_value())
}

fn bits<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<IntValue<'ctx>> {
    Ok(k.b().build_bit_cast(v, k.int(32), "bits")?.into_int_value())
}

fn and<'ctx>(k: &K<'_, 'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
    Ok(k.b().build_and(a, b, "and")?)
}

fn or<'ctx>(k: &K<'_, 'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
    Ok(k.b().build_or(a, b, "or")?)
}

/// Horner `((c₀·x + c₁)·x + …) + cₙ` in f32, multiply then add.
fn horner<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>, c: &[f32]) -> R<FloatValue<'ctx>> {
    let mut p = k.f32c(c[0]);
    for &v in &c[1..] {
        p = k.fadd(k.fmul(p, x)?, k.f32c(v))?;
    }
    Ok(p)
}

/// Cephes `logf` polynomial, highest degree first.
#[allow(clippy::excessive_precision)]
const LOG_P: [f32; 9] = [
    7.037_683_629_2e-2,
    -1.151_461_031_0e-1,
    1.167_699_874_0e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];

/// Cephes `tanhf` polynomial, highest degree first.
#[allow(clippy::excessive_precision)]
const TANH_P: [f32; 5] = [
    -5.704_988_727_45e-3,
    2.063_908_879_54e-2,
    -5.373_971_555_31e-2,
    1.333_144_220_36e-1,
    -3.333_328_194_22e-1,
];

/// `ln x`.
pub(crate) fn log<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let tiny = k.fcmp(P::OLT, x, k.f32c(f32::MIN_POSITIVE))?;
    let x1 = k.fsel(tiny, k.fmul(x, k.f32c(8_388_608.0))?, x)?;
    let eadj = k.select(tiny, k.i32c(-23), k.i32c(0))?.into_int_value();
    let b = bits(k, x1)?;
    let e = k.sub(k.ashr(b, 23)?, k.i32c(126))?;
    let e = k.add(e, eadj)?;
    let mb = or(k, and(k, b, k.i32c(0x007f_ffff))?, k.i32c(0x3f00_0000))?;
    let m = k.bitcast_f32(mb)?;
    let small = k.fcmp(P::OLT, m, k.f32c(std::f32::consts::FRAC_1_SQRT_2))?;
    let e = k.sub(e, k.select(small, k.i32c(1), k.i32c(0))?.into_int_value())?;
    let one = k.f32c(1.0);
    let m = k.fsel(small, k.fsub(k.fadd(m, m)?, one)?, k.fsub(m, one)?)?;
    let ef = k.sitofp(e)?;
    let z = k.fmul(m, m)?;
    let y = k.fmul(k.fmul(horner(k, m, &LOG_P)?, m)?, z)?;
    let y = k.fadd(y, k.fmul(ef, k.f32c(-2.121_944_4e-4))?)?;
    let y = k.fsub(y, k.fmul(z, k.f32c(0.5))?)?;
    let r = k.fadd(k.fadd(m, y)?, k.fmul(ef, k.f32c(0.693_359_4))?)?;
    let inf = k.f32c(f32::INFINITY);
    let r = k.fsel(k.fcmp(P::OEQ, x, inf)?, inf, r)?;
    let r = k.fsel(k.fcmp(P::OEQ, x, k.f32c(0.0))?, k.f32c(f32::NEG_INFINITY), r)?;
    k.fsel(k.fcmp(P::ULT, x, k.f32c(0.0))?, k.f32c(f32::NAN), r)
}

/// `ln(1 + eˣ)`, x above 20 passed through.
pub(crate) fn softplus<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let e = exp(k, x)?;
    let one = k.f32c(1.0);
    let u = k.fadd(one, e)?;
    let r = k.fmul(log(k, u)?, k.fdiv(e, k.fsub(u, one)?)?)?;
    let r = k.fsel(k.fcmp(P::OEQ, u, one)?, e, r)?;
    k.fsel(k.fcmp(P::OGT, x, k.f32c(20.0))?, x, r)
}

/// `tanh x`.
pub(crate) fn tanh<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let a = un(k, "llvm.fabs", x)?;
    let one = k.f32c(1.0);
    let s = exp(k, k.fadd(a, a)?)?;
    let big = k.fsub(one, k.fdiv(k.f32c(2.0), k.fadd(s, one)?)?)?;
    let z = k.fmul(a, a)?;
    let small = k.fadd(k.fmul(k.fmul(horner(k, z, &TANH_P)?, z)?, a)?, a)?;
    let r = k.fsel(k.fcmp(P::OGE, a, k.f32c(0.625))?, big, small)?;
    let t = x.get_type().as_basic_type_enum();
    Ok(k.intrinsic("llvm.copysign", &[t], &[r.into(), x.into()])?.into_float_value())
}

/// `x ≥ 0 ? x : α·(eˣ − 1)`.
pub(crate) fn elu<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>, alpha: f32) -> R<FloatValue<'ctx>> {
    let t = k.fmul(k.f32c(alpha), k.fsub(exp(k, x)?, k.f32c(1.0))?)?;
    k.fsel(k.fcmp(P::OGE, x, k.f32c(0.0))?, x, t)
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
pub(crate) fn gelu_tanh<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let t = k.fmul(k.fmul(k.fmul(k.f32c(0.044715), x)?, x)?, x)?;
    let t = k.fmul(k.f32c((2.0f32 / std::f32::consts::PI).sqrt()), k.fadd(x, t)?)?;
    let t = k.fadd(k.f32c(1.0), tanh(k, t)?)?;
    k.fmul(k.fmul(k.f32c(0.5), x)?, t)
}

/// fdlibm's four-part π/2.
const PIO2: [f64; 4] = [
    1.570_796_326_734_125_6,
    6.077_100_506_303_966e-11,
    2.022_266_248_711_166_5e-21,
    8.478_427_660_368_9e-32,
];

/// fdlibm `__kernel_sin` coefficients S1..S6.
#[allow(clippy::excessive_precision)]
const SIN_C: [f64; 6] = [
    -1.666_666_666_666_663_243_48e-01,
    8.333_333_333_322_489_461_24e-03,
    -1.984_126_982_985_794_931_34e-04,
    2.755_731_370_707_006_767_89e-06,
    -2.505_076_025_340_686_341_95e-08,
    1.589_690_995_211_550_102_21e-10,
];

/// fdlibm `__kernel_cos` coefficients C1..C6.
#[allow(clippy::excessive_precision)]
const COS_C: [f64; 6] = [
    4.166_666_666_666_660_190_37e-02,
    -1.388_888_888_887_410_957_49e-03,
    2.480_158_728_947_672_941_78e-05,
    -2.755_731_435_139_066_330_35e-07,
    2.087_572_321_298_174_827_90e-09,
    -1.135_964_755_778_819_482_65e-11,
];

/// f64 Horner over `c` (lowest degree first): `c₀ + z·(c₁ + z·(…))`.
fn horner64<'ctx>(k: &K<'_, 'ctx>, z: FloatValue<'ctx>, c: &[f64]) -> R<FloatValue<'ctx>> {
    let mut p = f64c(k, c[c.len() - 1]);
    for &v in c[..c.len() - 1].iter().rev() {
        p = k.fadd(k.fmul(p, z)?, f64c(k, v))?;
    }
    Ok(p)
}

/// 2/π in 24-bit chunks (fdlibm's `ipio2`).
const TWO_OVER_PI: [i64; 8] =
    [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C, 0x439041];

/// Below this |x| the Cody–Waite reduction is exact.
const CW_LIMIT: f32 = 524_288.0;

fn i64v<'ctx>(k: &K<'_, 'ctx>, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
    k.ext(v, k.int(64), false)
}

/// `v mod 4` of a non-negative f64.
fn mod4<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let t = un(k, "llvm.floor", k.fmul(v, f64c(k, 0.25))?)?;
    k.fsub(v, k.fmul(t, f64c(k, 4.0))?)
}

/// Payne–Hanek for `|x| ≥ CW_LIMIT`: `|x|·2/π mod 4` as `(q, f)` (as the Cranelift backend).
fn reduce_big<'ctx>(
    k: &K<'_, 'ctx>,
    x: FloatValue<'ctx>,
) -> R<(FloatValue<'ctx>, FloatValue<'ctx>)> {
    let b = i64v(k, bits(k, x)?)?;
    let c64 = |v: i64| k.i64c(v);
    let m = k.b().build_or(k.b().build_and(b, c64(0x7f_ffff), "m")?, c64(0x80_0000), "m")?;
    let m = k.b().build_signed_int_to_float(m, super::xformer::f64t(k), "mf")?;
    let e = k.b().build_right_shift(b, c64(23), false, "e")?;
    let e = k.sub(k.b().build_and(e, c64(0xff), "e")?, c64(150))?;
    let mut i0 = c64(1);
    for lim in [26i64, 50, 74, 98] {
        let ge = k.icmp(inkwell::IntPredicate::SGE, e, c64(lim))?;
        i0 = k.add(i0, i64v(k, ge)?)?;
    }
    let mut sum: Option<FloatValue<'ctx>> = None;
    for j in 0..4i64 {
        let mut c = c64(TWO_OVER_PI[j as usize]);
        for i in 2..=5i64 {
            let is = k.icmp(inkwell::IntPredicate::EQ, i0, c64(i))?;
            c = k.select(is, c64(TWO_OVER_PI[(i + j - 1) as usize]), c)?.into_int_value();
        }
        let c = k.b().build_signed_int_to_float(c, super::xformer::f64t(k), "cf")?;
        let sh = k.sub(e, k.add(k.mul(i0, c64(24))?, c64(24 * j))?)?;
        let p2 = k.mul(k.add(sh, c64(1023))?, c64(1 << 52))?;
        let p2 = k.b().build_bit_cast(p2, super::xformer::f64t(k), "p2")?.into_float_value();
        let a = mod4(k, k.fmul(k.fmul(m, c)?, p2)?)?;
        sum = Some(match sum {
            None => a,
            Some(t) => k.fadd(t, a)?,
        });
    }
    let s = mod4(k, sum.expect("four chunks"))?;
    let q = un(k, "llvm.rint", s)?;
    Ok((q, k.fsub(s, q)?))
}

/// `sin x` or `cos x` (reduction and polynomials in f64).
pub(crate) fn sin_cos<'ctx>(
    k: &K<'_, 'ctx>,
    x: FloatValue<'ctx>,
    cos: bool,
) -> R<FloatValue<'ctx>> {
    let xd = fext(k, x)?;
    let kk = un(k, "llvm.rint", k.fmul(xd, f64c(k, std::f64::consts::FRAC_2_PI))?)?;
    let mut r = xd;
    for p in PIO2 {
        r = k.fsub(r, k.fmul(kk, f64c(k, p))?)?;
    }
    let kq = un(k, "llvm.floor", k.fmul(kk, f64c(k, 0.25))?)?;
    let q = k.fsub(kk, k.fmul(kq, f64c(k, 4.0))?)?;
    let ax = un(k, "llvm.fabs", x)?;
    let (bq, bf) = reduce_big(k, ax)?;
    let neg = k.fcmp(P::OLT, x, k.f32c(0.0))?;
    let bq = k.fsel(neg, k.fsub(f64c(k, 4.0), bq)?, bq)?;
    let bf = k.fsel(neg, k.b().build_float_neg(bf, "nf")?, bf)?;
    let bq = mod4(k, bq)?;
    let br = k.fmul(bf, f64c(k, std::f64::consts::FRAC_PI_2))?;
    let big = k.fcmp(P::OGE, ax, k.f32c(CW_LIMIT))?;
    let q = k.fsel(big, bq, q)?;
    let r = k.fsel(big, br, r)?;
    let z = k.fmul(r, r)?;
    let s = k.fadd(r, k.fmul(k.fmul(r, z)?, horner64(k, z, &SIN_C)?)?)?;
    let c = k.fsub(f64c(k, 1.0), k.fmul(z, f64c(k, 0.5))?)?;
    let c = k.fadd(c, k.fmul(k.fmul(z, z)?, horner64(k, z, &COS_C)?)?)?;
    let qis = |v: f64| k.fcmp(P::OEQ, q, f64c(k, v));
    let (q1, q2, q3) = (qis(1.0)?, qis(2.0)?, qis(3.0)?);
    let odd = or(k, q1, q3)?;
    let (v, negate) = if cos {
        (k.fsel(odd, s, c)?, or(k, q1, q2)?)
    } else {
        (k.fsel(odd, c, s)?, or(k, q2, q3)?)
    };
    let nv = k.b().build_float_neg(v, "neg")?;
    let y = ftrunc(k, k.fsel(negate, nv, v)?)?;
    let y = k.fsel(k.fcmp(P::OEQ, ax, k.f32c(f32::INFINITY))?, k.f32c(f32::NAN), y)?;
    if cos {
        return Ok(y);
    }
    k.fsel(k.fcmp(P::OEQ, x, k.f32c(0.0))?, x, y)
}

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
