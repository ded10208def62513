//! The lowered model: buffers (arena slots, constants, views), an ordered list of kernel
//! invocations with exact shapes and fused epilogues, and the arena size.

use crate::cnn::*;
use crate::fops::*;
use crate::spec::*;
use qcc_ir::{DType, Tensor};
use std::sync::Arc;

/// Index of a buffer in [`LoweredModel::buffers`].
pub type BufId = usize;

/// Where a buffer's bytes live.
#[derive(Debug, Clone)]
pub enum Storage {
    /// At `offset` in the arena (views share their root's offset).
    Arena {
        /// Byte offset.
        offset: usize,
        /// The buffer this one is a view of (Reshape/Flatten/Squeeze/Unsqueeze/Identity).
        view_of: Option<BufId>,
    },
    /// A constant (read-only, outside the arena).
    Const(Arc<Tensor>),
}

/// One tensor of the lowered model.
#[derive(Debug, Clone)]
pub struct Buffer {
    /// Element type.
    pub dtype: DType,
    /// Exact shape.
    pub shape: Vec<usize>,
    /// Storage.
    pub storage: Storage,
}

impl Buffer {
    /// Element count (saturating: a count past `usize::MAX` reads as `usize::MAX`, which no
    /// arena limit admits).
    pub fn numel(&self) -> usize {
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }
    /// Size in bytes (saturating, as [`Buffer::numel`]).
    pub fn bytes(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size_bytes())
    }
}

/// Requantization fused into an integer GEMM: `saturate(round_half_even(f32(acc − zx)·m[n]) + zy)`
/// clamped to `[lo, hi]` (type range narrowed by a fused Relu/Clip).
#[derive(Debug, Clone, PartialEq)]
pub struct QRequant {
    /// i8 (true) or u8 output.
    pub signed: bool,
    /// Accumulator zero point.
    pub acc_zero_point: i32,
    /// One multiplier or one per column.
    pub multipliers: Vec<f32>,
    /// Output zero point.
    pub zero_point: i32,
    /// Output lower bound.
    pub lo: i32,
    /// Output upper bound.
    pub hi: i32,
}

/// An integer GEMM `C[m×n] = epi(Σ (A − za)·B + bias)` with constant B (k×n row-major, i8,
/// zero point 0); the backend packs B for its ISA at compile time.
#[derive(Debug, Clone, PartialEq)]
pub struct QGemm {
    /// Rows (batch dims of A flattened).
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// Reduction extent.
    pub k: usize,
    /// A is i8 (else u8).
    pub a_signed: bool,
    /// A's zero point.
    pub a_zero_point: i32,
    /// B, k×n row-major.
    pub b: Vec<i8>,
    /// i32 bias per column.
    pub bias: Option<Vec<i32>>,
    /// Fused requantization (None: i32 output).
    pub requant: Option<QRequant>,
}

/// fp32 elementwise binary operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// max(a, b) (NaN propagates)
    Max,
    /// min(a, b) (NaN propagates)
    Min,
    /// a^b (`powf` semantics: special cases of IEEE `pow`, negative bases with integer
    /// exponents)
    Pow,
}

/// fp32 elementwise unary operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    /// max(x, 0) (x < 0 → 0).
    Relu,
    /// clamp(x, lo, hi).
    Clip(f32, f32),
    /// −x (sign bit flipped).
    Neg,
    /// |x|.
    Abs,
    /// ⌊x⌋.
    Floor,
    /// ⌈x⌉.
    Ceil,
    /// Round half to even.
    Round,
    /// 1 / x.
    Reciprocal,
    /// 1 for x > 0, −1 for x < 0, else x (±0 and NaN unchanged).
    Sign,
    /// x for x ≥ 0, else alpha·x.
    LeakyRelu(f32),
}

/// Dequantization with per-axis (or per-tensor) parameters of an i8/u8/i32 buffer viewed as
/// `[outer, axis_len, inner]`: `y = f32(q − zp[c]) · scale[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DequantizeAxis {
    /// Element type of q (I8, U8 or I32).
    pub dtype: DType,
    /// Product of the dims before the axis (as stored).
    pub outer: usize,
    /// The axis extent (1 for per-tensor).
    pub axis_len: usize,
    /// Product of the dims after the axis (as stored).
    pub inner: usize,
    /// One scale per axis index.
    pub scales: Vec<f32>,
    /// One zero point per axis index.
    pub zero_points: Vec<i32>,
}

/// A kernel invocation's computation.
#[derive(Debug, Clone, PartialEq)]
pub enum Kernel {
    /// Integer GEMM with fused epilogue (QMatMul [+ Requantize [+ Relu/Clip]]).
    QGemm(QGemm),
    /// f32 → 8-bit, per tensor: `saturate(round_half_even(x / scale) + zp)`.
    Quantize {
        /// Scale.
        scale: f32,
        /// Zero point.
        zero_point: i32,
        /// i8 (true) or u8.
        signed: bool,
    },
    /// 8-bit → f32, per tensor: `(q − zp) · scale`.
    Dequantize {
        /// Scale.
        scale: f32,
        /// Zero point.
        zero_point: i32,
        /// i8 (true) or u8 input.
        signed: bool,
    },
    /// f32 GEMM `C[m×n] = A[m×k]·B + bias` with constant B (k×n row-major).
    GemmF32 {
        /// Rows.
        m: usize,
        /// Columns.
        n: usize,
        /// Reduction.
        k: usize,
        /// B, k×n row-major.
        b: Vec<f32>,
        /// Bias per column.
        bias: Option<Vec<f32>>,
        /// A fused Relu or Clip `(lo, hi)` (Relu is `(0, +inf)`), with [`UnaryOp::Clip`]'s
        /// semantics: `x < lo → lo`, then `x > hi → hi`; NaN and −0 pass unchanged.
        clamp: Option<(f32, f32)>,
    },
    /// Elementwise binary with broadcast: element strides of a and b over the output shape
    /// (0 on broadcast axes).
    Binary {
        /// Operation.
        op: BinOp,
        /// Output shape.
        shape: Vec<usize>,
        /// Strides of a.
        a_strides: Vec<usize>,
        /// Strides of b.
        b_strides: Vec<usize>,
    },
    /// Elementwise unary.
    Unary(UnaryOp),
    /// Per-axis (or i32) dequantization.
    DequantizeAxis(DequantizeAxis),
    // ----- CNN family (crate::cnn): conv, pooling, quantized elementwise, activations -----
    /// im2col into a scratch buffer (followed by a GEMM).
    Im2col(Im2col),
    /// Direct (depthwise / grouped) convolution, NHWC.
    DirectConv(DirectConv),
    /// NCHW ↔ NHWC copy.
    Relayout(Relayout),
    /// Quantized binary op with broadcast.
    QBinary(QBinary),
    /// 8-bit table lookup `y = table[x − min]` (input 1: the 256-entry table).
    Lut {
        /// x is i8 (else u8).
        signed: bool,
    },
    /// Global average pooling (f32 or quantized).
    GlobalAvgPool(GlobalPool),
    /// f32 MaxPool / AveragePool, NHWC.
    Pool2d(Pool2d),
    /// f32 activation.
    Act(Activation),

    // ----- transformer family (movement, normalization, runtime matmul; see `spec`) -----
    /// Batched matmul, both operands possibly runtime (inputs: A, B).
    BatchMatMul(BatchMatMul),
    /// Strided copy (inputs: source; several steps may write one Concat output).
    Copy(StridedCopy),
    /// Gather (inputs: data, indices).
    Gather(GatherSpec),
    /// Element type conversion of `n` elements (float → int rounds half to even, then
    /// saturates, NaN → 0; int → int saturates; → bool is `x != 0`).
    Cast {
        /// Elements.
        n: usize,
        /// Source type.
        from: DType,
        /// Target type.
        to: DType,
    },
    /// LayerNormalization over rows of `d` (inputs: x, scale[d], bias[d]?).
    LayerNorm {
        /// Rows.
        rows: usize,
        /// Normalized extent.
        d: usize,
        /// Added to the variance.
        epsilon: f32,
    },
    /// Softmax over the middle axis of `[outer, d, inner]`, max-subtracted.
    Softmax {
        /// Product of the axes before.
        outer: usize,
        /// The softmax axis.
        d: usize,
        /// Product of the axes after.
        inner: usize,
    },
    /// Float elementwise math over `n` elements.
    Math {
        /// Operation.
        op: MathOp,
        /// Elements.
        n: usize,
    },
    /// Float reduction of `shape` over the axes marked in `reduced` (output: the kept axes).
    Reduce {
        /// Operation.
        op: ReduceOp,
        /// Input shape.
        shape: Vec<usize>,
        /// Per axis, whether it is reduced.
        reduced: Vec<bool>,
    },

    // ----- float-op family (see `fops`) -----
    /// Comparison with broadcast (inputs: a, b; output: bool bytes).
    Compare(Compare),
    /// Select with broadcast (inputs: cond, x, y).
    Where(WhereSpec),
    /// ArgMax / ArgMin over the middle axis (f32 → i64).
    ArgReduce(ArgReduce),
    /// LogSoftmax over the middle axis of `[outer, d, inner]`: `f32(f64(x − max) − ln Σ eᶻ)`.
    LogSoftmax {
        /// Product of the axes before.
        outer: usize,
        /// The axis.
        d: usize,
        /// Product of the axes after.
        inner: usize,
    },
    /// One axis of a Resize.
    Resample(Resample),
}

impl Kernel {
    /// Short name for the text form.
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::QGemm(_) => "qgemm",
            Kernel::Quantize { .. } => "quantize",
            Kernel::Dequantize { .. } => "dequantize",
            Kernel::GemmF32 { .. } => "gemm_f32",
            Kernel::Binary { .. } => "binary",
            Kernel::Unary(_) => "unary",
            Kernel::DequantizeAxis(_) => "dequantize_axis",
            Kernel::Im2col(_) => "im2col",
            Kernel::DirectConv(_) => "direct_conv",
            Kernel::Relayout(_) => "relayout",
            Kernel::QBinary(_) => "qbinary",
            Kernel::Lut { .. } => "lut",
            Kernel::GlobalAvgPool(_) => "global_avg_pool",
            Kernel::Pool2d(_) => "pool2d",
            Kernel::Act(_) => "act",
            Kernel::BatchMatMul(_) => "batch_matmul",
            Kernel::Copy(_) => "copy",
            Kernel::Gather(_) => "gather",
            Kernel::Cast { .. } => "cast",
            Kernel::LayerNorm { .. } => "layer_norm",
            Kernel::Softmax { .. } => "softmax",
            Kernel::Math { .. } => "math",
            Kernel::Reduce { .. } => "reduce",
            Kernel::Compare(_) => "compare",
            Kernel::Where(_) => "where",
            Kernel::ArgReduce(_) => "arg_reduce",
            Kernel::LogSoftmax { .. } => "log_softmax",
            Kernel::Resample(_) => "resample",
        }
    }
}

/// One kernel invocation.
#[derive(Debug, Clone)]
pub struct Step {
    /// The node (name or `#index`) the step comes from (the first of a fused group).
    pub node: String,
    /// The ops fused into this step, in order (e.g. `QMatMul+Requantize+Relu`).
    pub ops: String,
    /// The computation.
    pub kernel: Kernel,
    /// Operand buffers.
    pub inputs: Vec<BufId>,
    /// Result buffer.
    pub output: BufId,
}

/// A graph ready for code generation.
#[derive(Debug, Clone)]
pub struct LoweredModel {
    /// Every buffer.
    pub buffers: Vec<Buffer>,
    /// Graph inputs, in order: (name, buffer).
    pub inputs: Vec<(String, BufId)>,
    /// Graph outputs, in order: (name, buffer).
    pub outputs: Vec<(String, BufId)>,
    /// Kernel invocations, in execution order.
    pub steps: Vec<Step>,
    /// Bytes of the one arena.
    pub arena_size: usize,
}

impl LoweredModel {
    /// The arena offset of a buffer (None for constants).
    pub fn offset(&self, b: BufId) -> Option<usize> {
        match &self.buffers[b].storage {
            Storage::Arena { offset, .. } => Some(*offset),
            Storage::Const(_) => None,
        }
    }

    /// Checks `inputs` (graph input order) against the plan's input buffers (count, dtype,
    /// shape) and copies them into `arena` at their offsets. The message names the input.
    pub fn write_inputs(&self, arena: &mut [u8], inputs: &[Tensor]) -> Result<(), String> {
        if inputs.len() != self.inputs.len() {
            return Err(format!(
                "{} inputs given, the model takes {}",
                inputs.len(),
                self.inputs.len()
            ));
        }
        for ((name, b), t) in self.inputs.iter().zip(inputs) {
            let buf = &self.buffers[*b];
            if t.dtype != buf.dtype || t.shape != buf.shape {
                return Err(format!(
                    "input `{name}`: got {}{:?}, expected {}{:?}",
                    t.dtype, t.shape, buf.dtype, buf.shape
                ));
            }
            let bytes = t.to_le_bytes();
            let off = self.offset(*b).unwrap_or(0);
            let dst = arena
                .get_mut(off..off + bytes.len())
                .ok_or_else(|| format!("input `{name}` does not fit the arena"))?;
            dst.copy_from_slice(&bytes);
        }
        Ok(())
    }

    /// The graph outputs read from `arena` (constant outputs from their storage).
    pub fn read_outputs(&self, arena: &[u8]) -> Result<Vec<Tensor>, String> {
        let mut outs = Vec::new();
        for (name, b) in &self.outputs {
            let buf = &self.buffers[*b];
            let bytes = match &buf.storage {
                Storage::Arena { offset, .. } => arena
                    .get(*offset..*offset + buf.bytes())
                    .ok_or_else(|| format!("output `{name}` does not fit the arena"))?
                    .to_vec(),
                Storage::Const(t) => t.to_le_bytes(),
            };
            outs.push(
                Tensor::from_le_bytes(buf.dtype, buf.shape.clone(), &bytes)
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(outs)
    }
}
