//! `powf` and the f64 `exp`/`ln` it is built on (no libm; the LLVM backend's
//! `kernels::transcendental` has the same algorithms): `|x|^y = e^{y·ln|x|}` in f64
//! ([`log64`], [`exp64`]; ≤ 1 ulp after the one rounding to f32), negated for a negative base
//! (−0 and −∞ included) with an odd integer exponent, NaN for a finite negative base with a
//! non-integer exponent, 1 for `y = 0` or `x = 1` (even NaN) and for `x = −1, y = ±∞`; `y` =
//! 2, 1, −1, ½ are computed exactly as `x·x`, `x`, `1/x`, `√x` (with `√` of −0 and −∞ fixed to
//! +0, +∞). LogSoftmax uses [`exp64`] and [`log64`] too.

use super::math::{fconst, iconst, int_ty, vfl};
use super::transcendental::{fsel, horner64, isel};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F64, I64};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// `e^z` in f64 (`z ≤ 90`; below −104 the result is 0, under every f32 denormal): the LLVM
/// backend's softmax `exp_f64` (fdlibm's two-part ln 2, Taylor series to degree 12, `2^n` in
/// the exponent bits), relative error ≈ 2e-16. NaN propagates.
pub(crate) fn exp64(b: &mut FunctionBuilder<'_>, z: Value) -> Value {
    let hi = b.ins().f64const(90.0);
    let z = b.ins().fmin(z, hi);
    let lo = b.ins().f64const(-104.0);
    let low = b.ins().fcmp(FloatCC::LessThan, z, lo);
    let zc = b.ins().select(low, lo, z);
    let l2e = b.ins().f64const(std::f64::consts::LOG2_E);
    let t = b.ins().fmul(zc, l2e);
    let n = b.ins().nearest(t);
    let mut r = zc;
    for c in [6.931_471_803_691_238e-1, 1.908_214_929_270_587_7e-10] {
        let cc = b.ins().f64const(c);
        let p = b.ins().fmul(n, cc);
        r = b.ins().fsub(r, p);
    }
    let mut fact = 479_001_600.0f64; // 12!
    let mut p = b.ins().f64const(1.0 / fact);
    for i in (0..12).rev() {
        fact /= (i + 1) as f64;
        let t = b.ins().fmul(p, r);
        let c = b.ins().f64const(1.0 / fact);
        p = b.ins().fadd(t, c);
    }
    let ni = b.ins().fcvt_to_sint_sat(I64, n);
    let e = b.ins().iadd_imm_s(ni, 1023);
    let e = b.ins().ishl_imm_s(e, 52);
    let scale = b.ins().bitcast(F64, vfl(), e);
    let y = b.ins().fmul(p, scale);
    let zero = b.ins().f64const(0.0);
    b.ins().select(low, zero, y)
}

/// `ln v` in f64 of a positive, finite, normal f64: `v = m·2^e` with `m ∈ [√½, √2)`,
/// `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`, by its series to `s²¹` (truncation < 1e-18),
/// plus `e·ln 2`. Relative error ≈ 2e-16 (callers handle 0, ∞ and NaN).
pub(crate) fn log64(b: &mut FunctionBuilder<'_>, v: Value) -> Value {
    let bits = b.ins().bitcast(I64, vfl(), v);
    let e = b.ins().sshr_imm_s(bits, 52);
    let e = b.ins().iadd_imm_s(e, -1022);
    let mb = b.ins().band_imm_s(bits, 0x000f_ffff_ffff_ffff);
    let mb = b.ins().bor_imm_s(mb, 0x3fe0_0000_0000_0000);
    let m = b.ins().bitcast(F64, vfl(), mb);
    let sq = b.ins().f64const(std::f64::consts::FRAC_1_SQRT_2);
    let small = b.ins().fcmp(FloatCC::LessThan, m, sq);
    let m2 = b.ins().fadd(m, m);
    let m = b.ins().select(small, m2, m);
    let dec = b.ins().uextend(I64, small);
    let e = b.ins().isub(e, dec);
    let one = b.ins().f64const(1.0);
    let num = b.ins().fsub(m, one);
    let den = b.ins().fadd(m, one);
    let s = b.ins().fdiv(num, den);
    let s2 = b.ins().fmul(s, s);
    let inv: Vec<f64> = (0..11).map(|i| 1.0 / (2 * i + 1) as f64).collect();
    let p = horner64(b, s2, &inv);
    let two = b.ins().f64const(2.0);
    let s2x = b.ins().fmul(s, two);
    let lnm = b.ins().fmul(s2x, p);
    let ef = b.ins().fcvt_from_sint(F64, e);
    let ln2 = b.ins().f64const(std::f64::consts::LN_2);
    let el = b.ins().fmul(ef, ln2);
    b.ins().fadd(el, lnm)
}

/// `x^y` of scalar f32s with `powf` semantics (see the module docs).
pub(crate) fn pow(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = F32;
    let ity = int_ty(ty);
    // |x|^y = e^{y·ln|x|} in f64, with ln 0 = −∞, ln ∞ = ∞ and NaN kept.
    let ax = b.ins().fabs(x);
    let axd = b.ins().fpromote(F64, ax);
    let l = log64(b, axd);
    let zero = fconst(b, ty, 0.0);
    let inf = fconst(b, ty, f32::INFINITY);
    let is0 = b.ins().fcmp(FloatCC::Equal, ax, zero);
    let ninf64 = b.ins().f64const(f64::NEG_INFINITY);
    let l = b.ins().select(is0, ninf64, l);
    let isinf = b.ins().fcmp(FloatCC::Equal, ax, inf);
    let inf64 = b.ins().f64const(f64::INFINITY);
    let l = b.ins().select(isinf, inf64, l);
    let isnan = b.ins().fcmp(FloatCC::Unordered, ax, ax);
    let nan64 = b.ins().f64const(f64::NAN);
    let l = b.ins().select(isnan, nan64, l);
    let yd = b.ins().fpromote(F64, y);
    let t = b.ins().fmul(yd, l);
    let e = exp64(b, t);
    let mut r = b.ins().fdemote(F32, e);
    // Odd integer exponent: the base's sign bit goes to the result.
    let fy = b.ins().floor(y);
    let yint = b.ins().fcmp(FloatCC::Equal, fy, y);
    let h = fconst(b, ty, 0.5);
    let hy = b.ins().fmul(y, h);
    let fh = b.ins().floor(hy);
    let half_frac = b.ins().fcmp(FloatCC::NotEqual, fh, hy);
    let odd = b.ins().band(yint, half_frac);
    let sign = iconst(b, ity, i32::MIN);
    let zero_i = iconst(b, ity, 0);
    let xb = b.ins().bitcast(ity, vfl(), x);
    let xs = b.ins().band(xb, sign);
    let flip = isel(b, ty, odd, xs, zero_i);
    let rb = b.ins().bitcast(ity, vfl(), r);
    let rb = b.ins().bxor(rb, flip);
    r = b.ins().bitcast(ty, vfl(), rb);
    // A finite negative base with a non-integer exponent: NaN.
    let ninf = fconst(b, ty, f32::NEG_INFINITY);
    let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let fin = b.ins().fcmp(FloatCC::GreaterThan, x, ninf);
    let nonint = b.ins().fcmp(FloatCC::NotEqual, fy, y);
    let bad = b.ins().band(neg, fin);
    let bad = b.ins().band(bad, nonint);
    let nan = fconst(b, ty, f32::NAN);
    r = fsel(b, ty, bad, nan, r);
    // Exact forms of common exponents.
    let yis = |b: &mut FunctionBuilder<'_>, v: f32| {
        let c = fconst(b, ty, v);
        b.ins().fcmp(FloatCC::Equal, y, c)
    };
    let sq = b.ins().fmul(x, x);
    let c = yis(b, 2.0);
    r = fsel(b, ty, c, sq, r);
    let c = yis(b, 1.0);
    r = fsel(b, ty, c, x, r);
    let one = fconst(b, ty, 1.0);
    let rc = b.ins().fdiv(one, x);
    let c = yis(b, -1.0);
    r = fsel(b, ty, c, rc, r);
    let rt = b.ins().sqrt(x);
    let rt = b.ins().fadd(rt, zero);
    let xninf = b.ins().fcmp(FloatCC::Equal, x, ninf);
    let rt = fsel(b, ty, xninf, inf, rt);
    let c = yis(b, 0.5);
    r = fsel(b, ty, c, rt, r);
    // Exact ones: y = 0, x = 1, and x = −1 with y = ±∞.
    let ay = b.ins().fabs(y);
    let yinf = b.ins().fcmp(FloatCC::Equal, ay, inf);
    let mone = fconst(b, ty, -1.0);
    let xm1 = b.ins().fcmp(FloatCC::Equal, x, mone);
    let c = b.ins().band(yinf, xm1);
    r = fsel(b, ty, c, one, r);
    let x1 = b.ins().fcmp(FloatCC::Equal, x, one);
    r = fsel(b, ty, x1, one, r);
    let c = yis(b, 0.0);
    fsel(b, ty, c, one, r)
}
