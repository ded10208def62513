//! Quantized elementwise kernels and f32 activations.
//!
//! * [`qbinary`]: QAdd `round((a − za)·ma + (b − zb)·mb) + zy` and QMul
//!   `round(f32((a − za)(b − zb))·m) + zy`, saturated, with broadcast (nested loops over the
//!   output's physical shape with per-operand strides), exactly as `qcc_ir::qmath`.
//! * [`lut`]: `y = table[x − min]` (the table is operand 1).
//! * [`activation`]: HardSwish `x·clamp(x/6 + 0.5, 0, 1)` and HardSigmoid
//!   `clamp(α·x + β, 0, 1)` in the interpreter's operation order (bit-exact); Sigmoid in the
//!   interpreter's stable form (`1/(1 + e)` for x ≥ 0, `e/(1 + e)` otherwise, `e = exp(−|x|)`)
//!   with the inline vectorizable `exp` of [`crate::kernels::math`] (≈1.2e-7 relative error).

use super::ld8;
use crate::emit::{q8_range, Cg, K, R};
use crate::kernels::elem::strided_nest;
use crate::kernels::math;
use inkwell::values::{FloatValue, FunctionValue};
use inkwell::FloatPredicate;
use qcc_lowering::cnn::{Activation, QBinOp, QBinary};

/// QAdd / QMul with broadcast (inputs: a, b; output: y).
pub(super) fn qbinary<'ctx>(cg: &mut Cg<'ctx>, name: &str, q: &QBinary) -> R<FunctionValue<'ctx>> {
    let shape = &q.shape;
    let mut sc = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        sc[d] = sc[d + 1] * shape[d + 1];
    }
    let (za, zb, zy) = q.zero_points;
    let (lo, hi) = q8_range(q.signed);
    let k = cg.kernel(name, 3)?;
    let i8t = k.int(8);
    let (a, b, c) = (k.buf(0, i8t)?, k.buf(1, i8t)?, k.buf(2, i8t)?);
    let z = k.i64c(0);
    strided_nest(&k, shape, &[&q.a_strides, &q.b_strides, &sc], 0, [z, z, z], &mut |ix| {
        let x = k.sub(ld8(&k, a, ix[0], q.a_signed)?, k.i32c(za))?;
        let y = k.sub(ld8(&k, b, ix[1], q.b_signed)?, k.i32c(zb))?;
        let r = match q.op {
            QBinOp::Add { ma, mb } => {
                let fx = k.fmul(k.sitofp(x)?, k.f32c(ma))?;
                let fy = k.fmul(k.sitofp(y)?, k.f32c(mb))?;
                k.round_saturate(k.fadd(fx, fy)?, zy, lo, hi)?
            }
            QBinOp::Mul { m } => k.requant(k.mul(x, y)?, 0, k.f32c(m), zy, lo, hi)?,
        };
        k.st(c, ix[2], k.trunc(r, i8t)?)
    })?;
    k.finish()
}

/// Table lookup over `n` bytes (inputs: x, table; output: y).
pub(super) fn lut<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    signed: bool,
    n: usize,
) -> R<FunctionValue<'ctx>> {
    let k = cg.kernel(name, 3)?;
    let i8t = k.int(8);
    let (x, t, y) = (k.buf(0, i8t)?, k.buf(1, i8t)?, k.buf(2, i8t)?);
    k.for_n(n, &mut |i| {
        let v = k.ldi(i8t, x, i)?;
        // i8: index x + 128 = (x as u8) ^ 0x80.
        let v = if signed { k.cg.b.build_xor(v, i8t.const_int(0x80, false), "x")? } else { v };
        let idx = k.ext(v, k.int(64), false)?;
        k.st(y, i, k.ldi(i8t, t, idx)?)
    })?;
    k.finish()
}

/// `clamp(x, 0, 1)` as `f32::clamp` (NaN stays NaN).
fn clamp01<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let below = k.fcmp(FloatPredicate::OLT, x, k.f32c(0.0))?;
    let x = k.fsel(below, k.f32c(0.0), x)?;
    let above = k.fcmp(FloatPredicate::OGT, x, k.f32c(1.0))?;
    k.fsel(above, k.f32c(1.0), x)
}

/// `y = act(x)` over `n` f32 elements (inputs: x; output: y).
pub(super) fn activation<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    act: Activation,
    n: usize,
) -> R<FunctionValue<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    k.for_n(n, &mut |i| {
        let v = k.ldf(x, i)?;
        let r = match act {
            Activation::HardSwish => {
                let t = k.fadd(k.fdiv(v, k.f32c(6.0))?, k.f32c(0.5))?;
                k.fmul(v, clamp01(&k, t)?)?
            }
            Activation::HardSigmoid { alpha, beta } => {
                let t = k.fadd(k.fmul(k.f32c(alpha), v)?, k.f32c(beta))?;
                clamp01(&k, t)?
            }
            Activation::Sigmoid => {
                let pos = k.fcmp(FloatPredicate::OGE, v, k.f32c(0.0))?;
                // −|x| (NaN stays NaN and propagates through exp).
                let neg = k.fsub(k.f32c(0.0), v)?;
                let nabs = k.fsel(pos, neg, v)?;
                let e = math::exp(&k, nabs)?;
                let den = k.fadd(k.f32c(1.0), e)?;
                let num = k.fsel(pos, k.f32c(1.0), e)?;
                k.fdiv(num, den)?
            }
        };
        k.st(y, i, r)
    })?;
    k.finish()
}
