//! Quantization fidelity on `mlp_digits` (the smallest shared model; the larger models'
//! figures are recorded release-mode `qcc eval` runs, see the README): the default integer
//! realization reaches the 39 dB, float-output units beat requantized outputs, entropy
//! calibration is not broken by the Relu zero spike, and per-layer sensitivity / auto mixed
//! precision do what they say.

use qcc::quantize::{prepare, QuantizeConfig};
use qcc::sensitivity::{auto_mixed, output_sqnr, sensitivity, widened, Fallback};
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
    let (q, r) = auto_mixed(&p, &cfg, few, &sens, target, Fallback::Float).unwrap();
    assert!(r.met && !r.kept_float.is_empty(), "{r:?}");
    assert!(r.kept_float.len() < sens.len(), "{r:?}");
    assert!(r.sqnr_db >= target);
    let check = output_sqnr(&q.float, &q.int, few).unwrap();
    assert!((check - r.sqnr_db).abs() < 1e-6);
    for k in &r.kept_float {
        assert!(q.report.kept_float.iter().any(|(n, _)| n == k), "{k} not kept float");
    }
    // A target already met keeps everything quantized.
    let (_, r) = auto_mixed(&p, &cfg, few, &sens, all_db - 10.0, Fallback::Float).unwrap();
    assert!(r.met && r.kept_float.is_empty(), "{r:?}");
    // An impossible target is reported as not met.
    let (_, r) = auto_mixed(&p, &cfg, few, &sens, 500.0, Fallback::Float).unwrap();
    assert!(!r.met, "{r:?}");

    // With i16 as the higher precision, a target between all-8-bit and all-i16 is met by
    // widening layers: no layer stays in float, and the realized graph is integer with i16
    // values. (Here the weights, which stay i8, bound what i16 results can reach.)
    let mut all_wide = cfg.clone();
    all_wide.scheme.wide = sens.iter().flat_map(|l| widened(&p.float, &l.node)).collect();
    let w = p.build(&all_wide).unwrap();
    let wide_db = output_sqnr(&w.float, &w.int, few).unwrap();
    let int_db = output_sqnr(&full.float, &full.int, few).unwrap();
    assert!(wide_db > int_db + 1.0, "all i16 {wide_db:.2} dB vs all 8-bit {int_db:.2} dB");
    let target = (int_db + wide_db) / 2.0;
    let (q, r) = auto_mixed(&p, &cfg, few, &sens, target, Fallback::Wide).unwrap();
    assert!(r.met && r.kept_float.is_empty() && !r.kept_wide.is_empty(), "{r:?}");
    assert!(r.kept_wide.len() < sens.len(), "{r:?}");
    assert!(r.sqnr_db >= target);
    assert!((output_sqnr(&q.float, &q.int, few).unwrap() - r.sqnr_db).abs() < 1e-6);
    assert!(q.report.kept_float.is_empty(), "{:?}", q.report.kept_float);
    let i16s = q.int.node_ids().into_iter().flat_map(|n| q.int.results(n).to_vec());
    assert!(i16s.filter(|&v| q.int.value_type(v).dtype == qcc_ir::DType::I16).count() > 0);
    // A target i16 cannot reach falls back to float.
    let (_, r) = auto_mixed(&p, &cfg, few, &sens, 500.0, Fallback::Wide).unwrap();
    assert!(!r.met && !r.kept_float.is_empty() && r.kept_wide.is_empty(), "{r:?}");
}

#[test]
fn empirical_bias_correction_matches_float_means() {
    // After one sequential round, every corrected layer's per-channel output mean in the QDQ
    // simulation equals the float one on the measured samples (up to the bias rounding to
    // s_in·s_w), and is much closer than without the correction.
    use qcc_passes::quant::bias_correct::{bias_offsets, bias_targets, channel_means};
    let m = mlp();
    let cfg = QuantizeConfig { bias_rounds: 1, bias_samples: 16, ..QuantizeConfig::default() };
    let p = prepare(&m.g, &m.calib, &cfg, &|| {}).unwrap();
    assert_eq!(p.bias_samples.len(), 16);
    let plain = p.build(&QuantizeConfig { bias_rounds: 0, ..cfg.clone() }).unwrap();
    let fixed = p.build(&cfg).unwrap();
    let targets = bias_targets(&p.float).unwrap();
    assert_eq!(targets.len(), 3, "{targets:?}");
    let values: Vec<_> = targets.values().copied().collect();
    let f = channel_means(&p.float, &values, &p.bias_samples).unwrap();
    let err = |g: &qcc_ir::Graph| {
        let q = channel_means(g, &values, &p.bias_samples).unwrap();
        values
            .iter()
            .map(|v| f[v].iter().zip(&q[v]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max))
            .fold(0f32, f32::max)
    };
    let (before, after) = (err(&plain.qdq), err(&fixed.qdq));
    assert!(after < before / 10.0 && after < 1e-3, "max mean error {before} → {after}");
    // The offsets a second measurement finds are what is left: tiny.
    let left =
        bias_offsets(&p.float, &fixed.qdq, &fixed.report.quantized, &p.bias_samples).unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.values().flatten().all(|d| d.abs() < 1e-3), "{left:?}");
}

#[test]
fn wide_values_are_i16_and_stay_integer() {
    // `wide` quantizes the named results as i16 (mixed u8/i16): the realization is still all
    // integer (16-bit Requantize and Clip into the next Gemm) and at least as accurate as u8.
    let m = mlp();
    let cfg = QuantizeConfig::default();
    let p = prepare(&m.g, &m.calib, &cfg, &|| {}).unwrap();
    let mut wide = cfg.clone();
    wide.scheme.wide = vec!["relu_4".into(), "relu_8".into()];
    let q = p.build(&wide).unwrap();
    let i16_ops: Vec<&str> = q
        .int
        .node_ids()
        .into_iter()
        .filter(|&n| q.int.node(n).results.iter().any(|t| t.dtype == DType::I16))
        .map(|n| q.int.node(n).op.name())
        .collect();
    // Each hidden Gemm's accumulator is requantized to i16 and its Relu clamps in i16.
    assert_eq!(
        i16_ops.iter().filter(|&&o| o == "Requantize" || o == "Clip").count(),
        4,
        "{i16_ops:?}"
    );
    let float_ops = q
        .int
        .node_ids()
        .into_iter()
        .filter(|&n| matches!(q.int.node(n).op, Op::Gemm(_) | Op::Relu))
        .count();
    assert_eq!(float_ops, 0, "every Gemm and Relu is integer");
    let db_wide = output_sqnr(&q.float, &q.int, &m.eval).unwrap();
    let base = p.build(&cfg).unwrap();
    let db = output_sqnr(&base.float, &base.int, &m.eval).unwrap();
    assert!(db_wide >= db, "wide {db_wide:.2} dB < u8 {db:.2} dB");
}

#[test]
fn cle_balances_digits_cnn_and_keeps_its_function() {
    // digits_cnn: conv1 → Relu → conv2. With `cle`, conv1's output channel ranges equal
    // conv2's input channel ranges, the float outputs are unchanged (to f32 rounding), and the
    // integer model still quantizes well.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models/digits_cnn");
    let g = qcc::model::load_model(&dir.join("model.onnx")).unwrap();
    let arrays = qcc::data::read_npz(&dir.join("calib.npz")).unwrap();
    let mut calib = qcc::model::bind_samples(&g, &arrays, "calib.npz").unwrap();
    calib.truncate(32);
    let cfg = QuantizeConfig { cle: true, ..QuantizeConfig::default() };
    let p = prepare(&g, &calib, &cfg, &|| {}).unwrap();
    let p0 = prepare(&g, &calib, &QuantizeConfig::default(), &|| {}).unwrap();
    let w = |name: &str| {
        let n = p.float.node_ids().into_iter().find(|&n| p.float.node(n).name == name).unwrap();
        let t = p.float.const_value(p.float.operand(n, 1).unwrap()).unwrap().clone();
        (t.to_f32_vec(), t.shape.clone())
    };
    let ((w1, s1), (w2, s2)) = (w("conv1"), w("conv2"));
    let k1: usize = s1[1..].iter().product();
    let k2: usize = s2[2..].iter().product();
    for i in 0..s1[0] {
        let r1 = w1[i * k1..(i + 1) * k1].iter().fold(0f32, |m, x| m.max(x.abs()));
        let r2 = (0..s2[0])
            .flat_map(|o| &w2[(o * s2[1] + i) * k2..(o * s2[1] + i + 1) * k2])
            .fold(0f32, |m, x| m.max(x.abs()));
        assert!((r1 - r2).abs() <= 1e-4 * r1.max(r2), "channel {i}: {r1} vs {r2}");
    }
    let db = output_sqnr(&p0.float, &p.float, &calib[..8]).unwrap();
    assert!(db > 100.0, "CLE changed the float function: {db:.1} dB");
    let q = p.build(&cfg).unwrap();
    let qdb = output_sqnr(&q.float, &q.int, &calib[..8]).unwrap();
    assert!(qdb > 25.0, "integer digits_cnn after CLE: {qdb:.1} dB");
}
