//! CNN-family kernels: im2col, direct (depthwise/grouped) convolution and relayout
//! ([`conv`]), global average and 2-d pooling ([`pool`]), quantized binary ops, table lookup
//! and f32 activations ([`qelem`]). The arithmetic mirrors the interpreter and the Cranelift
//! backend exactly (integer results bit-exact); convolutions and 2-d pooling split their rows
//! `n·oh` across threads, the others run whole.
//!
//! The loop nests keep the innermost loop contiguous and independent across iterations
//! (channels innermost over NHWC data, window taps unrolled around it) so LLVM's loop
//! vectorizer widens it; float sums keep the reference order per output element.

mod conv;
mod pool;
mod qelem;

use super::{rows, whole, Built};
use crate::emit::{Cg, K, R};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use qcc_lowering::cnn::ConvGeom;
use qcc_lowering::{Kernel, LoweredModel, Step};

/// The step's kernel if it belongs to the CNN family.
pub(crate) fn build<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    st: &Step,
    name: &str,
) -> R<Option<Built<'ctx>>> {
    let n = l.buffers[st.output].numel();
    Ok(Some(match &st.kernel {
        Kernel::Im2col(k) => rows(conv::im2col(cg, name, k)?, k.geom.rows()),
        Kernel::DirectConv(k) => rows(conv::direct(cg, name, k)?, k.geom.rows()),
        Kernel::Relayout(k) => whole(conv::relayout(cg, name, k)?),
        Kernel::QBinary(k) => whole(qelem::qbinary(cg, name, k)?),
        Kernel::Lut { signed } => whole(qelem::lut(cg, name, *signed, n)?),
        Kernel::GlobalAvgPool(k) => whole(pool::global(cg, name, k)?),
        Kernel::Pool2d(k) => rows(pool::pool2d(cg, name, k)?, k.geom.rows()),
        Kernel::Act(a) => whole(qelem::activation(cg, name, *a, n)?),
        _ => return Ok(None),
    }))
}

/// `&ptr[idx]` (a pointer of the same element type).
pub(super) fn gep<'ctx>(
    k: &K<'_, 'ctx>,
    ptr: PointerValue<'ctx>,
    idx: IntValue<'ctx>,
) -> R<PointerValue<'ctx>> {
    let elem = ptr.get_type().get_element_type();
    let elem = inkwell::types::BasicTypeEnum::try_from(elem)
        .map_err(|_| crate::BackendError::codegen("gep", "pointer to a non-basic type"))?;
    Ok(crate::shim::gep(&k.cg.b, elem, ptr, idx)?)
}

/// `a & b` (i1).
pub(super) fn and<'ctx>(
    k: &K<'_, 'ctx>,
    a: IntValue<'ctx>,
    b: IntValue<'ctx>,
) -> R<IntValue<'ctx>> {
    Ok(k.cg.b.build_and(a, b, "and")?)
}

/// `!a` (i1).
pub(super) fn not<'ctx>(k: &K<'_, 'ctx>, a: IntValue<'ctx>) -> R<IntValue<'ctx>> {
    Ok(k.cg.b.build_not(a, "not")?)
}

/// One window tap of an output pixel: the NHWC element index of its input pixel's first
/// channel and whether it lies inside the image (padding taps are outside).
pub(super) struct Tap<'ctx> {
    /// Element index `((n·h + iy)·w + ix)·c` (meaningless outside the image).
    pub idx: IntValue<'ctx>,
    /// Inside the image.
    pub ok: IntValue<'ctx>,
}

/// (n, y) of output row `r` (`n·oh + y`).
pub(super) fn split_row<'ctx>(
    k: &K<'_, 'ctx>,
    r: IntValue<'ctx>,
    oh: usize,
) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
    Ok((k.udiv(r, oh)?, k.urem(r, oh)?))
}

/// The `kh·kw` taps (row-major) of output pixel (n, y, xo) over an NHWC input whose pixel
/// steps are `pix` elements (`c` for a dense NHWC tensor).
pub(super) fn taps<'ctx>(
    k: &K<'_, 'ctx>,
    g: &ConvGeom,
    (n, y, xo): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
    pix: usize,
) -> R<Vec<Tap<'ctx>>> {
    let y0 = k.sub(k.mul(y, k.i64c(g.stride.0 as i64))?, k.i64c(g.pad.0 as i64))?;
    let x0 = k.sub(k.mul(xo, k.i64c(g.stride.1 as i64))?, k.i64c(g.pad.1 as i64))?;
    let img = k.mul(n, k.i64c(g.h as i64))?;
    let mut out = Vec::with_capacity(g.kh * g.kw);
    for i in 0..g.kh {
        let iy = k.add(y0, k.i64c((i * g.dilation.0) as i64))?;
        let oky = k.icmp(IntPredicate::ULT, iy, k.i64c(g.h as i64))?;
        let row = k.mul(k.add(img, iy)?, k.i64c(g.w as i64))?;
        for j in 0..g.kw {
            let ix = k.add(x0, k.i64c((j * g.dilation.1) as i64))?;
            let okx = k.icmp(IntPredicate::ULT, ix, k.i64c(g.w as i64))?;
            let idx = k.mul(k.add(row, ix)?, k.i64c(pix as i64))?;
            out.push(Tap { idx, ok: and(k, oky, okx)? });
        }
    }
    Ok(out)
}

/// Per tap, the pointer to its input pixel in `x`, or `pad` (a padding pixel) outside.
pub(super) fn tap_ptrs<'ctx>(
    k: &K<'_, 'ctx>,
    taps: &[Tap<'ctx>],
    x: PointerValue<'ctx>,
    pad: PointerValue<'ctx>,
) -> R<Vec<PointerValue<'ctx>>> {
    taps.iter().map(|t| Ok(k.select(t.ok, gep(k, x, t.idx)?, pad)?.into_pointer_value())).collect()
}

/// Loads an 8-bit element widened to i32.
pub(super) fn ld8<'ctx>(
    k: &K<'_, 'ctx>,
    p: PointerValue<'ctx>,
    i: IntValue<'ctx>,
    signed: bool,
) -> R<IntValue<'ctx>> {
    k.ext(k.ldi(k.int(8), p, i)?, k.int(32), signed)
}
