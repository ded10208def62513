//! Choosing a clipping range `[lo, hi]` from calibration statistics: min/max, percentile,
//! entropy (KL divergence, as TensorRT and ONNX Runtime do) and MSE-optimal clipping.

use super::histogram::Histogram;
use serde::{Deserialize, Serialize};

/// How a tensor's range is chosen from its statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum RangeMethod {
    /// The observed minimum and maximum.
    #[default]
    MinMax,
    /// The average of per-batch minima and maxima.
    MovingAverage,
    /// Clip at a percentile of |x| tails (e.g. 99.99).
    Percentile {
        /// Percentile kept, in percent.
        percentile: f64,
    },
    /// Minimise the KL divergence between the clipped and quantized distributions.
    Entropy,
    /// Minimise the expected squared quantization error (clipping + rounding).
    Mse,
}

/// Smallest symmetric or one-sided range covering `[min, max]` and 0.
fn with_zero(lo: f32, hi: f32) -> (f32, f32) {
    (lo.min(0.0), hi.max(0.0))
}

/// The range chosen by `method` for a quantizer with `levels` steps (256 for 8 bits).
pub fn choose_range(
    method: RangeMethod,
    h: &Histogram,
    avg_minmax: (f32, f32),
    levels: usize,
) -> (f32, f32) {
    if h.total() == 0 {
        return (0.0, 0.0);
    }
    match method {
        RangeMethod::MinMax => (h.min(), h.max()),
        RangeMethod::MovingAverage => avg_minmax,
        RangeMethod::Percentile { percentile } => {
            let tail = (1.0 - percentile / 100.0).clamp(0.0, 1.0);
            let lo = if h.min() < 0.0 { h.quantile(tail) } else { h.min() };
            (lo, h.quantile(1.0 - tail))
        }
        RangeMethod::Entropy => entropy_range(h, levels),
        RangeMethod::Mse => mse_range(h, levels),
    }
}

/// Bin counts of |x| over `[0, max|x|]`, folding the histogram around zero.
fn abs_histogram(h: &Histogram) -> (Vec<f64>, f64) {
    let b = h.counts().len();
    let amax = h.min().abs().max(h.max().abs()) as f64;
    let mut out = vec![0.0; b];
    if amax == 0.0 || h.width() == 0.0 {
        out[0] = h.total() as f64;
        return (out, amax.max(f64::MIN_POSITIVE));
    }
    let w = amax / b as f64;
    for (i, &c) in h.counts().iter().enumerate() {
        if c == 0 {
            continue;
        }
        let centre = (h.edge(i) + 0.5 * h.width()).abs();
        out[((centre / w) as usize).min(b - 1)] += c as f64;
    }
    (out, amax)
}

/// KL divergence threshold search (TensorRT's algorithm) on the |x| histogram. Returns the range
/// clipped to the observed extremes.
pub fn entropy_range(h: &Histogram, levels: usize) -> (f32, f32) {
    let (p_full, amax) = abs_histogram(h);
    let b = p_full.len();
    // Two-sided data uses half the levels on each side of zero.
    let target = if h.min() < 0.0 { (levels / 2).max(2) } else { levels.max(2) };
    if b <= target {
        return (h.min(), h.max());
    }
    let mut best = (f64::INFINITY, b);
    let step = (b / 512).max(1);
    let mut i = target;
    while i <= b {
        let mut p: Vec<f64> = p_full[..i].to_vec();
        let outliers: f64 = p_full[i..].iter().sum();
        p[i - 1] += outliers;
        // Quantize p into `target` bins, then expand back over the non-empty source bins.
        let mut q = vec![0.0; i];
        for j in 0..target {
            let start = j * i / target;
            let end = ((j + 1) * i / target).max(start + 1);
            let mass: f64 =
                p_full[start..end].iter().sum::<f64>() + if end == i { outliers } else { 0.0 };
            let nonzero = p[start..end].iter().filter(|&&x| x > 0.0).count();
            if nonzero > 0 {
                for k in start..end {
                    if p[k] > 0.0 {
                        q[k] = mass / nonzero as f64;
                    }
                }
            }
        }
        let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
        let mut kl = 0.0;
        for k in 0..i {
            if p[k] > 0.0 {
                let pk = p[k] / sp;
                let qk = q[k] / sq;
                kl += if qk > 0.0 { pk * (pk / qk).ln() } else { f64::INFINITY };
            }
        }
        if kl < best.0 {
            best = (kl, i);
        }
        i += step;
    }
    let t = (best.1 as f64 * amax / b as f64) as f32;
    (h.min().max(-t), h.max().min(t))
}

/// The clip range minimising the expected squared error of an affine quantizer with `levels`
/// steps, searched over shrunken copies of the observed range.
pub fn mse_range(h: &Histogram, levels: usize) -> (f32, f32) {
    let (lo0, hi0) = with_zero(h.min(), h.max());
    if lo0 == hi0 || h.width() == 0.0 {
        return (h.min(), h.max());
    }
    let steps = (levels.max(2) - 1) as f64;
    let mut best = (f64::INFINITY, 1.0);
    for k in 0..=60 {
        let alpha = 1.0 - k as f64 * 0.015; // 1.0 down to 0.1
        let (lo, hi) = (lo0 as f64 * alpha, hi0 as f64 * alpha);
        let scale = (hi - lo) / steps;
        let zp = (-lo / scale).round();
        let mut err = 0.0;
        for (i, &c) in h.counts().iter().enumerate() {
            if c == 0 {
                continue;
            }
            let x = h.edge(i) + 0.5 * h.width();
            let q = ((x / scale).round() + zp).clamp(0.0, steps);
            let d = x - (q - zp) * scale;
            err += c as f64 * d * d;
        }
        if err < best.0 {
            best = (err, alpha);
        }
    }
    ((lo0 as f64 * best.1) as f32, (hi0 as f64 * best.1) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::histogram::DEFAULT_BINS;

    fn gaussian_with_outliers() -> Histogram {
        // Deterministic pseudo-normal values (sum of uniforms) plus a few large outliers.
        let mut h = Histogram::new(DEFAULT_BINS);
        let mut s = 12345u64;
        let mut v = Vec::new();
        for _ in 0..50_000 {
            let mut acc = 0.0;
            for _ in 0..6 {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                acc += (s >> 40) as f32 / (1u64 << 24) as f32;
            }
            v.push(acc - 3.0);
        }
        v.extend([40.0, -35.0, 50.0]);
        h.observe(&v);
        h
    }

    #[test]
    fn minmax_keeps_outliers_and_clipping_methods_drop_them() {
        let h = gaussian_with_outliers();
        assert_eq!(choose_range(RangeMethod::MinMax, &h, (0.0, 0.0), 256), (-35.0, 50.0));
        let (plo, phi) =
            choose_range(RangeMethod::Percentile { percentile: 99.99 }, &h, (0.0, 0.0), 256);
        assert!(phi < 10.0 && plo > -10.0, "percentile {plo} {phi}");
        let (elo, ehi) = entropy_range(&h, 256);
        assert!(ehi < 20.0 && elo > -20.0 && ehi > 1.0, "entropy {elo} {ehi}");
        let (mlo, mhi) = mse_range(&h, 256);
        assert!(mhi < 50.0 && mlo > -35.0, "mse {mlo} {mhi}");
    }

    #[test]
    fn mse_prefers_the_full_range_for_uniform_data() {
        let mut h = Histogram::new(DEFAULT_BINS);
        let v: Vec<f32> = (0..20_000).map(|i| i as f32 / 20_000.0).collect();
        h.observe(&v);
        let (lo, hi) = mse_range(&h, 256);
        assert!(lo == 0.0 && hi > 0.95, "{lo} {hi}");
    }
}
