//! `qcc`: the driver of the qcc quantizing compiler, as a library (the `qcc` binary is a thin
//! command line over it).
//!
//! * [`data`]: `.npz`/`.npy` files in the layout of DESIGN §8;
//! * [`model`]: loading `.qir`/`.onnx` models and binding data files to their inputs;
//! * [`calib_inputs`]: calibration samples from `.npz`, `.npy` folders or image folders;
//! * [`compare`]: checking outputs against references;
//! * [`quantize`]: the quantization pipeline; [`sensitivity`]: per-layer sensitivity and
//!   automatic mixed precision.

pub mod calib_inputs;
pub mod compare;
pub mod data;
pub mod metrics;
pub mod model;
pub mod quantize;
pub mod sensitivity;

use qcc_ir::{Graph, Tensor};
use rayon::prelude::*;

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
