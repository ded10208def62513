//! Calibration → QDQ insertion → integer realization on a small conv net built by hand:
//! the QDQ simulation stays close to float, and the realized integer graph uses integer ops
//! everywhere it can and stays close to the simulation.

use qcc_ir::ops::{ConvAttrs, GemmAttrs};
use qcc_ir::{interp, DType, Graph, Op, Tensor, TensorType};
use qcc_passes::calibrate::{calibrate, range::RangeMethod};
use qcc_passes::quant::insert::insert_qdq;
use qcc_passes::quant::realize::realize;
use qcc_passes::quant::scheme::QuantScheme;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn net() -> Graph {
    let mut r = Lcg(7);
    let mut g = Graph::new("net");
    let u = |d: &[usize]| TensorType::fixed(DType::F32, d);
    let x = g.add_input("x", u(&[1, 3, 8, 8]));
    let w1 = g.add_const("w1", Tensor::f32(&[4, 3, 3, 3], r.vec(108, 0.4)));
    let b1 = g.add_const("b1", Tensor::f32(&[4], r.vec(4, 0.1)));
    let pad1 = Op::Conv(ConvAttrs { pads: vec![1, 1, 1, 1], ..Default::default() });
    let c1 = g.add_op(pad1, "conv1", &[x, w1, b1], u(&[1, 4, 8, 8])).unwrap();
    let r1 = g.add_op(Op::Relu, "relu1", &[c1], u(&[1, 4, 8, 8])).unwrap();
    let w2 = g.add_const("w2", Tensor::f32(&[4, 4, 1, 1], r.vec(16, 0.5)));
    let c2 =
        g.add_op(Op::Conv(ConvAttrs::default()), "conv2", &[r1, w2], u(&[1, 4, 8, 8])).unwrap();
    let add = g.add_op(Op::Add, "residual", &[c2, r1], u(&[1, 4, 8, 8])).unwrap();
    let sig = g.add_op(Op::HardSwish, "hswish", &[add], u(&[1, 4, 8, 8])).unwrap();
    let gap = g.add_op(Op::GlobalAveragePool, "gap", &[sig], u(&[1, 4, 1, 1])).unwrap();
    let fl = g.add_op(Op::Flatten(Default::default()), "flatten", &[gap], u(&[1, 4])).unwrap();
    let w3 = g.add_const("w3", Tensor::f32(&[3, 4], r.vec(12, 1.0)));
    let b3 = g.add_const("b3", Tensor::f32(&[3], r.vec(3, 0.1)));
    let gemm = Op::Gemm(GemmAttrs { trans_b: true, ..Default::default() });
    let y = g.add_op(gemm, "fc", &[fl, w3, b3], u(&[1, 3])).unwrap();
    g.add_output("y", y).unwrap();
    g.advance_phase(qcc_ir::Phase::Typed).unwrap();
    g
}

fn samples(n: usize, seed: u64) -> Vec<Vec<Tensor>> {
    let mut r = Lcg(seed);
    (0..n).map(|_| vec![Tensor::f32(&[1, 3, 8, 8], r.vec(192, 1.0))]).collect()
}

fn sqnr(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
    let s: f64 = a.iter().map(|x| x * x).sum();
    let n: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    10.0 * (s / n.max(1e-30)).log10()
}

#[test]
fn calibrate_insert_realize() {
    let g = net();
    qcc_ir::verify::verify(&g).unwrap();
    let calib = calibrate(&g, &samples(16, 1), 512, &|| {}).unwrap();
    // Every float non-constant value is observed, inputs included.
    assert!(calib.stats.contains_key(&g.input_values()[0]));
    let ranges = calib.ranges(RangeMethod::MinMax, 256);

    let mut qdq = g.clone();
    let report = insert_qdq(&mut qdq, &ranges, &QuantScheme::default()).unwrap();
    assert_eq!(report.quantized.len(), 6, "{report:?}"); // conv1(+relu), conv2, residual, hswish, gap, fc
    qcc_ir::verify::verify(&qdq).unwrap_or_else(|e| panic!("{e}"));

    let mut int = qdq.clone();
    let rr = realize(&mut int, &QuantScheme::default()).unwrap();
    qcc_ir::verify::verify(&int).unwrap_or_else(|e| panic!("{e}"));
    let ops: Vec<&str> = int.node_ids().iter().map(|&n| int.node(n).op.variant_name()).collect();
    for want in ["QConv", "Requantize", "QAdd", "Lut", "QGlobalAveragePool", "QMatMul"] {
        assert!(ops.contains(&want), "{want} missing from {ops:?}");
    }
    // No float compute is left between the input Quantize and the output Dequantize.
    for banned in ["Conv", "Add", "HardSwish", "GlobalAveragePool", "Gemm", "Relu"] {
        assert!(!ops.contains(&banned), "{banned} left in float: {}", qcc_ir::print::print(&int));
    }
    assert_eq!(rr.boundaries, 2, "one Quantize at the input, one Dequantize at the output");

    for s in samples(8, 99) {
        let f = interp::run(&g, &s).unwrap();
        let q = interp::run(&qdq, &s).unwrap();
        let i = interp::run(&int, &s).unwrap();
        assert!(sqnr(&f[0], &q[0]) > 25.0, "QDQ vs float: {} dB", sqnr(&f[0], &q[0]));
        assert!(sqnr(&f[0], &i[0]) > 25.0, "integer vs float: {} dB", sqnr(&f[0], &i[0]));
        assert!(sqnr(&q[0], &i[0]) > 30.0, "integer vs QDQ: {} dB", sqnr(&q[0], &i[0]));
    }
}

#[test]
fn excluded_ops_stay_float() {
    let g = net();
    let calib = calibrate(&g, &samples(4, 3), 256, &|| {}).unwrap();
    let ranges = calib.ranges(RangeMethod::MinMax, 256);
    let mut qdq = g.clone();
    let scheme =
        QuantScheme { exclude: vec!["HardSwish".into(), "fc".into()], ..Default::default() };
    let report = insert_qdq(&mut qdq, &ranges, &scheme).unwrap();
    let kept: Vec<&str> = report.kept_float.iter().map(|(n, _)| n.as_str()).collect();
    assert!(kept.contains(&"hswish") && kept.contains(&"fc"), "{kept:?}");
    realize(&mut qdq, &scheme).unwrap();
    let ops: Vec<&str> = qdq.node_ids().iter().map(|&n| qdq.node(n).op.variant_name()).collect();
    assert!(
        ops.contains(&"HardSwish") && ops.contains(&"Gemm") && ops.contains(&"QConv"),
        "{ops:?}"
    );
}
