//! Fidelity metrics between a reference (fp32) and a test (quantized) output.

use qcc_ir::Tensor;
use serde::Serialize;

/// Streaming accumulator of fidelity metrics over samples.
#[derive(Debug, Clone, Default)]
pub struct Fidelity {
    signal: f64,
    noise: f64,
    max_abs: f64,
    cos_sum: f64,
    samples: u64,
    top1_same: u64,
}

/// Summary of a [`Fidelity`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FidelitySummary {
    /// 10·log10(Σ ref² / Σ (ref − test)²) over all samples (∞ when identical).
    pub sqnr_db: f64,
    /// Mean over samples of the cosine similarity of the flattened outputs.
    pub cosine_mean: f64,
    /// Largest |ref − test|.
    pub max_abs_err: f64,
    /// Fraction of samples whose argmax over the last axis agrees (per row, averaged).
    pub top1_agreement: f64,
}

/// Index of the maximum of each row of the last axis.
pub fn argmax_rows(t: &Tensor) -> Vec<usize> {
    let v = t.to_f64_vec();
    let n = t.shape.last().copied().unwrap_or(1).max(1);
    v.chunks(n)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
                .0
        })
        .collect()
}

impl Fidelity {
    /// Adds one sample.
    pub fn add(&mut self, reference: &Tensor, test: &Tensor) {
        let (r, t) = (reference.to_f64_vec(), test.to_f64_vec());
        let (mut dot, mut rr, mut tt) = (0.0, 0.0, 0.0);
        for (&a, &b) in r.iter().zip(&t) {
            let d = a - b;
            self.signal += a * a;
            self.noise += d * d;
            self.max_abs = self.max_abs.max(d.abs());
            dot += a * b;
            rr += a * a;
            tt += b * b;
        }
        self.cos_sum += if rr > 0.0 && tt > 0.0 {
            dot / (rr.sqrt() * tt.sqrt())
        } else if rr == tt {
            1.0
        } else {
            0.0
        };
        let (ra, ta) = (argmax_rows(reference), argmax_rows(test));
        let same = ra.iter().zip(&ta).filter(|(a, b)| a == b).count();
        self.top1_same += (same == ra.len()) as u64;
        self.samples += 1;
    }

    /// The metrics so far.
    pub fn summary(&self) -> FidelitySummary {
        let n = self.samples.max(1) as f64;
        FidelitySummary {
            sqnr_db: sqnr(self.signal, self.noise),
            cosine_mean: self.cos_sum / n,
            max_abs_err: self.max_abs,
            top1_agreement: self.top1_same as f64 / n,
        }
    }
}

/// SQNR in dB from signal and noise energies (capped at 200 dB for identical outputs, so JSON
/// stays finite).
pub fn sqnr(signal: f64, noise: f64) -> f64 {
    if noise <= 0.0 {
        200.0
    } else if signal <= 0.0 {
        -200.0
    } else {
        (10.0 * (signal / noise).log10()).min(200.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let mut f = Fidelity::default();
        // signal 3² + 4² = 25, noise 0² + 0.5² = 0.25 → 10·log10(100) = 20 dB.
        f.add(&Tensor::f32(&[1, 2], vec![3.0, 4.0]), &Tensor::f32(&[1, 2], vec![3.0, 3.5]));
        let s = f.summary();
        assert!((s.sqnr_db - 20.0).abs() < 1e-9);
        assert_eq!(s.max_abs_err, 0.5);
        assert_eq!(s.top1_agreement, 1.0);
        let cos = (9.0 + 14.0) / (5.0 * (9.0f64 + 12.25).sqrt());
        assert!((s.cosine_mean - cos).abs() < 1e-12);
        // A second sample whose argmax differs halves the agreement.
        f.add(&Tensor::f32(&[1, 2], vec![1.0, 0.0]), &Tensor::f32(&[1, 2], vec![0.0, 1.0]));
        assert_eq!(f.summary().top1_agreement, 0.5);
        assert_eq!(sqnr(1.0, 0.0), 200.0);
    }
}
