//! Comparing outputs against references (`--assert-outputs`), numpy `allclose` style.

use qcc_ir::Tensor;
use serde::Serialize;

/// How one output compares with its reference.
#[derive(Debug, Clone, Serialize)]
pub struct OutputCheck {
    /// Largest |a − b|.
    pub max_abs_err: f64,
    /// Largest |a − b| / |b| over elements with b ≠ 0.
    pub max_rel_err: f64,
    /// Every element satisfies |a − b| ≤ atol + rtol·|b| (and shapes match).
    pub ok: bool,
}

/// Compares `got` with `want`: |a − b| ≤ atol + rtol·|b| elementwise; NaN equals NaN only.
pub fn check(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<OutputCheck, String> {
    if got.shape != want.shape {
        return Err(format!("shape {:?} but the reference has {:?}", got.shape, want.shape));
    }
    let (a, b) = (got.to_f64_vec(), want.to_f64_vec());
    let (mut max_abs, mut max_rel, mut ok) = (0f64, 0f64, true);
    for (&x, &y) in a.iter().zip(&b) {
        if x.is_nan() || y.is_nan() {
            ok &= x.is_nan() && y.is_nan();
            continue;
        }
        if x == y {
            continue;
        }
        let d = (x - y).abs();
        max_abs = max_abs.max(d);
        if y != 0.0 {
            max_rel = max_rel.max(d / y.abs());
        }
        ok &= d <= atol + rtol * y.abs();
    }
    Ok(OutputCheck { max_abs_err: max_abs, max_rel_err: max_rel, ok })
}
