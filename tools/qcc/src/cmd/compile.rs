//! `qcc compile`: an AOT object (weights embedded) and its C header, from the Cranelift backend
//! (x86-64, AArch64) or the LLVM backend (feature `llvm`: x86-64, AArch64, wasm32; and PTX with
//! a launch description for `--target nvptx`).

use super::qflags::QuantFlags;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use qcc_backend_cranelift::aot::{compile_object_with_limits, AotTarget};
use std::path::PathBuf;

/// Code generators for AOT objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompileBackend {
    /// Cranelift.
    Cranelift,
    /// LLVM (x86-64 for the host CPU or `--cpu`, AArch64 with dotprod/i8mm, wasm32 SIMD, nvptx).
    #[cfg(feature = "llvm")]
    Llvm,
}

/// Object targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompileTarget {
    /// x86-64 Linux (SSE4.2/AVX2; `--vnni` for AVX-512 VNNI kernels).
    #[value(name = "x86_64")]
    X86_64,
    /// AArch64 Linux.
    Aarch64,
    /// WebAssembly (wasm32, SIMD128; `--backend llvm`): a wasm object to link with
    /// `wasm-ld --no-entry --export=PREFIX_run` (or `rust-lld -flavor wasm`).
    Wasm32,
    /// NVIDIA GPUs (`--backend llvm`): OUT.ptx (sm_86, PTX 7.5) and OUT.launch.json.
    Nvptx,
}

/// Compile a model ahead of time into `OUT.o` (weights embedded) and `OUT.h` (a C API: sizes,
/// arena size, `PREFIX_run`). With `--calib` the model is quantized first (int8).
///
/// Example: `qcc compile model.onnx --calib calib.npz --backend cranelift --target aarch64 -o model`
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The model (`.onnx` or `.qir`).
    model: PathBuf,
    #[command(flatten)]
    q: QuantFlags,
    /// Code generator.
    #[arg(long, value_enum, default_value_t = CompileBackend::Cranelift)]
    backend: CompileBackend,
    /// Target machine.
    #[arg(long, value_enum, default_value_t = CompileTarget::X86_64)]
    target: CompileTarget,
    /// x86-64 only: generate the AVX-512 VNNI int8 kernels (the object then needs such a CPU).
    #[arg(long)]
    vnni: bool,
    /// `--backend cranelift`, AArch64 only: generate `usdot` int8 kernels (FEAT_I8MM: Cortex-A510/
    /// A710/X2 and later, Neoverse V1/N2, Apple M2; the object then needs such a CPU).
    #[arg(long)]
    i8mm: bool,
    /// `--backend llvm`, x86-64 only: the CPU to generate code for (an LLVM CPU name such as
    /// `x86-64-v3` or `skylake-avx512`; default: this machine's CPU and features).
    #[arg(long)]
    cpu: Option<String>,
    /// `--backend llvm` with `--cpu`: LLVM feature string (e.g. `+avx2,+fma`); the kernels size
    /// their vector tiles from it.
    #[arg(long, default_value = "")]
    features: String,
    /// Output path without extension: writes OUT.o and OUT.h; the C prefix is OUT's file name.
    #[arg(short, long)]
    output: PathBuf,
    /// Bind an ONNX input's shape, e.g. `input_ids=1,128` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=D,D,...")]
    input_shape: Vec<String>,
}

pub fn run(a: CompileArgs) -> anyhow::Result<i32> {
    let opts = qcc_onnx::ImportOptions {
        input_shapes: super::import::parse_input_shapes(&a.input_shape)?,
        ..Default::default()
    };
    let mut g = qcc::model::load_model_with(&a.model, &opts)?;
    if a.q.calib.is_some() {
        g = a.q.quantize(&g)?.int;
    } else if g.phase() < qcc_ir::Phase::Calibrated {
        // A float model; an already quantized graph (`qcc quantize -o x.qir`) is taken as is.
        qcc::quantize::canonicalize(&mut g)?;
    }
    match (a.backend, a.target) {
        #[cfg(feature = "llvm")]
        (CompileBackend::Llvm, CompileTarget::Nvptx) => return compile_ptx(&a, &g),
        (CompileBackend::Cranelift, CompileTarget::Nvptx) => {
            bail!("--target nvptx needs --backend llvm")
        }
        _ => {}
    }
    let base = a.output.with_extension("");
    let name = base.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if a.backend == CompileBackend::Cranelift && (a.cpu.is_some() || !a.features.is_empty()) {
        bail!("--cpu and --features are options of --backend llvm");
    }
    let (object, header, arena_size) = match a.backend {
        CompileBackend::Cranelift => {
            if a.i8mm && a.target != CompileTarget::Aarch64 {
                bail!("--i8mm is an AArch64 option");
            }
            let target = match (a.target, a.vnni) {
                (CompileTarget::X86_64, vnni) => AotTarget::X86_64 { vnni },
                (CompileTarget::Aarch64, false) => AotTarget::Aarch64 { i8mm: a.i8mm },
                (CompileTarget::Aarch64, true) => bail!("--vnni is an x86-64 option"),
                (CompileTarget::Wasm32, _) => bail!("wasm32 objects need --backend llvm"),
                (CompileTarget::Nvptx, _) => unreachable!("handled above"),
            };
            let art =
                compile_object_with_limits(&g, target, &name, &Default::default(), &qcc::limits())
                    .with_context(|| format!("compiling {}", a.model.display()))?;
            (art.object, art.header, art.arena_size)
        }
        #[cfg(feature = "llvm")]
        CompileBackend::Llvm => {
            use qcc_backend_llvm::aot;
            if a.vnni || a.i8mm {
                bail!(
                    "--vnni and --i8mm are Cranelift options: with --backend llvm give --cpu (and \
                     --features); its AArch64 objects always use +dotprod,+i8mm"
                );
            }
            if a.target != CompileTarget::X86_64 && a.cpu.is_some() {
                bail!("--cpu is an x86-64 option");
            }
            if a.cpu.is_none() && !a.features.is_empty() {
                bail!("--features goes with --cpu");
            }
            let spec = match a.target {
                CompileTarget::X86_64 => aot::x86_64(a.cpu.as_deref(), &a.features),
                CompileTarget::Aarch64 => aot::aarch64(),
                CompileTarget::Wasm32 => aot::wasm32(),
                CompileTarget::Nvptx => unreachable!("handled above"),
            };
            let art = aot::compile_object(&g, &spec, &name, &qcc::limits())
                .with_context(|| format!("compiling {}", a.model.display()))?;
            (art.object, art.header, art.arena_size)
        }
    };
    let (o, h) = (base.with_extension("o"), base.with_extension("h"));
    std::fs::write(&o, &object).with_context(|| format!("writing {}", o.display()))?;
    std::fs::write(&h, &header).with_context(|| format!("writing {}", h.display()))?;
    eprintln!(
        "{} → {} ({} bytes) + {} (arena {} bytes)",
        a.model.display(),
        o.display(),
        object.len(),
        h.display(),
        arena_size
    );
    Ok(0)
}

/// `--backend llvm --target nvptx`: OUT.ptx and OUT.launch.json (see `qcc_backend_llvm::ptx`).
#[cfg(feature = "llvm")]
fn compile_ptx(a: &CompileArgs, g: &qcc_ir::Graph) -> anyhow::Result<i32> {
    if a.vnni || a.i8mm {
        bail!("--vnni and --i8mm are CPU options");
    }
    let m = qcc_backend_llvm::ptx::compile_ptx(g, &qcc::limits())
        .with_context(|| format!("compiling {} to PTX", a.model.display()))?;
    let base = a.output.with_extension("");
    let (p, j) = (base.with_extension("ptx"), base.with_extension("launch.json"));
    std::fs::write(&p, &m.ptx).with_context(|| format!("writing {}", p.display()))?;
    std::fs::write(&j, m.launch.to_json()).with_context(|| format!("writing {}", j.display()))?;
    eprintln!(
        "{} → {} ({} bytes, {} kernels) + {} (arena {} bytes)",
        a.model.display(),
        p.display(),
        m.ptx.len(),
        m.launch.steps.len(),
        j.display(),
        m.launch.arena_bytes
    );
    Ok(0)
}
