//! Pooling kernels: global average pooling (f32: `Σx / hw` summed in pixel order like the
//! interpreter; integer: `requantize(Σ(x − zx), m)` exactly as `QGlobalAveragePool`) on NHWC or
//! NCHW inputs, and f32 MaxPool/AveragePool over NHWC (rows `n·oh` split across threads).

use super::cnn::{fl, offset, range_loop, requant_scalar};
use super::counted_loop;
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, I32, I8};
use cranelift_codegen::ir::{Function, InstBuilder, Value};
use cranelift_codegen::isa::TargetIsa;
use qcc_lowering::cnn::{GlobalPool, Pool2d};

/// Global average pooling, one scalar reduction per channel.
pub fn global(isa: &dyn TargetIsa, index: u32, k: &GlobalPool) -> Function {
    let (c, hw) = (k.c as i64, k.hw as i64);
    let e: i64 = if k.quant.is_some() { 1 } else { 4 };
    // Element strides of channel and pixel.
    let (sc, sp) = if k.nhwc { (1, c) } else { (hw, 1) };
    super::build_kernel(isa, index, |b, p| {
        let (px, pout) = (p[0], p[4]);
        counted_loop(b, k.n, &mut |b, n| {
            let img = offset(b, px, n, c * hw * e);
            counted_loop(b, k.c, &mut |b, ch| {
                let base = offset(b, img, ch, sc * e);
                let oi = b.ins().imul_imm_s(n, c);
                let oi = b.ins().iadd(oi, ch);
                match &k.quant {
                    None => {
                        let var = b.declare_var(F32);
                        let z = b.ins().f32const(0.0);
                        b.def_var(var, z);
                        counted_loop(b, k.hw, &mut |b, q| {
                            let a = offset(b, base, q, sp * 4);
                            let x = b.ins().load(F32, fl(), a, 0);
                            let s = b.use_var(var);
                            let s = b.ins().fadd(s, x);
                            b.def_var(var, s);
                        });
                        let s = b.use_var(var);
                        let d = b.ins().f32const(k.hw as f32);
                        let r = b.ins().fdiv(s, d);
                        let o = offset(b, pout, oi, 4);
                        b.ins().store(fl(), r, o, 0);
                    }
                    Some(q) => {
                        let var = b.declare_var(I32);
                        let z = b.ins().iconst(I32, 0);
                        b.def_var(var, z);
                        counted_loop(b, k.hw, &mut |b, i| {
                            let a = offset(b, base, i, sp);
                            let x = b.ins().load(I8, fl(), a, 0);
                            let x = if q.x_signed {
                                b.ins().sextend(I32, x)
                            } else {
                                b.ins().uextend(I32, x)
                            };
                            let s = b.use_var(var);
                            let s = b.ins().iadd(s, x);
                            b.def_var(var, s);
                        });
                        let s = b.use_var(var);
                        let s = b.ins().iadd_imm_s(s, -(q.x_zero_point as i64) * hw);
                        let m = b.ins().f32const(q.m);
                        let (lo, hi) = if q.signed { (-128, 127) } else { (0, 255) };
                        let r = requant_scalar(b, s, m, q.zero_point, lo, hi);
                        let r = b.ins().ireduce(I8, r);
                        let o = b.ins().iadd(pout, oi);
                        b.ins().store(fl(), r, o, 0);
                    }
                }
            });
        });
    })
}

/// f32 MaxPool / AveragePool over NHWC; constants: one padding pixel (unused taps read it).
pub fn pool2d(isa: &dyn TargetIsa, index: u32, k: &Pool2d) -> (Function, Vec<AlignedBytes>) {
    let g = k.geom;
    let c = g.c;
    let padrow = AlignedBytes::zeroed(4 * c + 16);
    let f = super::build_kernel(isa, index, |b, p| {
        let (px, pout, m0, m1) = (p[0], p[4], p[5], p[6]);
        range_loop(b, m0, m1, &mut |b, r| {
            let n = b.ins().udiv_imm_s(r, g.oh as i64);
            let y = b.ins().urem_imm_s(r, g.oh as i64);
            counted_loop(b, g.ow, &mut |b, xo| {
                let pix = b.ins().imul_imm_s(r, g.ow as i64);
                let pix = b.ins().iadd(pix, xo);
                let out_px = offset(b, pout, pix, (4 * c) as i64);
                let img = offset(b, px, n, (g.h * g.w * c * 4) as i64);
                let y0 = b.ins().imul_imm_s(y, g.stride.0 as i64);
                let y0 = b.ins().iadd_imm_s(y0, -(g.pad.0 as i64));
                let x0 = b.ins().imul_imm_s(xo, g.stride.1 as i64);
                let x0 = b.ins().iadd_imm_s(x0, -(g.pad.1 as i64));
                let mut taps: Vec<(Value, Value)> = Vec::new();
                for i in 0..g.kh {
                    let iy = b.ins().iadd_imm_s(y0, (i * g.dilation.0) as i64);
                    let oky = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, iy, g.h as i64);
                    let rp = offset(b, img, iy, (g.w * c * 4) as i64);
                    for j in 0..g.kw {
                        let ix = b.ins().iadd_imm_s(x0, (j * g.dilation.1) as i64);
                        let okx = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ix, g.w as i64);
                        let ok = b.ins().band(oky, okx);
                        let pp = offset(b, rp, ix, (c * 4) as i64);
                        let sel = b.ins().select(ok, pp, p[1]);
                        taps.push((sel, ok));
                    }
                }
                // Window size for the average.
                let count = if k.max {
                    None
                } else if k.count_include_pad {
                    Some(b.ins().f32const((g.kh * g.kw) as f32))
                } else {
                    let mut cnt = b.ins().iconst(I32, 0);
                    for &(_, ok) in &taps {
                        let one = b.ins().uextend(I32, ok);
                        cnt = b.ins().iadd(cnt, one);
                    }
                    Some(b.ins().fcvt_from_sint(F32, cnt))
                };
                counted_loop(b, c, &mut |b, ch| {
                    let mut acc = if k.max {
                        b.ins().f32const(f32::NEG_INFINITY)
                    } else {
                        b.ins().f32const(0.0)
                    };
                    for &(tp, ok) in &taps {
                        let a = offset(b, tp, ch, 4);
                        let x = b.ins().load(F32, fl(), a, 0);
                        if k.max {
                            // Padding taps are skipped: keep acc where !ok.
                            let gt = b.ins().fcmp(FloatCC::GreaterThan, x, acc);
                            let take = b.ins().band(gt, ok);
                            acc = b.ins().select(take, x, acc);
                        } else {
                            acc = b.ins().fadd(acc, x);
                        }
                    }
                    if let Some(cnt) = count {
                        acc = b.ins().fdiv(acc, cnt);
                    }
                    let o = offset(b, out_px, ch, 4);
                    b.ins().store(fl(), acc, o, 0);
                });
            });
        });
    });
    (f, vec![padrow])
}
