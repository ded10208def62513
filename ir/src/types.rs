//! Tensor types: shapes with symbolic dimensions and quantization parameters carried in the type.

use crate::dtype::DType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One dimension of a shape: a known size or a named symbol bound later (e.g. the batch `N`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dim {
    /// A known extent.
    Fixed(usize),
    /// A symbolic extent, named.
    Sym(String),
}

impl Dim {
    /// The extent if known.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Sym(_) => None,
        }
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Self {
        Dim::Fixed(n)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
        }
    }
}

/// A shape: `None` rank means the rank itself is not known yet (before shape inference).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape(pub Option<Vec<Dim>>);

impl Shape {
    /// A shape of known extents.
    pub fn fixed(dims: &[usize]) -> Shape {
        Shape(Some(dims.iter().map(|&d| Dim::Fixed(d)).collect()))
    }
    /// A shape of unknown rank.
    pub fn unknown() -> Shape {
        Shape(None)
    }
    /// The scalar shape `[]`.
    pub fn scalar() -> Shape {
        Shape(Some(Vec::new()))
    }
    /// The dims if the rank is known.
    pub fn dims(&self) -> Option<&[Dim]> {
        self.0.as_deref()
    }
    /// The rank if known.
    pub fn rank(&self) -> Option<usize> {
        self.0.as_ref().map(|d| d.len())
    }
    /// All extents, when every dimension is known.
    pub fn as_fixed(&self) -> Option<Vec<usize>> {
        self.0.as_ref()?.iter().map(Dim::fixed).collect()
    }
    /// Number of elements when every dimension is known (None on overflow too).
    pub fn numel(&self) -> Option<usize> {
        self.as_fixed()?.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("[*]"),
            Some(dims) => {
                f.write_str("[")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Quantization parameters: real = scale · (q − zero_point).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Quant {
    /// One scale and zero point for the whole tensor.
    Tensor {
        /// Scale (> 0, finite).
        scale: f32,
        /// Zero point, within the range of the element type.
        zero_point: i32,
    },
    /// One scale and zero point per index of `axis` (per-channel).
    Axis {
        /// The quantized axis.
        axis: usize,
        /// One scale per index of the axis.
        scales: Vec<f32>,
        /// One zero point per index of the axis.
        zero_points: Vec<i32>,
    },
    /// Blocked quantization: blocks of `block` consecutive elements along `axis` share a scale.
    /// `scales` has the tensor's shape with `dims[axis]` replaced by `ceil(dims[axis] / block)`,
    /// flattened row-major.
    Block {
        /// The blocked axis.
        axis: usize,
        /// Block length along `axis`.
        block: usize,
        /// Scales, row-major over the reduced shape.
        scales: Vec<f32>,
        /// Zero points, same layout as `scales`.
        zero_points: Vec<i32>,
    },
}

impl Quant {
    /// Per-tensor parameters.
    pub fn tensor(scale: f32, zero_point: i32) -> Quant {
        Quant::Tensor { scale, zero_point }
    }
    /// The per-tensor (scale, zero point), if this is per-tensor.
    pub fn per_tensor(&self) -> Option<(f32, i32)> {
        match self {
            Quant::Tensor { scale, zero_point } => Some((*scale, *zero_point)),
            _ => None,
        }
    }
    /// All scales.
    pub fn scales(&self) -> &[f32] {
        match self {
            Quant::Tensor { scale, .. } => std::slice::from_ref(scale),
            Quant::Axis { scales, .. } | Quant::Block { scales, .. } => scales,
        }
    }
    /// All zero points.
    pub fn zero_points(&self) -> &[i32] {
        match self {
            Quant::Tensor { zero_point, .. } => std::slice::from_ref(zero_point),
            Quant::Axis { zero_points, .. } | Quant::Block { zero_points, .. } => zero_points,
        }
    }
}

/// The type of an SSA value: element type, shape and (for quantized integers) quantization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Shape (possibly symbolic or of unknown rank).
    pub shape: Shape,
    /// Quantization parameters; `None` for plain values.
    pub quant: Option<Quant>,
}

impl TensorType {
    /// A plain (unquantized) type.
    pub fn new(dtype: DType, shape: Shape) -> TensorType {
        TensorType { dtype, shape, quant: None }
    }
    /// A plain type of known extents.
    pub fn fixed(dtype: DType, dims: &[usize]) -> TensorType {
        TensorType::new(dtype, Shape::fixed(dims))
    }
    /// A plain type of unknown shape.
    pub fn unknown(dtype: DType) -> TensorType {
        TensorType::new(dtype, Shape::unknown())
    }
    /// The same type with quantization parameters.
    pub fn with_quant(mut self, q: Quant) -> TensorType {
        self.quant = Some(q);
        self
    }
    /// The same dtype and quantization with another shape.
    pub fn with_shape(&self, shape: Shape) -> TensorType {
        TensorType { dtype: self.dtype, shape, quant: self.quant.clone() }
    }
}

pub(crate) fn fmt_f32(f: &mut impl fmt::Write, x: f32) -> fmt::Result {
    // Shortest representation that parses back to the same f32; always looks like a float.
    if x.is_nan() {
        f.write_str("nan")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        let s = format!("{x:?}");
        f.write_str(&s)
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list_f = |f: &mut fmt::Formatter<'_>, v: &[f32]| -> fmt::Result {
            f.write_str("[")?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                fmt_f32(f, *x)?;
            }
            f.write_str("]")
        };
        let list_i = |f: &mut fmt::Formatter<'_>, v: &[i32]| -> fmt::Result {
            f.write_str("[")?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str("]")
        };
        match self {
            Quant::Tensor { scale, zero_point } => {
                fmt_f32(f, *scale)?;
                write!(f, ":{zero_point}")
            }
            Quant::Axis { axis, scales, zero_points } => {
                write!(f, "axis={axis}, scales=")?;
                list_f(f, scales)?;
                if zero_points.iter().any(|&z| z != 0) {
                    f.write_str(", zps=")?;
                    list_i(f, zero_points)?;
                }
                Ok(())
            }
            Quant::Block { axis, block, scales, zero_points } => {
                write!(f, "axis={axis}, block={block}, scales=")?;
                list_f(f, scales)?;
                if zero_points.iter().any(|&z| z != 0) {
                    f.write_str(", zps=")?;
                    list_i(f, zero_points)?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        if let Some(q) = &self.quant {
            write!(f, "<{q}>")?;
        }
        write!(f, "{}", self.shape)
    }
}
