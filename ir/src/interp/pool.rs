//! Pooling: `MaxPool` (floats and integers, optional Indices result), `AveragePool` (ceil mode,
//! count_include_pad, dilations), `GlobalAveragePool`, `GlobalMaxPool`, and the typed quantized
//! `QAveragePool` / `QGlobalAveragePool`:
//! `saturate(round_half_even(f32(Σ(x − zx)) · f32(sx / sy / n)) + zy)`, where padded positions
//! hold a real zero.

use super::conv::{spatial, Spatial};
use super::util::{
    attr_err, dtype_err, float_out, floats, mk, numel, per_tensor, shape_err, Args, R,
};
use crate::ops::PoolAttrs;
use crate::qmath;
use crate::tensor::{Data, Tensor};

fn geom(x: &Tensor, at: &PoolAttrs) -> R<(usize, usize, Spatial)> {
    if x.rank() < 3 {
        return Err(shape_err(format!("pooling needs [N, C, spatial...], got {:?}", x.shape)));
    }
    if at.kernel_shape.len() != x.rank() - 2 {
        return Err(attr_err(format!(
            "kernel_shape {:?} for input {:?}",
            at.kernel_shape, x.shape
        )));
    }
    let sp = spatial(
        &x.shape[2..],
        &at.kernel_shape,
        &at.strides,
        &at.dilations,
        &at.pads,
        at.auto_pad,
        at.ceil_mode,
    )?;
    Ok((x.shape[0], x.shape[1], sp))
}

fn oshape(n: usize, c: usize, sp: &Spatial) -> Vec<usize> {
    let mut s = vec![n, c];
    s.extend(sp.out_dims());
    s
}

/// Visits every window: `f(plane, out_index, taps)` where taps lists the in-bounds flat input
/// offsets within the plane, and `count_pad` the window size counting padding (but not the
/// ceil-mode overhang beyond the end padding).
fn windows(sp: &Spatial, mut f: impl FnMut(usize, &[usize], usize)) {
    let mut taps = Vec::with_capacity(sp.kvol());
    let mut o = 0;
    for od in 0..sp.outs[0] {
        for oh in 0..sp.outs[1] {
            for ow in 0..sp.outs[2] {
                taps.clear();
                let mut padded = 1usize;
                for (ax, op) in [od, oh, ow].into_iter().enumerate() {
                    let mut cnt = 0;
                    for k in 0..sp.ks[ax] {
                        let i = (op * sp.st[ax] + k * sp.di[ax]) as isize - sp.pb[ax] as isize;
                        if i < (sp.ins[ax] + sp.pe[ax]) as isize {
                            cnt += 1;
                        }
                    }
                    padded *= cnt;
                }
                for kd in 0..sp.ks[0] {
                    let id = (od * sp.st[0] + kd * sp.di[0]) as isize - sp.pb[0] as isize;
                    if id < 0 || id >= sp.ins[0] as isize {
                        continue;
                    }
                    for kh in 0..sp.ks[1] {
                        let ih = (oh * sp.st[1] + kh * sp.di[1]) as isize - sp.pb[1] as isize;
                        if ih < 0 || ih >= sp.ins[1] as isize {
                            continue;
                        }
                        for kw in 0..sp.ks[2] {
                            let iw = (ow * sp.st[2] + kw * sp.di[2]) as isize - sp.pb[2] as isize;
                            if iw < 0 || iw >= sp.ins[2] as isize {
                                continue;
                            }
                            taps.push(
                                (id as usize * sp.ins[1] + ih as usize) * sp.ins[2] + iw as usize,
                            );
                        }
                    }
                }
                f(o, &taps, padded);
                o += 1;
            }
        }
    }
}

/// `MaxPool(x)` → (y, indices?) where indices are flat NC… offsets into x.
pub(crate) fn max_pool(a: &Args<'_>, at: &PoolAttrs) -> R<Vec<Tensor>> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let (n, c, sp) = geom(x, at)?;
    let os = oshape(n, c, &sp);
    let (ivol, ovol) = (sp.ivol(), sp.ovol());
    let total = numel(&os)?;
    let mut arg = vec![0i64; total];
    // Max over i64 keys for ints, f32 for floats; empty windows (all padding) give the lowest
    // value.
    let data = if x.dtype.is_float() {
        let v = floats(x, 0)?;
        let mut out = vec![f32::NEG_INFINITY; total];
        for p in 0..n * c {
            let plane = &v[p * ivol..(p + 1) * ivol];
            windows(&sp, |o, taps, _| {
                let (mut best, mut bi) = (f32::NEG_INFINITY, taps.first().copied().unwrap_or(0));
                for &t in taps {
                    if plane[t] > best || plane[t].is_nan() {
                        best = plane[t];
                        bi = t;
                        if best.is_nan() {
                            break;
                        }
                    }
                }
                out[p * ovol + o] = best;
                arg[p * ovol + o] = (p * ivol + bi) as i64;
            });
        }
        float_out(x.dtype, os.clone(), out)?.data
    } else {
        let v = x.to_i64_vec().filter(|_| x.dtype.is_int()).ok_or(dtype_err(0, x.dtype))?;
        let lo = x.dtype.int_range().map(|r| r.0).unwrap_or(i64::MIN);
        let mut out = vec![lo; total];
        for p in 0..n * c {
            let plane = &v[p * ivol..(p + 1) * ivol];
            windows(&sp, |o, taps, _| {
                let (mut best, mut bi) = (lo, taps.first().copied().unwrap_or(0));
                for &t in taps {
                    if plane[t] > best {
                        best = plane[t];
                        bi = t;
                    }
                }
                out[p * ovol + o] = best;
                arg[p * ovol + o] = (p * ivol + bi) as i64;
            });
        }
        Tensor::from_i64_saturating(x.dtype, os.clone(), &out)
            .map_err(|e| super::OpError::Internal(e.to_string()))?
            .data
    };
    let y = mk(x.dtype, os.clone(), data)?;
    if a.nresults() > 1 {
        return Ok(vec![y, Tensor::i64(&os, arg)]);
    }
    Ok(vec![y])
}

/// `AveragePool(x)` on floats.
pub(crate) fn avg_pool(a: &Args<'_>, at: &PoolAttrs) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    let (n, c, sp) = geom(x, at)?;
    let os = oshape(n, c, &sp);
    let (ivol, ovol) = (sp.ivol(), sp.ovol());
    let v = floats(x, 0)?;
    let mut out = vec![0f32; numel(&os)?];
    for p in 0..n * c {
        let plane = &v[p * ivol..(p + 1) * ivol];
        windows(&sp, |o, taps, padded| {
            let s: f32 = taps.iter().map(|&t| plane[t]).sum();
            let cnt = if at.count_include_pad { padded } else { taps.len() };
            out[p * ovol + o] = if cnt == 0 { 0.0 } else { s / cnt as f32 };
        });
    }
    float_out(x.dtype, os, out)
}

/// `GlobalAveragePool` / `GlobalMaxPool` over all axes after the first two.
pub(crate) fn global_pool(a: &Args<'_>, max: bool) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    if x.rank() < 2 {
        return Err(shape_err(format!("global pooling needs [N, C, ...], got {:?}", x.shape)));
    }
    let (n, c) = (x.shape[0], x.shape[1]);
    let vol = numel(&x.shape[2..])?;
    let mut os = vec![n, c];
    os.extend(std::iter::repeat_n(1, x.rank() - 2));
    if !x.dtype.is_float() {
        if !max || !x.dtype.is_int() {
            return Err(dtype_err(0, x.dtype));
        }
        let v = x.to_i64_vec().ok_or(dtype_err(0, x.dtype))?;
        let lo = x.dtype.int_range().map(|r| r.0).unwrap_or(i64::MIN);
        let out: Vec<i64> = (0..n * c)
            .map(|p| v[p * vol..(p + 1) * vol].iter().copied().fold(lo, i64::max))
            .collect();
        return Tensor::from_i64_saturating(x.dtype, os, &out)
            .map_err(|e| super::OpError::Internal(e.to_string()));
    }
    let v = floats(x, 0)?;
    let out: Vec<f32> = (0..n * c)
        .map(|p| {
            let s = &v[p * vol..(p + 1) * vol];
            if max {
                s.iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, |a, b| if b > a || b.is_nan() { b } else { a })
            } else {
                s.iter().sum::<f32>() / vol as f32
            }
        })
        .collect();
    float_out(x.dtype, os, out)
}

/// The result of a quantized average: `saturate(round_half_even(f32(sum) · f32(sx/sy/n)) + zy)`.
#[inline]
fn q_avg(sum: i64, sx: f32, sy: f32, n: usize, zy: i32, lo: i32, hi: i32) -> i32 {
    let m = qmath::multiplier(sx, sy) / n as f32;
    qmath::requantize(sum, 0, m, zy, lo, hi)
}

fn q_params(a: &Args<'_>) -> R<((f32, i32), (f32, i32), crate::DType)> {
    let x = a.req(0)?;
    if !matches!(x.data, Data::I8(_) | Data::U8(_) | Data::I16(_) | Data::I32(_)) {
        return Err(dtype_err(0, x.dtype));
    }
    let px = per_tensor(a.operand_quant(0)?, "QAveragePool input")?;
    let py = per_tensor(a.result_quant(0)?, "QAveragePool result")?;
    Ok((px, py, a.result(0)?.dtype))
}

/// `QAveragePool(x)`.
pub(crate) fn q_avg_pool(a: &Args<'_>, at: &PoolAttrs) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let ((sx, zx), (sy, zy), dt) = q_params(a)?;
    let (lo, hi) = qmath::qrange(dt);
    let (n, c, sp) = geom(x, at)?;
    let os = oshape(n, c, &sp);
    let (ivol, ovol) = (sp.ivol(), sp.ovol());
    let v = x.to_i64_vec().ok_or(dtype_err(0, x.dtype))?;
    let mut out = vec![0i64; numel(&os)?];
    for p in 0..n * c {
        let plane = &v[p * ivol..(p + 1) * ivol];
        windows(&sp, |o, taps, padded| {
            let s: i64 = taps.iter().map(|&t| plane[t] - zx as i64).sum();
            let cnt = if at.count_include_pad { padded } else { taps.len() };
            out[p * ovol + o] =
                if cnt == 0 { zy as i64 } else { q_avg(s, sx, sy, cnt, zy, lo, hi) as i64 };
        });
    }
    Tensor::from_i64_saturating(dt, os, &out).map_err(|e| super::OpError::Internal(e.to_string()))
}

/// `QGlobalAveragePool(x)`.
pub(crate) fn q_global_avg_pool(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    let ((sx, zx), (sy, zy), dt) = q_params(a)?;
    let (lo, hi) = qmath::qrange(dt);
    if x.rank() < 2 {
        return Err(shape_err(format!("global pooling needs [N, C, ...], got {:?}", x.shape)));
    }
    let (n, c) = (x.shape[0], x.shape[1]);
    let vol = numel(&x.shape[2..])?;
    let mut os = vec![n, c];
    os.extend(std::iter::repeat_n(1, x.rank() - 2));
    let v = x.to_i64_vec().ok_or(dtype_err(0, x.dtype))?;
    let out: Vec<i64> = (0..n * c)
        .map(|p| {
            let s: i64 = v[p * vol..(p + 1) * vol].iter().map(|&e| e - zx as i64).sum();
            if vol == 0 {
                zy as i64
            } else {
                q_avg(s, sx, sy, vol, zy, lo, hi) as i64
            }
        })
        .collect();
    Tensor::from_i64_saturating(dt, os, &out).map_err(|e| super::OpError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::dtype::DType;
    use crate::ops::Op;
    use crate::types::{Quant, TensorType};

    fn x44() -> Tensor {
        Tensor::f32(&[1, 1, 4, 4], (1..=16).map(|v| v as f32).collect())
    }

    #[test]
    fn max_pool_by_hand_with_indices() {
        let at = PoolAttrs { kernel_shape: vec![2, 2], strides: vec![2, 2], ..Default::default() };
        let r = evo(&Op::MaxPool(at), &[Some(&x44())], 2).unwrap();
        assert_eq!(r[0].as_f32().unwrap(), &[6., 8., 14., 16.]);
        assert_eq!(r[1].as_i64().unwrap(), &[5, 7, 13, 15]);
    }

    #[test]
    fn max_pool_ceil_mode_and_dilation() {
        let at = PoolAttrs {
            kernel_shape: vec![3, 3],
            strides: vec![2, 2],
            ceil_mode: true,
            ..Default::default()
        };
        let r = ev1(&Op::MaxPool(at), &[&x44()]);
        assert_eq!(r.shape, vec![1, 1, 2, 2]);
        assert_eq!(r.as_f32().unwrap(), &[11., 12., 15., 16.]);
        let at =
            PoolAttrs { kernel_shape: vec![2, 2], dilations: vec![2, 2], ..Default::default() };
        let r = ev1(&Op::MaxPool(at), &[&x44()]);
        assert_eq!(r.as_f32().unwrap(), &[11., 12., 15., 16.]);
        let xi = Tensor::i8(&[1, 1, 1, 3], vec![-128, -5, 7]);
        let at =
            PoolAttrs { kernel_shape: vec![1, 2], pads: vec![0, 1, 0, 0], ..Default::default() };
        assert_eq!(ev1(&Op::MaxPool(at), &[&xi]).as_i8().unwrap(), &[-128, -5, 7]);
    }

    #[test]
    fn avg_pool_pads_and_count_include_pad() {
        let x = Tensor::f32(&[1, 1, 2, 2], vec![1., 2., 3., 4.]);
        let base = PoolAttrs {
            kernel_shape: vec![2, 2],
            pads: vec![1, 1, 1, 1],
            strides: vec![2, 2],
            ..Default::default()
        };
        let r = ev1(&Op::AveragePool(base.clone()), &[&x]);
        assert_eq!(r.as_f32().unwrap(), &[1., 2., 3., 4.]);
        let at = PoolAttrs { count_include_pad: true, ..base };
        let r = ev1(&Op::AveragePool(at), &[&x]);
        assert_eq!(r.as_f32().unwrap(), &[0.25, 0.5, 0.75, 1.]);
        // ceil mode: the overhang past the end pad is not counted even with count_include_pad.
        let x = Tensor::f32(&[1, 1, 1, 5], vec![1., 2., 3., 4., 5.]);
        let at = PoolAttrs {
            kernel_shape: vec![1, 2],
            strides: vec![1, 2],
            ceil_mode: true,
            count_include_pad: true,
            ..Default::default()
        };
        let r = ev1(&Op::AveragePool(at), &[&x]);
        assert_eq!(r.as_f32().unwrap(), &[1.5, 3.5, 5.]);
    }

    #[test]
    fn global_pools() {
        let r = ev1(&Op::GlobalAveragePool, &[&x44()]);
        assert_eq!(r.shape, vec![1, 1, 1, 1]);
        assert_eq!(r.as_f32().unwrap(), &[8.5]);
        assert_eq!(ev1(&Op::GlobalMaxPool, &[&x44()]).as_f32().unwrap(), &[16.]);
        assert!(ev(&Op::GlobalAveragePool, &[&Tensor::f32(&[3], vec![0.; 3])]).is_err());
    }

    #[test]
    fn q_global_avg_pool_rounds_half_even() {
        let x = Tensor::u8(&[1, 1, 2, 2], vec![1, 2, 3, 4]);
        let tx = TensorType::fixed(DType::U8, &[1, 1, 2, 2]).with_quant(Quant::tensor(1.0, 0));
        let ty = TensorType::fixed(DType::U8, &[1, 1, 1, 1]).with_quant(Quant::tensor(1.0, 10));
        let r = evt(&Op::QGlobalAveragePool, &[(Some(&x), Some(&tx))], std::slice::from_ref(&ty))
            .unwrap();
        assert_eq!(r[0].as_u8().unwrap(), &[12]); // 10 · 0.25 = 2.5 → 2 (even), + 10
        let tx1 = TensorType::fixed(DType::U8, &[1, 1, 2, 2]).with_quant(Quant::tensor(1.0, 1));
        // Σ(x − 1) = 6, 6 · 0.25 = 1.5 → 2 (even), + 10.
        let r = evt(&Op::QGlobalAveragePool, &[(Some(&x), Some(&tx1))], std::slice::from_ref(&ty))
            .unwrap();
        assert_eq!(r[0].as_u8().unwrap(), &[12]);
        // saturation at the top
        let big = TensorType::fixed(DType::U8, &[1, 1, 1, 1]).with_quant(Quant::tensor(0.001, 250));
        let r = evt(&Op::QGlobalAveragePool, &[(Some(&x), Some(&tx))], &[big]).unwrap();
        assert_eq!(r[0].as_u8().unwrap(), &[255]);
        assert!(evt(&Op::QGlobalAveragePool, &[(Some(&x), None)], &[ty]).is_err());
    }

    #[test]
    fn q_avg_pool_padding_is_real_zero() {
        let x = Tensor::i8(&[1, 1, 1, 2], vec![5, 7]);
        let tx = TensorType::fixed(DType::I8, &[1, 1, 1, 2]).with_quant(Quant::tensor(0.5, 3));
        let ty = TensorType::fixed(DType::I8, &[1, 1, 1, 2]).with_quant(Quant::tensor(0.5, -1));
        let at = PoolAttrs {
            kernel_shape: vec![1, 2],
            pads: vec![0, 1, 0, 0],
            count_include_pad: true,
            ..Default::default()
        };
        // windows: [pad, 5] → (0 + 2)/2 = 1 → 0;  [5, 7] → (2 + 4)/2 = 3 → 2.
        let r = evt(&Op::QAveragePool(at), &[(Some(&x), Some(&tx))], &[ty]).unwrap();
        assert_eq!(r[0].as_i8().unwrap(), &[0, 2]);
    }
}
