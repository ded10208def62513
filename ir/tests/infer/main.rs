//! Type and shape inference tests, one module per op family. Expected shapes are worked out by
//! hand from the ONNX operator definitions.

mod elementwise;
mod graph;
mod linalg;
mod quant;
mod reduce;
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
