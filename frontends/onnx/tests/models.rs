//! The shared models (`../shared/models/*`) import and run on the reference interpreter,
//! matching ONNX Runtime's outputs (`ref.npz`) within rtol 1e-3 / atol 1e-4; `mlp_digits`
//! reproduces its accuracy on `eval.npz`. The large models run a few samples only.

mod common;

use qcc_onnx::conformance::compare;
use qcc_onnx::{import_file, ImportOptions};

const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-4;

/// Runs `samples` samples of a shared model; returns the outputs (sample-major).
fn check_model(name: &str, samples: usize) -> Vec<Vec<qcc_ir::Tensor>> {
    let dir = common::shared_dir().join("models").join(name);
    let g = import_file(&dir.join("model.onnx"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let eval = dir.join("eval.npz");
    let refs = dir.join("ref.npz");
    let inputs: Vec<_> =
        g.inputs().iter().map(|&id| common::npz_array(&eval, &g.node(id).name)).collect();
    let wants: Vec<_> = g.outputs().iter().map(|(n, _)| common::npz_array(&refs, n)).collect();
    let mut all = Vec::new();
    for s in 0..samples {
        let ins: Vec<_> = inputs.iter().map(|t| common::sample(t, s)).collect();
        let got = qcc_ir::interp::run(&g, &ins)
            .unwrap_or_else(|e| panic!("{name}: sample {s}: interpreter error: {e}"));
        for (k, (o, w)) in got.iter().zip(&wants).enumerate() {
            let w = common::sample(w, s);
            compare(o, &w, RTOL, ATOL).unwrap_or_else(|e| {
                panic!("{name}: sample {s}: output `{}`: {e}", g.outputs()[k].0)
            });
        }
        all.push(got);
    }
    all
}

#[test]
fn mlp_digits_matches_ort_and_reproduces_accuracy() {
    let dir = common::shared_dir().join("models/mlp_digits");
    let labels = common::npz_array(&dir.join("eval.npz"), "labels").into_i64().expect("i64");
    let outs = check_model("mlp_digits", labels.len());
    let correct = outs
        .iter()
        .zip(&labels)
        .filter(|(o, &l)| {
            let v = o[0].as_f32().expect("f32 logits");
            let arg = v
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i as i64)
                .expect("10 logits");
            arg == l
        })
        .count();
    let acc = correct as f64 / labels.len() as f64;
    println!("mlp_digits accuracy {acc:.4} ({correct}/{})", labels.len());
    assert!((acc - 0.982367758186398).abs() < 0.5 / labels.len() as f64, "accuracy {acc}");
}

#[test]
fn lcnet_orientation_matches_ort() {
    check_model("lcnet_orientation", 2);
}

#[test]
fn mobilenetv2_random_matches_ort() {
    check_model("mobilenetv2_random", 1);
}

#[test]
fn minilm_l6_matches_ort() {
    check_model("minilm_l6", 2);
}
