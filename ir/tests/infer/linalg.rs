//! Convolutions, pooling, Gemm and MatMul.

use super::*;
use qcc_ir::ops::{AutoPad, ConvAttrs, ConvTransposeAttrs, GemmAttrs, PoolAttrs};

fn conv(strides: &[usize], pads: &[usize], dilations: &[usize], group: usize) -> Op {
    Op::Conv(ConvAttrs {
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group,
        ..ConvAttrs::default()
    })
}

fn pool(k: &[usize], s: &[usize], pads: &[usize], ceil_mode: bool) -> PoolAttrs {
    PoolAttrs {
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: pads.to_vec(),
        ceil_mode,
        ..PoolAttrs::default()
    }
}

#[test]
fn conv_with_stride_and_pads() {
    // (224 + 3 + 3 − 7) / 2 + 1 = 112.
    let op = conv(&[2, 2], &[3, 3, 3, 3], &[], 1);
    let r = infer1(op, &[ty("f32[N,3,224,224]"), ty("f32[64,3,7,7]"), ty("f32[64]")], &[]);
    assert_eq!(r, ty("f32[N,64,112,112]"));
}

#[test]
fn conv_with_dilation_and_asymmetric_pads() {
    // Effective kernel 2·(3−1)+1 = 5: (10 − 5)/1 + 1 = 6 rows; cols (10 + 1 + 0 − 5) + 1 = 7.
    let op = conv(&[], &[0, 1, 0, 0], &[2, 2], 1);
    assert_eq!(infer1(op, &[ty("f32[1,1,10,10]"), ty("f32[4,1,3,3]")], &[]), ty("f32[1,4,6,7]"));
}

#[test]
fn conv_auto_pad_same_upper_and_valid() {
    let same = Op::Conv(ConvAttrs {
        strides: vec![2, 2],
        auto_pad: AutoPad::SameUpper,
        ..Default::default()
    });
    // ceil(7 / 2) = 4, ceil(8 / 2) = 4.
    assert_eq!(infer1(same, &[ty("f32[1,3,7,8]"), ty("f32[8,3,3,3]")], &[]), ty("f32[1,8,4,4]"));
    let valid = Op::Conv(ConvAttrs {
        pads: vec![5, 5, 5, 5],
        auto_pad: AutoPad::Valid,
        ..Default::default()
    });
    // VALID ignores pads: 7 − 3 + 1 = 5.
    assert_eq!(infer1(valid, &[ty("f32[1,3,7,7]"), ty("f32[8,3,3,3]")], &[]), ty("f32[1,8,5,5]"));
}

#[test]
fn conv_groups_and_channel_errors() {
    let dw = conv(&[], &[1, 1, 1, 1], &[], 32);
    assert_eq!(infer1(dw, &[ty("f32[N,32,H,W]"), ty("f32[32,1,3,3]")], &[]), ty("f32[N,32,?,?]"));
    let e = infer_err(conv(&[], &[], &[], 1), &[ty("f32[1,4,8,8]"), ty("f32[8,3,3,3]")], &[]);
    assert!(e.contains("channels"), "{e}");
    let e = infer_err(
        conv(&[], &[], &[], 1),
        &[ty("f32[1,3,8,8]"), ty("f32[8,3,3,3]"), ty("f32[4]")],
        &[],
    );
    assert!(e.contains("bias"), "{e}");
    let e = infer_err(conv(&[], &[], &[], 1), &[ty("f32[1,3,2,2]"), ty("f32[8,3,3,3]")], &[]);
    assert!(e.contains("larger than the padded input"), "{e}");
}

#[test]
fn conv_transpose_extents() {
    // 2·(5−1) + 1 (output_padding) + 3 − 1 − 1 = 10; output channels w[1]·group = 2.
    let op = Op::ConvTranspose(ConvTransposeAttrs {
        conv: ConvAttrs { strides: vec![2, 2], pads: vec![1, 1, 1, 1], ..Default::default() },
        output_padding: vec![1, 1],
        output_shape: vec![],
    });
    assert_eq!(infer1(op, &[ty("f32[1,4,5,5]"), ty("f32[4,2,3,3]")], &[]), ty("f32[1,2,10,10]"));
    let fixed =
        Op::ConvTranspose(ConvTransposeAttrs { output_shape: vec![9, 9], ..Default::default() });
    assert_eq!(infer1(fixed, &[ty("f32[1,4,5,5]"), ty("f32[4,2,3,3]")], &[]), ty("f32[1,2,9,9]"));
}

#[test]
fn max_pool_floor_and_ceil_mode() {
    // (112 + 2 − 3) / 2 + 1 = 56.
    let r = infer1(
        Op::MaxPool(pool(&[3, 3], &[2, 2], &[1, 1, 1, 1], false)),
        &[ty("f32[N,64,112,112]")],
        &[],
    );
    assert_eq!(r, ty("f32[N,64,56,56]"));
    // 5, k 2, s 2: floor 2, ceil 3.
    assert_eq!(
        infer1(Op::MaxPool(pool(&[2], &[2], &[], false)), &[ty("f32[1,1,5]")], &[]),
        ty("f32[1,1,2]")
    );
    assert_eq!(
        infer1(Op::MaxPool(pool(&[2], &[2], &[], true)), &[ty("f32[1,1,5]")], &[]),
        ty("f32[1,1,3]")
    );
    // 5 padded by 1 on both sides, k 2, s 2, ceil: ceil(5/2)+1 = 4, but the 4th window would
    // start at 6 ≥ 5 + 1 (in the right padding), so 3.
    let op = Op::MaxPool(pool(&[2], &[2], &[1, 1], true));
    assert_eq!(infer1(op, &[ty("f32[1,1,5]")], &[]), ty("f32[1,1,3]"));
}

#[test]
fn pool_dilation_auto_pad_and_errors() {
    let mut a = pool(&[3, 3], &[], &[], false);
    a.dilations = vec![2, 2];
    assert_eq!(infer1(Op::MaxPool(a), &[ty("f32[1,2,10,10]")], &[]), ty("f32[1,2,6,6]"));
    let mut a = pool(&[3, 3], &[2, 2], &[], false);
    a.auto_pad = AutoPad::SameUpper;
    assert_eq!(infer1(Op::AveragePool(a), &[ty("f32[1,2,5,6]")], &[]), ty("f32[1,2,3,3]"));
    let e = infer_err(Op::MaxPool(pool(&[3], &[], &[], false)), &[ty("f32[1,2,5,5]")], &[]);
    assert!(e.contains("kernel_shape"), "{e}");
    let e = infer_err(Op::MaxPool(pool(&[3, 3], &[0, 1], &[], false)), &[ty("f32[1,2,5,5]")], &[]);
    assert!(e.contains("strides"), "{e}");
}

#[test]
fn global_pools() {
    assert_eq!(infer1(Op::GlobalAveragePool, &[ty("f32[N,C,7,7]")], &[]), ty("f32[N,C,1,1]"));
    assert_eq!(infer1(Op::GlobalMaxPool, &[ty("f32[N,8,5]")], &[]), ty("f32[N,8,1]"));
    assert!(infer_err(Op::GlobalMaxPool, &[ty("f32[N,8]")], &[]).contains("rank"));
}

#[test]
fn gemm_transposes() {
    let g = |ta, tb| Op::Gemm(GemmAttrs { trans_a: ta, trans_b: tb, ..GemmAttrs::default() });
    assert_eq!(
        infer1(g(false, true), &[ty("f32[N,8]"), ty("f32[16,8]"), ty("f32[16]")], &[]),
        ty("f32[N,16]")
    );
    assert_eq!(infer1(g(true, false), &[ty("f32[8,4]"), ty("f32[8,16]")], &[]), ty("f32[4,16]"));
    let e = infer_err(g(false, false), &[ty("f32[4,8]"), ty("f32[16,8]")], &[]);
    assert!(e.contains("inner"), "{e}");
    assert!(infer_err(g(false, true), &[ty("f32[4,8]"), ty("f32[16,8]"), ty("f32[3]")], &[])
        .contains("broadcast"));
    assert!(infer_err(g(false, false), &[ty("f32[2,4,8]"), ty("f32[8,2]")], &[]).contains("rank 2"));
}

#[test]
fn matmul_promotion_and_batch_broadcast() {
    assert_eq!(infer1(Op::MatMul, &[ty("f32[3]"), ty("f32[3,4]")], &[]), ty("f32[4]"));
    assert_eq!(infer1(Op::MatMul, &[ty("f32[2,3]"), ty("f32[3]")], &[]), ty("f32[2]"));
    assert_eq!(infer1(Op::MatMul, &[ty("f32[B,S,64]"), ty("f32[64,32]")], &[]), ty("f32[B,S,32]"));
    assert_eq!(
        infer1(Op::MatMul, &[ty("f32[N,1,3,4]"), ty("f32[5,4,6]")], &[]),
        ty("f32[N,5,3,6]")
    );
    assert!(infer_err(Op::MatMul, &[ty("f32[2,3]"), ty("f32[4,5]")], &[]).contains("inner"));
    assert!(infer_err(Op::MatMul, &[ty("f32[]"), ty("f32[4,5]")], &[]).contains("rank"));
}
