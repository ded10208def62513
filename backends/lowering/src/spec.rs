//! Specifications of the transformer-family kernels: batched matmul with runtime operands (f32
//! and integer), strided copies (Transpose, Slice, Expand, Concat), Gather, Cast, LayerNorm,
//! Softmax, float math (Sqrt, Exp, Erf, Gelu, Tanh, Log, Softplus, Sin, Cos, Elu), reductions and integer elementwise binaries
//! (QAdd, QMul). They are carried by [`crate::Kernel`] variants; every shape is exact.

use crate::model::QRequant;
use qcc_ir::DType;

/// Operand element types of a [`BatchMatMul`].
#[derive(Debug, Clone, PartialEq)]
pub enum MmElem {
    /// f32 × f32 → f32.
    F32,
    /// 8-bit × 8-bit → i32 accumulator `Σ (a − za)(b − zb)` (exact), then an optional bias and
    /// requantization.
    Int {
        /// A is i8 (else u8).
        a_signed: bool,
        /// B is i8 (else u8).
        b_signed: bool,
        /// A's zero point.
        a_zero_point: i32,
        /// B's zero point (per tensor).
        b_zero_point: i32,
    },
}

/// A batched matmul `C[batch, m, n] = A[batch_a, m, k] · B[batch_b, k, n]` with numpy
/// broadcasting of the batch axes; both operands may be runtime values (row-major, contiguous).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMatMul {
    /// The output's batch shape.
    pub batch: Vec<usize>,
    /// Per batch axis, the stride of A in matrices (0 on broadcast axes).
    pub a_strides: Vec<usize>,
    /// Per batch axis, the stride of B in matrices (0 on broadcast axes).
    pub b_strides: Vec<usize>,
    /// Rows.
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// Reduction extent.
    pub k: usize,
    /// Element types.
    pub elem: MmElem,
    /// Integer only: i32 bias per column.
    pub bias: Option<Vec<i32>>,
    /// Integer only: fused requantization (None: i32 output).
    pub requant: Option<QRequant>,
}

/// `dst[dst_offset + Σ i_d·dst_strides[d]] = src[src_offset + Σ i_d·src_strides[d]]` for every
/// index `i` of `shape` (elements of `elem_bytes` bytes). Transpose, Slice (any step sign),
/// Expand, and each operand of a Concat.
#[derive(Debug, Clone, PartialEq)]
pub struct StridedCopy {
    /// Element size in bytes (1, 2, 4 or 8).
    pub elem_bytes: usize,
    /// Iteration shape.
    pub shape: Vec<usize>,
    /// Source start, in elements.
    pub src_offset: isize,
    /// Source strides, in elements (may be 0 or negative).
    pub src_strides: Vec<isize>,
    /// Destination start, in elements.
    pub dst_offset: usize,
    /// Destination strides, in elements.
    pub dst_strides: Vec<usize>,
}

/// `Gather` of `data[outer, d, inner]` by `indices` (i32 or i64, negative counts from the end)
/// along the middle axis. An index outside `[-d, d)` reads nothing: its output slice is zero
/// and the run fails with an error naming the step.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherSpec {
    /// Product of the axes before the gather axis.
    pub outer: usize,
    /// Extent of the gather axis.
    pub d: usize,
    /// Number of indices.
    pub nidx: usize,
    /// Product of the axes after the gather axis.
    pub inner: usize,
    /// Element size in bytes of the data.
    pub elem_bytes: usize,
    /// Indices are i64 (else i32).
    pub idx_i64: bool,
}

/// Float elementwise math (the backends' accuracy against the interpreter is stated in their
/// `kernels::math` / `kernels::transcendental` docs and checked by the conformance suite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MathOp {
    /// √x (exact IEEE).
    Sqrt,
    /// eˣ (range reduction + polynomial).
    Exp,
    /// erf(x) (rational approximation).
    Erf,
    /// 0.5·x·(1 + erf(x/√2)).
    Gelu,
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (Gelu with `approximate = tanh`).
    GeluTanh,
    /// tanh x.
    Tanh,
    /// ln x (NaN below 0, −∞ at ±0).
    Log,
    /// ln(1 + eˣ), x above 20 passed through (the interpreter's formula).
    Softplus,
    /// sin x.
    Sin,
    /// cos x.
    Cos,
    /// x for x ≥ 0, else alpha·(eˣ − 1).
    Elu(f32),
}

/// Float reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Σ
    Sum,
    /// Σ / count
    Mean,
    /// max
    Max,
    /// min
    Min,
    /// Π (in f64, as the interpreter)
    Prod,
    /// Σ x² (in f64, as the interpreter)
    SumSquare,
}

/// Whether [`crate::Kernel::Cast`] supports a conversion.
pub fn cast_supported(from: DType, to: DType) -> bool {
    let ok = |d: DType| {
        matches!(d, DType::F32 | DType::I64 | DType::I32 | DType::I8 | DType::U8 | DType::Bool)
    };
    ok(from) && ok(to)
}

fn q8(signed: bool) -> &'static str {
    if signed {
        "i8"
    } else {
        "u8"
    }
}

/// The text form of the kernels of this module (for [`crate::print()`]).
pub fn describe(k: &crate::Kernel) -> String {
    use crate::Kernel;
    match k {
        Kernel::BatchMatMul(b) => {
            let e = match &b.elem {
                MmElem::F32 => "f32".to_string(),
                MmElem::Int { a_signed, b_signed, a_zero_point, b_zero_point } => format!(
                    "{}<zp={a_zero_point}>x{}<zp={b_zero_point}>",
                    q8(*a_signed),
                    q8(*b_signed)
                ),
            };
            let out = match (&b.elem, &b.requant) {
                (MmElem::F32, _) => String::new(),
                (_, None) => " -> i32".into(),
                (_, Some(r)) => {
                    format!(" -> {}<zp={}> clamp=[{},{}]", q8(r.signed), r.zero_point, r.lo, r.hi)
                }
            };
            format!(
                "batch_matmul batch={:?} a_strides={:?} b_strides={:?} m={} n={} k={} {e} bias={}{out}",
                b.batch,
                b.a_strides,
                b.b_strides,
                b.m,
                b.n,
                b.k,
                b.bias.is_some()
            )
        }
        Kernel::Copy(c) => format!(
            "copy {}B shape={:?} src=+{}{:?} dst=+{}{:?}",
            c.elem_bytes, c.shape, c.src_offset, c.src_strides, c.dst_offset, c.dst_strides
        ),
        Kernel::Gather(g) => format!(
            "gather outer={} d={} indices={}x{} inner={} {}B",
            g.outer,
            g.d,
            g.nidx,
            if g.idx_i64 { "i64" } else { "i32" },
            g.inner,
            g.elem_bytes
        ),
        Kernel::Cast { n, from, to } => format!("cast {from}->{to} n={n}"),
        Kernel::LayerNorm { rows, d, epsilon } => {
            format!("layer_norm rows={rows} d={d} eps={epsilon:e}")
        }
        Kernel::Softmax { outer, d, inner } => {
            format!("softmax outer={outer} d={d} inner={inner}")
        }
        Kernel::Math { op, n } => format!("{op:?} n={n}").to_lowercase(),
        Kernel::Reduce { op, shape, reduced } => {
            format!("reduce_{op:?} {shape:?} reduced={reduced:?}").to_lowercase()
        }
        other => other.name().to_string(),
    }
}
