//! The shared backend conformance suite (`qcc-backend-conformance`) instantiated for the
//! Cranelift JIT: every case against the reference interpreter, bit-exact for integer kernels,
//! within the stated tolerances for float kernels, with one and two threads.

use qcc_backend_cranelift::{compile, CompileOptions, CompiledModel};
use qcc_ir::{Graph, Tensor};

/// The Cranelift JIT for the host.
struct Cranelift;

impl qcc_backend_conformance::Backend for Cranelift {
    type Compiled = CompiledModel;

    fn compile(g: &Graph, threads: usize) -> Result<CompiledModel, String> {
        // Split every splittable step (not only large ones) so that small cases exercise the
        // threaded path.
        let opts = CompileOptions { threads, min_split_bytes: Some(0), ..Default::default() };
        compile(g, &opts).map_err(|e| e.to_string())
    }

    fn run(c: &CompiledModel, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        c.run(inputs).map_err(|e| e.to_string())
    }

    fn describe(c: &CompiledModel) -> String {
        qcc_lowering::print(c.lowered())
    }
}

qcc_backend_conformance::suite!(Cranelift);
