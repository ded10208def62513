//! Dequantize of i32 accumulators and 8-bit values with per-axis parameters (the float output of
//! a quantized layer: `f32(q − zp[c]) · (s_x·s_w[c])`) is bit-exact with the interpreter,
//! including values far beyond f32's 24-bit mantissa and zero points that push `q − zp` past
//! the i32 range.

use qcc_backend_cranelift::{compile, CompileOptions};
use qcc_ir::Tensor;

fn check(text: &str, input: Tensor) {
    let g = qcc_ir::parse::parse(text).expect("parse");
    let want = qcc_ir::interp::run(&g, std::slice::from_ref(&input)).expect("interpreter");
    let m = compile(&g, &CompileOptions::default()).expect("compile");
    let got = m.run(&[input]).expect("run");
    let (a, b) = (want[0].as_f32().unwrap(), got[0].as_f32().unwrap());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "element {i}: interpreter {x}, backend {y}");
    }
}

#[test]
fn i32_per_axis_is_bit_exact() {
    let text = r#"graph @g {
  input %x: i32<axis=1, scales=[0.5,0.000123,3.25e-7], zps=[0,7,-9]>[2,3,5]
  %0 = Dequantize(%x) : f32[2,3,5]
  output "y" = %0
}"#;
    let mut v: Vec<i32> = (0..30).map(|i| (i * 7919 - 100_000) * (i % 5 + 1) * 131).collect();
    v[0] = i32::MAX;
    v[1] = i32::MIN;
    v[7] = i32::MIN; // q − zp below i32::MIN for zero point 7
    v[12] = 16_777_217; // not representable in f32: rounding of the conversion matters
    check(text, Tensor::i32(&[2, 3, 5], v));
}

#[test]
fn u8_per_axis_and_i32_per_tensor_are_bit_exact() {
    let text = r#"graph @g {
  input %x: u8<axis=2, scales=[0.1,0.2,0.3,0.4], zps=[0,128,255,3]>[1,2,4]
  %0 = Dequantize(%x) : f32[1,2,4]
  output "y" = %0
}"#;
    check(text, Tensor::u8(&[1, 2, 4], vec![0, 255, 17, 200, 128, 1, 254, 3]));
    let text = r#"graph @g {
  input %x: i32<0.0078125:-3>[7]
  %0 = Dequantize(%x) : f32[7]
  output "y" = %0
}"#;
    check(text, Tensor::i32(&[7], vec![0, 1, -1, i32::MAX, i32::MIN, 123_456_789, -3]));
}
