//! Numerical constants shared by the backends' float kernels (polynomial coefficients, the
//! split of π/2, 2/π in 24-bit chunks), so that both compute the same approximations.

/// Cephes `logf` polynomial, highest degree first.
#[allow(clippy::excessive_precision)]
pub const LOG_P: [f32; 9] = [
    7.037_683_629_2e-2,
    -1.151_461_031_0e-1,
    1.167_699_874_0e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];

/// Cephes `tanhf` polynomial, highest degree first.
#[allow(clippy::excessive_precision)]
pub const TANH_P: [f32; 5] = [
    -5.704_988_727_45e-3,
    2.063_908_879_54e-2,
    -5.373_971_555_31e-2,
    1.333_144_220_36e-1,
    -3.333_328_194_22e-1,
];

/// fdlibm's four-part π/2 (33 + 33 + 33 bits and the rest).
pub const PIO2: [f64; 4] = [
    1.570_796_326_734_125_6,
    6.077_100_506_303_966e-11,
    2.022_266_248_711_166_5e-21,
    8.478_427_660_368_9e-32,
];

/// fdlibm `__kernel_sin` coefficients S1..S6.
#[allow(clippy::excessive_precision)]
pub const SIN_C: [f64; 6] = [
    -1.666_666_666_666_663_243_48e-01,
    8.333_333_333_322_489_461_24e-03,
    -1.984_126_982_985_794_931_34e-04,
    2.755_731_370_707_006_767_89e-06,
    -2.505_076_025_340_686_341_95e-08,
    1.589_690_995_211_550_102_21e-10,
];

/// fdlibm `__kernel_cos` coefficients C1..C6.
#[allow(clippy::excessive_precision)]
pub const COS_C: [f64; 6] = [
    4.166_666_666_666_660_190_37e-02,
    -1.388_888_888_887_410_957_49e-03,
    2.480_158_728_947_672_941_78e-05,
    -2.755_731_435_139_066_330_35e-07,
    2.087_572_321_298_174_827_90e-09,
    -1.135_964_755_778_819_482_65e-11,
];

/// 2/π in 24-bit chunks: `2/π = Σ TWO_OVER_PI[i]·2^(−24(i+1))` (fdlibm's `ipio2`).
pub const TWO_OVER_PI: [i64; 8] =
    [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C, 0x439041];

/// Below this |x| the Cody–Waite reduction is exact (`|k| < 2²⁰`).
pub const CW_LIMIT: f32 = 524_288.0;
