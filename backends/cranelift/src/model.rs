//! Model compilation: lower the graph ([`qcc_lowering`]), generate one Cranelift kernel per step
//! specialized for its exact shapes, and one `model` function that calls them in order on the
//! arena; [`CompiledModel::run`] checks the inputs, copies them into the arena (no allocation
//! per run besides the returned tensors), and runs either the model function (one thread) or the
//! steps with GEMM rows split across threads.

use crate::gemm::pack::AlignedBytes;
use crate::gemm::{AType, Epilogue, GemmData, GemmFn, GemmSpec};
use crate::isa::{DotPath, IsaOptions};
use crate::jit::JitModule;
use crate::kernels::{elementwise, sgemm, xformer};
use crate::BackendError;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use qcc_ir::{Graph, Tensor};
use qcc_lowering::{Kernel, LoweredModel, Storage};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Compilation options.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// ISA options (VNNI on/off, optimization level).
    pub isa: IsaOptions,
    /// Threads for `run` (0 or 1: single thread, through the generated model function).
    pub threads: usize,
    /// Resource limits: the planned arena must fit `limits.max_arena_bytes` (checked before it
    /// is allocated; [`qcc_lowering::LowerError::Limit`]).
    pub limits: qcc_ir::Limits,
    /// With `threads > 1`, steps touching fewer bytes than this run on one thread (None:
    /// [`MIN_SPLIT_BYTES`]; tests pass `Some(0)` to split every splittable step).
    pub min_split_bytes: Option<usize>,
}

/// The run-time data of one step (what the kernel's pointer parameters point at).
pub(crate) struct StepData {
    /// (in0, in1, p2, p3) constant pointers, or None for arena operands (filled at run time).
    pub(crate) gemm: Option<GemmData>,
    pub(crate) consts: Vec<AlignedBytes>,
    pub(crate) rows: usize,
    /// Rows may be split across threads (a row kernel whose step touches at least
    /// `min_split_bytes`; decided in [`compile`]).
    pub(crate) row_split: bool,
    /// Constant buffers passed after the inputs (transformer kernels).
    pub(crate) extra: Vec<AlignedBytes>,
    /// The kernel takes the status word's address after the extras.
    pub(crate) status: bool,
}

/// A compiled model, ready to run.
pub struct CompiledModel {
    lowered: LoweredModel,
    module: JitModule,
    kernels: Vec<GemmFn>,
    data: Vec<StepData>,
    model_fn: unsafe extern "C" fn(*mut u8),
    arena: Mutex<AlignedBytes>,
    const_bufs: Vec<Option<AlignedBytes>>,
    threads: usize,
    compile_time: Duration,
    /// Written by kernels that detect bad run-time data (Gather indices): the failing step + 1.
    status: Box<AtomicU32>,
}

// SAFETY: the JIT code and every buffer it reads are immutable after compilation; the arena is
// behind a mutex, so concurrent `run`s serialize.
unsafe impl Send for CompiledModel {}
// SAFETY: as above.
unsafe impl Sync for CompiledModel {}

fn const_bytes(t: &Tensor) -> AlignedBytes {
    let bytes = t.to_le_bytes();
    let mut b = AlignedBytes::zeroed(bytes.len());
    b.as_mut_slice().copy_from_slice(&bytes);
    b
}

/// Compiles `g` for the host (shapes are inferred first; every shape must become known).
pub fn compile(g: &Graph, opts: &CompileOptions) -> Result<CompiledModel, BackendError> {
    let start = Instant::now();
    // Shapes must be exact: infer them on a copy (importers and passes may leave them open).
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let lowered = qcc_lowering::lower_with_limits(&typed, &opts.limits)?;
    let mut module = JitModule::new(&opts.isa, &[])?;
    let (funcs, mut data, keys) = build_steps(&lowered, module.isa(), module.path())?;
    // Rows of small steps are not handed to other threads (decided once, here).
    let min_split = opts.min_split_bytes.unwrap_or(MIN_SPLIT_BYTES);
    for (st, d) in lowered.steps.iter().zip(&mut data) {
        let touched: usize =
            st.inputs.iter().chain([&st.output]).map(|&b| lowered.buffers[b].bytes()).sum();
        d.row_split &= touched >= min_split;
    }
    let const_bufs = const_buffers(&lowered);
    let status = Box::new(AtomicU32::new(0));
    let status_ptr = status.as_ptr() as usize;
    // Define kernels (steps with equal sharing keys share one; compiled in parallel), then the
    // model function calling them.
    let mut unique = Vec::new();
    let mut slot = Vec::with_capacity(funcs.len());
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, f) in funcs.into_iter().enumerate() {
        if let Some(&u) = keys[i].as_deref().and_then(|k| seen.get(k)) {
            slot.push(u);
            continue;
        }
        if let Some(k) = keys[i].as_deref() {
            seen.insert(k, unique.len());
        }
        slot.push(unique.len());
        unique.push((format!("k{i}_{}", lowered.steps[i].kernel.name()), f));
    }
    let n_kernels = unique.len();
    let defined = module.define_all(unique)?;
    let ids: Vec<_> = slot.iter().map(|&u| defined[u]).collect();
    let model = {
        let cc = module.isa().default_call_conv();
        let cfg = module.isa().frontend_config();
        let mut sig = cranelift_codegen::ir::Signature::new(cc);
        sig.params.push(cranelift_codegen::ir::AbiParam::new(I64));
        let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
        let frefs: Vec<_> =
            ids.iter().map(|&id| module.declare_func_in_func(id, &mut func)).collect();
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let arena = b.block_params(entry)[0];
        for (i, st) in lowered.steps.iter().enumerate() {
            let args = step_args(&lowered, &const_bufs, &data[i], st, status_ptr);
            let mut vals = Vec::new();
            for a in args.ptrs {
                vals.push(match a {
                    Arg::Arena(off) => b.ins().iadd_imm_s(arena, off as i64),
                    Arg::Abs(p) => b.ins().iconst(I64, p as i64),
                });
            }
            let m0 = b.ins().iconst(I64, 0);
            let m1 = b.ins().iconst(I64, data[i].rows as i64);
            vals.push(m0);
            vals.push(m1);
            b.ins().call(frefs[i], &vals);
        }
        b.ins().return_(&[]);
        b.finalize(cfg);
        func
    };
    if std::env::var_os("QCC_DUMP_CLIF").is_some() {
        eprintln!("; model\n{}", model.display());
    }
    let model_id = module.define("model", model)?;
    module.finalize()?;
    let kernels = ids
        .iter()
        .map(|&id| {
            // SAFETY: every kernel was built with `signature`, matching `GemmFn`.
            module.address(id).map(|a| unsafe { std::mem::transmute::<*const u8, GemmFn>(a) })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // SAFETY: the model function takes one pointer.
    let model_fn = unsafe {
        std::mem::transmute::<*const u8, unsafe extern "C" fn(*mut u8)>(module.address(model_id)?)
    };
    let arena = Mutex::new(AlignedBytes::zeroed(lowered.arena_size));
    tracing::info!(
        steps = lowered.steps.len(),
        kernels = n_kernels,
        arena_bytes = lowered.arena_size,
        path = ?module.path(),
        millis = start.elapsed().as_secs_f64() * 1e3,
        "compiled model (Cranelift JIT)"
    );
    Ok(CompiledModel {
        lowered,
        module,
        kernels,
        data,
        model_fn,
        arena,
        const_bufs,
        threads: opts.threads.max(1),
        compile_time: start.elapsed(),
        status,
    })
}

/// Steps touching fewer bytes (operands + result) run on one thread even with `threads > 1`:
/// handing rows to other threads costs microseconds, more than such a step takes (measured:
/// the digits CNN ran 10× slower with 2 threads when every step was split).
pub const MIN_SPLIT_BYTES: usize = 32 * 1024;

/// Kernel functions, their data and sharing keys, one per step (see [`build_steps`]).
pub(crate) type StepKernels = (Vec<Function>, Vec<StepData>, Vec<Option<String>>);

/// Generates the kernel of every step of `lowered` for `isa` (whose int8 dot-product path is
/// `path`), with the compile-time data (packed weights, tables) each kernel reads. Shared by the
/// JIT ([`compile`]) and AOT objects ([`crate::aot`]).
pub(crate) fn build_steps(
    lowered: &LoweredModel,
    isa: &dyn TargetIsa,
    path: DotPath,
) -> Result<StepKernels, BackendError> {
    let mut funcs = Vec::new();
    let mut data = Vec::new();
    // Kernels whose code depends only on this key are compiled once and shared (their data
    // comes through pointers): GEMMs of equal shape and epilogue form.
    let mut keys: Vec<Option<String>> = Vec::new();
    for (i, st) in lowered.steps.iter().enumerate() {
        let idx = i as u32 + 1;
        keys.push(match &st.kernel {
            Kernel::QGemm(q) => Some(format!(
                "q{:?}",
                (
                    q.m,
                    q.n,
                    q.k,
                    q.a_signed,
                    q.requant.as_ref().map(|r| (r.signed, r.zero_point, r.lo, r.hi))
                )
            )),
            // The packed B and bias are per step (data); the code depends on the shape and clamp.
            Kernel::GemmF32 { n, k, clamp, .. } => Some(format!("f{n}x{k}{clamp:?}")),
            _ => None,
        });
        let (f, d) = match &st.kernel {
            Kernel::QGemm(q) => {
                let epilogue = match &q.requant {
                    None => Epilogue::I32,
                    Some(r) => Epilogue::Requant {
                        signed: r.signed,
                        acc_zero_point: r.acc_zero_point,
                        multipliers: r.multipliers.clone(),
                        zero_point: r.zero_point,
                        lo: r.lo,
                        hi: r.hi,
                    },
                };
                let a_type = if q.a_signed { AType::I8 } else { AType::U8 };
                let mut spec = GemmSpec::new(q.m, q.n, q.k, a_type, epilogue);
                spec.a_zero_point = q.a_zero_point;
                let gd = GemmData::new(&spec, path, &q.b, q.bias.as_deref())?;
                let f = crate::gemm::codegen::build(&spec, path, isa, idx);
                (f, StepData { gemm: Some(gd), rows: q.m, row_split: true, ..StepData::plain() })
            }
            Kernel::GemmF32 { m, n, k, b, bias, clamp } => {
                let f = sgemm::build(isa, idx, *n, *k, *clamp);
                let consts = vec![sgemm::pack(b, *k, *n), sgemm::pad_bias(bias.as_deref(), *n)];
                (f, StepData { consts, rows: *m, row_split: true, ..StepData::plain() })
            }
            Kernel::Quantize { scale, zero_point, signed } => {
                let n = lowered.buffers[st.output].numel();
                (
                    elementwise::quantize(isa, idx, n, *scale, *zero_point, *signed),
                    StepData::plain(),
                )
            }
            Kernel::Dequantize { scale, zero_point, signed } => {
                let n = lowered.buffers[st.output].numel();
                (
                    elementwise::dequantize(isa, idx, n, *scale, *zero_point, *signed),
                    StepData::plain(),
                )
            }
            Kernel::Binary { op, shape, a_strides, b_strides } => {
                (elementwise::binary(isa, idx, *op, shape, a_strides, b_strides), StepData::plain())
            }
            Kernel::Unary(u) => {
                let n = lowered.buffers[st.output].numel();
                (elementwise::unary(isa, idx, *u, n), StepData::plain())
            }
            Kernel::DequantizeAxis(dq) => {
                let scales = AlignedBytes::from_words(
                    dq.scales.iter().map(|s| s.to_bits()),
                    dq.scales.len(),
                );
                let zps = AlignedBytes::from_words(
                    dq.zero_points.iter().map(|&z| z as u32),
                    dq.zero_points.len(),
                );
                (
                    elementwise::dequantize_axis(isa, idx, dq),
                    StepData { consts: vec![scales, zps], ..StepData::plain() },
                )
            }
            other => match crate::kernels::cnn::build(isa, idx, lowered, st) {
                Some(k) => {
                    let d = StepData {
                        consts: k.consts,
                        rows: k.rows,
                        row_split: k.rows > 0,
                        ..StepData::plain()
                    };
                    (k.func, d)
                }
                None => match xformer::build(isa, idx, st)? {
                    Some(x) => {
                        (x.func, StepData { extra: x.extra, status: x.status, ..StepData::plain() })
                    }
                    None => {
                        return Err(BackendError::Unsupported {
                            op: st.ops.clone(),
                            node: st.node.clone(),
                            reason: format!("no Cranelift kernel for `{}`", other.name()),
                        })
                    }
                },
            },
        };
        if std::env::var_os("QCC_DUMP_CLIF").is_some() {
            eprintln!("; step {i} ({})\n{}", st.kernel.name(), f.display());
        }
        funcs.push(f);
        data.push(d);
    }
    Ok((funcs, data, keys))
}

/// The bytes of every constant buffer of the plan (None for arena buffers).
pub(crate) fn const_buffers(lowered: &LoweredModel) -> Vec<Option<AlignedBytes>> {
    lowered
        .buffers
        .iter()
        .map(|b| match &b.storage {
            Storage::Const(t) => Some(const_bytes(t)),
            Storage::Arena { .. } => None,
        })
        .collect()
}

impl StepData {
    fn plain() -> StepData {
        StepData {
            gemm: None,
            consts: vec![],
            rows: 0,
            row_split: false,
            extra: vec![],
            status: false,
        }
    }
}

pub(crate) enum Arg {
    Arena(usize),
    Abs(usize),
}

pub(crate) struct Args {
    /// in0, in1, p2, p3, out
    pub(crate) ptrs: Vec<Arg>,
}

pub(crate) fn buf_arg(l: &LoweredModel, consts: &[Option<AlignedBytes>], b: usize) -> Arg {
    match l.offset(b) {
        Some(o) => Arg::Arena(o),
        None => Arg::Abs(consts[b].as_ref().map_or(0, |c| c.as_ptr() as usize)),
    }
}

pub(crate) fn step_args(
    l: &LoweredModel,
    consts: &[Option<AlignedBytes>],
    d: &StepData,
    st: &qcc_lowering::Step,
    status: usize,
) -> Args {
    let in0 = buf_arg(l, consts, st.inputs[0]);
    let out = buf_arg(l, consts, st.output);
    let ptrs = if let Some(g) = &d.gemm {
        vec![
            in0,
            Arg::Abs(g.b.as_ptr() as usize),
            Arg::Abs(g.bias.as_ptr() as usize),
            Arg::Abs(g.mult.as_ptr() as usize),
            out,
        ]
    } else if !d.consts.is_empty() {
        let c = |i: usize| Arg::Abs(d.consts.get(i).map_or(0, |c| c.as_ptr() as usize));
        vec![in0, c(0), c(1), c(2), out]
    } else {
        // Inputs, then constant extras, then the status word (at most 4; checked at compile).
        let mut v: Vec<Arg> = st.inputs.iter().map(|&b| buf_arg(l, consts, b)).collect();
        v.extend(d.extra.iter().map(|c| Arg::Abs(c.as_ptr() as usize)));
        if d.status {
            v.push(Arg::Abs(status));
        }
        v.resize_with(4, || Arg::Abs(0));
        v.push(out);
        v
    };
    Args { ptrs }
}

impl CompiledModel {
    /// The lowered model (plan, steps).
    pub fn lowered(&self) -> &LoweredModel {
        &self.lowered
    }

    /// Wall time of `compile` (lowering, packing, Cranelift).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Time spent inside Cranelift.
    pub fn codegen_time(&self) -> Duration {
        self.module.compile_time()
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
            // (checked at lowering: each buffer fits the arena) and the constant buffers.
            unsafe { (self.model_fn)(base) };
        } else {
            self.run_threaded(base);
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

    /// Per-step time of `runs` runs on `inputs` (median per step, milliseconds), each step
    /// called on its own as in threaded runs: `(node, fused ops, kernel, ms)` in plan order.
    pub fn profile(
        &self,
        inputs: &[Tensor],
        runs: usize,
    ) -> Result<Vec<(String, String, &'static str, f64)>, BackendError> {
        let mut arena = self
            .arena
            .lock()
            .map_err(|_| BackendError::BadInput("arena poisoned by a panic".into()))?;
        let l = &self.lowered;
        let mut per: Vec<Vec<f64>> = vec![Vec::new(); l.steps.len()];
        for _ in 0..runs.max(1) {
            // Inputs before every run: later steps reuse the inputs' arena slots, and kernels
            // fed leftover bytes (denormals, NaNs) time differently from real runs.
            l.write_inputs(arena.as_mut_slice(), inputs).map_err(BackendError::BadInput)?;
            let base = arena.as_mut_slice().as_mut_ptr();
            self.steps(base, &mut |i, dt| per[i].push(dt.as_secs_f64() * 1e3));
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

    fn run_threaded(&self, base: *mut u8) {
        self.steps(base, &mut |_, _| {});
    }

    /// Runs the steps one by one (rows split across threads), reporting each step's time.
    fn steps(&self, base: *mut u8, on_step: &mut dyn FnMut(usize, Duration)) {
        #[derive(Clone, Copy)]
        struct P(*mut u8);
        // SAFETY: threads write disjoint row ranges of one output buffer.
        unsafe impl Send for P {}
        unsafe impl Sync for P {}
        let l = &self.lowered;
        for (i, st) in l.steps.iter().enumerate() {
            let d = &self.data[i];
            let args = step_args(l, &self.const_bufs, d, st, self.status.as_ptr() as usize);
            let ptrs: Vec<P> = args
                .ptrs
                .iter()
                .map(|a| match a {
                    // SAFETY: offsets come from the plan and lie inside the arena.
                    Arg::Arena(o) => P(unsafe { base.add(*o) }),
                    Arg::Abs(p) => P(*p as *mut u8),
                })
                .collect();
            let f = self.kernels[i];
            let call = |m0: usize, m1: usize| {
                let p = &ptrs;
                // SAFETY: the kernel was generated for exactly these buffers; rows m0..m1 ⊆ 0..rows.
                unsafe { f(p[0].0, p[1].0, p[2].0, p[3].0, p[4].0, m0 as i64, m1 as i64) }
            };
            let t0 = Instant::now();
            if d.row_split && d.rows >= 2 * self.threads {
                let chunk = d.rows.div_ceil(self.threads);
                rayon::scope(|s| {
                    for t in 0..self.threads {
                        let (m0, m1) = (t * chunk, ((t + 1) * chunk).min(d.rows));
                        let call = &call;
                        if m0 < m1 {
                            s.spawn(move |_| call(m0, m1));
                        }
                    }
                });
            } else {
                call(0, d.rows);
            }
            on_step(i, t0.elapsed());
        }
    }
}
