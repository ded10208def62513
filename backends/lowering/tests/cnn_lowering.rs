//! Kernel selection and layout of the CNN family: a 1×1 stride-1 QConv is one GEMM on the
//! NHWC activations (no im2col), a 3×3 dense QConv is im2col + GEMM (reading the NCHW graph
//! input through strides, no relayout), a depthwise QConv is a direct kernel, Requantize + Clip
//! fuse into the producer, and the NHWC result goes back to NCHW once, at the graph output.

use qcc_ir::ops::ConvAttrs;
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType, Value};
use qcc_lowering::{lower, Kernel};

fn q(dtype: DType, shape: &[usize], scale: f32, zp: i32) -> TensorType {
    TensorType::fixed(dtype, shape).with_quant(Quant::tensor(scale, zp))
}

fn qconv(g: &mut Graph, x: Value, c: usize, m: usize, k: usize, group: usize, hw: usize) -> Value {
    let cg = c / group;
    let w = g.add_const_typed(
        "w",
        Tensor::i8(&[m, cg, k, k], vec![1; m * cg * k * k]),
        TensorType::fixed(DType::I8, &[m, cg, k, k]).with_quant(Quant::tensor(0.01, 0)),
    );
    let at =
        ConvAttrs { kernel_shape: vec![k, k], pads: vec![k / 2; 4], group, ..Default::default() };
    let acc_ty =
        TensorType::fixed(DType::I32, &[1, m, hw, hw]).with_quant(Quant::tensor(0.0001, 0));
    let acc = g.add_op(Op::QConv(at), "conv", &[x, w], acc_ty).unwrap();
    let y = g.add_op(Op::Requantize, "rq", &[acc], q(DType::U8, &[1, m, hw, hw], 0.02, 0)).unwrap();
    let lo = g.add_const("lo", Tensor::u8(&[], vec![0]));
    let hi = g.add_const("hi", Tensor::u8(&[], vec![200]));
    g.add_op(Op::Clip, "clip", &[y, lo, hi], q(DType::U8, &[1, m, hw, hw], 0.02, 0)).unwrap()
}

#[test]
fn conv_kernels_layouts_and_fusion() {
    let mut g = Graph::new("cnn");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[1, 3, 8, 8]));
    let xq = g.add_op(Op::Quantize, "q", &[x], q(DType::U8, &[1, 3, 8, 8], 0.02, 128)).unwrap();
    let a = qconv(&mut g, xq, 3, 16, 3, 1, 8);
    let b = qconv(&mut g, a, 16, 16, 3, 16, 8);
    let c = qconv(&mut g, b, 16, 24, 1, 1, 8);
    g.add_output("y", c).unwrap();
    let l = lower(&g).expect("lower");
    let text = qcc_lowering::print(&l);
    let kinds: Vec<&str> = l.steps.iter().map(|s| s.kernel.name()).collect();
    assert_eq!(
        kinds,
        ["quantize", "im2col", "qgemm", "direct_conv", "qgemm", "relayout"],
        "\n{text}"
    );
    // Requantize + Clip fused: the dense GEMM's epilogue clamps to [0, 200].
    let Kernel::QGemm(gm) = &l.steps[2].kernel else { panic!("{text}") };
    let r = gm.requant.as_ref().expect("requant fused");
    assert_eq!((r.lo, r.hi, gm.m, gm.n, gm.k), (0, 200, 64, 16, 27));
    assert!(l.steps[2].ops.contains("Requantize+Clip"), "{text}");
    // im2col reads the NCHW quantized input through strides.
    let Kernel::Im2col(ic) = &l.steps[1].kernel else { panic!("{text}") };
    assert_eq!(ic.in_strides, [192, 64, 8, 1]);
    assert_eq!(ic.pad, 128, "padding is the input zero point");
    // The 1×1 GEMM reads the depthwise result (NHWC) directly.
    assert_eq!(l.steps[4].inputs[0], l.steps[3].output);
    assert_eq!(l.buffers[l.steps[4].output].shape, [1, 8, 8, 24], "NHWC result");
    let (_, out) = &l.outputs[0];
    assert_eq!(l.buffers[*out].shape, [1, 24, 8, 8], "graph output back in NCHW");
}

#[test]
fn trivial_layouts_are_views() {
    // [1, C, 1, 1] is the same in NCHW and NHWC: no relayout at the output.
    let mut g = Graph::new("gap");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[1, 4, 1, 1]));
    let xq = g.add_op(Op::Quantize, "q", &[x], q(DType::U8, &[1, 4, 1, 1], 0.02, 128)).unwrap();
    let c = qconv(&mut g, xq, 4, 8, 1, 1, 1);
    g.add_output("y", c).unwrap();
    let l = lower(&g).expect("lower");
    let kinds: Vec<&str> = l.steps.iter().map(|s| s.kernel.name()).collect();
    assert_eq!(kinds, ["quantize", "qgemm"], "{}", qcc_lowering::print(&l));
    assert_eq!(l.buffers[l.outputs[0].1].shape, [1, 8, 1, 1]);
}

#[test]
fn conv_1d_is_a_typed_error() {
    let mut g = Graph::new("bad");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[1, 2, 5]));
    let w = g.add_const("w", Tensor::f32(&[2, 2, 3], vec![0.5; 12]));
    let y = g
        .add_op(
            Op::Conv(ConvAttrs::default()),
            "c1d",
            &[x, w],
            TensorType::fixed(DType::F32, &[1, 2, 3]),
        )
        .unwrap();
    g.add_output("y", y).unwrap();
    let e = lower(&g).expect_err("1-d conv is not lowered");
    assert!(e.to_string().contains("2-d"), "{e}");
}
