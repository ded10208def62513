//! Running PTX through the CUDA driver API (`cudarc`, which loads `libcuda.so` at run time: the
//! crate builds, links and runs without CUDA; only [`run`] needs a driver and a GPU, and
//! without a driver it returns [`BackendError::Cuda`] naming the libraries it looked for).

use super::{Launch, LaunchBuffer};
use crate::BackendError;
use cudarc::driver::{CudaContext, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use qcc_ir::{DType, Tensor};

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
/// `libcuda.so not found: …`.
pub fn run(ptx: &str, launch: &Launch, inputs: &[Tensor]) -> Result<Vec<Tensor>, BackendError> {
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
            "libcuda.so not found: searched {} (install the NVIDIA driver or add its directory \
             to LD_LIBRARY_PATH)",
            names.join(", ")
        )));
    }
    let ctx = CudaContext::new(0).map_err(cuda("context on GPU 0"))?;
    let module = ctx.load_module(Ptx::from_src(ptx)).map_err(cuda("loading the PTX"))?;
    let stream = ctx.default_stream();
    let mut arena =
        stream.alloc_zeros::<u8>(launch.arena_bytes.max(1)).map_err(cuda("arena allocation"))?;
    for (b, t) in launch.inputs.iter().zip(inputs) {
        let bytes = t.to_le_bytes();
        let mut dst = arena.slice_mut(b.offset..b.offset + bytes.len());
        stream.memcpy_htod(&bytes, &mut dst).map_err(cuda("input copy"))?;
    }
    for st in &launch.steps {
        let f = module.load_function(&st.entry).map_err(cuda(&st.entry))?;
        let cfg = LaunchConfig {
            grid_dim: (st.grid[0], st.grid[1], st.grid[2]),
            block_dim: (st.block[0], st.block[1], st.block[2]),
            shared_mem_bytes: 0,
        };
        let mut args = stream.launch_builder(&f);
        args.arg(&mut arena);
        // SAFETY: the entry takes one `i8*` (the arena, of the size the kernels were generated
        // for) and touches it only within the plan's offsets.
        unsafe { args.launch(cfg) }.map_err(cuda(&st.entry))?;
    }
    stream.synchronize().map_err(cuda("running the steps"))?;
    let status = module.get_global(&launch.status_global, &stream).map_err(cuda("status word"))?;
    let status = stream.clone_dtoh(&status).map_err(cuda("status word"))?;
    let bad = u32::from_le_bytes(status.get(..4).and_then(|s| s.try_into().ok()).unwrap_or([0; 4]));
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
            .clone_dtoh(&arena.slice(b.offset..b.offset + b.bytes))
            .map_err(cuda("output copy"))?;
        let dtype = b.dtype.parse::<DType>().map_err(|e| BackendError::BadInput(e.to_string()))?;
        outs.push(
            Tensor::from_le_bytes(dtype, b.shape.clone(), &bytes)
                .map_err(|e| BackendError::BadInput(e.to_string()))?,
        );
    }
    Ok(outs)
}
