//! Conv / QConv lowering (2-d, NHWC result). Dense convolutions (`group = 1`) become a GEMM
//! with the weights as the constant B operand `[kh·kw·c × m]`: directly on the NHWC input for
//! 1×1 stride-1 unpadded kernels, else after an im2col step into an arena scratch buffer (the
//! memory plan reuses it once the GEMM has read it). Grouped and depthwise convolutions use the
//! direct kernel. QConv fuses a following Requantize and Relu/Clip (integer bounds) into the
//! kernel's epilogue, with the exact `qmath` arithmetic; a dense f32 Conv fuses a following
//! Relu/Clip into its GEMM's epilogue.

use super::Cx;
use crate::cnn::{ConvGeom, DirectConv, DirectData, DirectQuant, Im2col};
use crate::model::{Kernel, QGemm, QRequant, Storage};
use crate::LowerError;
use qcc_ir::ops::{AutoPad, ConvAttrs};
use qcc_ir::{qmath, DType, NodeId, Op, Quant, Value};

/// Output extent and leading pad of one spatial axis.
fn axis_geom(
    len: usize,
    k: usize,
    s: usize,
    d: usize,
    pads: (usize, usize),
    auto: AutoPad,
) -> Option<(usize, usize)> {
    let span = d * (k - 1) + 1;
    match auto {
        AutoPad::SameUpper | AutoPad::SameLower => {
            let o = len.div_ceil(s);
            let total = ((o - 1) * s + span).saturating_sub(len);
            let lead = if auto == AutoPad::SameUpper { total / 2 } else { total - total / 2 };
            Some((o, lead))
        }
        AutoPad::Valid => (len >= span).then(|| ((len - span) / s + 1, 0)),
        AutoPad::NotSet => {
            let full = len + pads.0 + pads.1;
            (full >= span).then(|| ((full - span) / s + 1, pads.0))
        }
    }
}

/// The geometry of a 2-d convolution (or pooling) window over `x` `[n, c, h, w]`.
pub(super) fn geometry(
    x: &[usize],
    kernel: (usize, usize),
    strides: &[usize],
    dilations: &[usize],
    pads: &[usize],
    auto: AutoPad,
) -> Option<ConvGeom> {
    if x.len() != 4 || kernel.0 == 0 || kernel.1 == 0 {
        return None;
    }
    let at = |v: &[usize], i: usize, def: usize| v.get(i).copied().unwrap_or(def);
    let (sh, sw) = (at(strides, 0, 1), at(strides, 1, 1));
    let (dh, dw) = (at(dilations, 0, 1), at(dilations, 1, 1));
    if sh == 0 || sw == 0 || dh == 0 || dw == 0 {
        return None;
    }
    let (oh, pt) = axis_geom(x[2], kernel.0, sh, dh, (at(pads, 0, 0), at(pads, 2, 0)), auto)?;
    let (ow, pl) = axis_geom(x[3], kernel.1, sw, dw, (at(pads, 1, 0), at(pads, 3, 0)), auto)?;
    Some(ConvGeom {
        n: x[0],
        c: x[1],
        h: x[2],
        w: x[3],
        oh,
        ow,
        kh: kernel.0,
        kw: kernel.1,
        stride: (sh, sw),
        dilation: (dh, dw),
        pad: (pt, pl),
    })
}

impl Cx<'_> {
    /// Fuses `Requantize [+ Relu/Clip]` after the i32 accumulator `acc` with `m` channels on
    /// axis `axis`: (ops suffix, final value, requantization).
    pub(super) fn fuse_conv_requant(
        &mut self,
        acc: Value,
        m: usize,
        axis: usize,
    ) -> Result<(String, Value, Option<QRequant>), LowerError> {
        let g = self.g;
        let Some(r) = self.sole_user(acc).filter(|&u| matches!(g.node(u).op, Op::Requantize))
        else {
            return Ok((String::new(), acc, None));
        };
        let rv = g.result(r);
        let rt = g.value_type(rv);
        let (sy, zy) = rt
            .quant
            .as_ref()
            .and_then(Quant::per_tensor)
            .ok_or_else(|| self.err(r, "output must be quantized per tensor"))?;
        let (sx, zx) = match &g.value_type(acc).quant {
            Some(Quant::Tensor { scale, zero_point }) => (vec![*scale], *zero_point),
            Some(Quant::Axis { axis: ax, scales, zero_points })
                if *ax == axis
                    && scales.len() == m
                    && zero_points.iter().all(|&z| z == zero_points[0]) =>
            {
                (scales.clone(), zero_points[0])
            }
            _ => return Err(self.err(r, "accumulator must be quantized per tensor or per channel")),
        };
        let signed = match rt.dtype {
            DType::I8 => true,
            DType::U8 => false,
            d => return Err(self.err(r, format!("requantize to {d}"))),
        };
        let (mut lo, mut hi) = qmath::qrange(rt.dtype);
        self.fused.insert(r);
        let mut ops = "+Requantize".to_string();
        let mut out = rv;
        if let Some(act) = self.sole_user(out) {
            match g.node(act).op {
                Op::Relu => {
                    lo = lo.max(0);
                    ops.push_str("+Relu");
                    self.fused.insert(act);
                    out = g.result(act);
                }
                Op::Clip => {
                    if let (Ok(cl), Ok(ch)) = (self.const_scalar(act, 1), self.const_scalar(act, 2))
                    {
                        if let Some(c) = cl {
                            lo = lo.max(c as i32);
                        }
                        if let Some(c) = ch {
                            hi = hi.min(c as i32);
                        }
                        hi = hi.max(lo);
                        ops.push_str("+Clip");
                        self.fused.insert(act);
                        out = g.result(act);
                    }
                }
                _ => {}
            }
        }
        let multipliers = sx.iter().map(|&s| qmath::multiplier(s, sy)).collect();
        Ok((
            ops,
            out,
            Some(QRequant { signed, acc_zero_point: zx, multipliers, zero_point: zy, lo, hi }),
        ))
    }

    pub(super) fn conv(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (at, quant): (ConvAttrs, bool) = match &g.node(id).op {
            Op::Conv(a) => (a.clone(), false),
            Op::QConv(a) => (a.clone(), true),
            _ => return Err(self.err(id, "not a convolution")),
        };
        let (x, w) = (self.operand(id, 0)?, self.operand(id, 1)?);
        let xs = self.shape(id, x)?;
        let wt =
            self.constant(w).ok_or_else(|| self.err(id, "weights must be a constant"))?.clone();
        if xs.len() != 4 || wt.shape.len() != 4 {
            return Err(self.err(id, "only 2-d convolutions ([N, C, H, W])"));
        }
        let group = at.group.max(1);
        let (m, cg, kh, kw) = (wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3]);
        if xs[1] != cg * group || m % group != 0 {
            return Err(self.err(
                id,
                format!("weights {:?} do not fit input {xs:?} with group {group}", wt.shape),
            ));
        }
        if !at.kernel_shape.is_empty() && at.kernel_shape != [kh, kw] {
            return Err(self.err(id, "kernel_shape differs from the weights"));
        }
        let geom = geometry(&xs, (kh, kw), &at.strides, &at.dilations, &at.pads, at.auto_pad)
            .ok_or_else(|| self.err(id, "bad convolution geometry"))?;
        let acc = g.result(id);
        let os = self.shape(id, acc)?;
        if os != [geom.n, m, geom.oh, geom.ow] {
            return Err(self.err(id, format!("result {os:?} does not match the geometry")));
        }
        let xt = g.value_type(x);
        let bias_const = match g.operand(id, 2) {
            None => None,
            Some(bv) => {
                let t = self.constant(bv).ok_or_else(|| self.err(id, "bias must be a constant"))?;
                if t.numel() != m {
                    return Err(self.err(id, "bias must have one value per output channel"));
                }
                Some(t.clone())
            }
        };
        // Integer parameters and the fused epilogue.
        let (mut ops, mut out, qparams) = (g.node(id).op.name().to_string(), acc, None);
        let qparams = if quant {
            let x_signed = match xt.dtype {
                DType::I8 => true,
                DType::U8 => false,
                d => return Err(self.err(id, format!("input of type {d}"))),
            };
            let (_, zx) = xt
                .quant
                .as_ref()
                .and_then(Quant::per_tensor)
                .ok_or_else(|| self.err(id, "input must be quantized per tensor"))?;
            let wq = g.value_type(w);
            if wq.dtype != DType::I8
                || wq.quant.as_ref().is_some_and(|q| q.zero_points().iter().any(|&z| z != 0))
            {
                return Err(self.err(id, "weights must be i8 with zero point 0"));
            }
            let bias = match &bias_const {
                None => None,
                Some(t) => Some(t.as_i32().map_err(|e| self.err(id, e.to_string()))?.to_vec()),
            };
            let (suffix, o, requant) = self.fuse_conv_requant(acc, m, 1)?;
            ops.push_str(&suffix);
            out = o;
            Some(DirectQuant {
                x_signed,
                x_zero_point: zx,
                w: wt.as_i8().map_err(|e| self.err(id, e.to_string()))?.to_vec(),
                bias,
                requant,
            })
        } else {
            if xt.dtype != DType::F32 || g.value_type(acc).dtype != DType::F32 {
                return Err(self.err(id, "Conv: only f32"));
            }
            qparams
        };
        // f32 through the GEMM: a following Relu/Clip becomes its epilogue.
        let mut clamp = None;
        if qparams.is_none() && group == 1 {
            (out, clamp) = self.fuse_f32_clamp(acc, &mut ops);
        }
        let data = match qparams {
            Some(q) => DirectData::Quant(q),
            None => DirectData::F32 {
                w: wt.to_f32_vec(),
                bias: bias_const.as_ref().map(|t| t.to_f32_vec()),
            },
        };
        if group == 1 {
            self.conv_gemm(id, x, geom, m, data, (ops, clamp), out)
        } else {
            let xb = self.as_nhwc(id, x)?;
            let ob = self.out_buf(id, out, true)?;
            let kernel = Kernel::DirectConv(DirectConv { geom, m, group, data });
            self.step(id, ops, kernel, vec![xb], ob);
            Ok(())
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_gemm(
        &mut self,
        id: NodeId,
        x: Value,
        geom: ConvGeom,
        m: usize,
        data: DirectData,
        (ops, clamp): (String, Option<(f32, f32)>),
        out: Value,
    ) -> Result<(), LowerError> {
        let ConvGeom { c, kh, kw, .. } = geom;
        let k = kh * kw * c;
        let rows = geom.n * geom.oh * geom.ow;
        // B[(i·kw + j)·c + ch][co] = W[co][ch][i][j].
        fn pack<T: Copy + Default>(w: &[T], m: usize, c: usize, kh: usize, kw: usize) -> Vec<T> {
            let k = kh * kw * c;
            let mut b = vec![T::default(); k * m];
            for co in 0..m {
                for ch in 0..c {
                    for i in 0..kh {
                        for j in 0..kw {
                            b[((i * kw + j) * c + ch) * m + co] =
                                w[((co * c + ch) * kh + i) * kw + j];
                        }
                    }
                }
            }
            b
        }
        let pointwise = kh == 1
            && kw == 1
            && geom.stride == (1, 1)
            && geom.pad == (0, 0)
            && (geom.oh, geom.ow) == (geom.h, geom.w);
        let (a_buf, step_ops) = if pointwise {
            (self.as_nhwc(id, x)?, ops)
        } else {
            let xb = self.buf(id, x)?;
            let xbuf = &self.bufs[xb];
            let dtype = xbuf.dtype;
            let (hh, ww) = (geom.h, geom.w);
            let in_strides = if self.is_nhwc(xb) {
                [hh * ww * c, 1, ww * c, c]
            } else {
                [c * hh * ww, hh * ww, ww, 1]
            };
            let pad = match &data {
                DirectData::F32 { .. } => 0u32,
                DirectData::Quant(q) => (q.x_zero_point as u32) & 0xff,
            };
            let scratch =
                self.new_buf(dtype, vec![rows, k], Storage::Arena { offset: 0, view_of: None });
            let kernel = Kernel::Im2col(Im2col { geom, in_strides, elem: dtype.size_bytes(), pad });
            self.step(id, format!("{ops}(im2col)"), kernel, vec![xb], scratch);
            (scratch, ops)
        };
        let kernel = match data {
            DirectData::F32 { w, bias } => {
                Kernel::GemmF32 { m: rows, n: m, k, b: pack(&w, m, c, kh, kw), bias, clamp }
            }
            DirectData::Quant(q) => Kernel::QGemm(QGemm {
                m: rows,
                n: m,
                k,
                a_signed: q.x_signed,
                a_zero_point: q.x_zero_point,
                b: pack(&q.w, m, c, kh, kw),
                bias: q.bias,
                requant: q.requant,
            }),
        };
        let ob = self.out_buf(id, out, true)?;
        self.step(id, step_ops, kernel, vec![a_buf], ob);
        Ok(())
    }
}
