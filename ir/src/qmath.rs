//! The exact integer arithmetic of quantization, in one place.
//!
//! The reference interpreter calls these functions and every backend reproduces them bit for bit
//! (DESIGN §3). All float arithmetic here is IEEE f32 with no fused multiply-add.

use crate::dtype::DType;

/// Round half to even (banker's rounding), as `np.rint` and x86 `cvtps2dq` in the default mode.
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    x.round_ties_even()
}

/// Converts an already rounded f32 to an integer in `[lo, hi]`: saturating, NaN maps to 0.
#[inline]
pub fn saturate_f32(x: f32, lo: i32, hi: i32) -> i32 {
    // `as i64` saturates and maps NaN to 0; the clamp then applies the type's range.
    (x as i64).clamp(lo as i64, hi as i64) as i32
}

/// The inclusive range of a quantized dtype as i32 (`i32` itself covers the whole range).
pub fn qrange(dtype: DType) -> (i32, i32) {
    match dtype.int_range() {
        Some((lo, hi)) => (lo.max(i32::MIN as i64) as i32, hi.min(i32::MAX as i64) as i32),
        None => (i32::MIN, i32::MAX),
    }
}

/// QuantizeLinear: `saturate(round_half_even(x / scale) + zp)`. NaN inputs give `zp`.
#[inline]
pub fn quantize(x: f32, scale: f32, zp: i32, lo: i32, hi: i32) -> i32 {
    let r = round_half_even(x / scale);
    let q = if r.is_nan() { 0 } else { r as i64 };
    (q + zp as i64).clamp(lo as i64, hi as i64) as i32
}

/// DequantizeLinear: `(q − zp) · scale`, the subtraction exact in i64.
#[inline]
pub fn dequantize(q: i32, scale: f32, zp: i32) -> f32 {
    ((q as i64 - zp as i64) as f32) * scale
}

/// The requantization multiplier `s_in / s_out`, as one f32 division.
#[inline]
pub fn multiplier(s_in: f32, s_out: f32) -> f32 {
    s_in / s_out
}

/// The multiplier of a quantized product: `(s_a · s_b) / s_out`, in that order, in f32.
#[inline]
pub fn product_multiplier(s_a: f32, s_b: f32, s_out: f32) -> f32 {
    (s_a * s_b) / s_out
}

/// Requantize: `saturate(round_half_even(f32(x − zx) · m) + zy)`.
#[inline]
pub fn requantize(x: i64, zx: i32, m: f32, zy: i32, lo: i32, hi: i32) -> i32 {
    let t = round_half_even(((x - zx as i64) as f32) * m);
    let q = if t.is_nan() { 0 } else { t as i64 };
    (q + zy as i64).clamp(lo as i64, hi as i64) as i32
}

/// The tail of every requantization: `saturate(round_half_even(t) + zy)`; NaN gives `zy`.
/// Used where the pre-rounding value is not a single product (e.g. `QAdd`).
#[inline]
pub fn round_saturate(t: f32, zy: i32, lo: i32, hi: i32) -> i32 {
    let r = round_half_even(t);
    let q = if r.is_nan() { 0 } else { r as i64 };
    (q + zy as i64).clamp(lo as i64, hi as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_round_to_even() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-0.5), -0.0);
        assert_eq!(round_half_even(-1.5), -2.0);
        assert_eq!(round_half_even(-2.5), -2.0);
    }

    #[test]
    fn quantize_saturates_and_uses_zero_point() {
        let (lo, hi) = qrange(DType::U8);
        assert_eq!(quantize(1000.0, 1.0, 128, lo, hi), 255);
        assert_eq!(quantize(-1000.0, 1.0, 128, lo, hi), 0);
        assert_eq!(quantize(2.5, 1.0, 10, lo, hi), 12);
        assert_eq!(quantize(3.5, 1.0, 10, lo, hi), 14);
        assert_eq!(quantize(f32::NAN, 1.0, 7, lo, hi), 7);
        let (lo, hi) = qrange(DType::I8);
        assert_eq!(quantize(-0.25, 0.5, -3, lo, hi), -3); // -0.5 → -0 (even)
        assert_eq!(quantize(f32::INFINITY, 0.5, 0, lo, hi), 127);
        let (lo, hi) = qrange(DType::I4);
        assert_eq!(quantize(100.0, 1.0, 0, lo, hi), 7);
    }

    #[test]
    fn requantize_is_exact() {
        let (lo, hi) = qrange(DType::I8);
        // 5 · 0.5 = 2.5 → 2 (even); 7 · 0.5 = 3.5 → 4.
        assert_eq!(requantize(5, 0, 0.5, 0, lo, hi), 2);
        assert_eq!(requantize(7, 0, 0.5, 0, lo, hi), 4);
        assert_eq!(requantize(1_000_000, 0, 0.5, 0, lo, hi), 127);
        assert_eq!(requantize(-1_000_000, 0, 0.5, 0, lo, hi), -128);
        assert_eq!(requantize(130, 128, 1.0, -5, lo, hi), -3);
        assert_eq!(dequantize(130, 0.5, 128), 1.0);
    }
}
