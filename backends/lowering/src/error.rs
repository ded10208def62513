//! Lowering errors.

use thiserror::Error;

/// Why a graph could not be lowered.
#[derive(Debug, Error)]
pub enum LowerError {
    /// An op the lowering does not handle.
    #[error("unsupported op `{op}` at node `{node}`: {reason}")]
    Unsupported {
        /// Op name.
        op: String,
        /// Node name.
        node: String,
        /// Why.
        reason: String,
    },
    /// A value whose shape or type is not fully known.
    #[error("node `{node}`: {msg}")]
    Type {
        /// Node name.
        node: String,
        /// What is wrong.
        msg: String,
    },
    /// A graph inconsistency.
    #[error("graph: {0}")]
    Graph(String),
    /// A resource limit was exceeded (the memory plan's arena size).
    #[error(transparent)]
    Limit(#[from] qcc_ir::LimitError),
}
