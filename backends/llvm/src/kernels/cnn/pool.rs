//! Pooling kernels.
//!
//! * [`global`]: global average pooling. f32: `Σx / hw` summed from 0.0 in pixel order (as
//!   the interpreter); integer: `requantize(Σx − zx·hw, m)` exactly as `QGlobalAveragePool`
//!   (the integer sum wraps in i32 like the Cranelift backend). NHWC inputs accumulate all
//!   channels of a pixel at once (in the f32 output, or an i32 stack array), so the channel
//!   loop is contiguous and vectorizes without reordering any sum.
//! * [`pool2d`]: f32 MaxPool / AveragePool over NHWC, rows `n·oh` split across threads; the
//!   window taps are unrolled around a contiguous channel loop, padding taps read a zero
//!   padding pixel (max skips them; the average adds their 0.0 and divides by the window, or
//!   by the in-image taps without `count_include_pad`). Windows over 64 taps loop over their
//!   taps at run time instead, accumulating in the output pixel (same order).

use super::{gep, ld8, split_row, tap_ptrs, taps};
use crate::emit::{q8_range, Cg, K, R};
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::{FloatPredicate, IntPredicate};
use qcc_lowering::cnn::{GlobalPool, Pool2d};

/// Largest NHWC channel count accumulated in a stack array (i32 per channel).
const MAX_SCRATCH: usize = 16384;

/// Largest window unrolled around the channel loop (larger ones loop over their taps).
const MAX_UNROLLED_TAPS: usize = 64;

/// Global average pooling (inputs: x; output: `[n, c]`).
pub(super) fn global<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    p: &GlobalPool,
) -> R<FunctionValue<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let (c, hw) = (p.c, p.hw);
    let (sc, sp) = if p.nhwc { (1, c) } else { (hw, 1) };
    match &p.quant {
        None => {
            let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
            let d = k.f32c(hw as f32);
            k.for_n(p.n, &mut |n| {
                let img = k.mul(n, k.i64c((c * hw) as i64))?;
                let ob = k.mul(n, k.i64c(c as i64))?;
                if p.nhwc {
                    k.for_n(c, &mut |ch| k.st(y, k.add(ob, ch)?, k.f32c(0.0)))?;
                    k.for_n(hw, &mut |q| {
                        let xb = k.affine(q, c, img)?;
                        k.for_n(c, &mut |ch| {
                            let oi = k.add(ob, ch)?;
                            let s = k.fadd(k.ldf(y, oi)?, k.ldf(x, k.add(xb, ch)?)?)?;
                            k.st(y, oi, s)
                        })
                    })?;
                    k.for_n(c, &mut |ch| {
                        let oi = k.add(ob, ch)?;
                        k.st(y, oi, k.fdiv(k.ldf(y, oi)?, d)?)
                    })
                } else {
                    k.for_n(c, &mut |ch| {
                        let base = k.affine(ch, sc, img)?;
                        let s = k.var(k.f32c(0.0).into())?;
                        k.for_n(hw, &mut |q| {
                            let v = k.ldf(x, k.affine(q, sp, base)?)?;
                            k.set(s, k.fadd(k.get(k.f32t(), s)?.into_float_value(), v)?)
                        })?;
                        let s = k.get(k.f32t(), s)?.into_float_value();
                        k.st(y, k.add(ob, ch)?, k.fdiv(s, d)?)
                    })
                }
            })?;
        }
        Some(q) => {
            let (i8t, i32t) = (k.int(8), k.int(32));
            let (x, y) = (k.buf(0, i8t)?, k.buf(1, i8t)?);
            let (lo, hi) = q8_range(q.signed);
            let off = k.i32c((q.x_zero_point as i64 * hw as i64) as i32);
            let mv = k.f32c(q.m);
            let fin = |s| -> R<_> {
                let s = k.sub(s, off)?;
                let r = k.requant(s, 0, mv, q.zero_point, lo, hi)?;
                k.trunc(r, i8t)
            };
            if p.nhwc && c <= MAX_SCRATCH {
                let acc = k.array(i32t, c)?;
                k.for_n(p.n, &mut |n| {
                    let img = k.mul(n, k.i64c((c * hw) as i64))?;
                    let ob = k.mul(n, k.i64c(c as i64))?;
                    k.for_n(c, &mut |ch| k.st(acc, ch, k.i32c(0)))?;
                    k.for_n(hw, &mut |pi| {
                        let xb = k.affine(pi, c, img)?;
                        k.for_n(c, &mut |ch| {
                            let v = ld8(&k, x, k.add(xb, ch)?, q.x_signed)?;
                            k.st(acc, ch, k.add(k.ldi(i32t, acc, ch)?, v)?)
                        })
                    })?;
                    k.for_n(c, &mut |ch| k.st(y, k.add(ob, ch)?, fin(k.ldi(i32t, acc, ch)?)?))
                })?;
            } else {
                k.for_n(p.n, &mut |n| {
                    let img = k.mul(n, k.i64c((c * hw) as i64))?;
                    let ob = k.mul(n, k.i64c(c as i64))?;
                    k.for_n(c, &mut |ch| {
                        let base = k.affine(ch, sc, img)?;
                        let s = k.var(k.i32c(0).into())?;
                        k.for_n(hw, &mut |pi| {
                            let v = ld8(&k, x, k.affine(pi, sp, base)?, q.x_signed)?;
                            k.set(s, k.add(k.get(i32t, s)?.into_int_value(), v)?)
                        })?;
                        let s = k.get(i32t, s)?.into_int_value();
                        k.st(y, k.add(ob, ch)?, fin(s)?)
                    })
                })?;
            }
        }
    }
    k.finish()
}

/// f32 MaxPool / AveragePool over NHWC (inputs: x; output: y NHWC).
pub(super) fn pool2d<'ctx>(cg: &mut Cg<'ctx>, name: &str, p: &Pool2d) -> R<FunctionValue<'ctx>> {
    let g = p.geom;
    let c = g.c;
    let apad = cg.constant(&vec![0u8; 4 * c]);
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    let ppad = k.const_ptr(apad, k.f32t())?;
    k.for_range(k.r0, k.r1, &mut |r| {
        let (n, yy) = split_row(&k, r, g.oh)?;
        let rbase = k.mul(r, k.i64c(g.ow as i64))?;
        k.for_n(g.ow, &mut |xo| {
            if g.kh * g.kw > MAX_UNROLLED_TAPS {
                let obase = k.mul(k.add(rbase, xo)?, k.i64c(c as i64))?;
                return pool_pixel_loop(&k, p, (x, y), (n, yy, xo), obase);
            }
            let tp = taps(&k, &g, (n, yy, xo), c)?;
            let ptrs = tap_ptrs(&k, &tp, x, ppad)?;
            let obase = k.mul(k.add(rbase, xo)?, k.i64c(c as i64))?;
            let count = if p.max {
                None
            } else if p.count_include_pad {
                Some(k.f32c((g.kh * g.kw) as f32))
            } else {
                let mut cnt = k.i32c(0);
                for t in &tp {
                    cnt = k.add(cnt, k.ext(t.ok, k.int(32), false)?)?;
                }
                Some(k.sitofp(cnt)?)
            };
            k.for_n(c, &mut |ch| {
                let mut acc = k.f32c(if p.max { f32::NEG_INFINITY } else { 0.0 });
                for (t, &xp) in tp.iter().zip(&ptrs) {
                    let v = k.ldf(xp, ch)?;
                    acc = if p.max {
                        // Padding taps are skipped; NaN never wins (x > acc is false).
                        let gt = k.fcmp(FloatPredicate::OGT, v, acc)?;
                        let take = super::and(&k, gt, t.ok)?;
                        k.fsel(take, v, acc)?
                    } else {
                        k.fadd(acc, v)?
                    };
                }
                if let Some(cnt) = count {
                    acc = k.fdiv(acc, cnt)?;
                }
                k.st(y, k.add(obase, ch)?, acc)
            })
        })
    })?;
    k.finish()
}

/// One output pixel of a large window: runtime loops over the taps (row-major, the unrolled
/// form's order), accumulating every channel in the output pixel.
fn pool_pixel_loop<'ctx>(
    k: &K<'_, 'ctx>,
    p: &Pool2d,
    (x, y): (PointerValue<'ctx>, PointerValue<'ctx>),
    (n, yy, xo): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
    obase: IntValue<'ctx>,
) -> R<()> {
    let g = p.geom;
    let c = g.c;
    let op = gep(k, y, obase)?;
    let init = k.f32c(if p.max { f32::NEG_INFINITY } else { 0.0 });
    k.for_n(c, &mut |ch| k.st(op, ch, init))?;
    let cnt = k.var(k.i32c(0).into())?;
    let y0 = k.sub(k.mul(yy, k.i64c(g.stride.0 as i64))?, k.i64c(g.pad.0 as i64))?;
    let x0 = k.sub(k.mul(xo, k.i64c(g.stride.1 as i64))?, k.i64c(g.pad.1 as i64))?;
    let img = k.mul(n, k.i64c(g.h as i64))?;
    k.for_n(g.kh, &mut |i| {
        let iy = k.add(y0, k.mul(i, k.i64c(g.dilation.0 as i64))?)?;
        let oky = k.icmp(IntPredicate::ULT, iy, k.i64c(g.h as i64))?;
        let row = k.mul(k.add(img, iy)?, k.i64c(g.w as i64))?;
        k.for_n(g.kw, &mut |j| {
            let ix = k.add(x0, k.mul(j, k.i64c(g.dilation.1 as i64))?)?;
            let okx = k.icmp(IntPredicate::ULT, ix, k.i64c(g.w as i64))?;
            let ok = super::and(k, oky, okx)?;
            let c1 =
                k.add(k.get(k.int(32), cnt)?.into_int_value(), k.ext(ok, k.int(32), false)?)?;
            k.set(cnt, c1)?;
            // Padding taps: skipped by max, +0.0 (no change) for the average.
            k.if_(ok, &mut || {
                let xp = gep(k, x, k.mul(k.add(row, ix)?, k.i64c(c as i64))?)?;
                k.for_n(c, &mut |ch| {
                    let (v, a) = (k.ldf(xp, ch)?, k.ldf(op, ch)?);
                    let r = if p.max {
                        k.fsel(k.fcmp(FloatPredicate::OGT, v, a)?, v, a)?
                    } else {
                        k.fadd(a, v)?
                    };
                    k.st(op, ch, r)
                })
            })
        })
    })?;
    if !p.max {
        let d = if p.count_include_pad {
            k.f32c((g.kh * g.kw) as f32)
        } else {
            k.sitofp(k.get(k.int(32), cnt)?.into_int_value())?
        };
        k.for_n(c, &mut |ch| k.st(op, ch, k.fdiv(k.ldf(op, ch)?, d)?))?;
    }
    Ok(())
}
