//! Model compilation: lower the graph ([`qcc_lowering`], the plan shared with the Cranelift
//! backend), generate one LLVM function per step specialized for its exact shapes, plus a
//! `model` function calling them in order on the arena, all in one module; verify it, optimize
//! it at O3 for the host CPU, and JIT it with MCJIT. [`CompiledModel::run`] checks the inputs,
//! copies them into the arena and runs either the model function (one thread) or the steps with
//! their rows split across threads (the Cranelift backend's scheme).

use crate::emit::{AlignedBytes, Cg, ConstRef, R};
use crate::kernels;
use crate::target::TargetSpec;
use crate::BackendError;
use inkwell::attributes::AttributeLoc;
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::module::Linkage;
use inkwell::passes::PassBuilderOptions;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, PointerValue};
use inkwell::OptimizationLevel;
use qcc_ir::{Graph, Tensor};
use qcc_lowering::{LoweredModel, Storage};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Compilation options.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Threads for `run` (0 or 1: one thread, through the generated model function).
    pub threads: usize,
    /// Resource limits (the planned arena must fit `limits.max_arena_bytes`).
    pub limits: qcc_ir::Limits,
    /// With `threads > 1`, steps touching fewer bytes than this run on one thread (None:
    /// [`MIN_SPLIT_BYTES`]; tests pass `Some(0)` to split every splittable step).
    pub min_split_bytes: Option<usize>,
    /// Target (None: the host).
    pub target: Option<TargetSpec>,
}

/// Steps touching fewer bytes run on one thread even with `threads > 1` (as in the Cranelift
/// backend: handing rows to another thread costs microseconds).
pub const MIN_SPLIT_BYTES: usize = 32 * 1024;

type StepFn = unsafe extern "C" fn(*mut u8, i64, i64);

/// What a kernel generator reports about its step.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// Rows: the kernel computes `[r0, r1)` of `0..rows` (1 for kernels that do not split).
    pub rows: usize,
    /// Rows may run on different threads.
    pub split: bool,
}

/// The LLVM objects of a compiled model. Field order is drop order: the engine (which owns
/// the module and the code) goes before the context it was created in.
struct Jit {
    _engine: ExecutionEngine<'static>,
    _ctx: Box<Context>,
}

/// A compiled model, ready to run.
pub struct CompiledModel {
    lowered: LoweredModel,
    steps: Vec<(StepFn, StepInfo)>,
    model_fn: unsafe extern "C" fn(*mut u8),
    arena: Mutex<AlignedBytes>,
    threads: usize,
    compile_time: Duration,
    status: Box<AtomicU32>,
    ir: String,
    _consts: Vec<AlignedBytes>,
    _jit: Jit,
}

// SAFETY: after `compile` the LLVM context, module and engine are never touched again (only
// dropped); the JIT code and the constant data are immutable; the arena is behind a mutex.
unsafe impl Send for CompiledModel {}
// SAFETY: as above.
unsafe impl Sync for CompiledModel {}

/// Compiles `g` for the host (shapes are inferred first; every shape must become known).
pub fn compile(g: &Graph, opts: &CompileOptions) -> Result<CompiledModel, BackendError> {
    let start = Instant::now();
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let lowered = qcc_lowering::lower_with_limits(&typed, &opts.limits)?;
    let target = opts.target.clone().unwrap_or_else(TargetSpec::host);
    let machine = target.machine()?;
    let status = Box::new(AtomicU32::new(0));
    let ctx = Box::new(Context::create());
    // SAFETY: the context is boxed (its address is stable) and outlives the engine: both live
    // in `Jit`, whose fields drop the engine first.
    let ctx_ref: &'static Context = unsafe { &*(ctx.as_ref() as *const Context) };
    let mut cg = Cg::new(ctx_ref, "qcc_model", target);
    let min_split = opts.min_split_bytes.unwrap_or(MIN_SPLIT_BYTES);
    let status_ref = ConstRef::Addr(status.as_ptr() as usize);
    let (wrappers, infos) = build_module(&mut cg, &lowered, status_ref, min_split)?;
    cg.module.verify().map_err(|e| BackendError::codegen("module (verifier)", e.to_string()))?;
    let t_opt = Instant::now();
    // `QCC_LLVM_PASSES` replaces the pipeline (opt's `-passes` syntax) for experiments.
    let passes = std::env::var("QCC_LLVM_PASSES").unwrap_or_else(|_| "default<O3>".into());
    cg.module
        .run_passes(&passes, &machine, PassBuilderOptions::create())
        .map_err(|e| BackendError::codegen("module (optimizer)", e.to_string()))?;
    let opt_ms = t_opt.elapsed().as_secs_f64() * 1e3;
    let ir = if std::env::var_os("QCC_DUMP_LLVM").is_some() {
        cg.module.print_to_string().to_string()
    } else {
        String::new()
    };
    let engine = cg
        .module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(|e| BackendError::Target(e.to_string()))?;
    let addr = |name: &str| {
        engine.get_function_address(name).map_err(|e| BackendError::codegen(name, format!("{e:?}")))
    };
    let mut steps = Vec::new();
    for (name, info) in wrappers.iter().zip(infos) {
        // SAFETY: every step wrapper has the signature `void(i8*, i64, i64)`.
        steps.push((unsafe { std::mem::transmute::<usize, StepFn>(addr(name)?) }, info));
    }
    // SAFETY: `model` has the signature `void(i8*)`.
    let model_fn =
        unsafe { std::mem::transmute::<usize, unsafe extern "C" fn(*mut u8)>(addr("model")?) };
    tracing::info!(
        steps = lowered.steps.len(),
        arena_bytes = lowered.arena_size,
        cpu = %cg.target.cpu,
        opt_ms,
        millis = start.elapsed().as_secs_f64() * 1e3,
        "compiled model (LLVM JIT)"
    );
    let consts = std::mem::take(&mut cg.consts);
    drop(cg.b);
    let arena = Mutex::new(AlignedBytes::zeroed(lowered.arena_size));
    Ok(CompiledModel {
        lowered,
        steps,
        model_fn,
        arena,
        threads: opts.threads.max(1),
        compile_time: start.elapsed(),
        status,
        ir,
        _consts: consts,
        _jit: Jit { _engine: engine, _ctx: ctx },
    })
}

/// Generates every step's kernel, an external wrapper `step{i}(i8* arena, i64 r0, i64 r1)` per
/// step, and `model(i8* arena)`; returns the wrapper names and step infos.
pub(crate) fn build_module<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    status: ConstRef<'ctx>,
    min_split: usize,
) -> R<(Vec<String>, Vec<StepInfo>)> {
    // Constant buffers of the plan (weights that stay separate operands, tables, shapes).
    let consts: Vec<Option<ConstRef<'ctx>>> = l
        .buffers
        .iter()
        .map(|b| match &b.storage {
            Storage::Const(t) => Some(cg.constant(&t.to_le_bytes())),
            Storage::Arena { .. } => None,
        })
        .collect();
    let mut names = Vec::new();
    let mut infos = Vec::new();
    let mut impls: Vec<FunctionValue<'ctx>> = Vec::new();
    for (i, st) in l.steps.iter().enumerate() {
        let name = format!("k{i}_{}", st.kernel.name());
        let (f, mut info) = kernels::build(cg, l, i, &name, status)?;
        let touched: usize =
            st.inputs.iter().chain([&st.output]).map(|&b| l.buffers[b].bytes()).sum();
        info.split &= touched >= min_split && info.rows > 1;
        impls.push(f);
        infos.push(info);
    }
    let ctx = cg.ctx;
    let i64t = ctx.i64_type();
    let wty = ctx.void_type().fn_type(&[cg.i8p().into(), i64t.into(), i64t.into()], false);
    let mut wrappers = Vec::new();
    for (i, st) in l.steps.iter().enumerate() {
        let name = format!("step{i}");
        let w = cg.module.add_function(&name, wty, Some(Linkage::External));
        cg.add_target_attrs(w);
        w.add_attribute(AttributeLoc::Function, cg.enum_attr("noinline"));
        let bb = ctx.append_basic_block(w, "entry");
        cg.b.position_at_end(bb);
        let arena = w.get_nth_param(0).unwrap().into_pointer_value();
        let mut args: Vec<BasicMetadataValueEnum<'ctx>> = Vec::new();
        for &b in st.inputs.iter().chain([&st.output]) {
            let p: PointerValue<'ctx> = match (l.offset(b), consts[b]) {
                (Some(off), _) => {
                    // SAFETY (of the LLVM call): the plan's offsets lie inside the arena.
                    unsafe {
                        cg.b.build_in_bounds_gep(arena, &[i64t.const_int(off as u64, false)], "a")?
                    }
                }
                (None, Some(c)) => cg.const_i8p(c)?,
                (None, None) => {
                    return Err(BackendError::InvalidSpec(format!("buffer {b} has no storage")))
                }
            };
            args.push(p.into());
        }
        args.push(w.get_nth_param(1).unwrap().into());
        args.push(w.get_nth_param(2).unwrap().into());
        cg.b.build_call(impls[i], &args, "")?;
        cg.b.build_return(None)?;
        wrappers.push(w);
        names.push(name);
    }
    let mty = ctx.void_type().fn_type(&[cg.i8p().into()], false);
    let m = cg.module.add_function("model", mty, Some(Linkage::External));
    cg.add_target_attrs(m);
    let bb = ctx.append_basic_block(m, "entry");
    cg.b.position_at_end(bb);
    let arena = m.get_nth_param(0).unwrap();
    for (w, info) in wrappers.iter().zip(&infos) {
        let args: [BasicMetadataValueEnum<'ctx>; 3] = [
            arena.into(),
            i64t.const_int(0, false).into(),
            i64t.const_int(info.rows as u64, false).into(),
        ];
        cg.b.build_call(*w, &args, "")?;
    }
    cg.b.build_return(None)?;
    Ok((names, infos))
}

impl CompiledModel {
    /// The lowered model (plan, steps).
    pub fn lowered(&self) -> &LoweredModel {
        &self.lowered
    }

    /// Wall time of `compile` (lowering, code generation, optimization, JIT).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The optimized LLVM IR (only kept when `QCC_DUMP_LLVM` is set at compile time).
    pub fn llvm_ir(&self) -> &str {
        &self.ir
    }

    /// Runs the model on `inputs` (graph input order); outputs in graph output order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, BackendError> {
        let l = &self.lowered;
        let mut arena = self
            .arena
            .lock()
            .map_err(|_| BackendError::BadInput("arena poisoned by a panic".into()))?;
        l.write_inputs(arena.as_mut_slice(), inputs).map_err(BackendError::BadInput)?;
        let base = arena.as_mut_slice().as_mut_ptr();
        self.status.store(0, Ordering::SeqCst);
        if self.threads <= 1 {
            // SAFETY: the generated code only touches the arena within the plan's offsets
            // (checked at lowering: each buffer fits the arena) and the constant data.
            unsafe { (self.model_fn)(base) };
        } else {
            self.each_step(base, &mut |_, _| {});
        }
        let bad = self.status.swap(0, Ordering::SeqCst);
        if bad != 0 {
            let st = &l.steps[(bad as usize - 1).min(l.steps.len() - 1)];
            return Err(BackendError::BadInput(format!(
                "step {} (`{}`, {}): an index is out of range (its output slice was zero-filled)",
                bad - 1,
                st.node,
                st.ops
            )));
        }
        l.read_outputs(arena.as_slice()).map_err(BackendError::BadInput)
    }

    /// Per-step time of `runs` runs on `inputs` (median per step, milliseconds):
    /// `(node, fused ops, kernel, ms)` in plan order.
    pub fn profile(
        &self,
        inputs: &[Tensor],
        runs: usize,
    ) -> Result<Vec<(String, String, &'static str, f64)>, BackendError> {
        let l = &self.lowered;
        let mut arena = self
            .arena
            .lock()
            .map_err(|_| BackendError::BadInput("arena poisoned by a panic".into()))?;
        let mut per: Vec<Vec<f64>> = vec![Vec::new(); l.steps.len()];
        for _ in 0..runs.max(1) {
            // Inputs before every run: later steps reuse the inputs' arena slots, and kernels
            // fed leftover bytes (denormals, NaNs) time differently from real runs.
            l.write_inputs(arena.as_mut_slice(), inputs).map_err(BackendError::BadInput)?;
            let base = arena.as_mut_slice().as_mut_ptr();
            self.each_step(base, &mut |i, dt| per[i].push(dt.as_secs_f64() * 1e3));
        }
        self.status.store(0, Ordering::SeqCst);
        Ok(l.steps
            .iter()
            .zip(per)
            .map(|(st, mut ts)| {
                ts.sort_by(f64::total_cmp);
                (st.node.clone(), st.ops.clone(), st.kernel.name(), ts[ts.len() / 2])
            })
            .collect())
    }

    /// Time of `iters` calls of step `step` alone (one thread, all rows) on the arena as the
    /// last [`CompiledModel::run`] left it: kernel benchmarks without the input/output copies.
    pub fn time_step(&self, step: usize, iters: u64) -> Result<Duration, BackendError> {
        let &(f, info) = self
            .steps
            .get(step)
            .ok_or_else(|| BackendError::BadInput(format!("no step {step}")))?;
        let mut arena = self
            .arena
            .lock()
            .map_err(|_| BackendError::BadInput("arena poisoned by a panic".into()))?;
        let base = arena.as_mut_slice().as_mut_ptr();
        let t0 = Instant::now();
        for _ in 0..iters {
            // SAFETY: the step was generated for this arena and its full row range.
            unsafe { f(base, 0, info.rows as i64) };
        }
        Ok(t0.elapsed())
    }

    /// Runs the steps one by one (rows split across threads), reporting each step's time.
    fn each_step(&self, base: *mut u8, on_step: &mut dyn FnMut(usize, Duration)) {
        #[derive(Clone, Copy)]
        struct P(*mut u8);
        // SAFETY: threads compute disjoint row ranges of one step's output.
        unsafe impl Send for P {}
        unsafe impl Sync for P {}
        let p = P(base);
        for (i, &(f, info)) in self.steps.iter().enumerate() {
            let t0 = Instant::now();
            let call = move |r0: usize, r1: usize| {
                let p = p;
                // SAFETY: the step was generated for this arena; rows r0..r1 ⊆ 0..rows.
                unsafe { f(p.0, r0 as i64, r1 as i64) }
            };
            if info.split && self.threads > 1 && info.rows >= 2 * self.threads {
                let chunk = info.rows.div_ceil(self.threads);
                rayon::scope(|s| {
                    for t in 0..self.threads {
                        let (r0, r1) = (t * chunk, ((t + 1) * chunk).min(info.rows));
                        if r0 < r1 {
                            s.spawn(move |_| call(r0, r1));
                        }
                    }
                });
            } else {
                call(0, info.rows);
            }
            on_step(i, t0.elapsed());
        }
    }
}
