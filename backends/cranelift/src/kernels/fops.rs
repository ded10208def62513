//! Float-op family kernels (scalar loop nests, exact shapes):
//!
//! * Compare: f32 (ordered: false on NaN), i32 or i64 operands with broadcast → bool bytes.
//! * Where: bit-for-bit select of 1/2/4/8-byte elements with three-way broadcast.
//! * ArgReduce: the interpreter's scan (`x > best`, `≥` for the last index; `<`/`≤` for
//!   ArgMin), i64 result: bit-exact.
//! * LogSoftmax: the interpreter's arithmetic: per column `m = max x` (NaN propagates),
//!   `z = f64(x − m)`, `s = Σ eᶻ` in f64, `y = f32(z − ln s)`, with the f64 `exp`/`ln` of
//!   [`super::pow`] (≈ 2e-16 relative, so `y` is the interpreter's but for rare
//!   rounding ties).
//! * Resample: one Resize axis; nearest copies elements, linear/cubic sum `f64(x)·w` over the
//!   taps from the first in f64 and round to f32, as the interpreter. Tap indices (u32) and
//!   weights (f64) come as a constant buffer (`in1`).

use super::math::fl;
use super::movement::nest;
use super::pow::{exp64, log64};
use super::{build_kernel, counted_loop};
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I16, I32, I64, I8};
use cranelift_codegen::ir::{Function, InstBuilder, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_ir::DType;
use qcc_lowering::{ArgReduce, CmpOp, Compare, Resample, WhereSpec};

fn int_of(bytes: usize) -> Type {
    match bytes {
        1 => I8,
        2 => I16,
        4 => I32,
        _ => I64,
    }
}

/// Row-major element strides of `shape`.
fn dense(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

fn bytes(st: &[usize], eb: usize) -> Vec<i64> {
    st.iter().map(|&s| (s * eb) as i64).collect()
}

/// `out = a op b` → bool bytes (`in0` = a, `in1` = b).
pub fn compare(isa: &dyn TargetIsa, index: u32, c: &Compare) -> Function {
    let (ty, eb) = match c.elem {
        DType::F32 => (F32, 4),
        DType::I32 => (I32, 4),
        _ => (I64, 8),
    };
    build_kernel(isa, index, |b, p| {
        let st = [bytes(&c.a_strides, eb), bytes(&c.b_strides, eb), bytes(&dense(&c.shape), 1)];
        nest(b, &c.shape, &st, vec![p[0], p[1], p[4]], &mut |b, q| {
            let x = b.ins().load(ty, fl(), q[0], 0);
            let y = b.ins().load(ty, fl(), q[1], 0);
            let r = if ty == F32 {
                let cc = match c.op {
                    CmpOp::Equal => FloatCC::Equal,
                    CmpOp::Less => FloatCC::LessThan,
                    CmpOp::LessOrEqual => FloatCC::LessThanOrEqual,
                    CmpOp::Greater => FloatCC::GreaterThan,
                    CmpOp::GreaterOrEqual => FloatCC::GreaterThanOrEqual,
                };
                b.ins().fcmp(cc, x, y)
            } else {
                let cc = match c.op {
                    CmpOp::Equal => IntCC::Equal,
                    CmpOp::Less => IntCC::SignedLessThan,
                    CmpOp::LessOrEqual => IntCC::SignedLessThanOrEqual,
                    CmpOp::Greater => IntCC::SignedGreaterThan,
                    CmpOp::GreaterOrEqual => IntCC::SignedGreaterThanOrEqual,
                };
                b.ins().icmp(cc, x, y)
            };
            b.ins().store(fl(), r, q[2], 0);
        });
    })
}

/// `out = cond ? x : y` (`in0` = cond, `in1` = x, `p2` = y).
pub fn select(isa: &dyn TargetIsa, index: u32, w: &WhereSpec) -> Function {
    let eb = w.elem_bytes;
    let ty = int_of(eb);
    build_kernel(isa, index, |b, p| {
        let st = [
            bytes(&w.c_strides, 1),
            bytes(&w.x_strides, eb),
            bytes(&w.y_strides, eb),
            bytes(&dense(&w.shape), eb),
        ];
        nest(b, &w.shape, &st, vec![p[0], p[1], p[2], p[4]], &mut |b, q| {
            let c = b.ins().load(I8, fl(), q[0], 0);
            let x = b.ins().load(ty, fl(), q[1], 0);
            let y = b.ins().load(ty, fl(), q[2], 0);
            let r = b.ins().select(c, x, y);
            b.ins().store(fl(), r, q[3], 0);
        });
    })
}

/// ArgMax / ArgMin over the middle axis (`in0` f32 → `out` i64).
pub fn arg_reduce(isa: &dyn TargetIsa, index: u32, a: &ArgReduce) -> Function {
    let cc = match (a.max, a.select_last) {
        (true, false) => FloatCC::GreaterThan,
        (true, true) => FloatCC::GreaterThanOrEqual,
        (false, false) => FloatCC::LessThan,
        (false, true) => FloatCC::LessThanOrEqual,
    };
    build_kernel(isa, index, |b, p| {
        if a.d == 0 {
            return;
        }
        let col = 4 * a.inner as i64;
        nest(
            b,
            &[a.outer, a.inner],
            &[vec![col * a.d as i64, 4], vec![8 * a.inner as i64, 8]],
            vec![p[0], p[4]],
            &mut |b, q| {
                let bv = b.declare_var(F32);
                let bk = b.declare_var(I64);
                let v0 = b.ins().load(F32, fl(), q[0], 0);
                b.def_var(bv, v0);
                let z = b.ins().iconst(I64, 0);
                b.def_var(bk, z);
                counted_loop(b, a.d - 1, &mut |b, k| {
                    let k = b.ins().iadd_imm_s(k, 1);
                    let off = b.ins().imul_imm_s(k, col);
                    let at = b.ins().iadd(q[0], off);
                    let v = b.ins().load(F32, fl(), at, 0);
                    let best = b.use_var(bv);
                    let better = b.ins().fcmp(cc, v, best);
                    let nv = b.ins().select(better, v, best);
                    b.def_var(bv, nv);
                    let bkv = b.use_var(bk);
                    let nk = b.ins().select(better, k, bkv);
                    b.def_var(bk, nk);
                });
                let k = b.use_var(bk);
                b.ins().store(fl(), k, q[1], 0);
            },
        );
    })
}

/// LogSoftmax over the middle axis of `[outer, d, inner]` (`in0` → `out`).
pub fn log_softmax(
    isa: &dyn TargetIsa,
    index: u32,
    outer: usize,
    d: usize,
    inner: usize,
) -> Function {
    build_kernel(isa, index, |b, p| {
        let col = 4 * inner as i64;
        let at = |b: &mut FunctionBuilder<'_>, base: Value, k: Value| {
            let o = b.ins().imul_imm_s(k, col);
            b.ins().iadd(base, o)
        };
        let st = vec![col * d as i64, 4];
        nest(b, &[outer, inner], &[st.clone(), st], vec![p[0], p[4]], &mut |b, q| {
            let mv = b.declare_var(F32);
            let ninf = b.ins().f32const(f32::NEG_INFINITY);
            b.def_var(mv, ninf);
            counted_loop(b, d, &mut |b, k| {
                let a = at(b, q[0], k);
                let v = b.ins().load(F32, fl(), a, 0);
                let m = b.use_var(mv);
                let m = b.ins().fmax(m, v);
                b.def_var(mv, m);
            });
            let m = b.use_var(mv);
            let sv = b.declare_var(F64);
            let zero = b.ins().f64const(0.0);
            b.def_var(sv, zero);
            counted_loop(b, d, &mut |b, k| {
                let a = at(b, q[0], k);
                let v = b.ins().load(F32, fl(), a, 0);
                let z = b.ins().fsub(v, m);
                let z = b.ins().fpromote(F64, z);
                let e = exp64(b, z);
                let s = b.use_var(sv);
                let s = b.ins().fadd(s, e);
                b.def_var(sv, s);
            });
            let s = b.use_var(sv);
            let ls = log64(b, s);
            let nan = b.ins().fcmp(FloatCC::Unordered, s, s);
            let ls = b.ins().select(nan, s, ls);
            counted_loop(b, d, &mut |b, k| {
                let a = at(b, q[0], k);
                let v = b.ins().load(F32, fl(), a, 0);
                let z = b.ins().fsub(v, m);
                let z = b.ins().fpromote(F64, z);
                let y = b.ins().fsub(z, ls);
                let y = b.ins().fdemote(F32, y);
                let o = at(b, q[1], k);
                b.ins().store(fl(), y, o, 0);
            });
        });
    })
}

/// The tap table of a [`Resample`]: per tap a u32 index, then (weighted) per tap an f64 weight.
pub fn resample_table(r: &Resample) -> AlignedBytes {
    let mut words: Vec<u32> = r.index.clone();
    if !r.is_copy() {
        for w in &r.weight {
            let bits = w.to_bits();
            words.extend([bits as u32, (bits >> 32) as u32]);
        }
    }
    let n = words.len();
    AlignedBytes::from_words(words, n)
}

/// One Resize axis (`in0` = x, `in1` = the table of [`resample_table`], `out`).
pub fn resample(isa: &dyn TargetIsa, index: u32, r: &Resample) -> Function {
    let eb = r.elem_bytes;
    let copy = r.is_copy();
    let ty = int_of(eb);
    let wbase = 4 * r.index.len() as i64;
    build_kernel(isa, index, |b, p| {
        let (x, tab, out) = (p[0], p[1], p[4]);
        let row_in = (r.inner * eb) as i64;
        counted_loop(b, r.outer, &mut |b, o| {
            let xo = b.ins().imul_imm_s(o, r.n_in as i64 * row_in);
            let xo = b.ins().iadd(x, xo);
            let oo = b.ins().imul_imm_s(o, r.n_out as i64 * row_in);
            let oo = b.ins().iadd(out, oo);
            counted_loop(b, r.n_out, &mut |b, j| {
                // Source rows and weights of this output coordinate.
                let mut rows = Vec::with_capacity(r.taps);
                let mut ws = Vec::with_capacity(r.taps);
                for t in 0..r.taps {
                    let ti = b.ins().imul_imm_s(j, r.taps as i64);
                    let ti = b.ins().iadd_imm_s(ti, t as i64);
                    let ia = b.ins().imul_imm_s(ti, 4);
                    let ia = b.ins().iadd(tab, ia);
                    let ix = b.ins().load(I32, fl(), ia, 0);
                    let ix = b.ins().uextend(I64, ix);
                    let ro = b.ins().imul_imm_s(ix, row_in);
                    rows.push(b.ins().iadd(xo, ro));
                    if !copy {
                        let wa = b.ins().imul_imm_s(ti, 8);
                        let wa = b.ins().iadd(tab, wa);
                        ws.push(b.ins().load(F64, fl(), wa, wbase as i32));
                    }
                }
                let dst = b.ins().imul_imm_s(j, row_in);
                let dst = b.ins().iadd(oo, dst);
                counted_loop(b, r.inner, &mut |b, i| {
                    let off = b.ins().imul_imm_s(i, eb as i64);
                    let d = b.ins().iadd(dst, off);
                    if copy {
                        let s = b.ins().iadd(rows[0], off);
                        let v = b.ins().load(ty, fl(), s, 0);
                        b.ins().store(fl(), v, d, 0);
                        return;
                    }
                    let mut acc = None;
                    for t in 0..r.taps {
                        let s = b.ins().iadd(rows[t], off);
                        let v = b.ins().load(F32, fl(), s, 0);
                        let v = b.ins().fpromote(F64, v);
                        let v = b.ins().fmul(v, ws[t]);
                        acc = Some(match acc {
                            None => v,
                            Some(a) => b.ins().fadd(a, v),
                        });
                    }
                    if let Some(a) = acc {
                        let y = b.ins().fdemote(F32, a);
                        b.ins().store(fl(), y, d, 0);
                    }
                });
            });
        });
    })
}
