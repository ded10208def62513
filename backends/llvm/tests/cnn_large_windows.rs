//! 2-d pooling with windows too large to unroll (over 64 taps: runtime tap loops) against the
//! reference interpreter: MaxPool with pads and dilation, AveragePool with and without
//! `count_include_pad`, one and two threads.

use qcc_backend_llvm::{compile, CompileOptions, CompiledModel};
use qcc_ir::ops::PoolAttrs;
use qcc_ir::{DType, Graph, Op, Tensor, TensorType};

struct Llvm;

impl qcc_backend_conformance::Backend for Llvm {
    type Compiled = CompiledModel;
    fn compile(g: &Graph, threads: usize) -> Result<CompiledModel, String> {
        let opts = CompileOptions { threads, min_split_bytes: Some(0), ..Default::default() };
        compile(g, &opts).map_err(|e| e.to_string())
    }
    fn run(c: &CompiledModel, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        c.run(inputs).map_err(|e| e.to_string())
    }
    fn describe(c: &CompiledModel) -> String {
        qcc_lowering::print(c.lowered())
    }
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

#[test]
fn large_window_pools_match_interpreter() {
    let (n, c, h, w) = (2usize, 5usize, 13usize, 12usize);
    let x: Vec<f32> = (0..n * c * h * w).map(|i| ((i * 37) % 101) as f32 / 25.0 - 2.0).collect();
    let x = Tensor::f32(&[n, c, h, w], x);
    // (kernel, strides, pads, dilations, max, count_include_pad) with 81 or 72 taps.
    let cases = [
        ((9, 9), (2, 3), [2, 1, 3, 4], (1, 1), true, false),
        ((8, 9), (1, 2), [0, 4, 1, 4], (1, 1), false, false),
        ((9, 8), (3, 1), [4, 3, 4, 3], (1, 1), false, true),
        ((9, 9), (1, 1), [4, 4, 4, 4], (1, 1), true, false),
    ];
    for (kern, s, pads, d, max, cip) in cases {
        let a = PoolAttrs {
            kernel_shape: vec![kern.0, kern.1],
            strides: vec![s.0, s.1],
            pads: pads.to_vec(),
            dilations: vec![d.0, d.1],
            count_include_pad: cip,
            ..Default::default()
        };
        let o = |len: usize, k: usize, s: usize, p0: usize, p1: usize| (len + p0 + p1 - k) / s + 1;
        let (oh, ow) = (o(h, kern.0, s.0, pads[0], pads[2]), o(w, kern.1, s.1, pads[1], pads[3]));
        let mut g = Graph::new("pool");
        let xv = g.add_input("x", f32t(&[n, c, h, w]));
        let op = if max { Op::MaxPool(a) } else { Op::AveragePool(a) };
        let y = g.add_op(op, "p", &[xv], f32t(&[n, c, oh, ow])).unwrap();
        g.add_output("y", y).unwrap();
        let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap();
        for threads in [1, 2] {
            let cm = <Llvm as qcc_backend_conformance::Backend>::compile(&g, threads).unwrap();
            assert!(qcc_lowering::print(cm.lowered()).contains("pool"), "lowered to pool2d");
            let got = cm.run(std::slice::from_ref(&x)).unwrap();
            assert_eq!(got[0].shape, want[0].shape);
            let (gv, wv) = (got[0].as_f32().unwrap(), want[0].as_f32().unwrap());
            for (i, (a, b)) in gv.iter().zip(wv).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 + 1e-5 * b.abs(),
                    "{kern:?} max={max} [{i}]: {a} vs {b}"
                );
            }
        }
    }
}
