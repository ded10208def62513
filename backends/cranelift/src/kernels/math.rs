//! Float math emitted inline (Cranelift has no libm), for `f32` or `f32x4` values alike:
//!
//! * [`exp`]: Cody–Waite range reduction `x = n·ln2 + r` (`n = round(x·log2 e)`, ln 2 split in
//!   two constants) and the degree-6 Cephes polynomial for `e^r` on `[−ln2/2, ln2/2]`; `2^n` is
//!   built in the exponent bits as `2^(n>>1)·2^(n−(n>>1))` so that every `n` in `[−150, 129]` is
//!   exact. Inputs are clamped to `[−104, 89]`, which keeps the results right at both ends (0
//!   below the denormals, +∞ above `ln(f32::MAX)`); NaN propagates. Measured against the
//!   interpreter's `f32::exp` over `[−87, 88]`: max relative error 1.2e-7 (≈ 1 ulp; test
//!   `exp_and_erf_accuracy` bounds it by 3e-7). Chosen over calling libm's `expf` through an
//!   imported symbol: inline, vectorized 4 lanes, and the same code works in AOT objects.
//! * [`erf`]: the odd/even rational approximation used by Eigen (`x·P(x²)/Q(x²)`, degrees 13/8,
//!   input clamped to `[−4, 4]` where `erf` is ±1 in f32). Measured against `libm::erff` (the
//!   interpreter's) on `[−6, 6]`: max absolute error 4.8e-7 (bound 1e-6).
//! * [`gelu`]: `0.5·x·(1 + erf(x·(1/√2)))`, the exact (erf) form: max absolute error 1.4e-6
//!   (bound 2e-6), largest for x ≪ 0 where `1 + erf` cancels.
//!
//! The `Math` kernel applies one of them, `sqrt` (exact), one of `super::transcendental`
//! (Tanh, Log, Softplus, Elu, tanh-Gelu) or `super::trig` (Sin, Cos) to `n` elements: four
//! lanes at a time, then the tail one element at a time with the same code on `f32`.

use super::{build_kernel, counted_loop};
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4};
use cranelift_codegen::ir::{Function, InstBuilder, MemFlagsData, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::MathOp;

pub(crate) fn fl() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

pub(crate) fn vfl() -> MemFlagsData {
    MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little)
}

/// A float constant of type `ty` (`F32` or `F32X4`).
pub(crate) fn fconst(b: &mut FunctionBuilder<'_>, ty: Type, c: f32) -> Value {
    let s = b.ins().f32const(c);
    if ty == F32 {
        s
    } else {
        b.ins().splat(ty, s)
    }
}

pub(crate) fn int_ty(ty: Type) -> Type {
    if ty == F32 {
        I32
    } else {
        I32X4
    }
}

/// An i32 constant of type `ty` (`I32` or `I32X4`).
pub(crate) fn iconst(b: &mut FunctionBuilder<'_>, ty: Type, c: i32) -> Value {
    let s = b.ins().iconst(I32, c as u32 as i64);
    if ty == I32 {
        s
    } else {
        b.ins().splat(ty, s)
    }
}

/// `a·x + c` without fusing (multiply, then add).
pub(crate) fn madd(b: &mut FunctionBuilder<'_>, ty: Type, acc: Value, x: Value, c: f32) -> Value {
    let p = b.ins().fmul(acc, x);
    let c = fconst(b, ty, c);
    b.ins().fadd(p, c)
}

/// `2^n` for integer `n` in `[−126, 127]` (`ty` the integer type), as a float.
fn pow2(b: &mut FunctionBuilder<'_>, fty: Type, n: Value) -> Value {
    let ity = int_ty(fty);
    let bias = iconst(b, ity, 127);
    let e = b.ins().iadd(n, bias);
    let e = b.ins().ishl_imm_s(e, 23);
    b.ins().bitcast(fty, vfl(), e)
}

/// `e^x` (see the module docs).
pub(crate) fn exp(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let hi = fconst(b, ty, 89.0);
    let lo = fconst(b, ty, -104.0);
    let x = b.ins().fmin(x, hi);
    let x = b.ins().fmax(x, lo);
    let l2e = fconst(b, ty, std::f32::consts::LOG2_E);
    let t = b.ins().fmul(x, l2e);
    let fx = b.ins().nearest(t);
    let c1 = fconst(b, ty, 0.693_359_4);
    let c2 = fconst(b, ty, -2.121_944_4e-4);
    let p1 = b.ins().fmul(fx, c1);
    let r = b.ins().fsub(x, p1);
    let p2 = b.ins().fmul(fx, c2);
    let r = b.ins().fsub(r, p2);
    let mut p = fconst(b, ty, 1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = madd(b, ty, p, r, c);
    }
    let r2 = b.ins().fmul(r, r);
    let y = b.ins().fmul(p, r2);
    let y = b.ins().fadd(y, r);
    let one = fconst(b, ty, 1.0);
    let y = b.ins().fadd(y, one);
    let n = b.ins().fcvt_to_sint_sat(int_ty(ty), fx);
    let n1 = b.ins().sshr_imm_s(n, 1);
    let n2 = b.ins().isub(n, n1);
    let s1 = pow2(b, ty, n1);
    let s2 = pow2(b, ty, n2);
    let y = b.ins().fmul(y, s1);
    b.ins().fmul(y, s2)
}

/// `erf(x)` (see the module docs).
pub(crate) fn erf(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let hi = fconst(b, ty, 4.0);
    let lo = fconst(b, ty, -4.0);
    let x = b.ins().fmin(x, hi);
    let x = b.ins().fmax(x, lo);
    let x2 = b.ins().fmul(x, x);
    let mut p = fconst(b, ty, -2.726_142_3e-10);
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = madd(b, ty, p, x2, c);
    }
    let p = b.ins().fmul(x, p);
    let mut q = fconst(b, ty, -1.456_607_2e-5);
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = madd(b, ty, q, x2, c);
    }
    b.ins().fdiv(p, q)
}

/// `0.5·x·(1 + erf(x/√2))`.
pub(crate) fn gelu(b: &mut FunctionBuilder<'_>, ty: Type, x: Value) -> Value {
    let k = fconst(b, ty, std::f32::consts::FRAC_1_SQRT_2);
    let t = b.ins().fmul(x, k);
    let e = erf(b, ty, t);
    let one = fconst(b, ty, 1.0);
    let e = b.ins().fadd(e, one);
    let half = fconst(b, ty, 0.5);
    let h = b.ins().fmul(x, half);
    b.ins().fmul(h, e)
}

fn apply(b: &mut FunctionBuilder<'_>, op: MathOp, ty: Type, x: Value) -> Value {
    use super::transcendental as t;
    match op {
        MathOp::Sqrt => b.ins().sqrt(x),
        MathOp::Exp => exp(b, ty, x),
        MathOp::Erf => erf(b, ty, x),
        MathOp::Gelu => gelu(b, ty, x),
        MathOp::GeluTanh => t::gelu_tanh(b, ty, x),
        MathOp::Tanh => t::tanh(b, ty, x),
        MathOp::Log => t::log(b, ty, x),
        MathOp::Softplus => t::softplus(b, ty, x),
        MathOp::Elu(alpha) => t::elu(b, ty, x, alpha),
        MathOp::Sin | MathOp::Cos => {
            t::per_lane(b, ty, x, &mut |b, v| super::trig::sin_cos(b, v, op == MathOp::Cos))
        }
    }
}

/// Emits `out[i] = f(src[i])` for `i < n`: vectors of four, then a scalar tail.
pub(crate) fn map_f32(
    b: &mut FunctionBuilder<'_>,
    src: Value,
    dst: Value,
    n: usize,
    f: &mut dyn FnMut(&mut FunctionBuilder<'_>, Type, Value) -> Value,
) {
    counted_loop(b, n / 4, &mut |b, i| {
        let off = b.ins().imul_imm_s(i, 16);
        let s = b.ins().iadd(src, off);
        let x = b.ins().load(F32X4, fl(), s, 0);
        let y = f(b, F32X4, x);
        let d = b.ins().iadd(dst, off);
        b.ins().store(fl(), y, d, 0);
    });
    for t in (n / 4) * 4..n {
        let x = b.ins().load(F32, fl(), src, 4 * t as i32);
        let y = f(b, F32, x);
        b.ins().store(fl(), y, dst, 4 * t as i32);
    }
}

/// The `Math` kernel: `out = op(in0)` over `n` f32.
pub fn build(isa: &dyn TargetIsa, index: u32, op: MathOp, n: usize) -> Function {
    build_kernel(isa, index, |b, p| {
        map_f32(b, p[0], p[4], n, &mut |b, ty, x| apply(b, op, ty, x));
    })
}
