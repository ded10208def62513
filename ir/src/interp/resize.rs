//! `Resize(x, roi?, scales?, sizes?)`: nearest (four rounding modes), linear and cubic, with
//! every coordinate transformation mode, applied axis by axis from the last axis to the first
//! (as the ONNX reference recursion does, so tf_crop_and_resize extrapolation matches).
//! Out-of-range taps read the edge (ONNX's edge padding of the reference); cubic with
//! exclude_outside renormalizes the in-range weights.

use super::util::{
    dtype_err, float_out, floats, gather_data, mk, numel, shape_err, value_err, Args, R,
};
use crate::ops::{CoordMode, NearestMode, ResizeAttrs, ResizeMode};
use crate::tensor::Tensor;

fn orig_coord(
    at: &ResizeAttrs,
    o: usize,
    scale: f64,
    n_in: usize,
    n_out: usize,
    roi: (f64, f64),
) -> f64 {
    let x = o as f64;
    match at.coordinate_transformation_mode {
        CoordMode::HalfPixel => (x + 0.5) / scale - 0.5,
        CoordMode::PytorchHalfPixel => {
            if n_out > 1 {
                (x + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        CoordMode::AlignCorners => {
            if n_out == 1 {
                0.0
            } else {
                x * (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
            }
        }
        CoordMode::Asymmetric => x / scale,
        CoordMode::TfCropAndResize => {
            let (s, e) = roi;
            if n_out > 1 {
                s * (n_in as f64 - 1.0) + x * (e - s) * (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
            } else {
                0.5 * (s + e) * (n_in as f64 - 1.0)
            }
        }
        CoordMode::HalfPixelSymmetric => {
            let out_f = scale * n_in as f64;
            let adj = n_out as f64 / out_f;
            let center = n_in as f64 / 2.0;
            let off = center * (1.0 - adj);
            off + (x + 0.5) / scale - 0.5
        }
    }
}

fn nearest(at: &ResizeAttrs, x: f64) -> f64 {
    match at.nearest_mode {
        NearestMode::RoundPreferFloor => {
            if x.fract() == 0.5 || x.fract() == -0.5 {
                x.floor()
            } else {
                x.round()
            }
        }
        NearestMode::RoundPreferCeil => {
            if x.fract() == 0.5 || x.fract() == -0.5 {
                x.ceil()
            } else {
                x.round()
            }
        }
        NearestMode::Floor => x.floor(),
        NearestMode::Ceil => x.ceil(),
    }
}

fn cubic_coeffs(r: f64, a: f64) -> [f64; 4] {
    let w = |t: f64| {
        let t = t.abs();
        if t <= 1.0 {
            ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
        } else if t < 2.0 {
            ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
        } else {
            0.0
        }
    };
    [w(1.0 + r), w(r), w(1.0 - r), w(2.0 - r)]
}

/// Taps (input index, weight) of one output coordinate; `None`: extrapolation value.
fn taps(
    at: &ResizeAttrs,
    o: usize,
    scale: f64,
    n_in: usize,
    n_out: usize,
    roi: (f64, f64),
) -> Option<Vec<(usize, f64)>> {
    let x = orig_coord(at, o, scale, n_in, n_out, roi);
    if at.coordinate_transformation_mode == CoordMode::TfCropAndResize
        && (x < 0.0 || x > n_in as f64 - 1.0)
    {
        return None;
    }
    let last = n_in as i64 - 1;
    let clampi = |i: i64| i.clamp(0, last) as usize;
    Some(match at.mode {
        ResizeMode::Nearest => vec![(clampi(nearest(at, x) as i64), 1.0)],
        ResizeMode::Linear => {
            let xc = x.clamp(0.0, last as f64);
            let i0 = xc.floor() as i64;
            let r = xc - i0 as f64;
            vec![(clampi(i0), 1.0 - r), (clampi(i0 + 1), r)]
        }
        ResizeMode::Cubic => {
            let i0 = x.floor() as i64;
            let r = x - i0 as f64;
            let c = cubic_coeffs(r, at.cubic_coeff_a as f64);
            let idx = [i0 - 1, i0, i0 + 1, i0 + 2];
            if at.exclude_outside {
                let s: f64 = (0..4).filter(|&k| (0..=last).contains(&idx[k])).map(|k| c[k]).sum();
                (0..4)
                    .filter(|&k| (0..=last).contains(&idx[k]))
                    .map(|k| (idx[k] as usize, c[k] / s))
                    .collect()
            } else {
                (0..4).map(|k| (clampi(idx[k]), c[k])).collect()
            }
        }
    })
}

/// One axis a `Resize` resamples, as the interpreter applies it: the taps (input coordinate,
/// weight) of each output coordinate, `None` where tf_crop_and_resize extrapolates.
#[derive(Debug, Clone, PartialEq)]
pub struct ResizeAxis {
    /// The axis.
    pub axis: usize,
    /// Input extent.
    pub n_in: usize,
    /// Output extent.
    pub n_out: usize,
    /// Per output coordinate: the taps, or the extrapolation value.
    pub taps: Vec<Option<Vec<(usize, f64)>>>,
}

/// The axes a `Resize` of an `x_shape` tensor resamples, in the order the interpreter applies
/// them (last axis first; axes left unchanged are skipped), from the optional `roi`, `scales`
/// and `sizes` operands. Backends lower Resize from this plan, so both follow one rule.
pub fn resize_plan(
    at: &ResizeAttrs,
    x_shape: &[usize],
    roi: Option<&Tensor>,
    scales: Option<&Tensor>,
    sizes: Option<&Tensor>,
) -> R<Vec<ResizeAxis>> {
    let r = x_shape.len();
    let scales_t = scales.filter(|t| t.numel() > 0);
    let sizes_t = sizes.filter(|t| t.numel() > 0);
    let (scales, sizes): (Vec<f64>, Vec<usize>) = match (scales_t, sizes_t) {
        (Some(s), None) => {
            let s = floats(s, 2)?.iter().map(|&v| v as f64).collect::<Vec<_>>();
            if s.len() != r || s.iter().any(|&v| v <= 0.0 || !v.is_finite()) {
                return Err(value_err(format!("Resize scales {s:?} for rank {r}")));
            }
            let sz =
                x_shape.iter().zip(&s).map(|(&d, &k)| (d as f64 * k).floor() as usize).collect();
            (s, sz)
        }
        (None, Some(z)) => {
            let z = super::util::int_list(z, 3)?;
            if z.len() != r || z.iter().any(|&v| v < 0) {
                return Err(value_err(format!("Resize sizes {z:?} for rank {r}")));
            }
            let z: Vec<usize> = z.into_iter().map(|v| v as usize).collect();
            let s = x_shape.iter().zip(&z).map(|(&d, &o)| o as f64 / d as f64).collect();
            (s, z)
        }
        _ => return Err(value_err("Resize needs exactly one of scales and sizes")),
    };
    numel(&sizes)?;
    let roi: Vec<(f64, f64)> = match roi.filter(|t| t.numel() > 0) {
        Some(t) if at.coordinate_transformation_mode == CoordMode::TfCropAndResize => {
            let v = t.to_f64_vec();
            if v.len() != 2 * r {
                return Err(shape_err(format!("roi has {} values for rank {r}", v.len())));
            }
            (0..r).map(|i| (v[i], v[r + i])).collect()
        }
        _ => vec![(0.0, 1.0); r],
    };
    let mut plan = Vec::new();
    for ax in (0..r).rev() {
        if sizes[ax] == x_shape[ax]
            && scales[ax] == 1.0
            && at.coordinate_transformation_mode != CoordMode::TfCropAndResize
        {
            continue;
        }
        if x_shape[ax] == 0 && sizes[ax] > 0 {
            return Err(shape_err("cannot resize an empty axis"));
        }
        let (n_in, n_out) = (x_shape[ax], sizes[ax]);
        let taps = (0..n_out).map(|o| taps(at, o, scales[ax], n_in, n_out, roi[ax])).collect();
        plan.push(ResizeAxis { axis: ax, n_in, n_out, taps });
    }
    Ok(plan)
}

/// Evaluates `Resize`.
pub(crate) fn resize(a: &Args<'_>, at: &ResizeAttrs) -> R<Tensor> {
    a.arity(1, 4)?;
    let x = a.req(0)?;
    let plan = resize_plan(at, &x.shape, a.opt(1), a.opt(2), a.opt(3))?;
    if at.mode == ResizeMode::Nearest {
        // Pure index selection: works for every dtype and needs no float conversion.
        let mut cur = x.clone();
        for p in &plan {
            let ax = p.axis;
            let map: Vec<Option<usize>> =
                p.taps.iter().map(|t| t.as_ref().map(|t| t[0].0)).collect();
            if map.iter().any(|m| m.is_none()) {
                if !x.dtype.is_float() {
                    return Err(dtype_err(0, x.dtype));
                }
                cur = apply_float(
                    &cur,
                    ax,
                    p.n_out,
                    |o| map[o].map(|i| vec![(i, 1.0)]),
                    at.extrapolation_value,
                )?;
                continue;
            }
            let outer = numel(&cur.shape[..ax])?;
            let inner = numel(&cur.shape[ax + 1..])?;
            let d = cur.shape[ax];
            let mut idx = Vec::with_capacity(outer * p.n_out * inner);
            for o in 0..outer {
                for m in map.iter().flatten() {
                    let base = (o * d + m) * inner;
                    idx.extend(base..base + inner);
                }
            }
            let mut shape = cur.shape.clone();
            shape[ax] = p.n_out;
            cur = mk(cur.dtype, shape, gather_data(&cur.data, &idx))?;
        }
        return Ok(cur);
    }
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    let mut cur = x.clone();
    for p in &plan {
        cur = apply_float(&cur, p.axis, p.n_out, |o| p.taps[o].clone(), at.extrapolation_value)?;
    }
    Ok(cur)
}

fn apply_float(
    x: &Tensor,
    ax: usize,
    n_out: usize,
    tap: impl Fn(usize) -> Option<Vec<(usize, f64)>>,
    extra: f32,
) -> R<Tensor> {
    let v = floats(x, 0)?;
    let outer = numel(&x.shape[..ax])?;
    let inner = numel(&x.shape[ax + 1..])?;
    let d = x.shape[ax];
    let taps: Vec<Option<Vec<(usize, f64)>>> = (0..n_out).map(tap).collect();
    let mut out = Vec::with_capacity(outer * n_out * inner);
    for o in 0..outer {
        for t in &taps {
            for i in 0..inner {
                out.push(match t {
                    None => extra,
                    Some(t) => {
                        t.iter().map(|&(k, w)| v[(o * d + k) * inner + i] as f64 * w).sum::<f64>()
                            as f32
                    }
                });
            }
        }
    }
    let mut shape = x.shape.clone();
    shape[ax] = n_out;
    float_out(x.dtype, shape, out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::Op;

    fn rs(at: ResizeAttrs, x: &Tensor, scales: &[f32]) -> Tensor {
        let s = Tensor::f32(&[scales.len()], scales.to_vec());
        evo(&Op::Resize(at), &[Some(x), None, Some(&s)], 1).unwrap().remove(0)
    }

    #[test]
    fn nearest_upsample_modes() {
        let x = Tensor::f32(&[1, 1, 1, 2], vec![1., 2.]);
        let at = ResizeAttrs {
            coordinate_transformation_mode: CoordMode::Asymmetric,
            ..Default::default()
        };
        let r = rs(at, &x, &[1., 1., 2., 2.]);
        assert_eq!(r.shape, vec![1, 1, 2, 4]);
        assert_eq!(r.as_f32().unwrap(), &[1., 1., 2., 2., 1., 1., 2., 2.]);
        // half_pixel, x3: coords (o+0.5)/3-0.5 = -1/3, 0, 1/3, 2/3, 1, 4/3 → round_prefer_floor.
        let x = Tensor::i8(&[2], vec![5, 7]);
        let r = rs(ResizeAttrs::default(), &x, &[3.]);
        assert_eq!(r.as_i8().unwrap(), &[5, 5, 5, 7, 7, 7]);
        // half_pixel x2: coords -0.25, 0.25, 0.75, 1.25; ceil mode → 0(clamped -0), 1, 1, 2→1.
        let at = ResizeAttrs { nearest_mode: NearestMode::Ceil, ..Default::default() };
        let x = Tensor::f32(&[3], vec![1., 2., 3.]);
        assert_eq!(rs(at, &x, &[2.]).as_f32().unwrap(), &[1., 2., 2., 3., 3., 3.]);
        // asymmetric 0.5-ties: x/1.5 for out 0..3 = 0, 0.667, 1.333; round_prefer_ceil at exactly .5
        let at = ResizeAttrs {
            coordinate_transformation_mode: CoordMode::Asymmetric,
            nearest_mode: NearestMode::RoundPreferCeil,
            ..Default::default()
        };
        let x = Tensor::f32(&[2], vec![1., 2.]);
        assert_eq!(rs(at, &x, &[4.]).as_f32().unwrap(), &[1., 1., 2., 2., 2., 2., 2., 2.]);
    }

    #[test]
    fn linear_half_pixel_and_align_corners() {
        let x = Tensor::f32(&[1, 1, 2, 2], vec![1., 2., 3., 4.]);
        let at = ResizeAttrs { mode: ResizeMode::Linear, ..Default::default() };
        let r = rs(at, &x, &[1., 1., 2., 2.]);
        close(
            r.as_f32().unwrap(),
            &[1., 1.25, 1.75, 2., 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3., 3.25, 3.75, 4.],
            1e-6,
        );
        let at = ResizeAttrs {
            mode: ResizeMode::Linear,
            coordinate_transformation_mode: CoordMode::AlignCorners,
            ..Default::default()
        };
        let x = Tensor::f32(&[2], vec![0., 3.]);
        let sz = Tensor::i64(&[1], vec![4]);
        let r = evo(&Op::Resize(at), &[Some(&x), None, None, Some(&sz)], 1).unwrap();
        close(r[0].as_f32().unwrap(), &[0., 1., 2., 3.], 1e-6);
    }

    #[test]
    fn cubic_matches_onnx_reference() {
        // onnx backend test resize_upsample_scales_cubic_asymmetric, first row.
        let x = Tensor::f32(&[1, 1, 4, 4], (1..=16).map(|v| v as f32).collect());
        let at = ResizeAttrs {
            mode: ResizeMode::Cubic,
            coordinate_transformation_mode: CoordMode::Asymmetric,
            ..Default::default()
        };
        let r = rs(at, &x, &[1., 1., 2., 2.]);
        close(
            &r.as_f32().unwrap()[..8],
            &[1.0, 1.40625, 2.0, 2.5, 3.0, 3.59375, 4.0, 4.09375],
            1e-5,
        );
    }

    #[test]
    fn tf_crop_and_resize_extrapolates() {
        let x = Tensor::f32(&[1, 1, 2, 2], vec![1., 2., 3., 4.]);
        let roi = Tensor::f32(&[8], vec![0., 0., 0., 0., 1., 1., 1., 2.]);
        let sz = Tensor::i64(&[4], vec![1, 1, 2, 3]);
        let at = ResizeAttrs {
            mode: ResizeMode::Linear,
            coordinate_transformation_mode: CoordMode::TfCropAndResize,
            extrapolation_value: 9.0,
            ..Default::default()
        };
        let r = evo(&Op::Resize(at), &[Some(&x), Some(&roi), None, Some(&sz)], 1).unwrap();
        // w coords: 0, 1, 2 (2 is outside [0, 1]).
        close(r[0].as_f32().unwrap(), &[1., 2., 9., 3., 4., 9.], 1e-6);
    }

    #[test]
    fn resize_errors() {
        let x = Tensor::f32(&[2], vec![1., 2.]);
        assert!(evo(&Op::Resize(ResizeAttrs::default()), &[Some(&x)], 1).is_err());
        let s = Tensor::f32(&[2], vec![1., 2.]);
        assert!(evo(&Op::Resize(ResizeAttrs::default()), &[Some(&x), None, Some(&s)], 1).is_err());
    }
}
