//! Normalization and reduction kernels in f32:
//!
//! * LayerNorm: per row, mean and variance accumulated in f64 (two passes, as the interpreter),
//!   `y = f32((x − mean)·inv) · scale + bias` with `inv = 1/√(var + ε)` in f64.
//! * Softmax: max-subtracted; `e = exp(x − max)` ([`super::math::exp`]), sum in f32, `y = e / Σ`.
//!   Contiguous rows (softmax over the last axis) run four lanes along the row with horizontal
//!   max/sum; other axes run four independent columns per step (lanes along the inner axes).
//! * Reduce: Sum/Mean/SumSquare/Prod accumulate in f64 in the interpreter's order (so they are
//!   bit-exact), Max/Min in f32 (NaN propagates).

use super::math::{exp, fconst, fl};
use super::movement::nest;
use super::{build_kernel, counted_loop};
use cranelift_codegen::ir::types::{F32, F32X4, F64};
use cranelift_codegen::ir::{Function, InstBuilder, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::ReduceOp;

/// LayerNorm (`in0` = x, `in1` = scale[d], `p2` = bias[d] or null when `has_bias` is false).
pub fn layer_norm(
    isa: &dyn TargetIsa,
    index: u32,
    rows: usize,
    d: usize,
    eps: f32,
    has_bias: bool,
) -> Function {
    build_kernel(isa, index, |b, p| {
        let (x, scale, bias, out) = (p[0], p[1], p[2], p[4]);
        counted_loop(b, rows, &mut |b, r| {
            let off = b.ins().imul_imm_s(r, 4 * d as i64);
            let xr = b.ins().iadd(x, off);
            let or = b.ins().iadd(out, off);
            let sum = b.declare_var(F64);
            let z = b.ins().f64const(0.0);
            b.def_var(sum, z);
            counted_loop(b, d, &mut |b, k| {
                let a = b.ins().imul_imm_s(k, 4);
                let a = b.ins().iadd(xr, a);
                let v = b.ins().load(F32, fl(), a, 0);
                let v = b.ins().fpromote(F64, v);
                let s = b.use_var(sum);
                let s = b.ins().fadd(s, v);
                b.def_var(sum, s);
            });
            let dn = b.ins().f64const(d.max(1) as f64);
            let s = b.use_var(sum);
            let mean = b.ins().fdiv(s, dn);
            let var = b.declare_var(F64);
            b.def_var(var, z);
            counted_loop(b, d, &mut |b, k| {
                let a = b.ins().imul_imm_s(k, 4);
                let a = b.ins().iadd(xr, a);
                let v = b.ins().load(F32, fl(), a, 0);
                let v = b.ins().fpromote(F64, v);
                let t = b.ins().fsub(v, mean);
                let t = b.ins().fmul(t, t);
                let s = b.use_var(var);
                let s = b.ins().fadd(s, t);
                b.def_var(var, s);
            });
            let v = b.use_var(var);
            let v = b.ins().fdiv(v, dn);
            let e = b.ins().f64const(eps as f64);
            let v = b.ins().fadd(v, e);
            let v = b.ins().sqrt(v);
            let one = b.ins().f64const(1.0);
            let inv = b.ins().fdiv(one, v);
            counted_loop(b, d, &mut |b, k| {
                let a = b.ins().imul_imm_s(k, 4);
                let xa = b.ins().iadd(xr, a);
                let v = b.ins().load(F32, fl(), xa, 0);
                let v = b.ins().fpromote(F64, v);
                let t = b.ins().fsub(v, mean);
                let t = b.ins().fmul(t, inv);
                let t = b.ins().fdemote(F32, t);
                let sa = b.ins().iadd(scale, a);
                let s = b.ins().load(F32, fl(), sa, 0);
                let mut y = b.ins().fmul(t, s);
                if has_bias {
                    let ba = b.ins().iadd(bias, a);
                    let bb = b.ins().load(F32, fl(), ba, 0);
                    y = b.ins().fadd(y, bb);
                } else {
                    let zero = b.ins().f32const(0.0);
                    y = b.ins().fadd(y, zero);
                }
                let oa = b.ins().iadd(or, a);
                b.ins().store(fl(), y, oa, 0);
            });
        });
    })
}

/// Horizontal reduction of an f32x4 with `f` (max or add).
fn hreduce(b: &mut FunctionBuilder<'_>, v: Value, add: bool) -> Value {
    let mut acc = b.ins().extractlane(v, 0);
    for l in 1..4u8 {
        let x = b.ins().extractlane(v, l);
        acc = if add { b.ins().fadd(acc, x) } else { b.ins().fmax(acc, x) };
    }
    acc
}

/// Softmax over contiguous rows of `d` (lanes along the row).
fn softmax_rows(b: &mut FunctionBuilder<'_>, x: Value, out: Value, rows: usize, d: usize) {
    let nv = d / 4;
    counted_loop(b, rows, &mut |b, r| {
        let off = b.ins().imul_imm_s(r, 4 * d as i64);
        let xr = b.ins().iadd(x, off);
        let or = b.ins().iadd(out, off);
        // Pass 1: max.
        let mv = b.declare_var(F32X4);
        let ninf = fconst(b, F32X4, f32::NEG_INFINITY);
        b.def_var(mv, ninf);
        counted_loop(b, nv, &mut |b, k| {
            let a = b.ins().imul_imm_s(k, 16);
            let a = b.ins().iadd(xr, a);
            let v = b.ins().load(F32X4, fl(), a, 0);
            let m = b.use_var(mv);
            let m = b.ins().fmax(m, v);
            b.def_var(mv, m);
        });
        let m = b.use_var(mv);
        let mut m = hreduce(b, m, false);
        for t in nv * 4..d {
            let v = b.ins().load(F32, fl(), xr, 4 * t as i32);
            m = b.ins().fmax(m, v);
        }
        let mvec = b.ins().splat(F32X4, m);
        // Pass 2: e = exp(x − max), stored; Σ e.
        let sv = b.declare_var(F32X4);
        let zero = fconst(b, F32X4, 0.0);
        b.def_var(sv, zero);
        counted_loop(b, nv, &mut |b, k| {
            let a = b.ins().imul_imm_s(k, 16);
            let xa = b.ins().iadd(xr, a);
            let v = b.ins().load(F32X4, fl(), xa, 0);
            let v = b.ins().fsub(v, mvec);
            let e = exp(b, F32X4, v);
            let oa = b.ins().iadd(or, a);
            b.ins().store(fl(), e, oa, 0);
            let s = b.use_var(sv);
            let s = b.ins().fadd(s, e);
            b.def_var(sv, s);
        });
        let s = b.use_var(sv);
        let mut s = hreduce(b, s, true);
        for t in nv * 4..d {
            let v = b.ins().load(F32, fl(), xr, 4 * t as i32);
            let v = b.ins().fsub(v, m);
            let e = exp(b, F32, v);
            b.ins().store(fl(), e, or, 4 * t as i32);
            s = b.ins().fadd(s, e);
        }
        // Pass 3: divide.
        let svec = b.ins().splat(F32X4, s);
        counted_loop(b, nv, &mut |b, k| {
            let a = b.ins().imul_imm_s(k, 16);
            let oa = b.ins().iadd(or, a);
            let v = b.ins().load(F32X4, fl(), oa, 0);
            let v = b.ins().fdiv(v, svec);
            b.ins().store(fl(), v, oa, 0);
        });
        for t in nv * 4..d {
            let v = b.ins().load(F32, fl(), or, 4 * t as i32);
            let v = b.ins().fdiv(v, s);
            b.ins().store(fl(), v, or, 4 * t as i32);
        }
    });
}

/// Softmax of `lanes` independent columns (type `ty`) at `x`/`out`, `d` steps of `stride` bytes.
fn softmax_cols(
    b: &mut FunctionBuilder<'_>,
    ty: Type,
    x: Value,
    out: Value,
    d: usize,
    stride: i64,
) {
    let at = |b: &mut FunctionBuilder<'_>, base: Value, k: Value| {
        let o = b.ins().imul_imm_s(k, stride);
        b.ins().iadd(base, o)
    };
    let mv = b.declare_var(ty);
    let ninf = fconst(b, ty, f32::NEG_INFINITY);
    b.def_var(mv, ninf);
    counted_loop(b, d, &mut |b, k| {
        let a = at(b, x, k);
        let v = b.ins().load(ty, fl(), a, 0);
        let m = b.use_var(mv);
        let m = b.ins().fmax(m, v);
        b.def_var(mv, m);
    });
    let m = b.use_var(mv);
    let sv = b.declare_var(ty);
    let zero = fconst(b, ty, 0.0);
    b.def_var(sv, zero);
    counted_loop(b, d, &mut |b, k| {
        let a = at(b, x, k);
        let v = b.ins().load(ty, fl(), a, 0);
        let v = b.ins().fsub(v, m);
        let e = exp(b, ty, v);
        let o = at(b, out, k);
        b.ins().store(fl(), e, o, 0);
        let s = b.use_var(sv);
        let s = b.ins().fadd(s, e);
        b.def_var(sv, s);
    });
    let s = b.use_var(sv);
    counted_loop(b, d, &mut |b, k| {
        let o = at(b, out, k);
        let v = b.ins().load(ty, fl(), o, 0);
        let v = b.ins().fdiv(v, s);
        b.ins().store(fl(), v, o, 0);
    });
}

/// Softmax over the middle axis of `[outer, d, inner]` (`in0` → `out`).
pub fn softmax(isa: &dyn TargetIsa, index: u32, outer: usize, d: usize, inner: usize) -> Function {
    build_kernel(isa, index, |b, p| {
        let (x, out) = (p[0], p[4]);
        if inner == 1 {
            softmax_rows(b, x, out, outer, d);
            return;
        }
        let stride = 4 * inner as i64;
        counted_loop(b, outer, &mut |b, o| {
            let off = b.ins().imul_imm_s(o, 4 * (d * inner) as i64);
            let xo = b.ins().iadd(x, off);
            let oo = b.ins().iadd(out, off);
            counted_loop(b, inner / 4, &mut |b, i| {
                let c = b.ins().imul_imm_s(i, 16);
                let xc = b.ins().iadd(xo, c);
                let oc = b.ins().iadd(oo, c);
                softmax_cols(b, F32X4, xc, oc, d, stride);
            });
            for i in (inner / 4) * 4..inner {
                let xc = b.ins().iadd_imm_s(xo, 4 * i as i64);
                let oc = b.ins().iadd_imm_s(oo, 4 * i as i64);
                softmax_cols(b, F32, xc, oc, d, stride);
            }
        });
    })
}

/// Reduction of `shape` over the `reduced` axes (`in0` → `out`, the kept axes row-major).
pub fn reduce(
    isa: &dyn TargetIsa,
    index: u32,
    op: ReduceOp,
    shape: &[usize],
    reduced: &[bool],
) -> Function {
    build_kernel(isa, index, |b, p| {
        let r = shape.len();
        let mut ist = vec![4i64; r];
        for d in (0..r.saturating_sub(1)).rev() {
            ist[d] = ist[d + 1] * shape[d + 1] as i64;
        }
        let kept: Vec<usize> = (0..r).filter(|&d| !reduced[d]).collect();
        let red: Vec<usize> = (0..r).filter(|&d| reduced[d]).collect();
        let kdims: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
        let mut ost = vec![4i64; kept.len()];
        for d in (0..kept.len().saturating_sub(1)).rev() {
            ost[d] = ost[d + 1] * kdims[d + 1] as i64;
        }
        let rdims: Vec<usize> = red.iter().map(|&d| shape[d]).collect();
        let rst: Vec<i64> = red.iter().map(|&d| ist[d]).collect();
        let count: usize = rdims.iter().product();
        let kst: Vec<i64> = kept.iter().map(|&d| ist[d]).collect();
        let wide = !matches!(op, ReduceOp::Max | ReduceOp::Min);
        nest(b, &kdims, &[kst, ost], vec![p[0], p[4]], &mut |b, q| {
            let acc = b.declare_var(if wide { F64 } else { F32 });
            let init = match op {
                ReduceOp::Sum | ReduceOp::Mean | ReduceOp::SumSquare => b.ins().f64const(0.0),
                ReduceOp::Prod => b.ins().f64const(1.0),
                ReduceOp::Max => b.ins().f32const(f32::NEG_INFINITY),
                ReduceOp::Min => b.ins().f32const(f32::INFINITY),
            };
            b.def_var(acc, init);
            nest(b, &rdims, std::slice::from_ref(&rst), vec![q[0]], &mut |b, s| {
                let v = b.ins().load(F32, fl(), s[0], 0);
                let a = b.use_var(acc);
                let a = match op {
                    ReduceOp::Sum | ReduceOp::Mean => {
                        let v = b.ins().fpromote(F64, v);
                        b.ins().fadd(a, v)
                    }
                    ReduceOp::SumSquare => {
                        let v = b.ins().fpromote(F64, v);
                        let v = b.ins().fmul(v, v);
                        b.ins().fadd(a, v)
                    }
                    ReduceOp::Prod => {
                        let v = b.ins().fpromote(F64, v);
                        b.ins().fmul(a, v)
                    }
                    ReduceOp::Max => b.ins().fmax(a, v),
                    ReduceOp::Min => b.ins().fmin(a, v),
                };
                b.def_var(acc, a);
            });
            let mut a = b.use_var(acc);
            if op == ReduceOp::Mean {
                let c = b.ins().f64const(count as f64);
                a = b.ins().fdiv(a, c);
            }
            if wide {
                a = b.ins().fdemote(F32, a);
            }
            b.ins().store(fl(), a, q[1], 0);
        });
    })
}
