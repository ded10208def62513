//! `qcc-onnx`: the ONNX frontend of qcc.
#![deny(missing_docs)]

pub mod proto;
