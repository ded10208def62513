//! Export of a [`qcc_ir::Graph`] to an ONNX model.

use crate::error::OnnxError;
use qcc_ir::Graph;

/// Serializes a graph as an ONNX model (opset 21).
pub fn export_model(g: &Graph) -> Result<Vec<u8>, OnnxError> {
    let _ = g;
    Err(OnnxError::Export { node: String::new(), op: String::new(), msg: "not yet".into() })
}
