//! Whole graphs compiled by the LLVM backend against the reference interpreter: integer ops
//! bit-exact (QMatMul + Requantize + Relu fused, Quantize, Dequantize) over random shapes
//! (register-tile tails in rows, columns and odd k) and thread counts, f32 ops within 1e-4
//! relative; input checks; views; unsupported ops name the node; the GEMM's step alone.

use proptest::prelude::*;
use qcc_backend_llvm::{compile, BackendError, CompileOptions};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};

fn q(dtype: DType, shape: &[usize], scale: f32, zp: i32) -> TensorType {
    TensorType::fixed(dtype, shape).with_quant(Quant::tensor(scale, zp))
}

/// f32 x[m,k] → Quantize(u8|i8) → QMatMul(w i8 per-column, bias) → Requantize → Relu →
/// Dequantize → Reshape → MatMul(f32) + Add → Relu.
fn mlp(m: usize, k: usize, n: usize, signed: bool, seed: u64) -> Graph {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut g = Graph::new("mlp");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[m, k]));
    let adt = if signed { DType::I8 } else { DType::U8 };
    let (sx, zx) = (0.02f32, if signed { -3 } else { 120 });
    let xq = g.add_op(Op::Quantize, "xq", &[x], q(adt, &[m, k], sx, zx)).unwrap();
    let w: Vec<i8> = (0..k * n).map(|_| next() as i8).collect();
    let sw: Vec<f32> = (0..n).map(|j| 0.001 * (1 + j % 5) as f32).collect();
    let wt = TensorType::fixed(DType::I8, &[k, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.clone(),
        zero_points: vec![0; n],
    });
    let wv = g.add_const_typed("w", Tensor::i8(&[k, n], w), wt);
    let bias: Vec<i32> = (0..n).map(|_| (next() % 4001) as i32 - 2000).collect();
    let bv = g.add_const("b", Tensor::i32(&[n], bias));
    let acc_ty = TensorType::fixed(DType::I32, &[m, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.iter().map(|s| s * sx).collect(),
        zero_points: vec![0; n],
    });
    let acc = g.add_op(Op::QMatMul, "fc1", &[xq, wv, bv], acc_ty).unwrap();
    let (sy, zy) = (0.05f32, if signed { 5 } else { 10 });
    let yq = g.add_op(Op::Requantize, "rq", &[acc], q(adt, &[m, n], sy, zy)).unwrap();
    let yr = g.add_op(Op::Relu, "relu1", &[yq], q(adt, &[m, n], sy, zy)).unwrap();
    let y = g.add_op(Op::Dequantize, "dq", &[yr], TensorType::fixed(DType::F32, &[m, n])).unwrap();
    let shp = g.add_const("shape", Tensor::i64(&[2], vec![m as i64, n as i64]));
    let y = g
        .add_op(
            Op::Reshape(Default::default()),
            "view",
            &[y, shp],
            TensorType::fixed(DType::F32, &[m, n]),
        )
        .unwrap();
    let w2: Vec<f32> = (0..n * 3).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
    let w2 = g.add_const("w2", Tensor::f32(&[n, 3], w2));
    let z = g.add_op(Op::MatMul, "fc2", &[y, w2], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    let b2 = g.add_const("b2", Tensor::f32(&[3], vec![0.5, -0.25, 0.0]));
    let z = g.add_op(Op::Add, "add", &[z, b2], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    let z = g.add_op(Op::Relu, "relu2", &[z], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    g.add_output("y_int", yr).unwrap();
    g.add_output("z", z).unwrap();
    g
}

fn input(m: usize, k: usize, seed: u64) -> Tensor {
    let v = (0..m * k)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(seed | 1).wrapping_mul(0x9e3779b97f4a7c15) >> 40;
            // Values on the quantization grid's half points hit ties.
            match h % 4 {
                0 => ((h % 200) as f32 - 100.0) * 0.01,
                1 => 100.0,
                _ => (h % 1000) as f32 / 250.0 - 2.0,
            }
        })
        .collect();
    Tensor::f32(&[m, k], v)
}

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
    assert_eq!(cm.lowered().steps.len(), 6, "{text}");
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
    let y = g.add_op(Op::Sin, "my_sin", &[x], TensorType::fixed(DType::F32, &[4])).unwrap();
    g.add_output("y", y).unwrap();
    let e = compile(&g, &CompileOptions::default()).err().expect("must fail").to_string();
    assert!(e.contains("Sin") && e.contains("my_sin"), "{e}");
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
