//! The PTX launch scheme emulated on the host, for machines without a GPU: the same module
//! ([`crate::model::build_module`], with `split` meaning only "rows independent" as for PTX)
//! JIT-compiled for this CPU, each step called exactly as its [`super::LaunchStep`] says
//! (row-parallel steps one row `[r, r+1)` per call, last row first, as unordered GPU threads
//! may; the others once over all rows). It checks what the GPU depends on besides code
//! generation: that every kernel computes any single row on its own and that rows do not
//! depend on each other's order.

use super::Launch;
use crate::emit::{AlignedBytes, Cg, ConstRef};
use crate::model::build_module;
use crate::target::TargetSpec;
use crate::BackendError;
use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::OptimizationLevel;
use qcc_ir::{Graph, Tensor};

type StepFn = unsafe extern "C" fn(*mut u8, i64, i64);

/// Runs `g` on the host the way [`super::cuda::run`] runs its PTX on the GPU (see the module
/// docs); `launch` is the description [`super::compile_ptx`] gave for `g`.
pub fn run_on_host(
    g: &Graph,
    launch: &Launch,
    inputs: &[Tensor],
) -> Result<Vec<Tensor>, BackendError> {
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let l = qcc_lowering::lower(&typed)?;
    if l.steps.len() != launch.steps.len() {
        return Err(BackendError::BadInput("launch description of another graph".into()));
    }
    let target = TargetSpec::host();
    let machine = target.machine()?;
    let ctx = Context::create();
    let mut cg = Cg::new(&ctx, "qcc_ptx_emulation", target);
    let status = AlignedBytes::zeroed(4);
    let (names, _) = build_module(&mut cg, &l, ConstRef::Addr(status.as_ptr() as usize), 0)?;
    cg.module.verify().map_err(|e| BackendError::codegen("emulation (verifier)", e.to_string()))?;
    cg.module
        .run_passes("default<O3>", &machine, PassBuilderOptions::create())
        .map_err(|e| BackendError::codegen("emulation (optimizer)", e.to_string()))?;
    let engine = cg
        .module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(|e| BackendError::Target(e.to_string()))?;
    let mut arena = AlignedBytes::zeroed(l.arena_size);
    l.write_inputs(arena.as_mut_slice(), inputs).map_err(BackendError::BadInput)?;
    let base = arena.as_mut_slice().as_mut_ptr();
    for (name, st) in names.iter().zip(&launch.steps) {
        let addr = engine
            .get_function_address(name)
            .map_err(|e| BackendError::codegen(name, format!("{e:?}")))?;
        // SAFETY: every step wrapper has the signature `void(i8*, i64, i64)`.
        let f = unsafe { std::mem::transmute::<usize, StepFn>(addr) };
        if st.per_row {
            for r in (0..st.rows as i64).rev() {
                // SAFETY: the step was generated for this arena; row r < rows.
                unsafe { f(base, r, r + 1) };
            }
        } else {
            // SAFETY: as above, all rows.
            unsafe { f(base, 0, st.rows as i64) };
        }
    }
    if status.as_slice() != [0; 4] {
        return Err(BackendError::BadInput("a step met an out-of-range index".into()));
    }
    let outs = l.read_outputs(arena.as_slice()).map_err(BackendError::BadInput)?;
    drop(engine);
    Ok(outs)
}
