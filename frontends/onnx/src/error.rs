//! Typed errors of the ONNX frontend. Every error names what it concerns: the file, the tensor,
//! the node (name and op type) and, for unsupported input, every unsupported op at once.

use std::fmt;
use std::path::PathBuf;

/// One unsupported op type found in a model, with every node that uses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnsupportedOp {
    /// ONNX op type (`NonMaxSuppression`).
    pub op_type: String,
    /// Domain (`""` is the default ONNX domain).
    pub domain: String,
    /// The opset version the model imports for that domain.
    pub opset: i64,
    /// Names of the nodes (or their first output when unnamed).
    pub nodes: Vec<String>,
}

impl fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dom = if self.domain.is_empty() { "ai.onnx" } else { &self.domain };
        write!(f, "{} ({dom} opset {}) in node", self.op_type, self.opset)?;
        if self.nodes.len() > 1 {
            f.write_str("s")?;
        }
        let shown: Vec<&str> = self.nodes.iter().take(8).map(|s| s.as_str()).collect();
        write!(f, " {}", shown.join(", "))?;
        if self.nodes.len() > 8 {
            write!(f, " and {} more", self.nodes.len() - 8)?;
        }
        Ok(())
    }
}

fn list_unsupported(ops: &[UnsupportedOp]) -> String {
    ops.iter().map(|o| format!("\n  - {o}")).collect()
}

/// Errors from loading, importing or exporting ONNX models.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not a valid protobuf message of the expected kind.
    #[error("malformed ONNX protobuf ({what}): {source}")]
    Decode {
        /// What was being decoded (`ModelProto`, `TensorProto`).
        what: &'static str,
        /// The cause.
        source: prost::DecodeError,
    },
    /// The model has no graph.
    #[error("the model has no graph")]
    NoGraph,
    /// External data of a tensor could not be used.
    #[error("external data of tensor `{tensor}`: {reason}")]
    ExternalData {
        /// The tensor.
        tensor: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A tensor's contents are inconsistent (count, dims, missing data).
    #[error("tensor `{tensor}`: {reason}")]
    BadTensor {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// An element type qcc does not represent.
    #[error("`{name}`: element type {dtype} is not supported by qcc (supported: f32, f16, bf16, f8e4m3fn, f8e5m2, f4e2m1, i64, i32, i16, u16, i8, u8, i4, u4, i2, u2, bool)")]
    UnsupportedDType {
        /// Tensor or value name.
        name: String,
        /// ONNX data type name.
        dtype: String,
    },
    /// Ops that qcc does not import, all of them.
    #[error("the model uses {} unsupported op type(s):{}", .0.len(), list_unsupported(.0))]
    UnsupportedOps(Vec<UnsupportedOp>),
    /// An op is supported, but not with this attribute value or input form.
    #[error("node `{node}` ({op}): unsupported: {what}")]
    UnsupportedForm {
        /// Node name.
        node: String,
        /// ONNX op type.
        op: String,
        /// What is not supported.
        what: String,
    },
    /// A node reads a value that no node, input or initializer defines.
    #[error("node `{node}` ({op}) reads `{name}`, which no node, graph input or initializer defines (missing initializer or dangling name)")]
    UndefinedValue {
        /// Node name.
        node: String,
        /// ONNX op type.
        op: String,
        /// The undefined name.
        name: String,
    },
    /// A graph output names a value that is not defined.
    #[error("graph output `{0}` is not produced by any node, input or initializer")]
    UndefinedOutput(String),
    /// A node is malformed (missing required input, bad attribute).
    #[error("node `{node}` ({op}): {msg}")]
    BadNode {
        /// Node name.
        node: String,
        /// ONNX op type.
        op: String,
        /// What is wrong.
        msg: String,
    },
    /// A graph input or value_info has a type qcc cannot use.
    #[error("value `{name}`: {msg}")]
    BadValueInfo {
        /// Value name.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// Building the IR graph failed.
    #[error("graph construction: {0}")]
    Graph(#[from] qcc_ir::GraphError),
    /// A qcc tensor could not be built.
    #[error("tensor: {0}")]
    Tensor(#[from] qcc_ir::TensorError),
    /// A post-import step (constant folding, type inference) failed.
    #[error("{step}: {msg}")]
    PostImport {
        /// The step.
        step: &'static str,
        /// What failed.
        msg: String,
    },
    /// A name is defined more than once (the graph is not in SSA form).
    #[error("`{name}` is defined twice (as {what} and before); ONNX names must be unique")]
    Duplicate {
        /// The name.
        name: String,
        /// What defines it the second time.
        what: String,
    },
    /// A resource limit was exceeded.
    #[error(transparent)]
    Limit(#[from] qcc_ir::LimitError),
    /// A graph cannot be exported to ONNX.
    #[error("export: node `{node}` ({op}): {msg}")]
    Export {
        /// Node name.
        node: String,
        /// IR op name.
        op: String,
        /// Why.
        msg: String,
    },
}

impl OnnxError {
    /// True when the error says qcc does not support something the model uses (an op, an
    /// element type, an attribute form), as opposed to a malformed model or an internal failure.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            OnnxError::UnsupportedOps(_)
                | OnnxError::UnsupportedDType { .. }
                | OnnxError::UnsupportedForm { .. }
        )
    }
}
