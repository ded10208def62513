//! Runtime tensors: dense row-major data with a concrete shape.

use crate::dtype::DType;
use crate::minifloat::{F4E2M1, F8E4M3FN, F8E5M2};
use half::{bf16, f16};

/// Dense storage of a tensor's elements. 4- and 2-bit integer types use one byte per element
/// (`I8`/`U8`); the low-precision floats keep their bit patterns, one per byte.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// f32 elements.
    F32(Vec<f32>),
    /// f16 elements.
    F16(Vec<f16>),
    /// bf16 elements.
    BF16(Vec<bf16>),
    /// i64 elements.
    I64(Vec<i64>),
    /// i32 elements.
    I32(Vec<i32>),
    /// i16 elements.
    I16(Vec<i16>),
    /// i8 (and i4, i2) elements.
    I8(Vec<i8>),
    /// u8 (and u4, u2) elements.
    U8(Vec<u8>),
    /// u16 elements.
    U16(Vec<u16>),
    /// float8 E4M3FN elements.
    F8E4M3FN(Vec<F8E4M3FN>),
    /// float8 E5M2 elements.
    F8E5M2(Vec<F8E5M2>),
    /// float4 E2M1 elements.
    F4E2M1(Vec<F4E2M1>),
    /// Booleans.
    Bool(Vec<bool>),
}

/// A tensor value: element type, concrete shape and data (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Element type (`I4`/`I2` are stored in `Data::I8`, `U4`/`U2` in `Data::U8`).
    pub dtype: DType,
    /// Extents.
    pub shape: Vec<usize>,
    /// Elements, `shape.iter().product()` of them.
    pub data: Data,
}

/// Errors from building or reading tensors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// The element count does not match the shape.
    #[error("tensor of shape {shape:?} needs {expected} elements, got {got}")]
    Count {
        /// The shape.
        shape: Vec<usize>,
        /// Elements the shape needs.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    /// The tensor has another dtype than the one asked for.
    #[error("expected a {expected} tensor, got {got}")]
    DType {
        /// What the caller wanted.
        expected: DType,
        /// What the tensor is.
        got: DType,
    },
    /// The shape's element count overflows.
    #[error("shape {0:?} has too many elements")]
    Overflow(Vec<usize>),
}

macro_rules! accessors {
    ($($as:ident, $into:ident, $variant:ident, $t:ty, $dt:expr;)*) => {$(
        #[doc = concat!("The elements as `", stringify!($t), "`; errors on another dtype.")]
        pub fn $as(&self) -> Result<&[$t], TensorError> {
            match &self.data {
                Data::$variant(v) => Ok(v),
                _ => Err(TensorError::DType { expected: $dt, got: self.dtype }),
            }
        }
        #[doc = concat!("Takes the elements as `Vec<", stringify!($t), ">`; errors on another dtype.")]
        pub fn $into(self) -> Result<Vec<$t>, TensorError> {
            match self.data {
                Data::$variant(v) => Ok(v),
                _ => Err(TensorError::DType { expected: $dt, got: self.dtype }),
            }
        }
    )*};
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F16(v) => v.len(),
            Data::BF16(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::U16(v) => v.len(),
            Data::F8E4M3FN(v) => v.len(),
            Data::F8E5M2(v) => v.len(),
            Data::F4E2M1(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }
    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The dtype this storage holds by default.
    pub fn natural_dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::I64(_) => DType::I64,
            Data::I32(_) => DType::I32,
            Data::I16(_) => DType::I16,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::U16(_) => DType::U16,
            Data::F8E4M3FN(_) => DType::F8E4M3FN,
            Data::F8E5M2(_) => DType::F8E5M2,
            Data::F4E2M1(_) => DType::F4E2M1,
            Data::Bool(_) => DType::Bool,
        }
    }
    /// Low-precision float storage of `dtype` from f32 values (round to nearest even;
    /// `saturate` as in [`crate::minifloat`]); `None` when `dtype` is not such a type.
    pub fn minifloat_from_f32(dtype: DType, v: &[f32], saturate: bool) -> Option<Data> {
        Some(match dtype {
            DType::F8E4M3FN => {
                Data::F8E4M3FN(v.iter().map(|&x| F8E4M3FN::from_f32(x, saturate)).collect())
            }
            DType::F8E5M2 => {
                Data::F8E5M2(v.iter().map(|&x| F8E5M2::from_f32(x, saturate)).collect())
            }
            DType::F4E2M1 => {
                Data::F4E2M1(v.iter().map(|&x| F4E2M1::from_f32(x, saturate)).collect())
            }
            _ => return None,
        })
    }

    /// Zeroed storage for `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F16 => Data::F16(vec![f16::ZERO; n]),
            DType::BF16 => Data::BF16(vec![bf16::ZERO; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::I16 => Data::I16(vec![0; n]),
            DType::I8 | DType::I4 | DType::I2 => Data::I8(vec![0; n]),
            DType::U8 | DType::U4 | DType::U2 => Data::U8(vec![0; n]),
            DType::U16 => Data::U16(vec![0; n]),
            DType::F8E4M3FN => Data::F8E4M3FN(vec![F8E4M3FN(0); n]),
            DType::F8E5M2 => Data::F8E5M2(vec![F8E5M2(0); n]),
            DType::F4E2M1 => Data::F4E2M1(vec![F4E2M1(0); n]),
            DType::Bool => Data::Bool(vec![false; n]),
        }
    }
}

/// Element count of a shape, checked for overflow.
pub fn numel(shape: &[usize]) -> Result<usize, TensorError> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(TensorError::Overflow(shape.to_vec()))
}

impl Tensor {
    /// A tensor from data; checks the element count. The dtype is the data's natural one.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, TensorError> {
        let dtype = data.natural_dtype();
        Tensor::with_dtype(dtype, shape, data)
    }
    /// A tensor with an explicit dtype (for the 4- and 2-bit integers over byte storage).
    pub fn with_dtype(dtype: DType, shape: Vec<usize>, data: Data) -> Result<Tensor, TensorError> {
        let expected = numel(&shape)?;
        if data.len() != expected {
            return Err(TensorError::Count { shape, expected, got: data.len() });
        }
        let natural = data.natural_dtype();
        let ok = natural == dtype
            || (matches!(dtype, DType::I4 | DType::I2) && natural == DType::I8)
            || (matches!(dtype, DType::U4 | DType::U2) && natural == DType::U8);
        if !ok {
            return Err(TensorError::DType { expected: dtype, got: natural });
        }
        Ok(Tensor { dtype, shape, data })
    }
    /// A zero tensor.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor, TensorError> {
        let n = numel(&shape)?;
        Ok(Tensor { dtype, shape, data: Data::zeros(dtype, n) })
    }
    /// An f32 tensor; panics when `data.len()` does not match (for tests and literals).
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Tensor {
        Tensor::new(shape.to_vec(), Data::F32(data)).expect("element count matches shape")
    }
    /// An i64 tensor; panics when `data.len()` does not match (for tests and literals).
    pub fn i64(shape: &[usize], data: Vec<i64>) -> Tensor {
        Tensor::new(shape.to_vec(), Data::I64(data)).expect("element count matches shape")
    }
    /// An i32 tensor; panics when `data.len()` does not match (for tests and literals).
    pub fn i32(shape: &[usize], data: Vec<i32>) -> Tensor {
        Tensor::new(shape.to_vec(), Data::I32(data)).expect("element count matches shape")
    }
    /// An i8 tensor; panics when `data.len()` does not match (for tests and literals).
    pub fn i8(shape: &[usize], data: Vec<i8>) -> Tensor {
        Tensor::new(shape.to_vec(), Data::I8(data)).expect("element count matches shape")
    }
    /// A u8 tensor; panics when `data.len()` does not match (for tests and literals).
    pub fn u8(shape: &[usize], data: Vec<u8>) -> Tensor {
        Tensor::new(shape.to_vec(), Data::U8(data)).expect("element count matches shape")
    }
    /// A scalar f32.
    pub fn scalar_f32(x: f32) -> Tensor {
        Tensor::f32(&[], vec![x])
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// Rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    accessors! {
        as_f32, into_f32, F32, f32, DType::F32;
        as_i64, into_i64, I64, i64, DType::I64;
        as_i32, into_i32, I32, i32, DType::I32;
        as_i16, into_i16, I16, i16, DType::I16;
        as_i8, into_i8, I8, i8, DType::I8;
        as_u8, into_u8, U8, u8, DType::U8;
        as_u16, into_u16, U16, u16, DType::U16;
        as_bool, into_bool, Bool, bool, DType::Bool;
    }

    /// Every element converted to f64 (exact for all integer types but i64 beyond 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::F16(v) => v.iter().map(|&x| x.to_f64()).collect(),
            Data::BF16(v) => v.iter().map(|&x| x.to_f64()).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U16(v) => v.iter().map(|&x| x as f64).collect(),
            Data::F8E4M3FN(v) => v.iter().map(|&x| x.to_f32() as f64).collect(),
            Data::F8E5M2(v) => v.iter().map(|&x| x.to_f32() as f64).collect(),
            Data::F4E2M1(v) => v.iter().map(|&x| x.to_f32() as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
        }
    }

    /// Every element converted to f32.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            Data::F32(v) => v.clone(),
            _ => self.to_f64_vec().into_iter().map(|x| x as f32).collect(),
        }
    }

    /// Integer elements widened to i64 (bool as 0/1); `None` for float tensors.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            _ => return None,
        })
    }

    /// Builds a tensor of `dtype` from i64 values, saturating to the type's range
    /// (floats convert to nearest even; the low-precision floats saturate too).
    pub fn from_i64_saturating(
        dtype: DType,
        shape: Vec<usize>,
        v: &[i64],
    ) -> Result<Tensor, TensorError> {
        let sat = |x: i64| -> i64 {
            match dtype.int_range() {
                Some((lo, hi)) => x.clamp(lo, hi),
                None => x,
            }
        };
        let data = match dtype {
            DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
            DType::F16 => Data::F16(v.iter().map(|&x| f16::from_f64(x as f64)).collect()),
            DType::BF16 => Data::BF16(v.iter().map(|&x| bf16::from_f64(x as f64)).collect()),
            DType::I64 => Data::I64(v.to_vec()),
            DType::I32 => Data::I32(v.iter().map(|&x| sat(x) as i32).collect()),
            DType::I16 => Data::I16(v.iter().map(|&x| sat(x) as i16).collect()),
            DType::I8 | DType::I4 | DType::I2 => {
                Data::I8(v.iter().map(|&x| sat(x) as i8).collect())
            }
            DType::U8 | DType::U4 | DType::U2 => {
                Data::U8(v.iter().map(|&x| sat(x) as u8).collect())
            }
            DType::U16 => Data::U16(v.iter().map(|&x| sat(x) as u16).collect()),
            DType::F8E4M3FN => {
                Data::F8E4M3FN(v.iter().map(|&x| F8E4M3FN::from_f64(x as f64, true)).collect())
            }
            DType::F8E5M2 => {
                Data::F8E5M2(v.iter().map(|&x| F8E5M2::from_f64(x as f64, true)).collect())
            }
            DType::F4E2M1 => {
                Data::F4E2M1(v.iter().map(|&x| F4E2M1::from_f64(x as f64, true)).collect())
            }
            DType::Bool => Data::Bool(v.iter().map(|&x| x != 0).collect()),
        };
        Tensor::with_dtype(dtype, shape, data)
    }

    /// Little-endian bytes of the elements (the safetensors layout; 4- and 2-bit types and the
    /// low-precision floats one per byte, as their bit patterns).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.numel() * self.dtype.size_bytes());
        match &self.data {
            Data::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::F16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::BF16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::I8(v) => v.iter().for_each(|x| out.push(*x as u8)),
            Data::U8(v) => out.extend_from_slice(v),
            Data::U16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::F8E4M3FN(v) => v.iter().for_each(|x| out.push(x.0)),
            Data::F8E5M2(v) => v.iter().for_each(|x| out.push(x.0)),
            Data::F4E2M1(v) => v.iter().for_each(|x| out.push(x.0)),
            Data::Bool(v) => v.iter().for_each(|x| out.push(*x as u8)),
        }
        out
    }

    /// Parses little-endian bytes as `dtype` elements of `shape`.
    pub fn from_le_bytes(
        dtype: DType,
        shape: Vec<usize>,
        bytes: &[u8],
    ) -> Result<Tensor, TensorError> {
        let n = numel(&shape)?;
        let need = n
            .checked_mul(dtype.size_bytes())
            .ok_or_else(|| TensorError::Overflow(shape.clone()))?;
        if bytes.len() != need {
            return Err(TensorError::Count { shape, expected: need, got: bytes.len() });
        }
        fn chunks<const W: usize, T>(b: &[u8], f: impl Fn([u8; W]) -> T) -> Vec<T> {
            b.chunks_exact(W).map(|c| f(c.try_into().expect("chunk width"))).collect()
        }
        let data = match dtype {
            DType::F32 => Data::F32(chunks(bytes, f32::from_le_bytes)),
            DType::F16 => Data::F16(chunks(bytes, f16::from_le_bytes)),
            DType::BF16 => Data::BF16(chunks(bytes, bf16::from_le_bytes)),
            DType::I64 => Data::I64(chunks(bytes, i64::from_le_bytes)),
            DType::I32 => Data::I32(chunks(bytes, i32::from_le_bytes)),
            DType::I16 => Data::I16(chunks(bytes, i16::from_le_bytes)),
            DType::I8 | DType::I4 | DType::I2 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 | DType::U4 | DType::U2 => Data::U8(bytes.to_vec()),
            DType::U16 => Data::U16(chunks(bytes, u16::from_le_bytes)),
            DType::F8E4M3FN => Data::F8E4M3FN(bytes.iter().map(|&b| F8E4M3FN(b)).collect()),
            DType::F8E5M2 => Data::F8E5M2(bytes.iter().map(|&b| F8E5M2(b)).collect()),
            DType::F4E2M1 => Data::F4E2M1(bytes.iter().map(|&b| F4E2M1(b & 0xf)).collect()),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
        };
        Tensor::with_dtype(dtype, shape, data)
    }
}
