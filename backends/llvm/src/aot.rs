//! AOT objects: the JIT's module ([`crate::model::build_module`]: one kernel per step, the step
//! wrappers and `model`) written into a relocatable object for x86-64, AArch64 (ELF, PIC) or
//! wasm32 (a WebAssembly object for `wasm-ld` / `rust-lld -flavor wasm`), with the weights and
//! tables embedded as private globals ([`Cg::globals`]) and a C header
//! ([`qcc_lowering::c_api::c_header`]).
//!
//! The object exports one function, with the C API of the Cranelift backend's objects:
//! `int32_t PREFIX_run(void *arena, const void *const *inputs, const uint64_t *input_bytes, void
//! *const *outputs, const uint64_t *output_bytes)`. Written in LLVM IR here, it checks before
//! touching any buffer that the pointers are non-null and the arena 64-byte aligned (code 1),
//! that every input (2) and output (3) size is exactly the compiled one; it copies the inputs
//! into the arena, calls `model`, returns 4 when a kernel set the status word (bad run-time
//! data), else copies the outputs out and returns 0. Everything but `PREFIX_run` has internal
//! linkage, so several models link into one program.
//!
//! Targets ([`x86_64`], [`aarch64`], [`wasm32`]): AArch64 gets `+neon,+dotprod,+i8mm`; wasm32
//! gets `+simd128` plus `+bulk-memory` (the arena copies and the memcpy/memset LLVM's loop idiom
//! recognition makes become `memory.copy`/`memory.fill`, so the object needs no libc),
//! `+nontrapping-fptoint` and `+sign-ext` (all in every current engine, Node.js 16+ included).
//! The module is verified before optimization (LLVM aborts on bad IR), optimized at O3 for the
//! target machine and emitted with `TargetMachine::write_to_memory_buffer`.
//!
//! x86-64 objects for CPUs without SSE4.1 call libm's `rintf` (link with `-lm`); the others call
//! only `memcpy`/`memset` (libc) or nothing (wasm32). Object sizes and compile times of the
//! shared models: `tools/qcc/tests/llvm_aot.rs`'s module docs.

use crate::emit::{Cg, ConstRef};
use crate::model::build_module;
use crate::target::TargetSpec;
use crate::BackendError;
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, FileType, RelocMode, Target, TargetMachine, TargetTriple};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate, OptimizationLevel};
use qcc_ir::Graph;
use qcc_lowering::c_api::{self, c_prefix};
use qcc_lowering::{LoweredModel, Storage};
use std::time::{Duration, Instant};

/// An object file and its C header.
#[derive(Debug, Clone)]
pub struct AotArtifact {
    /// Object bytes (ELF for x86-64/AArch64, a WebAssembly object for wasm32).
    pub object: Vec<u8>,
    /// C header text.
    pub header: String,
    /// Arena bytes the caller provides.
    pub arena_size: usize,
    /// Bytes of each input, in graph input order.
    pub input_bytes: Vec<usize>,
    /// Bytes of each output, in graph output order.
    pub output_bytes: Vec<usize>,
    /// Wall time of the compilation (lowering, IR generation, O3, code generation).
    pub compile_time: Duration,
}

/// x86-64 Linux: the host CPU and its features (`cpu: None`), or a named CPU (`-march` names
/// such as `x86-64-v3`, `skylake-avx512`) with an explicit feature string (the kernels size
/// their register tiles from the feature string: give `+avx2` / `+avx512f,+avx512bw` there to
/// get 256/512-bit tiles; LLVM still adds the CPU's own features to the code).
pub fn x86_64(cpu: Option<&str>, features: &str) -> TargetSpec {
    match cpu {
        None => {
            let mut h = TargetSpec::host();
            if !h.triple.starts_with("x86_64") {
                h.triple = "x86_64-unknown-linux-gnu".into();
                h.cpu = "x86-64-v2".into();
                h.features = String::new();
            }
            h
        }
        Some(cpu) => TargetSpec {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu: cpu.into(),
            features: features.into(),
        },
    }
}

/// AArch64 Linux with NEON, the dot-product and the int8 matrix-multiply extensions.
pub fn aarch64() -> TargetSpec {
    TargetSpec {
        triple: "aarch64-unknown-linux-gnu".into(),
        cpu: "generic".into(),
        features: "+neon,+dotprod,+i8mm".into(),
    }
}

/// wasm32 with 128-bit SIMD (and bulk memory, non-trapping float-to-int, sign extension).
pub fn wasm32() -> TargetSpec {
    TargetSpec {
        triple: "wasm32-unknown-unknown".into(),
        cpu: "generic".into(),
        features: "+simd128,+bulk-memory,+nontrapping-fptoint,+sign-ext".into(),
    }
}

/// A target machine for objects: position-independent code on ELF targets, the default code
/// model.
fn object_machine(spec: &TargetSpec) -> Result<TargetMachine, BackendError> {
    Target::initialize_all(&Default::default());
    let triple = TargetTriple::create(&spec.triple);
    let target = Target::from_triple(&triple).map_err(|e| BackendError::Target(e.to_string()))?;
    let reloc = if spec.triple.starts_with("wasm") { RelocMode::Default } else { RelocMode::PIC };
    target
        .create_target_machine(
            &triple,
            &spec.cpu,
            &spec.features,
            OptimizationLevel::Aggressive,
            reloc,
            CodeModel::Default,
        )
        .ok_or_else(|| BackendError::Target(format!("no target machine for {}", spec.triple)))
}

/// Compiles `g` into an object for `target`; `name` gives the C symbol prefix
/// ([`c_prefix`]). The planned arena (which the caller allocates) must fit
/// `limits.max_arena_bytes`.
pub fn compile_object(
    g: &Graph,
    target: &TargetSpec,
    name: &str,
    limits: &qcc_ir::Limits,
) -> Result<AotArtifact, BackendError> {
    let start = Instant::now();
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let l = qcc_lowering::lower_with_limits(&typed, limits)?;
    let machine = object_machine(target)?;
    let prefix = c_prefix(name);
    let ctx = Context::create();
    let mut cg = Cg::new(&ctx, &prefix, target.clone());
    cg.module.set_data_layout(&machine.get_target_data().get_data_layout());
    cg.globals = Some(AddressSpace::default());
    let status = cg.status_word();
    if let ConstRef::Global(s) = status {
        s.set_linkage(Linkage::Internal);
    }
    let (wrappers, _) = build_module(&mut cg, &l, status, usize::MAX)?;
    for f in wrappers.iter().map(String::as_str).chain(["model"]) {
        if let Some(f) = cg.module.get_function(f) {
            f.set_linkage(Linkage::Internal);
        }
    }
    let model = cg
        .module
        .get_function("model")
        .ok_or_else(|| BackendError::codegen("model", "build_module made no `model`"))?;
    let run_name = format!("{prefix}_run");
    entry(&mut cg, &l, &run_name, model, status)?;
    cg.module.verify().map_err(|e| BackendError::codegen("module (verifier)", e.to_string()))?;
    cg.module
        .run_passes("default<O3>", &machine, PassBuilderOptions::create())
        .map_err(|e| BackendError::codegen("module (optimizer)", e.to_string()))?;
    let object = machine
        .write_to_memory_buffer(&cg.module, FileType::Object)
        .map_err(|e| BackendError::codegen("module (code generation)", e.to_string()))?
        .as_slice()
        .to_vec();
    let compile_time = start.elapsed();
    tracing::info!(
        steps = l.steps.len(),
        triple = %target.triple,
        cpu = %target.cpu,
        object_bytes = object.len(),
        arena_bytes = l.arena_size,
        millis = compile_time.as_secs_f64() * 1e3,
        "emitted object (LLVM AOT)"
    );
    Ok(AotArtifact {
        object,
        header: c_api::c_header(&prefix, &l, &format!("LLVM AOT, {}", target.triple)),
        arena_size: c_api::arena_bytes(&l),
        input_bytes: l.inputs.iter().map(|(_, b)| l.buffers[*b].bytes()).collect(),
        output_bytes: l.outputs.iter().map(|(_, b)| l.buffers[*b].bytes()).collect(),
        compile_time,
    })
}

/// Emits the exported `int32_t run(i8* arena, i8** inputs, i64* input_bytes, i8** outputs,
/// i64* output_bytes)` (see the module docs).
fn entry<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    name: &str,
    model: FunctionValue<'ctx>,
    status: ConstRef<'ctx>,
) -> Result<(), BackendError> {
    let ctx = cg.ctx;
    let (i8p, i32t, i64t) = (cg.i8p(), ctx.i32_type(), ctx.i64_type());
    let i8pp = i8p.ptr_type(AddressSpace::default());
    let i64p = i64t.ptr_type(AddressSpace::default());
    let fty =
        i32t.fn_type(&[i8p.into(), i8pp.into(), i64p.into(), i8pp.into(), i64p.into()], false);
    let f = cg.module.add_function(name, fty, Some(Linkage::External));
    cg.add_target_attrs(f);
    let bb = ctx.append_basic_block(f, "entry");
    cg.b.position_at_end(bb);
    let p = |i: u32| f.get_nth_param(i).unwrap().into_pointer_value();
    let (arena, ins, in_bytes, outs, out_bytes) = (p(0), p(1), p(2), p(3), p(4));
    // Returns `code` when `bad` holds; continues in a fresh block otherwise.
    let check = |cg: &Cg<'ctx>, bad: IntValue<'ctx>, code: i32| -> Result<(), BackendError> {
        let fail = ctx.append_basic_block(f, "fail");
        let next = ctx.append_basic_block(f, "ok");
        cg.b.build_conditional_branch(bad, fail, next)?;
        cg.b.position_at_end(fail);
        cg.b.build_return(Some(&i32t.const_int(code as u64, true)))?;
        cg.b.position_at_end(next);
        Ok(())
    };
    for ptr in [arena, ins, outs, in_bytes, out_bytes] {
        let z = cg.b.build_is_null(ptr, "null")?;
        check(cg, z, c_api::CODE_BAD_POINTER)?;
    }
    let addr = cg.b.build_ptr_to_int(arena, i64t, "addr")?;
    let low = cg.b.build_and(addr, i64t.const_int(63, false), "low")?;
    let bad = cg.b.build_int_compare(IntPredicate::NE, low, i64t.const_zero(), "misaligned")?;
    check(cg, bad, c_api::CODE_BAD_POINTER)?;
    // The k-th element of a pointer or size array.
    let nth = |cg: &Cg<'ctx>, arr: PointerValue<'ctx>, k: usize| -> Result<_, BackendError> {
        // SAFETY (of the LLVM call): the caller passes one element per input/output.
        let p = unsafe { cg.b.build_in_bounds_gep(arr, &[i64t.const_int(k as u64, false)], "e")? };
        Ok(cg.b.build_load(p, "v")?)
    };
    let mut sides = Vec::new();
    for (list, ptrs, sizes, size_code) in [
        (&l.inputs, ins, in_bytes, c_api::CODE_BAD_INPUT_SIZE),
        (&l.outputs, outs, out_bytes, c_api::CODE_BAD_OUTPUT_SIZE),
    ] {
        let mut side = Vec::new();
        for (k, (_, b)) in list.iter().enumerate() {
            let n = nth(cg, sizes, k)?.into_int_value();
            let want = i64t.const_int(l.buffers[*b].bytes() as u64, false);
            let bad = cg.b.build_int_compare(IntPredicate::NE, n, want, "size")?;
            check(cg, bad, size_code)?;
            let ptr = nth(cg, ptrs, k)?.into_pointer_value();
            let z = cg.b.build_is_null(ptr, "null")?;
            check(cg, z, c_api::CODE_BAD_POINTER)?;
            side.push((ptr, *b));
        }
        sides.push(side);
    }
    let status_ptr = cg.const_i8p(status)?;
    let status_ptr =
        cg.b.build_pointer_cast(status_ptr, i32t.ptr_type(AddressSpace::default()), "st")?;
    cg.b.build_store(status_ptr, i32t.const_zero())?;
    // A buffer's address: in the arena, or a constant output (a global of its own).
    let buf_ptr = |cg: &mut Cg<'ctx>, b: usize| -> Result<PointerValue<'ctx>, BackendError> {
        match (l.offset(b), &l.buffers[b].storage) {
            (Some(off), _) => {
                // SAFETY (of the LLVM call): the plan's offsets lie inside the arena.
                Ok(unsafe {
                    cg.b.build_in_bounds_gep(arena, &[i64t.const_int(off as u64, false)], "a")?
                })
            }
            (None, Storage::Const(t)) => {
                let c = cg.constant(&t.to_le_bytes());
                cg.const_i8p(c)
            }
            (None, _) => Err(BackendError::InvalidSpec(format!("buffer {b} has no storage"))),
        }
    };
    for &(src, b) in &sides[0] {
        let dst = buf_ptr(cg, b)?;
        let n = i64t.const_int(l.buffers[b].bytes() as u64, false);
        cg.b.build_memcpy(dst, 1, src, 1, n).map_err(|e| BackendError::codegen(name, e))?;
    }
    let args: [BasicMetadataValueEnum<'ctx>; 1] = [arena.into()];
    cg.b.build_call(model, &args, "")?;
    let st = cg.b.build_load(status_ptr, "status")?.into_int_value();
    let bad = cg.b.build_int_compare(IntPredicate::NE, st, i32t.const_zero(), "bad")?;
    check(cg, bad, c_api::CODE_BAD_DATA)?;
    for &(dst, b) in &sides[1] {
        let src = buf_ptr(cg, b)?;
        let n = i64t.const_int(l.buffers[b].bytes() as u64, false);
        cg.b.build_memcpy(dst, 1, src, 1, n).map_err(|e| BackendError::codegen(name, e))?;
    }
    cg.b.build_return(Some(&i32t.const_int(c_api::CODE_OK as u64, false)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::{DType, Op, TensorType};

    /// A one-Relu float graph.
    fn relu() -> Graph {
        let mut g = Graph::new("relu");
        let t = TensorType::fixed(DType::F32, &[1, 8]);
        let x = g.add_input("x", t.clone());
        let r = g.add_op(Op::Relu, "r", &[x], t).unwrap();
        g.add_output("y", r).unwrap();
        g
    }

    #[test]
    fn objects_for_every_target_carry_the_run_function() {
        for (spec, magic) in [
            (aarch64(), &b"\x7fELF"[..]),
            (wasm32(), &b"\0asm"[..]),
            (x86_64(Some("x86-64-v3"), "+avx2,+fma"), &b"\x7fELF"[..]),
        ] {
            let art = compile_object(&relu(), &spec, "tiny-relu", &Default::default())
                .unwrap_or_else(|e| panic!("{}: {e}", spec.triple));
            assert!(art.object.starts_with(magic), "{}: not an object", spec.triple);
            assert!(art.header.contains("int32_t tiny_relu_run("), "{}", art.header);
            assert_eq!((art.input_bytes.clone(), art.output_bytes.clone()), (vec![32], vec![32]));
            let text = String::from_utf8_lossy(&art.object);
            assert!(text.contains("tiny_relu_run"), "{}: no exported run", spec.triple);
        }
    }
}
