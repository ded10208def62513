//! `qcc-backend-cranelift`: native code for qcc graphs through Cranelift.
//!
//! * [`isa`]: host detection and explicit ISA flags; the int8 dot-product path they allow;
//! * [`jit`]: one JIT module per compiled model;
//! * [`gemm`]: the int8 GEMM kernel generator (VNNI fold / exact `pmaddwd`, fused requantization);
//! * [`kernels`]: the other per-op kernels (f32 GEMM, elementwise, quantize/dequantize);
//! * [`model`]: [`compile`] a graph into a [`CompiledModel`] and run it;
//! * [`aot`]: the same kernels as an x86-64 or AArch64 object with a C header.

pub mod aot;
pub mod error;
pub mod gemm;
pub mod isa;
pub mod jit;
pub mod kernels;
pub mod model;

pub use error::BackendError;
pub use isa::{DotPath, IsaOptions};
pub use model::{compile, CompileOptions, CompiledModel, MIN_SPLIT_BYTES};
