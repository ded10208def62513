//! Type and shape inference tests, one module per op family. Expected shapes are worked out by
//! hand from the ONNX operator definitions.

mod elementwise;
mod graph;
mod linalg;
mod quant;
mod reduce;
mod robust;
mod shape;

use qcc_ir::infer::{infer_node, InferError};
use qcc_ir::{DType, Dim, Op, Shape, Tensor, TensorType};

/// A type from text: `f32[N,3,?]`, `i64[]`, `f32[*]` (unknown rank).
pub fn ty(s: &str) -> TensorType {
    let (d, rest) = s.split_once('[').expect("dtype[dims]");
    let dtype: DType = d.parse().expect("dtype");
    let inner = rest.strip_suffix(']').expect("closing ]");
    let shape = if inner == "*" {
        Shape::unknown()
    } else if inner.is_empty() {
        Shape::scalar()
    } else {
        Shape(Some(
            inner
                .split(',')
                .map(|x| match x.parse::<usize>() {
                    Ok(n) => Dim::Fixed(n),
                    Err(_) => Dim::Sym(x.to_string()),
                })
                .collect(),
        ))
    };
    TensorType::new(dtype, shape)
}

/// Infers a node whose operands are all present; `consts` pairs an operand slot with its value.
pub fn infer(
    op: Op,
    operands: &[TensorType],
    consts: &[(usize, Tensor)],
) -> Result<Vec<TensorType>, InferError> {
    let opt: Vec<Option<TensorType>> = operands.iter().cloned().map(Some).collect();
    infer_opt(op, &opt, consts, &[])
}

/// Like [`infer`] with missing operands and declared result types.
pub fn infer_opt(
    op: Op,
    operands: &[Option<TensorType>],
    consts: &[(usize, Tensor)],
    declared: &[TensorType],
) -> Result<Vec<TensorType>, InferError> {
    let types: Vec<Option<&TensorType>> = operands.iter().map(Option::as_ref).collect();
    let mut cv: Vec<Option<&Tensor>> = vec![None; operands.len()];
    for (i, t) in consts {
        cv[*i] = Some(t);
    }
    infer_node(&op, &types, &cv, declared)
}

/// The single result of [`infer`], panicking with the error otherwise.
pub fn infer1(op: Op, operands: &[TensorType], consts: &[(usize, Tensor)]) -> TensorType {
    let mut r = infer(op, operands, consts).unwrap_or_else(|e| panic!("inference failed: {e}"));
    assert_eq!(r.len(), 1);
    r.pop().expect("one result")
}

/// The error message of a failing inference.
pub fn infer_err(op: Op, operands: &[TensorType], consts: &[(usize, Tensor)]) -> String {
    match infer(op, operands, consts) {
        Ok(t) => panic!("expected an error, inferred {t:?}"),
        Err(e) => e.to_string(),
    }
}

/// An i64 1-d constant.
pub fn ints(v: &[i64]) -> Tensor {
    Tensor::i64(&[v.len()], v.to_vec())
}

/// The i64 type of [`ints`].
pub fn ints_ty(v: &[i64]) -> TensorType {
    TensorType::fixed(DType::I64, &[v.len()])
}

#[test]
fn operand_counts_and_required_slots_are_checked() {
    let e = infer(Op::Relu, &[ty("f32[2]"), ty("f32[2]")], &[]).unwrap_err();
    assert!(e.message.contains("takes 1 operands, got 2"), "{e}");
    let e = infer_opt(Op::Where, &[Some(ty("bool[2]")), None, Some(ty("f32[2]"))], &[], &[])
        .unwrap_err();
    assert!(e.message.contains("required operand 1 (x) is missing"), "{e}");
    assert!(infer(Op::Concat(qcc_ir::ops::AxisAttrs { axis: 0 }), &[], &[]).is_err());
}

#[test]
fn extreme_attribute_values_give_results_or_errors_not_panics() {
    use qcc_ir::ops::{BlockAttrs, ConvAttrs, PadAttrs, PoolAttrs};
    let slice = |steps: i64| {
        let ops = [ty("f32[10]"), ints_ty(&[0]), ints_ty(&[0]), ints_ty(&[0]), ints_ty(&[0])];
        let c =
            [(1, ints(&[i64::MAX])), (2, ints(&[i64::MIN])), (3, ints(&[0])), (4, ints(&[steps]))];
        infer(Op::Slice, &ops, &c)
    };
    assert_eq!(slice(i64::MIN).unwrap(), vec![ty("f32[1]")]);
    assert_eq!(slice(i64::MAX).unwrap(), vec![ty("f32[0]")]);
    let pads = [i64::MAX, i64::MAX];
    let e =
        infer(Op::Pad(PadAttrs::default()), &[ty("f32[3]"), ints_ty(&pads)], &[(1, ints(&pads))]);
    assert!(e.unwrap_err().message.contains("overflow"));
    let huge = usize::MAX / 2;
    let conv = Op::Conv(ConvAttrs { pads: vec![huge, huge, huge, huge], ..Default::default() });
    assert!(infer(conv, &[ty("f32[1,1,4,4]"), ty("f32[1,1,3,3]")], &[]).is_err());
    let pool =
        PoolAttrs { kernel_shape: vec![usize::MAX], dilations: vec![2], ..Default::default() };
    assert!(infer(Op::MaxPool(pool), &[ty("f32[1,1,4]")], &[]).is_err());
    let d2s = Op::DepthToSpace(BlockAttrs { blocksize: usize::MAX, mode: "DCR".into() });
    assert!(infer(d2s, &[ty("f32[1,4,2,2]")], &[]).is_err());
}
