//! Targets: the host (CPU name and features detected by LLVM, put on every function so the JIT
//! does not fall back to baseline x86-64) and the [`TargetMachine`] that drives the optimizer's
//! cost model and code generation.

use crate::BackendError;
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;

/// A code generation target: triple, CPU and feature string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// LLVM target triple.
    pub triple: String,
    /// LLVM CPU name (`znver4`, `generic`, …).
    pub cpu: String,
    /// LLVM feature string (`+avx2,+fma,…`).
    pub features: String,
}

impl TargetSpec {
    /// The machine this process runs on, as LLVM detects it.
    pub fn host() -> TargetSpec {
        TargetSpec {
            triple: TargetMachine::get_default_triple().as_str().to_string_lossy().into_owned(),
            cpu: TargetMachine::get_host_cpu_name().to_string(),
            features: TargetMachine::get_host_cpu_features().to_string(),
        }
    }

    /// Whether the feature string enables `feat` (e.g. `avx512vnni`).
    pub fn has(&self, feat: &str) -> bool {
        self.features.split(',').any(|f| f.strip_prefix('+') == Some(feat))
    }

    /// The widest vector register in bits (for register tiles): 512 with AVX-512F, 256 with
    /// AVX2, else 128.
    pub fn vector_bits(&self) -> u32 {
        if self.has("avx512f") && self.has("avx512bw") {
            512
        } else if self.has("avx2") {
            256
        } else {
            128
        }
    }

    /// An LLVM target machine for this spec (optimization level 3).
    pub fn machine(&self) -> Result<TargetMachine, BackendError> {
        Target::initialize_all(&InitializationConfig::default());
        let triple = TargetTriple::create(&self.triple);
        let target =
            Target::from_triple(&triple).map_err(|e| BackendError::Target(e.to_string()))?;
        target
            .create_target_machine(
                &triple,
                &self.cpu,
                &self.features,
                OptimizationLevel::Aggressive,
                RelocMode::Default,
                CodeModel::JITDefault,
            )
            .ok_or_else(|| BackendError::Target(format!("no target machine for {}", self.triple)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_detected() {
        let h = TargetSpec::host();
        assert!(!h.triple.is_empty() && !h.cpu.is_empty());
        if cfg!(target_arch = "x86_64") {
            assert!(h.triple.starts_with("x86_64"), "{}", h.triple);
            assert!(h.has("sse2"), "{}", h.features);
            assert!(h.vector_bits() >= 128);
        }
        h.machine().expect("host target machine");
    }
}
