//! Quantization parameters from ranges and from weights.

use qcc_ir::qmath;
use qcc_ir::{DType, Quant, Tensor};

/// Affine (asymmetric) per-tensor parameters for an activation of `dtype` (u8 or i8) covering
/// `[lo, hi]`; the range is widened to include 0 so that zero is exact (padding, Relu).
/// Symmetric types (i16, i32) get zero point 0.
pub fn activation_params(lo: f32, hi: f32, dtype: DType) -> Quant {
    let (qlo, qhi) = qmath::qrange(dtype);
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let symmetric = matches!(dtype, DType::I16 | DType::I32);
    if symmetric {
        let amax = lo.abs().max(hi.abs());
        let scale = if amax > 0.0 { amax / qhi as f32 } else { 1.0 };
        return Quant::Tensor { scale: sanitize(scale), zero_point: 0 };
    }
    if hi <= lo {
        return Quant::Tensor { scale: 1.0, zero_point: qlo.max(0).min(qhi) };
    }
    let scale = sanitize((hi - lo) / (qhi - qlo) as f32);
    let zp = (qlo as f32 - lo / scale).round_ties_even() as i32;
    Quant::Tensor { scale, zero_point: zp.clamp(qlo, qhi) }
}

/// A usable scale: finite, positive and not subnormal.
fn sanitize(s: f32) -> f32 {
    if s.is_finite() && s >= f32::MIN_POSITIVE {
        s
    } else if s.is_finite() && s > 0.0 {
        f32::MIN_POSITIVE
    } else {
        1.0
    }
}

/// Symmetric scale for `amax` on a type whose positive limit is `qmax` (zero weights get 1).
fn sym_scale(amax: f32, qmax: i32) -> f32 {
    if amax > 0.0 {
        sanitize(amax / qmax as f32)
    } else {
        1.0
    }
}

/// Weight granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One scale for the tensor.
    Tensor,
    /// One scale per index of an axis (output channels).
    Channel {
        /// The axis.
        axis: usize,
    },
    /// One scale per block of `size` along `axis`.
    Group {
        /// The blocked axis.
        axis: usize,
        /// Block length.
        size: usize,
    },
}

/// Quantizes a float weight symmetrically to `dtype` (i8 or i4) with the given granularity;
/// returns the integer tensor and its parameters.
pub fn quantize_weight(
    w: &Tensor,
    dtype: DType,
    granularity: Granularity,
) -> Result<(Tensor, Quant), String> {
    let data = w.as_f32().map_err(|e| e.to_string())?;
    let (_, qmax) = qmath::qrange(dtype);
    let (qlo, qhi) = (-qmax, qmax); // symmetric: −127..127 for i8, −7..7 for i4
    let shape = &w.shape;
    let q_of = |x: f32, s: f32| qmath::quantize(x, s, 0, qlo, qhi) as i64;
    let (values, quant): (Vec<i64>, Quant) = match granularity {
        Granularity::Tensor => {
            let amax = data.iter().fold(0f32, |m, x| m.max(x.abs()));
            let s = sym_scale(amax, qmax);
            (data.iter().map(|&x| q_of(x, s)).collect(), Quant::Tensor { scale: s, zero_point: 0 })
        }
        Granularity::Channel { axis } => {
            if axis >= shape.len() {
                return Err(format!("channel axis {axis} out of range for shape {shape:?}"));
            }
            let c = shape[axis];
            let inner: usize = shape[axis + 1..].iter().product();
            let mut amax = vec![0f32; c];
            for (i, &x) in data.iter().enumerate() {
                let ch = (i / inner) % c;
                amax[ch] = amax[ch].max(x.abs());
            }
            let scales: Vec<f32> = amax.iter().map(|&a| sym_scale(a, qmax)).collect();
            let v =
                data.iter().enumerate().map(|(i, &x)| q_of(x, scales[(i / inner) % c])).collect();
            (v, Quant::Axis { axis, scales, zero_points: vec![0; c] })
        }
        Granularity::Group { axis, size } => {
            if axis >= shape.len() || size == 0 {
                return Err(format!("group axis {axis} / size {size} invalid for shape {shape:?}"));
            }
            let d = shape[axis];
            let nb = d.div_ceil(size);
            let outer: usize = shape[..axis].iter().product();
            let inner: usize = shape[axis + 1..].iter().product();
            // Scales laid out as the shape with dims[axis] = nb, row-major.
            let sidx = |i: usize| {
                let o = i / (d * inner);
                let a = (i / inner) % d;
                let r = i % inner;
                (o * nb + a / size) * inner + r
            };
            let mut amax = vec![0f32; outer * nb * inner];
            for (i, &x) in data.iter().enumerate() {
                let k = sidx(i);
                amax[k] = amax[k].max(x.abs());
            }
            let scales: Vec<f32> = amax.iter().map(|&a| sym_scale(a, qmax)).collect();
            let v = data.iter().enumerate().map(|(i, &x)| q_of(x, scales[sidx(i)])).collect();
            let n = scales.len();
            (v, Quant::Block { axis, block: size, scales, zero_points: vec![0; n] })
        }
    };
    let t =
        Tensor::from_i64_saturating(dtype, shape.clone(), &values).map_err(|e| e.to_string())?;
    Ok((t, quant))
}

/// Quantizes a float bias to i32 at scale `s_in · s_w[c]` (per output channel), zero point 0.
pub fn quantize_bias(b: &Tensor, s_in: f32, s_w: &[f32]) -> Result<(Tensor, Quant), String> {
    let data = b.as_f32().map_err(|e| e.to_string())?;
    let scales: Vec<f32> = if s_w.len() == 1 {
        vec![s_in * s_w[0]; data.len()]
    } else if s_w.len() == data.len() {
        s_w.iter().map(|&s| s_in * s).collect()
    } else {
        return Err(format!(
            "bias has {} elements but the weight has {} scales",
            data.len(),
            s_w.len()
        ));
    };
    let (lo, hi) = qmath::qrange(DType::I32);
    let v: Vec<i64> =
        data.iter().zip(&scales).map(|(&x, &s)| qmath::quantize(x, s, 0, lo, hi) as i64).collect();
    let t =
        Tensor::from_i64_saturating(DType::I32, b.shape.clone(), &v).map_err(|e| e.to_string())?;
    let q = if s_w.len() == 1 {
        Quant::Tensor { scale: scales.first().copied().unwrap_or(1.0), zero_point: 0 }
    } else {
        Quant::Axis { axis: 0, scales, zero_points: vec![0; data.len()] }
    };
    Ok((t, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u8_params_include_zero() {
        // [0.5, 2.55] widens to [0, 2.55]: scale 0.01, zp 0.
        let q = activation_params(0.5, 2.55, DType::U8);
        assert_eq!(q, Quant::Tensor { scale: 2.55 / 255.0, zero_point: 0 });
        // [-1, 1]: scale 2/255; zp = 1/scale = 127.49999 in f32 → 127.
        let Quant::Tensor { scale, zero_point } = activation_params(-1.0, 1.0, DType::U8) else {
            panic!()
        };
        assert_eq!((scale, zero_point), (2.0 / 255.0, 127));
        // i8: zp = -128 - lo/scale = -128 + 127.49999 = -0.50001 → -1.
        let Quant::Tensor { zero_point, .. } = activation_params(-1.0, 1.0, DType::I8) else {
            panic!()
        };
        assert_eq!(zero_point, -1);
        // Degenerate ranges still give valid parameters.
        assert_eq!(
            activation_params(0.0, 0.0, DType::U8),
            Quant::Tensor { scale: 1.0, zero_point: 0 }
        );
        assert_eq!(
            activation_params(-4.0, 2.0, DType::I16),
            Quant::Tensor { scale: 4.0 / 32767.0, zero_point: 0 }
        );
    }

    #[test]
    fn per_channel_weights_are_symmetric() {
        let w = Tensor::f32(&[2, 3], vec![1.0, -0.5, 0.25, 0.0, 0.0, 0.0]);
        let (q, p) = quantize_weight(&w, DType::I8, Granularity::Channel { axis: 0 }).unwrap();
        assert_eq!(
            p,
            Quant::Axis { axis: 0, scales: vec![1.0 / 127.0, 1.0], zero_points: vec![0, 0] }
        );
        // 0.25·127 = 31.75 → 32; -0.5·127 = -63.5 → -64 (half to even).
        assert_eq!(q, Tensor::i8(&[2, 3], vec![127, -64, 32, 0, 0, 0]));
    }

    #[test]
    fn int4_groups_along_an_axis() {
        let w = Tensor::f32(&[4, 1], vec![7.0, 3.5, 0.7, -0.35]);
        let (q, p) =
            quantize_weight(&w, DType::I4, Granularity::Group { axis: 0, size: 2 }).unwrap();
        assert_eq!(
            p,
            Quant::Block { axis: 0, block: 2, scales: vec![1.0, 0.1], zero_points: vec![0, 0] }
        );
        assert_eq!(q.dtype, DType::I4);
        assert_eq!(q.to_i64_vec().unwrap(), vec![7, 4, 7, -4]);
    }

    #[test]
    fn bias_at_product_scale() {
        let b = Tensor::f32(&[2], vec![0.5, -1.0]);
        let (q, p) = quantize_bias(&b, 0.5, &[0.1, 0.01]).unwrap();
        assert_eq!(q, Tensor::i32(&[2], vec![10, -200]));
        assert_eq!(p.scales(), &[0.05, 0.005]);
    }
}
