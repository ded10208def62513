//! Native backends behind one interface: compile a graph with the Cranelift JIT or (with the
//! `llvm` feature, on by default) the LLVM JIT, then run or profile it. The commands `run`,
//! `eval` and `bench` go through [`compile_native`].

use anyhow::Context;
use qcc_ir::{Graph, Tensor};
use std::time::Duration;

/// A native backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// Cranelift JIT.
    Cranelift,
    /// LLVM 14 JIT (inkwell), full vector width for the host CPU.
    Llvm,
}

/// Per-step time: `(node, fused ops, kernel, median ms)` in plan order.
pub type StepTimes = Vec<(String, String, &'static str, f64)>;

/// A model compiled by a native backend.
pub trait NativeModel: Send + Sync {
    /// Runs one sample (graph input order); outputs in graph output order.
    fn run(&self, inputs: &[Tensor]) -> anyhow::Result<Vec<Tensor>>;
    /// Per-step times over `runs` runs.
    fn profile(&self, inputs: &[Tensor], runs: usize) -> anyhow::Result<StepTimes>;
    /// Wall time of the compilation.
    fn compile_time(&self) -> Duration;
}

impl NativeModel for qcc_backend_cranelift::CompiledModel {
    fn run(&self, inputs: &[Tensor]) -> anyhow::Result<Vec<Tensor>> {
        Ok(qcc_backend_cranelift::CompiledModel::run(self, inputs)?)
    }
    fn profile(&self, inputs: &[Tensor], runs: usize) -> anyhow::Result<StepTimes> {
        Ok(qcc_backend_cranelift::CompiledModel::profile(self, inputs, runs)?)
    }
    fn compile_time(&self) -> Duration {
        qcc_backend_cranelift::CompiledModel::compile_time(self)
    }
}

#[cfg(feature = "llvm")]
impl NativeModel for qcc_backend_llvm::CompiledModel {
    fn run(&self, inputs: &[Tensor]) -> anyhow::Result<Vec<Tensor>> {
        Ok(qcc_backend_llvm::CompiledModel::run(self, inputs)?)
    }
    fn profile(&self, inputs: &[Tensor], runs: usize) -> anyhow::Result<StepTimes> {
        Ok(qcc_backend_llvm::CompiledModel::profile(self, inputs, runs)?)
    }
    fn compile_time(&self) -> Duration {
        qcc_backend_llvm::CompiledModel::compile_time(self)
    }
}

/// Compiles `g` on `backend` for the host, with `threads` threads per run and the process-wide
/// [`crate::limits`].
pub fn compile_native(
    backend: Native,
    g: &Graph,
    threads: usize,
) -> anyhow::Result<Box<dyn NativeModel>> {
    match backend {
        Native::Cranelift => {
            let opts = qcc_backend_cranelift::CompileOptions {
                threads,
                limits: crate::limits(),
                ..Default::default()
            };
            Ok(Box::new(qcc_backend_cranelift::compile(g, &opts).context("Cranelift compile")?))
        }
        Native::Llvm => compile_llvm(g, threads),
    }
}

#[cfg(feature = "llvm")]
fn compile_llvm(g: &Graph, threads: usize) -> anyhow::Result<Box<dyn NativeModel>> {
    let opts =
        qcc_backend_llvm::CompileOptions { threads, limits: crate::limits(), ..Default::default() };
    Ok(Box::new(qcc_backend_llvm::compile(g, &opts).context("LLVM compile")?))
}

#[cfg(not(feature = "llvm"))]
fn compile_llvm(_: &Graph, _: usize) -> anyhow::Result<Box<dyn NativeModel>> {
    anyhow::bail!(
        "this qcc was built without the `llvm` feature; rebuild with default features \
         (LLVM 14 development libraries, e.g. Debian's llvm-14-dev)"
    )
}
