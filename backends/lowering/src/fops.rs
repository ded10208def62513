//! Specifications of the float-op family: comparisons ([`Compare`]), `Where` ([`WhereSpec`]),
//! `ArgMax`/`ArgMin` ([`ArgReduce`]) and per-axis resampling for `Resize` ([`Resample`]). They
//! are carried by [`crate::Kernel`] variants (with `Kernel::LogSoftmax`); every shape is exact
//! and every result is bit-exact against the interpreter except `Resample`'s weighted sums,
//! which follow the interpreter's f64 arithmetic term by term (bit-exact as well in practice).

use qcc_ir::DType;

/// Comparison operators (`→ bool`, one byte per element, 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// a == b
    Equal,
    /// a < b
    Less,
    /// a ≤ b
    LessOrEqual,
    /// a > b
    Greater,
    /// a ≥ b
    GreaterOrEqual,
}

/// `out[i] = a[…] op b[…]` over `shape` with broadcast element strides (0 on broadcast axes);
/// float comparisons are ordered (false when either side is NaN).
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// Operator.
    pub op: CmpOp,
    /// Operand type: F32, I32 or I64.
    pub elem: DType,
    /// Output shape.
    pub shape: Vec<usize>,
    /// Strides of a.
    pub a_strides: Vec<usize>,
    /// Strides of b.
    pub b_strides: Vec<usize>,
}

/// `out[i] = cond[…] ? x[…] : y[…]` over `shape` (inputs: cond (bool bytes), x, y), elements
/// of `elem_bytes` bytes moved bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct WhereSpec {
    /// Element size of x, y and the output (1, 2, 4 or 8).
    pub elem_bytes: usize,
    /// Output shape.
    pub shape: Vec<usize>,
    /// Strides of cond.
    pub c_strides: Vec<usize>,
    /// Strides of x.
    pub x_strides: Vec<usize>,
    /// Strides of y.
    pub y_strides: Vec<usize>,
}

/// `ArgMax`/`ArgMin` of f32 `[outer, d, inner]` over the middle axis → i64 `[outer, inner]`:
/// the first index of the extreme (the last with `select_last`), scanning with the
/// interpreter's rule (`x > best`, or `x ≥ best` for the last index; NaN never wins unless it
/// is at index 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgReduce {
    /// ArgMax (else ArgMin).
    pub max: bool,
    /// Ties take the last index.
    pub select_last: bool,
    /// Product of the axes before.
    pub outer: usize,
    /// The reduced axis (≥ 1).
    pub d: usize,
    /// Product of the axes after.
    pub inner: usize,
}

/// One axis of a `Resize`: `out[o, j, i] = f32(Σ_t f64(x[o, index[j·taps + t], i]) ·
/// weight[j·taps + t])` (the sum starts from its first term), or, for nearest
/// (`taps == 1`, every weight 1), a plain copy of `elem_bytes`-byte elements of any type.
#[derive(Debug, Clone, PartialEq)]
pub struct Resample {
    /// Product of the axes before.
    pub outer: usize,
    /// Input extent of the axis.
    pub n_in: usize,
    /// Output extent of the axis.
    pub n_out: usize,
    /// Product of the axes after.
    pub inner: usize,
    /// Taps per output coordinate.
    pub taps: usize,
    /// Input coordinate of each tap (`n_out·taps`, each `< n_in`).
    pub index: Vec<u32>,
    /// Weight of each tap.
    pub weight: Vec<f64>,
    /// Element size in bytes (4 for weighted resampling of f32).
    pub elem_bytes: usize,
}

impl Resample {
    /// True for a pure copy (one tap of weight 1 per output coordinate).
    pub fn is_copy(&self) -> bool {
        self.taps == 1 && self.weight.iter().all(|&w| w == 1.0)
    }
}

/// The text form of the kernels of this module (for [`crate::print()`]).
pub fn describe(k: &crate::Kernel) -> String {
    use crate::Kernel;
    match k {
        Kernel::Compare(c) => format!(
            "compare_{:?} {} {:?} a_strides={:?} b_strides={:?}",
            c.op, c.elem, c.shape, c.a_strides, c.b_strides
        )
        .to_lowercase(),
        Kernel::Where(w) => format!(
            "where {}B {:?} c_strides={:?} x_strides={:?} y_strides={:?}",
            w.elem_bytes, w.shape, w.c_strides, w.x_strides, w.y_strides
        ),
        Kernel::ArgReduce(a) => format!(
            "{} outer={} d={} inner={}{}",
            if a.max { "argmax" } else { "argmin" },
            a.outer,
            a.d,
            a.inner,
            if a.select_last { " last" } else { "" }
        ),
        Kernel::LogSoftmax { outer, d, inner } => {
            format!("log_softmax outer={outer} d={d} inner={inner}")
        }
        Kernel::Resample(r) => format!(
            "resample outer={} {}->{} inner={} taps={} {}",
            r.outer,
            r.n_in,
            r.n_out,
            r.inner,
            r.taps,
            if r.is_copy() { format!("copy {}B", r.elem_bytes) } else { "f32".into() }
        ),
        other => other.name().to_string(),
    }
}
