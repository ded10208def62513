//! Kernel parameters of the CNN family: convolution (im2col + GEMM, direct depthwise/grouped),
//! NCHW ↔ NHWC relayout, pooling, quantized elementwise (QAdd/QMul/Lut) and f32 activations.
//!
//! **Layout.** Convolutions keep activations in NHWC: a 1×1 stride-1 convolution is then a plain
//! GEMM `X[N·H·W × C] · W[C × M]` with the (constant) weights as the packed B operand, im2col
//! rows are contiguous channel runs, and a depthwise convolution vectorizes over channels
//! (16 u8 / 4 i32 lanes) with per-channel weights loaded as vectors. Tensors are NHWC only
//! between layout-aware kernels; the lowering inserts a [`Relayout`] (or a free view when `C = 1`
//! or `H·W = 1`, where both layouts coincide) before any other op, at graph outputs, and
//! im2col reads NCHW inputs directly (through strides) so the first convolution needs no
//! transpose. An NHWC buffer's `Buffer::shape` is its physical shape `[N, H, W, C]`.

use crate::model::QRequant;

/// 2-d convolution geometry (per batch image): input `h×w`, output `oh×ow`, kernel, strides,
/// dilations and leading pads (trailing pads are implied by the output size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    /// Batch.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (h, w).
    pub stride: (usize, usize),
    /// Dilation (h, w).
    pub dilation: (usize, usize),
    /// Leading pads (top, left).
    pub pad: (usize, usize),
}

/// im2col: `out[(n·oh + y)·ow + x][(i·kw + j)·c + ch] = in[n, ch, y·sh + i·dh − pt, ...]` or
/// `pad` outside the image. The input is read through element strides (NHWC or NCHW).
#[derive(Debug, Clone, PartialEq)]
pub struct Im2col {
    /// Geometry.
    pub geom: ConvGeom,
    /// Element strides of the input for (n, c, h, w).
    pub in_strides: [usize; 4],
    /// Bytes per element (1 or 4).
    pub elem: usize,
    /// The padding element's bits (the input zero point for 8-bit, 0.0 for f32).
    pub pad: u32,
}

/// The integer part of a direct convolution.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectQuant {
    /// Input is i8 (else u8).
    pub x_signed: bool,
    /// Input zero point.
    pub x_zero_point: i32,
    /// i8 weights `[m][c/g][kh][kw]` (zero point 0).
    pub w: Vec<i8>,
    /// i32 bias per output channel.
    pub bias: Option<Vec<i32>>,
    /// Fused requantization (None: i32 output).
    pub requant: Option<QRequant>,
}

/// The weights of a direct convolution.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectData {
    /// f32 weights `[m][c/g][kh][kw]` and bias.
    F32 {
        /// Weights.
        w: Vec<f32>,
        /// Bias per output channel.
        bias: Option<Vec<f32>>,
    },
    /// Integer.
    Quant(DirectQuant),
}

/// Direct convolution over an NHWC input giving NHWC output with `m` channels in `group`
/// groups (depthwise when `c == m == group`); rows `n·oh` split across threads.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectConv {
    /// Geometry.
    pub geom: ConvGeom,
    /// Output channels.
    pub m: usize,
    /// Groups.
    pub group: usize,
    /// Weights, bias, quantization.
    pub data: DirectData,
}

/// NCHW ↔ NHWC copy of `n` images of `c` channels × `hw` pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relayout {
    /// Batch.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Pixels per channel.
    pub hw: usize,
    /// Bytes per element.
    pub elem: usize,
    /// NCHW → NHWC (else back).
    pub to_nhwc: bool,
}

/// Quantized elementwise binary operations (parameters from the operand and result types).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QBinOp {
    /// `round((a − za)·ma + (b − zb)·mb) + zy`.
    Add {
        /// f32(sa / sy).
        ma: f32,
        /// f32(sb / sy).
        mb: f32,
    },
    /// `round(f32((a − za)(b − zb)) · m) + zy`.
    Mul {
        /// f32(sa·sb / sy).
        m: f32,
    },
}

/// A quantized binary op with broadcast (strides as [`crate::Kernel::Binary`], in elements,
/// over the output's physical shape).
#[derive(Debug, Clone, PartialEq)]
pub struct QBinary {
    /// Operation and multipliers.
    pub op: QBinOp,
    /// Output physical shape.
    pub shape: Vec<usize>,
    /// Strides of a.
    pub a_strides: Vec<usize>,
    /// Strides of b.
    pub b_strides: Vec<usize>,
    /// a is i8 (else u8).
    pub a_signed: bool,
    /// b is i8 (else u8).
    pub b_signed: bool,
    /// Result is i8 (else u8).
    pub signed: bool,
    /// Zero points (a, b, y).
    pub zero_points: (i32, i32, i32),
}

/// Requantization of an averaged sum: `round(f32(Σ(x − zx)) · m) + zy` in `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolQuant {
    /// Input is i8 (else u8).
    pub x_signed: bool,
    /// Result is i8 (else u8).
    pub signed: bool,
    /// Input zero point.
    pub x_zero_point: i32,
    /// f32(sx / sy) / count.
    pub m: f32,
    /// Output zero point.
    pub zero_point: i32,
}

/// Global average pooling of `n·c` channels of `hw` pixels each: input NHWC (`nhwc`) or
/// NCHW; the output `[n, c]` is the same in both layouts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlobalPool {
    /// Batch.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Pixels.
    pub hw: usize,
    /// Input layout is NHWC.
    pub nhwc: bool,
    /// Integer form (None: f32 `Σx / hw`).
    pub quant: Option<PoolQuant>,
}

/// f32 MaxPool / AveragePool (2-d) over an NHWC input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pool2d {
    /// Geometry (`c` channels, kernel, strides, dilations, pads).
    pub geom: ConvGeom,
    /// Max (else average).
    pub max: bool,
    /// Average: divide by the whole window, padding included.
    pub count_include_pad: bool,
}

/// f32 activations (elementwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `x · clamp(x/6 + 0.5, 0, 1)`.
    HardSwish,
    /// `clamp(alpha·x + beta, 0, 1)`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `1 / (1 + exp(−x))`.
    Sigmoid,
}

impl ConvGeom {
    /// Output rows `n·oh` (the unit split across threads).
    pub fn rows(&self) -> usize {
        self.n * self.oh
    }

    fn text(&self) -> String {
        format!(
            "n={} c={} {}x{} -> {}x{} k={}x{} s={:?} d={:?} p={:?}",
            self.n,
            self.c,
            self.h,
            self.w,
            self.oh,
            self.ow,
            self.kh,
            self.kw,
            self.stride,
            self.dilation,
            self.pad
        )
    }
}

/// The text form of a CNN-family kernel (used by [`crate::print()`]).
pub fn describe(k: &crate::Kernel) -> String {
    use crate::Kernel;
    let q8 = |s: bool| if s { "i8" } else { "u8" };
    match k {
        Kernel::Im2col(i) => {
            format!("im2col {} strides={:?} elem={}", i.geom.text(), i.in_strides, i.elem)
        }
        Kernel::DirectConv(d) => {
            let ty = match &d.data {
                DirectData::F32 { bias, .. } => format!("f32 bias={}", bias.is_some()),
                DirectData::Quant(q) => format!(
                    "{}<zp={}> bias={} -> {}",
                    q8(q.x_signed),
                    q.x_zero_point,
                    q.bias.is_some(),
                    match &q.requant {
                        None => "i32".to_string(),
                        Some(r) => format!(
                            "{}<zp={}> clamp=[{},{}]",
                            q8(r.signed),
                            r.zero_point,
                            r.lo,
                            r.hi
                        ),
                    }
                ),
            };
            format!("direct_conv {} m={} group={} {ty}", d.geom.text(), d.m, d.group)
        }
        Kernel::Relayout(r) => format!(
            "relayout {} n={} c={} hw={} elem={}",
            if r.to_nhwc { "nchw->nhwc" } else { "nhwc->nchw" },
            r.n,
            r.c,
            r.hw,
            r.elem
        ),
        Kernel::QBinary(q) => format!(
            "q{:?} {:?} a_strides={:?} b_strides={:?} zp={:?} -> {}",
            q.op,
            q.shape,
            q.a_strides,
            q.b_strides,
            q.zero_points,
            q8(q.signed)
        ),
        Kernel::Lut { signed } => format!("lut {}", q8(*signed)),
        Kernel::GlobalAvgPool(p) => format!(
            "global_avg_pool n={} c={} hw={} {} {}",
            p.n,
            p.c,
            p.hw,
            if p.nhwc { "nhwc" } else { "nchw" },
            match &p.quant {
                None => "f32".to_string(),
                Some(q) => format!(
                    "{}<zp={}> -> {}<zp={}>",
                    q8(q.x_signed),
                    q.x_zero_point,
                    q8(q.signed),
                    q.zero_point
                ),
            }
        ),
        Kernel::Pool2d(p) => {
            format!("{} {}", if p.max { "max_pool" } else { "avg_pool" }, p.geom.text())
        }
        Kernel::Act(a) => format!("{a:?}").to_lowercase(),
        other => other.name().to_string(),
    }
}
