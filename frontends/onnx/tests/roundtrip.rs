//! ONNX → IR → ONNX → IR gives the same printed IR, for the shared models and the QDQ fixture.

mod common;

use qcc_onnx::{export_model, import_bytes, import_file, ImportOptions};
use std::path::Path;

fn round_trip(path: &Path) {
    let g1 = import_file(path, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = export_model(&g1).unwrap_or_else(|e| panic!("{}: export: {e}", path.display()));
    let g2 = import_bytes(&bytes, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{}: re-import: {e}", path.display()));
    let (p1, p2) = (qcc_ir::print::print(&g1), qcc_ir::print::print(&g2));
    if p1 != p2 {
        let diff: Vec<String> = p1
            .lines()
            .zip(p2.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!("{}: printed IR differs after a round trip:\n{}", path.display(), diff.join("\n"));
    }
}

#[test]
fn shared_models_round_trip() {
    let models = common::shared_dir().join("models");
    for m in ["mlp_digits", "lcnet_orientation", "minilm_l6", "mobilenetv2_random"] {
        round_trip(&models.join(m).join("model.onnx"));
    }
}

#[test]
fn qdq_fixture_round_trips() {
    round_trip(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mlp_digits_qdq.onnx"));
}
