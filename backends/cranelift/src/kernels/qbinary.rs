//! Quantized elementwise binaries (QAdd, QMul) with broadcast, bit-exact with
//! `qcc_ir::qmath`: operands widened to i32 with their zero points subtracted; QAdd computes
//! `f32(a')·ma + f32(b')·mb` (two multiplies, one add, no FMA), QMul `f32(a'·b')·m`; then
//! round half to even, saturating conversion, clamp to `[lo − zy, hi − zy]`, `+ zy`.
//! One element per step over a loop nest of the output shape with per-operand strides.

use super::build_kernel;
use super::math::fl;
use super::movement::nest;
use cranelift_codegen::ir::types::{F32, I32, I8};
use cranelift_codegen::ir::{Function, InstBuilder, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::{QBinOp, QBinary};

fn load(b: &mut FunctionBuilder<'_>, p: Value, signed: bool, zp: i32) -> Value {
    let x = b.ins().load(I8, fl(), p, 0);
    let x = if signed { b.ins().sextend(I32, x) } else { b.ins().uextend(I32, x) };
    b.ins().iadd_imm_s(x, -(zp as i64))
}

/// The kernel (`in0` = a, `in1` = b, `out`).
pub fn build(isa: &dyn TargetIsa, index: u32, q: &QBinary) -> Function {
    build_kernel(isa, index, |b, p| {
        let r = q.shape.len();
        let mut sc = vec![1i64; r];
        for d in (0..r.saturating_sub(1)).rev() {
            sc[d] = sc[d + 1] * q.shape[d + 1] as i64;
        }
        let sa: Vec<i64> = q.a_strides.iter().map(|&s| s as i64).collect();
        let sb: Vec<i64> = q.b_strides.iter().map(|&s| s as i64).collect();
        nest(b, &q.shape, &[sa, sb, sc], vec![p[0], p[1], p[4]], &mut |b, ptr| {
            let x = load(b, ptr[0], q.a.0, q.a.1);
            let y = load(b, ptr[1], q.b.0, q.b.1);
            let t = match q.op {
                QBinOp::Add { ma, mb } => {
                    let fx = b.ins().fcvt_from_sint(F32, x);
                    let fy = b.ins().fcvt_from_sint(F32, y);
                    let ma = b.ins().f32const(ma);
                    let mb = b.ins().f32const(mb);
                    let u = b.ins().fmul(fx, ma);
                    let v = b.ins().fmul(fy, mb);
                    b.ins().fadd(u, v)
                }
                QBinOp::Mul { m } => {
                    let prod = b.ins().imul(x, y);
                    let f = b.ins().fcvt_from_sint(F32, prod);
                    let m = b.ins().f32const(m);
                    b.ins().fmul(f, m)
                }
            };
            let t = b.ins().nearest(t);
            let i = b.ins().fcvt_to_sint_sat(I32, t);
            let lo = b.ins().iconst(I32, (q.lo - q.zero_point) as u32 as i64);
            let hi = b.ins().iconst(I32, (q.hi - q.zero_point) as u32 as i64);
            let i = b.ins().smax(i, lo);
            let i = b.ins().smin(i, hi);
            let i = b.ins().iadd_imm_s(i, q.zero_point as i64);
            let v = b.ins().ireduce(I8, i);
            b.ins().store(fl(), v, ptr[2], 0);
        });
    })
}
