//! `qcc-backend-llvm`: native code for qcc graphs through LLVM 14 (inkwell), consuming the same
//! Lowered plan as the Cranelift backend (`qcc-lowering`): only instruction selection and code
//! generation differ.
//!
//! * [`aot`]: objects for x86-64, AArch64 and wasm32 with the weights embedded and a C API;
//! * [`target`]: host CPU and features (on every function), target machines;
//! * [`shim`]: the LLVM-version-dependent calls (typed pointers in LLVM 14);
//! * [`emit`]: a thin kernel-writing layer (loops, loads, exact quantization arithmetic);
//! * [`kernels`]: one generator per kernel of the plan;
//! * [`model`]: [`compile`] a graph into a [`CompiledModel`] (one module, verified, O3, MCJIT)
//!   and run it, with rows split across threads like the Cranelift backend;
//! * [`ptx`]: the same kernels as PTX for NVIDIA GPUs, a launch description, a CUDA runner.
//!
//! LLVM aborts the process on some invalid IR: every module is verified before optimization
//! and code generation, and a verifier failure is a [`BackendError::Codegen`].

// Module docs link to the crate-private kernel generators they describe (read them with
// `cargo doc --document-private-items`).
#![allow(rustdoc::private_intra_doc_links)]

pub mod aot;
pub mod emit;
pub mod error;
pub mod kernels;
pub mod model;
pub mod ptx;
pub mod shim;
pub mod target;

pub use error::BackendError;
pub use model::{compile, CompileOptions, CompiledModel, MIN_SPLIT_BYTES};
pub use target::TargetSpec;
