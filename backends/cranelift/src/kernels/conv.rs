//! Convolution kernels: im2col (NHWC or NCHW input through strides, rows `n·oh` split across
//! threads), the direct NHWC convolution (depthwise: vectorized over channels, 16 channels per
//! step for 8-bit and 4 for f32 with per-channel weight vectors, out-of-image taps read a
//! constant "padding row" so the inner loop has no branch; grouped: scalar per output channel),
//! and the NCHW ↔ NHWC relayout.
//!
//! Integer direct convolution: `acc = bias' + Σ x·w` with `bias' = bias − zx·Σw − zacc` folded at
//! compile time (padding taps read `zx`, so they contribute 0 to `Σ (x − zx)·w`), then the
//! exact requantize of [`super::cnn::requant_vec`].

use super::cnn::{fl, offset, range_loop, requant_scalar, requant_vec, vfl};
use super::counted_loop;
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64, I8, I8X16};
use cranelift_codegen::ir::{Function, InstBuilder, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::cnn::{ConvGeom, DirectConv, DirectData, Im2col, Relayout};

/// Per-pixel tap pointers: for output row `r` (`n·oh + y`) and column `xo`, the address of
/// input pixel (n, iy, ix) for every tap (i, j) of the window, or `pad` outside the image.
/// `pix` = bytes per pixel step in w, `row` = bytes per h step, `img` = bytes per image.
#[allow(clippy::too_many_arguments)]
fn tap_ptrs(
    b: &mut FunctionBuilder<'_>,
    g: &ConvGeom,
    base: Value,
    pad: Value,
    n: Value,
    y: Value,
    xo: Value,
    strides: (i64, i64, i64),
) -> Vec<(Value, Value)> {
    let (img, row, pix) = strides;
    let img_base = offset(b, base, n, img);
    let y0 = b.ins().imul_imm_s(y, g.stride.0 as i64);
    let y0 = b.ins().iadd_imm_s(y0, -(g.pad.0 as i64));
    let x0 = b.ins().imul_imm_s(xo, g.stride.1 as i64);
    let x0 = b.ins().iadd_imm_s(x0, -(g.pad.1 as i64));
    let mut out = Vec::new();
    for i in 0..g.kh {
        let iy = b.ins().iadd_imm_s(y0, (i * g.dilation.0) as i64);
        let oky = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, iy, g.h as i64);
        let rp = offset(b, img_base, iy, row);
        for j in 0..g.kw {
            let ix = b.ins().iadd_imm_s(x0, (j * g.dilation.1) as i64);
            let okx = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ix, g.w as i64);
            let ok = b.ins().band(oky, okx);
            let p = offset(b, rp, ix, pix);
            let sel = b.ins().select(ok, p, pad);
            out.push((sel, ok));
        }
    }
    out
}

/// (n, y) of output row `r`.
fn split_row(b: &mut FunctionBuilder<'_>, r: Value, oh: usize) -> (Value, Value) {
    let n = b.ins().udiv_imm_s(r, oh as i64);
    let y = b.ins().urem_imm_s(r, oh as i64);
    (n, y)
}

/// Copies `count` elements of `elem` bytes from `src` (element stride `stride`) to contiguous
/// `dst` (compile-time unrolled in 16-byte vectors when contiguous).
fn copy_run(
    b: &mut FunctionBuilder<'_>,
    src: Value,
    dst: Value,
    count: usize,
    elem: usize,
    stride: usize,
) {
    if stride == 1 {
        let bytes = count * elem;
        let chunks = bytes / 16;
        if chunks > 8 {
            counted_loop(b, chunks, &mut |b, i| {
                let s = offset(b, src, i, 16);
                let d = offset(b, dst, i, 16);
                let v = b.ins().load(I8X16, fl(), s, 0);
                b.ins().store(fl(), v, d, 0);
            });
        } else {
            for c in 0..chunks {
                let v = b.ins().load(I8X16, fl(), src, 16 * c as i32);
                b.ins().store(fl(), v, dst, 16 * c as i32);
            }
        }
        let mut done = chunks * 16;
        for (w, ty) in [(8usize, I64), (4, I32), (1, I8)] {
            while bytes - done >= w {
                let v = b.ins().load(ty, fl(), src, done as i32);
                b.ins().store(fl(), v, dst, done as i32);
                done += w;
            }
        }
    } else {
        let ty = if elem == 4 { I32 } else { I8 };
        let step = (stride * elem) as i32;
        if count <= 16 {
            for c in 0..count {
                let v = b.ins().load(ty, fl(), src, step * c as i32);
                b.ins().store(fl(), v, dst, (elem * c) as i32);
            }
        } else {
            counted_loop(b, count, &mut |b, c| {
                let s = offset(b, src, c, step as i64);
                let d = offset(b, dst, c, elem as i64);
                let v = b.ins().load(ty, fl(), s, 0);
                b.ins().store(fl(), v, d, 0);
            });
        }
    }
}

/// im2col rows `m0..m1` (of `n·oh`): each output pixel's row is `kh·kw` runs of `c` elements.
pub fn im2col(isa: &dyn TargetIsa, index: u32, k: &Im2col) -> Function {
    let g = k.geom;
    let e = k.elem;
    let [s_n, s_c, s_h, s_w] = k.in_strides.map(|s| (s * e) as i64);
    let krow = g.kh * g.kw * g.c * e;
    super::build_kernel(isa, index, |b, p| {
        let (px, pout, m0, m1) = (p[0], p[4], p[5], p[6]);
        // A pad run: c elements of the pad value, built once on the stack-free path: stores.
        let pad32 = if e == 4 { k.pad } else { k.pad * 0x0101_0101 };
        range_loop(b, m0, m1, &mut |b, r| {
            let (n, y) = split_row(b, r, g.oh);
            counted_loop(b, g.ow, &mut |b, xo| {
                let pix = b.ins().imul_imm_s(r, g.ow as i64);
                let pix = b.ins().iadd(pix, xo);
                let dst_row = offset(b, pout, pix, krow as i64);
                let zero = b.ins().iconst(I64, 0);
                let taps = tap_ptrs(b, &g, px, zero, n, y, xo, (s_n, s_h, s_w));
                for (t, &(src, ok)) in taps.iter().enumerate() {
                    let dst = b.ins().iadd_imm_s(dst_row, (t * g.c * e) as i64);
                    super::cnn::if_else(
                        b,
                        ok,
                        &mut |b| copy_run(b, src, dst, g.c, e, (s_c / e as i64) as usize),
                        &mut |b| fill(b, dst, g.c * e, pad32),
                    );
                }
            });
        });
    })
}

/// Stores `bytes` bytes of the repeated 32-bit pattern at `dst`.
fn fill(b: &mut FunctionBuilder<'_>, dst: Value, bytes: usize, pattern: u32) {
    let w = b.ins().iconst(I32, pattern as i64);
    let v = b.ins().splat(I32X4, w);
    let chunks = bytes / 16;
    if chunks > 8 {
        counted_loop(b, chunks, &mut |b, i| {
            let d = offset(b, dst, i, 16);
            b.ins().store(fl(), v, d, 0);
        });
    } else {
        for c in 0..chunks {
            b.ins().store(fl(), v, dst, 16 * c as i32);
        }
    }
    let mut done = chunks * 16;
    while bytes - done >= 4 {
        b.ins().store(fl(), w, dst, done as i32);
        done += 4;
    }
    while done < bytes {
        let x = b.ins().ireduce(I8, w);
        b.ins().store(fl(), x, dst, done as i32);
        done += 1;
    }
}

/// NCHW ↔ NHWC copy.
pub fn relayout(isa: &dyn TargetIsa, index: u32, k: &Relayout) -> Function {
    let e = k.elem as i64;
    let (c, hw) = (k.c as i64, k.hw as i64);
    let ty = if k.elem == 4 { I32 } else { I8 };
    super::build_kernel(isa, index, |b, p| {
        // `xi`: the NCHW side, `oi`: the NHWC side.
        let (pnchw, pnhwc) = if k.to_nhwc { (p[0], p[4]) } else { (p[4], p[0]) };
        counted_loop(b, k.n, &mut |b, n| {
            let xi = offset(b, pnchw, n, c * hw * e);
            let oi = offset(b, pnhwc, n, c * hw * e);
            counted_loop(b, k.c, &mut |b, ch| {
                counted_loop(b, k.hw, &mut |b, q| {
                    // NCHW index ch·hw + q, NHWC index q·c + ch.
                    let a = offset(b, xi, ch, hw * e);
                    let a = offset(b, a, q, e);
                    let o = offset(b, oi, q, c * e);
                    let o = offset(b, o, ch, e);
                    let (src, dst) = if k.to_nhwc { (a, o) } else { (o, a) };
                    let v = b.ins().load(ty, fl(), src, 0);
                    b.ins().store(fl(), v, dst, 0);
                });
            });
        });
    })
}

/// The direct convolution and its constants `[weights, bias ++ multipliers, padding row]`.
pub fn direct(isa: &dyn TargetIsa, index: u32, k: &DirectConv) -> (Function, Vec<AlignedBytes>) {
    let g = k.geom;
    let taps = g.kh * g.kw;
    let (c, m, group) = (g.c, k.m, k.group);
    let (cg, mg) = (c / group, m / group);
    let depthwise = cg == 1 && mg == 1;
    // Weights: depthwise [tap][m] (m padded to 16), else [m][tap][cg]; 4-byte words.
    let mp = m.div_ceil(16) * 16;
    let quant = matches!(k.data, DirectData::Quant(_));
    let (wv, bias, mult, pad_word, elem): (Vec<u32>, Vec<u32>, Vec<u32>, u32, usize) = match &k.data
    {
        DirectData::F32 { w, bias } => (
            weight_words(w, m, cg, taps, depthwise, mp, |x| x.to_bits()),
            (0..mp)
                .map(|j| bias.as_ref().and_then(|bb| bb.get(j)).map_or(0, |x| x.to_bits()))
                .collect(),
            vec![],
            0,
            4,
        ),
        DirectData::Quant(q) => {
            let zx = q.x_zero_point as i64;
            let zacc = q.requant.as_ref().map_or(0, |r| r.acc_zero_point as i64);
            let folded = (0..mp).map(|j| {
                if j >= m {
                    return 0u32;
                }
                let wsum: i64 =
                    q.w[j * cg * taps..(j + 1) * cg * taps].iter().map(|&x| x as i64).sum();
                let v = q.bias.as_ref().map_or(0, |bb| bb[j] as i64) - zx * wsum - zacc;
                v as i32 as u32
            });
            let mult = match &q.requant {
                None => vec![],
                Some(r) => (0..mp)
                    .map(|j| {
                        let x = if r.multipliers.len() == 1 {
                            r.multipliers[0]
                        } else {
                            r.multipliers.get(j).copied().unwrap_or(0.0)
                        };
                        x.to_bits()
                    })
                    .collect(),
            };
            (
                weight_words(&q.w, m, cg, taps, depthwise, mp, |x| x as i32 as u32),
                folded.collect(),
                mult,
                (q.x_zero_point as u32) & 0xff,
                1,
            )
        }
    };
    let mut bm = bias.clone();
    bm.extend_from_slice(&mult);
    let pad_len = c * elem;
    let pad_bytes: Vec<u8> = if elem == 4 {
        (0..c).flat_map(|_| 0f32.to_le_bytes()).collect()
    } else {
        vec![pad_word as u8; c]
    };
    let mut padrow = AlignedBytes::zeroed(pad_len + 16);
    padrow.as_mut_slice()[..pad_len].copy_from_slice(&pad_bytes);
    let consts = vec![
        AlignedBytes::from_words(wv.iter().copied(), wv.len()),
        AlignedBytes::from_words(bm.iter().copied(), bm.len().max(1)),
        padrow,
    ];
    let (requant, signed_in, out_bytes) = match &k.data {
        DirectData::F32 { .. } => (None, false, 4usize),
        DirectData::Quant(q) => {
            (q.requant.clone(), q.x_signed, if q.requant.is_some() { 1 } else { 4 })
        }
    };
    let spec = Spec { m, mp, cg, mg, taps, quant, signed_in, requant, elem, out_bytes };
    let f = super::build_kernel(isa, index, |b, p| {
        let (px, pw, pb, ppad, pout, m0, m1) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        let e = elem as i64;
        range_loop(b, m0, m1, &mut |b, r| {
            let (n, y) = split_row(b, r, g.oh);
            counted_loop(b, g.ow, &mut |b, xo| {
                let pix = b.ins().imul_imm_s(r, g.ow as i64);
                let pix = b.ins().iadd(pix, xo);
                let out_px = offset(b, pout, pix, (m * out_bytes) as i64);
                let tp = tap_ptrs(
                    b,
                    &g,
                    px,
                    ppad,
                    n,
                    y,
                    xo,
                    ((g.h * g.w * c) as i64 * e, (g.w * c) as i64 * e, c as i64 * e),
                );
                let tp: Vec<Value> = tp.into_iter().map(|(p, _)| p).collect();
                if depthwise {
                    spec.depthwise_pixel(b, &tp, pw, pb, out_px);
                } else {
                    spec.grouped_pixel(b, &tp, pw, pb, out_px);
                }
            });
        });
    });
    (f, consts)
}

fn weight_words<T: Copy>(
    w: &[T],
    m: usize,
    cg: usize,
    taps: usize,
    depthwise: bool,
    mp: usize,
    f: impl Fn(T) -> u32,
) -> Vec<u32> {
    if depthwise {
        let mut out = vec![0u32; taps * mp];
        for co in 0..m {
            for t in 0..taps {
                out[t * mp + co] = f(w[co * taps + t]);
            }
        }
        out
    } else {
        // [m][tap][cg] from [m][cg][tap].
        let mut out = vec![0u32; m * taps * cg];
        for co in 0..m {
            for ci in 0..cg {
                for t in 0..taps {
                    out[(co * taps + t) * cg + ci] = f(w[(co * cg + ci) * taps + t]);
                }
            }
        }
        out
    }
}

struct Spec {
    m: usize,
    mp: usize,
    cg: usize,
    mg: usize,
    taps: usize,
    quant: bool,
    signed_in: bool,
    requant: Option<qcc_lowering::QRequant>,
    elem: usize,
    out_bytes: usize,
}

impl Spec {
    /// Loads 4·`nv` input channels at `ptr + off` as i32x4 / f32x4 vectors.
    fn load_x(&self, b: &mut FunctionBuilder<'_>, ptr: Value, off: i32, nv: usize) -> Vec<Value> {
        if !self.quant {
            return (0..nv).map(|v| b.ins().load(F32X4, fl(), ptr, off + 16 * v as i32)).collect();
        }
        let widen16 = |b: &mut FunctionBuilder<'_>, v: Value, hi: bool| match (self.signed_in, hi) {
            (true, false) => b.ins().swiden_low(v),
            (true, true) => b.ins().swiden_high(v),
            (false, false) => b.ins().uwiden_low(v),
            (false, true) => b.ins().uwiden_high(v),
        };
        if nv == 4 {
            let v = b.ins().load(I8X16, fl(), ptr, off);
            let lo = widen16(b, v, false);
            let hi = widen16(b, v, true);
            let mut out = Vec::new();
            for h in [lo, hi] {
                out.push(widen16(b, h, false));
                out.push(widen16(b, h, true));
            }
            out
        } else {
            let w = b.ins().load(I32, fl(), ptr, off);
            let v = b.ins().scalar_to_vector(I32X4, w);
            let v = b.ins().bitcast(I8X16, vfl(), v);
            let h = widen16(b, v, false);
            vec![widen16(b, h, false)]
        }
    }

    fn depthwise_pixel(
        &self,
        b: &mut FunctionBuilder<'_>,
        tp: &[Value],
        pw: Value,
        pb: Value,
        out: Value,
    ) {
        let m = self.m;
        // 16-channel blocks in a runtime loop (small code, fast to compile), then up to three
        // 4-channel blocks and a scalar tail unrolled.
        let blocks = m / 16;
        let e = if self.quant { self.elem as i64 } else { 4 };
        if blocks > 0 {
            counted_loop(b, blocks, &mut |b, i| {
                let tpi: Vec<Value> = tp.iter().map(|&p| offset(b, p, i, 16 * e)).collect();
                let pwi = offset(b, pw, i, 64);
                let pbi = offset(b, pb, i, 64);
                let oi = offset(b, out, i, (16 * self.out_bytes) as i64);
                self.depthwise_block(b, &tpi, pwi, pbi, oi, 0, 4);
            });
        }
        let mut c0 = blocks * 16;
        while c0 + 4 <= m {
            self.depthwise_block(b, tp, pw, pb, out, c0, 1);
            c0 += 4;
        }
        for c in c0..m {
            self.channel_scalar(b, tp, pw, pb, out, c, true);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn depthwise_block(
        &self,
        b: &mut FunctionBuilder<'_>,
        tp: &[Value],
        pw: Value,
        pb: Value,
        out: Value,
        c0: usize,
        nv: usize,
    ) {
        let (vt, e) = if self.quant { (I32X4, self.elem) } else { (F32X4, 4) };
        let mut acc: Vec<Value> =
            (0..nv).map(|v| b.ins().load(vt, fl(), pb, (4 * (c0 + 4 * v)) as i32)).collect();
        for (t, &p) in tp.iter().enumerate() {
            let xs = self.load_x(b, p, (c0 * e) as i32, nv);
            for v in 0..nv {
                let w = b.ins().load(vt, fl(), pw, (4 * (t * self.mp + c0 + 4 * v)) as i32);
                if self.quant {
                    let pr = b.ins().imul(xs[v], w);
                    acc[v] = b.ins().iadd(acc[v], pr);
                } else {
                    let pr = b.ins().fmul(xs[v], w);
                    acc[v] = b.ins().fadd(acc[v], pr);
                }
            }
        }
        let ob = self.out_bytes;
        match &self.requant {
            None => {
                for (v, a) in acc.iter().enumerate() {
                    b.ins().store(fl(), *a, out, ((c0 + 4 * v) * ob) as i32);
                }
            }
            Some(r) => {
                let mult_base = 4 * self.mp;
                let q: Vec<Value> = acc
                    .iter()
                    .enumerate()
                    .map(|(v, &a)| {
                        let mv =
                            b.ins().load(F32X4, fl(), pb, (mult_base + 4 * (c0 + 4 * v)) as i32);
                        requant_vec(b, a, mv, r.zero_point, r.lo, r.hi)
                    })
                    .collect();
                let narrow = |b: &mut FunctionBuilder<'_>, h0: Value, h1: Value| {
                    if r.signed {
                        b.ins().snarrow(h0, h1)
                    } else {
                        b.ins().unarrow(h0, h1)
                    }
                };
                if nv == 4 {
                    let h0 = b.ins().snarrow(q[0], q[1]);
                    let h1 = b.ins().snarrow(q[2], q[3]);
                    let v = narrow(b, h0, h1);
                    b.ins().store(fl(), v, out, c0 as i32);
                } else {
                    let h = b.ins().snarrow(q[0], q[0]);
                    let v = narrow(b, h, h);
                    let w = b.ins().bitcast(I32X4, vfl(), v);
                    let x = b.ins().extractlane(w, 0);
                    b.ins().store(fl(), x, out, c0 as i32);
                }
            }
        }
    }

    /// One output channel `co` of one pixel, scalar.
    #[allow(clippy::too_many_arguments)]
    fn channel_scalar(
        &self,
        b: &mut FunctionBuilder<'_>,
        tp: &[Value],
        pw: Value,
        pb: Value,
        out: Value,
        co: usize,
        depthwise: bool,
    ) {
        let st = if self.quant { I32 } else { F32 };
        let mut acc = b.ins().load(st, fl(), pb, (4 * co) as i32);
        let gi = co / self.mg;
        for (t, &p) in tp.iter().enumerate() {
            for ci in 0..self.cg {
                let ch = gi * self.cg + ci;
                let woff =
                    if depthwise { t * self.mp + co } else { (co * self.taps + t) * self.cg + ci };
                let w = b.ins().load(st, fl(), pw, (4 * woff) as i32);
                if self.quant {
                    let x = b.ins().load(I8, fl(), p, ch as i32);
                    let x = if self.signed_in {
                        b.ins().sextend(I32, x)
                    } else {
                        b.ins().uextend(I32, x)
                    };
                    let pr = b.ins().imul(x, w);
                    acc = b.ins().iadd(acc, pr);
                } else {
                    let x = b.ins().load(F32, fl(), p, (4 * ch) as i32);
                    let pr = b.ins().fmul(x, w);
                    acc = b.ins().fadd(acc, pr);
                }
            }
        }
        match &self.requant {
            None => {
                b.ins().store(fl(), acc, out, (co * self.out_bytes) as i32);
            }
            Some(r) => {
                let mv = b.ins().load(F32, fl(), pb, (4 * (self.mp + co)) as i32);
                let q = requant_scalar(b, acc, mv, r.zero_point, r.lo, r.hi);
                let q = b.ins().ireduce(I8, q);
                b.ins().store(fl(), q, out, co as i32);
            }
        }
    }

    fn grouped_pixel(
        &self,
        b: &mut FunctionBuilder<'_>,
        tp: &[Value],
        pw: Value,
        pb: Value,
        out: Value,
    ) {
        let cg = self.cg;
        if self.m * self.taps * cg <= 256 {
            for co in 0..self.m {
                self.channel_scalar(b, tp, pw, pb, out, co, false);
            }
        } else {
            // Large layers: a runtime loop over output channels (same arithmetic).
            let st = if self.quant { I32 } else { F32 };
            counted_loop(b, self.m, &mut |b, co| {
                let bp = offset(b, pb, co, 4);
                let mut acc = b.ins().load(st, fl(), bp, 0);
                let gi = b.ins().udiv_imm_s(co, self.mg as i64);
                let chb = b.ins().imul_imm_s(gi, cg as i64);
                let wrow = offset(b, pw, co, (4 * self.taps * cg) as i64);
                for (t, &p) in tp.iter().enumerate() {
                    let xp = offset(b, p, chb, if self.quant { 1 } else { 4 });
                    for ci in 0..cg {
                        let w = b.ins().load(st, fl(), wrow, (4 * (t * cg + ci)) as i32);
                        if self.quant {
                            let x = b.ins().load(I8, fl(), xp, ci as i32);
                            let x = if self.signed_in {
                                b.ins().sextend(I32, x)
                            } else {
                                b.ins().uextend(I32, x)
                            };
                            let pr = b.ins().imul(x, w);
                            acc = b.ins().iadd(acc, pr);
                        } else {
                            let x = b.ins().load(F32, fl(), xp, (4 * ci) as i32);
                            let pr = b.ins().fmul(x, w);
                            acc = b.ins().fadd(acc, pr);
                        }
                    }
                }
                match &self.requant {
                    None => {
                        let o = offset(b, out, co, self.out_bytes as i64);
                        b.ins().store(fl(), acc, o, 0);
                    }
                    Some(r) => {
                        let mp = offset(b, pb, co, 4);
                        let mv = b.ins().load(F32, fl(), mp, (4 * self.mp) as i32);
                        let q = requant_scalar(b, acc, mv, r.zero_point, r.lo, r.hi);
                        let q = b.ins().ireduce(I8, q);
                        let o = b.ins().iadd(out, co);
                        b.ins().store(fl(), q, o, 0);
                    }
                }
            });
        }
    }
}
