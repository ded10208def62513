//! `qcc-onnx`: the ONNX frontend of qcc.
//!
//! * [`import_file`] / [`import_bytes`]: ONNX → [`qcc_ir::Graph`] (phase `Imported`), one
//!   importer per op family (`ops/`), older opset forms rewritten into the IR's single form,
//!   pre-quantized models (QDQ and QOperator, including ONNX Runtime's `com.microsoft` ops);
//! * [`export_model`]: [`qcc_ir::Graph`] → ONNX (fp32, ONNX-form quantized ops, and typed-form
//!   quantized values as QDQ);
//! * [`tensor_from_proto`] / [`tensor_to_proto`]: `TensorProto` ↔ [`qcc_ir::Tensor`];
//! * [`conformance`]: runs the ONNX backend node tests on the reference interpreter.
#![deny(missing_docs)]

pub mod conformance;
mod error;
mod export;
mod external;
mod import;
pub mod ops;
mod post;
pub mod proto;
mod tensor;

pub use error::{OnnxError, UnsupportedOp};
pub use export::export_model;
pub use external::ExternalLimits;
pub use import::{decode_model, import_bytes, import_file, unsupported_ops, ImportOptions};
pub use tensor::{
    dtype_from_onnx, dtype_to_onnx, tensor_from_bytes, tensor_from_proto, tensor_to_proto,
};
