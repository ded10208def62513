//! Shared models (`../shared/models/*`) compiled by the Cranelift backend and compared with
//! ONNX Runtime's fp32 outputs (`ref.npz`) like the interpreter's test (rtol 1e-3, atol 1e-4),
//! and with the interpreter itself.

mod common;

use qcc_backend_cranelift::{compile, CompileOptions};
use qcc_onnx::conformance::compare;
use qcc_onnx::{import_file, ImportOptions};

#[test]
fn mlp_digits_fp32_matches_ort_and_interpreter() {
    let dir = common::shared_dir().join("models/mlp_digits");
    let g = import_file(&dir.join("model.onnx"), &ImportOptions::default()).expect("import");
    let cm = compile(&g, &CompileOptions::default()).expect("compile");
    eprintln!(
        "mlp_digits: compile {:.1} ms (Cranelift {:.1} ms)\n{}",
        cm.compile_time().as_secs_f64() * 1e3,
        cm.codegen_time().as_secs_f64() * 1e3,
        qcc_lowering::print(cm.lowered())
    );
    let input = common::npz_array(&dir.join("eval.npz"), &g.node(g.inputs()[0]).name);
    let want = common::npz_array(&dir.join("ref.npz"), &g.outputs()[0].0);
    let labels = common::npz_array(&dir.join("eval.npz"), "labels").into_i64().expect("labels");
    let mut correct = 0;
    #[allow(clippy::needless_range_loop)]
    for s in 0..labels.len() {
        let x = common::sample(&input, s);
        let got = cm.run(std::slice::from_ref(&x)).expect("run");
        compare(&got[0], &common::sample(&want, s), 1e-3, 1e-4)
            .unwrap_or_else(|e| panic!("sample {s}: {e}"));
        if s < 8 {
            let interp = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interp");
            compare(&got[0], &interp[0], 1e-4, 1e-5)
                .unwrap_or_else(|e| panic!("sample {s} vs interp: {e}"));
        }
        let v = got[0].as_f32().expect("f32");
        let arg = v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i as i64);
        correct += (arg == Some(labels[s])) as usize;
    }
    let acc = correct as f64 / labels.len() as f64;
    eprintln!("mlp_digits accuracy (cranelift fp32) {acc:.4}");
    assert!((acc - 0.982367758186398).abs() < 0.5 / labels.len() as f64, "accuracy {acc}");
}

/// mlp_digits quantized by qcc-passes (calibrate → QDQ → integer realization), compiled, and
/// compared with the interpreter running the same integer graph: outputs bit-exact.
#[test]
fn mlp_digits_int8_is_bit_exact_with_interpreter() {
    use qcc_passes::calibrate::{calibrate, range::RangeMethod};
    use qcc_passes::quant::{insert::insert_qdq, realize::realize, scheme::QuantScheme};
    let dir = common::shared_dir().join("models/mlp_digits");
    let g = import_file(&dir.join("model.onnx"), &ImportOptions::default()).expect("import");
    let name = g.node(g.inputs()[0]).name.clone();
    let calib_in = common::npz_array(&dir.join("calib.npz"), &name);
    let samples: Vec<Vec<qcc_ir::Tensor>> =
        (0..32).map(|s| vec![common::sample(&calib_in, s)]).collect();
    let calib = calibrate(&g, &samples, 512, &|| {}).expect("calibrate");
    let ranges = calib.ranges(RangeMethod::MinMax, 256);
    let mut q = g.clone();
    insert_qdq(&mut q, &ranges, &calib.channel_means(), &QuantScheme::default()).expect("qdq");
    realize(&mut q, &QuantScheme::default()).expect("realize");
    let cm = compile(&q, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("compile: {e}\n{}", qcc_ir::print::print(&q)));
    eprintln!("{}", qcc_lowering::print(cm.lowered()));
    let cm2 = compile(&q, &CompileOptions { threads: 2, ..Default::default() }).expect("compile");
    let input = common::npz_array(&dir.join("eval.npz"), &name);
    for s in 0..24 {
        let x = common::sample(&input, s);
        let want = qcc_ir::interp::run(&q, std::slice::from_ref(&x)).expect("interp");
        let got = cm.run(std::slice::from_ref(&x)).expect("run");
        assert_eq!(got, want, "sample {s}");
        assert_eq!(cm2.run(std::slice::from_ref(&x)).expect("run"), want, "sample {s}, 2 threads");
    }
}
