//! Convolutions in f32: `Conv` (im2col + gemm, a direct loop when each group has one input
//! channel, e.g. depthwise; 1×1 stride-1 unpadded convolutions read the input in place) and
//! `ConvTranspose` (gemm + col2im). Also the spatial geometry (pads, auto_pad, strides,
//! dilations, ceil mode) shared with pooling and the integer convolutions, and a generic im2col.
//!
//! 1-d and 2-d problems are run as 3-d ones with leading extent-1 spatial axes.

use super::matmul::{sgemm, Mat};
use super::util::{attr_err, cmul, dtype_err, float_out, floats, numel, shape_err, Args, R};
use crate::ops::{AutoPad, ConvAttrs, ConvTransposeAttrs};
use crate::tensor::Tensor;

/// The geometry of a windowed op over up to 3 spatial axes (padded to 3 with extent-1 axes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spatial {
    /// Number of real spatial axes (1..=3).
    pub nsp: usize,
    /// Input extents.
    pub ins: [usize; 3],
    /// Kernel extents.
    pub ks: [usize; 3],
    /// Strides.
    pub st: [usize; 3],
    /// Dilations.
    pub di: [usize; 3],
    /// Pads at the start.
    pub pb: [usize; 3],
    /// Pads at the end.
    pub pe: [usize; 3],
    /// Output extents.
    pub outs: [usize; 3],
}

impl Spatial {
    /// Input volume.
    pub fn ivol(&self) -> usize {
        self.ins.iter().product()
    }
    /// Output volume.
    pub fn ovol(&self) -> usize {
        self.outs.iter().product()
    }
    /// Kernel volume.
    pub fn kvol(&self) -> usize {
        self.ks.iter().product()
    }
    /// The real output spatial extents.
    pub fn out_dims(&self) -> Vec<usize> {
        self.outs[3 - self.nsp..].to_vec()
    }
    /// True for a 1×1 kernel with unit strides and no padding (output = input positions).
    pub fn is_pointwise(&self) -> bool {
        self.ks == [1; 3] && self.st == [1; 3] && self.pb == [0; 3] && self.pe == [0; 3]
    }
}

fn pad3(v: &[usize], nsp: usize, fill: usize) -> [usize; 3] {
    let mut o = [fill; 3];
    o[3 - nsp..].copy_from_slice(v);
    o
}

/// Computes the geometry of a window op. `pads` are ONNX-ordered (begins then ends).
#[allow(clippy::too_many_arguments)]
pub(crate) fn spatial(
    ins: &[usize],
    ks: &[usize],
    strides: &[usize],
    dilations: &[usize],
    pads: &[usize],
    auto_pad: AutoPad,
    ceil_mode: bool,
) -> R<Spatial> {
    let nsp = ins.len();
    if nsp == 0 || nsp > 3 {
        return Err(shape_err(format!("1 to 3 spatial axes are supported, got {nsp}")));
    }
    if ks.len() != nsp {
        return Err(attr_err(format!("kernel has {} axes for {nsp} spatial axes", ks.len())));
    }
    let st = if strides.is_empty() { vec![1; nsp] } else { strides.to_vec() };
    let di = if dilations.is_empty() { vec![1; nsp] } else { dilations.to_vec() };
    if st.len() != nsp || di.len() != nsp {
        return Err(attr_err(format!(
            "strides {strides:?} / dilations {dilations:?} need {nsp} values"
        )));
    }
    if st.contains(&0) || di.contains(&0) || ks.contains(&0) {
        return Err(attr_err("strides, dilations and kernel extents must be positive"));
    }
    if !pads.is_empty() && pads.len() != 2 * nsp {
        return Err(attr_err(format!("pads {pads:?} need {} values", 2 * nsp)));
    }
    let mut pb = vec![0; nsp];
    let mut pe = vec![0; nsp];
    let mut outs = vec![0; nsp];
    for i in 0..nsp {
        let eff = cmul(ks[i] - 1, di[i])? + 1;
        match auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                let o = ins[i].div_ceil(st[i]);
                let need =
                    (o.saturating_sub(1)).checked_mul(st[i]).ok_or(super::OpError::Overflow)? + eff;
                let total = need.saturating_sub(ins[i]);
                let small = total / 2;
                (pb[i], pe[i]) = if auto_pad == AutoPad::SameUpper {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                outs[i] = o;
                continue;
            }
            AutoPad::Valid => {}
            AutoPad::NotSet => {
                if !pads.is_empty() {
                    pb[i] = pads[i];
                    pe[i] = pads[nsp + i];
                }
            }
        }
        let padded = ins[i]
            .checked_add(pb[i])
            .and_then(|x| x.checked_add(pe[i]))
            .ok_or(super::OpError::Overflow)?;
        if padded < eff {
            return Err(shape_err(format!(
                "window of extent {eff} does not fit padded input extent {padded} (axis {i})"
            )));
        }
        let span = padded - eff;
        outs[i] = if ceil_mode {
            let mut o = span.div_ceil(st[i]) + 1;
            if (o - 1) * st[i] >= ins[i] + pb[i] {
                o -= 1;
            }
            o
        } else {
            span / st[i] + 1
        };
    }
    Ok(Spatial {
        nsp,
        ins: pad3(ins, nsp, 1),
        ks: pad3(ks, nsp, 1),
        st: pad3(&st, nsp, 1),
        di: pad3(&di, nsp, 1),
        pb: pad3(&pb, nsp, 0),
        pe: pad3(&pe, nsp, 0),
        outs: pad3(&outs, nsp, 1),
    })
}

/// The valid output range `[lo, hi)` along one axis for kernel tap `k`: positions whose input
/// coordinate `o·s + k·d − pb` lies in `[0, n)`.
#[inline]
pub(crate) fn valid_range(
    n: usize,
    out: usize,
    s: usize,
    d: usize,
    pb: usize,
    k: usize,
) -> (usize, usize) {
    let off = (k * d) as isize - pb as isize;
    let lo = if off >= 0 { 0 } else { ((-off) as usize).div_ceil(s) };
    let last = n as isize - 1 - off;
    let hi = if last < 0 { 0 } else { (last as usize / s + 1).min(out) };
    (lo.min(hi), hi)
}

/// Geometry of a convolution from input and weight shapes ([N, C, ...], [M, C/group, ...]).
pub(crate) fn conv_geom(
    xs: &[usize],
    ws: &[usize],
    at: &ConvAttrs,
) -> R<(usize, usize, usize, usize, Spatial)> {
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(shape_err(format!("conv input {xs:?} and weight {ws:?} ranks do not fit")));
    }
    let group = if at.group == 0 { 1 } else { at.group };
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if c % group != 0 || m % group != 0 || ws[1] * group != c {
        return Err(shape_err(format!(
            "conv input {xs:?}, weight {ws:?} and group {group} do not fit"
        )));
    }
    let ks = &ws[2..];
    if !at.kernel_shape.is_empty() && at.kernel_shape != ks {
        return Err(attr_err(format!(
            "kernel_shape {:?} differs from weight {ws:?}",
            at.kernel_shape
        )));
    }
    let sp = spatial(&xs[2..], ks, &at.strides, &at.dilations, &at.pads, at.auto_pad, false)?;
    Ok((n, c, m, group, sp))
}

/// im2col of one group of one image `x` (`cg` channels of `ivol` elements) for output rows
/// `rows` (flattened (od, oh) rows of `ow` positions each): `col[(c, kd, kh, kw)][pos]`.
pub(crate) fn im2col<T: Copy>(
    x: &[T],
    cg: usize,
    sp: &Spatial,
    pad: T,
    rows: std::ops::Range<usize>,
    col: &mut Vec<T>,
) {
    let [_, ih, iw] = sp.ins;
    let [oh_n, ow_n] = [sp.outs[1], sp.outs[2]];
    let width = rows.len() * ow_n;
    col.clear();
    col.resize(cg * sp.kvol() * width, pad);
    let mut r = 0;
    for c in 0..cg {
        let xc = &x[c * sp.ivol()..(c + 1) * sp.ivol()];
        for kd in 0..sp.ks[0] {
            for kh in 0..sp.ks[1] {
                for kw in 0..sp.ks[2] {
                    let dst = &mut col[r * width..(r + 1) * width];
                    let (lo, hi) = valid_range(iw, ow_n, sp.st[2], sp.di[2], sp.pb[2], kw);
                    for (ri, row) in rows.clone().enumerate() {
                        let (od, oh) = (row / oh_n, row % oh_n);
                        let id = (od * sp.st[0] + kd * sp.di[0]) as isize - sp.pb[0] as isize;
                        let ihh = (oh * sp.st[1] + kh * sp.di[1]) as isize - sp.pb[1] as isize;
                        if id < 0
                            || id >= sp.ins[0] as isize
                            || ihh < 0
                            || ihh >= ih as isize
                            || lo >= hi
                        {
                            continue;
                        }
                        let base = (id as usize * ih + ihh as usize) * iw;
                        let d = &mut dst[ri * ow_n..(ri + 1) * ow_n];
                        let s = sp.st[2];
                        let start = (lo * s + kw * sp.di[2]) as isize - sp.pb[2] as isize;
                        let start = base + start as usize;
                        if s == 1 {
                            d[lo..hi].copy_from_slice(&xc[start..start + (hi - lo)]);
                        } else {
                            for (j, o) in d[lo..hi].iter_mut().enumerate() {
                                *o = xc[start + j * s];
                            }
                        }
                    }
                    r += 1;
                }
            }
        }
    }
}

/// Output rows per im2col tile, keeping the column buffer near `budget` elements.
pub(crate) fn tile_rows(sp: &Spatial, k: usize, budget: usize) -> usize {
    let per_row = (k * sp.outs[2]).max(1);
    (budget / per_row).max(1)
}

/// `Conv(x, w, b?)` on floats.
pub(crate) fn conv(a: &Args<'_>, at: &ConvAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let (x, w) = (a.req(0)?, a.req(1)?);
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    if w.dtype != x.dtype {
        return Err(dtype_err(1, w.dtype));
    }
    let (n, c, m, group, sp) = conv_geom(&x.shape, &w.shape, at)?;
    let bias = match a.opt(2) {
        Some(b) => {
            if b.dtype != x.dtype {
                return Err(dtype_err(2, b.dtype));
            }
            if b.shape != [m] {
                return Err(shape_err(format!("bias {:?} must be [{m}]", b.shape)));
            }
            Some(floats(b, 2)?)
        }
        None => None,
    };
    let (xv, wv) = (floats(x, 0)?, floats(w, 1)?);
    let mut oshape = vec![n, m];
    oshape.extend(sp.out_dims());
    let total = numel(&oshape)?;
    let (ivol, ovol, kvol) = (sp.ivol(), sp.ovol(), sp.kvol());
    let (cg, mg) = (c / group, m / group);
    let kk = cmul(cg, kvol)?;
    let mut out = vec![0f32; total];
    if let Some(b) = &bias {
        for (i, o) in out.chunks_mut(ovol.max(1)).enumerate() {
            o.fill(b[i % m]);
        }
    }
    let acc = bias.is_some();
    let nrows = sp.outs[0] * sp.outs[1];
    let tr = tile_rows(&sp, kk, 1 << 21);
    let mut col = Vec::new();
    for ni in 0..n {
        for g in 0..group {
            let xg = &xv[(ni * c + g * cg) * ivol..(ni * c + (g + 1) * cg) * ivol];
            let ooff = (ni * m + g * mg) * ovol;
            let woff = g * mg * kk;
            if cg == 1 && !sp.is_pointwise() {
                direct(xg, &wv[woff..woff + mg * kk], mg, &sp, &mut out[ooff..ooff + mg * ovol]);
            } else if sp.is_pointwise() {
                sgemm(
                    mg,
                    ovol,
                    cg,
                    Mat::rows(&wv, woff, kk),
                    Mat::rows(xg, 0, ivol),
                    &mut out,
                    ooff,
                    ovol,
                    acc,
                    1.0,
                );
            } else {
                let mut r0 = 0;
                while r0 < nrows {
                    let r1 = (r0 + tr).min(nrows);
                    im2col(xg, cg, &sp, 0.0f32, r0..r1, &mut col);
                    let width = (r1 - r0) * sp.outs[2];
                    sgemm(
                        mg,
                        width,
                        kk,
                        Mat::rows(&wv, woff, kk),
                        Mat::rows(&col, 0, width),
                        &mut out,
                        ooff + r0 * sp.outs[2],
                        ovol,
                        acc,
                        1.0,
                    );
                    r0 = r1;
                }
            }
        }
    }
    float_out(x.dtype, oshape, out)
}

/// Direct convolution of one group with a single input channel into `mg` output channels
/// (accumulating into `out`, which holds the bias or zeros).
fn direct(x: &[f32], w: &[f32], mg: usize, sp: &Spatial, out: &mut [f32]) {
    let [id_n, ih_n, iw_n] = sp.ins;
    let [od_n, oh_n, ow_n] = sp.outs;
    let kvol = sp.kvol();
    for oc in 0..mg {
        let wk = &w[oc * kvol..(oc + 1) * kvol];
        let o = &mut out[oc * od_n * oh_n * ow_n..(oc + 1) * od_n * oh_n * ow_n];
        for od in 0..od_n {
            for oh in 0..oh_n {
                let orow = &mut o[(od * oh_n + oh) * ow_n..(od * oh_n + oh + 1) * ow_n];
                for kd in 0..sp.ks[0] {
                    let id = (od * sp.st[0] + kd * sp.di[0]) as isize - sp.pb[0] as isize;
                    if id < 0 || id >= id_n as isize {
                        continue;
                    }
                    for kh in 0..sp.ks[1] {
                        let ih = (oh * sp.st[1] + kh * sp.di[1]) as isize - sp.pb[1] as isize;
                        if ih < 0 || ih >= ih_n as isize {
                            continue;
                        }
                        let xrow = &x[(id as usize * ih_n + ih as usize) * iw_n..][..iw_n];
                        for kw in 0..sp.ks[2] {
                            let wv = wk[(kd * sp.ks[1] + kh) * sp.ks[2] + kw];
                            let (lo, hi) =
                                valid_range(iw_n, ow_n, sp.st[2], sp.di[2], sp.pb[2], kw);
                            if lo >= hi {
                                continue;
                            }
                            let start = ((lo * sp.st[2] + kw * sp.di[2]) as isize
                                - sp.pb[2] as isize)
                                as usize;
                            if sp.st[2] == 1 {
                                for (ov, xv) in
                                    orow[lo..hi].iter_mut().zip(&xrow[start..start + hi - lo])
                                {
                                    *ov += wv * xv;
                                }
                            } else {
                                for (j, ov) in orow[lo..hi].iter_mut().enumerate() {
                                    *ov += wv * xrow[start + j * sp.st[2]];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `ConvTranspose(x, w, b?)` on floats: w is [C, M/group, k...].
pub(crate) fn conv_transpose(a: &Args<'_>, at: &ConvTransposeAttrs) -> R<Tensor> {
    a.arity(2, 3)?;
    let (x, w) = (a.req(0)?, a.req(1)?);
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    if w.dtype != x.dtype {
        return Err(dtype_err(1, w.dtype));
    }
    let ca = &at.conv;
    let xs = &x.shape;
    let ws = &w.shape;
    if xs.len() < 3 || ws.len() != xs.len() || xs.len() > 5 {
        return Err(shape_err(format!("ConvTranspose input {xs:?} and weight {ws:?} do not fit")));
    }
    let nsp = xs.len() - 2;
    let group = ca.group.max(1);
    let (n, c) = (xs[0], xs[1]);
    if ws[0] != c || c % group != 0 {
        return Err(shape_err(format!("ConvTranspose input {xs:?}, weight {ws:?}, group {group}")));
    }
    let mg = ws[1];
    let m = cmul(mg, group)?;
    let ks = ws[2..].to_vec();
    if !ca.kernel_shape.is_empty() && ca.kernel_shape != ks {
        return Err(attr_err("kernel_shape differs from the weight"));
    }
    let get = |v: &[usize], def: usize, what: &str| -> R<Vec<usize>> {
        if v.is_empty() {
            Ok(vec![def; nsp])
        } else if v.len() == nsp {
            Ok(v.to_vec())
        } else {
            Err(attr_err(format!("{what} {v:?} needs {nsp} values")))
        }
    };
    let st = get(&ca.strides, 1, "strides")?;
    let di = get(&ca.dilations, 1, "dilations")?;
    let op = get(&at.output_padding, 0, "output_padding")?;
    if st.contains(&0) || di.contains(&0) {
        return Err(attr_err("strides and dilations must be positive"));
    }
    if !ca.pads.is_empty() && ca.pads.len() != 2 * nsp {
        return Err(attr_err("pads need 2 values per spatial axis"));
    }
    let mut pb = vec![0usize; nsp];
    let mut pe = vec![0usize; nsp];
    let mut outs = vec![0usize; nsp];
    for i in 0..nsp {
        let eff = cmul(ks[i].saturating_sub(1), di[i])? + 1;
        let full = cmul(st[i], xs[2 + i].saturating_sub(1))? + op[i] + eff;
        let target = if !at.output_shape.is_empty() {
            if at.output_shape.len() != nsp {
                return Err(attr_err("output_shape needs one value per spatial axis"));
            }
            Some(at.output_shape[i])
        } else if matches!(ca.auto_pad, AutoPad::SameUpper | AutoPad::SameLower) {
            Some(cmul(xs[2 + i], st[i])?)
        } else {
            None
        };
        match target {
            Some(t) => {
                let total =
                    full.checked_sub(t).ok_or_else(|| shape_err("output_shape too large"))?;
                if ca.auto_pad == AutoPad::SameUpper {
                    pb[i] = total / 2;
                    pe[i] = total - total / 2;
                } else {
                    pb[i] = total - total / 2;
                    pe[i] = total / 2;
                }
                outs[i] = t;
            }
            None => {
                if !ca.pads.is_empty() && ca.auto_pad == AutoPad::NotSet {
                    pb[i] = ca.pads[i];
                    pe[i] = ca.pads[nsp + i];
                }
                outs[i] = full
                    .checked_sub(pb[i] + pe[i])
                    .ok_or_else(|| shape_err("pads larger than the output"))?;
            }
        }
    }
    // Run in 3-d: the "input" of the equivalent conv geometry is our output.
    let sp = Spatial {
        nsp,
        ins: pad3(&outs, nsp, 1),
        ks: pad3(&ks, nsp, 1),
        st: pad3(&st, nsp, 1),
        di: pad3(&di, nsp, 1),
        pb: pad3(&pb, nsp, 0),
        pe: pad3(&pe, nsp, 0),
        outs: pad3(&xs[2..], nsp, 1),
    };
    let bias = match a.opt(2) {
        Some(b) if b.shape != [m] => {
            return Err(shape_err(format!("bias {:?} must be [{m}]", b.shape)))
        }
        Some(b) => Some(floats(b, 2)?),
        None => None,
    };
    let (xv, wv) = (floats(x, 0)?, floats(w, 1)?);
    let cg = c / group;
    let (xvol, yvol, kvol) = (sp.ovol(), sp.ivol(), sp.kvol());
    let kk = cmul(mg, kvol)?;
    let mut oshape = vec![n, m];
    oshape.extend(&outs);
    let mut out = vec![0f32; numel(&oshape)?];
    let mut col = vec![0f32; cmul(kk, xvol)?];
    for ni in 0..n {
        for g in 0..group {
            let xoff = (ni * c + g * cg) * xvol;
            // col[kk, xvol] = w_gᵀ · x_g, w_g is [cg, kk] row-major.
            sgemm(
                kk,
                xvol,
                cg,
                Mat { data: &wv, off: g * cg * kk, rs: 1, cs: kk },
                Mat::rows(&xv, xoff, xvol),
                &mut col,
                0,
                xvol,
                false,
                1.0,
            );
            let obase = (ni * m + g * mg) * yvol;
            col2im(&col, mg, &sp, &mut out[obase..obase + mg * yvol]);
        }
    }
    if let Some(b) = bias {
        for (i, o) in out.chunks_mut(yvol.max(1)).enumerate() {
            let bv = b[i % m];
            o.iter_mut().for_each(|v| *v += bv);
        }
    }
    float_out(x.dtype, oshape, out)
}

fn col2im(col: &[f32], mg: usize, sp: &Spatial, out: &mut [f32]) {
    let [yd, yh, yw] = sp.ins;
    let [xd, xh, xw] = sp.outs;
    let xvol = xd * xh * xw;
    let mut r = 0;
    for mc in 0..mg {
        let o = &mut out[mc * yd * yh * yw..(mc + 1) * yd * yh * yw];
        for kd in 0..sp.ks[0] {
            for kh in 0..sp.ks[1] {
                for kw in 0..sp.ks[2] {
                    let crow = &col[r * xvol..(r + 1) * xvol];
                    r += 1;
                    let (lo, hi) = valid_range(yw, xw, sp.st[2], sp.di[2], sp.pb[2], kw);
                    for i0 in 0..xd {
                        let od = (i0 * sp.st[0] + kd * sp.di[0]) as isize - sp.pb[0] as isize;
                        if od < 0 || od >= yd as isize {
                            continue;
                        }
                        for i1 in 0..xh {
                            let oh = (i1 * sp.st[1] + kh * sp.di[1]) as isize - sp.pb[1] as isize;
                            if oh < 0 || oh >= yh as isize {
                                continue;
                            }
                            let orow = (od as usize * yh + oh as usize) * yw;
                            let crow = &crow[(i0 * xh + i1) * xw..];
                            for i2 in lo..hi {
                                let ow = i2 * sp.st[2] + kw * sp.di[2] - sp.pb[2];
                                o[orow + ow] += crow[i2];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A naive direct f32 convolution (2-d spatial, NCHW) for tests.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn naive_conv2d(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    group: usize,
    st: [usize; 2],
    di: [usize; 2],
    pads: [usize; 4],
) -> (Vec<f32>, [usize; 4]) {
    let [n, c, h, wd] = xs;
    let [m, cg, kh, kw] = ws;
    let oh = (h + pads[0] + pads[2] - (kh - 1) * di[0] - 1) / st[0] + 1;
    let ow = (wd + pads[1] + pads[3] - (kw - 1) * di[1] - 1) / st[1] + 1;
    let mg = m / group;
    let mut out = vec![0f32; n * m * oh * ow];
    for ni in 0..n {
        for mo in 0..m {
            let g = mo / mg;
            for y in 0..oh {
                for xx in 0..ow {
                    let mut s = 0f64;
                    for ci in 0..cg {
                        let cc = g * cg + ci;
                        for a in 0..kh {
                            for b in 0..kw {
                                let iy = (y * st[0] + a * di[0]) as isize - pads[0] as isize;
                                let ix = (xx * st[1] + b * di[1]) as isize - pads[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                s += x[((ni * c + cc) * h + iy as usize) * wd + ix as usize] as f64
                                    * w[((mo * cg + ci) * kh + a) * kw + b] as f64;
                            }
                        }
                    }
                    out[((ni * m + mo) * oh + y) * ow + xx] = s as f32;
                }
            }
        }
    }
    (out, [n, m, oh, ow])
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;
    use proptest::prelude::*;

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s % 2001) as f32 - 1000.0) / 1000.0
            })
            .collect()
    }

    #[test]
    fn conv_3x3_pad1_by_hand() {
        let x = Tensor::f32(&[1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
        let w = Tensor::f32(&[1, 1, 3, 3], vec![1.0; 9]);
        let b = Tensor::f32(&[1], vec![0.5]);
        let at = ConvAttrs { pads: vec![1, 1, 1, 1], ..Default::default() };
        let r = ev1(&Op::Conv(at), &[&x, &w, &b]);
        assert_eq!(r.shape, vec![1, 1, 3, 3]);
        assert_eq!(r.as_f32().unwrap(), &[12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5]);
    }

    #[test]
    fn conv_auto_pad_and_1d() {
        let x = Tensor::f32(&[1, 1, 5], vec![1., 2., 3., 4., 5.]);
        let w = Tensor::f32(&[1, 1, 2], vec![1., 10.]);
        let at = ConvAttrs { strides: vec![2], auto_pad: AutoPad::SameUpper, ..Default::default() };
        let r = ev1(&Op::Conv(at), &[&x, &w]);
        // out = ceil(5/2) = 3, total pad = (3-1)*2+2-5 = 1 → pad end 1.
        assert_eq!(r.as_f32().unwrap(), &[21., 43., 5.]);
        let at = ConvAttrs { strides: vec![2], auto_pad: AutoPad::SameLower, ..Default::default() };
        let r = ev1(&Op::Conv(at), &[&x, &w]);
        assert_eq!(r.as_f32().unwrap(), &[10., 32., 54.]);
    }

    #[test]
    fn conv_errors() {
        let x = Tensor::f32(&[1, 2, 3, 3], vec![0.; 18]);
        let w = Tensor::f32(&[1, 3, 3, 3], vec![0.; 27]);
        assert!(matches!(
            ev_err(&Op::Conv(ConvAttrs::default()), &[&x, &w]),
            super::super::OpError::Shape(_)
        ));
        let w = Tensor::f32(&[1, 2, 5, 5], vec![0.; 50]);
        assert!(ev(&Op::Conv(ConvAttrs::default()), &[&x, &w]).is_err());
        let w = Tensor::f32(&[1, 2, 1, 1], vec![0.; 2]);
        let at = ConvAttrs { strides: vec![0, 1], ..Default::default() };
        assert!(matches!(ev_err(&Op::Conv(at), &[&x, &w]), super::super::OpError::Attr(_)));
    }

    #[test]
    fn conv_transpose_by_hand() {
        let x = Tensor::f32(&[1, 1, 2, 2], vec![1., 2., 3., 4.]);
        let w = Tensor::f32(&[1, 1, 2, 2], vec![1., 1., 1., 1.]);
        let at = ConvTransposeAttrs {
            conv: ConvAttrs { strides: vec![2, 2], ..Default::default() },
            ..Default::default()
        };
        let r = ev1(&Op::ConvTranspose(at), &[&x, &w]);
        assert_eq!(r.shape, vec![1, 1, 4, 4]);
        assert_eq!(
            r.as_f32().unwrap(),
            &[1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]
        );
        let at = ConvTransposeAttrs::default();
        let r = ev1(&Op::ConvTranspose(at), &[&x, &w]);
        assert_eq!(r.as_f32().unwrap(), &[1., 3., 2., 4., 10., 6., 3., 7., 4.]);
    }

    /// ConvTranspose is the adjoint of Conv: <conv(x), y> == <x, convT(y)>.
    #[test]
    fn conv_transpose_is_adjoint() {
        let (c, m, h) = (4, 6, 7);
        let x = rnd(2 * c * h * h, 3);
        let w = rnd(m * (c / 2) * 9, 5);
        let ca = ConvAttrs {
            strides: vec![2, 2],
            pads: vec![1, 0, 1, 1],
            dilations: vec![1, 2],
            group: 2,
            ..Default::default()
        };
        let xt = Tensor::f32(&[2, c, h, h], x.clone());
        let wt = Tensor::f32(&[m, c / 2, 3, 3], w.clone());
        let y = ev1(&Op::Conv(ca.clone()), &[&xt, &wt]);
        let yr = rnd(y.numel(), 9);
        let yt = Tensor::f32(&y.shape, yr.clone());
        // Transposed weight layout: [C_in of transpose = m, out/group = c/2, k, k] is w itself.
        let at = ConvTransposeAttrs { conv: ca, output_shape: vec![h, h], ..Default::default() };
        let xb = ev1(&Op::ConvTranspose(at), &[&yt, &wt]);
        assert_eq!(xb.shape, vec![2, c, h, h]);
        let lhs: f64 =
            y.as_f32().unwrap().iter().zip(&yr).map(|(a, b)| *a as f64 * *b as f64).sum();
        let rhs: f64 =
            xb.as_f32().unwrap().iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
        assert!((lhs - rhs).abs() < 1e-3 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn conv_matches_naive(
            n in 1usize..3, cg in 1usize..4, mg in 1usize..4, group in 1usize..4,
            h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
            sh in 1usize..3, sw in 1usize..3, dh in 1usize..3, dw in 1usize..3,
            p in proptest::array::uniform4(0usize..3), bias in any::<bool>(), seed in any::<u64>(),
        ) {
            let (c, m) = (cg * group, mg * group);
            let eh = (kh - 1) * dh + 1;
            let ew = (kw - 1) * dw + 1;
            prop_assume!(h + p[0] + p[2] >= eh && w + p[1] + p[3] >= ew);
            let xv = rnd(n * c * h * w, seed);
            let wv = rnd(m * cg * kh * kw, seed ^ 0x55);
            let bv = rnd(m, seed ^ 0x99);
            let (mut want, os) = naive_conv2d(&xv, [n, c, h, w], &wv, [m, cg, kh, kw], group, [sh, sw], [dh, dw], p);
            if bias {
                let ovol = os[2] * os[3];
                for (i, v) in want.iter_mut().enumerate() { *v += bv[(i / ovol) % m]; }
            }
            let at = ConvAttrs { strides: vec![sh, sw], dilations: vec![dh, dw], pads: p.to_vec(), group, ..Default::default() };
            let xt = Tensor::f32(&[n, c, h, w], xv);
            let wt = Tensor::f32(&[m, cg, kh, kw], wv);
            let bt = Tensor::f32(&[m], bv);
            let r = if bias { ev1(&Op::Conv(at), &[&xt, &wt, &bt]) } else { ev1(&Op::Conv(at), &[&xt, &wt]) };
            prop_assert_eq!(&r.shape, &os.to_vec());
            close(r.as_f32().unwrap(), &want, 1e-5);
        }
    }
}
