//! Benchmarks of the reference interpreter: f32 convolutions at MobileNet sizes, a 384×384×128
//! matmul, and a whole MobileNetV2-1.0 (224×224, random weights) built with the Graph API.
//!
//! Run: `cargo bench -p qcc-ir --bench interp -- --quick`.

use criterion::{criterion_group, criterion_main, Criterion};
use qcc_ir::interp::{eval_op, run};
use qcc_ir::ops::{AxisAttrs, ConvAttrs, GemmAttrs};
use qcc_ir::{DType, Graph, Op, Tensor, TensorType, Value};
use std::hint::black_box;

/// Deterministic pseudo-random values in [-scale, scale).
fn rnd(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn conv_once(
    c: &mut Criterion,
    name: &str,
    x: [usize; 4],
    m: usize,
    k: usize,
    stride: usize,
    group: usize,
) {
    let xt = Tensor::f32(&x, rnd(x.iter().product(), 1, 1.0));
    let cg = x[1] / group;
    let wt = Tensor::f32(&[m, cg, k, k], rnd(m * cg * k * k, 2, 0.1));
    let bt = Tensor::f32(&[m], rnd(m, 3, 0.1));
    let p = k / 2;
    let op = Op::Conv(ConvAttrs {
        strides: vec![stride; 2],
        pads: vec![p; 4],
        group,
        ..Default::default()
    });
    let f = || eval_op(&op, &[], &[Some(&xt), Some(&wt), Some(&bt)], &[]).expect("conv");
    report_cpu(name, 30, f);
    c.bench_function(name, |b| b.iter(f));
}

fn bench_convs(c: &mut Criterion) {
    conv_once(c, "conv3x3 stem 3->32 s2 224", [1, 3, 224, 224], 32, 3, 2, 1);
    conv_once(c, "conv3x3 64->64 56", [1, 64, 56, 56], 64, 3, 1, 1);
    conv_once(c, "conv1x1 24->144 56", [1, 24, 56, 56], 144, 1, 1, 1);
    conv_once(c, "conv1x1 144->24 56", [1, 144, 56, 56], 24, 1, 1, 1);
    conv_once(c, "depthwise3x3 144 56 s1", [1, 144, 56, 56], 144, 3, 1, 144);
    conv_once(c, "depthwise3x3 96 112 s2", [1, 96, 112, 112], 96, 3, 2, 96);
}

fn qconv_once(c: &mut Criterion, name: &str, x: [usize; 4], m: usize, k: usize, group: usize) {
    let n: usize = x.iter().product();
    let xt = Tensor::u8(&x, (0..n).map(|i| (i * 7 % 251) as u8).collect());
    let cg = x[1] / group;
    let nw = m * cg * k * k;
    let wt = Tensor::i8(&[m, cg, k, k], (0..nw).map(|i| (i * 13 % 255) as i8).collect());
    let bt = Tensor::i32(&[m], vec![7; m]);
    let (sx, zx, sw, zw) = (
        Tensor::scalar_f32(0.02),
        Tensor::u8(&[], vec![128]),
        Tensor::f32(&[m], vec![0.01; m]),
        Tensor::i8(&[m], vec![0; m]),
    );
    let (sy, zy) = (Tensor::scalar_f32(0.05), Tensor::u8(&[], vec![120]));
    let op = Op::QLinearConv(ConvAttrs { pads: vec![k / 2; 4], group, ..Default::default() });
    let ops = [
        Some(&xt),
        Some(&sx),
        Some(&zx),
        Some(&wt),
        Some(&sw),
        Some(&zw),
        Some(&sy),
        Some(&zy),
        Some(&bt),
    ];
    let f = || eval_op(&op, &[], &ops, &[]).expect("qlinearconv");
    report_cpu(name, 20, f);
    c.bench_function(name, |b| b.iter(f));
}

fn bench_qconvs(c: &mut Criterion) {
    qconv_once(c, "qlinearconv1x1 144->24 56", [1, 144, 56, 56], 24, 1, 1);
    qconv_once(c, "qlinearconv3x3 64->64 56", [1, 64, 56, 56], 64, 3, 1);
    qconv_once(c, "qlinearconv dw3x3 144 56", [1, 144, 56, 56], 144, 3, 144);
}

fn bench_matmul(c: &mut Criterion) {
    let a = Tensor::f32(&[384, 384], rnd(384 * 384, 4, 1.0));
    let b = Tensor::f32(&[384, 128], rnd(384 * 128, 5, 1.0));
    let f = || eval_op(&Op::MatMul, &[], &[Some(&a), Some(&b)], &[]).expect("matmul");
    report_cpu("matmul 384x384x128", 50, f);
    c.bench_function("matmul 384x384x128", |bch| bch.iter(f));
}

struct Builder {
    g: Graph,
    seed: u64,
    n: usize,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        x: Value,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        group: usize,
        relu6: bool,
    ) -> Value {
        self.seed += 1;
        self.n += 1;
        let cg = cin / group;
        let fan_in = (cg * k * k) as f32;
        let w = Tensor::f32(
            &[cout, cg, k, k],
            rnd(cout * cg * k * k, self.seed, (6.0 / fan_in).sqrt()),
        );
        let b = Tensor::f32(&[cout], rnd(cout, self.seed + 1000, 0.05));
        let wv = self.g.add_const(format!("w{}", self.n), w);
        let bv = self.g.add_const(format!("b{}", self.n), b);
        let at = ConvAttrs {
            strides: vec![stride; 2],
            pads: vec![k / 2; 4],
            group,
            ..Default::default()
        };
        let ty = TensorType::unknown(DType::F32);
        let y = self
            .g
            .add_op(Op::Conv(at), format!("conv{}", self.n), &[x, wv, bv], ty.clone())
            .expect("conv");
        if !relu6 {
            return y;
        }
        let lo = self.g.add_const(format!("lo{}", self.n), Tensor::scalar_f32(0.0));
        let hi = self.g.add_const(format!("hi{}", self.n), Tensor::scalar_f32(6.0));
        self.g.add_op(Op::Clip, format!("clip{}", self.n), &[y, lo, hi], ty).expect("clip")
    }
}

/// MobileNetV2-1.0 at 224×224 with random weights (BN folded: Conv + bias + Clip).
fn mobilenet_v2() -> Graph {
    let mut b = Builder { g: Graph::new("mobilenetv2"), seed: 10, n: 0 };
    let x = b.g.add_input("input", TensorType::fixed(DType::F32, &[1, 3, 224, 224]));
    let mut h = b.conv(x, 3, 32, 3, 2, 1, true);
    let mut cin = 32;
    for (t, c, n, s) in [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ] {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = cin * t;
            let mut y = h;
            if t != 1 {
                y = b.conv(y, cin, hidden, 1, 1, 1, true);
            }
            y = b.conv(y, hidden, hidden, 3, stride, hidden, true);
            y = b.conv(y, hidden, c, 1, 1, 1, false);
            if stride == 1 && cin == c {
                y =
                    b.g.add_op(
                        Op::Add,
                        format!("add{}", b.n),
                        &[h, y],
                        TensorType::unknown(DType::F32),
                    )
                    .expect("add");
            }
            h = y;
            cin = c;
        }
    }
    h = b.conv(h, cin, 1280, 1, 1, 1, true);
    let ty = TensorType::unknown(DType::F32);
    let p = b.g.add_op(Op::GlobalAveragePool, "gap", &[h], ty.clone()).expect("gap");
    let f =
        b.g.add_op(Op::Flatten(AxisAttrs { axis: 1 }), "flatten", &[p], ty.clone())
            .expect("flatten");
    let w = b.g.add_const(
        "fc.w",
        Tensor::f32(&[1000, 1280], rnd(1000 * 1280, 99, (6.0f32 / 1280.0).sqrt())),
    );
    let bias = b.g.add_const("fc.b", Tensor::f32(&[1000], rnd(1000, 98, 0.05)));
    let at = GemmAttrs { trans_b: true, ..Default::default() };
    let y = b.g.add_op(Op::Gemm(at), "fc", &[f, w, bias], ty).expect("gemm");
    b.g.add_output("logits", y).expect("output");
    b.g
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/stat`, clock ticks of 10 ms), or
/// None elsewhere. On a loaded machine wall-clock figures overstate the cost; this does not.
fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (u, k): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + k) / 100.0)
}

/// Prints the mean CPU time, mean wall time and fastest wall time of `n` calls of `f` (on a
/// loaded machine the CPU time and the fastest call are the meaningful figures).
fn report_cpu<T>(name: &str, n: usize, f: impl Fn() -> T) {
    let Some(t0) = thread_cpu_s() else { return };
    let w0 = std::time::Instant::now();
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let t = std::time::Instant::now();
        black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    let wall = w0.elapsed().as_secs_f64();
    if let Some(t1) = thread_cpu_s() {
        eprintln!(
            "{name}: {:.2} ms CPU time, {:.2} ms wall, fastest {:.2} ms (mean of {n})",
            (t1 - t0) * 1e3 / n as f64,
            wall * 1e3 / n as f64,
            best * 1e3
        );
    }
}

fn bench_mobilenet(c: &mut Criterion) {
    let g = mobilenet_v2();
    let x = Tensor::f32(&[1, 3, 224, 224], rnd(3 * 224 * 224, 7, 2.0));
    let out = run(&g, std::slice::from_ref(&x)).expect("mobilenet runs");
    assert_eq!(out[0].shape, vec![1, 1000]);
    report_cpu("mobilenetv2-1.0 224 (per sample)", 20, || {
        run(&g, std::slice::from_ref(&x)).expect("run")
    });
    c.bench_function("mobilenetv2-1.0 224 (ms/sample = time)", |b| {
        b.iter(|| run(&g, black_box(std::slice::from_ref(&x))).expect("run"))
    });
}

criterion_group!(benches, bench_convs, bench_qconvs, bench_matmul, bench_mobilenet);
criterion_main!(benches);
