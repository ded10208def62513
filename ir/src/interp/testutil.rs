//! Test helpers: evaluate one op on literal tensors.

use super::{eval_op, InterpError, OpError};
use crate::dtype::DType;
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::TensorType;

fn unwrap_op(e: InterpError) -> OpError {
    match e {
        InterpError::Node { error, .. } => error,
        e => panic!("unexpected error {e}"),
    }
}

/// Evaluates with optional operands and `nres` results of unknown type.
pub fn evo(op: &Op, xs: &[Option<&Tensor>], nres: usize) -> Result<Vec<Tensor>, OpError> {
    let res = vec![TensorType::unknown(DType::F32); nres];
    eval_op(op, &[], xs, &res).map_err(unwrap_op)
}

/// Evaluates with all operands present; one result.
pub fn ev(op: &Op, xs: &[&Tensor]) -> Result<Tensor, OpError> {
    let o: Vec<Option<&Tensor>> = xs.iter().map(|&t| Some(t)).collect();
    evo(op, &o, 1).map(|mut v| v.remove(0))
}

/// Like [`ev`], unwrapping.
pub fn ev1(op: &Op, xs: &[&Tensor]) -> Tensor {
    match ev(op, xs) {
        Ok(t) => t,
        Err(e) => panic!("{} failed: {e}", op.name()),
    }
}

/// Like [`ev`], expecting an error.
pub fn ev_err(op: &Op, xs: &[&Tensor]) -> OpError {
    match ev(op, xs) {
        Ok(t) => panic!("{} should fail, got {t:?}", op.name()),
        Err(e) => e,
    }
}

/// Evaluates a typed op: operands with their types, and result types.
pub fn evt(
    op: &Op,
    xs: &[(Option<&Tensor>, Option<&TensorType>)],
    res: &[TensorType],
) -> Result<Vec<Tensor>, OpError> {
    let t: Vec<Option<&TensorType>> = xs.iter().map(|x| x.1).collect();
    let v: Vec<Option<&Tensor>> = xs.iter().map(|x| x.0).collect();
    eval_op(op, &t, &v, res).map_err(unwrap_op)
}

/// Asserts two float slices are close.
pub fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y} (tol {tol})\n{a:?}\n{b:?}"
        );
    }
}
