//! Element types of tensors.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE 754 single precision.
    F32,
    /// IEEE 754 half precision.
    F16,
    /// bfloat16.
    BF16,
    /// Signed 64-bit integer (shapes, indices).
    I64,
    /// Signed 32-bit integer (accumulators, biases).
    I32,
    /// Signed 16-bit integer.
    I16,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 4-bit integer (stored one per byte in memory).
    I4,
    /// Unsigned 4-bit integer (stored one per byte in memory).
    U4,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 2-bit integer, range [-2, 1] (stored one per byte in memory).
    I2,
    /// Unsigned 2-bit integer, range [0, 3] (stored one per byte in memory).
    U2,
    /// float8 E4M3FN (no infinities; see [`crate::minifloat`]).
    F8E4M3FN,
    /// float8 E5M2 (see [`crate::minifloat`]).
    F8E5M2,
    /// float4 E2M1 (stored one per byte in memory; see [`crate::minifloat`]).
    F4E2M1,
    /// Boolean.
    Bool,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 17] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::I64,
        DType::I32,
        DType::I16,
        DType::I8,
        DType::U8,
        DType::I4,
        DType::U4,
        DType::U16,
        DType::I2,
        DType::U2,
        DType::F8E4M3FN,
        DType::F8E5M2,
        DType::F4E2M1,
        DType::Bool,
    ];

    /// The lowercase name used in the text format (`f32`, `i8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I4 => "i4",
            DType::U4 => "u4",
            DType::U16 => "u16",
            DType::I2 => "i2",
            DType::U2 => "u2",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E5M2 => "f8e5m2",
            DType::F4E2M1 => "f4e2m1",
            DType::Bool => "bool",
        }
    }

    /// True for the floating-point types that ops compute in (f32, f16, bf16). The
    /// low-precision storage floats are [`DType::is_minifloat`], not these.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16)
    }

    /// True for the 8- and 4-bit float types (float8 E4M3FN / E5M2, float4 E2M1): storage and
    /// quantization targets, converted by `Cast`, `QuantizeLinear` and `DequantizeLinear` only.
    pub fn is_minifloat(self) -> bool {
        matches!(self, DType::F8E4M3FN | DType::F8E5M2 | DType::F4E2M1)
    }

    /// True for the integer types stored one per byte although narrower (4- and 2-bit).
    pub fn is_subbyte_int(self) -> bool {
        matches!(self, DType::I4 | DType::U4 | DType::I2 | DType::U2)
    }

    /// True for the integer types (signed or unsigned), not `bool`.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::I64
                | DType::I32
                | DType::I16
                | DType::U16
                | DType::I8
                | DType::U8
                | DType::I4
                | DType::U4
                | DType::I2
                | DType::U2
        )
    }

    /// True for types that can carry quantization parameters.
    pub fn is_quantizable(self) -> bool {
        self.is_int() && self != DType::I64
    }

    /// Inclusive value range of an integer type (`None` for floats and bool).
    pub fn int_range(self) -> Option<(i64, i64)> {
        Some(match self {
            DType::I64 => (i64::MIN, i64::MAX),
            DType::I32 => (i32::MIN as i64, i32::MAX as i64),
            DType::I16 => (i16::MIN as i64, i16::MAX as i64),
            DType::I8 => (-128, 127),
            DType::U8 => (0, 255),
            DType::I4 => (-8, 7),
            DType::U4 => (0, 15),
            DType::U16 => (0, u16::MAX as i64),
            DType::I2 => (-2, 1),
            DType::U2 => (0, 3),
            _ => return None,
        })
    }

    /// Bytes per element as stored by qcc (4- and 2-bit types take one byte each).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::I64 => 8,
            DType::I8
            | DType::U8
            | DType::I4
            | DType::U4
            | DType::I2
            | DType::U2
            | DType::F8E4M3FN
            | DType::F8E5M2
            | DType::F4E2M1
            | DType::Bool => 1,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown dtype `{s}`"))
    }
}
