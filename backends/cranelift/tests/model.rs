//! Whole graphs compiled by the backend against the reference interpreter: integer ops
//! bit-exact (QMatMul + Requantize + Relu fused, Quantize, Dequantize), f32 ops within 1e-4
//! relative; threads; input checks; views; unsupported ops name the node.

use proptest::prelude::*;
use qcc_backend_conformance::models::{input, mlp};
use qcc_backend_cranelift::{compile, BackendError, CompileOptions, IsaOptions};
use qcc_ir::{DType, Graph, Op, Tensor, TensorType};

fn check(g: &Graph, x: &Tensor, threads: usize, force_pmaddwd: bool) {
    let want = qcc_ir::interp::run(g, std::slice::from_ref(x)).expect("interpreter");
    let opts = CompileOptions {
        isa: IsaOptions { disable_vnni: force_pmaddwd, ..Default::default() },
        threads,
        ..Default::default()
    };
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
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn mlp_matches_interpreter(m in 1usize..12, k in 1usize..50, n in 1usize..40, signed: bool, seed: u64, threads in 1usize..3, force: bool) {
        check(&mlp(m, k, n, signed, seed), &input(m, k, seed), threads, force);
    }
}

#[test]
fn plan_fuses_and_shares_memory() {
    let g = mlp(4, 33, 20, false, 7);
    let cm = compile(&g, &CompileOptions::default()).unwrap();
    let text = qcc_lowering::print(cm.lowered());
    assert!(text.contains("[QMatMul+Requantize+Relu]: qgemm m=4 n=20 k=33"), "{text}");
    assert!(text.contains("(view of %"), "{text}");
    // The f32 layer's bias Add and Relu are the GEMM's epilogue.
    assert!(text.contains("[MatMul+Add+Relu]: gemm_f32 m=4 n="), "{text}");
    assert!(text.contains("bias=true clamp=[0.0,inf]"), "{text}");
    // quantize, qgemm, dequantize, gemm_f32.
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
    let cm = compile(&g, &CompileOptions::default()).unwrap();
    let x1 = input(5, 16, 1);
    let x2 = input(5, 16, 2);
    let a = cm.run(std::slice::from_ref(&x1)).unwrap();
    let _ = cm.run(std::slice::from_ref(&x2)).unwrap();
    let c = cm.run(std::slice::from_ref(&x1)).unwrap();
    assert_eq!(a, c);
}
