//! Low-precision float element types stored as bit patterns: float8 E4M3FN, float8 E5M2 and
//! float4 E2M1 (the ONNX / OCP formats).
//!
//! Conversions from f32/f64 round to nearest, ties to even, and are exact (the scaling by a
//! power of two and the rounding happen in f64, which holds every f32 exactly). Overflow, ±Inf
//! and NaN follow the ONNX `Cast`/`QuantizeLinear` rules:
//!
//! | format   | saturate = true            | saturate = false            | NaN          |
//! |----------|----------------------------|-----------------------------|--------------|
//! | E4M3FN   | out of range, ±Inf → ±448  | out of range, ±Inf → NaN    | `S.1111.111` |
//! | E5M2     | out of range, ±Inf → ±57344| out of range, ±Inf → ±Inf   | `S.11111.10` |
//! | E2M1     | out of range, ±Inf → ±6 (always saturates, no Inf/NaN)   | → `0x8` (−0) |
//!
//! The NaN patterns produced are the ONNX reference's (checked against its node tests). E2M1
//! has no NaN; NaN converts to the bit pattern `0x8` (−0) as the ONNX reference does. A float4
//! value occupies the low nibble of its byte.

/// Bit layout and special values of one low-precision float format.
#[derive(Debug, Clone, Copy)]
struct Format {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    /// Magnitude bits (no sign) of the largest finite value.
    max: u8,
    /// Magnitude bits of infinity, when the format has one.
    inf: Option<u8>,
    /// Bits of NaN without the sign (the sign is kept), or the full pattern when `nan_signed`
    /// is false.
    nan: u8,
    /// Whether NaN keeps the input's sign.
    nan_signed: bool,
    /// Whether every overflow saturates whatever `saturate` says (formats without Inf/NaN).
    always_saturate: bool,
}

const E4M3FN: Format = Format {
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    max: 0x7e,
    inf: None,
    nan: 0x7f,
    nan_signed: true,
    always_saturate: false,
};

const E5M2: Format = Format {
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    max: 0x7b,
    inf: Some(0x7c),
    nan: 0x7e,
    nan_signed: true,
    always_saturate: false,
};

const E2M1: Format = Format {
    exp_bits: 2,
    man_bits: 1,
    bias: 1,
    max: 0x7,
    inf: None,
    nan: 0x8,
    nan_signed: false,
    always_saturate: true,
};

impl Format {
    fn sign_bit(self) -> u8 {
        1 << (self.exp_bits + self.man_bits)
    }

    fn is_nan(self, bits: u8) -> bool {
        let mag = bits & (self.sign_bit() - 1);
        match self.inf {
            // E5M2: exponent all ones with a non-zero mantissa.
            Some(inf) => mag > inf,
            None => self.nan_signed && mag == self.nan,
        }
    }

    fn decode(self, bits: u8) -> f32 {
        let neg = bits & self.sign_bit() != 0;
        let mag = bits & (self.sign_bit() - 1);
        if self.is_nan(bits) {
            return f32::NAN;
        }
        let v = if Some(mag) == self.inf {
            f64::INFINITY
        } else {
            let e = (mag >> self.man_bits) as i32;
            let m = (mag & ((1 << self.man_bits) - 1)) as f64;
            let one = (1u32 << self.man_bits) as f64;
            if e == 0 {
                m * pow2(1 - self.bias - self.man_bits as i32)
            } else {
                (one + m) * pow2(e - self.bias - self.man_bits as i32)
            }
        };
        (if neg { -v } else { v }) as f32
    }

    fn overflow(self, sign: u8, saturate: bool) -> u8 {
        if saturate || self.always_saturate {
            sign | self.max
        } else {
            match self.inf {
                Some(inf) => sign | inf,
                None => sign | self.nan,
            }
        }
    }

    fn encode(self, x: f64, saturate: bool) -> u8 {
        let sign = if x.is_sign_negative() { self.sign_bit() } else { 0 };
        if x.is_nan() {
            return if self.nan_signed { sign | self.nan } else { self.nan };
        }
        let a = x.abs();
        if a.is_infinite() {
            return self.overflow(sign, saturate);
        }
        let biased64 = ((a.to_bits() >> 52) & 0x7ff) as i32;
        if a == 0.0 || biased64 == 0 {
            // Zero, or an f64 subnormal: far below half the smallest subnormal here.
            return sign;
        }
        let man = self.man_bits as i32;
        let emin = 1 - self.bias;
        let mut e = (biased64 - 1023).max(emin);
        // a / 2^(e − man) is exact (a power-of-two scaling of a normal f64).
        let mut n = (a * pow2(man - e)).round_ties_even() as u64;
        if n == 0 {
            return sign;
        }
        if n >= 2u64 << man {
            // Rounded up into the next binade.
            n >>= 1;
            e += 1;
        }
        let mag = if n < (1u64 << man) {
            n // subnormal (only possible at e == emin)
        } else {
            let biased = e + self.bias;
            if biased >= (1 << self.exp_bits) {
                return self.overflow(sign, saturate);
            }
            ((biased as u64) << man) | (n - (1u64 << man))
        };
        if mag > self.max as u64 {
            return self.overflow(sign, saturate);
        }
        sign | mag as u8
    }
}

/// 2^k as f64 for the small exponents used here.
fn pow2(k: i32) -> f64 {
    2f64.powi(k)
}

macro_rules! minifloat {
    ($(#[$doc:meta])* $name:ident, $fmt:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u8);

        impl $name {
            /// The value with bit pattern `bits`.
            pub fn from_bits(bits: u8) -> Self {
                $name(bits)
            }
            /// The bit pattern.
            pub fn to_bits(self) -> u8 {
                self.0
            }
            /// Converts `x`, rounding to nearest even; `saturate` clamps overflow and ±Inf to
            /// the largest finite value (see the module docs).
            pub fn from_f64(x: f64, saturate: bool) -> Self {
                $name($fmt.encode(x, saturate))
            }
            /// Converts `x` (exactly widened to f64 first) as [`Self::from_f64`].
            pub fn from_f32(x: f32, saturate: bool) -> Self {
                Self::from_f64(x as f64, saturate)
            }
            /// The value as f32 (exact).
            pub fn to_f32(self) -> f32 {
                $fmt.decode(self.0)
            }
            /// True for a NaN bit pattern.
            pub fn is_nan(self) -> bool {
                $fmt.is_nan(self.0)
            }
        }
    };
}

minifloat!(
    /// float8 E4M3FN: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, NaN
    /// `S.1111.111`; finite range ±448.
    F8E4M3FN,
    E4M3FN
);
minifloat!(
    /// float8 E5M2: 5 exponent bits (bias 15), 2 mantissa bits, IEEE-like infinities and NaNs;
    /// finite range ±57344.
    F8E5M2,
    E5M2
);
minifloat!(
    /// float4 E2M1: 2 exponent bits (bias 1), 1 mantissa bit, no infinities or NaN; values
    /// ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}. The bits are the low nibble.
    F4E2M1,
    E2M1
);

#[cfg(test)]
#[path = "minifloat_tests.rs"]
mod tests;
