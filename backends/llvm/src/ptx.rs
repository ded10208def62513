//! NVPTX: the model's kernels as PTX for NVIDIA GPUs (`nvptx64-nvidia-cuda`, `sm_86`, PTX 7.5:
//! LLVM 14's newest, DESIGN §5) and a [`Launch`] description a host program follows to run them.
//!
//! The module is the host JIT's ([`crate::model::build_module`]: the same kernels, the same
//! exact integer arithmetic), with constants in private globals of the global address space (1)
//! read through generic pointers, and the status word a visible global `qcc_status`. Each step
//! `i` becomes a kernel entry `step{i}(i8* arena)` (an `nvvm.annotations` `kernel`):
//!
//! * steps whose rows are independent ([`crate::model::StepInfo::split`]) run one row per GPU
//!   thread, `r = ctaid.x·ntid.x + tid.x`, computing rows `[r, r+1)` when `r < rows`, on a grid
//!   of `⌈rows / 128⌉` blocks of up to [`BLOCK`] threads;
//! * other steps (one row, or rows that must stay together) run on one thread (grid 1, block 1),
//!   computing all rows.
//!
//! Steps run in order on one stream (each launch sees the previous one's writes). The device
//! code calls nothing outside the module: a PTX with an `.extern .func` (an unresolved call,
//! e.g. a libm function NVPTX cannot link) is a [`BackendError::Codegen`], as is a module that
//! fails LLVM's verifier. [`run`] loads the PTX with the CUDA driver API ([`cuda`]);
//! [`emulate`] runs the same launch scheme on the host (no GPU needed).

pub mod cuda;
pub mod emulate;

pub use cuda::{run, CudaModel};

use crate::emit::Cg;
use crate::model::build_module;
use crate::target::TargetSpec;
use crate::BackendError;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Linkage;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::FileType;
use inkwell::values::BasicMetadataValueEnum;
use inkwell::{AddressSpace, IntPredicate};
use qcc_ir::{Graph, Limits};
use qcc_lowering::LoweredModel;
use serde::{Deserialize, Serialize};

/// Threads per block of a row-parallel step.
pub const BLOCK: u32 = 128;

/// The [`Launch::format`] this crate writes and reads.
pub const LAUNCH_FORMAT: &str = "qcc-ptx-launch/1";

/// The name of the status word global (0 after a good run; `step + 1` when a step met an
/// out-of-range index and zero-filled its output slice).
pub const STATUS_GLOBAL: &str = "qcc_status";

/// How a host runs the PTX: one device buffer of `arena_bytes` (zeroed), the inputs copied in
/// at their offsets, the steps launched in order with the arena's device address as their only
/// parameter, the outputs copied out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    /// [`LAUNCH_FORMAT`].
    pub format: String,
    /// The PTX target (`sm_86`).
    pub target: String,
    /// Bytes of the device arena.
    pub arena_bytes: usize,
    /// The status word's global ([`STATUS_GLOBAL`], an `u32`).
    pub status_global: String,
    /// Kernel launches, in order.
    pub steps: Vec<LaunchStep>,
    /// Graph inputs, in order.
    pub inputs: Vec<LaunchBuffer>,
    /// Graph outputs, in order.
    pub outputs: Vec<LaunchBuffer>,
}

/// One kernel launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchStep {
    /// The `.entry` name (`step{i}`).
    pub entry: String,
    /// The graph node the step comes from.
    pub node: String,
    /// The ops fused into it.
    pub ops: String,
    /// The kernel kind.
    pub kernel: String,
    /// Rows of the step's output.
    pub rows: usize,
    /// One row per thread (else one thread computes every row).
    pub per_row: bool,
    /// Grid size (blocks, x y z).
    pub grid: [u32; 3],
    /// Block size (threads, x y z).
    pub block: [u32; 3],
}

/// A graph input or output in the arena.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchBuffer {
    /// The graph's name for it.
    pub name: String,
    /// Byte offset in the arena.
    pub offset: usize,
    /// Size in bytes.
    pub bytes: usize,
    /// Element type (`f32`, `i8`, …, as `qcc_ir::DType` prints).
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
}

/// A compiled PTX module and how to launch it.
#[derive(Debug, Clone)]
pub struct PtxModel {
    /// The PTX text.
    pub ptx: String,
    /// The launch description.
    pub launch: Launch,
}

/// The NVPTX target: `nvptx64-nvidia-cuda`, `sm_86`, `+ptx75`.
pub fn nvptx_target() -> TargetSpec {
    TargetSpec {
        triple: "nvptx64-nvidia-cuda".into(),
        cpu: "sm_86".into(),
        features: "+ptx75".into(),
    }
}

/// Compiles `g` (shapes are inferred first) to PTX and its launch description.
pub fn compile_ptx(g: &Graph, limits: &Limits) -> Result<PtxModel, BackendError> {
    let mut typed = g.clone();
    qcc_ir::infer::infer_graph(&mut typed)
        .map_err(|e| BackendError::InvalidSpec(format!("shape inference: {e}")))?;
    let lowered = qcc_lowering::lower_with_limits(&typed, limits)?;
    compile_lowered(&lowered)
}

/// Compiles a lowered model to PTX and its launch description.
pub fn compile_lowered(l: &LoweredModel) -> Result<PtxModel, BackendError> {
    let target = nvptx_target();
    let machine = target.machine()?;
    let ctx = Context::create();
    let mut cg = Cg::new(&ctx, "qcc_ptx", target.clone());
    cg.module.set_data_layout(&machine.get_target_data().get_data_layout());
    cg.globals = Some(AddressSpace::from(1u16));
    let status = cg.status_word(); // the global `qcc_status`
                                   // min_split 0: `split` then says only whether the kernel's rows are independent.
    let (names, infos) = build_module(&mut cg, l, status, 0)?;
    if let Some(m) = cg.module.get_function("model") {
        // SAFETY: nothing refers to the host-side `model` function.
        unsafe { m.delete() };
    }
    let i32t = ctx.i32_type();
    let i64t = ctx.i64_type();
    let sreg = |name: &str| -> Result<_, BackendError> {
        Intrinsic::find(name)
            .and_then(|i| i.get_declaration(&cg.module, &[]))
            .ok_or_else(|| BackendError::codegen(name, "NVPTX intrinsic not found"))
    };
    let (ctaid, ntid, tid) = (
        sreg("llvm.nvvm.read.ptx.sreg.ctaid.x")?,
        sreg("llvm.nvvm.read.ptx.sreg.ntid.x")?,
        sreg("llvm.nvvm.read.ptx.sreg.tid.x")?,
    );
    let noinline = Attribute::get_named_enum_kind_id("noinline");
    let ety = ctx.void_type().fn_type(&[cg.i8p().into()], false);
    let mut steps = Vec::new();
    for (i, (name, info)) in names.iter().zip(&infos).enumerate() {
        let st = &l.steps[i];
        let w = cg
            .module
            .get_function(name)
            .ok_or_else(|| BackendError::codegen(name, "step wrapper missing"))?;
        // The host wrapper `step{i}(arena, r0, r1)` becomes the device function `rows{i}`.
        w.as_global_value().set_name(&format!("rows{i}"));
        w.set_linkage(Linkage::Internal);
        w.remove_enum_attribute(AttributeLoc::Function, noinline);
        let rows = u32::try_from(info.rows).map_err(|_| {
            BackendError::InvalidSpec(format!("step {i}: {} rows exceed a CUDA grid", info.rows))
        })?;
        let per_row = info.split && rows > 1;
        let e = cg.module.add_function(&format!("step{i}"), ety, Some(Linkage::External));
        cg.add_target_attrs(e);
        let entry = ctx.append_basic_block(e, "entry");
        let then = ctx.append_basic_block(e, "row");
        let done = ctx.append_basic_block(e, "done");
        let b = &cg.b;
        b.position_at_end(entry);
        let call_sreg = |f, n| -> Result<_, BackendError> {
            match b.build_call(f, &[], n)?.try_as_basic_value() {
                inkwell::values::ValueKind::Basic(v) => Ok(v.into_int_value()),
                _ => Err(BackendError::codegen(n, "special register read returned void")),
            }
        };
        let gid = b.build_int_add(
            b.build_int_mul(call_sreg(ctaid, "ctaid")?, call_sreg(ntid, "ntid")?, "base")?,
            call_sreg(tid, "tid")?,
            "gid",
        )?;
        let gid = b.build_int_z_extend(gid, i64t, "r")?;
        let limit = if per_row { info.rows } else { 1 };
        let live =
            b.build_int_compare(IntPredicate::ULT, gid, i64t.const_int(limit as u64, false), "in")?;
        b.build_conditional_branch(live, then, done)?;
        b.position_at_end(then);
        let (r0, r1) = if per_row {
            (gid, b.build_int_add(gid, i64t.const_int(1, false), "r1")?)
        } else {
            (i64t.const_zero(), i64t.const_int(info.rows as u64, false))
        };
        let arena = e.get_nth_param(0).unwrap();
        let args: [BasicMetadataValueEnum<'_>; 3] = [arena.into(), r0.into(), r1.into()];
        b.build_call(w, &args, "")?;
        b.build_unconditional_branch(done)?;
        b.position_at_end(done);
        b.build_return(None)?;
        let md = ctx.metadata_node(&[
            e.as_global_value().as_pointer_value().into(),
            ctx.metadata_string("kernel").into(),
            i32t.const_int(1, false).into(),
        ]);
        cg.module
            .add_global_metadata("nvvm.annotations", &md)
            .map_err(|e| BackendError::codegen("nvvm.annotations", format!("{e:?}")))?;
        let (grid, block) = if per_row {
            let block = rows.min(BLOCK);
            ([rows.div_ceil(block), 1, 1], [block, 1, 1])
        } else {
            ([1, 1, 1], [1, 1, 1])
        };
        steps.push(LaunchStep {
            entry: format!("step{i}"),
            node: st.node.clone(),
            ops: st.ops.clone(),
            kernel: st.kernel.name().to_string(),
            rows: info.rows,
            per_row,
            grid,
            block,
        });
    }
    cg.module
        .verify()
        .map_err(|e| BackendError::codegen("PTX module (verifier)", e.to_string()))?;
    device_calls_ok(&cg.module)?;
    cg.module
        .run_passes("default<O3>", &machine, PassBuilderOptions::create())
        .map_err(|e| BackendError::codegen("PTX module (optimizer)", e.to_string()))?;
    device_calls_ok(&cg.module)?;
    let buf = machine
        .write_to_memory_buffer(&cg.module, FileType::Assembly)
        .map_err(|e| BackendError::codegen("PTX module (code generation)", e.to_string()))?;
    let ptx = String::from_utf8_lossy(buf.as_slice()).trim_end_matches('\0').to_string();
    let externs: Vec<&str> = ptx.lines().filter(|s| s.contains(".extern .func")).collect();
    if !externs.is_empty() {
        return Err(BackendError::codegen(
            "PTX module (unresolved calls)",
            format!("the device code calls functions outside the module: {}", externs.join("; ")),
        ));
    }
    let buffer = |(name, b): &(String, usize)| -> Result<LaunchBuffer, BackendError> {
        let buf = &l.buffers[*b];
        let offset = l.offset(*b).ok_or_else(|| BackendError::Unsupported {
            op: "output".into(),
            node: name.clone(),
            reason: "a graph input or output that is a constant has no arena slot in PTX".into(),
        })?;
        Ok(LaunchBuffer {
            name: name.clone(),
            offset,
            bytes: buf.bytes(),
            dtype: buf.dtype.to_string(),
            shape: buf.shape.clone(),
        })
    };
    let launch = Launch {
        format: LAUNCH_FORMAT.into(),
        target: target.cpu,
        arena_bytes: l.arena_size,
        status_global: STATUS_GLOBAL.into(),
        steps,
        inputs: l.inputs.iter().map(buffer).collect::<Result<_, _>>()?,
        outputs: l.outputs.iter().map(buffer).collect::<Result<_, _>>()?,
    };
    Ok(PtxModel { ptx, launch })
}

/// Intrinsics NVPTX code generation cannot select (LLVM aborts the process on them): other
/// targets' intrinsics, and `llvm.roundeven` (DESIGN §5: use `llvm.rint`).
const FOREIGN_INTRINSICS: &[&str] =
    &["llvm.x86.", "llvm.aarch64.", "llvm.arm.", "llvm.wasm.", "llvm.roundeven."];

/// Every function the module declares without defining must be an LLVM intrinsic NVPTX can
/// lower: no other target's intrinsic (x86 `pmaddwd`, …), no `llvm.roundeven`, no external
/// function (libm: nothing to link on the GPU). Checked before and after optimization, since
/// LLVM aborts instead of failing on some of them.
fn device_calls_ok(module: &inkwell::module::Module<'_>) -> Result<(), BackendError> {
    let mut bad = Vec::new();
    for f in module.get_functions() {
        if f.count_basic_blocks() > 0 {
            continue;
        }
        let name = f.get_name().to_string_lossy().into_owned();
        let foreign = FOREIGN_INTRINSICS.iter().any(|p| name.starts_with(p));
        if foreign || !name.starts_with("llvm.") {
            bad.push(name);
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(BackendError::codegen(
            "PTX module (device calls)",
            format!("calls NVPTX cannot compile or link: {}", bad.join(", ")),
        ))
    }
}

impl Launch {
    /// The description as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a launch description serializes")
    }

    /// Reads a description written by [`Launch::to_json`].
    pub fn from_json(s: &str) -> Result<Launch, BackendError> {
        let l: Launch = serde_json::from_str(s)
            .map_err(|e| BackendError::BadInput(format!("launch description: {e}")))?;
        if l.format != LAUNCH_FORMAT {
            return Err(BackendError::BadInput(format!(
                "launch description format `{}`, expected `{LAUNCH_FORMAT}`",
                l.format
            )));
        }
        for b in l.inputs.iter().chain(&l.outputs) {
            if b.offset.checked_add(b.bytes).is_none_or(|end| end > l.arena_bytes) {
                return Err(BackendError::BadInput(format!(
                    "launch description: `{}` ({} bytes at {}) lies outside the {}-byte arena",
                    b.name, b.bytes, b.offset, l.arena_bytes
                )));
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_intrinsics_and_external_functions_are_refused() {
        let ctx = Context::create();
        let cg = Cg::new(&ctx, "t", nvptx_target());
        let v = ctx.void_type().fn_type(&[], false);
        cg.module.add_function("llvm.nvvm.barrier0", v, None);
        assert!(device_calls_ok(&cg.module).is_ok());
        for name in ["llvm.x86.sse2.pmadd.wd", "llvm.roundeven.f32", "expf"] {
            let cg = Cg::new(&ctx, "t", nvptx_target());
            cg.module.add_function(name, v, None);
            let e = device_calls_ok(&cg.module).unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn nvptx_target_machine() {
        let t = nvptx_target();
        assert_eq!((t.cpu.as_str(), t.features.as_str()), ("sm_86", "+ptx75"));
        t.machine().expect("the nvptx target is compiled into LLVM");
    }
}
