//! sin and cos of f32 in f64 (no libm; the LLVM backend's `kernels::transcendental` has the
//! same algorithm): for `|x| < 2¹⁹`, `k = rint(x·2/π)`, `r = x − k·π/2` with fdlibm's four-part
//! π/2 (exact products for `|k| < 2²⁰`); above, Payne–Hanek with 2/π in 24-bit chunks (the
//! four chunks that matter for the exponent of x, times the 24-bit significand, each reduced
//! mod 4 exactly); then fdlibm's `__kernel_sin`/`__kernel_cos` polynomials on `|r| ≤ π/4`, the
//! quadrant from `k mod 4`, rounded to f32 once (sin keeps the sign of ±0, ±∞ gives NaN).
//! Within an ulp of the interpreter for every finite f32 (conformance `float_math_accuracy`).

use super::math::vfl;
use super::transcendental::horner64;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::coeffs::{COS_C, CW_LIMIT, PIO2, SIN_C, TWO_OVER_PI};

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
