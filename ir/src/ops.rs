//! The closed set of operations, with their attribute structs.
//!
//! Operand conventions follow ONNX (opset ≥ 13 forms): values that older opsets gave as attributes
//! (Clip bounds, Reshape shape, Slice starts/ends, Pad pads, Resize scales/sizes, Split sizes,
//! reduction axes, Squeeze/Unsqueeze axes) are operands, normally constants. The frontend rewrites
//! the older attribute forms into constant operands, so there is one form per op. A missing
//! optional operand is `None` in the operand list (printed `_`).
//!
//! Quantized ops come in two families:
//! * **ONNX form** (`QuantizeLinear`, `QLinearConv`, `MatMulInteger`, ...): quantization parameters
//!   are runtime operands exactly as in ONNX; this is what importing a pre-quantized model gives.
//! * **Typed form** (`Quantize`, `Dequantize`, `Requantize`, `QConv`, `QMatMul`, `QAdd`, `QMul`,
//!   `QAveragePool`, `QGlobalAveragePool`, `QConcat`, `Lut`): quantization parameters live in the
//!   operand and result types ([`crate::Quant`]); this is what the quantizer realizes and what
//!   backends compile. Their exact integer semantics are documented on each variant and
//!   implemented once in [`crate::qmath`].

use crate::dtype::DType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Index of a constant in [`crate::Graph`]'s constant table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConstId(pub u32);

/// ONNX `auto_pad`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoPad {
    /// Explicit `pads`.
    #[default]
    NotSet,
    /// Pad so output = ceil(input / stride), extra padding at the end.
    SameUpper,
    /// Pad so output = ceil(input / stride), extra padding at the start.
    SameLower,
    /// No padding.
    Valid,
}

/// Attributes of convolutions (`Conv`, `ConvInteger`, `QLinearConv`, `QConv`).
/// Empty vectors mean the ONNX defaults (kernel from the weight, strides and dilations 1, pads 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvAttrs {
    /// Spatial kernel extents (empty: taken from the weight).
    pub kernel_shape: Vec<usize>,
    /// Strides per spatial axis.
    pub strides: Vec<usize>,
    /// Pads: all begins then all ends (ONNX order).
    pub pads: Vec<usize>,
    /// Dilations per spatial axis.
    pub dilations: Vec<usize>,
    /// Number of groups (1: dense, channels: depthwise).
    pub group: usize,
    /// Automatic padding.
    pub auto_pad: AutoPad,
}

/// Attributes of `ConvTranspose`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvTransposeAttrs {
    /// The convolution part.
    pub conv: ConvAttrs,
    /// Extra size added to one side of each output spatial axis.
    pub output_padding: Vec<usize>,
    /// Explicit output spatial shape (overrides pads).
    pub output_shape: Vec<usize>,
}

/// Attributes of `Gemm`: `alpha · op(A) · op(B) + beta · C`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C.
    pub beta: f32,
    /// Transpose A.
    pub trans_a: bool,
    /// Transpose B.
    pub trans_b: bool,
}

impl Default for GemmAttrs {
    fn default() -> Self {
        GemmAttrs { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false }
    }
}

/// Attributes of pooling ops.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolAttrs {
    /// Window extents.
    pub kernel_shape: Vec<usize>,
    /// Strides (default 1).
    pub strides: Vec<usize>,
    /// Pads: begins then ends.
    pub pads: Vec<usize>,
    /// Dilations (MaxPool).
    pub dilations: Vec<usize>,
    /// Output size rounded up.
    pub ceil_mode: bool,
    /// AveragePool: divide by the full window including padding.
    pub count_include_pad: bool,
    /// Automatic padding.
    pub auto_pad: AutoPad,
}

/// An `axis` attribute (negative counts from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AxisAttrs {
    /// The axis.
    pub axis: i64,
}

/// Attributes of reductions; axes come as an optional operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ReduceAttrs {
    /// Keep reduced axes as extent 1.
    pub keepdims: bool,
    /// With no axes operand: identity (true) or reduce all (false).
    pub noop_with_empty_axes: bool,
}

impl Default for ReduceAttrs {
    fn default() -> Self {
        ReduceAttrs { keepdims: true, noop_with_empty_axes: false }
    }
}

/// Attributes of `ArgMax`/`ArgMin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ArgAttrs {
    /// The reduced axis.
    pub axis: i64,
    /// Keep the axis as extent 1.
    pub keepdims: bool,
    /// On ties take the last index.
    pub select_last_index: bool,
}

impl Default for ArgAttrs {
    fn default() -> Self {
        ArgAttrs { axis: 0, keepdims: true, select_last_index: false }
    }
}

/// Attributes of `LayerNormalization`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerNormAttrs {
    /// First normalized axis.
    pub axis: i64,
    /// Added to the variance.
    pub epsilon: f32,
}

impl Default for LayerNormAttrs {
    fn default() -> Self {
        LayerNormAttrs { axis: -1, epsilon: 1e-5 }
    }
}

/// An `epsilon` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EpsAttrs {
    /// Added to the variance.
    pub epsilon: f32,
}

impl Default for EpsAttrs {
    fn default() -> Self {
        EpsAttrs { epsilon: 1e-5 }
    }
}

/// An `alpha` attribute (LeakyRelu default 0.01, Elu 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlphaAttrs {
    /// The slope or scale.
    pub alpha: f32,
}

/// Attributes of `HardSigmoid`: `max(0, min(1, alpha·x + beta))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HardSigmoidAttrs {
    /// Slope.
    pub alpha: f32,
    /// Offset.
    pub beta: f32,
}

impl Default for HardSigmoidAttrs {
    fn default() -> Self {
        HardSigmoidAttrs { alpha: 0.2, beta: 0.5 }
    }
}

/// GELU approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeluApprox {
    /// Exact: `0.5·x·(1 + erf(x/√2))`.
    #[default]
    None,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
    Tanh,
}

/// Attributes of `Gelu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GeluAttrs {
    /// Approximation.
    pub approximate: GeluApprox,
}

/// Attributes of `Transpose`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransposeAttrs {
    /// Permutation (empty: reverse the axes).
    pub perm: Vec<usize>,
}

/// Attributes of `Split`; sizes come as an optional operand, else equal parts (one per result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SplitAttrs {
    /// The split axis.
    pub axis: i64,
}

/// Attributes of `Reshape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReshapeAttrs {
    /// A 0 in the shape means 0 (true) or "copy the input extent" (false, ONNX default).
    pub allowzero: bool,
}

/// `Pad` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Fill with the constant value.
    #[default]
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge.
    Edge,
    /// Wrap around.
    Wrap,
}

/// Attributes of `Pad`; pads, constant value and axes are operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PadAttrs {
    /// Mode.
    pub mode: PadMode,
}

/// `Resize` interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Nearest neighbour.
    #[default]
    Nearest,
    /// (Bi/tri)linear.
    Linear,
    /// Cubic.
    Cubic,
}

/// `Resize` coordinate transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordMode {
    /// `(x + 0.5) / scale - 0.5`.
    #[default]
    HalfPixel,
    /// Like half_pixel, but 0 when the output extent is 1.
    PytorchHalfPixel,
    /// `x · (in - 1) / (out - 1)`.
    AlignCorners,
    /// `x / scale`.
    Asymmetric,
    /// TensorFlow crop-and-resize.
    TfCropAndResize,
    /// `(x + 0.5) / scale - 0.5` with the original length.
    HalfPixelSymmetric,
}

/// `Resize` nearest rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NearestMode {
    /// Round half down.
    #[default]
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    /// Floor.
    Floor,
    /// Ceil.
    Ceil,
}

/// Attributes of `Resize`; operands are (x, roi?, scales?, sizes?).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResizeAttrs {
    /// Interpolation.
    pub mode: ResizeMode,
    /// Coordinate transformation.
    pub coordinate_transformation_mode: CoordMode,
    /// Nearest rounding.
    pub nearest_mode: NearestMode,
    /// Cubic coefficient.
    pub cubic_coeff_a: f32,
    /// Exclude outside pixels from cubic weights.
    pub exclude_outside: bool,
    /// Value outside the ROI for tf_crop_and_resize.
    pub extrapolation_value: f32,
}

impl Default for ResizeAttrs {
    fn default() -> Self {
        ResizeAttrs {
            mode: ResizeMode::Nearest,
            coordinate_transformation_mode: CoordMode::HalfPixel,
            nearest_mode: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
        }
    }
}

/// Attributes of `Cast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CastAttrs {
    /// Target type.
    pub to: DType,
    /// For the low-precision float targets: clamp overflow and ±Inf to the largest finite value
    /// (ONNX `saturate`, default true); ignored for other targets.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub saturate: bool,
}

impl CastAttrs {
    /// A saturating cast to `to`.
    pub fn new(to: DType) -> CastAttrs {
        CastAttrs { to, saturate: true }
    }
}

fn yes() -> bool {
    true
}

/// Keeps the default `saturate = true` out of printed attributes.
fn is_true(b: &bool) -> bool {
    *b
}

/// Attributes of `Shape`: the slice `[start, end)` of the input's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ShapeAttrs {
    /// First axis (negative from the end).
    pub start: i64,
    /// One past the last axis (None: rank).
    pub end: Option<i64>,
}

/// Attributes of `ConstantOfShape`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConstantOfShapeAttrs {
    /// Element type.
    pub dtype: DType,
    /// Fill value (converted to `dtype`).
    pub value: f64,
}

/// Attributes of ONNX-form `QuantizeLinear` / `DequantizeLinear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct QLinearAttrs {
    /// Axis of per-axis or blocked parameters.
    pub axis: i64,
    /// Block length for blocked quantization (0: not blocked).
    pub block_size: usize,
    /// Output type of `QuantizeLinear` (ignored by `DequantizeLinear`).
    pub dtype: DType,
    /// `QuantizeLinear` to a low-precision float: clamp overflow and ±Inf to the largest finite
    /// value (ONNX `saturate`, default true); ignored otherwise.
    pub saturate: bool,
}

impl Default for QLinearAttrs {
    fn default() -> Self {
        QLinearAttrs { axis: 1, block_size: 0, dtype: DType::U8, saturate: true }
    }
}

/// An op that qcc does not know, carried by name so it can be reported precisely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomOp {
    /// Operator domain (`""` for the default ONNX domain).
    pub domain: String,
    /// Operator name.
    pub name: String,
    /// Attributes, as JSON values.
    #[serde(default)]
    pub attrs: BTreeMap<String, serde_json::Value>,
}

/// Every operation of the IR. See the module docs for operand conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    // ----- graph structure -----
    /// A graph input (the node's name is the input's name). No operands.
    Input,
    /// A constant from the graph's constant table. No operands.
    Constant(ConstId),
    /// Returns its operand.
    Identity,

    // ----- linear algebra -----
    /// (x, w, b?) N-d convolution, NC… layout.
    Conv(ConvAttrs),
    /// (x, w, b?) transposed convolution.
    ConvTranspose(ConvTransposeAttrs),
    /// (a, b, c?) general matrix multiply.
    Gemm(GemmAttrs),
    /// (a, b) batched matmul with numpy broadcasting.
    MatMul,

    // ----- elementwise binary (numpy broadcasting) -----
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b (integer: truncating)
    Div,
    /// a ^ b
    Pow,
    /// Elementwise max of 1+ operands.
    Max,
    /// Elementwise min of 1+ operands.
    Min,
    /// a mod b (fmod semantics for floats, sign of divisor for integers).
    Mod,
    /// a == b → bool
    Equal,
    /// a < b → bool
    Less,
    /// a <= b → bool
    LessOrEqual,
    /// a > b → bool
    Greater,
    /// a >= b → bool
    GreaterOrEqual,
    /// Logical and of bools.
    And,
    /// Logical or of bools.
    Or,
    /// Logical xor of bools.
    Xor,
    /// (cond, x, y) select.
    Where,

    // ----- elementwise unary -----
    /// max(x, 0)
    Relu,
    /// x if x ≥ 0 else alpha·x
    LeakyRelu(AlphaAttrs),
    /// x if x ≥ 0 else alpha·(eˣ − 1)
    Elu(AlphaAttrs),
    /// (x, min?, max?) clamp.
    Clip,
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
    /// max(0, min(1, alpha·x + beta))
    HardSigmoid(HardSigmoidAttrs),
    /// x · max(0, min(1, x/6 + 1/2))
    HardSwish,
    /// tanh
    Tanh,
    /// erf
    Erf,
    /// GELU
    Gelu(GeluAttrs),
    /// eˣ
    Exp,
    /// ln x
    Log,
    /// √x
    Sqrt,
    /// 1 / x
    Reciprocal,
    /// −x
    Neg,
    /// |x|
    Abs,
    /// ⌊x⌋
    Floor,
    /// ⌈x⌉
    Ceil,
    /// Round half to even.
    Round,
    /// −1, 0 or 1.
    Sign,
    /// Logical not.
    Not,
    /// ln(1 + eˣ)
    Softplus,
    /// sin
    Sin,
    /// cos
    Cos,

    // ----- normalization and softmax -----
    /// Softmax along an axis.
    Softmax(AxisAttrs),
    /// Log-softmax along an axis.
    LogSoftmax(AxisAttrs),
    /// (x, scale, bias?) over axes `axis..rank`.
    LayerNormalization(LayerNormAttrs),
    /// (x, scale, bias, mean, var) inference-mode batch norm.
    BatchNormalization(EpsAttrs),
    /// (x, scale, bias) per-instance normalization.
    InstanceNormalization(EpsAttrs),

    // ----- pooling -----
    /// Max pooling.
    MaxPool(PoolAttrs),
    /// Average pooling.
    AveragePool(PoolAttrs),
    /// Mean over all spatial axes.
    GlobalAveragePool,
    /// Max over all spatial axes.
    GlobalMaxPool,

    // ----- reductions: (x, axes?) -----
    /// Mean.
    ReduceMean(ReduceAttrs),
    /// Sum.
    ReduceSum(ReduceAttrs),
    /// Max.
    ReduceMax(ReduceAttrs),
    /// Min.
    ReduceMin(ReduceAttrs),
    /// Product.
    ReduceProd(ReduceAttrs),
    /// Sum of squares.
    ReduceSumSquare(ReduceAttrs),
    /// Index of the maximum (i64).
    ArgMax(ArgAttrs),
    /// Index of the minimum (i64).
    ArgMin(ArgAttrs),

    // ----- shape and data movement -----
    /// (x, shape)
    Reshape(ReshapeAttrs),
    /// Flatten to 2-d at an axis.
    Flatten(AxisAttrs),
    /// Permute axes.
    Transpose(TransposeAttrs),
    /// Concatenate 1+ operands along an axis.
    Concat(AxisAttrs),
    /// (x, sizes?) split into the node's results.
    Split(SplitAttrs),
    /// (x, starts, ends, axes?, steps?)
    Slice,
    /// (data, indices) gather along an axis.
    Gather(AxisAttrs),
    /// (data, indices) gather elements along an axis (indices same rank as data).
    GatherElements(AxisAttrs),
    /// (x, axes?) drop extent-1 axes.
    Squeeze,
    /// (x, axes) insert extent-1 axes.
    Unsqueeze,
    /// (x, shape) broadcast.
    Expand,
    /// (x, repeats) tile.
    Tile,
    /// (x, pads, constant_value?, axes?)
    Pad(PadAttrs),
    /// (x, roi?, scales?, sizes?)
    Resize(ResizeAttrs),
    /// Element type conversion (float → int rounds to nearest even, then saturates).
    Cast(CastAttrs),
    /// The input's shape as i64.
    Shape(ShapeAttrs),
    /// The input's element count as an i64 scalar.
    Size,
    /// (shape) a tensor filled with one value.
    ConstantOfShape(ConstantOfShapeAttrs),
    /// (start, limit, delta) 1-d range.
    Range,
    /// Rearranges depth into spatial blocks.
    DepthToSpace(BlockAttrs),

    // ----- quantization, ONNX form (parameters are operands) -----
    /// (x, scale, zero_point?) → saturate(round_half_even(x / scale) + zp).
    QuantizeLinear(QLinearAttrs),
    /// (x, scale, zero_point?) → (x − zp) · scale.
    DequantizeLinear(QLinearAttrs),
    /// (x) → (y: u8, scale: f32, zero_point: u8) with range from min/max including 0.
    DynamicQuantizeLinear,
    /// (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, b?)
    QLinearConv(ConvAttrs),
    /// (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)
    QLinearMatMul,
    /// (a, b, a_zp?, b_zp?) → i32
    MatMulInteger,
    /// (x, w, x_zp?, w_zp?) → i32
    ConvInteger(ConvAttrs),

    // ----- quantization, typed form (parameters in the types) -----
    /// f32 → quantized: saturate(round_half_even(x / scale) + zp), per result type.
    Quantize,
    /// quantized → f32: (q − zp) · scale.
    Dequantize,
    /// quantized → quantized: saturate(round_half_even((x − zx) · m) + zy), m = f32(sx / sy)
    /// per channel. The usual input is an i32 accumulator typed `i32<s_in·s_w:0>`.
    Requantize,
    /// (x, w, bias?) → i32 accumulator Σ (x − zx)(w − zw) + bias, typed `i32<sx·sw>` per channel.
    QConv(ConvAttrs),
    /// (a, b, bias?) → i32 accumulator Σ (a − za)(b − zb) + bias.
    QMatMul,
    /// (a, b) → saturate(round_half_even((a − za)·f32(sa/sy) + (b − zb)·f32(sb/sy)) + zy).
    QAdd,
    /// (a, b) → saturate(round_half_even(f32((a − za)(b − zb)) · f32(sa·sb/sy)) + zy).
    QMul,
    /// Average pooling: saturate(round_half_even(f32(Σ(x − zx)) · f32(sx / sy / n)) + zy).
    QAveragePool(PoolAttrs),
    /// Global average pooling with the rule of `QAveragePool`.
    QGlobalAveragePool,
    /// Concatenation; each operand is requantized to the result's parameters.
    QConcat(AxisAttrs),
    /// (x, table) y = table[x − min(dtype(x))]: any unary function of an 8-bit (256-entry
    /// table) or 16-bit (65536-entry table) value.
    Lut,

    /// An op qcc does not implement (its results' count is the node's).
    Custom(CustomOp),
}

/// Attributes with a `blocksize` (DepthToSpace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockAttrs {
    /// Block size.
    pub blocksize: usize,
    /// `DCR` (default) or `CRD` ordering.
    pub mode: String,
}

impl Default for BlockAttrs {
    fn default() -> Self {
        BlockAttrs { blocksize: 1, mode: "DCR".into() }
    }
}

impl Op {
    /// The op's name as printed in the text format (the enum variant name).
    pub fn name(&self) -> &str {
        match self {
            Op::Custom(c) => &c.name,
            _ => self.variant_name(),
        }
    }

    /// The variant name (`Custom` for custom ops).
    pub fn variant_name(&self) -> &'static str {
        op_names::variant_name(self)
    }

    /// The attributes as a JSON object (empty for ops without attributes).
    pub fn attrs_json(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => match m.into_iter().next() {
                Some((_, serde_json::Value::Object(attrs))) => attrs,
                Some((k, v)) => {
                    let mut one = serde_json::Map::new();
                    one.insert(k, v);
                    one
                }
                None => serde_json::Map::new(),
            },
            _ => serde_json::Map::new(),
        }
    }

    /// Builds an op from its variant name and attributes (the inverse of `variant_name` +
    /// `attrs_json`). Missing attributes take their defaults where the op has them.
    pub fn from_name_attrs(
        name: &str,
        attrs: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Op, String> {
        use serde_json::Value;
        if attrs.is_empty() {
            if let Ok(op) = serde_json::from_value::<Op>(Value::String(name.to_string())) {
                return Ok(op);
            }
        }
        let mut m = serde_json::Map::new();
        m.insert(name.to_string(), Value::Object(attrs));
        serde_json::from_value::<Op>(Value::Object(m)).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("unknown variant") {
                format!("unknown op `{name}`")
            } else {
                format!("bad attributes for `{name}`: {msg}")
            }
        })
    }

    /// True for ops whose result can be computed without runtime inputs once operands are
    /// constant, and that have no effects (everything but `Input` and `Custom`).
    pub fn is_pure(&self) -> bool {
        !matches!(self, Op::Input | Op::Custom(_))
    }

    /// True for the typed-form quantized ops, whose parameters live in the types.
    pub fn is_typed_quant(&self) -> bool {
        matches!(
            self,
            Op::Quantize
                | Op::Dequantize
                | Op::Requantize
                | Op::QConv(_)
                | Op::QMatMul
                | Op::QAdd
                | Op::QMul
                | Op::QAveragePool(_)
                | Op::QGlobalAveragePool
                | Op::QConcat(_)
                | Op::Lut
        )
    }
}

mod op_names {
    use super::Op;
    /// Variant names without allocating, generated from one list so it cannot drift.
    macro_rules! names {
        ($($v:ident $( ( $p:pat ) )?),* $(,)?) => {
            pub(super) fn variant_name(op: &Op) -> &'static str {
                match op { $( Op::$v $( ($p) )? => stringify!($v), )* }
            }
            /// Every variant name, in declaration order.
            pub const ALL: &[&str] = &[$(stringify!($v)),*];
        };
    }
    names!(
        Input,
        Constant(_),
        Identity,
        Conv(_),
        ConvTranspose(_),
        Gemm(_),
        MatMul,
        Add,
        Sub,
        Mul,
        Div,
        Pow,
        Max,
        Min,
        Mod,
        Equal,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        And,
        Or,
        Xor,
        Where,
        Relu,
        LeakyRelu(_),
        Elu(_),
        Clip,
        Sigmoid,
        HardSigmoid(_),
        HardSwish,
        Tanh,
        Erf,
        Gelu(_),
        Exp,
        Log,
        Sqrt,
        Reciprocal,
        Neg,
        Abs,
        Floor,
        Ceil,
        Round,
        Sign,
        Not,
        Softplus,
        Sin,
        Cos,
        Softmax(_),
        LogSoftmax(_),
        LayerNormalization(_),
        BatchNormalization(_),
        InstanceNormalization(_),
        MaxPool(_),
        AveragePool(_),
        GlobalAveragePool,
        GlobalMaxPool,
        ReduceMean(_),
        ReduceSum(_),
        ReduceMax(_),
        ReduceMin(_),
        ReduceProd(_),
        ReduceSumSquare(_),
        ArgMax(_),
        ArgMin(_),
        Reshape(_),
        Flatten(_),
        Transpose(_),
        Concat(_),
        Split(_),
        Slice,
        Gather(_),
        GatherElements(_),
        Squeeze,
        Unsqueeze,
        Expand,
        Tile,
        Pad(_),
        Resize(_),
        Cast(_),
        Shape(_),
        Size,
        ConstantOfShape(_),
        Range,
        DepthToSpace(_),
        QuantizeLinear(_),
        DequantizeLinear(_),
        DynamicQuantizeLinear,
        QLinearConv(_),
        QLinearMatMul,
        MatMulInteger,
        ConvInteger(_),
        Quantize,
        Dequantize,
        Requantize,
        QConv(_),
        QMatMul,
        QAdd,
        QMul,
        QAveragePool(_),
        QGlobalAveragePool,
        QConcat(_),
        Lut,
        Custom(_),
    );
}

/// Every op variant name, in declaration order (for docs and the supported-ops table).
pub const OP_NAMES: &[&str] = op_names::ALL;
