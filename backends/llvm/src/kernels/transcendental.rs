//! f32 transcendentals emitted inline as plain arithmetic and selects (so the loop vectorizer
//! widens them), built on [`super::math::exp`]: the same algorithms and constants as the
//! Cranelift backend's `kernels::transcendental`, whose docs state them (Cephes `logf` and
//! `tanhf`, Kahan's `ln_1p` for Softplus, Elu, tanh-Gelu). Sin/cos are in [`super::trig`],
//! pow and the f64 `exp`/`ln` in [`super::pow`]. Accuracy against the interpreter is measured
//! by the conformance case `float_math_accuracy`.

use super::math::exp;
use super::xformer::f64c;
use crate::emit::{K, R};
use inkwell::types::BasicType;
use inkwell::values::{FloatValue, IntValue};
use inkwell::FloatPredicate as P;
use qcc_lowering::coeffs::{LOG_P, TANH_P};

/// A one-argument float intrinsic (`llvm.fabs`, `llvm.floor`, `llvm.rint`) of `v`'s type.
pub(crate) fn un<'ctx>(k: &K<'_, 'ctx>, name: &str, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let t = v.get_type().as_basic_type_enum();
    Ok(k.intrinsic(name, &[t], &[v.into()])?.into_float_value())
}

pub(crate) fn bits<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<IntValue<'ctx>> {
    Ok(k.b().build_bit_cast(v, k.int(32), "bits")?.into_int_value())
}

pub(crate) fn and<'ctx>(
    k: &K<'_, 'ctx>,
    a: IntValue<'ctx>,
    b: IntValue<'ctx>,
) -> R<IntValue<'ctx>> {
    Ok(k.b().build_and(a, b, "and")?)
}

pub(crate) fn or<'ctx>(k: &K<'_, 'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
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

/// f64 Horner over `c` (lowest degree first): `c₀ + z·(c₁ + z·(…))`.
pub(crate) fn horner64<'ctx>(
    k: &K<'_, 'ctx>,
    z: FloatValue<'ctx>,
    c: &[f64],
) -> R<FloatValue<'ctx>> {
    let mut p = f64c(k, c[c.len() - 1]);
    for &v in c[..c.len() - 1].iter().rev() {
        p = k.fadd(k.fmul(p, z)?, f64c(k, v))?;
    }
    Ok(p)
}

pub(crate) fn i64v<'ctx>(k: &K<'_, 'ctx>, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
    k.ext(v, k.int(64), false)
}
