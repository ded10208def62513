//! `qcc-ir`: the graph IR of the qcc quantizing compiler.
//!
//! * [`DType`], [`Shape`], [`TensorType`] with quantization parameters in the type ([`Quant`]);
//! * [`Op`]: the closed op set with attribute structs ([`ops`]);
//! * [`Graph`]: SSA values on a `petgraph::StableDiGraph`, with a rewrite API and a [`Phase`];
//! * the text format ([`print`], [`parse`]) with weights in a safetensors file ([`weights`]);
//! * the [`verify`]er, type inference ([`infer`]) and the reference interpreter ([`interp`]),
//!   whose integer arithmetic ([`qmath`]) is the oracle every backend must match bit for bit.
#![deny(missing_docs)]

pub mod dtype;
pub mod fold;
pub mod graph;
pub mod infer;
pub mod interp;
pub mod limits;
pub mod minifloat;
pub mod ops;
pub mod parse;
pub mod phase;
pub mod print;
pub mod qmath;
pub mod signature;
pub mod tensor;
pub mod types;
pub mod verify;
pub mod weights;

pub use dtype::DType;
pub use graph::{Edge, Graph, GraphError, Node, NodeId, Value};
pub use limits::{LimitError, Limits};
pub use ops::{ConstId, Op};
pub use phase::Phase;
pub use tensor::{Data, Tensor, TensorError};
pub use types::{Dim, Quant, Shape, TensorType};
