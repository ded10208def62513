//! Running PTX through the CUDA driver API (`cudarc`, which loads `libcuda.so` at run time: the
//! crate builds, links and runs without CUDA; only [`run`] needs a driver and a GPU, and
//! without a driver it returns [`BackendError::Cuda`] naming the libraries it looked for).

use super::{Launch, LaunchBuffer};
use crate::BackendError;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use qcc_ir::{DType, Tensor};
use std::sync::Arc;

fn cuda(what: &str) -> impl Fn(cudarc::driver::DriverError) -> BackendError + '_ {
    move |e| BackendError::Cuda(format!("{what}: {e}"))
}

/// Whether a CUDA driver library (`libcuda.so`) can be loaded.
pub fn driver_present() -> bool {
    // SAFETY: loading libcuda runs its initializers, which have no preconditions.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

fn check_input(b: &LaunchBuffer, t: &Tensor) -> Result<(), BackendError> {
    let dtype: DType = b
        .dtype
        .parse()
        .map_err(|e| BackendError::BadInput(format!("launch description `{}`: {e}", b.name)))?;
    if t.dtype != dtype || t.shape != b.shape {
        return Err(BackendError::BadInput(format!(
            "input `{}`: got {}{:?}, expected {}{:?}",
            b.name, t.dtype, t.shape, dtype, b.shape
        )));
    }
    Ok(())
}

/// Runs `ptx` on GPU 0 as `launch` describes, on `inputs` (graph input order); outputs in graph
/// output order. Inputs are checked first; then a missing driver is a [`BackendError::Cuda`]
/// `libcuda.so not found: …`. Loads the module each call: use [`CudaModel`] to run it again.
pub fn run(ptx: &str, launch: &Launch, inputs: &[Tensor]) -> Result<Vec<Tensor>, BackendError> {
    check_inputs(launch, inputs)?;
    CudaModel::load(ptx, launch)?.run(inputs)
}

fn check_inputs(launch: &Launch, inputs: &[Tensor]) -> Result<(), BackendError> {
    if inputs.len() != launch.inputs.len() {
        return Err(BackendError::BadInput(format!(
            "{} inputs given, the model takes {}",
            inputs.len(),
            launch.inputs.len()
        )));
    }
    for (b, t) in launch.inputs.iter().zip(inputs) {
        check_input(b, t)?;
    }
    Ok(())
}

/// A PTX module loaded on GPU 0 with its arena, ready to run any number of times.
pub struct CudaModel {
    launch: Launch,
    stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    funcs: Vec<CudaFunction>,
    arena: CudaSlice<u8>,
}

impl CudaModel {
    /// Loads `ptx` (the driver JIT-compiles it for the GPU) and allocates the arena.
    pub fn load(ptx: &str, launch: &Launch) -> Result<CudaModel, BackendError> {
        for b in launch.inputs.iter().chain(&launch.outputs) {
            if b.offset.checked_add(b.bytes).is_none_or(|end| end > launch.arena_bytes) {
                return Err(BackendError::BadInput(format!("`{}` lies outside the arena", b.name)));
            }
        }
        if !driver_present() {
            let mut names = cudarc::get_lib_name_candidates("cuda");
            let mut seen = std::collections::HashSet::new();
            names.retain(|n| seen.insert(n.clone()));
            return Err(BackendError::Cuda(format!(
                "libcuda.so not found: searched {} (install the NVIDIA driver or add its \
                 directory to LD_LIBRARY_PATH)",
                names.join(", ")
            )));
        }
        let ctx = CudaContext::new(0).map_err(cuda("context on GPU 0"))?;
        let module = ctx.load_module(Ptx::from_src(ptx)).map_err(cuda("loading the PTX"))?;
        let funcs = launch
            .steps
            .iter()
            .map(|st| module.load_function(&st.entry).map_err(cuda(&st.entry)))
            .collect::<Result<Vec<_>, _>>()?;
        let stream = ctx.default_stream();
        let arena = stream
            .alloc_zeros::<u8>(launch.arena_bytes.max(1))
            .map_err(cuda("arena allocation"))?;
        Ok(CudaModel { launch: launch.clone(), stream, module, funcs, arena })
    }

    /// Runs the model on `inputs` (graph input order); outputs in graph output order.
    pub fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, BackendError> {
        let (launch, stream) = (&self.launch, &self.stream);
        check_inputs(launch, inputs)?;
        {
            let mut status =
                self.module.get_global(&launch.status_global, stream).map_err(cuda("status"))?;
            stream.memset_zeros(&mut status).map_err(cuda("status"))?;
        }
        for (b, t) in launch.inputs.iter().zip(inputs) {
            let bytes = t.to_le_bytes();
            let mut dst = self.arena.slice_mut(b.offset..b.offset + bytes.len());
            stream.memcpy_htod(&bytes, &mut dst).map_err(cuda("input copy"))?;
        }
        for (st, f) in launch.steps.iter().zip(&self.funcs) {
            let cfg = LaunchConfig {
                grid_dim: (st.grid[0], st.grid[1], st.grid[2]),
                block_dim: (st.block[0], st.block[1], st.block[2]),
                shared_mem_bytes: 0,
            };
            let mut args = stream.launch_builder(f);
            args.arg(&mut self.arena);
            // SAFETY: the entry takes one `i8*` (the arena, of the size the kernels were
            // generated for) and touches it only within the plan's offsets.
            unsafe { args.launch(cfg) }.map_err(cuda(&st.entry))?;
        }
        stream.synchronize().map_err(cuda("running the steps"))?;
        let status =
            self.module.get_global(&launch.status_global, stream).map_err(cuda("status"))?;
        let status = stream.clone_dtoh(&status).map_err(cuda("status word"))?;
        let word = status.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()).unwrap_or([0; 4]);
        let bad = u32::from_le_bytes(word);
        if bad != 0 {
            let st = launch.steps.get(bad as usize - 1);
            return Err(BackendError::BadInput(format!(
                "step {} (`{}`): an index is out of range (its output slice was zero-filled)",
                bad - 1,
                st.map_or("?", |s| s.node.as_str())
            )));
        }
        let mut outs = Vec::new();
        for b in &launch.outputs {
            let bytes = stream
                .clone_dtoh(&self.arena.slice(b.offset..b.offset + b.bytes))
                .map_err(cuda("output copy"))?;
            let dtype =
                b.dtype.parse::<DType>().map_err(|e| BackendError::BadInput(e.to_string()))?;
            outs.push(
                Tensor::from_le_bytes(dtype, b.shape.clone(), &bytes)
                    .map_err(|e| BackendError::BadInput(e.to_string()))?,
            );
        }
        Ok(outs)
    }
}
