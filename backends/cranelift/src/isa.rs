//! ISA configuration: host detection with `cranelift_native`, explicit dot-product flags, and the
//! kernel path (VNNI `vpdpbusd` fold or exact `pmaddwd`) that follows from them (DESIGN §5).

use crate::BackendError;
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};

/// Which int8 dot-product instruction sequence the GEMM kernels are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DotPath {
    /// u8·i8 widening tree that Cranelift folds into `vpdpbusd xmm` (AVX512-VNNI+VL or AVX-VNNI).
    Vnni,
    /// The same u8·i8 4-way dot product on AArch64: the widening tree with the activation operand
    /// first, which Cranelift folds into `usdot` (FEAT_I8MM). Packing and tiles are VNNI's.
    Usdot,
    /// Weights pre-widened to i16 at packing time; `pmaddwd` + `paddd` (exact, SSE2), or the
    /// generic widening multiply (`smull`/`saddlp`) on AArch64.
    Pmaddwd,
}

impl DotPath {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DotPath::Vnni => "vnni",
            DotPath::Usdot => "usdot",
            DotPath::Pmaddwd => "pmaddwd",
        }
    }
}

/// Options of the ISA the backend targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsaOptions {
    /// Never use VNNI even when the host has it (forces the `pmaddwd` path; for tests and CPUs
    /// without VNNI).
    pub disable_vnni: bool,
    /// Cranelift optimization level for kernels: `None` (the default, see DESIGN §5: the egraph
    /// at `speed` spills the GEMM accumulators) or `Some("speed")`.
    pub opt_level: Option<&'static str>,
}

/// What the host CPU offers, as detected at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostFeatures {
    /// AVX512-VNNI and AVX512-VL (the EVEX `vpdpbusd xmm`).
    pub avx512vnni_vl: bool,
    /// VEX AVX-VNNI.
    pub avx_vnni: bool,
    /// AVX2.
    pub avx2: bool,
}

impl HostFeatures {
    /// Detects the host's features.
    pub fn detect() -> HostFeatures {
        #[cfg(target_arch = "x86_64")]
        {
            HostFeatures {
                avx512vnni_vl: std::is_x86_feature_detected!("avx512vnni")
                    && std::is_x86_feature_detected!("avx512vl"),
                avx_vnni: std::is_x86_feature_detected!("avxvnni"),
                avx2: std::is_x86_feature_detected!("avx2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            HostFeatures::default()
        }
    }

    /// True when `vpdpbusd xmm` can be executed.
    pub fn has_vnni(&self) -> bool {
        self.avx512vnni_vl || self.avx_vnni
    }
}

/// A configured ISA with the dot-product path chosen for it.
pub struct Target {
    /// The Cranelift ISA.
    pub isa: OwnedTargetIsa,
    /// The GEMM path the ISA's flags allow.
    pub path: DotPath,
}

fn shared_flags(opts: &IsaOptions, pic: bool) -> Result<settings::Flags, BackendError> {
    let mut fb = settings::builder();
    let e = |e: settings::SetError| BackendError::Isa(e.to_string());
    fb.set("opt_level", opts.opt_level.unwrap_or("none")).map_err(e)?;
    fb.set("is_pic", if pic { "true" } else { "false" }).map_err(e)?;
    fb.set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" }).map_err(e)?;
    Ok(settings::Flags::new(fb))
}

/// The host ISA for JIT use: `cranelift_native` detection, with the VNNI flags set explicitly
/// from run-time detection (cleared when `opts.disable_vnni`).
pub fn host_target(opts: &IsaOptions) -> Result<Target, BackendError> {
    let mut ib = cranelift_native::builder().map_err(|e| BackendError::Isa(e.to_string()))?;
    let host = HostFeatures::detect();
    let vnni = host.has_vnni() && !opts.disable_vnni;
    if cfg!(target_arch = "x86_64") {
        let set = |ib: &mut isa::Builder, name: &str, on: bool| {
            ib.set(name, if on { "true" } else { "false" })
                .map_err(|e| BackendError::Isa(format!("{name}: {e}")))
        };
        set(&mut ib, "has_avx512vnni", vnni && host.avx512vnni_vl)?;
        set(&mut ib, "has_avx512vl", host.avx512vnni_vl)?;
        set(&mut ib, "has_avx_vnni", vnni && host.avx_vnni)?;
    }
    let isa =
        ib.finish(shared_flags(opts, false)?).map_err(|e| BackendError::Isa(e.to_string()))?;
    let path = if vnni && cfg!(target_arch = "x86_64") { DotPath::Vnni } else { DotPath::Pmaddwd };
    Ok(Target { isa, path })
}

/// An x86-64 ISA with explicitly chosen features, for AOT objects and for inspecting the code of
/// a path the host cannot run (e.g. checking `vpdpbusd` on a CPU without VNNI).
pub fn x86_64_target(vnni: bool, opts: &IsaOptions, pic: bool) -> Result<Target, BackendError> {
    let triple = "x86_64-unknown-linux-gnu"
        .parse()
        .map_err(|e| BackendError::Isa(format!("triple: {e}")))?;
    let mut ib = isa::lookup(triple).map_err(|e| BackendError::Isa(e.to_string()))?;
    for f in
        ["has_sse3", "has_ssse3", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2"]
    {
        ib.enable(f).map_err(|e| BackendError::Isa(format!("{f}: {e}")))?;
    }
    if vnni {
        for f in ["has_avx512f", "has_avx512vl", "has_avx512vnni"] {
            ib.enable(f).map_err(|e| BackendError::Isa(format!("{f}: {e}")))?;
        }
    }
    let isa = ib.finish(shared_flags(opts, pic)?).map_err(|e| BackendError::Isa(e.to_string()))?;
    Ok(Target { isa, path: if vnni { DotPath::Vnni } else { DotPath::Pmaddwd } })
}

/// An AArch64 (Linux, ELF) ISA for AOT objects. With `i8mm` (FEAT_I8MM, which implies
/// FEAT_DotProd: Cortex-A510/A710/X2 and later, Neoverse V1/N2, Apple M2) the int8 GEMMs use
/// `usdot` (u8 activations × i8 weights, 16 MACs per instruction); without it, the exact widening
/// path (`smull`/`saddlp` from Cranelift's generic widening ops) that every AArch64 core runs.
pub fn aarch64_target(i8mm: bool, opts: &IsaOptions, pic: bool) -> Result<Target, BackendError> {
    let triple = "aarch64-unknown-linux-gnu"
        .parse()
        .map_err(|e| BackendError::Isa(format!("triple: {e}")))?;
    let mut ib = isa::lookup(triple).map_err(|e| BackendError::Isa(e.to_string()))?;
    if i8mm {
        for f in ["has_dotprod", "has_i8mm"] {
            ib.enable(f).map_err(|e| BackendError::Isa(format!("{f}: {e}")))?;
        }
    }
    let isa = ib.finish(shared_flags(opts, pic)?).map_err(|e| BackendError::Isa(e.to_string()))?;
    Ok(Target { isa, path: if i8mm { DotPath::Usdot } else { DotPath::Pmaddwd } })
}
