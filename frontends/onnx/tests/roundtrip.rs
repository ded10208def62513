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

/// The low-bit quantization and Cast node tests (float8 with and without saturation, float4,
/// 2-bit, 16-bit) survive export: types, zero points and `saturate` print the same.
#[test]
fn low_bit_node_tests_round_trip() {
    let node = common::shared_dir().join("onnx-node-tests/node");
    for case in [
        "test_quantizelinear_e4m3fn",
        "test_quantizelinear_e5m2",
        "test_quantizelinear_float4e2m1",
        "test_quantizelinear_int2",
        "test_quantizelinear_uint2",
        "test_quantizelinear_uint16",
        "test_dequantizelinear_e4m3fn_float16",
        "test_dequantizelinear_e4m3fn_zero_point",
        "test_dequantizelinear_e5m2",
        "test_dequantizelinear_float4e2m1",
        "test_dequantizelinear_int2",
        "test_dequantizelinear_uint16",
        "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN",
        "test_cast_FLOAT8E5M2_to_FLOAT",
    ] {
        round_trip(&node.join(case).join("model.onnx"));
    }
}
