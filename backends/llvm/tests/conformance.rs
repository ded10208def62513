//! The shared backend conformance suite (`qcc-backend-conformance`) instantiated for the LLVM
//! host JIT: every case against the reference interpreter, bit-exact for integer kernels,
//! within the stated tolerances for float kernels, with one and two threads. (LLVM tests live
//! in their own test binaries: LLVM aborts the process on some invalid IR.)

use qcc_backend_llvm::{compile, CompileOptions, CompiledModel};
use qcc_ir::{Graph, Tensor};

/// The LLVM JIT for the host.
struct Llvm;

impl qcc_backend_conformance::Backend for Llvm {
    type Compiled = CompiledModel;

    fn compile(g: &Graph, threads: usize) -> Result<CompiledModel, String> {
        // Split every splittable step so that small cases exercise the threaded path.
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

qcc_backend_conformance::suite!(Llvm);
