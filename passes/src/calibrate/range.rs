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

/// Counts of |x| over `[0, max|x|]` in as many bins as `h` has, without the exact zeros. Each
/// source bin's count is spread over the |x| bins it overlaps in proportion to the overlap (a
/// bin that straddles 0 is split in two), so the result has no empty "comb" bins when the
/// source bins are wider than the |x| bins.
fn abs_histogram(h: &Histogram) -> (Vec<f64>, f64) {
    let b = h.counts().len();
    let amax = h.min().abs().max(h.max().abs()) as f64;
    let mut out = vec![0.0; b];
    if amax == 0.0 || h.width() == 0.0 {
        out[0] = (h.total() - h.zeros()) as f64;
        return (out, amax.max(f64::MIN_POSITIVE));
    }
    let w = amax / b as f64;
    // Spreads `c` uniformly over |x| in [a, z].
    let mut spread = |a: f64, z: f64, c: f64| {
        let (a, z) = (a.clamp(0.0, amax), z.clamp(0.0, amax));
        if z <= a {
            out[((a / w) as usize).min(b - 1)] += c;
            return;
        }
        let (first, last) = (((a / w) as usize).min(b - 1), ((z / w) as usize).min(b - 1));
        for (k, slot) in out.iter_mut().enumerate().take(last + 1).skip(first) {
            let lo = (k as f64 * w).max(a);
            let hi = ((k + 1) as f64 * w).min(z);
            if hi > lo {
                *slot += c * (hi - lo) / (z - a);
            }
        }
    };
    for (i, &c) in h.counts().iter().enumerate() {
        let (e0, e1) = (h.edge(i), h.edge(i) + h.width());
        let mut c = c as f64;
        if e0 <= 0.0 && 0.0 < e1 {
            c -= h.zeros() as f64;
        }
        if c <= 0.0 {
            continue;
        }
        if e0 >= 0.0 {
            spread(e0, e1, c);
        } else if e1 <= 0.0 {
            spread(-e1, -e0, c);
        } else {
            let f = -e0 / (e1 - e0);
            spread(0.0, -e0, c * f);
            spread(0.0, e1, c * (1.0 - f));
        }
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
        // Quantize the clipped histogram into `target` bins, then expand back over the
        // non-empty source bins.
        let mut q = vec![0.0; i];
        for j in 0..target {
            let start = j * i / target;
            let end = ((j + 1) * i / target).max(start + 1);
            // Q is built from the clipped histogram without the outliers, so that clipping
            // mass shows up as divergence (TensorRT's formulation).
            let mass: f64 = p_full[start..end].iter().sum::<f64>();
            let nonzero = p[start..end].iter().filter(|&&x| x > 0.0).count();
            if nonzero > 0 {
                for k in start..end {
                    if p[k] > 0.0 {
                        q[k] = mass / nonzero as f64;
                    }
                }
            }
        }
        let (p, q) = (smooth(&p), smooth(&q));
        let mut kl = 0.0;
        for k in 0..i {
            if p[k] > 0.0 {
                kl += p[k] * (p[k] / q[k]).ln();
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

/// Normalizes a histogram and gives every empty bin a small mass `eps` taken evenly from the
/// others (ONNX Runtime's `smooth_distribution`), so the KL divergence stays finite.
fn smooth(h: &[f64]) -> Vec<f64> {
    const EPS: f64 = 1e-4;
    let total: f64 = h.iter().sum();
    if total <= 0.0 {
        return vec![1.0 / h.len().max(1) as f64; h.len()];
    }
    let zeros = h.iter().filter(|&&x| x == 0.0).count();
    let nonzeros = h.len() - zeros;
    let take = if nonzeros > 0 { EPS * zeros as f64 / nonzeros as f64 } else { 0.0 };
    h.iter().map(|&x| if x == 0.0 { EPS } else { (x / total - take).max(EPS) }).collect()
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

    /// Post-Relu data: half exact zeros, half |normal|. The zero spike must not drive the KL
    /// search to clip the rest (it did: the threshold fell to max/8).
    #[test]
    fn entropy_ignores_the_relu_zero_spike() {
        let g = gaussian_with_outliers();
        let mut h = Histogram::new(DEFAULT_BINS);
        // Only the normal part (drop the outliers), folded and interleaved with zeros.
        let v: Vec<f32> = (0..50_000)
            .map(|i| if i % 2 == 0 { 0.0 } else { (g.quantile(i as f64 / 50_001.0)).abs() })
            .collect();
        h.observe(&v);
        assert_eq!(h.zeros(), 25_000);
        let (lo, hi) = entropy_range(&h, 256);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.5 * h.max(), "entropy clipped post-Relu data to {hi} of max {}", h.max());
    }

    /// Wide source bins (the histogram grew) must not leave a comb of empty |x| bins that the
    /// KL search mistakes for structure: the threshold of a uniform two-sided sample is near
    /// its extreme whatever the history of the histogram.
    #[test]
    fn entropy_of_uniform_data_keeps_nearly_everything() {
        let mut h = Histogram::new(DEFAULT_BINS);
        h.observe(&[0.0, 1.0]);
        h.observe(&[-1000.0]); // grows the bins 1000-fold to the left
        let v: Vec<f32> = (0..40_000).map(|i| -1000.0 + i as f32 / 20.0).collect();
        h.observe(&v);
        let (lo, _) = entropy_range(&h, 256);
        assert!(lo < -800.0, "uniform data clipped at {lo}");
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
