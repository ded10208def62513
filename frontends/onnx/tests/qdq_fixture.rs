//! A QDQ model made by ONNX Runtime's quantizer from `mlp_digits` (`fixtures/make_qdq_mlp.py`:
//! u8 activations, int4 per-channel weights, int32 biases) imports with its scales and runs on
//! the interpreter like ONNX Runtime.

mod common;

use qcc_ir::Op;
use qcc_onnx::{import_file, ImportOptions};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

#[test]
fn qdq_mlp_imports_with_its_quantization_ops() {
    let g = import_file(&fixture("mlp_digits_qdq.onnx"), &ImportOptions::default())
        .expect("QDQ model imports");
    let count = |f: fn(&Op) -> bool| g.node_ids().iter().filter(|&&n| f(&g.node(n).op)).count();
    assert_eq!(count(|o| matches!(o, Op::QuantizeLinear(_))), 4);
    assert_eq!(count(|o| matches!(o, Op::DequantizeLinear(_))), 10);
    // Weights keep their int4 storage and per-channel scales.
    let w = g
        .node_ids()
        .into_iter()
        .find(|&n| g.node(n).name == "w_1_quantized")
        .expect("w_1_quantized constant");
    let t = g.const_value(g.result(w)).expect("constant");
    assert_eq!(t.dtype, qcc_ir::DType::I4);
    assert_eq!(t.shape, vec![1024, 784]);
}

#[test]
fn qdq_mlp_runs_like_onnx_runtime() {
    let g = import_file(&fixture("mlp_digits_qdq.onnx"), &ImportOptions::default())
        .expect("QDQ model imports");
    let io = fixture("mlp_digits_qdq.npz");
    let x = common::npz_array(&io, "input");
    let want = common::npz_array(&io, "logits");
    let scale_node =
        g.node_ids().into_iter().find(|&n| g.node(n).name == "logits_scale").expect("logits_scale");
    let step = g.const_value(g.result(scale_node)).expect("const").to_f32_vec()[0];
    let mut exact = 0usize;
    let mut total = 0usize;
    for s in 0..x.shape[0] {
        let got = qcc_ir::interp::run(&g, &[common::sample(&x, s)]).expect("runs");
        let got = got[0].to_f32_vec();
        let w = common::sample(&want, s).to_f32_vec();
        assert_eq!(got.len(), w.len());
        for (a, b) in got.iter().zip(&w) {
            // Float accumulation order may move a value across a rounding boundary: at most
            // one quantization step of the output.
            assert!((a - b).abs() <= step * 1.001, "sample {s}: got {a}, ORT {b}, step {step}");
            exact += (a == b) as usize;
            total += 1;
        }
        let arg = |v: &[f32]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|p| p.0);
        assert_eq!(arg(&got), arg(&w), "sample {s}: top-1 differs from ONNX Runtime");
    }
    assert!(exact * 10 >= total * 9, "only {exact}/{total} outputs equal ONNX Runtime's");
}
