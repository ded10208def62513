//! Lowering of the transformer family: an attention block (f32 and integer) becomes the
//! expected kernels (batched matmul with runtime B and fused requantization, strided copies for
//! Transpose, Softmax, views for Reshape), Concat writes one buffer from several steps, and bad
//! specifications are typed errors.

use qcc_ir::ops::{AxisAttrs, TransposeAttrs};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};
use qcc_lowering::{lower, print, Kernel, LowerError};

fn unknown(d: DType) -> TensorType {
    TensorType::unknown(d)
}

/// q[1,8,2,4] ·(transpose) k → softmax → · v, the shape of one attention head group.
fn attention(int: bool) -> Graph {
    let mut g = Graph::new("attn");
    let (dt, q) =
        if int { (DType::U8, Some(Quant::tensor(0.05, 128))) } else { (DType::F32, None) };
    let ty = |s: &[usize]| {
        let t = TensorType::fixed(dt, s);
        match &q {
            Some(q) => t.with_quant(q.clone()),
            None => t,
        }
    };
    let x = g.add_input("q", ty(&[1, 8, 2, 4]));
    let k = g.add_input("k", ty(&[1, 8, 2, 4]));
    let t = |u: TensorType| match &q {
        Some(q) => u.with_quant(q.clone()),
        None => u,
    };
    let xt = g
        .add_op(
            Op::Transpose(TransposeAttrs { perm: vec![0, 2, 1, 3] }),
            "tq",
            &[x],
            t(unknown(dt)),
        )
        .unwrap();
    let kt = g
        .add_op(
            Op::Transpose(TransposeAttrs { perm: vec![0, 2, 3, 1] }),
            "tk",
            &[k],
            t(unknown(dt)),
        )
        .unwrap();
    let s = if int {
        let acc = g
            .add_op(
                Op::QMatMul,
                "qk",
                &[xt, kt],
                unknown(DType::I32).with_quant(Quant::tensor(0.0025, 0)),
            )
            .unwrap();
        let r = g
            .add_op(
                Op::Requantize,
                "rq",
                &[acc],
                unknown(DType::U8).with_quant(Quant::tensor(0.1, 100)),
            )
            .unwrap();
        g.add_op(Op::Dequantize, "dq", &[r], unknown(DType::F32)).unwrap()
    } else {
        g.add_op(Op::MatMul, "qk", &[xt, kt], unknown(DType::F32)).unwrap()
    };
    let p = g.add_op(Op::Softmax(AxisAttrs { axis: -1 }), "sm", &[s], unknown(DType::F32)).unwrap();
    let shp = g.add_const("shape", Tensor::i64(&[2], vec![16, 8]));
    let v =
        g.add_op(Op::Reshape(Default::default()), "flat", &[p, shp], unknown(DType::F32)).unwrap();
    g.add_output("y", v).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    g
}

#[test]
fn attention_f32_lowers_to_batched_matmul_copies_softmax_and_view() {
    let m = lower(&attention(false)).unwrap();
    let text = print(&m);
    let names: Vec<&str> = m.steps.iter().map(|s| s.kernel.name()).collect();
    assert_eq!(names, ["copy", "copy", "batch_matmul", "softmax"], "{text}");
    assert!(
        text.contains(
            "batch_matmul batch=[1, 2] a_strides=[0, 1] b_strides=[0, 1] m=8 n=8 k=4 f32"
        ),
        "{text}"
    );
    assert!(text.contains("softmax outer=16 d=8 inner=1"), "{text}");
    assert!(text.contains("(view of %"), "{text}");
}

#[test]
fn attention_int_fuses_requantize_into_the_batched_matmul() {
    let m = lower(&attention(true)).unwrap();
    let text = print(&m);
    let bmm = m
        .steps
        .iter()
        .find_map(|s| match &s.kernel {
            Kernel::BatchMatMul(b) => Some((s, b)),
            _ => None,
        })
        .expect("a batched matmul");
    assert_eq!(bmm.0.ops, "QMatMul+Requantize", "{text}");
    let r = bmm.1.requant.as_ref().expect("fused requantization");
    assert_eq!((r.zero_point, r.lo, r.hi, r.signed), (100, 0, 255, false));
    // The accumulator scale is inferred as sa·sb.
    assert_eq!(r.multipliers, vec![qcc_ir::qmath::multiplier(0.05f32 * 0.05, 0.1)]);
    assert!(text.contains("u8<zp=128>xu8<zp=128>"), "{text}");
}

#[test]
fn concat_is_one_copy_per_operand_into_one_buffer() {
    let mut g = Graph::new("c");
    let a = g.add_input("a", TensorType::fixed(DType::F32, &[2, 3]));
    let b = g.add_input("b", TensorType::fixed(DType::F32, &[2, 5]));
    let y =
        g.add_op(Op::Concat(AxisAttrs { axis: 1 }), "cat", &[a, b], unknown(DType::F32)).unwrap();
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    let m = lower(&g).unwrap();
    assert_eq!(m.steps.len(), 2);
    assert_eq!(m.steps[0].output, m.steps[1].output);
    match (&m.steps[0].kernel, &m.steps[1].kernel) {
        (Kernel::Copy(x), Kernel::Copy(y)) => {
            assert_eq!((x.dst_offset, y.dst_offset), (0, 3));
            assert_eq!(y.dst_strides, vec![8, 1]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsupported_forms_are_typed_errors() {
    let mut g = Graph::new("e");
    // Pad with pads known only at run time.
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[4]));
    let p = g.add_input("p", TensorType::fixed(DType::I64, &[2]));
    let y = g
        .add_op(Op::Pad(Default::default()), "g", &[x, p], TensorType::fixed(DType::F32, &[6]))
        .unwrap();
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    match lower(&g) {
        Err(LowerError::Unsupported { node, .. }) => assert_eq!(node, "g"),
        other => panic!("{other:?}"),
    }
}

/// The low-bit element types (float8/float4, 2-bit, u16) have no kernels: Cast to them and
/// ONNX-form QuantizeLinear to them are typed errors, not panics.
#[test]
fn low_bit_dtypes_are_typed_errors() {
    for to in [DType::F8E4M3FN, DType::F8E5M2, DType::F4E2M1, DType::I2, DType::U2, DType::U16] {
        let mut g = Graph::new("lowbit");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[4]));
        let c =
            g.add_op(Op::Cast(qcc_ir::ops::CastAttrs::new(to)), "c", &[x], unknown(to)).unwrap();
        g.add_output("y", c).unwrap();
        qcc_ir::infer::infer_graph(&mut g).unwrap();
        match lower(&g) {
            Err(LowerError::Unsupported { node, .. }) => assert_eq!(node, "c", "{to}"),
            other => panic!("{to}: {other:?}"),
        }
        let mut g = Graph::new("lowbit_q");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[4]));
        let s = g.add_const("s", Tensor::scalar_f32(0.5));
        let at = qcc_ir::ops::QLinearAttrs { dtype: to, ..Default::default() };
        let q = g.add_op(Op::QuantizeLinear(at), "q", &[x, s], unknown(to)).unwrap();
        g.add_output("y", q).unwrap();
        qcc_ir::infer::infer_graph(&mut g).unwrap();
        match lower(&g) {
            Err(LowerError::Unsupported { node, .. }) => assert_eq!(node, "q", "{to}"),
            other => panic!("{to}: {other:?}"),
        }
    }
}
