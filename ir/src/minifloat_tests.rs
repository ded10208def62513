//! Tests of the low-precision float conversions against the ONNX reference values (the ONNX
//! node tests' expected outputs) and exhaustive round-trip / tie properties.

use super::*;

/// Every bit pattern of an 8-bit (or 4-bit) format that is not NaN, as (bits, value).
fn finite_positive<T: Copy>(
    n: u16,
    from: impl Fn(u8) -> T,
    to: impl Fn(T) -> f32,
) -> Vec<(u8, f32)> {
    let mut v: Vec<(u8, f32)> = (0..n)
        .map(|b| (b as u8, to(from(b as u8))))
        .filter(|(_, x)| x.is_finite() && x.is_sign_positive())
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v
}

/// Each finite value converts back to its own bits; each midpoint between neighbours goes to
/// the one with the even bit pattern; points just off the midpoint go to the nearer one.
fn check_grid<T: Copy>(
    n: u16,
    from_bits: impl Fn(u8) -> T,
    to_f32: impl Fn(T) -> f32,
    conv: impl Fn(f64, bool) -> T,
    bits: impl Fn(T) -> u8,
) {
    let grid = finite_positive(n, &from_bits, &to_f32);
    for &(b, x) in &grid {
        for sat in [true, false] {
            assert_eq!(bits(conv(x as f64, sat)), b, "{x} sat={sat}");
            assert_eq!(to_f32(conv(-(x as f64), sat)), -x, "-{x}");
        }
    }
    for w in grid.windows(2) {
        let ((lb, lo), (hb, hi)) = (w[0], w[1]);
        if lo == hi {
            continue; // +0 listed once; nothing else repeats
        }
        let mid = (lo as f64 + hi as f64) / 2.0;
        let even = if lb % 2 == 0 { lb } else { hb };
        assert_eq!(bits(conv(mid, true)), even, "tie between {lo} and {hi}");
        let eps = (hi as f64 - lo as f64) / 8.0;
        assert_eq!(bits(conv(mid - eps, true)), lb, "below the midpoint of {lo}, {hi}");
        assert_eq!(bits(conv(mid + eps, true)), hb, "above the midpoint of {lo}, {hi}");
    }
}

#[test]
fn e4m3fn_values_and_grid() {
    let f = |b| F8E4M3FN::from_bits(b).to_f32();
    assert_eq!(f(0x38), 1.0);
    assert_eq!(f(0x30), 0.5);
    assert_eq!(f(0x7e), 448.0);
    assert_eq!(f(0xed), -104.0); // ONNX test_dequantizelinear_e4m3fn: 237 · 2 = −208
    assert_eq!(f(0x01), 2f32.powi(-9));
    assert_eq!(f(0x08), 2f32.powi(-6));
    assert!(f(0x7f).is_nan() && f(0xff).is_nan());
    assert!(!F8E4M3FN(0x7e).is_nan() && F8E4M3FN(0xff).is_nan());
    check_grid(256, F8E4M3FN::from_bits, F8E4M3FN::to_f32, F8E4M3FN::from_f64, |t| t.0);
}

#[test]
fn e4m3fn_saturation_nan_inf() {
    let c = |x: f32, s| F8E4M3FN::from_f32(x, s).0;
    // ONNX test_quantizelinear_e4m3fn: [0, 1, 2, 100000, 200] / 2 (saturate = 1).
    let want = [0u8, 48, 56, 126, 108];
    for (x, w) in [0.0f32, 1.0, 2.0, 100000.0, 200.0].iter().zip(want) {
        assert_eq!(c(x / 2.0, true), w, "{x}");
    }
    assert_eq!(c(464.0, false), 0x7e); // tie with the NaN slot rounds to even 448
    assert_eq!(c(465.0, false), 0x7f);
    assert_eq!(c(465.0, true), 0x7e);
    assert_eq!(c(-1e9, true), 0xfe);
    assert_eq!(c(f32::INFINITY, true), 0x7e);
    assert_eq!(c(f32::NEG_INFINITY, true), 0xfe);
    assert_eq!(c(f32::INFINITY, false), 0x7f);
    assert_eq!(c(f32::NEG_INFINITY, false), 0xff);
    assert_eq!(c(f32::NAN, true), 0x7f); // ONNX test_cast_FLOAT_to_FLOAT8E4M3FN
    assert_eq!(c(-f32::NAN, false), 0xff);
    assert_eq!(c(-0.0, true), 0x80);
    // Subnormal ties: 2^-10 is half of the smallest subnormal → 0; 1.5 · 2^-9 → 2 · 2^-9.
    assert_eq!(c(2f32.powi(-10), true), 0x00);
    assert_eq!(c(1.5 * 2f32.powi(-9), true), 0x02);
    assert_eq!(c(1e-30, true), 0x00);
}

#[test]
fn e5m2_values_and_grid() {
    let f = |b| F8E5M2::from_bits(b).to_f32();
    assert_eq!(f(0x3c), 1.0);
    assert_eq!(f(0x7b), 57344.0);
    assert_eq!(f(0x7c), f32::INFINITY);
    assert_eq!(f(0xfc), f32::NEG_INFINITY);
    assert!(f(0x7d).is_nan() && f(0x7e).is_nan() && f(0xff).is_nan());
    assert_eq!(f(0x7a) * 2.0, 98304.0); // ONNX test_dequantizelinear_e5m2
    assert_eq!(f(0xd6) * 2.0, -192.0);
    assert_eq!(f(0x01), 2f32.powi(-16));
    check_grid(256, F8E5M2::from_bits, F8E5M2::to_f32, F8E5M2::from_f64, |t| t.0);
}

#[test]
fn e5m2_saturation_nan_inf() {
    let c = |x: f32, s| F8E5M2::from_f32(x, s).0;
    // ONNX test_quantizelinear_e5m2.
    let want = [0u8, 56, 60, 122, 86];
    for (x, w) in [0.0f32, 1.0, 2.0, 100000.0, 200.0].iter().zip(want) {
        assert_eq!(c(x / 2.0, true), w, "{x}");
    }
    // 61440 is the tie between the max (odd mantissa) and 2^16: rounds up, i.e. overflows.
    assert_eq!(c(61439.0, false), 0x7b);
    assert_eq!(c(61440.0, false), 0x7c);
    assert_eq!(c(61440.0, true), 0x7b);
    assert_eq!(c(-1e9, false), 0xfc);
    assert_eq!(c(-1e9, true), 0xfb);
    assert_eq!(c(f32::INFINITY, false), 0x7c);
    assert_eq!(c(f32::INFINITY, true), 0x7b);
    // NaN patterns of ONNX test_cast_FLOAT_to_FLOAT8E5M2.
    assert_eq!(c(f32::NAN, true), 0x7e);
    assert_eq!(c(-f32::NAN, false), 0xfe);
    assert!(F8E5M2(0x7e).is_nan() && F8E5M2(0xfe).is_nan() && !F8E5M2(0x7c).is_nan());
}

#[test]
fn e2m1_values_grid_and_onnx_cast_vector() {
    let vals: Vec<f32> = (0..8).map(|b| F4E2M1::from_bits(b).to_f32()).collect();
    assert_eq!(vals, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
    assert_eq!(F4E2M1::from_bits(0xf).to_f32(), -6.0);
    check_grid(16, F4E2M1::from_bits, F4E2M1::to_f32, F4E2M1::from_f64, |t| t.0);
    // ONNX test_cast_FLOAT_to_FLOAT4E2M1 (input and expected nibbles).
    let x = [
        0.48f32,
        0.25,
        1.05,
        -3.5,
        -8.0,
        9.0,
        1e6,
        1e-7,
        f32::NAN,
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -4.0,
        0.01,
        -0.0,
    ];
    let want = [1u8, 0, 2, 0xe, 0xf, 7, 7, 0, 8, 7, 7, 0xf, 0xe, 0, 8];
    let got: Vec<u8> = x.iter().map(|&v| F4E2M1::from_f32(v, true).0).collect();
    assert_eq!(got, want);
    // No Inf/NaN: overflow saturates whatever `saturate` says.
    assert_eq!(F4E2M1::from_f32(100.0, false).0, 7);
    assert!(!F4E2M1::from_bits(8).is_nan());
}
