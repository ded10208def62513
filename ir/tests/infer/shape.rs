//! Shape and data-movement ops.

use super::*;
use qcc_ir::ops::{
    AxisAttrs, BlockAttrs, ConstantOfShapeAttrs, PadAttrs, ReshapeAttrs, ResizeAttrs, ShapeAttrs,
    SplitAttrs, TransposeAttrs,
};
use qcc_ir::Quant;

fn reshape(x: &str, shape: &[i64]) -> Result<Vec<TensorType>, InferError> {
    infer(Op::Reshape(ReshapeAttrs::default()), &[ty(x), ints_ty(shape)], &[(1, ints(shape))])
}

#[test]
fn reshape_zero_copies_and_minus_one_infers() {
    assert_eq!(reshape("f32[N,3,4]", &[0, -1]).unwrap(), vec![ty("f32[N,12]")]);
    assert_eq!(reshape("f32[2,3,4]", &[4, -1]).unwrap(), vec![ty("f32[4,6]")]);
    assert_eq!(reshape("f32[N,C,4,4]", &[0, 0, -1]).unwrap(), vec![ty("f32[N,C,16]")]);
    // N cannot be recovered from [N·12] / [3, 4]: the inferred extent is unknown.
    assert_eq!(reshape("f32[N,12]", &[-1, 3, 4]).unwrap(), vec![ty("f32[?,3,4]")]);
    assert_eq!(reshape("f32[2,3]", &[3, 2]).unwrap(), vec![ty("f32[3,2]")]);
}

#[test]
fn reshape_errors() {
    assert!(reshape("f32[6]", &[4, -1]).unwrap_err().to_string().contains("element counts"));
    assert!(reshape("f32[6]", &[5]).unwrap_err().to_string().contains("element counts"));
    assert!(reshape("f32[6]", &[-1, -1]).unwrap_err().to_string().contains("more than one -1"));
    assert!(reshape("f32[6]", &[-2, 3]).unwrap_err().to_string().contains("-2"));
    let allow = Op::Reshape(ReshapeAttrs { allowzero: true });
    let r = infer(allow, &[ty("f32[0,3]"), ints_ty(&[3, 0])], &[(1, ints(&[3, 0]))]).unwrap();
    assert_eq!(r, vec![ty("f32[3,0]")]);
}

#[test]
fn reshape_by_a_computed_shape_knows_the_rank() {
    let r = infer1(Op::Reshape(ReshapeAttrs::default()), &[ty("f32[N,12]"), ty("i64[3]")], &[]);
    assert_eq!(r, ty("f32[?,?,?]"));
    let r = infer1(Op::Reshape(ReshapeAttrs::default()), &[ty("f32[N,12]"), ty("i64[K]")], &[]);
    assert_eq!(r, ty("f32[*]"));
}

#[test]
fn flatten_and_transpose() {
    assert_eq!(
        infer1(Op::Flatten(AxisAttrs { axis: 1 }), &[ty("f32[N,3,4,5]")], &[]),
        ty("f32[N,60]")
    );
    assert_eq!(infer1(Op::Flatten(AxisAttrs { axis: 0 }), &[ty("f32[2,3]")], &[]), ty("f32[1,6]"));
    assert_eq!(
        infer1(Op::Flatten(AxisAttrs { axis: -1 }), &[ty("f32[2,3,4]")], &[]),
        ty("f32[6,4]")
    );
    let t = Op::Transpose(TransposeAttrs { perm: vec![0, 2, 3, 1] });
    assert_eq!(infer1(t, &[ty("f32[N,C,H,W]")], &[]), ty("f32[N,H,W,C]"));
    assert_eq!(
        infer1(Op::Transpose(TransposeAttrs::default()), &[ty("f32[2,3,4]")], &[]),
        ty("f32[4,3,2]")
    );
    let bad = Op::Transpose(TransposeAttrs { perm: vec![0, 0, 1] });
    assert!(infer_err(bad, &[ty("f32[2,3,4]")], &[]).contains("permutation"));
}

#[test]
fn transpose_moves_a_per_axis_quantization() {
    let q = Quant::Axis { axis: 0, scales: vec![0.5, 0.25], zero_points: vec![0, 0] };
    let x = ty("i8[2,3]").with_quant(q);
    let r = infer1(Op::Transpose(TransposeAttrs::default()), &[x], &[]);
    assert_eq!(
        r.quant,
        Some(Quant::Axis { axis: 1, scales: vec![0.5, 0.25], zero_points: vec![0, 0] })
    );
    assert_eq!(r.shape, ty("i8[3,2]").shape);
}

#[test]
fn concat_sums_the_axis() {
    let c = Op::Concat(AxisAttrs { axis: 1 });
    assert_eq!(infer1(c.clone(), &[ty("f32[N,3,H]"), ty("f32[N,5,H]")], &[]), ty("f32[N,8,H]"));
    assert_eq!(infer1(c.clone(), &[ty("f32[N,3]"), ty("f32[N,K]")], &[]), ty("f32[N,?]"));
    assert_eq!(infer1(c.clone(), &[ty("f32[?,3]"), ty("f32[2,1]")], &[]), ty("f32[2,4]"));
    assert!(infer_err(c.clone(), &[ty("f32[2,3]"), ty("f32[2,3,1]")], &[]).contains("rank"));
    assert!(infer_err(c.clone(), &[ty("f32[2,3]"), ty("f32[4,3]")], &[]).contains("differ"));
    assert!(infer_err(c, &[ty("f32[2,3]"), ty("i64[2,3]")], &[]).contains("dtype"));
}

#[test]
fn split_by_sizes_and_equal_parts() {
    let s = |axis| Op::Split(SplitAttrs { axis });
    let decl = vec![ty("f32[*]"); 3];
    let r = infer_opt(s(0), &[Some(ty("f32[6,4]"))], &[], &decl).unwrap();
    assert_eq!(r, vec![ty("f32[2,4]"); 3]);
    // 7 into 3: ceil(7/3) = 3, 3, then 1.
    let r = infer_opt(s(-1), &[Some(ty("f32[N,7]"))], &[], &decl).unwrap();
    assert_eq!(r, vec![ty("f32[N,3]"), ty("f32[N,3]"), ty("f32[N,1]")]);
    let two = vec![ty("f32[*]"); 2];
    let r = infer_opt(
        s(1),
        &[Some(ty("f32[N,6]")), Some(ints_ty(&[1, 5]))],
        &[(1, ints(&[1, 5]))],
        &two,
    )
    .unwrap();
    assert_eq!(r, vec![ty("f32[N,1]"), ty("f32[N,5]")]);
    let e = infer_opt(
        s(1),
        &[Some(ty("f32[N,6]")), Some(ints_ty(&[1, 4]))],
        &[(1, ints(&[1, 4]))],
        &two,
    )
    .unwrap_err();
    assert!(e.message.contains("add up"), "{e}");
    let e = infer_opt(s(1), &[Some(ty("f32[N,6]"))], &[], &[]).unwrap_err();
    assert!(e.message.contains("declared"), "{e}");
}

fn slice(x: &str, starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> TensorType {
    let operands = [ty(x), ints_ty(starts), ints_ty(ends), ints_ty(axes), ints_ty(steps)];
    let consts = [(1, ints(starts)), (2, ints(ends)), (3, ints(axes)), (4, ints(steps))];
    infer1(Op::Slice, &operands, &consts)
}

#[test]
fn slice_clamps_like_onnx() {
    // Rows 1, 3, 5, 7, 9; columns 15..19.
    assert_eq!(slice("f32[10,20]", &[1, -5], &[i64::MAX, -1], &[0, 1], &[2, 1]), ty("f32[5,4]"));
    // Reverse the whole axis.
    assert_eq!(slice("f32[10]", &[-1], &[i64::MIN], &[0], &[-1]), ty("f32[10]"));
    // Out of range starts give an empty axis.
    assert_eq!(slice("f32[4,4]", &[10], &[20], &[1], &[1]), ty("f32[4,0]"));
    // A whole symbolic axis stays symbolic; a part of it is unknown.
    assert_eq!(slice("f32[N,8]", &[0, 2], &[i64::MAX, 6], &[0, 1], &[1, 1]), ty("f32[N,4]"));
    assert_eq!(slice("f32[N,8]", &[1], &[i64::MAX], &[0], &[1]), ty("f32[?,8]"));
    let ops = [ty("f32[4,4]"), ints_ty(&[0]), ints_ty(&[2]), ints_ty(&[0]), ints_ty(&[0])];
    let e = infer(
        Op::Slice,
        &ops,
        &[(1, ints(&[0])), (2, ints(&[2])), (3, ints(&[0])), (4, ints(&[0]))],
    );
    assert!(e.unwrap_err().message.contains("steps"));
}

#[test]
fn slice_with_runtime_bounds_keeps_the_rank() {
    let r = infer_opt(
        Op::Slice,
        &[Some(ty("f32[N,8,3]")), Some(ty("i64[1]")), Some(ty("i64[1]")), Some(ints_ty(&[1]))],
        &[(3, ints(&[1]))],
        &[],
    );
    assert_eq!(r.unwrap(), vec![ty("f32[N,?,3]")]);
}

#[test]
fn gather_and_gather_elements() {
    let g = Op::Gather(AxisAttrs { axis: 1 });
    assert_eq!(infer1(g.clone(), &[ty("f32[N,5,6]"), ty("i64[2,3]")], &[]), ty("f32[N,2,3,6]"));
    assert_eq!(infer1(g.clone(), &[ty("f32[N,5,6]"), ty("i64[]")], &[]), ty("f32[N,6]"));
    assert!(infer_err(g, &[ty("f32[N,5]"), ty("f32[2]")], &[]).contains("integer"));
    let ge = Op::GatherElements(AxisAttrs { axis: 0 });
    assert_eq!(infer1(ge.clone(), &[ty("f32[3,4]"), ty("i64[2,4]")], &[]), ty("f32[2,4]"));
    assert!(infer_err(ge, &[ty("f32[3,4]"), ty("i64[2]")], &[]).contains("rank"));
}

#[test]
fn squeeze_and_unsqueeze() {
    assert_eq!(
        infer_opt(Op::Squeeze, &[Some(ty("f32[1,3,1,5]"))], &[], &[]).unwrap(),
        vec![ty("f32[3,5]")]
    );
    assert_eq!(
        infer1(Op::Squeeze, &[ty("f32[1,3,1,5]"), ints_ty(&[0])], &[(1, ints(&[0]))]),
        ty("f32[3,1,5]")
    );
    assert_eq!(
        infer1(Op::Squeeze, &[ty("f32[N,1]"), ints_ty(&[-1])], &[(1, ints(&[-1]))]),
        ty("f32[N]")
    );
    assert!(infer_err(Op::Squeeze, &[ty("f32[1,3]"), ints_ty(&[1])], &[(1, ints(&[1]))])
        .contains("extent 3"));
    // Without axes a symbol may or may not be 1.
    assert_eq!(
        infer_opt(Op::Squeeze, &[Some(ty("f32[N,1]"))], &[], &[]).unwrap(),
        vec![ty("f32[*]")]
    );
    let u = infer1(Op::Unsqueeze, &[ty("f32[3,5]"), ints_ty(&[0, -1])], &[(1, ints(&[0, -1]))]);
    assert_eq!(u, ty("f32[1,3,5,1]"));
    assert!(infer_err(Op::Unsqueeze, &[ty("f32[3]"), ints_ty(&[0, 0])], &[(1, ints(&[0, 0]))])
        .contains("repeated"));
    assert_eq!(infer1(Op::Unsqueeze, &[ty("f32[N]"), ty("i64[2]")], &[]), ty("f32[?,?,?]"));
}

#[test]
fn expand_tile_pad() {
    assert_eq!(
        infer1(Op::Expand, &[ty("f32[3,1]"), ints_ty(&[2, 1, 4])], &[(1, ints(&[2, 1, 4]))]),
        ty("f32[2,3,4]")
    );
    assert!(infer_err(Op::Expand, &[ty("f32[3,2]"), ints_ty(&[4])], &[(1, ints(&[4]))])
        .contains("broadcast"));
    assert_eq!(
        infer1(Op::Tile, &[ty("f32[N,2]"), ints_ty(&[1, 3])], &[(1, ints(&[1, 3]))]),
        ty("f32[N,6]")
    );
    assert_eq!(
        infer1(Op::Tile, &[ty("f32[N,2]"), ints_ty(&[2, 3])], &[(1, ints(&[2, 3]))]),
        ty("f32[?,6]")
    );
    let pads = [0, 0, 1, 2, 0, 0, 1, 0];
    let p = Op::Pad(PadAttrs::default());
    assert_eq!(
        infer1(p.clone(), &[ty("f32[N,3,4,4]"), ints_ty(&pads)], &[(1, ints(&pads))]),
        ty("f32[N,3,6,6]")
    );
    // Pads on selected axes, negative pads crop.
    let r = infer_opt(
        p.clone(),
        &[Some(ty("f32[N,3,4,4]")), Some(ints_ty(&[-1, 2, 0, 1])), None, Some(ints_ty(&[2, 3]))],
        &[(1, ints(&[-1, 2, 0, 1])), (3, ints(&[2, 3]))],
        &[],
    );
    assert_eq!(r.unwrap(), vec![ty("f32[N,3,3,7]")]);
    assert!(infer_err(p, &[ty("f32[4]"), ints_ty(&[1])], &[(1, ints(&[1]))]).contains("pads"));
}

#[test]
fn resize_by_scales_or_sizes() {
    let r = Op::Resize(ResizeAttrs::default());
    let scales = Tensor::f32(&[4], vec![1.0, 1.0, 2.0, 1.5]);
    let got = infer_opt(
        r.clone(),
        &[Some(ty("f32[N,3,10,10]")), None, Some(ty("f32[4]"))],
        &[(2, scales)],
        &[],
    );
    assert_eq!(got.unwrap(), vec![ty("f32[N,3,20,15]")]);
    let got = infer_opt(
        r.clone(),
        &[Some(ty("f32[1,3,10,10]")), None, Some(ty("f32[0]")), Some(ints_ty(&[1, 3, 7, 9]))],
        &[(3, ints(&[1, 3, 7, 9]))],
        &[],
    );
    assert_eq!(got.unwrap(), vec![ty("f32[1,3,7,9]")]);
    let e = infer_opt(r, &[Some(ty("f32[1,3,10,10]"))], &[], &[]).unwrap_err();
    assert!(e.message.contains("scales and sizes"), "{e}");
}

#[test]
fn shape_size_constant_of_shape_range() {
    assert_eq!(infer1(Op::Shape(ShapeAttrs::default()), &[ty("f32[N,3,H,W]")], &[]), ty("i64[4]"));
    let tail = Op::Shape(ShapeAttrs { start: -2, end: None });
    assert_eq!(infer1(tail, &[ty("f32[N,3,H,W]")], &[]), ty("i64[2]"));
    assert_eq!(infer1(Op::Shape(ShapeAttrs::default()), &[ty("f32[*]")], &[]), ty("i64[?]"));
    assert_eq!(infer1(Op::Size, &[ty("f32[N,3]")], &[]), ty("i64[]"));
    let cos = Op::ConstantOfShape(ConstantOfShapeAttrs { dtype: DType::F32, value: 0.0 });
    assert_eq!(infer1(cos.clone(), &[ints_ty(&[2, 3])], &[(0, ints(&[2, 3]))]), ty("f32[2,3]"));
    assert_eq!(infer1(cos, &[ty("i64[3]")], &[]), ty("f32[?,?,?]"));
    let sc = |x: i64| Tensor::i64(&[], vec![x]);
    let r = infer1(
        Op::Range,
        &[ty("i64[]"), ty("i64[]"), ty("i64[]")],
        &[(0, sc(0)), (1, sc(10)), (2, sc(3))],
    );
    assert_eq!(r, ty("i64[4]"));
    let r = infer1(
        Op::Range,
        &[ty("i64[]"), ty("i64[]"), ty("i64[]")],
        &[(0, sc(10)), (1, sc(0)), (2, sc(-4))],
    );
    assert_eq!(r, ty("i64[3]"));
    let f = |x: f32| Tensor::scalar_f32(x);
    let r = infer1(
        Op::Range,
        &[ty("f32[]"), ty("f32[]"), ty("f32[]")],
        &[(0, f(1.0)), (1, f(2.0)), (2, f(0.3))],
    );
    assert_eq!(r, ty("f32[4]"));
    assert_eq!(infer1(Op::Range, &[ty("f32[]"), ty("f32[]"), ty("f32[]")], &[]), ty("f32[?]"));
}

#[test]
fn depth_to_space() {
    let d = Op::DepthToSpace(BlockAttrs { blocksize: 2, mode: "DCR".into() });
    assert_eq!(infer1(d.clone(), &[ty("f32[N,8,2,3]")], &[]), ty("f32[N,2,4,6]"));
    assert!(infer_err(d, &[ty("f32[1,6,2,3]")], &[]).contains("divisible"));
}
