//! Shared helpers of the interpreter: operand access, axis normalization, dtype conversion,
//! checked sizes and dtype-generic data movement.

use super::OpError;
use crate::dtype::DType;
use crate::tensor::{Data, Tensor};
use crate::types::{Quant, TensorType};
use half::{bf16, f16};
use std::borrow::Cow;

/// Result of an op kernel.
pub(crate) type R<T> = Result<T, OpError>;

/// The operands and result types of one node.
pub(crate) struct Args<'a> {
    /// Operand types (None: missing operand or unknown type).
    pub types: &'a [Option<&'a TensorType>],
    /// Operand tensors (None: missing optional operand).
    pub vals: &'a [Option<&'a Tensor>],
    /// Declared result types, one per result.
    pub results: &'a [TensorType],
}

impl<'a> Args<'a> {
    /// Number of operand slots.
    pub fn len(&self) -> usize {
        self.vals.len()
    }
    /// A required operand.
    pub fn req(&self, i: usize) -> R<&'a Tensor> {
        self.vals.get(i).copied().flatten().ok_or(OpError::MissingOperand(i))
    }
    /// An optional operand.
    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.vals.get(i).copied().flatten()
    }
    /// Checks the operand count is within `[min, max]`.
    pub fn arity(&self, min: usize, max: usize) -> R<()> {
        if self.vals.len() < min || self.vals.len() > max {
            return Err(OpError::Arity { min, max, got: self.vals.len() });
        }
        Ok(())
    }
    /// The quantization of operand `i`, from its type.
    pub fn operand_quant(&self, i: usize) -> R<&'a Quant> {
        self.types
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| t.quant.as_ref())
            .ok_or_else(|| OpError::Quant(format!("operand {i} has no quantization in its type")))
    }
    /// Result type `i`.
    pub fn result(&self, i: usize) -> R<&'a TensorType> {
        self.results.get(i).ok_or(OpError::ResultCount { expected: i + 1, got: self.results.len() })
    }
    /// The quantization of result `i`, from its type.
    pub fn result_quant(&self, i: usize) -> R<&'a Quant> {
        self.result(i)?
            .quant
            .as_ref()
            .ok_or_else(|| OpError::Quant(format!("result {i} has no quantization in its type")))
    }
    /// Number of declared results.
    pub fn nresults(&self) -> usize {
        self.results.len()
    }
}

/// A shape error.
pub(crate) fn shape_err(msg: impl Into<String>) -> OpError {
    OpError::Shape(msg.into())
}

/// An attribute error.
pub(crate) fn attr_err(msg: impl Into<String>) -> OpError {
    OpError::Attr(msg.into())
}

/// A bad operand value (index out of range, negative size...).
pub(crate) fn value_err(msg: impl Into<String>) -> OpError {
    OpError::Value(msg.into())
}

/// The dtype of operand `operand` is not supported.
pub(crate) fn dtype_err(operand: usize, dtype: DType) -> OpError {
    OpError::DType { operand, dtype }
}

/// Normalizes an axis in `[-rank, rank)`.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> R<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(attr_err(format!("axis {axis} out of range for rank {rank}")));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Checked element count.
pub(crate) fn numel(shape: &[usize]) -> R<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or(OpError::Overflow)
}

/// Checked product.
pub(crate) fn cmul(a: usize, b: usize) -> R<usize> {
    a.checked_mul(b).ok_or(OpError::Overflow)
}

/// Row-major strides.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1].saturating_mul(shape[i + 1]);
    }
    s
}

/// Builds a tensor, turning a count mismatch into an internal error.
pub(crate) fn mk(dtype: DType, shape: Vec<usize>, data: Data) -> R<Tensor> {
    Tensor::with_dtype(dtype, shape, data).map_err(|e| OpError::Internal(e.to_string()))
}

/// Integer (or bool) elements as i64; errors for floats.
pub(crate) fn ints(t: &Tensor, operand: usize) -> R<Vec<i64>> {
    t.to_i64_vec().ok_or(dtype_err(operand, t.dtype))
}

/// A 1-d (or scalar) integer operand as a list.
pub(crate) fn int_list(t: &Tensor, operand: usize) -> R<Vec<i64>> {
    if t.rank() > 1 {
        return Err(shape_err(format!("operand {operand} must be 1-d, got shape {:?}", t.shape)));
    }
    ints(t, operand)
}

/// A scalar (or one-element) operand as f64.
pub(crate) fn scalar_f64(t: &Tensor, operand: usize) -> R<f64> {
    if t.numel() != 1 {
        return Err(shape_err(format!("operand {operand} must be a scalar, got {:?}", t.shape)));
    }
    Ok(t.to_f64_vec()[0])
}

/// Float elements as f32 (borrowed for f32); errors for other dtypes.
pub(crate) fn floats(t: &Tensor, operand: usize) -> R<Cow<'_, [f32]>> {
    match &t.data {
        Data::F32(v) => Ok(Cow::Borrowed(v)),
        Data::F16(v) => Ok(Cow::Owned(v.iter().map(|x| x.to_f32()).collect())),
        Data::BF16(v) => Ok(Cow::Owned(v.iter().map(|x| x.to_f32()).collect())),
        _ => Err(dtype_err(operand, t.dtype)),
    }
}

/// A float tensor of `dtype` (f32, f16 or bf16) from f32 values.
pub(crate) fn float_out(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> R<Tensor> {
    let data = match dtype {
        DType::F32 => Data::F32(v),
        DType::F16 => Data::F16(v.into_iter().map(f16::from_f32).collect()),
        DType::BF16 => Data::BF16(v.into_iter().map(bf16::from_f32).collect()),
        d => return Err(OpError::Internal(format!("float_out on {d}"))),
    };
    mk(dtype, shape, data)
}

/// Wraps an i64 into the range of an integer dtype (two's complement), as hardware does.
pub(crate) fn wrap_int(dtype: DType, x: i64) -> i64 {
    match dtype {
        DType::I32 => x as i32 as i64,
        DType::I16 => x as i16 as i64,
        DType::I8 => x as i8 as i64,
        DType::U8 => x as u8 as i64,
        DType::I4 => ((x & 0xf) ^ 0x8) - 0x8,
        DType::U4 => x & 0xf,
        DType::U16 => x as u16 as i64,
        DType::I2 => ((x & 0x3) ^ 0x2) - 0x2,
        DType::U2 => x & 0x3,
        _ => x,
    }
}

/// An integer tensor of `dtype` from i64 values, wrapping out-of-range values.
pub(crate) fn int_out_wrapping(dtype: DType, shape: Vec<usize>, v: &[i64]) -> R<Tensor> {
    let w: Vec<i64> = v.iter().map(|&x| wrap_int(dtype, x)).collect();
    Tensor::from_i64_saturating(dtype, shape, &w).map_err(|e| OpError::Internal(e.to_string()))
}

/// Applies `$body` to the vector inside any `Data`, rebuilding the same variant.
macro_rules! map_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            Data::F32($v) => Data::F32($body),
            Data::F16($v) => Data::F16($body),
            Data::BF16($v) => Data::BF16($body),
            Data::I64($v) => Data::I64($body),
            Data::I32($v) => Data::I32($body),
            Data::I16($v) => Data::I16($body),
            Data::I8($v) => Data::I8($body),
            Data::U8($v) => Data::U8($body),
            Data::U16($v) => Data::U16($body),
            Data::F8E4M3FN($v) => Data::F8E4M3FN($body),
            Data::F8E5M2($v) => Data::F8E5M2($body),
            Data::F4E2M1($v) => Data::F4E2M1($body),
            Data::Bool($v) => Data::Bool($body),
        }
    };
}

/// Picks elements `idx` (all in range) of any data.
pub(crate) fn gather_data(data: &Data, idx: &[usize]) -> Data {
    map_data!(data, v => idx.iter().map(|&i| v[i]).collect())
}

/// Concatenates data of one variant; errors when variants differ.
pub(crate) fn same_variant(a: &Data, b: &Data) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The per-element parameter index of a quantization over `shape`: for each flat element, which
/// entry of `scales`/`zero_points` applies.
pub(crate) struct ParamIndex {
    kind: u8,
    inner: usize,
    dim: usize,
    block: usize,
    nblocks: usize,
}

impl ParamIndex {
    /// Validates `q` against `shape` and prepares the lookup.
    pub fn new(q: &Quant, shape: &[usize]) -> R<ParamIndex> {
        match q {
            Quant::Tensor { .. } => {
                Ok(ParamIndex { kind: 0, inner: 1, dim: 1, block: 1, nblocks: 1 })
            }
            Quant::Axis { axis, scales, zero_points } => {
                let axis = *axis;
                if axis >= shape.len() {
                    return Err(OpError::Quant(format!(
                        "quant axis {axis} >= rank {}",
                        shape.len()
                    )));
                }
                let dim = shape[axis];
                if scales.len() != dim || zero_points.len() != dim {
                    return Err(OpError::Quant(format!(
                        "per-axis quantization has {} scales / {} zero points for extent {dim}",
                        scales.len(),
                        zero_points.len()
                    )));
                }
                let inner = numel(&shape[axis + 1..])?;
                Ok(ParamIndex { kind: 1, inner, dim, block: 1, nblocks: dim })
            }
            Quant::Block { axis, block, scales, zero_points } => {
                let axis = *axis;
                if axis >= shape.len() || *block == 0 {
                    return Err(OpError::Quant(format!(
                        "bad block quantization axis {axis} block {block}"
                    )));
                }
                let dim = shape[axis];
                let nblocks = dim.div_ceil(*block);
                let outer = numel(&shape[..axis])?;
                let inner = numel(&shape[axis + 1..])?;
                let need = cmul(cmul(outer, nblocks)?, inner)?;
                if scales.len() != need || zero_points.len() != need {
                    return Err(OpError::Quant(format!(
                        "blocked quantization needs {need} scales and zero points, got {} / {}",
                        scales.len(),
                        zero_points.len()
                    )));
                }
                Ok(ParamIndex { kind: 2, inner, dim, block: *block, nblocks })
            }
        }
    }
    /// The parameter index of flat element `i`.
    #[inline]
    pub fn at(&self, i: usize) -> usize {
        match self.kind {
            0 => 0,
            1 => (i / self.inner) % self.dim,
            _ => {
                let o = i / (self.inner * self.dim);
                let a = (i / self.inner) % self.dim;
                let r = i % self.inner;
                (o * self.nblocks + a / self.block) * self.inner + r
            }
        }
    }
}

/// A per-tensor (scale, zero point), erroring on other forms.
pub(crate) fn per_tensor(q: &Quant, what: &str) -> R<(f32, i32)> {
    q.per_tensor().ok_or_else(|| OpError::Quant(format!("{what} must be quantized per tensor")))
}
