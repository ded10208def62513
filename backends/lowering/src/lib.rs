//! `qcc-lowering`: backend-independent lowering of typed qcc graphs (shared by the Cranelift and
//! LLVM backends; depends only on `qcc-ir`).
//!
//! [`lower`] turns a graph whose shapes are all known into a [`LoweredModel`]: an ordered list
//! of kernel invocations with exact shapes, integer GEMMs with their epilogue fused
//! (QMatMul + Requantize + Relu/Clip as one kernel), views for Reshape/Flatten/Squeeze/Unsqueeze
//! (no copy), weights arranged at compile time (the backend packs them for its ISA), and a
//! memory plan (one arena, offsets from liveness by first-fit, [`plan`]). [`print()`] gives the
//! text form; [`c_api`] is the C interface of AOT objects.
#![deny(missing_docs)]

pub mod c_api;
pub mod cnn;
pub mod coeffs;
pub mod error;
pub mod fops;
pub mod lower;
pub mod model;
pub mod plan;
pub mod print;
pub mod spec;

pub use error::LowerError;
pub use fops::{ArgReduce, CmpOp, Compare, Resample, WhereSpec};
pub use lower::{lower, lower_with_limits};
pub use model::{
    BinOp, BufId, Buffer, DequantizeAxis, Kernel, LoweredModel, QGemm, QRequant, Step, Storage,
    UnaryOp,
};
pub use print::print;
pub use spec::{BatchMatMul, GatherSpec, MathOp, MmElem, ReduceOp, StridedCopy};
