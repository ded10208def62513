//! The bodies of the fuzz targets of `tests/fuzz/` (cargo-fuzz), here so that
//! `tools/qcc/tests/fuzz_regressions.rs` replays crash inputs through exactly the same code.
//! Each takes raw bytes and must never panic; errors are the expected outcome of bad input.

pub mod diff;

use qcc_ir::Limits;
use std::path::Path;

/// The limits the fuzz targets run under (small, so a hostile size is an error quickly).
pub fn limits() -> Limits {
    Limits {
        max_tensor_bytes: 1 << 24,
        max_nodes: 10_000,
        max_depth: 2_000,
        max_arena_bytes: 1 << 26,
    }
}

/// The ONNX loader on raw bytes (decode, import, inference, folding), then verify and print.
pub fn onnx_load(data: &[u8]) {
    let opts = qcc_onnx::ImportOptions { limits: limits(), ..Default::default() };
    if let Ok(g) = qcc_onnx::import_bytes(data, &opts) {
        let _ = qcc_ir::verify::verify(&g);
        let _ = qcc_ir::print::print(&g);
    }
}

/// The `.qir` parser; what parses is checked against the limits, verified, and (when it
/// verifies) printed and parsed back, which must succeed; then type inference runs.
pub fn qir_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut g) = qcc_ir::parse::parse(text) else { return };
    if limits().check_graph(&g).is_err() {
        return;
    }
    if qcc_ir::verify::verify(&g).is_ok() {
        let opts = qcc_ir::print::PrintOptions { inline_limit: usize::MAX };
        let printed = qcc_ir::print::print_with(&g, &opts, &Default::default()).text;
        let back = qcc_ir::parse::parse(&printed);
        assert!(
            back.is_ok(),
            "a verified graph prints to text that does not parse:\n{printed}\n{back:?}"
        );
    }
    let _ = qcc_ir::infer::infer_graph(&mut g);
}

/// The `.npz` and `.npy` readers on raw bytes; arrays read are split into samples.
pub fn npz_read(data: &[u8]) {
    let l = limits();
    if let Ok(arrays) = crate::data::read_npz_bytes(Path::new("fuzz.npz"), data, &l) {
        for (_, t) in &arrays {
            let _ = crate::data::split_samples(t);
        }
    }
    let _ = crate::data::read_npy_bytes(Path::new("fuzz.npy"), data, &l);
}
