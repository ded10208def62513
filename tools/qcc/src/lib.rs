//! `qcc`: the driver of the qcc quantizing compiler, as a library (the `qcc` binary is a thin
//! command line over it).
//!
//! * [`data`]: `.npz`/`.npy` files in the layout of DESIGN §8;
//! * [`model`]: loading `.qir`/`.onnx` models and binding data files to their inputs;
//! * [`calib_inputs`]: calibration samples from `.npz`, `.npy` folders or image folders;
//! * [`compare`]: checking outputs against references;
//! * [`engine`]: the native backends (Cranelift, LLVM) behind one interface;
//! * [`explain`]: the per-node explanation and warnings of `qcc explain`;
//! * [`metrics`]: fidelity statistics (SQNR, cosine, top-1);
//! * [`quantize`]: the quantization pipeline; [`sensitivity`]: per-layer sensitivity and
//!   automatic mixed precision;
//! * [`report`]: the HTML report of `qcc eval --report`;
//! * [`limits`]/[`set_limits`]: the resource limits every reader applies (`qcc_ir::Limits`);
//! * [`fuzzing`]: the bodies of the fuzz targets (`tests/fuzz/`).

pub mod calib_inputs;
pub mod compare;
pub mod data;
pub mod engine;
pub mod explain;
pub mod fuzzing;
pub mod metrics;
pub mod model;
pub mod quantize;
pub mod report;
pub mod sensitivity;

use qcc_ir::{Graph, Limits, Tensor};
use rayon::prelude::*;
use std::sync::OnceLock;

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Sets the process-wide resource [`Limits`] used by [`model::load_model`],
/// [`data::read_npz`] and the command line (once; later calls are ignored and return false).
pub fn set_limits(l: Limits) -> bool {
    LIMITS.set(l).is_ok()
}

/// The process-wide resource limits: those given to [`set_limits`], else the defaults with the
/// `QCC_MAX_*` environment overrides (an unparsable variable is ignored here; the command line
/// reports it).
pub fn limits() -> Limits {
    *LIMITS.get_or_init(|| Limits::from_env().unwrap_or_default())
}

/// Runs every sample on the reference interpreter with up to `threads` samples in parallel;
/// returns one output list per sample.
pub fn run_interp(
    g: &Graph,
    samples: &[Vec<Tensor>],
    threads: usize,
) -> Result<Vec<Vec<Tensor>>, qcc_ir::interp::InterpError> {
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build().expect("thread pool");
    pool.install(|| samples.par_iter().map(|inputs| qcc_ir::interp::run(g, inputs)).collect())
}
