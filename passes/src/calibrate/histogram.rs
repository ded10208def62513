//! A fixed-size histogram whose range grows by exact bin merging, so one pass over the
//! calibration data suffices and memory stays constant per tensor.
//!
//! The bins cover `[origin, origin + bins·width)`. When a value falls outside, the width doubles
//! (pairs of bins merge exactly) and the range extends toward that value, as often as needed.

/// Number of bins used by calibration (a power of two, as the merging requires an even count).
pub const DEFAULT_BINS: usize = 2048;

/// A streaming histogram of finite f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    origin: f64,
    width: f64,
    min: f32,
    max: f32,
    total: u64,
    zeros: u64,
}

impl Histogram {
    /// An empty histogram with `bins` bins (even, ≥ 2).
    pub fn new(bins: usize) -> Histogram {
        assert!(bins >= 2 && bins.is_multiple_of(2), "histogram bins must be even and ≥ 2");
        Histogram {
            counts: vec![0; bins],
            origin: 0.0,
            width: 0.0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            total: 0,
            zeros: 0,
        }
    }

    /// Smallest value seen.
    pub fn min(&self) -> f32 {
        self.min
    }
    /// Largest value seen.
    pub fn max(&self) -> f32 {
        self.max
    }
    /// Number of values seen.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Number of values exactly equal to 0 (counted in their bin too). Entropy calibration
    /// leaves them out: a Relu's spike at zero is exact in any range and would otherwise make
    /// the KL search clip everything else.
    pub fn zeros(&self) -> u64 {
        self.zeros
    }
    /// Bin counts.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
    /// Lower edge of bin `i`.
    pub fn edge(&self, i: usize) -> f64 {
        self.origin + i as f64 * self.width
    }
    /// Bin width (0 until two distinct values were seen).
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Makes the bins cover `[lo, hi]`. `seen` is the single value counted so far while the
    /// width was still 0.
    fn grow_to(&mut self, lo: f64, hi: f64, seen: f64) {
        let b = self.counts.len();
        if self.width == 0.0 {
            // First spread: choose a width that covers [lo, hi] with some headroom.
            let span = (hi - lo).max(f64::MIN_POSITIVE);
            self.origin = lo;
            self.width = span * 1.0001 / b as f64;
            // Re-seat the values counted so far (all equal to `seen`) into the new bins.
            let n = std::mem::take(&mut self.counts).iter().sum::<u64>();
            self.counts = vec![0; b];
            if n > 0 {
                let i = self.bin_of(seen);
                self.counts[i] += n;
            }
            return;
        }
        while lo < self.origin || hi >= self.origin + b as f64 * self.width {
            let mut merged = vec![0u64; b];
            if lo < self.origin {
                // Extend to the left by a full span: old bin i → new bin (b + i) / 2.
                for (i, &c) in self.counts.iter().enumerate() {
                    merged[(b + i) / 2] += c;
                }
                self.origin -= b as f64 * self.width;
            } else {
                for (i, &c) in self.counts.iter().enumerate() {
                    merged[i / 2] += c;
                }
            }
            self.width *= 2.0;
            self.counts = merged;
        }
    }

    fn bin_of(&self, x: f64) -> usize {
        if self.width == 0.0 {
            return 0;
        }
        (((x - self.origin) / self.width) as usize).min(self.counts.len() - 1)
    }

    /// Adds values (non-finite values are ignored: they carry no range information).
    pub fn observe(&mut self, data: &[f32]) {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &x in data {
            if x.is_finite() {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
        if lo > hi {
            return;
        }
        let seen = self.min as f64;
        self.min = self.min.min(lo);
        self.max = self.max.max(hi);
        if self.min < self.max {
            self.grow_to(self.min as f64, self.max as f64, seen);
        }
        for &x in data {
            if x.is_finite() {
                let i = self.bin_of(x as f64);
                self.counts[i] += 1;
            }
        }
        self.total += data.iter().filter(|x| x.is_finite()).count() as u64;
        self.zeros += data.iter().filter(|&&x| x == 0.0).count() as u64;
    }

    /// Adds another histogram's counts (for parallel calibration).
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.width == 0.0 {
            // All of `other`'s values are equal to its min.
            let v = vec![other.min; 1];
            for _ in 0..other.total {
                self.observe(&v);
            }
            return;
        }
        let seen = self.min as f64;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if self.min < self.max {
            self.grow_to(self.min as f64, self.max as f64, seen);
        }
        // Spread each of other's bins at its centre (exact when the grids align; otherwise the
        // error is at most one of our bins, far below a quantization step).
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                let centre = (other.origin + (i as f64 + 0.5) * other.width)
                    .clamp(self.min as f64, self.max as f64);
                let j = self.bin_of(centre);
                self.counts[j] += c;
            }
        }
        self.total += other.total;
        self.zeros += other.zeros;
    }

    /// The value below which a fraction `q` of the counts lie (linear within a bin).
    pub fn quantile(&self, q: f64) -> f32 {
        if self.total == 0 {
            return 0.0;
        }
        if self.width == 0.0 {
            return self.min;
        }
        let target = q.clamp(0.0, 1.0) * self.total as f64;
        let mut acc = 0.0;
        for (i, &c) in self.counts.iter().enumerate() {
            let next = acc + c as f64;
            if next >= target && c > 0 {
                let frac = ((target - acc) / c as f64).clamp(0.0, 1.0);
                let v = self.edge(i) + frac * self.width;
                return (v as f32).clamp(self.min, self.max);
            }
            acc = next;
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_value_and_tracks_extremes() {
        let mut h = Histogram::new(16);
        h.observe(&[1.0, 2.0, 3.0]);
        h.observe(&[-10.0, 50.0, f32::NAN, f32::INFINITY]);
        assert_eq!(h.total(), 5);
        assert_eq!(h.counts().iter().sum::<u64>(), 5);
        assert_eq!((h.min(), h.max()), (-10.0, 50.0));
        assert!(h.edge(0) <= -10.0 && h.edge(16) > 50.0);
    }

    #[test]
    fn growth_merges_bins_exactly() {
        // Values on a grid: after growth, cumulative counts below each old edge are preserved.
        let mut h = Histogram::new(8);
        let first: Vec<f32> = (0..80).map(|i| i as f32 / 10.0).collect();
        h.observe(&first);
        let old = h.counts().to_vec();
        let (origin, width) = (h.edge(0), h.width());
        // Growing to the right keeps the origin; each new bin is the sum of 2^k old bins.
        h.observe(&[100.0]);
        assert_eq!(h.edge(0), origin);
        let k = (h.width() / width).round() as usize;
        assert!(k.is_power_of_two() && k > 1);
        for (j, &c) in h.counts().iter().enumerate().take(old.len() / k) {
            let expect: u64 = old[j * k..(j + 1) * k].iter().sum();
            assert_eq!(c, expect + u64::from(j == h.counts().len() - 1), "bin {j}");
        }
        assert_eq!(h.total(), 81);
        // Growing to the left keeps every count.
        h.observe(&[-300.0]);
        assert!(h.edge(0) <= -300.0);
        assert_eq!(h.counts().iter().sum::<u64>(), 82);
    }

    #[test]
    fn quantiles_of_a_uniform_sample() {
        let mut h = Histogram::new(DEFAULT_BINS);
        let v: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
        h.observe(&v);
        assert!((h.quantile(0.5) - 0.5).abs() < 2e-3, "{}", h.quantile(0.5));
        assert!((h.quantile(0.99) - 0.99).abs() < 2e-3);
        assert_eq!(h.quantile(1.0), h.max());
    }

    #[test]
    fn merge_equals_observing_everything() {
        let a: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let b: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.11).cos() * 5.0 + 1.0).collect();
        let mut all = Histogram::new(256);
        all.observe(&a);
        all.observe(&b);
        let (mut ha, mut hb) = (Histogram::new(256), Histogram::new(256));
        ha.observe(&a);
        hb.observe(&b);
        ha.merge(&hb);
        assert_eq!(ha.total(), all.total());
        assert_eq!((ha.min(), ha.max()), (all.min(), all.max()));
        for q in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let step = (all.max() - all.min()) / 64.0;
            assert!((ha.quantile(q) - all.quantile(q)).abs() <= step, "q={q}");
        }
    }

    #[test]
    fn constant_data() {
        let mut h = Histogram::new(8);
        h.observe(&[2.5; 10]);
        assert_eq!(h.quantile(0.5), 2.5);
        h.observe(&[3.5]);
        assert_eq!(h.total(), 11);
        assert_eq!(h.counts().iter().sum::<u64>(), 11);
        assert!(h.quantile(0.5) <= 2.6);
    }
}
