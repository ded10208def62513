//! Quantized elementwise kernels: QAdd/QMul with broadcast (nested loops over the output's
//! physical shape with per-operand strides; the exact `qmath` arithmetic of the interpreter)
//! and the 8-bit table lookup `Lut`.

use super::cnn::{fl, offset, requant_scalar, round_sat_scalar};
use super::counted_loop;
use cranelift_codegen::ir::types::{F32, I32, I8};
use cranelift_codegen::ir::{Function, InstBuilder, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::cnn::{QBinOp, QBinary};

/// (a, b, out) element pointers.
type Ptrs3 = (Value, Value, Value);

fn load8(b: &mut FunctionBuilder<'_>, p: Value, signed: bool) -> Value {
    let x = b.ins().load(I8, fl(), p, 0);
    if signed {
        b.ins().sextend(I32, x)
    } else {
        b.ins().uextend(I32, x)
    }
}

/// `QAdd` / `QMul` with broadcast.
pub fn qbinary(isa: &dyn TargetIsa, index: u32, k: &QBinary) -> Function {
    let shape = &k.shape;
    let mut sc = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        sc[d] = sc[d + 1] * shape[d + 1];
    }
    let (za, zb, zy) = k.zero_points;
    let (lo, hi) = if k.signed { (-128, 127) } else { (0, 255) };
    super::build_kernel(isa, index, |b, p| {
        fn rec(
            b: &mut FunctionBuilder<'_>,
            d: usize,
            k: &QBinary,
            sc: &[usize],
            ptrs: Ptrs3,
            inner: &dyn Fn(&mut FunctionBuilder<'_>, Ptrs3),
        ) {
            if d == k.shape.len() {
                inner(b, ptrs);
                return;
            }
            counted_loop(b, k.shape[d], &mut |b, i| {
                let a = offset(b, ptrs.0, i, k.a_strides[d] as i64);
                let bb = offset(b, ptrs.1, i, k.b_strides[d] as i64);
                let c = offset(b, ptrs.2, i, sc[d] as i64);
                rec(b, d + 1, k, sc, (a, bb, c), inner);
            });
        }
        let inner = |b: &mut FunctionBuilder<'_>, (pa, pb, pc): Ptrs3| {
            let x = load8(b, pa, k.a_signed);
            let x = b.ins().iadd_imm_s(x, -(za as i64));
            let y = load8(b, pb, k.b_signed);
            let y = b.ins().iadd_imm_s(y, -(zb as i64));
            let q = match k.op {
                QBinOp::Add { ma, mb } => {
                    let fx = b.ins().fcvt_from_sint(F32, x);
                    let m = b.ins().f32const(ma);
                    let fx = b.ins().fmul(fx, m);
                    let fy = b.ins().fcvt_from_sint(F32, y);
                    let m = b.ins().f32const(mb);
                    let fy = b.ins().fmul(fy, m);
                    let t = b.ins().fadd(fx, fy);
                    round_sat_scalar(b, t, zy, lo, hi)
                }
                QBinOp::Mul { m } => {
                    let pr = b.ins().imul(x, y);
                    let m = b.ins().f32const(m);
                    requant_scalar(b, pr, m, zy, lo, hi)
                }
            };
            let q = b.ins().ireduce(I8, q);
            b.ins().store(fl(), q, pc, 0);
        };
        rec(b, 0, k, &sc, (p[0], p[1], p[4]), &inner);
    })
}

/// `y = table[x − min]` over `n` bytes (table: operand 1, 256 bytes).
pub fn lut(isa: &dyn TargetIsa, index: u32, signed: bool, n: usize) -> Function {
    super::build_kernel(isa, index, |b, p| {
        let (px, pt, pc) = (p[0], p[1], p[4]);
        counted_loop(b, n, &mut |b, i| {
            let a = b.ins().iadd(px, i);
            let x = b.ins().load(I8, fl(), a, 0);
            let x = b.ins().uextend(cranelift_codegen::ir::types::I64, x);
            // i8: index x + 128 = (x as u8) ^ 0x80.
            let x = if signed { b.ins().bxor_imm_s(x, 0x80) } else { x };
            let t = b.ins().iadd(pt, x);
            let y = b.ins().load(I8, fl(), t, 0);
            let c = b.ins().iadd(pc, i);
            b.ins().store(fl(), y, c, 0);
        });
    })
}
