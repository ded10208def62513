//! A QDQ model keeps its scales through ONNX: qcc's QDQ export of the digits CNN, imported back
//! (as any QDQ model from ONNX Runtime or QAT is) and realized by `type-qdq` + `realize-qdq`,
//! gives an integer model whose outputs are bit-identical to qcc's own integer realization.

use qcc::quantize::{quantize, realize_qdq_model, QuantizeConfig};
use std::path::{Path, PathBuf};

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models/digits_cnn")
}

#[test]
fn exported_qdq_realizes_bit_exactly_like_qcc_own_integer_model() {
    let d = model_dir();
    let g = qcc::model::load_model(&d.join("model.onnx")).unwrap();
    let calib = qcc::data::read_npz(&d.join("calib.npz")).unwrap();
    let calib = qcc::model::bind_samples(&g, &calib, "calib.npz").unwrap();
    let q = quantize(&g, &calib, &QuantizeConfig::default(), &|| {}).unwrap();

    let bytes = qcc_onnx::export_model(&q.qdq).unwrap();
    let mut back = qcc_onnx::import_bytes(&bytes, &Default::default()).unwrap();
    realize_qdq_model(&mut back).unwrap();
    let ops = |g: &qcc_ir::Graph| {
        let mut v: Vec<String> = g.node_ids().iter().map(|&n| g.node(n).op.name().into()).collect();
        v.sort();
        v.retain(|o| o != "Constant");
        v
    };
    assert_eq!(ops(&back), ops(&q.int), "same integer ops after the round trip");

    let eval = qcc::data::read_npz(&d.join("eval.npz")).unwrap();
    let samples = qcc::model::bind_samples(&g, &eval, "eval.npz").unwrap();
    for s in samples.iter().take(60) {
        let a = qcc_ir::interp::run(&q.int, s).unwrap();
        let b = qcc_ir::interp::run(&back, s).unwrap();
        assert_eq!(a, b, "bit-identical outputs");
    }
}
