//! Reductions and ArgMax/ArgMin.

use super::*;
use qcc_ir::ops::{ArgAttrs, ReduceAttrs};

fn attrs(keepdims: bool, noop: bool) -> ReduceAttrs {
    ReduceAttrs { keepdims, noop_with_empty_axes: noop }
}

#[test]
fn reduce_with_constant_axes() {
    let keep = Op::ReduceMean(attrs(true, false));
    assert_eq!(
        infer1(keep, &[ty("f32[N,3,4]"), ints_ty(&[1])], &[(1, ints(&[1]))]),
        ty("f32[N,1,4]")
    );
    let drop = Op::ReduceSum(attrs(false, false));
    assert_eq!(
        infer1(drop.clone(), &[ty("f32[N,3,4]"), ints_ty(&[-1, 1])], &[(1, ints(&[-1, 1]))]),
        ty("f32[N]")
    );
    assert!(infer_err(drop.clone(), &[ty("f32[N,3]"), ints_ty(&[1, -1])], &[(1, ints(&[1, -1]))])
        .contains("repeated"));
    assert!(infer_err(drop, &[ty("f32[N,3]"), ints_ty(&[2])], &[(1, ints(&[2]))])
        .contains("out of range"));
}

#[test]
fn reduce_without_axes() {
    let all = infer_opt(Op::ReduceMax(attrs(false, false)), &[Some(ty("f32[N,3]"))], &[], &[]);
    assert_eq!(all.unwrap(), vec![ty("f32[]")]);
    let all_keep = infer_opt(Op::ReduceProd(attrs(true, false)), &[Some(ty("f32[N,3]"))], &[], &[]);
    assert_eq!(all_keep.unwrap(), vec![ty("f32[1,1]")]);
    let noop = infer_opt(Op::ReduceMin(attrs(true, true)), &[Some(ty("f32[N,3]"))], &[], &[]);
    assert_eq!(noop.unwrap(), vec![ty("f32[N,3]")]);
    // An empty constant axes list counts as no axes.
    let empty = infer1(
        Op::ReduceSumSquare(attrs(false, false)),
        &[ty("f32[2,3]"), ints_ty(&[])],
        &[(1, ints(&[]))],
    );
    assert_eq!(empty, ty("f32[]"));
}

#[test]
fn reduce_with_runtime_axes() {
    assert_eq!(
        infer1(Op::ReduceMean(attrs(true, false)), &[ty("f32[N,3,4]"), ty("i64[1]")], &[]),
        ty("f32[?,?,?]")
    );
    assert_eq!(
        infer1(Op::ReduceMean(attrs(false, false)), &[ty("f32[N,3,4]"), ty("i64[2]")], &[]),
        ty("f32[?]")
    );
    assert_eq!(
        infer1(Op::ReduceMean(attrs(false, false)), &[ty("f32[N,3,4]"), ty("i64[K]")], &[]),
        ty("f32[*]")
    );
}

#[test]
fn argmax_gives_i64() {
    let a = |axis, keepdims| ArgAttrs { axis, keepdims, select_last_index: false };
    assert_eq!(infer1(Op::ArgMax(a(1, false)), &[ty("f32[N,10]")], &[]), ty("i64[N]"));
    assert_eq!(infer1(Op::ArgMin(a(-1, true)), &[ty("f32[N,10]")], &[]), ty("i64[N,1]"));
    assert!(infer_err(Op::ArgMax(a(2, true)), &[ty("f32[N,10]")], &[]).contains("axis"));
}
