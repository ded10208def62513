//! Data movement kernels: the strided copy (Transpose, Slice, Expand, Concat operands), Gather
//! with bounds-checked indices, and Cast. Also [`nest`], the loop-nest emitter shared with the
//! other transformer kernels.

use super::math::fl;
use super::{build_kernel, counted_loop};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, I32, I64, I8};
use cranelift_codegen::ir::{Function, InstBuilder, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_ir::DType;
use qcc_lowering::{GatherSpec, StridedCopy};

/// Emits loops over `dims` (outermost first); pointer `p` advances by `strides[p][d]` bytes per
/// step of axis `d`; `body` gets the pointers at each innermost point.
pub(crate) fn nest(
    b: &mut FunctionBuilder<'_>,
    dims: &[usize],
    strides: &[Vec<i64>],
    ptrs: Vec<Value>,
    body: &mut dyn FnMut(&mut FunctionBuilder<'_>, &[Value]),
) {
    fn rec(
        b: &mut FunctionBuilder<'_>,
        d: usize,
        dims: &[usize],
        strides: &[Vec<i64>],
        ptrs: &[Value],
        body: &mut dyn FnMut(&mut FunctionBuilder<'_>, &[Value]),
    ) {
        if d == dims.len() {
            body(b, ptrs);
            return;
        }
        if dims[d] == 1 {
            return rec(b, d + 1, dims, strides, ptrs, body);
        }
        counted_loop(b, dims[d], &mut |b, i| {
            let next: Vec<Value> = ptrs
                .iter()
                .zip(strides)
                .map(|(&p, s)| {
                    if s[d] == 0 {
                        p
                    } else {
                        let o = b.ins().imul_imm_s(i, s[d]);
                        b.ins().iadd(p, o)
                    }
                })
                .collect();
            rec(b, d + 1, dims, strides, &next, body);
        });
    }
    if dims.contains(&0) {
        return;
    }
    rec(b, 0, dims, strides, &ptrs, body);
}

fn int_type(bytes: usize) -> Type {
    match bytes {
        1 => I8,
        2 => cranelift_codegen::ir::types::I16,
        4 => I32,
        _ => I64,
    }
}

/// The strided copy kernel (`in0` → `out`).
pub fn copy(isa: &dyn TargetIsa, index: u32, c: &StridedCopy) -> Function {
    build_kernel(isa, index, |b, p| {
        let eb = c.elem_bytes as i64;
        let ty = int_type(c.elem_bytes);
        let src = b.ins().iadd_imm_s(p[0], c.src_offset as i64 * eb);
        let dst = b.ins().iadd_imm_s(p[4], c.dst_offset as i64 * eb);
        let ss: Vec<i64> = c.src_strides.iter().map(|&s| s as i64 * eb).collect();
        let ds: Vec<i64> = c.dst_strides.iter().map(|&s| s as i64 * eb).collect();
        nest(b, &c.shape, &[ss, ds], vec![src, dst], &mut |b, q| {
            let v = b.ins().load(ty, fl(), q[0], 0);
            b.ins().store(fl(), v, q[1], 0);
        });
    })
}

/// The Gather kernel (`in0` = data, `in1` = indices, `p2` = the status word, `out`). An index
/// outside `[−d, d)` zero-fills its output slice and stores `status_code` into the status word
/// (the runner turns it into an error); nothing outside the data is read.
pub fn gather(isa: &dyn TargetIsa, index: u32, g: &GatherSpec, status_code: u32) -> Function {
    build_kernel(isa, index, |b, p| {
        let (data, idx, status, out) = (p[0], p[1], p[2], p[4]);
        let row = (g.inner * g.elem_bytes) as i64;
        let isz = if g.idx_i64 { 8 } else { 4 };
        counted_loop(b, g.outer, &mut |b, o| {
            let dbase = b.ins().imul_imm_s(o, g.d as i64 * row);
            let dbase = b.ins().iadd(data, dbase);
            let obase = b.ins().imul_imm_s(o, (g.nidx as i64) * row);
            let obase = b.ins().iadd(out, obase);
            counted_loop(b, g.nidx, &mut |b, t| {
                let ip = b.ins().imul_imm_s(t, isz);
                let ip = b.ins().iadd(idx, ip);
                let i = if g.idx_i64 {
                    b.ins().load(I64, fl(), ip, 0)
                } else {
                    let v = b.ins().load(I32, fl(), ip, 0);
                    b.ins().sextend(I64, v)
                };
                // Negative indices count from the end.
                let neg = b.ins().icmp_imm_s(IntCC::SignedLessThan, i, 0);
                let wrapped = b.ins().iadd_imm_s(i, g.d as i64);
                let i = b.ins().select(neg, wrapped, i);
                // Unsigned compare: negative after wrapping is huge, so one test covers both.
                let ok = b.ins().icmp_imm_u(IntCC::UnsignedLessThan, i, g.d as i64);
                let dst = b.ins().imul_imm_s(t, row);
                let dst = b.ins().iadd(obase, dst);
                let good = b.create_block();
                let bad = b.create_block();
                let join = b.create_block();
                b.ins().brif(ok, good, &[], bad, &[]);
                b.switch_to_block(good);
                b.seal_block(good);
                let src = b.ins().imul_imm_s(i, row);
                let src = b.ins().iadd(dbase, src);
                copy_bytes(b, src, dst, row as usize);
                b.ins().jump(join, &[]);
                b.switch_to_block(bad);
                b.seal_block(bad);
                let code = b.ins().iconst(I32, status_code as i64);
                b.ins().store(fl(), code, status, 0);
                zero_bytes(b, dst, row as usize);
                b.ins().jump(join, &[]);
                b.switch_to_block(join);
                b.seal_block(join);
            });
        });
    })
}

/// Copies `n` bytes (16 at a time in a loop, then the tail).
fn copy_bytes(b: &mut FunctionBuilder<'_>, src: Value, dst: Value, n: usize) {
    use cranelift_codegen::ir::types::I8X16;
    counted_loop(b, n / 16, &mut |b, i| {
        let o = b.ins().imul_imm_s(i, 16);
        let s = b.ins().iadd(src, o);
        let d = b.ins().iadd(dst, o);
        let v = b.ins().load(I8X16, fl(), s, 0);
        b.ins().store(fl(), v, d, 0);
    });
    for t in (n / 16) * 16..n {
        let v = b.ins().load(I8, fl(), src, t as i32);
        b.ins().store(fl(), v, dst, t as i32);
    }
}

fn zero_bytes(b: &mut FunctionBuilder<'_>, dst: Value, n: usize) {
    let z = b.ins().iconst(I8, 0);
    counted_loop(b, n, &mut |b, i| {
        let d = b.ins().iadd(dst, i);
        b.ins().store(fl(), z, d, 0);
    });
}

/// Loads one element of `d` as i64 (integers) or f32 (floats).
fn load_elem(b: &mut FunctionBuilder<'_>, d: DType, p: Value) -> Value {
    match d {
        DType::F32 => b.ins().load(F32, fl(), p, 0),
        DType::I64 => b.ins().load(I64, fl(), p, 0),
        DType::I32 => {
            let v = b.ins().load(I32, fl(), p, 0);
            b.ins().sextend(I64, v)
        }
        DType::I8 => {
            let v = b.ins().load(I8, fl(), p, 0);
            b.ins().sextend(I64, v)
        }
        _ => {
            // u8 and bool (one byte, 0/1).
            let v = b.ins().load(I8, fl(), p, 0);
            b.ins().uextend(I64, v)
        }
    }
}

/// The Cast kernel over `n` elements (`in0` → `out`), as `qcc_ir`'s Cast: float → int rounds
/// half to even then saturates (NaN → 0), int → int saturates, → bool is `x != 0`, int → f32
/// rounds to nearest (`i64 → f32` directly; the interpreter goes through f64, which differs
/// only above 2^53).
pub fn cast(isa: &dyn TargetIsa, index: u32, n: usize, from: DType, to: DType) -> Function {
    build_kernel(isa, index, |b, p| {
        let (fb, tb) = (from.size_bytes() as i64, to.size_bytes() as i64);
        nest(b, &[n], &[vec![fb], vec![tb]], vec![p[0], p[4]], &mut |b, q| {
            let x = load_elem(b, from, q[0]);
            let is_f = from == DType::F32;
            let v = match to {
                DType::F32 => {
                    if is_f {
                        x
                    } else {
                        b.ins().fcvt_from_sint(F32, x)
                    }
                }
                DType::Bool => {
                    let nz = if is_f {
                        let z = b.ins().f32const(0.0);
                        b.ins().fcmp(FloatCC::NotEqual, x, z)
                    } else {
                        b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
                    };
                    nz
                }
                _ => {
                    let i = if is_f {
                        let r = b.ins().nearest(x);
                        b.ins().fcvt_to_sint_sat(I64, r)
                    } else {
                        x
                    };
                    let (lo, hi) = qcc_ir::qmath::qrange(to);
                    let (lo, hi) = if to == DType::I64 {
                        (i64::MIN, i64::MAX)
                    } else {
                        (lo as i64, hi as i64)
                    };
                    let l = b.ins().iconst(I64, lo);
                    let h = b.ins().iconst(I64, hi);
                    let i = b.ins().smax(i, l);
                    let i = b.ins().smin(i, h);
                    if to == DType::I64 {
                        i
                    } else {
                        b.ins().ireduce(int_type(to.size_bytes()), i)
                    }
                }
            };
            b.ins().store(fl(), v, q[1], 0);
        });
    })
}
