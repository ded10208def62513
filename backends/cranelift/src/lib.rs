//! `qcc-backend-cranelift`: native code for qcc graphs through Cranelift.
//!
//! * [`isa`]: host detection and explicit ISA flags; the int8 dot-product path they allow;
//! * [`jit`]: one JIT module per compiled model;
//! * [`gemm`]: the int8 GEMM kernel generator (VNNI fold / exact `pmaddwd`, fused requantization).

pub mod error;
pub mod gemm;
pub mod isa;
pub mod jit;

pub use error::BackendError;
pub use isa::{DotPath, IsaOptions};
