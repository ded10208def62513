//! The CNN family's entry point: builds the kernel of a [`qcc_lowering::cnn`] step (conv,
//! relayout, pooling, quantized elementwise, activations) with its compile-time constant
//! buffers, plus helpers shared by those generators (runtime-bounded loops, exact requantize).

use super::{act, conv, pool, qelem};
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64};
use cranelift_codegen::ir::{Function, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::{Kernel, LoweredModel, Step};

/// A generated CNN-family kernel: the function, its constant buffers (passed as `in1`, `p2`,
/// `p3` in order) and the number of rows `m0..m1` it can be split into (0: not splittable).
pub struct CnnKernel {
    /// The function.
    pub func: Function,
    /// Constant buffers.
    pub consts: Vec<AlignedBytes>,
    /// Rows for threading (0: the kernel ignores `m0`/`m1`).
    pub rows: usize,
}

/// Builds the kernel of step `st`, or None when the kernel is not of the CNN family.
pub fn build(isa: &dyn TargetIsa, index: u32, l: &LoweredModel, st: &Step) -> Option<CnnKernel> {
    let numel = l.buffers[st.output].numel();
    let plain = |func| Some(CnnKernel { func, consts: vec![], rows: 0 });
    match &st.kernel {
        Kernel::Im2col(k) => Some(CnnKernel {
            func: conv::im2col(isa, index, k),
            consts: vec![],
            rows: k.geom.rows(),
        }),
        Kernel::DirectConv(k) => {
            let (func, consts) = conv::direct(isa, index, k);
            Some(CnnKernel { func, consts, rows: k.geom.rows() })
        }
        Kernel::Relayout(k) => plain(conv::relayout(isa, index, k)),
        Kernel::QBinary(k) => plain(qelem::qbinary(isa, index, k)),
        Kernel::Lut { signed } => plain(qelem::lut(isa, index, *signed, numel)),
        Kernel::GlobalAvgPool(k) => plain(pool::global(isa, index, k)),
        Kernel::Pool2d(k) => {
            let (func, consts) = pool::pool2d(isa, index, k);
            Some(CnnKernel { func, consts, rows: k.geom.rows() })
        }
        Kernel::Act(a) => plain(act::activation(isa, index, *a, numel)),
        _ => None,
    }
}

pub(crate) fn fl() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

pub(crate) fn vfl() -> MemFlagsData {
    MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little)
}

/// `base + idx · scale` (i64).
pub(crate) fn offset(b: &mut FunctionBuilder<'_>, base: Value, idx: Value, scale: i64) -> Value {
    let o = b.ins().imul_imm_s(idx, scale);
    b.ins().iadd(base, o)
}

/// Emits `for i in start..end { body(i) }` with runtime bounds (i64).
pub(crate) fn range_loop(
    b: &mut FunctionBuilder<'_>,
    start: Value,
    end: Value,
    body: &mut dyn FnMut(&mut FunctionBuilder<'_>, Value),
) {
    let iv = b.declare_var(I64);
    b.def_var(iv, start);
    let hdr = b.create_block();
    let blk = b.create_block();
    let after = b.create_block();
    b.ins().jump(hdr, &[]);
    b.switch_to_block(hdr);
    let i = b.use_var(iv);
    let ok = b.ins().icmp(IntCC::SignedLessThan, i, end);
    b.ins().brif(ok, blk, &[], after, &[]);
    b.switch_to_block(blk);
    let i = b.use_var(iv);
    body(b, i);
    let i = b.use_var(iv);
    let i = b.ins().iadd_imm_s(i, 1);
    b.def_var(iv, i);
    b.ins().jump(hdr, &[]);
    b.seal_block(blk);
    b.seal_block(hdr);
    b.switch_to_block(after);
    b.seal_block(after);
}

/// `if cond { then() } else { els() }` (no values flow out).
pub(crate) fn if_else(
    b: &mut FunctionBuilder<'_>,
    cond: Value,
    then: &mut dyn FnMut(&mut FunctionBuilder<'_>),
    els: &mut dyn FnMut(&mut FunctionBuilder<'_>),
) {
    let t = b.create_block();
    let e = b.create_block();
    let j = b.create_block();
    b.ins().brif(cond, t, &[], e, &[]);
    b.switch_to_block(t);
    b.seal_block(t);
    then(b);
    b.ins().jump(j, &[]);
    b.switch_to_block(e);
    b.seal_block(e);
    els(b);
    b.ins().jump(j, &[]);
    b.switch_to_block(j);
    b.seal_block(j);
}

/// `qmath::requantize` tail on an i32 value (zero point already folded):
/// `clamp(sat_i32(round_half_even(f32(acc) · m)), lo − zy, hi − zy) + zy`, i32 result.
/// Equal to `qmath::requantize` because the clamp bounds lie inside i32.
pub(crate) fn requant_scalar(
    b: &mut FunctionBuilder<'_>,
    acc: Value,
    m: Value,
    zy: i32,
    lo: i32,
    hi: i32,
) -> Value {
    let f = b.ins().fcvt_from_sint(F32, acc);
    let f = b.ins().fmul(f, m);
    round_sat_scalar(b, f, zy, lo, hi)
}

/// `clamp(sat_i32(round_half_even(t)), lo − zy, hi − zy) + zy` (NaN gives `zy`).
pub(crate) fn round_sat_scalar(
    b: &mut FunctionBuilder<'_>,
    t: Value,
    zy: i32,
    lo: i32,
    hi: i32,
) -> Value {
    let f = b.ins().nearest(t);
    let q = b.ins().fcvt_to_sint_sat(I32, f);
    let l = b.ins().iconst(I32, (lo - zy) as u32 as i64);
    let h = b.ins().iconst(I32, (hi - zy) as u32 as i64);
    let q = b.ins().smax(q, l);
    let q = b.ins().smin(q, h);
    b.ins().iadd_imm_s(q, zy as i64)
}

/// The vector form of [`requant_scalar`] on 4 lanes with 4 multipliers.
pub(crate) fn requant_vec(
    b: &mut FunctionBuilder<'_>,
    acc: Value,
    m: Value,
    zy: i32,
    lo: i32,
    hi: i32,
) -> Value {
    let f = b.ins().fcvt_from_sint(F32X4, acc);
    let f = b.ins().fmul(f, m);
    let f = b.ins().nearest(f);
    let q = b.ins().fcvt_to_sint_sat(I32X4, f);
    let splat = |b: &mut FunctionBuilder<'_>, x: i32| {
        let c = b.ins().iconst(I32, x as u32 as i64);
        b.ins().splat(I32X4, c)
    };
    let l = splat(b, lo - zy);
    let h = splat(b, hi - zy);
    let z = splat(b, zy);
    let q = b.ins().smax(q, l);
    let q = b.ins().smin(q, h);
    b.ins().iadd(q, z)
}
