//! The four models of `../shared/models` through the LLVM backend (`qcc::engine`, feature
//! `llvm`), one sample each, with one and two threads:
//!
//! * fp32 against the interpreter (rtol 1e-4, atol 1e-4) and ONNX Runtime's `ref.npz` (rtol
//!   1e-3, atol 1e-4, the interpreter's own tolerance);
//! * int8 (the integer realization from `qcc::quantize`, calibrated on 2 samples) bit-exact with
//!   the interpreter, float islands included (minilm keeps LayerNorm and Softmax in float: the
//!   backend computes them in the interpreter's f64 arithmetic). lcnet's final Softmax runs in
//!   float too; its graph is checked whole and also cut before the Softmax.
#![cfg(feature = "llvm")]

use qcc::compare::check;
use qcc::data::{read_npz, split_samples};
use qcc::engine::{compile_native, Native};
use qcc::quantize::{quantize, QuantizeConfig};
use qcc_ir::{Graph, Op, Tensor};
use std::path::{Path, PathBuf};

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

/// Sample `s` of every array of `file` bound to the graph inputs by name.
fn sample(g: &Graph, file: &Path, s: usize) -> Vec<Tensor> {
    let arrays = read_npz(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    g.inputs()
        .iter()
        .map(|&id| {
            let name = &g.node(id).name;
            let t = &arrays.iter().find(|(n, _)| n == name).expect("input array").1;
            split_samples(t).expect("split").remove(s)
        })
        .collect()
}

fn reference(file: &Path, name: &str) -> Tensor {
    let arrays = read_npz(file).expect("ref.npz");
    let t = &arrays.iter().find(|(n, _)| n == name).expect("ref array").1;
    split_samples(t).expect("split").remove(0)
}

/// Replaces graph outputs produced by Softmax with the Softmax's input.
fn cut_softmax(g: &mut Graph) {
    let outs: Vec<(String, qcc_ir::Value)> = g
        .outputs()
        .iter()
        .map(|(n, v)| match g.node(v.node).op {
            Op::Softmax(_) => (n.clone(), g.operand(v.node, 0).expect("softmax operand")),
            _ => (n.clone(), *v),
        })
        .collect();
    g.set_outputs(outs).expect("outputs");
    g.remove_dead_nodes();
}

fn run_model(name: &str, cut: bool) {
    let dir = model_dir(name);
    let g = qcc::model::load_model(&dir.join("model.onnx")).expect("load");
    let calib: Vec<Vec<Tensor>> = (0..2).map(|s| sample(&g, &dir.join("calib.npz"), s)).collect();
    let qm = quantize(&g, &calib, &QuantizeConfig::default(), &|| {}).expect("quantize");
    let xs = sample(&g, &dir.join("eval.npz"), 0);
    for threads in [1, 2] {
        let cm = compile_native(Native::Llvm, &qm.float, threads).expect("compile fp32");
        eprintln!("{name} fp32: compile {:.0} ms", cm.compile_time().as_secs_f64() * 1e3);
        let got = cm.run(&xs).expect("run fp32");
        let want = qcc_ir::interp::run(&qm.float, &xs).expect("interp fp32");
        for (((out, _), a), b) in qm.float.outputs().iter().zip(&got).zip(&want) {
            let c = check(a, b, 1e-4, 1e-4).expect("compare");
            assert!(c.ok, "{name} fp32 `{out}` vs interpreter: max abs err {:.3e}", c.max_abs_err);
            let c = check(a, &reference(&dir.join("ref.npz"), out), 1e-3, 1e-4).expect("ref");
            assert!(c.ok, "{name} fp32 `{out}` vs ref.npz: max abs err {:.3e}", c.max_abs_err);
        }
        let mut cut_int = qm.int.clone();
        if cut {
            cut_softmax(&mut cut_int);
        }
        for int in [&qm.int, &cut_int] {
            let cm = compile_native(Native::Llvm, int, threads).expect("compile int8");
            eprintln!("{name} int8: compile {:.0} ms", cm.compile_time().as_secs_f64() * 1e3);
            let got = cm.run(&xs).expect("run int8");
            let want = qcc_ir::interp::run(int, &xs).expect("interp int8");
            assert_eq!(got, want, "{name} int8 differs from the interpreter ({threads} threads)");
            if !cut {
                break;
            }
        }
    }
}

#[test]
fn mlp_digits_llvm_fp32_and_int8() {
    run_model("mlp_digits", false);
}

#[test]
fn mobilenetv2_llvm_fp32_and_int8() {
    run_model("mobilenetv2_random", false);
}

#[test]
fn lcnet_llvm_fp32_and_int8() {
    run_model("lcnet_orientation", true);
}

#[test]
fn minilm_llvm_fp32_and_int8() {
    run_model("minilm_l6", false);
}
