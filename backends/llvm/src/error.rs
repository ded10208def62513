//! The backend's error type.

use thiserror::Error;

/// Everything that can go wrong compiling or running a model with the LLVM backend.
#[derive(Debug, Error)]
pub enum BackendError {
    /// LLVM could not be set up for the target (unknown triple, no JIT).
    #[error("LLVM target: {0}")]
    Target(String),
    /// The generated module failed LLVM's verifier or code generation (a bug in the generator,
    /// reported instead of letting LLVM abort the process).
    #[error("LLVM code generation of `{func}`: {msg}")]
    Codegen {
        /// The function or module being compiled.
        func: String,
        /// LLVM's message.
        msg: String,
    },
    /// An op the backend cannot compile.
    #[error("unsupported op `{op}` at node `{node}`: {reason}")]
    Unsupported {
        /// The op name.
        op: String,
        /// The node name.
        node: String,
        /// Why.
        reason: String,
    },
    /// A kernel specification that cannot be generated (bad shapes or parameters).
    #[error("invalid kernel specification: {0}")]
    InvalidSpec(String),
    /// Run-time inputs that do not match the compiled model.
    #[error("bad input: {0}")]
    BadInput(String),
    /// The CUDA driver is missing or failed (running PTX).
    #[error("CUDA: {0}")]
    Cuda(String),
    /// Lowering failed.
    #[error(transparent)]
    Lowering(#[from] qcc_lowering::LowerError),
}

impl BackendError {
    pub(crate) fn codegen(func: &str, e: impl std::fmt::Display) -> BackendError {
        BackendError::Codegen { func: func.to_string(), msg: e.to_string() }
    }
}

impl From<inkwell::builder::BuilderError> for BackendError {
    fn from(e: inkwell::builder::BuilderError) -> Self {
        BackendError::codegen("builder", e)
    }
}
