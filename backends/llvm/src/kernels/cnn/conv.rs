//! Convolution kernels.
//!
//! * [`im2col`]: rows `n·oh` (split across threads); each output pixel's row is `kh·kw` runs of
//!   `c` elements read through the input's strides (NHWC or NCHW), or the pad value outside
//!   the image.
//! * [`direct`]: NHWC direct convolution. Per output pixel the `kh·kw` tap pointers are
//!   computed once (a constant padding pixel outside the image, so the inner loop has no
//!   branch). Depthwise: one loop over channels with the taps unrolled inside, weights stored
//!   `[tap][m]`, so each iteration is independent and contiguous (vectorized). Grouped: per
//!   output channel, a sum over taps and the group's input channels (weights `[m][tap][cg]`).
//!   Integer: `acc = bias' + Σ x·w` with `bias' = bias − zx·Σw − zacc` folded at compile time
//!   (padding taps read `zx`, contributing 0 to `Σ (x − zx)·w`), then the exact requantize.
//!   f32: `bias + Σ_tap Σ_ci x·w` in that order (the Cranelift backend's order).
//! * [`relayout`]: NCHW ↔ NHWC copy (the NHWC side contiguous innermost).

use super::{gep, ld8, split_row, tap_ptrs, taps};
use crate::emit::{f32_bytes, i32_bytes, Cg, K, R};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use qcc_lowering::cnn::{DirectConv, DirectData, Im2col, Relayout};
use qcc_lowering::QRequant;

/// The element type of `elem`-byte elements (i8 or i32 bits).
fn elem_ty<'ctx>(k: &K<'_, 'ctx>, elem: usize) -> BasicTypeEnum<'ctx> {
    if elem == 4 {
        k.int(32).into()
    } else {
        k.int(8).into()
    }
}

/// im2col (inputs: x; output: the column matrix).
pub(super) fn im2col<'ctx>(cg: &mut Cg<'ctx>, name: &str, m: &Im2col) -> R<FunctionValue<'ctx>> {
    let g = m.geom;
    let k = cg.kernel(name, 2)?;
    let et = elem_ty(&k, m.elem);
    let it = et.into_int_type();
    let (x, out) = (k.buf(0, et)?, k.buf(1, et)?);
    let pad = if m.elem == 4 {
        it.const_int(m.pad as u64, false)
    } else {
        it.const_int((m.pad & 0xff) as u64, false)
    };
    let [s_n, s_c, s_h, s_w] = m.in_strides;
    let krow = g.kh * g.kw * g.c;
    k.for_range(k.r0, k.r1, &mut |r| {
        let (n, y) = split_row(&k, r, g.oh)?;
        let img = k.mul(n, k.i64c(s_n as i64))?;
        let y0 = k.sub(k.mul(y, k.i64c(g.stride.0 as i64))?, k.i64c(g.pad.0 as i64))?;
        let rbase = k.mul(r, k.i64c(g.ow as i64))?;
        k.for_n(g.ow, &mut |xo| {
            let x0 = k.sub(k.mul(xo, k.i64c(g.stride.1 as i64))?, k.i64c(g.pad.1 as i64))?;
            let drow = k.mul(k.add(rbase, xo)?, k.i64c(krow as i64))?;
            k.for_n(g.kh, &mut |i| {
                let iy = k.add(y0, k.mul(i, k.i64c(g.dilation.0 as i64))?)?;
                let oky = k.icmp(inkwell::IntPredicate::ULT, iy, k.i64c(g.h as i64))?;
                let srow = k.affine(iy, s_h, img)?;
                let dtap = k.affine(i, g.kw * g.c, drow)?;
                k.for_n(g.kw, &mut |j| {
                    let ix = k.add(x0, k.mul(j, k.i64c(g.dilation.1 as i64))?)?;
                    let okx = k.icmp(inkwell::IntPredicate::ULT, ix, k.i64c(g.w as i64))?;
                    let ok = super::and(&k, oky, okx)?;
                    let src = k.affine(ix, s_w, srow)?;
                    let dst = k.affine(j, g.c, dtap)?;
                    let dp = gep(&k, out, dst)?;
                    k.if_(ok, &mut || {
                        let sp = gep(&k, x, src)?;
                        k.for_n(g.c, &mut |ch| {
                            let v = k.ldi(it, sp, k.mul(ch, k.i64c(s_c as i64))?)?;
                            k.st(dp, ch, v)
                        })
                    })?;
                    k.if_(super::not(&k, ok)?, &mut || k.for_n(g.c, &mut |ch| k.st(dp, ch, pad)))
                })
            })
        })
    })?;
    k.finish()
}

/// NCHW ↔ NHWC (inputs: x; output: y).
pub(super) fn relayout<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    m: &Relayout,
) -> R<FunctionValue<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let et = elem_ty(&k, m.elem);
    let (x, y) = (k.buf(0, et)?, k.buf(1, et)?);
    let (pnchw, pnhwc) = if m.to_nhwc { (x, y) } else { (y, x) };
    let (c, hw) = (m.c, m.hw);
    k.for_n(m.n, &mut |n| {
        let img = k.mul(n, k.i64c((c * hw) as i64))?;
        if m.to_nhwc {
            // Contiguous writes: pixel outer, channel inner.
            k.for_n(hw, &mut |q| {
                let o = k.affine(q, c, img)?;
                let a = k.add(img, q)?;
                k.for_n(c, &mut |ch| {
                    let v = k.ld(et, pnchw, k.affine(ch, hw, a)?)?;
                    k.st(pnhwc, k.add(o, ch)?, v)
                })
            })
        } else {
            k.for_n(c, &mut |ch| {
                let a = k.affine(ch, hw, img)?;
                let o = k.add(img, ch)?;
                k.for_n(hw, &mut |q| {
                    let v = k.ld(et, pnhwc, k.affine(q, c, o)?)?;
                    k.st(pnchw, k.add(a, q)?, v)
                })
            })
        }
    })?;
    k.finish()
}

/// Compile-time data of a direct convolution.
struct Prep {
    /// Weights: depthwise `[tap][m]`, else `[m][tap][cg]` (f32 or i8 bytes).
    w: Vec<u8>,
    /// Bias per output channel (f32, or the folded i32).
    bias: Vec<u8>,
    /// Requantize multipliers per output channel.
    mult: Option<Vec<u8>>,
    /// One padding pixel (`c` elements of 0.0 or `zx`).
    pad: Vec<u8>,
}

fn reorder<T: Copy>(w: &[T], m: usize, cg: usize, taps: usize, depthwise: bool) -> Vec<T> {
    let mut out = w.to_vec();
    for co in 0..m {
        for ci in 0..cg {
            for t in 0..taps {
                let dst = if depthwise { t * m + co } else { (co * taps + t) * cg + ci };
                out[dst] = w[(co * cg + ci) * taps + t];
            }
        }
    }
    out
}

fn prep(d: &DirectConv, depthwise: bool) -> R<Prep> {
    let g = d.geom;
    let (m, taps, cg) = (d.m, g.kh * g.kw, g.c / d.group.max(1));
    let bad = |what: &str| Err(crate::BackendError::InvalidSpec(format!("direct_conv: {what}")));
    let (wlen, blen, mlen) = match &d.data {
        DirectData::F32 { w, bias } => (w.len(), bias.as_ref().map(Vec::len), None),
        DirectData::Quant(q) => (
            q.w.len(),
            q.bias.as_ref().map(Vec::len),
            q.requant.as_ref().map(|r| r.multipliers.len()),
        ),
    };
    if d.group == 0
        || !g.c.is_multiple_of(d.group)
        || !m.is_multiple_of(d.group)
        || wlen != m * cg * taps
    {
        return bad("weights do not match the geometry");
    }
    if blen.is_some_and(|b| b != m) || mlen.is_some_and(|l| l != 1 && l != m) {
        return bad("bias or multipliers do not match the output channels");
    }
    Ok(match &d.data {
        DirectData::F32 { w, bias } => Prep {
            w: f32_bytes(&reorder(w, m, cg, taps, depthwise)),
            bias: f32_bytes(
                &(0..m).map(|j| bias.as_ref().map_or(0.0, |b| b[j])).collect::<Vec<_>>(),
            ),
            mult: None,
            pad: vec![0; 4 * g.c],
        },
        DirectData::Quant(q) => {
            let zx = q.x_zero_point as i64;
            let zacc = q.requant.as_ref().map_or(0, |r| r.acc_zero_point as i64);
            let bias: Vec<i32> = (0..m)
                .map(|j| {
                    let wsum: i64 =
                        q.w[j * cg * taps..(j + 1) * cg * taps].iter().map(|&x| x as i64).sum();
                    (q.bias.as_ref().map_or(0, |b| b[j] as i64) - zx * wsum - zacc) as i32
                })
                .collect();
            let w: Vec<u8> =
                reorder(&q.w, m, cg, taps, depthwise).iter().map(|&x| x as u8).collect();
            let mult = q.requant.as_ref().map(|r| {
                let v: Vec<f32> =
                    (0..m)
                        .map(|j| {
                            if r.multipliers.len() == 1 {
                                r.multipliers[0]
                            } else {
                                r.multipliers[j]
                            }
                        })
                        .collect();
                f32_bytes(&v)
            });
            Prep { w, bias: i32_bytes(&bias), mult, pad: vec![q.x_zero_point as u8; g.c] }
        }
    })
}

/// The direct convolution (inputs: x NHWC; output: y NHWC).
pub(super) fn direct<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    d: &DirectConv,
) -> R<FunctionValue<'ctx>> {
    let g = d.geom;
    let (m, group) = (d.m, d.group.max(1));
    let (cgp, mg) = (g.c / group, m / group);
    let depthwise = cgp == 1 && mg == 1;
    let p = prep(d, depthwise)?;
    let (aw, ab, apad) = (cg.constant(&p.w), cg.constant(&p.bias), cg.constant(&p.pad));
    let am = p.mult.as_ref().map(|v| cg.constant(v));
    let k = cg.kernel(name, 2)?;
    let quant = match &d.data {
        DirectData::F32 { .. } => None,
        DirectData::Quant(q) => Some((q.x_signed, q.requant.clone())),
    };
    let (xt, wt, at): (BasicTypeEnum<'_>, BasicTypeEnum<'_>, BasicTypeEnum<'_>) = if quant.is_some()
    {
        (k.int(8).into(), k.int(8).into(), k.int(32).into())
    } else {
        (k.f32t().into(), k.f32t().into(), k.f32t().into())
    };
    let x = k.buf(0, xt)?;
    let pw = k.const_ptr(aw, wt)?;
    let pb = k.const_ptr(ab, at)?;
    let ppad = k.const_ptr(apad, xt)?;
    let pm = match am {
        Some(a) => Some(k.const_ptr(a, k.f32t())?),
        None => None,
    };
    let out_ty: BasicTypeEnum<'_> = match &quant {
        Some((_, Some(_))) => k.int(8).into(),
        Some((_, None)) => k.int(32).into(),
        None => k.f32t().into(),
    };
    let out = k.buf(1, out_ty)?;
    let cv = Conv { k: &k, quant, pw, pm, taps: g.kh * g.kw };
    k.for_range(k.r0, k.r1, &mut |r| {
        let (n, y) = split_row(&k, r, g.oh)?;
        let rbase = k.mul(r, k.i64c(g.ow as i64))?;
        k.for_n(g.ow, &mut |xo| {
            let tp = taps(&k, &g, (n, y, xo), g.c)?;
            let tp = tap_ptrs(&k, &tp, x, ppad)?;
            let obase = k.mul(k.add(rbase, xo)?, k.i64c(m as i64))?;
            let op = gep(&k, out, obase)?;
            if depthwise {
                k.for_n(m, &mut |ch| {
                    let mut acc = k.ld(at, pb, ch)?;
                    for (t, &xp) in tp.iter().enumerate() {
                        let wi = k.affine(k.i64c(t as i64), m, ch)?;
                        acc = cv.mac(acc, xp, ch, wi)?;
                    }
                    cv.store(op, ch, acc)
                })
            } else {
                k.for_n(group, &mut |gi| {
                    let xoff = k.mul(gi, k.i64c(cgp as i64))?;
                    k.for_n(mg, &mut |j| {
                        let co = k.affine(gi, mg, j)?;
                        let wrow = k.mul(co, k.i64c((cv.taps * cgp) as i64))?;
                        let acc = k.var(k.ld(at, pb, co)?)?;
                        for (t, &xp) in tp.iter().enumerate() {
                            let xp = gep(&k, xp, xoff)?;
                            let wt0 = k.add(wrow, k.i64c((t * cgp) as i64))?;
                            k.for_n(cgp, &mut |ci| {
                                let a = k.get(at, acc)?;
                                let a = cv.mac(a, xp, ci, k.add(wt0, ci)?)?;
                                k.set(acc, a)
                            })?;
                        }
                        cv.store(op, co, k.get(at, acc)?)
                    })
                })
            }
        })
    })?;
    k.finish()
}

/// The per-element arithmetic of a direct convolution.
struct Conv<'a, 'b, 'ctx> {
    k: &'a K<'b, 'ctx>,
    /// (input signed, requantization) for integer convolutions.
    quant: Option<(bool, Option<QRequant>)>,
    pw: PointerValue<'ctx>,
    pm: Option<PointerValue<'ctx>>,
    taps: usize,
}

impl<'ctx> Conv<'_, '_, 'ctx> {
    /// `acc + xp[xi]·w[wi]`.
    fn mac(
        &self,
        acc: inkwell::values::BasicValueEnum<'ctx>,
        xp: PointerValue<'ctx>,
        xi: IntValue<'ctx>,
        wi: IntValue<'ctx>,
    ) -> R<inkwell::values::BasicValueEnum<'ctx>> {
        let k = self.k;
        Ok(match &self.quant {
            Some((signed, _)) => {
                let xv = ld8(k, xp, xi, *signed)?;
                let wv = ld8(k, self.pw, wi, true)?;
                k.add(acc.into_int_value(), k.mul(xv, wv)?)?.into()
            }
            None => {
                let pr = k.fmul(k.ldf(xp, xi)?, k.ldf(self.pw, wi)?)?;
                k.fadd(acc.into_float_value(), pr)?.into()
            }
        })
    }

    /// Stores output channel `co` of the pixel at `op` (requantized when fused).
    fn store(
        &self,
        op: PointerValue<'ctx>,
        co: IntValue<'ctx>,
        acc: inkwell::values::BasicValueEnum<'ctx>,
    ) -> R<()> {
        let k = self.k;
        match (&self.quant, self.pm) {
            (Some((_, Some(r))), Some(pm)) => {
                let mv = k.ldf(pm, co)?;
                let q = k.requant(acc.into_int_value(), 0, mv, r.zero_point, r.lo, r.hi)?;
                k.st(op, co, k.trunc(q, k.int(8))?)
            }
            _ => k.st(op, co, acc),
        }
    }
}
