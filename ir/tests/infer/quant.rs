//! Quantized ops, ONNX form and typed form.

use super::*;
use qcc_ir::ops::{AxisAttrs, ConvAttrs, CustomOp, PoolAttrs, QLinearAttrs};
use qcc_ir::Quant;

fn q(t: &str, scale: f32, zp: i32) -> TensorType {
    ty(t).with_quant(Quant::tensor(scale, zp))
}

fn per_axis(t: &str, axis: usize, scales: &[f32]) -> TensorType {
    ty(t).with_quant(Quant::Axis {
        axis,
        scales: scales.to_vec(),
        zero_points: vec![0; scales.len()],
    })
}

#[test]
fn quantize_linear_uses_the_dtype_attribute() {
    let op = Op::QuantizeLinear(QLinearAttrs { dtype: DType::I8, ..Default::default() });
    let r = infer_opt(op.clone(), &[Some(ty("f32[N,3]")), Some(ty("f32[]"))], &[], &[]).unwrap();
    assert_eq!(r, vec![ty("i8[N,3]")]);
    let e = infer(op.clone(), &[ty("f32[N,3]"), ty("f32[]"), ty("u8[]")], &[]).unwrap_err();
    assert!(e.message.contains("zero_point"), "{e}");
    assert!(infer(op, &[ty("i64[2]"), ty("f32[]")], &[]).is_err());
}

#[test]
fn onnx_form_results() {
    let dq = Op::DequantizeLinear(QLinearAttrs::default());
    assert_eq!(infer1(dq.clone(), &[ty("u8[N,3]"), ty("f32[]"), ty("u8[]")], &[]), ty("f32[N,3]"));
    assert!(infer(dq, &[ty("u8[N,3]"), ty("f32[]"), ty("i8[]")], &[]).is_err());
    let r = infer(Op::DynamicQuantizeLinear, &[ty("f32[N,8]")], &[]).unwrap();
    assert_eq!(r, vec![ty("u8[N,8]"), ty("f32[]"), ty("u8[]")]);
    assert_eq!(infer1(Op::MatMulInteger, &[ty("u8[N,16]"), ty("i8[16,4]")], &[]), ty("i32[N,4]"));
    let ci = Op::ConvInteger(ConvAttrs::default());
    assert_eq!(infer1(ci, &[ty("u8[1,3,5,5]"), ty("i8[2,3,3,3]")], &[]), ty("i32[1,2,3,3]"));
    assert!(infer(Op::MatMulInteger, &[ty("f32[2,2]"), ty("i8[2,2]")], &[]).is_err());
}

#[test]
fn qlinear_ops_take_the_y_zero_point_dtype() {
    let s = ty("f32[]");
    let qc = Op::QLinearConv(ConvAttrs { pads: vec![1, 1, 1, 1], ..Default::default() });
    let ops = [
        ty("u8[N,3,8,8]"),
        s.clone(),
        ty("u8[]"),
        ty("i8[4,3,3,3]"),
        s.clone(),
        ty("i8[]"),
        s.clone(),
        ty("i8[]"),
        ty("i32[4]"),
    ];
    assert_eq!(infer1(qc.clone(), &ops, &[]), ty("i8[N,4,8,8]"));
    // Without a y_zero_point the result is u8.
    let mut opt: Vec<Option<TensorType>> = ops.iter().cloned().map(Some).collect();
    opt[7] = None;
    assert_eq!(infer_opt(qc, &opt, &[], &[]).unwrap(), vec![ty("u8[N,4,8,8]")]);
    let mm = [
        ty("u8[N,16]"),
        s.clone(),
        ty("u8[]"),
        ty("u8[16,8]"),
        s.clone(),
        ty("u8[]"),
        s,
        ty("i8[]"),
    ];
    assert_eq!(infer1(Op::QLinearMatMul, &mm, &[]), ty("i8[N,8]"));
}

#[test]
fn dequantize_and_quantize_typed() {
    assert_eq!(infer1(Op::Dequantize, &[q("i8[N,4]", 0.5, 0)], &[]), ty("f32[N,4]"));
    let e = infer_err(Op::Dequantize, &[ty("i8[N,4]")], &[]);
    assert!(e.contains("operand 0") && e.contains("quantized"), "{e}");
    let decl = q("u8[*]", 0.02, 128);
    let r =
        infer_opt(Op::Quantize, &[Some(ty("f32[N,4]"))], &[], std::slice::from_ref(&decl)).unwrap();
    assert_eq!(r, vec![q("u8[N,4]", 0.02, 128)]);
    let e = infer_opt(Op::Quantize, &[Some(q("i8[4]", 1.0, 0))], &[], &[decl]).unwrap_err();
    assert!(e.message.contains("float"), "{e}");
    let e = infer_opt(Op::Quantize, &[Some(ty("f32[4]"))], &[], &[]).unwrap_err();
    assert!(e.message.contains("declared"), "{e}");
}

#[test]
fn requantize_keeps_the_declared_parameters() {
    let acc = q("i32[N,8,4,4]", 0.001, 0);
    let decl = q("i8[N,8,4,4]", 0.05, -3);
    let r = infer_opt(Op::Requantize, &[Some(acc)], &[], std::slice::from_ref(&decl)).unwrap();
    assert_eq!(r, vec![decl]);
}

#[test]
fn qconv_accumulator_scale_per_tensor_and_per_channel() {
    let op = Op::QConv(ConvAttrs::default());
    let x = q("u8[N,3,5,5]", 0.5, 128);
    let r = infer1(op.clone(), &[x.clone(), q("i8[2,3,3,3]", 0.25, 0)], &[]);
    assert_eq!(r, q("i32[N,2,3,3]", 0.5 * 0.25, 0));
    let w = per_axis("i8[2,3,3,3]", 0, &[0.1, 0.3]);
    let r = infer1(op.clone(), &[x.clone(), w, ty("i32[2]")], &[]);
    let want = Quant::Axis {
        axis: 1,
        scales: vec![0.5f32 * 0.1f32, 0.5f32 * 0.3f32],
        zero_points: vec![0, 0],
    };
    assert_eq!(r.dtype, DType::I32);
    assert_eq!(r.quant, Some(want));
    let e = infer_err(op.clone(), &[x.clone(), ty("i8[2,3,3,3]")], &[]);
    assert!(e.contains("operand 1 (w)") && e.contains("quantized"), "{e}");
    let e = infer_err(op, &[x, per_axis("i8[2,3,3,3]", 1, &[0.1, 0.1, 0.1])], &[]);
    assert!(e.contains("axis 0"), "{e}");
}

#[test]
fn qmatmul_accumulator_scale() {
    let a = q("u8[N,16]", 0.5, 0);
    assert_eq!(
        infer1(Op::QMatMul, &[a.clone(), q("i8[16,4]", 0.125, 0)], &[]),
        q("i32[N,4]", 0.0625, 0)
    );
    let b = per_axis("i8[16,2]", 1, &[0.1, 0.2]);
    let r = infer1(Op::QMatMul, &[a.clone(), b], &[]);
    let want = Quant::Axis {
        axis: 1,
        scales: vec![0.5f32 * 0.1f32, 0.5f32 * 0.2f32],
        zero_points: vec![0, 0],
    };
    assert_eq!(r.quant, Some(want));
    let e = infer_err(Op::QMatMul, &[a, per_axis("i8[16,2]", 0, &[0.1; 16])], &[]);
    assert!(e.contains("last axis"), "{e}");
}

#[test]
fn binary_pool_concat_and_lut_keep_declared() {
    let decl = q("i8[*]", 0.1, 5);
    let r = infer_opt(
        Op::QAdd,
        &[Some(q("i8[N,1,4]", 0.2, 0)), Some(q("i8[3,4]", 0.3, 1))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap();
    assert_eq!(r, vec![q("i8[N,3,4]", 0.1, 5)]);
    let e = infer_opt(
        Op::QMul,
        &[Some(q("i8[4]", 0.2, 0)), Some(ty("i8[4]"))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap_err();
    assert!(e.message.contains("operand 1 (b)"), "{e}");
    let pool = PoolAttrs { kernel_shape: vec![2, 2], strides: vec![2, 2], ..Default::default() };
    let r = infer_opt(
        Op::QAveragePool(pool),
        &[Some(q("u8[N,3,8,8]", 0.2, 0))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap();
    assert_eq!(r, vec![q("i8[N,3,4,4]", 0.1, 5)]);
    let r = infer_opt(
        Op::QGlobalAveragePool,
        &[Some(q("i8[N,3,8,8]", 0.2, 0))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap();
    assert_eq!(r, vec![q("i8[N,3,1,1]", 0.1, 5)]);
    let r = infer_opt(
        Op::QConcat(AxisAttrs { axis: 1 }),
        &[Some(q("i8[N,3]", 0.2, 0)), Some(q("i8[N,5]", 0.4, 0))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap();
    assert_eq!(r, vec![q("i8[N,8]", 0.1, 5)]);
    let r = infer_opt(
        Op::Lut,
        &[Some(q("i8[N,4]", 0.2, 0)), Some(ty("i8[256]"))],
        &[],
        std::slice::from_ref(&decl),
    )
    .unwrap();
    assert_eq!(r, vec![q("i8[N,4]", 0.1, 5)]);
    let e =
        infer_opt(Op::Lut, &[Some(ty("i8[N,4]")), Some(ty("i8[16]"))], &[], &[decl]).unwrap_err();
    assert!(e.message.contains("256"), "{e}");
}

#[test]
fn custom_returns_declared() {
    let c = Op::Custom(CustomOp {
        domain: "com.x".into(),
        name: "Fancy".into(),
        attrs: Default::default(),
    });
    let decl = vec![ty("f32[2]"), q("i8[3]", 0.5, 0)];
    let r = infer_opt(c, &[Some(ty("f32[7]")), None], &[], &decl).unwrap();
    assert_eq!(r, decl);
}
