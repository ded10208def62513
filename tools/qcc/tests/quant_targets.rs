//! Quantization fidelity on `mlp_digits` (the smallest shared model; the larger models'
//! figures are recorded release-mode `qcc eval` runs, see the README): the default integer
//! realization reaches the 39 dB, float-output units beat requantized outputs, entropy
//! calibration is not broken by the Relu zero spike, and per-layer sensitivity / auto mixed
//! precision do what they say.

use qcc::quantize::{prepare, QuantizeConfig};
use qcc::sensitivity::{auto_mixed, output_sqnr, sensitivity};
use qcc_ir::{DType, Op, Tensor};
use qcc_passes::calibrate::range::RangeMethod;
use std::path::{Path, PathBuf};

/// Calibration and evaluation samples used (of 256 and 397): keeps the debug test short.
const CALIB: usize = 64;
const EVAL: usize = 48;

fn model_dir() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/models/mlp_digits");
        if cand.is_dir() {
            return cand;
        }
        assert!(
            dir.pop(),
            "../shared/models/mlp_digits not found above {}: these tests need the shared data \
             folder beside the repository",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

fn samples(g: &qcc_ir::Graph, file: &str, n: usize) -> Vec<Vec<Tensor>> {
    let path = model_dir().join(file);
    let arrays = qcc::data::read_npz(&path).unwrap();
    let mut s = qcc::model::bind_samples(g, &arrays, file).unwrap();
    s.truncate(n);
    s
}

struct Mlp {
    g: qcc_ir::Graph,
    calib: Vec<Vec<Tensor>>,
    eval: Vec<Vec<Tensor>>,
}

fn mlp() -> Mlp {
    let g = qcc::model::load_model(&model_dir().join("model.onnx")).unwrap();
    let calib = samples(&g, "calib.npz", CALIB);
    let eval = samples(&g, "eval.npz", EVAL);
    Mlp { g, calib, eval }
}

#[test]
fn defaults_reach_39_db_and_float_outputs_beat_requantized_ones() {
    let m = mlp();
    let cfg = QuantizeConfig::default();
    let p = prepare(&m.g, &m.calib, &cfg, &|| {}).unwrap();
    let q = p.build(&cfg).unwrap();
    let db = output_sqnr(&q.float, &q.int, &m.eval).unwrap();
    assert!(db >= 39.0, "mlp_digits default integer SQNR {db:.2} dB < 39 dB");
    // The logits Gemm's accumulator is dequantized: no Quantize before the output.
    let (_, out) = &q.int.outputs()[0];
    assert!(matches!(q.int.node(out.node).op, Op::Dequantize));
    let acc = q.int.operand(out.node, 0).unwrap();
    assert_eq!(q.int.value_type(acc).dtype, DType::I32);
    let mut req = cfg.clone();
    req.scheme.float_outputs = false;
    let qr = p.build(&req).unwrap();
    let db_req = output_sqnr(&qr.float, &qr.int, &m.eval).unwrap();
    assert!(db > db_req + 1.0, "float outputs {db:.2} dB vs requantized {db_req:.2} dB");
}

#[test]
fn entropy_survives_the_relu_zero_spike() {
    // Both hidden layers are Gemm + Relu: half of their outputs are exact zeros. Before the
    // fix, the KL search clipped them to an eighth of their range (a few dB).
    let m = mlp();
    let cfg = QuantizeConfig { method: RangeMethod::Entropy, ..QuantizeConfig::default() };
    let q = prepare(&m.g, &m.calib, &cfg, &|| {}).unwrap().build(&cfg).unwrap();
    let db = output_sqnr(&q.float, &q.int, &m.eval).unwrap();
    assert!(db >= 30.0, "entropy SQNR {db:.2} dB");
}

#[test]
fn sensitivity_ranks_layers_and_auto_mixed_meets_its_target() {
    let m = mlp();
    let cfg = QuantizeConfig::default();
    let p = prepare(&m.g, &m.calib, &cfg, &|| {}).unwrap();
    let few = &m.eval[..16];
    let sens = sensitivity(&p, &cfg, few).unwrap();
    let full = p.build(&cfg).unwrap();
    assert_eq!(sens.len(), full.report.quantized.len());
    assert!(sens.iter().all(|l| l.sqnr_db.is_finite() && l.sqnr_db > 0.0 && l.cost > 0));
    // One layer alone adds less noise than all of them together.
    let all_db = output_sqnr(&full.float, &full.qdq, few).unwrap();
    assert!(sens.iter().all(|l| l.sqnr_db >= all_db - 0.5), "{sens:?} vs {all_db}");

    // A target above the all-quantized figure keeps some layers float, and is met.
    let target = all_db + 4.0;
    let (q, r) = auto_mixed(&p, &cfg, few, &sens, target).unwrap();
    assert!(r.met && !r.kept_float.is_empty(), "{r:?}");
    assert!(r.kept_float.len() < sens.len(), "{r:?}");
    assert!(r.sqnr_db >= target);
    let check = output_sqnr(&q.float, &q.int, few).unwrap();
    assert!((check - r.sqnr_db).abs() < 1e-6);
    for k in &r.kept_float {
        assert!(q.report.kept_float.iter().any(|(n, _)| n == k), "{k} not kept float");
    }
    // A target already met keeps everything quantized.
    let (_, r) = auto_mixed(&p, &cfg, few, &sens, all_db - 10.0).unwrap();
    assert!(r.met && r.kept_float.is_empty(), "{r:?}");
    // An impossible target is reported as not met.
    let (_, r) = auto_mixed(&p, &cfg, few, &sens, 500.0).unwrap();
    assert!(!r.met, "{r:?}");
}
