//! Elementwise ops, Cast, softmax and normalizations.

use super::*;
use qcc_ir::ops::{AlphaAttrs, AxisAttrs, CastAttrs, EpsAttrs, LayerNormAttrs};
use qcc_ir::Quant;

#[test]
fn add_broadcasts_with_symbols() {
    let r = infer1(Op::Add, &[ty("f32[N,1,4]"), ty("f32[3,1]")], &[]);
    assert_eq!(r, ty("f32[N,3,4]"));
    // 1 against a symbol gives the symbol; equal names stay.
    assert_eq!(infer1(Op::Mul, &[ty("f32[1,N]"), ty("f32[N,1]")], &[]), ty("f32[N,N]"));
}

#[test]
fn unknowns_combine_to_unknown() {
    assert_eq!(infer1(Op::Sub, &[ty("f32[N]"), ty("f32[M]")], &[]), ty("f32[?]"));
    assert_eq!(infer1(Op::Sub, &[ty("f32[?]"), ty("f32[?]")], &[]), ty("f32[?]"));
    // A symbol against a known extent ≠ 1 must be that extent.
    assert_eq!(infer1(Op::Div, &[ty("f32[?,5]"), ty("f32[7,5]")], &[]), ty("f32[7,5]"));
    assert_eq!(infer1(Op::Add, &[ty("f32[*]"), ty("f32[3]")], &[]), ty("f32[*]"));
}

#[test]
fn broadcasting_errors_name_the_shapes() {
    let e = infer_err(Op::Add, &[ty("f32[2,3]"), ty("f32[4,3]")], &[]);
    assert!(e.contains("Add") && e.contains("broadcast") && e.contains("[4,3]"), "{e}");
    let e = infer_err(Op::Add, &[ty("f32[2]"), ty("i64[2]")], &[]);
    assert!(e.contains("same dtype"), "{e}");
}

#[test]
fn comparisons_give_bool_and_logic_needs_bool() {
    assert_eq!(infer1(Op::Less, &[ty("f32[N,4]"), ty("f32[]")], &[]), ty("bool[N,4]"));
    assert_eq!(infer1(Op::Equal, &[ty("i64[3]"), ty("i64[3]")], &[]), ty("bool[3]"));
    assert_eq!(infer1(Op::And, &[ty("bool[2,1]"), ty("bool[3]")], &[]), ty("bool[2,3]"));
    assert!(infer_err(Op::Or, &[ty("f32[2]"), ty("bool[2]")], &[]).contains("bool"));
    assert!(infer_err(Op::Not, &[ty("i64[2]")], &[]).contains("bool"));
}

#[test]
fn where_and_variadic_max() {
    let r = infer1(Op::Where, &[ty("bool[N,1]"), ty("i64[1,4]"), ty("i64[]")], &[]);
    assert_eq!(r, ty("i64[N,4]"));
    assert!(infer_err(Op::Where, &[ty("f32[1]"), ty("f32[1]"), ty("f32[1]")], &[]).contains("bool"));
    let r = infer1(Op::Max, &[ty("f32[3,1,1]"), ty("f32[1,4,1]"), ty("f32[5]")], &[]);
    assert_eq!(r, ty("f32[3,4,5]"));
    assert_eq!(infer1(Op::Min, &[ty("f32[N]")], &[]), ty("f32[N]"));
}

#[test]
fn unary_ops_keep_the_type_and_check_floats() {
    let q = ty("i8[4]").with_quant(Quant::tensor(0.5, 3));
    assert_eq!(infer1(Op::Relu, std::slice::from_ref(&q), &[]), q);
    assert_eq!(
        infer1(Op::LeakyRelu(AlphaAttrs { alpha: 0.1 }), &[ty("f32[N]")], &[]),
        ty("f32[N]")
    );
    assert_eq!(infer1(Op::Sigmoid, &[ty("f16[2,N]")], &[]), ty("f16[2,N]"));
    let e = infer_err(Op::Exp, &[ty("i64[2]")], &[]);
    assert!(e.contains("operand 0") && e.contains("float"), "{e}");
}

#[test]
fn clip_bounds_must_be_scalars_of_the_same_dtype() {
    let r = infer_opt(Op::Clip, &[Some(ty("f32[N,3]")), None, Some(ty("f32[]"))], &[], &[]);
    assert_eq!(r.unwrap(), vec![ty("f32[N,3]")]);
    let e = infer_opt(Op::Clip, &[Some(ty("f32[2]")), Some(ty("f32[2]"))], &[], &[]).unwrap_err();
    assert!(e.message.contains("scalar"), "{e}");
    let e = infer_opt(Op::Clip, &[Some(ty("f32[2]")), Some(ty("i64[]"))], &[], &[]).unwrap_err();
    assert!(e.message.contains("dtype"), "{e}");
}

#[test]
fn cast_changes_dtype_and_drops_quantization() {
    let q = ty("u8[N,3]").with_quant(Quant::tensor(0.1, 128));
    let r = infer1(Op::Cast(CastAttrs::new(DType::F32)), &[q], &[]);
    assert_eq!(r, ty("f32[N,3]"));
}

#[test]
fn softmax_and_normalizations() {
    let sm = Op::Softmax(AxisAttrs { axis: -1 });
    assert_eq!(infer1(sm, &[ty("f32[N,10]")], &[]), ty("f32[N,10]"));
    assert!(infer_err(Op::LogSoftmax(AxisAttrs { axis: 2 }), &[ty("f32[N,10]")], &[])
        .contains("axis 2"));
    let ln = Op::LayerNormalization(LayerNormAttrs::default());
    assert_eq!(infer1(ln.clone(), &[ty("f32[N,S,64]"), ty("f32[64]")], &[]), ty("f32[N,S,64]"));
    assert!(infer_err(ln, &[ty("f32[N,S,64]"), ty("f32[32]")], &[]).contains("broadcast"));
    let bn = Op::BatchNormalization(EpsAttrs::default());
    let c = ty("f32[8]");
    let ops = [ty("f32[N,8,H,W]"), c.clone(), c.clone(), c.clone(), c.clone()];
    assert_eq!(infer1(bn.clone(), &ops, &[]), ty("f32[N,8,H,W]"));
    let bad = [ty("f32[N,8,4,4]"), c.clone(), c.clone(), ty("f32[7]"), c];
    let e = infer_err(bn, &bad, &[]);
    assert!(e.contains("operand 3 (mean)") && e.contains("channels"), "{e}");
}
