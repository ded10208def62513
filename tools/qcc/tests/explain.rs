//! `qcc explain` on the shipped models: a well-quantized CNN has no warnings about islands or
//! slowdown; a QDQ graph whose Softmax has no integer form is flagged as a float island and
//! predicted slower than fp32 (the "int8 slower than float" trap); an imported QDQ ONNX model is
//! realized into integer ops with its own scales.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn explain(args: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_qcc"))
        .current_dir(repo())
        .arg("explain")
        .args(args)
        .arg("--json")
        .output()
        .expect("run qcc");
    assert!(o.status.success(), "qcc explain failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

fn kinds(e: &Value) -> Vec<String> {
    e["warnings"].as_array().unwrap().iter().map(|w| w["kind"].as_str().unwrap().into()).collect()
}

#[test]
fn quantized_cnn_is_integer_and_predicted_faster() {
    let m = "tests/models/digits_cnn";
    let e = explain(&[&format!("{m}/model.onnx"), "--calib", &format!("{m}/calib.npz")]);
    let k = kinds(&e);
    assert!(!k.iter().any(|k| k == "float_island" || k == "slower_than_fp32"), "{k:?}");
    let nodes = e["nodes"].as_array().unwrap();
    for conv in ["conv1", "conv2", "fc"] {
        let row = nodes.iter().find(|n| n["node"] == conv).unwrap_or_else(|| panic!("{conv}"));
        assert_eq!(row["precision"], "integer", "{row}");
        assert!(row["isa"].is_string(), "integer GEMM/conv rows name their dot path: {row}");
    }
    assert!(e["predicted_int8_ms"].as_f64().unwrap() < e["predicted_fp32_ms"].as_f64().unwrap());
    let share: f64 = nodes.iter().map(|n| n["share"].as_f64().unwrap()).sum();
    assert!((share - 1.0).abs() < 1e-6, "shares sum to 1, got {share}");
}

#[test]
fn softmax_between_qdq_is_a_float_island_predicted_slower() {
    let e = explain(&["tests/models/softmax_island.qir"]);
    let w = e["warnings"].as_array().unwrap();
    let island = w.iter().find(|w| w["kind"] == "float_island").expect("island warning");
    assert_eq!(island["node"], "softmax");
    assert!(kinds(&e).iter().any(|k| k == "slower_than_fp32"), "{w:?}");
    assert!(e["predicted_int8_ms"].as_f64().unwrap() > e["predicted_fp32_ms"].as_f64().unwrap());
    assert_eq!(e["conversions"], 4);
}

#[test]
fn exported_qdq_onnx_is_realized_with_its_scales() {
    let m = "tests/models/digits_cnn";
    let dir = std::env::temp_dir().join(format!("qcc-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let onnx = dir.join("digits.qdq.onnx");
    let o = Command::new(env!("CARGO_BIN_EXE_qcc"))
        .current_dir(repo())
        .args(["quantize", &format!("{m}/model.onnx"), "--calib", &format!("{m}/calib.npz")])
        .args(["-o", onnx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e = explain(&[onnx.to_str().unwrap()]);
    let ops: Vec<&str> =
        e["nodes"].as_array().unwrap().iter().map(|n| n["op"].as_str().unwrap()).collect();
    assert_eq!(ops.iter().filter(|o| **o == "QConv").count(), 2, "{ops:?}");
    assert_eq!(ops.iter().filter(|o| **o == "QMatMul").count(), 1, "{ops:?}");
    assert!(!ops.contains(&"Conv") && !ops.contains(&"DequantizeLinear"), "{ops:?}");
}
