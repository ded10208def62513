//! Whole graphs compiled by the LLVM backend against the reference interpreter: integer ops
//! bit-exact (QMatMul + Requantize + Relu fused, Quantize, Dequantize) over random shapes
//! (register-tile tails in rows, columns and odd k) and thread counts, f32 ops within 1e-4
//! relative; input checks; views; unsupported ops name the node; the GEMM's step alone.

use proptest::prelude::*;
use qcc_backend_conformance::models::{input, mlp};
use qcc_backend_llvm::{compile, BackendError, CompileOptions};
use qcc_ir::{DType, Graph, Op, Tensor, TensorType};

fn check(g: &Graph, x: &Tensor, threads: usize) {
    let want = qcc_ir::interp::run(g, std::slice::from_ref(x)).expect("interpreter");
    let opts = CompileOptions { threads, min_split_bytes: Some(0), ..Default::default() };
    let cm = compile(g, &opts).expect("compile");
    let got = cm.run(std::slice::from_ref(x)).expect("run");
    assert_eq!(got.len(), want.len());
    assert_eq!(got[0], want[0], "integer output must be bit-exact");
    let (a, b) = (got[1].as_f32().unwrap(), want[1].as_f32().unwrap());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "z[{i}]: {x} vs {y}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn mlp_matches_interpreter(m in 1usize..20, k in 1usize..70, n in 1usize..60, signed: bool, seed: u64, threads in 1usize..3) {
        let g = mlp(m, k, n, signed, seed);
        check(&g, &input(m, k, seed), threads);
    }
}

#[test]
fn large_gemm_tiles_and_threads() {
    // Several full register tiles plus tails in every direction.
    for &(m, k, n, threads) in &[(37, 129, 70, 1), (64, 256, 64, 2), (13, 3, 17, 2)] {
        let g = mlp(m, k, n, m % 2 == 0, 11);
        check(&g, &input(m, k, 5), threads);
    }
}

#[test]
fn plan_fuses_and_shares_memory() {
    let g = mlp(4, 33, 20, false, 7);
    let cm = compile(&g, &CompileOptions::default()).unwrap();
    let text = qcc_lowering::print(cm.lowered());
    assert!(text.contains("[QMatMul+Requantize+Relu]: qgemm m=4 n=20 k=33"), "{text}");
    assert!(text.contains("(view of %"), "{text}");
    // quantize, qgemm, dequantize, gemm_f32 (with the bias Add and Relu in its epilogue).
    assert!(text.contains("[MatMul+Add+Relu]: gemm_f32"), "{text}");
    assert_eq!(cm.lowered().steps.len(), 4, "{text}");
}

#[test]
fn bad_inputs_are_errors() {
    let g = mlp(2, 8, 4, true, 1);
    let cm = compile(&g, &CompileOptions::default()).unwrap();
    assert!(matches!(cm.run(&[]), Err(BackendError::BadInput(_))));
    let wrong = Tensor::f32(&[2, 9], vec![0.0; 18]);
    assert!(matches!(cm.run(&[wrong]), Err(BackendError::BadInput(_))));
    let wrong = Tensor::i32(&[2, 8], vec![0; 16]);
    assert!(matches!(cm.run(&[wrong]), Err(BackendError::BadInput(_))));
    assert!(matches!(cm.time_step(99, 1), Err(BackendError::BadInput(_))));
}

#[test]
fn unsupported_op_names_node() {
    let mut g = Graph::new("u");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[4]));
    let d = g.add_input("d", TensorType::fixed(DType::F32, &[4]));
    let y = g.add_op(Op::Mod, "my_mod", &[x, d], TensorType::fixed(DType::F32, &[4])).unwrap();
    g.add_output("y", y).unwrap();
    let e = compile(&g, &CompileOptions::default()).err().expect("must fail").to_string();
    assert!(e.contains("Mod") && e.contains("my_mod"), "{e}");
}

#[test]
fn repeated_runs_reuse_the_arena() {
    let g = mlp(5, 16, 8, false, 3);
    let cm = compile(&g, &CompileOptions { threads: 2, ..Default::default() }).unwrap();
    let x1 = input(5, 16, 1);
    let x2 = input(5, 16, 2);
    let a = cm.run(std::slice::from_ref(&x1)).unwrap();
    let b = cm.run(std::slice::from_ref(&x2)).unwrap();
    let c = cm.run(std::slice::from_ref(&x1)).unwrap();
    assert_eq!(a, c);
    assert_ne!(a, b, "different inputs give different outputs");
}
