//! Interpreter tests of the low-bit element types: `QuantizeLinear`/`DequantizeLinear` to and
//! from float8, float4, int2/uint2 and uint16, and `Cast` with `saturate`. Expected values are
//! the ONNX node tests' (the reference) or worked by hand from the ONNX formulas.

use super::testutil::*;
use crate::dtype::DType;
use crate::minifloat::{F4E2M1, F8E4M3FN, F8E5M2};
use crate::ops::{CastAttrs, Op, QLinearAttrs};
use crate::tensor::{Data, Tensor};

fn ql(axis: i64, dtype: DType, saturate: bool) -> QLinearAttrs {
    QLinearAttrs { axis, block_size: 0, dtype, saturate }
}

fn bits(t: &Tensor) -> Vec<u8> {
    match &t.data {
        Data::F8E4M3FN(v) => v.iter().map(|x| x.0).collect(),
        Data::F8E5M2(v) => v.iter().map(|x| x.0).collect(),
        Data::F4E2M1(v) => v.iter().map(|x| x.0).collect(),
        d => panic!("not a minifloat: {d:?}"),
    }
}

#[test]
fn quantize_float8_saturate_and_not() {
    // ONNX test_quantizelinear_e4m3fn / _e5m2: x / 2 with a zero zero point.
    let x = Tensor::f32(&[5], vec![0.0, 1.0, 2.0, 100000.0, 200.0]);
    let s = Tensor::scalar_f32(2.0);
    let z8 = Tensor::new(vec![], Data::F8E4M3FN(vec![F8E4M3FN(0)])).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E4M3FN, true)), &[&x, &s, &z8]);
    assert_eq!(r.dtype, DType::F8E4M3FN);
    assert_eq!(bits(&r), [0, 48, 56, 126, 108]);
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E4M3FN, false)), &[&x, &s, &z8]);
    assert_eq!(bits(&r), [0, 48, 56, 0x7f, 108]); // overflow → NaN without saturation
    let z5 = Tensor::new(vec![], Data::F8E5M2(vec![F8E5M2(0)])).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E5M2, true)), &[&x, &s, &z5]);
    assert_eq!(bits(&r), [0, 56, 60, 122, 86]);
    // Without a zero point the `dtype` attribute decides.
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E5M2, false)), &[&x, &s]);
    assert_eq!(bits(&r), [0, 56, 60, 122, 86]); // 50000 is in E5M2's range
    let big = Tensor::f32(&[2], vec![1e6, -1e6]);
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E5M2, false)), &[&big, &s]);
    assert_eq!(bits(&r), [0x7c, 0xfc]); // ±Inf without saturation
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::F8E5M2, true)), &[&big, &s]);
    assert_eq!(bits(&r), [0x7b, 0xfb]);
}

#[test]
fn dequantize_float8_float16_scale() {
    // ONNX test_dequantizelinear_e4m3fn(_float16): [0, 48, 56, 126, 237] · 2.
    let x =
        Tensor::new(vec![5], Data::F8E4M3FN([0, 48, 56, 126, 237].map(F8E4M3FN).to_vec())).unwrap();
    let s = Tensor::scalar_f32(2.0);
    let r = ev1(&Op::DequantizeLinear(ql(1, DType::U8, true)), &[&x, &s]);
    assert_eq!(r.as_f32().unwrap(), &[0.0, 1.0, 2.0, 896.0, -208.0]);
    let s16 = Tensor::new(vec![], Data::F16(vec![half::f16::from_f32(2.0)])).unwrap();
    let r = ev1(&Op::DequantizeLinear(ql(1, DType::U8, true)), &[&x, &s16]);
    assert_eq!(r.dtype, DType::F16);
    assert_eq!(r.to_f32_vec(), [0.0, 1.0, 2.0, 896.0, -208.0]);
    // A zero point of another dtype is an error.
    let z = Tensor::u8(&[], vec![0]);
    assert!(ev(&Op::DequantizeLinear(ql(1, DType::U8, true)), &[&x, &s, &z]).is_err());
}

#[test]
fn float4_per_axis_round_trip() {
    // ONNX test_quantizelinear_float4e2m1, per axis 0 with scales [2, 3, 4]; −0 / 4 + 0 = +0.
    let x = Tensor::f32(
        &[3, 4],
        vec![0.0, 2.5, 4.8, 8.6, -30.0, -20.0, 6.0, 9.0, -0.0, -2.5, -4.8, -8.6],
    );
    let s = Tensor::f32(&[3], vec![2.0, 3.0, 4.0]);
    let z = Tensor::new(vec![3], Data::F4E2M1(vec![F4E2M1(0); 3])).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(0, DType::F4E2M1, true)), &[&x, &s, &z]);
    assert_eq!(bits(&r), [0x0, 0x2, 0x4, 0x6, 0xf, 0xf, 0x4, 0x5, 0x0, 0x9, 0xa, 0xc]);
    let d = ev1(&Op::DequantizeLinear(ql(0, DType::U8, true)), &[&r, &s, &z]);
    assert_eq!(
        d.as_f32().unwrap(),
        &[0.0, 2.0, 4.0, 8.0, -18.0, -18.0, 6.0, 9.0, 0.0, -2.0, -4.0, -8.0]
    );
}

#[test]
fn int2_uint2_uint16_ranges() {
    // ONNX test_quantizelinear_int2 row 1: [-4, -3, 1, 2] / 3 → [-1, -1, 0, 1]; saturates to [-2, 1].
    let x = Tensor::f32(&[5], vec![-4.0, -3.0, 1.0, 2.0, -100.0]);
    let s = Tensor::scalar_f32(3.0);
    let z = Tensor::from_i64_saturating(DType::I2, vec![], &[0]).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::I2, true)), &[&x, &s, &z]);
    assert_eq!((r.dtype, r.to_i64_vec().unwrap()), (DType::I2, vec![-1, -1, 0, 1, -2]));
    let zu = Tensor::from_i64_saturating(DType::U2, vec![], &[1]).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::U2, true)), &[&x, &s, &zu]);
    assert_eq!(r.to_i64_vec().unwrap(), [0, 0, 1, 2, 0]);
    let d = ev1(&Op::DequantizeLinear(ql(1, DType::U8, true)), &[&r, &s, &zu]);
    assert_eq!(d.as_f32().unwrap(), &[-3.0, -3.0, 0.0, 3.0, -3.0]);
    // ONNX test_quantizelinear_uint16: zero point 32767, scale 2.
    let x = Tensor::f32(&[4], vec![0.0, -128.0, 70000.0, -70000.0]);
    let s = Tensor::scalar_f32(2.0);
    let z = Tensor::new(vec![], Data::U16(vec![32767])).unwrap();
    let r = ev1(&Op::QuantizeLinear(ql(1, DType::U16, true)), &[&x, &s, &z]);
    assert_eq!(r.as_u16().unwrap(), &[32767, 32703, 65535, 0]);
    let d = ev1(&Op::DequantizeLinear(ql(1, DType::U8, true)), &[&r, &s, &z]);
    assert_eq!(d.as_f32().unwrap(), &[0.0, -128.0, 65536.0, -65534.0]);
}

#[test]
fn cast_to_and_from_minifloats() {
    let x = Tensor::f32(&[4], vec![1e6, f32::NEG_INFINITY, 0.3, -0.0]);
    let sat = CastAttrs::new(DType::F8E4M3FN);
    let r = ev1(&Op::Cast(sat), &[&x]);
    assert_eq!(bits(&r), [0x7e, 0xfe, 0x2a, 0x80]); // 0.3 → 0.3125 (0.28125 is farther)
    let nosat = CastAttrs { to: DType::F8E5M2, saturate: false };
    let r = ev1(&Op::Cast(nosat), &[&x]);
    assert_eq!(bits(&r), [0x7c, 0xfc, 0x35, 0x80]);
    let back = ev1(&Op::Cast(CastAttrs::new(DType::F32)), &[&r]);
    assert_eq!(back.as_f32().unwrap(), &[f32::INFINITY, f32::NEG_INFINITY, 0.3125, -0.0]);
    let i = ev1(&Op::Cast(CastAttrs::new(DType::I8)), &[&back]);
    assert_eq!(i.as_i8().unwrap(), &[127, -128, 0, 0]);
    let h = ev1(&Op::Cast(CastAttrs::new(DType::F4E2M1)), &[&Tensor::f32(&[2], vec![2.5, 7.0])]);
    assert_eq!(bits(&h), [0x4, 0x7]);
}
