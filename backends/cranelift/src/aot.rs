//! AOT objects: the same kernels as the JIT ([`crate::model::build_steps`]) written into an ELF
//! object for x86-64 or AArch64 with the weights embedded as data, plus a C header.
//!
//! The object exports one function (C ABI), `int32_t PREFIX_run(void *arena, const void *const
//! *inputs, const uint64_t *input_bytes, void *const *outputs, const uint64_t *output_bytes)`.
//! Before touching any buffer it checks the pointers (non-null, arena 64-byte aligned) and that
//! every input and output size is exactly the compiled one, so a wrong-sized buffer gives an
//! error code instead of an out-of-bounds access. Codes: 0 ok, 1 null or misaligned pointer,
//! 2 an input size differs, 3 an output size differs, 4 bad run-time data found by a kernel
//! (e.g. a gather index out of range).

use crate::gemm::pack::AlignedBytes;
use crate::isa::{IsaOptions, Target};
use crate::model::{build_steps, const_buffers, step_args, Arg, StepData};
use crate::BackendError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    AbiParam, BlockArg, Function, InstBuilder, MemFlagsData, Signature, UserFuncName,
};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use qcc_ir::Graph;
use std::collections::HashMap;

/// Target of an AOT object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AotTarget {
    /// x86-64 (SSE4.2/AVX2 baseline), with the VNNI dot-product path or not.
    X86_64 {
        /// Generate the AVX-512 VNNI kernels (the object then needs a VNNI CPU).
        vnni: bool,
    },
    /// AArch64 (Linux), with the `usdot` dot-product path (FEAT_I8MM) or the generic widening path.
    Aarch64 {
        /// Generate `usdot` int8 kernels (the object then needs an i8mm CPU).
        i8mm: bool,
    },
}

/// An object file and its C header.
#[derive(Debug, Clone)]
pub struct AotArtifact {
    /// ELF object bytes.
    pub object: Vec<u8>,
    /// C header text.
    pub header: String,
    /// Arena bytes the caller provides.
    pub arena_size: usize,
    /// Bytes of each input, in graph input order.
    pub input_bytes: Vec<usize>,
    /// Bytes of each output, in graph output order.
    pub output_bytes: Vec<usize>,
}

pub use qcc_lowering::c_api::c_prefix;

/// Compiles `g` into an object for `target`; `name` gives the C symbol prefix. The default
/// [`qcc_ir::Limits`] apply (see [`compile_object_with_limits`]).
pub fn compile_object(
    g: &Graph,
    target: AotTarget,
    name: &str,
    isa_opts: &IsaOptions,
) -> Result<AotArtifact, BackendError> {
    compile_object_with_limits(g, target, name, isa_opts, &qcc_ir::Limits::default())
}

/// [`compile_object`] under `limits`: an object whose arena (which its caller allocates) would
/// exceed `limits.max_arena_bytes` is refused ([`qcc_lowering::LowerError::Limit`]).
pub fn compile_object_with_limits(
    g: &Graph,
    target: AotTarget,
    name: &str,
    isa_opts: &IsaOptions,
    limits: &qcc_ir::Limits,
) -> Result<AotArtifact, BackendError> {
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let lowered = qcc_lowering::lower_with_limits(&typed, limits)?;
    // Kernels that call into the host process (the JIT's `expf` by address) cannot go into an
    // object: refuse them rather than emit a call to a meaningless address.
    if let Some(st) = lowered.steps.iter().find(|st| {
        matches!(st.kernel, qcc_lowering::Kernel::Act(qcc_lowering::cnn::Activation::Sigmoid))
    }) {
        return Err(BackendError::Unsupported {
            op: st.ops.clone(),
            node: st.node.clone(),
            reason: "the f32 Sigmoid kernel calls the JIT host's expf; AOT objects cannot yet \
                     (quantize the model: its Sigmoid becomes an integer Lut)"
                .into(),
        });
    }
    let Target { isa, path } = match target {
        AotTarget::X86_64 { vnni } => crate::isa::x86_64_target(vnni, isa_opts, true)?,
        AotTarget::Aarch64 { i8mm } => crate::isa::aarch64_target(i8mm, isa_opts, true)?,
    };
    let (funcs, data, _) = build_steps(&lowered, &*isa, path)?;
    let const_bufs = const_buffers(&lowered);
    let prefix = c_prefix(name);
    let builder = ObjectBuilder::new(
        isa,
        prefix.as_bytes().to_vec(),
        cranelift_module::default_libcall_names(),
    )
    .map_err(|e| BackendError::codegen("<object>", e))?;
    let mut module = ObjectModule::new(builder);

    // Every compile-time buffer becomes a data object; step arguments refer to them by address.
    let mut symbols: HashMap<usize, DataId> = HashMap::new();
    let mut add = |module: &mut ObjectModule, bytes: &AlignedBytes| -> Result<(), BackendError> {
        let key = bytes.as_ptr() as usize;
        if symbols.contains_key(&key) {
            return Ok(());
        }
        let sym = format!("{prefix}__data{}", symbols.len());
        let id = module
            .declare_data(&sym, Linkage::Local, false, false)
            .map_err(|e| BackendError::codegen(&sym, e))?;
        let mut desc = DataDescription::new();
        let mut contents = bytes.as_slice().to_vec();
        contents.resize(contents.len().max(1).next_multiple_of(64), 0);
        desc.define(contents.into_boxed_slice());
        desc.set_align(64);
        module.define_data(id, &desc).map_err(|e| BackendError::codegen(&sym, e))?;
        symbols.insert(key, id);
        Ok(())
    };
    for d in &data {
        for b in step_buffers(d) {
            add(&mut module, b)?;
        }
    }
    for b in const_bufs.iter().flatten() {
        add(&mut module, b)?;
    }
    // The status word kernels set on bad run-time data: a writable object; `status_key` is the
    // address step arguments use for it.
    let status_cell = Box::new(0u32);
    let status_key = &*status_cell as *const u32 as usize;
    let status_sym = format!("{prefix}__status");
    let status_id = module
        .declare_data(&status_sym, Linkage::Local, true, false)
        .map_err(|e| BackendError::codegen(&status_sym, e))?;
    let mut desc = DataDescription::new();
    desc.define_zeroinit(64);
    desc.set_align(64);
    module.define_data(status_id, &desc).map_err(|e| BackendError::codegen(&status_sym, e))?;
    symbols.insert(status_key, status_id);

    let mut ids = Vec::new();
    for (i, f) in funcs.into_iter().enumerate() {
        let fname = format!("{prefix}__k{i}_{}", lowered.steps[i].kernel.name());
        let id = module
            .declare_function(&fname, Linkage::Local, &f.signature)
            .map_err(|e| BackendError::codegen(&fname, e))?;
        let mut ctx = Context::for_function(f);
        module
            .define_function(id, &mut ctx)
            .map_err(|e| BackendError::codegen(&fname, format!("{e:?}")))?;
        ids.push(id);
    }

    // The exported entry.
    let cc = module.isa().default_call_conv();
    let cfg = module.isa().frontend_config();
    let mut sig = Signature::new(cc);
    for _ in 0..5 {
        sig.params.push(AbiParam::new(I64));
    }
    sig.returns.push(AbiParam::new(I32));
    let run_name = format!("{prefix}_run");
    let run_id = module
        .declare_function(&run_name, Linkage::Export, &sig)
        .map_err(|e| BackendError::codegen(&run_name, e))?;
    let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
    let frefs: Vec<_> = ids.iter().map(|&id| module.declare_func_in_func(id, &mut func)).collect();
    let gvs: HashMap<usize, _> =
        symbols.iter().map(|(&k, &id)| (k, module.declare_data_in_func(id, &mut func))).collect();
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    let ret = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.append_block_param(ret, I32);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let (arena, ins, in_bytes, outs, out_bytes) = (p[0], p[1], p[2], p[3], p[4]);
    let flags = MemFlagsData::new();
    // Fails with `code` when `bad` is nonzero; continues in a fresh block otherwise.
    let check = |b: &mut FunctionBuilder<'_>, bad, code: i64| {
        let c = b.ins().iconst(I32, code);
        let next = b.create_block();
        b.ins().brif(bad, ret, &[BlockArg::Value(c)], next, &[]);
        b.switch_to_block(next);
        b.seal_block(next);
    };
    for v in [arena, ins, in_bytes, outs, out_bytes] {
        let z = b.ins().icmp_imm_s(IntCC::Equal, v, 0);
        check(&mut b, z, 1);
    }
    let low = b.ins().band_imm_s(arena, 63);
    check(&mut b, low, 1);
    let mut in_ptrs = Vec::new();
    for (k, (_, buf)) in lowered.inputs.iter().enumerate() {
        let n = b.ins().load(I64, flags, in_bytes, (8 * k) as i32);
        let bad = b.ins().icmp_imm_s(IntCC::NotEqual, n, lowered.buffers[*buf].bytes() as i64);
        check(&mut b, bad, 2);
        let ptr = b.ins().load(I64, flags, ins, (8 * k) as i32);
        let z = b.ins().icmp_imm_s(IntCC::Equal, ptr, 0);
        check(&mut b, z, 1);
        in_ptrs.push(ptr);
    }
    let mut out_ptrs = Vec::new();
    for (k, (_, buf)) in lowered.outputs.iter().enumerate() {
        let n = b.ins().load(I64, flags, out_bytes, (8 * k) as i32);
        let bad = b.ins().icmp_imm_s(IntCC::NotEqual, n, lowered.buffers[*buf].bytes() as i64);
        check(&mut b, bad, 3);
        let ptr = b.ins().load(I64, flags, outs, (8 * k) as i32);
        let z = b.ins().icmp_imm_s(IntCC::Equal, ptr, 0);
        check(&mut b, z, 1);
        out_ptrs.push(ptr);
    }
    let addr = |b: &mut FunctionBuilder<'_>, a: &Arg| -> Result<_, BackendError> {
        Ok(match a {
            Arg::Arena(off) => b.ins().iadd_imm_s(arena, *off as i64),
            Arg::Abs(0) => b.ins().iconst(I64, 0),
            Arg::Abs(p) => {
                let gv = gvs.get(p).ok_or_else(|| {
                    BackendError::codegen(&run_name, "a kernel argument points at unknown data")
                })?;
                b.ins().symbol_value(I64, *gv)
            }
        })
    };
    let status_addr = b.ins().symbol_value(I64, gvs[&status_key]);
    let zero32 = b.ins().iconst(I32, 0);
    b.ins().store(flags, zero32, status_addr, 0);
    for (k, (_, buf)) in lowered.inputs.iter().enumerate() {
        let off = lowered.offset(*buf).unwrap_or(0);
        let dst = b.ins().iadd_imm_s(arena, off as i64);
        let n = b.ins().iconst(I64, lowered.buffers[*buf].bytes() as i64);
        b.call_memcpy(cfg, dst, in_ptrs[k], n);
    }
    for (i, st) in lowered.steps.iter().enumerate() {
        let args = step_args(&lowered, &const_bufs, &data[i], st, status_key);
        let mut vals = Vec::new();
        for a in &args.ptrs {
            vals.push(addr(&mut b, a)?);
        }
        vals.push(b.ins().iconst(I64, 0));
        vals.push(b.ins().iconst(I64, data[i].rows as i64));
        b.ins().call(frefs[i], &vals);
    }
    let st = b.ins().load(I32, flags, status_addr, 0);
    check(&mut b, st, 4);
    for (k, (_, buf)) in lowered.outputs.iter().enumerate() {
        let src = match lowered.offset(*buf) {
            Some(off) => b.ins().iadd_imm_s(arena, off as i64),
            None => addr(&mut b, &crate::model::buf_arg(&lowered, &const_bufs, *buf))?,
        };
        let n = b.ins().iconst(I64, lowered.buffers[*buf].bytes() as i64);
        b.call_memcpy(cfg, out_ptrs[k], src, n);
    }
    let zero = b.ins().iconst(I32, 0);
    b.ins().jump(ret, &[BlockArg::Value(zero)]);
    b.switch_to_block(ret);
    b.seal_block(ret);
    let code = b.block_params(ret)[0];
    b.ins().return_(&[code]);
    b.finalize(cfg);
    let mut ctx = Context::for_function(func);
    module
        .define_function(run_id, &mut ctx)
        .map_err(|e| BackendError::codegen(&run_name, format!("{e:?}")))?;
    let object = module.finish().emit().map_err(|e| BackendError::codegen("<emit>", e))?;
    tracing::info!(
        steps = lowered.steps.len(),
        object_bytes = object.len(),
        arena_bytes = lowered.arena_size,
        "emitted object (Cranelift AOT)"
    );
    Ok(AotArtifact {
        object,
        header: qcc_lowering::c_api::c_header(&prefix, &lowered, "Cranelift AOT"),
        arena_size: lowered.arena_size.max(64),
        input_bytes: lowered.inputs.iter().map(|(_, b)| lowered.buffers[*b].bytes()).collect(),
        output_bytes: lowered.outputs.iter().map(|(_, b)| lowered.buffers[*b].bytes()).collect(),
    })
}

/// The compile-time buffers a step's kernel reads (packed weights, biases, tables).
fn step_buffers(d: &StepData) -> Vec<&AlignedBytes> {
    let mut v: Vec<&AlignedBytes> = d.consts.iter().chain(&d.extra).collect();
    if let Some(g) = &d.gemm {
        v.extend([&g.b, &g.bias, &g.mult]);
    }
    v
}
