//! What to quantize and how: the options of `qcc quantize` (DESIGN §8).

use qcc_ir::{DType, Graph, NodeId, Op};
use serde::{Deserialize, Serialize};

/// Weight granularity as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WeightGranularity {
    /// One scale per weight tensor.
    Tensor,
    /// One scale per output channel (default).
    #[default]
    Channel,
    /// One scale per group of N input elements (int4 weight-only).
    Group(usize),
}

/// The quantization scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantScheme {
    /// Activation type: u8 (asymmetric, default — the fast path of VNNI `u8·s8`), i8, or i16
    /// (symmetric).
    pub activations: DType,
    /// Weight type: i8 (default) or i4.
    pub weights: DType,
    /// Weight granularity.
    pub granularity: WeightGranularity,
    /// Node names or op names (e.g. `Softmax`) to keep in float.
    pub exclude: Vec<String>,
    /// Correct each layer's bias for the mean error its quantized weights cause on the
    /// calibration data (`b − ΔW·E[x]`, Nagel et al. 2019).
    pub bias_correction: bool,
    /// Dequantize the i32 accumulator of a Conv/MatMul/Gemm whose output only reaches float
    /// ops or graph outputs, instead of requantizing it to 8 bits first, and leave in float
    /// the Add/Mul/table units whose results only float ops read. Off in `Default` (the
    /// Cranelift lowering dequantizes only per-tensor 8-bit values so far); the `qcc` driver
    /// turns it on.
    pub float_outputs: bool,
    /// Narrow the range of a value read only by saturating ops (HardSwish, HardSigmoid, Relu,
    /// Clip) to where they vary (default).
    pub saturation_ranges: bool,
    /// When not empty, only these nodes (by name, or `Op#index` for unnamed nodes) are
    /// quantized: per-layer sensitivity quantizes one layer at a time.
    pub only: Vec<String>,
    /// Nodes (by name, op name or `Op#index`, as `exclude`) whose result is quantized as i16 (symmetric)
    /// whatever `activations` says: mixed precision that stays integer (a 16-bit value read
    /// by a table becomes a 65536-entry `Lut`).
    pub wide: Vec<String>,
}

impl Default for QuantScheme {
    fn default() -> Self {
        QuantScheme {
            activations: DType::U8,
            weights: DType::I8,
            granularity: WeightGranularity::Channel,
            exclude: Vec::new(),
            bias_correction: true,
            float_outputs: false,
            saturation_ranges: true,
            only: Vec::new(),
            wide: Vec::new(),
        }
    }
}

impl QuantScheme {
    /// True when the node's result is quantized as i16 (see [`QuantScheme::wide`]).
    pub fn widens(&self, g: &Graph, n: NodeId) -> bool {
        self.wide.iter().any(|e| names(g, n, e))
    }

    /// True when the node is excluded by name, by op name, or (unnamed nodes) by `Op#index`.
    pub fn excludes(&self, g: &Graph, n: NodeId) -> bool {
        self.exclude.iter().any(|e| names(g, n, e))
    }
}

/// True when `pattern` names node `n`: its name, its op name, or (unnamed nodes) `Op#index`.
fn names(g: &Graph, n: NodeId, pattern: &str) -> bool {
    let node = g.node(n);
    pattern == node.name
        || pattern == node.op.name()
        || (node.name.is_empty() && pattern == format!("{}#{}", node.op.name(), n.index()))
}

/// How an op takes part in quantization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An integer kernel exists: inputs and output are quantized.
    Compute,
    /// A unary function of one 8-bit value: becomes a 256-entry table.
    Table,
    /// Moves or selects values without arithmetic: runs on integers with the input's parameters.
    Transparent,
    /// Stays in float.
    Float,
}

/// The role of an op.
pub fn role(op: &Op) -> Role {
    match op {
        Op::Conv(_)
        | Op::MatMul
        | Op::Gemm(_)
        | Op::Add
        | Op::Mul
        | Op::AveragePool(_)
        | Op::GlobalAveragePool
        | Op::Concat(_) => Role::Compute,
        Op::Relu
        | Op::Clip
        | Op::Sigmoid
        | Op::HardSigmoid(_)
        | Op::HardSwish
        | Op::Tanh
        | Op::Gelu(_)
        | Op::Erf
        | Op::LeakyRelu(_)
        | Op::Elu(_)
        | Op::Softplus
        | Op::Exp
        | Op::Neg
        | Op::Abs => Role::Table,
        Op::Reshape(_)
        | Op::Flatten(_)
        | Op::Transpose(_)
        | Op::Squeeze
        | Op::Unsqueeze
        | Op::MaxPool(_)
        | Op::GlobalMaxPool
        | Op::Identity
        | Op::Slice
        | Op::Split(_)
        | Op::Expand
        | Op::Tile
        | Op::DepthToSpace(_) => Role::Transparent,
        _ => Role::Float,
    }
}
