//! Elementwise kernels: f32 binary arithmetic with broadcast (nested loops over the output shape
//! with per-operand strides; Pow from `super::pow`), f32 unary ops (Relu, Clip, Neg,
//! Abs, Floor, Ceil, Round, Reciprocal, Sign, LeakyRelu), Quantize (f32 → 8-bit) and
//! Dequantize (8-bit → f32), exactly as `qcc_ir::qmath`.

use super::{build_kernel, counted_loop};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, I32, I8};
use cranelift_codegen::ir::{Function, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::{BinOp, UnaryOp};

fn fl() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

fn addr(b: &mut FunctionBuilder<'_>, base: Value, idx: Value, elem: i64) -> Value {
    let off = b.ins().imul_imm_s(idx, elem);
    b.ins().iadd(base, off)
}

/// `out = a op b` over `shape`, operands read at their broadcast strides.
pub fn binary(
    isa: &dyn TargetIsa,
    index: u32,
    op: BinOp,
    shape: &[usize],
    sa: &[usize],
    sb: &[usize],
) -> Function {
    build_kernel(isa, index, |b, p| {
        let (pa, pb, pc) = (p[0], p[1], p[4]);
        // Output strides (row-major).
        let mut sc = vec![1usize; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            sc[d] = sc[d + 1] * shape[d + 1];
        }
        fn rec(
            b: &mut FunctionBuilder<'_>,
            d: usize,
            ctx: (&[usize], &[usize], &[usize], &[usize], BinOp),
            ptrs: (Value, Value, Value),
        ) {
            let (shape, sa, sb, sc, op) = ctx;
            if d == shape.len() {
                let x = b.ins().load(F32, fl(), ptrs.0, 0);
                let y = b.ins().load(F32, fl(), ptrs.1, 0);
                let r = match op {
                    BinOp::Add => b.ins().fadd(x, y),
                    BinOp::Sub => b.ins().fsub(x, y),
                    BinOp::Mul => b.ins().fmul(x, y),
                    BinOp::Div => b.ins().fdiv(x, y),
                    BinOp::Max => b.ins().fmax(x, y),
                    BinOp::Min => b.ins().fmin(x, y),
                    BinOp::Pow => super::pow::pow(b, x, y),
                };
                b.ins().store(fl(), r, ptrs.2, 0);
                return;
            }
            counted_loop(b, shape[d], &mut |b, i| {
                let a = addr(b, ptrs.0, i, 4 * sa[d] as i64);
                let bb = addr(b, ptrs.1, i, 4 * sb[d] as i64);
                let c = addr(b, ptrs.2, i, 4 * sc[d] as i64);
                rec(b, d + 1, ctx, (a, bb, c));
            });
        }
        rec(b, 0, (shape, sa, sb, &sc, op), (pa, pb, pc));
    })
}

/// `out = f(x)` over `n` elements.
pub fn unary(isa: &dyn TargetIsa, index: u32, op: UnaryOp, n: usize) -> Function {
    build_kernel(isa, index, |b, p| {
        let (px, pc) = (p[0], p[4]);
        counted_loop(b, n, &mut |b, i| {
            let a = addr(b, px, i, 4);
            let x = b.ins().load(F32, fl(), a, 0);
            let r = match op {
                UnaryOp::Relu => {
                    let z = b.ins().f32const(0.0);
                    let neg = b.ins().fcmp(FloatCC::LessThan, x, z);
                    b.ins().select(neg, z, x)
                }
                UnaryOp::Clip(lo, hi) => {
                    let l = b.ins().f32const(lo);
                    let h = b.ins().f32const(hi);
                    let below = b.ins().fcmp(FloatCC::LessThan, x, l);
                    let x = b.ins().select(below, l, x);
                    let above = b.ins().fcmp(FloatCC::GreaterThan, x, h);
                    b.ins().select(above, h, x)
                }
                UnaryOp::Neg => b.ins().fneg(x),
                UnaryOp::Abs => b.ins().fabs(x),
                UnaryOp::Floor => b.ins().floor(x),
                UnaryOp::Ceil => b.ins().ceil(x),
                UnaryOp::Round => b.ins().nearest(x),
                UnaryOp::Reciprocal => {
                    let one = b.ins().f32const(1.0);
                    b.ins().fdiv(one, x)
                }
                UnaryOp::Sign => {
                    let z = b.ins().f32const(0.0);
                    let one = b.ins().f32const(1.0);
                    let m1 = b.ins().f32const(-1.0);
                    let pos = b.ins().fcmp(FloatCC::GreaterThan, x, z);
                    let neg = b.ins().fcmp(FloatCC::LessThan, x, z);
                    let r = b.ins().select(neg, m1, x);
                    b.ins().select(pos, one, r)
                }
                UnaryOp::LeakyRelu(alpha) => {
                    let z = b.ins().f32const(0.0);
                    let a = b.ins().f32const(alpha);
                    let ax = b.ins().fmul(a, x);
                    let nonneg = b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, z);
                    b.ins().select(nonneg, x, ax)
                }
            };
            let c = addr(b, pc, i, 4);
            b.ins().store(fl(), r, c, 0);
        });
    })
}

/// `q = saturate(round_half_even(x / scale) + zp)` over `n` elements (f32 → i8/u8).
pub fn quantize(
    isa: &dyn TargetIsa,
    index: u32,
    n: usize,
    scale: f32,
    zp: i32,
    signed: bool,
) -> Function {
    let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    build_kernel(isa, index, |b, p| {
        let (px, pc) = (p[0], p[4]);
        counted_loop(b, n, &mut |b, i| {
            let a = addr(b, px, i, 4);
            let x = b.ins().load(F32, fl(), a, 0);
            let s = b.ins().f32const(scale);
            let t = b.ins().fdiv(x, s);
            let t = b.ins().nearest(t);
            let q = b.ins().fcvt_to_sint_sat(I32, t);
            let l = b.ins().iconst(I32, (lo - zp) as u32 as i64);
            let h = b.ins().iconst(I32, (hi - zp) as u32 as i64);
            let q = b.ins().smax(q, l);
            let q = b.ins().smin(q, h);
            let q = b.ins().iadd_imm_s(q, zp as i64);
            let q = b.ins().ireduce(I8, q);
            let c = b.ins().iadd(pc, i);
            b.ins().store(fl(), q, c, 0);
        });
    })
}

/// `x = (q − zp) · scale` over `n` elements (i8/u8 → f32).
pub fn dequantize(
    isa: &dyn TargetIsa,
    index: u32,
    n: usize,
    scale: f32,
    zp: i32,
    signed: bool,
) -> Function {
    build_kernel(isa, index, |b, p| {
        let (px, pc) = (p[0], p[4]);
        counted_loop(b, n, &mut |b, i| {
            let a = b.ins().iadd(px, i);
            let q = b.ins().load(I8, fl(), a, 0);
            let q = if signed { b.ins().sextend(I32, q) } else { b.ins().uextend(I32, q) };
            let q = b.ins().iadd_imm_s(q, -(zp as i64));
            let f = b.ins().fcvt_from_sint(F32, q);
            let s = b.ins().f32const(scale);
            let f = b.ins().fmul(f, s);
            let c = addr(b, pc, i, 4);
            b.ins().store(fl(), f, c, 0);
        });
    })
}

/// Per-axis (or i32) dequantization of `[outer, axis_len, inner]` (`p[1]`: f32 scales, `p[2]`:
/// i32 zero points): `y = f32(i64(q) − zp[c]) · scale[c]`, as `qmath::dequantize`.
pub fn dequantize_axis(
    isa: &dyn TargetIsa,
    index: u32,
    d: &qcc_lowering::DequantizeAxis,
) -> Function {
    use cranelift_codegen::ir::types::{I32, I64};
    let (elem, width) = match d.dtype {
        qcc_ir::DType::I32 => (I32, 4),
        _ => (I8, 1),
    };
    let signed = d.dtype != qcc_ir::DType::U8;
    let (axis_len, inner) = (d.axis_len as i64, d.inner);
    build_kernel(isa, index, |b, p| {
        let (px, ps, pz, pc) = (p[0], p[1], p[2], p[4]);
        counted_loop(b, d.outer * d.axis_len, &mut |b, r| {
            let c = b.ins().urem_imm_s(r, axis_len);
            let sa = addr(b, ps, c, 4);
            let scale = b.ins().load(F32, fl(), sa, 0);
            let za = addr(b, pz, c, 4);
            let zp = b.ins().load(I32, fl(), za, 0);
            let zp = b.ins().sextend(I64, zp);
            let base = b.ins().imul_imm_s(r, inner as i64);
            counted_loop(b, inner, &mut |b, j| {
                let i = b.ins().iadd(base, j);
                let a = addr(b, px, i, width);
                let q = b.ins().load(elem, fl(), a, 0);
                let q = if elem == I32 || signed {
                    b.ins().sextend(I64, q)
                } else {
                    b.ins().uextend(I64, q)
                };
                let v = b.ins().isub(q, zp);
                let f = b.ins().fcvt_from_sint(F32, v);
                let f = b.ins().fmul(f, scale);
                let o = addr(b, pc, i, 4);
                b.ins().store(fl(), f, o, 0);
            });
        });
    })
}
