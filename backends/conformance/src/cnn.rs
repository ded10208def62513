//! CNN-family cases: QConv (+ Requantize + Clip/Relu fused, i32 bias; dense 1×1 GEMM, im2col +
//! GEMM, depthwise, grouped, strided, dilated, padded; u8/i8) bit-exact, f32 Conv within 1e-4,
//! pooling (QGlobalAveragePool bit-exact, GlobalAveragePool/MaxPool/AveragePool f32), QAdd/QMul
//! with broadcast and Lut bit-exact, HardSwish/HardSigmoid/Sigmoid f32, NCHW/NHWC relayouts at
//! graph outputs.

use crate::{check_close, check_exact, Backend, Rng};
use proptest::prelude::*;
use qcc_ir::ops::{ConvAttrs, HardSigmoidAttrs, PoolAttrs};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType, Value};

fn q(dtype: DType, shape: &[usize], scale: f32, zp: i32) -> TensorType {
    TensorType::fixed(dtype, shape).with_quant(Quant::tensor(scale, zp))
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

/// A float input whose values include ties on the quantization grid and out-of-range values.
fn input(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let mut r = Rng(seed | 1);
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|_| match r.next_u64() % 8 {
            0 => (r.next_u64() % 64) as f32 * scale * 0.5 - 16.0 * scale,
            1 => 1e3,
            _ => r.f32(-1.5, 1.5),
        })
        .collect();
    Tensor::f32(shape, v)
}

/// One convolution configuration (per-group channel counts, window, strides, dilations, pads).
#[derive(Debug, Clone, Copy)]
pub struct ConvCase {
    n: usize,
    c_per_group: usize,
    m_per_group: usize,
    group: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    stride: (usize, usize),
    dil: (usize, usize),
    pads: [usize; 4],
}

impl ConvCase {
    fn out(&self) -> (usize, usize) {
        let o = |len: usize, k: usize, s: usize, d: usize, p0: usize, p1: usize| {
            (len + p0 + p1 - d * (k - 1) - 1) / s + 1
        };
        (
            o(self.h, self.k.0, self.stride.0, self.dil.0, self.pads[0], self.pads[2]),
            o(self.w, self.k.1, self.stride.1, self.dil.1, self.pads[1], self.pads[3]),
        )
    }
    fn attrs(&self) -> ConvAttrs {
        ConvAttrs {
            kernel_shape: vec![self.k.0, self.k.1],
            strides: vec![self.stride.0, self.stride.1],
            pads: self.pads.to_vec(),
            dilations: vec![self.dil.0, self.dil.1],
            group: self.group,
            ..Default::default()
        }
    }
    fn c(&self) -> usize {
        self.c_per_group * self.group
    }
    fn m(&self) -> usize {
        self.m_per_group * self.group
    }
}

/// Integer epilogue of the QConv under test.
#[derive(Debug, Clone, Copy)]
enum Epi {
    /// i32 accumulator output.
    I32,
    /// Requantize (+ Clip [lo, hi] or Relu) to u8/i8 with output scale `sy`.
    Requant { signed: bool, sy: f32, act: u8 },
}

/// f32 x → Quantize → QConv (→ Requantize → Clip|Relu) → graph output; a second output
/// feeds the conv result through a Relayout-free op so both layouts are exercised.
fn qconv_graph(cc: &ConvCase, x_signed: bool, epi: Epi, seed: u64) -> Graph {
    let mut r = Rng(seed | 1);
    let (c, m) = (cc.c(), cc.m());
    let (oh, ow) = cc.out();
    let mut g = Graph::new("qconv");
    let x = g.add_input("x", f32t(&[cc.n, c, cc.h, cc.w]));
    let (sx, zx) = if x_signed { (0.02f32, -7) } else { (0.015f32, 121) };
    let xdt = if x_signed { DType::I8 } else { DType::U8 };
    let xq = g.add_op(Op::Quantize, "xq", &[x], q(xdt, &[cn(cc), c, cc.h, cc.w], sx, zx)).unwrap();
    let wn = m * cc.c_per_group * cc.k.0 * cc.k.1;
    let w: Vec<i8> = (0..wn).map(|_| (r.next_u64() % 255) as i8).map(|v| v.max(-127)).collect();
    let sw: Vec<f32> = (0..m).map(|j| 0.002 * (1 + j % 7) as f32).collect();
    let wt = TensorType::fixed(DType::I8, &[m, cc.c_per_group, cc.k.0, cc.k.1])
        .with_quant(Quant::Axis { axis: 0, scales: sw.clone(), zero_points: vec![0; m] });
    let wv = g.add_const_typed("w", Tensor::i8(&[m, cc.c_per_group, cc.k.0, cc.k.1], w), wt);
    let bias: Vec<i32> = (0..m).map(|_| (r.next_u64() % 20001) as i32 - 10000).collect();
    let bv = g.add_const("b", Tensor::i32(&[m], bias));
    let oshape = [cc.n, m, oh, ow];
    let acc_ty = TensorType::fixed(DType::I32, &oshape).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.iter().map(|s| s * sx).collect(),
        zero_points: vec![0; m],
    });
    let acc = g.add_op(Op::QConv(cc.attrs()), "conv", &[xq, wv, bv], acc_ty).unwrap();
    let out = match epi {
        Epi::I32 => acc,
        Epi::Requant { signed, sy, act } => {
            let dt = if signed { DType::I8 } else { DType::U8 };
            let zy = if signed { 3 } else { 100 };
            let y = g.add_op(Op::Requantize, "rq", &[acc], q(dt, &oshape, sy, zy)).unwrap();
            match act {
                0 => y,
                1 => g.add_op(Op::Relu, "relu", &[y], q(dt, &oshape, sy, zy)).unwrap(),
                _ => {
                    let (lo, hi) = if signed { (-20i64, 90i64) } else { (zy as i64, 240) };
                    let mk = |g: &mut Graph, n: &str, v: i64| {
                        let t = if signed {
                            Tensor::i8(&[], vec![v as i8])
                        } else {
                            Tensor::u8(&[], vec![v as u8])
                        };
                        g.add_const(n, t)
                    };
                    let l = mk(&mut g, "lo", lo);
                    let h = mk(&mut g, "hi", hi);
                    g.add_op(Op::Clip, "clip", &[y, l, h], q(dt, &oshape, sy, zy)).unwrap()
                }
            }
        }
    };
    g.add_output("y", out).unwrap();
    g
}

fn cn(cc: &ConvCase) -> usize {
    cc.n
}

/// Convolution configurations whose window fits the padded input.
pub fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1usize..=2, 1usize..=5, 1usize..=5),
        prop_oneof![Just(1usize), Just(2), Just(3)],
        (1usize..=9, 1usize..=9),
        prop_oneof![Just((1usize, 1usize)), Just((3, 3)), Just((2, 3)), Just((1, 3))],
        (1usize..=2, 1usize..=2),
        (1usize..=2, 1usize..=2),
        (0usize..=2, 0usize..=1, 0usize..=1, 0usize..=2),
    )
        .prop_filter_map("window fits", |(ncm, group, hw, k, s, d, p)| {
            let cc = ConvCase {
                n: ncm.0,
                c_per_group: ncm.1,
                m_per_group: ncm.2,
                group,
                h: hw.0,
                w: hw.1,
                k,
                stride: s,
                dil: d,
                pads: [p.0, p.1, p.2, p.3],
            };
            let fits = cc.h + p.0 + p.2 > d.0 * (k.0 - 1) && cc.w + p.1 + p.3 > d.1 * (k.1 - 1);
            fits.then_some(cc)
        })
}

fn depthwise(c: usize, h: usize, w: usize, stride: usize) -> ConvCase {
    ConvCase {
        n: 1,
        c_per_group: 1,
        m_per_group: 1,
        group: c,
        h,
        w,
        k: (3, 3),
        stride: (stride, stride),
        dil: (1, 1),
        pads: [1, 1, 1, 1],
    }
}

/// QConv with a random configuration, u8/i8 input and output, i32 output or fused Requantize
/// (+ Relu or Clip), output scales that saturate: bit-exact.
pub fn qconv_matches_interpreter<B: Backend>(
    cc: ConvCase,
    x_signed: bool,
    y_signed: bool,
    act: u8,
    small_scale: bool,
    i32_out: u8,
    seed: u64,
) {
    let epi = if i32_out == 0 {
        Epi::I32
    } else {
        // A small output scale saturates most values.
        Epi::Requant { signed: y_signed, sy: if small_scale { 0.01 } else { 0.4 }, act }
    };
    let g = qconv_graph(&cc, x_signed, epi, seed);
    let x = input(&[cc.n, cc.c(), cc.h, cc.w], seed, 0.02);
    check_exact::<B>(&g, &[x]);
}

/// f32 Conv with a random configuration: within 1e-4.
pub fn conv_f32_matches_interpreter<B: Backend>(cc: ConvCase, bias: bool, seed: u64) {
    let g = conv_f32_graph(&cc, bias, seed);
    let x = input(&[cc.n, cc.c(), cc.h, cc.w], seed, 0.02);
    let x = Tensor::f32(&x.shape, x.as_f32().unwrap().iter().map(|v| v.clamp(-2.0, 2.0)).collect());
    check_close::<B>(&g, &[x], 1e-4, 1e-4);
}

fn conv_f32_graph(cc: &ConvCase, bias: bool, seed: u64) -> Graph {
    let mut r = Rng(seed | 1);
    let (c, m) = (cc.c(), cc.m());
    let (oh, ow) = cc.out();
    let mut g = Graph::new("conv");
    let x = g.add_input("x", f32t(&[cc.n, c, cc.h, cc.w]));
    let ws = [m, cc.c_per_group, cc.k.0, cc.k.1];
    let w: Vec<f32> = (0..ws.iter().product::<usize>()).map(|_| r.f32(-1.0, 1.0)).collect();
    let wv = g.add_const("w", Tensor::f32(&ws, w));
    let mut ops: Vec<Option<Value>> = vec![Some(x), Some(wv)];
    if bias {
        let b: Vec<f32> = (0..m).map(|_| r.f32(-1.0, 1.0)).collect();
        ops.push(Some(g.add_const("b", Tensor::f32(&[m], b))));
    }
    let ops: Vec<Value> = ops.into_iter().flatten().collect();
    let y = g.add_op(Op::Conv(cc.attrs()), "conv", &ops, f32t(&[cc.n, m, oh, ow])).unwrap();
    g.add_output("y", y).unwrap();
    g
}

/// Depthwise QConv over 16-channel blocks, 4-channel blocks and scalar tails: bit-exact.
pub fn depthwise_qconv_vector_blocks_and_tails<B: Backend>() {
    // 16-channel blocks, 4-channel blocks and scalar tails; stride 1 and 2; u8 and i8.
    for (c, stride, signed) in
        [(37usize, 1usize, false), (21, 2, true), (3, 1, false), (48, 2, false)]
    {
        let cc = depthwise(c, 7, 6, stride);
        let epi = Epi::Requant { signed, sy: 0.05, act: 2 };
        let g = qconv_graph(&cc, signed, epi, c as u64);
        check_exact::<B>(&g, &[input(&[1, c, 7, 6], 11, 0.02)]);
        let g = qconv_graph(&cc, !signed, Epi::I32, c as u64 + 1);
        check_exact::<B>(&g, &[input(&[1, c, 7, 6], 12, 0.02)]);
    }
}

/// Depthwise f32 Conv (vector blocks and tails, stride 1 and 2): within 1e-5.
pub fn depthwise_conv_f32<B: Backend>() {
    for (c, stride) in [(37usize, 1usize), (8, 2), (3, 1)] {
        let g = conv_f32_graph(&depthwise(c, 9, 5, stride), true, c as u64);
        let x = Tensor::f32(
            &[1, c, 9, 5],
            (0..c * 45).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect(),
        );
        check_close::<B>(&g, &[x], 1e-5, 1e-5);
    }
}

/// Quantize → QConv 1×1 (GEMM on NHWC) → Requantize → {QGlobalAveragePool, Lut, QAdd with a
/// broadcast [1,C,1,1] operand, QMul with a scalar constant} → outputs (relayouts back to NCHW).
pub fn quantized_elementwise_pool_and_lut<B: Backend>() {
    for signed in [false, true] {
        let dt = if signed { DType::I8 } else { DType::U8 };
        let cc = ConvCase {
            n: 1,
            c_per_group: 5,
            m_per_group: 19,
            group: 1,
            h: 6,
            w: 7,
            k: (1, 1),
            stride: (1, 1),
            dil: (1, 1),
            pads: [0; 4],
        };
        let mut g = qconv_graph(&cc, signed, Epi::Requant { signed, sy: 0.08, act: 0 }, 5);
        let y = g.outputs()[0].1;
        let yt = g.value_type(y).clone();
        let (sy, zy) = yt.quant.as_ref().and_then(Quant::per_tensor).unwrap();
        let s = [1usize, 19, 6, 7];
        let gap = g
            .add_op(Op::QGlobalAveragePool, "gap", &[y], q(dt, &[1, 19, 1, 1], 0.03, zy - 1))
            .unwrap();
        let table: Vec<u8> = (0..256).map(|i| ((i * 7 + 3) % 256) as u8).collect();
        let tv = if signed {
            g.add_const("t", Tensor::i8(&[256], table.iter().map(|&v| v as i8).collect()))
        } else {
            g.add_const("t", Tensor::u8(&[256], table))
        };
        let lut = g.add_op(Op::Lut, "lut", &[y, tv], q(dt, &s, 0.05, 2)).unwrap();
        let add = g.add_op(Op::QAdd, "add", &[lut, gap], q(dt, &s, 0.07, zy)).unwrap();
        let mul = g.add_op(Op::QMul, "mul", &[add, gap], q(dt, &s, 0.02, 1)).unwrap();
        let k = g.add_const_typed("k", Tensor::u8(&[1], vec![200]), q(DType::U8, &[1], 0.01, 0));
        let mul2 = g
            .add_op(Op::QMul, "mul2", &[mul, k], q(dt, &s, 0.004, if signed { -1 } else { 0 }))
            .unwrap();
        g.add_output("gap", gap).unwrap();
        g.add_output("mul2", mul2).unwrap();
        let _ = sy;
        check_exact::<B>(&g, &[input(&[1, 5, 6, 7], 99, 0.015)]);
    }
}

/// f32 Conv → HardSwish → MaxPool → HardSigmoid → AveragePool (pads, with and without
/// count_include_pad) → Sigmoid → Add/Mul with a broadcast [1,C,1,1] GlobalAveragePool.
pub fn f32_activations_and_pools<B: Backend>() {
    let cc = ConvCase {
        n: 2,
        c_per_group: 3,
        m_per_group: 6,
        group: 1,
        h: 9,
        w: 8,
        k: (3, 3),
        stride: (1, 1),
        dil: (1, 1),
        pads: [1, 1, 1, 1],
    };
    for include_pad in [false, true] {
        let mut g = conv_f32_graph(&cc, true, 3);
        let y = g.outputs()[0].1;
        let s = [2usize, 6, 9, 8];
        let hs = g.add_op(Op::HardSwish, "hs", &[y], f32t(&s)).unwrap();
        let mp = PoolAttrs {
            kernel_shape: vec![3, 2],
            strides: vec![2, 1],
            pads: vec![1, 0, 1, 1],
            ..Default::default()
        };
        let s2 = [2usize, 6, 5, 8];
        let m = g.add_op(Op::MaxPool(mp), "mp", &[hs], f32t(&s2)).unwrap();
        let hsg = g
            .add_op(
                Op::HardSigmoid(HardSigmoidAttrs { alpha: 0.3, beta: 0.4 }),
                "hsg",
                &[m],
                f32t(&s2),
            )
            .unwrap();
        let ap = PoolAttrs {
            kernel_shape: vec![2, 3],
            strides: vec![1, 2],
            pads: vec![1, 1, 0, 1],
            count_include_pad: include_pad,
            ..Default::default()
        };
        let s3 = [2usize, 6, 5, 4];
        let a = g.add_op(Op::AveragePool(ap), "ap", &[hsg], f32t(&s3)).unwrap();
        let sg = g.add_op(Op::Sigmoid, "sg", &[a], f32t(&s3)).unwrap();
        let gp = g.add_op(Op::GlobalAveragePool, "gp", &[hs], f32t(&[2, 6, 1, 1])).unwrap();
        let add = g.add_op(Op::Add, "add", &[sg, gp], f32t(&s3)).unwrap();
        let mul = g.add_op(Op::Mul, "mul", &[gp, add], f32t(&s3)).unwrap();
        g.set_outputs(vec![("mul".into(), mul), ("gp".into(), gp), ("y".into(), y)]).unwrap();
        let x = input(&[2, 3, 9, 8], 5, 0.02);
        let x =
            Tensor::f32(&x.shape, x.as_f32().unwrap().iter().map(|v| v.clamp(-3.0, 3.0)).collect());
        check_close::<B>(&g, &[x], 1e-5, 1e-5);
    }
}

/// Cases proptest once shrank failures to (kept explicitly: the seeds of its regression files
/// depend on the strategies' shapes).
pub fn regressions<B: Backend>() {
    let case = |group, h, w, k: (usize, usize), pads| ConvCase {
        n: 1,
        c_per_group: 1,
        m_per_group: 1,
        group,
        h,
        w,
        k,
        stride: (1, 1),
        dil: (1, 1),
        pads,
    };
    conv_f32_matches_interpreter::<B>(case(2, 1, 2, (1, 3), [0, 0, 0, 2]), false, 0);
    qconv_matches_interpreter::<B>(
        case(2, 1, 1, (1, 1), [0, 0, 0, 1]),
        false,
        false,
        0,
        false,
        0,
        0,
    );
    qconv_matches_interpreter::<B>(
        case(1, 1, 1, (1, 1), [0, 0, 0, 1]),
        false,
        false,
        0,
        false,
        0,
        30509371758,
    );
}

/// 2-d pooling with windows too large to unroll (72 and 81 taps): MaxPool with pads,
/// AveragePool with and without `count_include_pad`, one and two threads (1e-5 relative).
pub fn large_window_pools<B: Backend>() {
    let (n, c, h, w) = (2usize, 5usize, 13usize, 12usize);
    let x: Vec<f32> = (0..n * c * h * w).map(|i| ((i * 37) % 101) as f32 / 25.0 - 2.0).collect();
    let x = Tensor::f32(&[n, c, h, w], x);
    // (kernel, strides, pads, max, count_include_pad).
    let cases = [
        ((9, 9), (2, 3), [2, 1, 3, 4], true, false),
        ((8, 9), (1, 2), [0, 4, 1, 4], false, false),
        ((9, 8), (3, 1), [4, 3, 4, 3], false, true),
        ((9, 9), (1, 1), [4, 4, 4, 4], true, false),
    ];
    for (kern, s, pads, max, cip) in cases {
        let a = PoolAttrs {
            kernel_shape: vec![kern.0, kern.1],
            strides: vec![s.0, s.1],
            pads: pads.to_vec(),
            dilations: vec![1, 1],
            count_include_pad: cip,
            ..Default::default()
        };
        let o = |len: usize, k: usize, s: usize, p0: usize, p1: usize| (len + p0 + p1 - k) / s + 1;
        let (oh, ow) = (o(h, kern.0, s.0, pads[0], pads[2]), o(w, kern.1, s.1, pads[1], pads[3]));
        let mut g = Graph::new("pool");
        let xv = g.add_input("x", f32t(&[n, c, h, w]));
        let op = if max { Op::MaxPool(a) } else { Op::AveragePool(a) };
        let y = g.add_op(op, "p", &[xv], f32t(&[n, c, oh, ow])).unwrap();
        g.add_output("y", y).unwrap();
        let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interpreter");
        for threads in [1, 2] {
            let cm = crate::compile::<B>(&g, threads);
            let got = B::run(&cm, std::slice::from_ref(&x)).expect("run");
            crate::assert_close(&got[0], &want[0], 1e-5, 1e-5);
        }
    }
}
