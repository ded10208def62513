//! f32 transcendentals emitted inline (no libm), for `f32` or `f32x4` values alike, built on
//! [`super::math::exp`]; sin/cos are in [`super::trig`], pow and the f64 `exp`/`ln` in
//! [`super::pow`]. The LLVM backend's `kernels::transcendental` has the same algorithms and
//! constants; the accuracy against the interpreter (Rust `f32` functions, i.e. the host libm)
//! is measured by the conformance case `float_math_accuracy`:
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

use super::math::{exp, fconst, iconst, int_ty, madd, vfl};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F32X4};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::coeffs::{LOG_P, TANH_P};

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
pub(crate) fn isel(b: &mut FunctionBuilder<'_>, ty: Type, c: Value, x: Value, y: Value) -> Value {
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

/// Horner in f64 over `c` (lowest degree first): `c₀ + z·(c₁ + z·(…))`.
pub(crate) fn horner64(b: &mut FunctionBuilder<'_>, z: Value, c: &[f64]) -> Value {
    let mut p = b.ins().f64const(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        let t = b.ins().fmul(p, z);
        let kc = b.ins().f64const(k);
        p = b.ins().fadd(t, kc);
    }
    p
}
