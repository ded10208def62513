//! Op signatures: how many operands an op takes, which slots must be connected, and how many
//! results it produces.
//!
//! The operand conventions are those of [`crate::ops`] (ONNX order, optional operands last). A
//! node's arity may omit trailing optional slots, so an op with `required = 2, optional = 1`
//! accepts arity 2 or 3.

use crate::ops::Op;

/// The operand slots an op accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    /// `required` leading slots that must be connected, then up to `optional` slots that may be
    /// missing or omitted.
    Fixed {
        /// Leading slots that must be present.
        required: usize,
        /// Trailing optional slots.
        optional: usize,
    },
    /// At least `min` operands, every one connected (Concat, Max, Min, QConcat).
    Variadic {
        /// Fewest operands.
        min: usize,
    },
    /// Any number of operands, any of them missing (Custom).
    Any,
}

/// How many results an op produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Results {
    /// Exactly this many.
    Fixed(usize),
    /// One or more (Split: one per part; Custom: as the node declares).
    AtLeastOne,
}

/// The operand and result counts of an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// Operand slots.
    pub operands: Operands,
    /// Result count.
    pub results: Results,
}

impl Signature {
    const fn fixed(required: usize, optional: usize, results: usize) -> Signature {
        Signature {
            operands: Operands::Fixed { required, optional },
            results: Results::Fixed(results),
        }
    }

    /// Fewest operand slots a node of this op may have.
    pub fn min_operands(&self) -> usize {
        match self.operands {
            Operands::Fixed { required, .. } => required,
            Operands::Variadic { min } => min,
            Operands::Any => 0,
        }
    }

    /// Most operand slots a node of this op may have (`None`: unbounded).
    pub fn max_operands(&self) -> Option<usize> {
        match self.operands {
            Operands::Fixed { required, optional } => Some(required + optional),
            Operands::Variadic { .. } | Operands::Any => None,
        }
    }

    /// True when operand `slot` must be connected.
    pub fn is_required(&self, slot: usize) -> bool {
        match self.operands {
            Operands::Fixed { required, .. } => slot < required,
            Operands::Variadic { .. } => true,
            Operands::Any => false,
        }
    }

    /// True when a node may have `arity` operand slots.
    pub fn accepts_arity(&self, arity: usize) -> bool {
        arity >= self.min_operands() && self.max_operands().is_none_or(|m| arity <= m)
    }

    /// True when a node may have `n` results.
    pub fn accepts_results(&self, n: usize) -> bool {
        match self.results {
            Results::Fixed(k) => n == k,
            Results::AtLeastOne => n >= 1,
        }
    }

    /// The operand count range in words (`2`, `2..=3`, `1..`), for messages.
    pub fn operands_text(&self) -> String {
        match (self.min_operands(), self.max_operands()) {
            (a, Some(b)) if a == b => format!("{a}"),
            (a, Some(b)) => format!("{a}..={b}"),
            (a, None) => format!("{a}.."),
        }
    }

    /// The result count in words (`1`, `1..`), for messages.
    pub fn results_text(&self) -> String {
        match self.results {
            Results::Fixed(k) => format!("{k}"),
            Results::AtLeastOne => "1..".to_string(),
        }
    }
}

impl Op {
    /// The op's operand and result counts.
    pub fn signature(&self) -> Signature {
        use Op::*;
        let s = Signature::fixed;
        match self {
            Input | Constant(_) => s(0, 0, 1),
            Identity => s(1, 0, 1),
            Conv(_) | ConvTranspose(_) | Gemm(_) => s(2, 1, 1),
            MatMul => s(2, 0, 1),
            Add | Sub | Mul | Div | Pow | Mod | Equal | Less | LessOrEqual | Greater
            | GreaterOrEqual | And | Or | Xor => s(2, 0, 1),
            Max | Min | Concat(_) | QConcat(_) => {
                Signature { operands: Operands::Variadic { min: 1 }, results: Results::Fixed(1) }
            }
            Where => s(3, 0, 1),
            Relu | LeakyRelu(_) | Elu(_) | Sigmoid | HardSigmoid(_) | HardSwish | Tanh | Erf
            | Gelu(_) | Exp | Log | Sqrt | Reciprocal | Neg | Abs | Floor | Ceil | Round | Sign
            | Not | Softplus | Sin | Cos => s(1, 0, 1),
            Clip => s(1, 2, 1),
            Softmax(_) | LogSoftmax(_) => s(1, 0, 1),
            LayerNormalization(_) => s(2, 1, 1),
            BatchNormalization(_) => s(5, 0, 1),
            InstanceNormalization(_) => s(3, 0, 1),
            MaxPool(_) | AveragePool(_) | GlobalAveragePool | GlobalMaxPool => s(1, 0, 1),
            ReduceMean(_) | ReduceSum(_) | ReduceMax(_) | ReduceMin(_) | ReduceProd(_)
            | ReduceSumSquare(_) => s(1, 1, 1),
            ArgMax(_) | ArgMin(_) => s(1, 0, 1),
            Reshape(_) => s(2, 0, 1),
            Flatten(_) | Transpose(_) => s(1, 0, 1),
            Split(_) => Signature {
                operands: Operands::Fixed { required: 1, optional: 1 },
                results: Results::AtLeastOne,
            },
            Slice => s(3, 2, 1),
            Gather(_) | GatherElements(_) => s(2, 0, 1),
            Squeeze => s(1, 1, 1),
            Unsqueeze | Expand | Tile => s(2, 0, 1),
            Pad(_) => s(2, 2, 1),
            Resize(_) => s(1, 3, 1),
            Cast(_) | Shape(_) | Size | ConstantOfShape(_) | DepthToSpace(_) => s(1, 0, 1),
            Range => s(3, 0, 1),
            QuantizeLinear(_) | DequantizeLinear(_) => s(2, 1, 1),
            DynamicQuantizeLinear => s(1, 0, 3),
            QLinearConv(_) => s(8, 1, 1),
            QLinearMatMul => s(8, 0, 1),
            MatMulInteger | ConvInteger(_) => s(2, 2, 1),
            Quantize | Dequantize | Requantize => s(1, 0, 1),
            QConv(_) | QMatMul => s(2, 1, 1),
            QAdd | QMul => s(2, 0, 1),
            QAveragePool(_) | QGlobalAveragePool => s(1, 0, 1),
            Lut => s(2, 0, 1),
            Custom(_) => Signature { operands: Operands::Any, results: Results::AtLeastOne },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{AxisAttrs, ConvAttrs, SplitAttrs};

    #[test]
    fn counts_follow_onnx() {
        let conv = Op::Conv(ConvAttrs::default()).signature();
        assert!(conv.accepts_arity(2) && conv.accepts_arity(3) && !conv.accepts_arity(4));
        assert!(conv.is_required(1) && !conv.is_required(2));
        let concat = Op::Concat(AxisAttrs::default()).signature();
        assert!(!concat.accepts_arity(0) && concat.accepts_arity(7) && concat.is_required(6));
        let split = Op::Split(SplitAttrs::default()).signature();
        assert!(split.accepts_results(3) && !split.accepts_results(0));
        let dql = Op::DynamicQuantizeLinear.signature();
        assert!(dql.accepts_results(3) && !dql.accepts_results(1));
        assert_eq!(Op::QLinearConv(ConvAttrs::default()).signature().operands_text(), "8..=9");
        assert_eq!(Op::Max.signature().operands_text(), "1..");
    }

    #[test]
    fn every_op_name_has_a_signature_with_results() {
        // Every variant that can be built from its name alone has at least one result.
        for name in crate::ops::OP_NAMES {
            if let Ok(op) = Op::from_name_attrs(name, serde_json::Map::new()) {
                let s = op.signature();
                assert!(s.accepts_results(1) || s.accepts_results(3), "{name}");
            }
        }
    }
}
