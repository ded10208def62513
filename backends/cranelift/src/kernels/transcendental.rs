//! Float transcendentals emitted inline (no libm), for `f32` or `f32x4` values alike except
//! sin/cos and pow (scalar `f64`; sin/cos applied lane by lane), built on
//! [`super::math::exp`] or, in f64, on [`exp64`] and [`log64`]. The LLVM
//! backend's `kernels::transcendental` has the same algorithms and constants; the accuracy
//! against the interpreter (Rust `f32` functions, i.e. the host libm) is measured by the
//! conformance case `float_math_accuracy`:
//!
//! * [`log`]: Cephes `logf`: `x = m·2^e` with `m ∈ [√½, √2)` (denormals scaled by 2²³ first),
//!   `ln m` by a degree-9 polynomial in `m − 1`, `e·ln 2` added in two parts. ±0 → −∞, x < 0
//!   and NaN → NaN, +∞ → +∞.
//! * [`softplus`]: the interpreter's `x > 20 ? x : ln_1p(eˣ)`, `ln_1p(e)` as
//!   `ln(u)·e/(u − 1)` with `u = 1 + e` (Kahan's trick; `e` itself when `u == 1`).
//! * [`tanh`]: Cephes `tanhf`: `1 − 2/(e^{2|x|} + 1)` for `|x| ≥ 0.625`, else the odd
//!   polynomial `x + x³·P(x²)`; the sign copied from x (so −0 stays −0, ±∞ give ±1).
//! * [`elu`]: `x ≥ 0 ? x : α·(eˣ − 1)`, the interpreter's operation order.
//! * [`gelu_tanh`]: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, the interpreter's order.
//! * [`sin_cos`]: in f64: for `|x| < 2¹⁹`, `k = rint(x·2/π)`, `r = x − k·π/2` with fdlibm's
//!   four-part π/2 (exact products for `|k| < 2²⁰`); above, Payne–Hanek with 2/π in 24-bit
//!   chunks (the four chunks that matter for the exponent of x, times the 24-bit significand,
//!   reduced mod 4 exactly); then fdlibm's `__kernel_sin`/`__kernel_cos` polynomials on
//!   `|r| ≤ π/4`, the quadrant from `k mod 4`, rounded to f32 once (sin keeps the sign of ±0,
//!   ±∞ gives NaN). Accurate to an ulp for every finite f32.
//! * [`pow`]: `powf` semantics: `|x|^y = e^{y·ln|x|}` in f64 ([`log64`], [`exp64`]; ≤ 1 ulp
//!   after the one rounding to f32), negated for a negative base (−0 and −∞
//!   included) with an odd integer exponent, NaN for a finite negative base with a non-integer
//!   exponent, 1 for `y = 0` or `x = 1` (even NaN) and for `x = −1, y = ±∞`; `y` = 2, 1, −1,
//!   ½ are computed exactly as `x·x`, `x`, `1/x`, `√x` (with `√` of −0 and −∞ fixed to +0, +∞).

use super::math::{exp, fconst, iconst, int_ty, madd, vfl};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, F64, I32, I64};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// `c ? x : y` on float lanes (`c` from an `fcmp` of type `ty`).
pub(crate) fn fsel(b: &mut FunctionBuilder<'_>, ty: Type, c: Value, x: Value, y: Value) -> Value {
    if ty == F32 {
        b.ins().select(c, x, y)
    } else {
        let m = b.ins().bitcast(F32X4, vfl(), c);
        b.ins().bitselect(m, x, y)
    }
}

/// `c ? x : y` on i32 lanes (`c` from an `fcmp` of float type `ty`).
fn isel(b: &mut FunctionBuilder<'_>, ty: Type, c: Value, x: Value, y: Value) -> Value {
    if ty == F32 {
        b.ins().select(c, x, y)
    } else {
        b.ins().bitselect(c, x, y)
    }
}

/// `|r|` with the sign bit of `s` (bit operations, so it vectorizes everywhere).
fn copysign(b: &mut FunctionBuilder<'_>, ty: Type, r: Value, s: Value) -> Value {
    let ity = int_ty(ty);
    let rb = b.ins().bitcast(ity, vfl(), r);
    let sb = b.ins().bitcast(ity, vfl(), s);
    let mag = iconst(b, ity, 0x7fff_ffff);
    let sign = iconst(b, ity, i32::MIN);
    let rb = b.ins().band(rb, mag);
    let sb = b.ins().band(sb, sign);
    let v = b.ins().bor(rb, sb);
    b.ins().bitcast(ty, vfl(), v)
}

/// Horner `((c₀·x + c₁)·x + …) + cₙ`, multiply then add.
fn horner(b: &mut FunctionBuilder<'_>, ty: Type, x: Value, c: &[f32]) -> Value {
    let mut p = fconst(b, ty, c[0]);
    for &k in &c[1..] {
        p = madd(b, ty, p, x, k);
    }
    p
}

/// `ln x` (see the module docs).
pub(crate) fn log(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let ity = int_ty(ty);
    let minp = fconst(b, ty, f32::MIN_POSITIVE);
    let tiny = b.ins().fcmp(FloatCC::LessThan, x, minp);
    let k23 = fconst(b, ty, 8_388_608.0);
    let xs = b.ins().fmul(x, k23);
    let x1 = fsel(b, ty, tiny, xs, x);
    let m23 = iconst(b, ity, -23);
    let z0 = iconst(b, ity, 0);
    let eadj = isel(b, ty, tiny, m23, z0);
    let bits = b.ins().bitcast(ity, vfl(), x1);
    let e = b.ins().sshr_imm_s(bits, 23);
    let c126 = iconst(b, ity, 126);
    let e = b.ins().isub(e, c126);
    let e = b.ins().iadd(e, eadj);
    let mant = iconst(b, ity, 0x007f_ffff);
    let half = iconst(b, ity, 0x3f00_0000);
    let mb = b.ins().band(bits, mant);
    let mb = b.ins().bor(mb, half);
    let m = b.ins().bitcast(ty, vfl(), mb);
    let sq = fconst(b, ty, std::f32::consts::FRAC_1_SQRT_2);
    let small = b.ins().fcmp(FloatCC::LessThan, m, sq);
    let one_i = iconst(b, ity, 1);
    let dec = isel(b, ty, small, one_i, z0);
    let e = b.ins().isub(e, dec);
    let one = fconst(b, ty, 1.0);
    let m2 = b.ins().fadd(m, m);
    let a = b.ins().fsub(m2, one);
    let c = b.ins().fsub(m, one);
    let m = fsel(b, ty, small, a, c);
    let ef = b.ins().fcvt_from_sint(ty, e);
    let z = b.ins().fmul(m, m);
    let p = horner(b, ty, m, &LOG_P);
    let y = b.ins().fmul(p, m);
    let y = b.ins().fmul(y, z);
    let c1 = fconst(b, ty, -2.121_944_4e-4);
    let t = b.ins().fmul(ef, c1);
    let y = b.ins().fadd(y, t);
    let h = fconst(b, ty, 0.5);
    let t = b.ins().fmul(z, h);
    let y = b.ins().fsub(y, t);
    let r = b.ins().fadd(m, y);
    let c2 = fconst(b, ty, 0.693_359_4);
    let t = b.ins().fmul(ef, c2);
    let r = b.ins().fadd(r, t);
    // Special values.
    let inf = fconst(b, ty, f32::INFINITY);
    let is_inf = b.ins().fcmp(FloatCC::Equal, x, inf);
    let r = fsel(b, ty, is_inf, inf, r);
    let zero = fconst(b, ty, 0.0);
    let ninf = fconst(b, ty, f32::NEG_INFINITY);
    let is_zero = b.ins().fcmp(FloatCC::Equal, x, zero);
    let r = fsel(b, ty, is_zero, ninf, r);
    let nan = fconst(b, ty, f32::NAN);
    let bad = b.ins().fcmp(FloatCC::UnorderedOrLessThan, x, zero);
    fsel(b, ty, bad, nan, r)
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

/// `ln(1 + eˣ)`, x above 20 passed through (see the module docs).
pub(crate) fn softplus(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let e = exp(b, ty, x);
    let one = fconst(b, ty, 1.0);
    let u = b.ins().fadd(one, e);
    let l = log(b, ty, u);
    let d = b.ins().fsub(u, one);
    let q = b.ins().fdiv(e, d);
    let r = b.ins().fmul(l, q);
    let exact = b.ins().fcmp(FloatCC::Equal, u, one);
    let r = fsel(b, ty, exact, e, r);
    let twenty = fconst(b, ty, 20.0);
    let big = b.ins().fcmp(FloatCC::GreaterThan, x, twenty);
    fsel(b, ty, big, x, r)
}

/// `tanh x` (see the module docs).
pub(crate) fn tanh(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let a = b.ins().fabs(x);
    let a2 = b.ins().fadd(a, a);
    let s = exp(b, ty, a2);
    let one = fconst(b, ty, 1.0);
    let two = fconst(b, ty, 2.0);
    let s1 = b.ins().fadd(s, one);
    let q = b.ins().fdiv(two, s1);
    let big = b.ins().fsub(one, q);
    let z = b.ins().fmul(a, a);
    let p = horner(b, ty, z, &TANH_P);
    let p = b.ins().fmul(p, z);
    let p = b.ins().fmul(p, a);
    let small = b.ins().fadd(p, a);
    let lim = fconst(b, ty, 0.625);
    let is_big = b.ins().fcmp(FloatCC::GreaterThanOrEqual, a, lim);
    let r = fsel(b, ty, is_big, big, small);
    copysign(b, ty, r, x)
}

/// Cephes `tanhf` polynomial, highest degree first.
#[allow(clippy::excessive_precision)]
const TANH_P: [f32; 5] = [
    -5.704_988_727_45e-3,
    2.063_908_879_54e-2,
    -5.373_971_555_31e-2,
    1.333_144_220_36e-1,
    -3.333_328_194_22e-1,
];

/// `x ≥ 0 ? x : α·(eˣ − 1)`.
pub(crate) fn elu(b: &mut FunctionBuilder<'_>, ty: Type, x: Value, alpha: f32) -> Value {
    let e = exp(b, ty, x);
    let one = fconst(b, ty, 1.0);
    let t = b.ins().fsub(e, one);
    let al = fconst(b, ty, alpha);
    let t = b.ins().fmul(al, t);
    let zero = fconst(b, ty, 0.0);
    let pos = b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, zero);
    fsel(b, ty, pos, x, t)
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
pub(crate) fn gelu_tanh(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let k = fconst(b, ty, 0.044715);
    let t = b.ins().fmul(k, x);
    let t = b.ins().fmul(t, x);
    let t = b.ins().fmul(t, x);
    let t = b.ins().fadd(x, t);
    let c = fconst(b, ty, (2.0f32 / std::f32::consts::PI).sqrt());
    let t = b.ins().fmul(c, t);
    let t = tanh(b, ty, t);
    let one = fconst(b, ty, 1.0);
    let t = b.ins().fadd(one, t);
    let h = fconst(b, ty, 0.5);
    let hx = b.ins().fmul(h, x);
    b.ins().fmul(hx, t)
}

/// Applies the scalar `f` to each lane of `x` (`ty` = `F32` or `F32X4`).
pub(crate) fn per_lane(
    b: &mut FunctionBuilder<'_>,
    ty: Type,
    x: Value,
    f: &mut dyn FnMut(&mut FunctionBuilder<'_>, Value) -> Value,
) -> Value {
    if ty == F32 {
        return f(b, x);
    }
    let mut v = x;
    for l in 0..4u8 {
        let e = b.ins().extractlane(x, l);
        let r = f(b, e);
        v = b.ins().insertlane(v, r, l);
    }
    v
}

/// fdlibm's four-part π/2 (33 + 33 + 33 bits and the rest).
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

/// Horner in f64 over `c` (lowest degree first): `c₀ + z·(c₁ + z·(…))`.
fn horner64(b: &mut FunctionBuilder<'_>, z: Value, c: &[f64]) -> Value {
    let mut p = b.ins().f64const(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        let t = b.ins().fmul(p, z);
        let kc = b.ins().f64const(k);
        p = b.ins().fadd(t, kc);
    }
    p
}

/// 2/π in 24-bit chunks: `2/π = Σ TWO_OVER_PI[i]·2^(−24(i+1))` (fdlibm's `ipio2`).
const TWO_OVER_PI: [i64; 8] =
    [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C, 0x439041];

/// Below this |x| the Cody–Waite reduction is exact (`|k| < 2²⁰`).
const CW_LIMIT: f32 = 524_288.0;

/// `2^n` as an f64 for an i64 `n` in the normal range.
fn pow2_64(b: &mut FunctionBuilder<'_>, n: Value) -> Value {
    let e = b.ins().iadd_imm_s(n, 1023);
    let e = b.ins().ishl_imm_s(e, 52);
    b.ins().bitcast(F64, vfl(), e)
}

/// `v mod 4` of a non-negative f64 (exact for the values below).
fn mod4(b: &mut FunctionBuilder<'_>, v: Value) -> Value {
    let q = b.ins().f64const(0.25);
    let four = b.ins().f64const(4.0);
    let t = b.ins().fmul(v, q);
    let t = b.ins().floor(t);
    let t = b.ins().fmul(t, four);
    b.ins().fsub(v, t)
}

/// Payne–Hanek for `|x| ≥ CW_LIMIT` (finite): `|x|·2/π mod 4` as `(q, f)` with `q` an integer
/// in `[0, 4]` and `f ∈ [−½, ½]`. `|x| = m·2^e` (m: the 24-bit significand); the chunks of 2/π
/// whose products with `2^e` are multiples of 4 are skipped, the next four are multiplied by
/// `m` exactly (48-bit products), each reduced mod 4 exactly, and summed (error ≈ 2⁻⁵⁰).
fn reduce_big(b: &mut FunctionBuilder<'_>, x: Value) -> (Value, Value) {
    let bits = b.ins().bitcast(I32, vfl(), x);
    let bits = b.ins().uextend(I64, bits);
    let m = b.ins().band_imm_s(bits, 0x7f_ffff);
    let m = b.ins().bor_imm_s(m, 0x80_0000);
    let m = b.ins().fcvt_from_sint(F64, m);
    let e = b.ins().ushr_imm_s(bits, 23);
    let e = b.ins().band_imm_s(e, 0xff);
    let e = b.ins().iadd_imm_s(e, -150);
    // i0 = 1 + #{j ≥ 1: 24j ≤ e − 2}: the first chunk not giving a multiple of 4.
    let mut i0 = b.ins().iconst(I64, 1);
    for lim in [26i64, 50, 74, 98] {
        let ge = b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, e, lim);
        let ge = b.ins().uextend(I64, ge);
        i0 = b.ins().iadd(i0, ge);
    }
    let mut sum = None;
    for k in 0..4i64 {
        // c = TWO_OVER_PI[i0 + k − 1], chosen by selects (i0 ∈ 1..=5).
        let mut c = b.ins().iconst(I64, TWO_OVER_PI[k as usize]);
        for i in 2..=5i64 {
            let is = b.ins().icmp_imm_s(IntCC::Equal, i0, i);
            let alt = b.ins().iconst(I64, TWO_OVER_PI[(i + k - 1) as usize]);
            c = b.ins().select(is, alt, c);
        }
        let c = b.ins().fcvt_from_sint(F64, c);
        let p = b.ins().fmul(m, c);
        // Scale 2^(e − 24(i0 + k)).
        let sh = b.ins().imul_imm_s(i0, 24);
        let sh = b.ins().iadd_imm_s(sh, 24 * k);
        let sh = b.ins().isub(e, sh);
        let s = pow2_64(b, sh);
        let a = b.ins().fmul(p, s);
        let a = mod4(b, a);
        sum = Some(match sum {
            None => a,
            Some(t) => b.ins().fadd(t, a),
        });
    }
    let s = mod4(b, sum.expect("four chunks"));
    let q = b.ins().nearest(s);
    let f = b.ins().fsub(s, q);
    (q, f)
}

/// `sin x` or `cos x` of a scalar f32 (see the module docs).
pub(crate) fn sin_cos(b: &mut FunctionBuilder<'_>, x: Value, cos: bool) -> Value {
    let xd = b.ins().fpromote(F64, x);
    let c = b.ins().f64const(std::f64::consts::FRAC_2_PI);
    let t = b.ins().fmul(xd, c);
    let k = b.ins().nearest(t);
    let mut r = xd;
    for p in PIO2 {
        let pc = b.ins().f64const(p);
        let kp = b.ins().fmul(k, pc);
        r = b.ins().fsub(r, kp);
    }
    // Quadrant q = k mod 4 (exact in f64).
    let quarter = b.ins().f64const(0.25);
    let four = b.ins().f64const(4.0);
    let kq = b.ins().fmul(k, quarter);
    let kq = b.ins().floor(kq);
    let kq = b.ins().fmul(kq, four);
    let q = b.ins().fsub(k, kq);
    // Large |x|: Payne–Hanek on |x|, mirrored for x < 0 (x·2/π mod 4 = 4 − |x|·2/π mod 4).
    let ax = b.ins().fabs(x);
    let (bq, bf) = reduce_big(b, ax);
    let zero = b.ins().f32const(0.0);
    let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let nbq = b.ins().fsub(four, bq);
    let nbf = b.ins().fneg(bf);
    let bq = b.ins().select(neg, nbq, bq);
    let bf = b.ins().select(neg, nbf, bf);
    let bq = mod4(b, bq);
    let pio2 = b.ins().f64const(std::f64::consts::FRAC_PI_2);
    let br = b.ins().fmul(bf, pio2);
    let lim = b.ins().f32const(CW_LIMIT);
    let big = b.ins().fcmp(FloatCC::GreaterThanOrEqual, ax, lim);
    let q = b.ins().select(big, bq, q);
    let r = b.ins().select(big, br, r);
    let z = b.ins().fmul(r, r);
    // sin r = r + r·z·(S1 + z·(S2 + …)).
    let ps = horner64(b, z, &SIN_C);
    let rz = b.ins().fmul(r, z);
    let ps = b.ins().fmul(rz, ps);
    let s = b.ins().fadd(r, ps);
    // cos r = 1 − z/2 + z²·(C1 + z·(C2 + …)).
    let pc = horner64(b, z, &COS_C);
    let zz = b.ins().fmul(z, z);
    let pc = b.ins().fmul(zz, pc);
    let h = b.ins().f64const(0.5);
    let hz = b.ins().fmul(z, h);
    let one = b.ins().f64const(1.0);
    let cv = b.ins().fsub(one, hz);
    let cv = b.ins().fadd(cv, pc);
    let qv = |b: &mut FunctionBuilder<'_>, v: f64| {
        let c = b.ins().f64const(v);
        b.ins().fcmp(FloatCC::Equal, q, c)
    };
    let (q1, q2, q3) = (qv(b, 1.0), qv(b, 2.0), qv(b, 3.0));
    let odd = b.ins().bor(q1, q3);
    let (v, negate) = if cos {
        (b.ins().select(odd, s, cv), b.ins().bor(q1, q2))
    } else {
        (b.ins().select(odd, cv, s), b.ins().bor(q2, q3))
    };
    let nv = b.ins().fneg(v);
    let v = b.ins().select(negate, nv, v);
    let y = b.ins().fdemote(F32, v);
    // ±∞ → NaN (NaN already is); sin keeps the sign of ±0.
    let inf = b.ins().f32const(f32::INFINITY);
    let is_inf = b.ins().fcmp(FloatCC::Equal, ax, inf);
    let nan = b.ins().f32const(f32::NAN);
    let y = b.ins().select(is_inf, nan, y);
    if cos {
        return y;
    }
    let is_zero = b.ins().fcmp(FloatCC::Equal, x, zero);
    b.ins().select(is_zero, x, y)
}

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
