//! The CNN models of `../shared/models` through the Cranelift backend, one sample each:
//! fp32 against the interpreter (rtol 1e-4, atol 1e-4 on the logits) and against ONNX Runtime's
//! `ref.npz` (rtol 1e-3, atol 1e-4, the interpreter's own tolerance); int8 (the integer
//! realization from `qcc::quantize`, calibrated on 2 samples) bit-exact with the interpreter.
//!
//! lcnet_orientation ends in a Softmax, which this branch's backend does not compile (the
//! transformer kernels add it): its graphs are cut before the Softmax, the logits compared with
//! the interpreter's logits, and for `ref.npz` the softmax of the backend's logits is taken here.

use qcc::compare::check;
use qcc::data::{read_npz, split_samples};
use qcc::quantize::{quantize, QuantizeConfig};
use qcc_backend_cranelift::{compile, CompileOptions};
use qcc_ir::{Graph, Op, Tensor};
use std::path::PathBuf;

fn model_dir(name: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared/models").join(name);
        if cand.is_dir() {
            return cand;
        }
        if !dir.pop() {
            panic!("shared model `{name}` not found beside the repository (../shared/models)");
        }
    }
}

fn first_sample(path: &std::path::Path, array: &str) -> Tensor {
    let arrays = read_npz(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, t) = arrays
        .into_iter()
        .find(|(n, _)| n == array)
        .unwrap_or_else(|| panic!("{}: no array `{array}`", path.display()));
    split_samples(&t).expect("split").remove(0)
}

/// Replaces a graph output produced by Softmax with the Softmax's input; true when cut.
fn cut_softmax(g: &mut Graph) -> bool {
    let mut cut = false;
    let outs: Vec<(String, qcc_ir::Value)> = g
        .outputs()
        .iter()
        .map(|(n, v)| {
            if matches!(g.node(v.node).op, Op::Softmax(_)) {
                cut = true;
                (n.clone(), g.operand(v.node, 0).expect("softmax operand"))
            } else {
                (n.clone(), *v)
            }
        })
        .collect();
    g.set_outputs(outs).expect("outputs");
    g.remove_dead_nodes();
    cut
}

fn softmax_rows(t: &Tensor) -> Tensor {
    let v = t.as_f32().expect("f32");
    let n = *t.shape.last().expect("rank");
    let out: Vec<f32> = v
        .chunks(n)
        .flat_map(|r| {
            let mx = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = r.iter().map(|x| (x - mx).exp()).collect();
            let s: f32 = e.iter().sum();
            e.into_iter().map(move |x| x / s)
        })
        .collect();
    Tensor::f32(&t.shape, out)
}

fn run_model(name: &str, input: &str, output: &str) {
    let dir = model_dir(name);
    let g = qcc::model::load_model(&dir.join("model.onnx")).expect("load");
    let calib = read_npz(&dir.join("calib.npz")).expect("calib");
    let calib_t = &calib.iter().find(|(n, _)| n == input).expect("calib input").1;
    let samples: Vec<Vec<Tensor>> =
        split_samples(calib_t).expect("split").into_iter().take(2).map(|t| vec![t]).collect();
    let qm = quantize(&g, &samples, &QuantizeConfig::default(), &|| {}).expect("quantize");
    let x = first_sample(&dir.join("eval.npz"), input);
    let want_ref = first_sample(&dir.join("ref.npz"), output);
    let xs = std::slice::from_ref(&x);

    // fp32.
    let mut float = qm.float.clone();
    let cut = cut_softmax(&mut float);
    let cm = compile(&float, &CompileOptions::default()).expect("compile fp32");
    eprintln!(
        "{name} fp32: compile {:.1} ms (Cranelift {:.1} ms; {} steps, arena {} bytes)",
        cm.compile_time().as_secs_f64() * 1e3,
        cm.codegen_time().as_secs_f64() * 1e3,
        cm.lowered().steps.len(),
        cm.lowered().arena_size
    );
    let got = cm.run(xs).expect("run fp32");
    let interp = qcc_ir::interp::run(&float, xs).expect("interp fp32");
    let c = check(&got[0], &interp[0], 1e-4, 1e-4).expect("compare");
    assert!(c.ok, "{name} fp32 vs interpreter: max abs err {:.3e}", c.max_abs_err);
    let probs = if cut { softmax_rows(&got[0]) } else { got[0].clone() };
    let c = check(&probs, &want_ref, 1e-3, 1e-4).expect("compare ref");
    assert!(c.ok, "{name} fp32 vs ref.npz: max abs err {:.3e}", c.max_abs_err);

    // int8: bit-exact.
    let mut int = qm.int.clone();
    cut_softmax(&mut int);
    let cm = compile(&int, &CompileOptions::default()).expect("compile int8");
    eprintln!(
        "{name} int8: compile {:.1} ms (Cranelift {:.1} ms)",
        cm.compile_time().as_secs_f64() * 1e3,
        cm.codegen_time().as_secs_f64() * 1e3
    );
    let got = cm.run(xs).expect("run int8");
    let want = qcc_ir::interp::run(&int, xs).expect("interp int8");
    assert_eq!(got, want, "{name} int8 differs from the interpreter");
    let cm2 = compile(&int, &CompileOptions { threads: 2, ..Default::default() }).expect("compile");
    assert_eq!(cm2.run(xs).expect("run"), want, "{name} int8, 2 threads");
}

#[test]
fn mlp_digits_cranelift_fp32_and_int8() {
    run_model("mlp_digits", "input", "logits");
}

#[test]
fn mobilenetv2_cranelift_fp32_and_int8() {
    run_model("mobilenetv2_random", "input", "logits");
}

#[test]
fn lcnet_cranelift_fp32_and_int8() {
    run_model("lcnet_orientation", "x", "fetch_name_0");
}
