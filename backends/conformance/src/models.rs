//! Small whole models shared by the backends' model tests: an MLP mixing integer and float
//! layers, and inputs that hit the quantization grid's ties and saturation.

use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};

fn q(dtype: DType, shape: &[usize], scale: f32, zp: i32) -> TensorType {
    TensorType::fixed(dtype, shape).with_quant(Quant::tensor(scale, zp))
}

/// f32 x[m,k] → Quantize(u8|i8) → QMatMul(w i8 per-column, bias) → Requantize → Relu →
/// Dequantize → Reshape → MatMul(f32) + Add → Relu.
pub fn mlp(m: usize, k: usize, n: usize, signed: bool, seed: u64) -> Graph {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut g = Graph::new("mlp");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[m, k]));
    let adt = if signed { DType::I8 } else { DType::U8 };
    let (sx, zx) = (0.02f32, if signed { -3 } else { 120 });
    let xq = g.add_op(Op::Quantize, "xq", &[x], q(adt, &[m, k], sx, zx)).unwrap();
    let w: Vec<i8> = (0..k * n).map(|_| next() as i8).collect();
    let sw: Vec<f32> = (0..n).map(|j| 0.001 * (1 + j % 5) as f32).collect();
    let wt = TensorType::fixed(DType::I8, &[k, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.clone(),
        zero_points: vec![0; n],
    });
    let wv = g.add_const_typed("w", Tensor::i8(&[k, n], w), wt);
    let bias: Vec<i32> = (0..n).map(|_| (next() % 4001) as i32 - 2000).collect();
    let bv = g.add_const("b", Tensor::i32(&[n], bias));
    let acc_ty = TensorType::fixed(DType::I32, &[m, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.iter().map(|s| s * sx).collect(),
        zero_points: vec![0; n],
    });
    let acc = g.add_op(Op::QMatMul, "fc1", &[xq, wv, bv], acc_ty).unwrap();
    let (sy, zy) = (0.05f32, if signed { 5 } else { 10 });
    let yq = g.add_op(Op::Requantize, "rq", &[acc], q(adt, &[m, n], sy, zy)).unwrap();
    let yr = g.add_op(Op::Relu, "relu1", &[yq], q(adt, &[m, n], sy, zy)).unwrap();
    let y = g.add_op(Op::Dequantize, "dq", &[yr], TensorType::fixed(DType::F32, &[m, n])).unwrap();
    let shp = g.add_const("shape", Tensor::i64(&[2], vec![m as i64, n as i64]));
    let y = g
        .add_op(
            Op::Reshape(Default::default()),
            "view",
            &[y, shp],
            TensorType::fixed(DType::F32, &[m, n]),
        )
        .unwrap();
    let w2: Vec<f32> = (0..n * 3).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
    let w2 = g.add_const("w2", Tensor::f32(&[n, 3], w2));
    let z = g.add_op(Op::MatMul, "fc2", &[y, w2], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    let b2 = g.add_const("b2", Tensor::f32(&[3], vec![0.5, -0.25, 0.0]));
    let z = g.add_op(Op::Add, "add", &[z, b2], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    let z = g.add_op(Op::Relu, "relu2", &[z], TensorType::fixed(DType::F32, &[m, 3])).unwrap();
    g.add_output("y_int", yr).unwrap();
    g.add_output("z", z).unwrap();
    g
}

/// Input `x[m,k]` for [`mlp`]: values on the grid's half points (ties), far out of range
/// (saturation) and in between.
pub fn input(m: usize, k: usize, seed: u64) -> Tensor {
    let v = (0..m * k)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(seed | 1).wrapping_mul(0x9e3779b97f4a7c15) >> 40;
            // Values on the quantization grid's half points hit ties.
            match h % 4 {
                0 => ((h % 200) as f32 - 100.0) * 0.01,
                1 => 100.0,
                _ => (h % 1000) as f32 / 250.0 - 2.0,
            }
        })
        .collect();
    Tensor::f32(&[m, k], v)
}
