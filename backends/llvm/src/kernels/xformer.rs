//! Transformer-family kernels: batched matmul with runtime operands ([`bmm`]), strided copies,
//! gather and casts ([`movement`]), layer norm, softmax, float math and reductions ([`norm`]),
//! with the arithmetic of the interpreter as the Cranelift backend mirrors it.
//!
//! Row units: batch matmul splits its `batch·m` output rows, layer norm its rows, softmax its
//! outer index, copies their outermost axis, gather its `outer·nidx` slices, and the
//! elementwise kernels (cast, math) chunks of [`CHUNK`] elements; reductions run whole.
//!
//! Float reductions that LLVM cannot vectorize (no fast-math) are written with [`LANES`]
//! independent partial accumulators ([`lanes`]), which the SLP vectorizer packs into one
//! vector; the suite's tolerances allow this reassociation (the Cranelift backend sums in
//! four lanes).

pub mod bmm;
pub mod movement;
pub mod norm;

use super::Built;
use crate::emit::{Cg, K, R};
use inkwell::types::FloatType;
use inkwell::values::{FloatValue, IntValue};
use inkwell::IntPredicate;
use qcc_lowering::{Kernel, LoweredModel, Step};

/// Elements per row unit of the elementwise kernels.
pub const CHUNK: usize = 4096;

/// Partial accumulators of [`lanes`].
pub const LANES: usize = 8;

/// The step's kernel if it belongs to the transformer family.
pub(crate) fn build<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    st: &Step,
    name: &str,
    step: usize,
    status: crate::emit::ConstRef<'ctx>,
) -> R<Option<Built<'ctx>>> {
    Ok(Some(match &st.kernel {
        Kernel::BatchMatMul(s) => bmm::build(cg, name, s)?,
        Kernel::Copy(c) => movement::copy(cg, name, c)?,
        Kernel::Gather(g) => movement::gather(cg, name, g, step, status)?,
        Kernel::Cast { n, from, to } => movement::cast(cg, name, *n, *from, *to)?,
        Kernel::LayerNorm { rows, d, epsilon } => {
            norm::layer_norm(cg, name, (*rows, *d), *epsilon, st.inputs.len() > 2)?
        }
        Kernel::Softmax { outer, d, inner } => norm::softmax(cg, name, *outer, *d, *inner)?,
        Kernel::Math { op, n } => norm::math(cg, name, *op, *n)?,
        Kernel::Reduce { op, shape, reduced } => norm::reduce(cg, name, *op, shape, reduced)?,
        _ => {
            let _ = l;
            return Ok(None);
        }
    }))
}

/// `f64`.
pub(crate) fn f64t<'ctx>(k: &K<'_, 'ctx>) -> FloatType<'ctx> {
    k.cg.ctx.f64_type()
}

/// An f64 constant.
pub(crate) fn f64c<'ctx>(k: &K<'_, 'ctx>, v: f64) -> FloatValue<'ctx> {
    f64t(k).const_float(v)
}

/// f32 → f64 (exact).
pub(crate) fn fext<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    Ok(k.cg.b.build_float_ext(v, f64t(k), "fext")?)
}

/// f64 → f32 (round to nearest).
pub(crate) fn ftrunc<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    Ok(k.cg.b.build_float_trunc(v, k.f32t(), "ftr")?)
}

/// Signed minimum of two integers.
pub(crate) fn smin<'ctx>(
    k: &K<'_, 'ctx>,
    a: IntValue<'ctx>,
    b: IntValue<'ctx>,
) -> R<IntValue<'ctx>> {
    let c = k.icmp(IntPredicate::SLT, a, b)?;
    Ok(k.select(c, a, b)?.into_int_value())
}

/// `for i in r0·chunk .. min(r1·chunk, n)`: the elements of the thread's chunks.
pub(crate) fn for_chunks<'ctx>(
    k: &K<'_, 'ctx>,
    n: usize,
    chunk: usize,
    body: &mut dyn FnMut(IntValue<'ctx>) -> R<()>,
) -> R<()> {
    let lo = k.mul(k.r0, k.i64c(chunk as i64))?;
    let hi = smin(k, k.mul(k.r1, k.i64c(chunk as i64))?, k.i64c(n as i64))?;
    k.for_range(lo, hi, body)
}

/// `comb(…comb(init, x(0))…, x(n−1))` reassociated over [`LANES`] partial accumulators
/// (each starting at `init`, which must be the identity of `comb`), combined pairwise, then
/// the tail in order.
pub(crate) fn lanes<'ctx>(
    k: &K<'_, 'ctx>,
    n: usize,
    init: FloatValue<'ctx>,
    load: &mut dyn FnMut(IntValue<'ctx>) -> R<FloatValue<'ctx>>,
    comb: &dyn Fn(FloatValue<'ctx>, FloatValue<'ctx>) -> R<FloatValue<'ctx>>,
) -> R<FloatValue<'ctx>> {
    let ty = init.get_type();
    let get = |v| -> R<FloatValue<'ctx>> { Ok(k.get(ty, v)?.into_float_value()) };
    let mut acc = init;
    if n >= LANES {
        let vars = (0..LANES).map(|_| k.var(init.into())).collect::<R<Vec<_>>>()?;
        k.for_n(n / LANES, &mut |c| {
            let base = k.mul(c, k.i64c(LANES as i64))?;
            for (l, &v) in vars.iter().enumerate() {
                let x = load(k.add(base, k.i64c(l as i64))?)?;
                k.set(v, comb(get(v)?, x)?)?;
            }
            Ok(())
        })?;
        let mut vals = vars.iter().map(|&v| get(v)).collect::<R<Vec<_>>>()?;
        while vals.len() > 1 {
            let h = vals.len() / 2;
            vals = (0..h).map(|i| comb(vals[i], vals[i + h])).collect::<R<Vec<_>>>()?;
        }
        acc = vals[0];
    }
    for t in (n / LANES) * LANES..n {
        acc = comb(acc, load(k.i64c(t as i64))?)?;
    }
    Ok(acc)
}

/// Nested loops over `shape` carrying one element index per operand (`strides[o][d]`
/// elements, possibly negative or zero, per step of axis `d`); axis 0 runs over
/// `r0..r1` when `split`.
pub(crate) fn nest<'ctx, const N: usize>(
    k: &K<'_, 'ctx>,
    shape: &[usize],
    strides: &[&[i64]; N],
    d: usize,
    at: [IntValue<'ctx>; N],
    split: bool,
    body: &mut dyn FnMut([IntValue<'ctx>; N]) -> R<()>,
) -> R<()> {
    if d == shape.len() {
        return body(at);
    }
    let mut step = |i: IntValue<'ctx>| -> R<()> {
        let mut next = at;
        for o in 0..N {
            if strides[o][d] != 0 {
                let t = k.mul(i, k.i64c(strides[o][d]))?;
                next[o] = k.add(t, at[o])?;
            }
        }
        nest(k, shape, strides, d + 1, next, false, body)
    };
    if split && d == 0 {
        k.for_range(k.r0, k.r1, &mut step)
    } else {
        k.for_n(shape[d], &mut step)
    }
}
