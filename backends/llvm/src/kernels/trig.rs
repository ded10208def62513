//! sin and cos of f32 in f64: Cody–Waite below 2¹⁹, Payne–Hanek above, fdlibm's kernels,
//! rounded once (the Cranelift backend's `kernels::trig`, whose docs state the algorithm).

use super::transcendental::{bits, horner64, i64v, or, un};
use super::xformer::{f64c, fext, ftrunc};
use crate::emit::{K, R};
use inkwell::values::FloatValue;
use inkwell::FloatPredicate as P;
use qcc_lowering::coeffs::{COS_C, CW_LIMIT, PIO2, SIN_C, TWO_OVER_PI};

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
