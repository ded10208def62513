//! Transformer-family cases, one op per graph, with proptest over shapes (odd sizes, vector
//! tails, batch broadcast, permutations, axes): integer kernels (QMatMul with runtime B, QAdd,
//! QMul, Gather, Transpose/Slice/Concat/Expand copies, Cast) bit-exact; f32 kernels within the
//! tolerances stated per case.

use crate::{assert_close, both, compile, Backend, Rng};
use proptest::prelude::*;
use qcc_ir::ops::{AxisAttrs, CastAttrs, GeluAttrs, LayerNormAttrs, ReduceAttrs, TransposeAttrs};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};

pub(crate) fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

/// A graph computing `op` of inputs (runtime when the tensor is None in `consts`).
pub(crate) fn one_op(
    op: Op,
    ins: &[(TensorType, Option<Tensor>)],
    out: TensorType,
) -> (Graph, Vec<usize>) {
    let mut g = Graph::new("t");
    let mut vals = Vec::new();
    let mut runtime = Vec::new();
    for (i, (ty, c)) in ins.iter().enumerate() {
        vals.push(match c {
            Some(t) => g.add_const_typed(format!("c{i}"), t.clone(), ty.clone()),
            None => {
                runtime.push(i);
                g.add_input(format!("x{i}"), ty.clone())
            }
        });
    }
    let y = g.add_op(op, "op", &vals, out).expect("add_op");
    g.add_output("y", y).expect("output");
    qcc_ir::infer::infer_graph(&mut g).expect("infer");
    (g, runtime)
}

pub(crate) fn f32t(shape: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

fn qt(d: DType, shape: &[usize], s: f32, z: i32) -> TensorType {
    TensorType::fixed(d, shape).with_quant(Quant::tensor(s, z))
}

fn q8(d: DType, n: usize, r: &mut Rng) -> Tensor {
    let v: Vec<u8> = (0..n).map(|_| r.next_u64() as u8).collect();
    match d {
        DType::U8 => Tensor::u8(&[n], v),
        _ => Tensor::i8(&[n], v.into_iter().map(|x| x as i8).collect()),
    }
}

fn reshape(mut t: Tensor, s: &[usize]) -> Tensor {
    t.shape = s.to_vec();
    t
}

/// Batch shapes for A and B that broadcast (including rank differences and 1-extents).
pub fn batch_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop_oneof![
        Just((vec![], vec![])),
        Just((vec![3], vec![3])),
        Just((vec![2, 3], vec![3])),
        Just((vec![2, 1], vec![1, 3])),
        Just((vec![1, 2], vec![2])),
        Just((vec![], vec![2])),
    ]
}

/// f32 MatMul with a runtime B: ≤ 1e-5 relative (+1e-5 absolute) of the interpreter (k ≤ 20,
/// values in [−1, 1]; the orders of summation differ).
pub fn matmul_f32_runtime_b<B: Backend>(
    (ba, bb): (Vec<usize>, Vec<usize>),
    m: usize,
    n: usize,
    k: usize,
    seed: u64,
) {
    let mut r = Rng(seed | 1);
    let sa: Vec<usize> = ba.iter().copied().chain([m, k]).collect();
    let sb: Vec<usize> = bb.iter().copied().chain([k, n]).collect();
    let (g, _) = one_op(
        Op::MatMul,
        &[(f32t(&sa), None), (f32t(&sb), None)],
        TensorType::unknown(DType::F32),
    );
    let a = Tensor::f32(&sa, r.floats(numel(&sa), -1.0, 1.0));
    let b = Tensor::f32(&sb, r.floats(numel(&sb), -1.0, 1.0));
    let (got, want) = both::<B>(&g, &[a, b]);
    assert_close(&got, &want, 1e-5, 1e-5);
}

/// f32 MatMul with a constant B, then `+ bias` (an Add of a constant row, on either side) and
/// Relu or Clip, which the lowering fuses into the GEMM's epilogue: within 1e-5 of the
/// interpreter, which runs the three ops one by one; NaN inputs stay NaN through the clamp. With
/// one and two threads (m tails, n tails).
pub fn gemm_f32_fused_epilogue<B: Backend>(
    (m, n, k): (usize, usize, usize),
    act: u8,
    bias_first: bool,
    seed: u64,
) {
    let mut r = Rng(seed | 1);
    let mut g = Graph::new("t");
    let x = g.add_input("x", f32t(&[m, k]));
    let w = g.add_const("w", Tensor::f32(&[k, n], r.floats(k * n, -1.0, 1.0)));
    let b = g.add_const("b", Tensor::f32(&[1, n], r.floats(n, -0.5, 0.5)));
    let y = g.add_op(Op::MatMul, "mm", &[x, w], f32t(&[m, n])).expect("mm");
    let ops = if bias_first { [b, y] } else { [y, b] };
    let mut y = g.add_op(Op::Add, "bias", &ops, f32t(&[m, n])).expect("add");
    y = match act {
        0 => g.add_op(Op::Relu, "relu", &[y], f32t(&[m, n])).expect("relu"),
        1 => {
            let lo = g.add_const("lo", Tensor::f32(&[], vec![-0.25]));
            let hi = g.add_const("hi", Tensor::f32(&[], vec![0.3]));
            g.add_op(Op::Clip, "clip", &[y, lo, hi], f32t(&[m, n])).expect("clip")
        }
        _ => y,
    };
    g.add_output("y", y).expect("output");
    let mut xs = r.floats(m * k, -1.0, 1.0);
    if m * k > 3 {
        xs[3] = f32::NAN;
    }
    let x = Tensor::f32(&[m, k], xs);
    let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interpreter");
    for threads in [1, 2] {
        let cm = compile::<B>(&g, threads);
        let got = B::run(&cm, std::slice::from_ref(&x)).expect("run");
        assert_close(&got[0], &want[0], 1e-5, 1e-5);
    }
}

/// QMatMul with both operands runtime (zero points on both), i32 output or fused
/// Requantize: bit-exact.
pub fn qmatmul_runtime_b_bit_exact<B: Backend>(
    (ba, bb): (Vec<usize>, Vec<usize>),
    (m, n, k): (usize, usize, usize),
    (a_signed, b_signed): (bool, bool),
    (za, zb): (i32, i32),
    requant: bool,
    out_signed: bool,
    seed: u64,
) {
    let mut r = Rng(seed | 1);
    let (da, db) = (
        if a_signed { DType::I8 } else { DType::U8 },
        if b_signed { DType::I8 } else { DType::U8 },
    );
    let za = if a_signed { za } else { za + 128 };
    let zb = if b_signed { zb } else { zb + 128 };
    let sa: Vec<usize> = ba.iter().copied().chain([m, k]).collect();
    let sb: Vec<usize> = bb.iter().copied().chain([k, n]).collect();
    let (s1, s2) = (0.02f32, 0.03f32);
    let mut g = Graph::new("q");
    let a = g.add_input("a", qt(da, &sa, s1, za));
    let b = g.add_input("b", qt(db, &sb, s2, zb));
    let acc = g
        .add_op(
            Op::QMatMul,
            "mm",
            &[a, b],
            TensorType::unknown(DType::I32).with_quant(Quant::tensor(s1 * s2, 0)),
        )
        .unwrap();
    let y = if requant {
        let d = if out_signed { DType::I8 } else { DType::U8 };
        g.add_op(
            Op::Requantize,
            "rq",
            &[acc],
            TensorType::unknown(d).with_quant(Quant::tensor(0.05, 3)),
        )
        .unwrap()
    } else {
        acc
    };
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    let at = reshape(q8(da, numel(&sa), &mut r), &sa);
    let bt = reshape(q8(db, numel(&sb), &mut r), &sb);
    let (got, want) = both::<B>(&g, &[at, bt]);
    assert_eq!(got, want);
}

/// Transpose by any permutation (u8 and f32): exact.
pub fn transpose_any_perm<B: Backend>(shape: Vec<usize>, seed: u64, byte: bool) {
    let mut r = Rng(seed | 1);
    let rank = shape.len();
    let mut perm: Vec<usize> = (0..rank).collect();
    for i in (1..rank).rev() {
        perm.swap(i, (r.next_u64() % (i as u64 + 1)) as usize);
    }
    let (ty, x) = if byte {
        (qt(DType::U8, &shape, 0.1, 3), reshape(q8(DType::U8, numel(&shape), &mut r), &shape))
    } else {
        (f32t(&shape), Tensor::f32(&shape, r.floats(numel(&shape), -5.0, 5.0)))
    };
    let out = TensorType::unknown(ty.dtype);
    let out = if byte { out.with_quant(Quant::tensor(0.1, 3)) } else { out };
    let (g, _) = one_op(Op::Transpose(TransposeAttrs { perm }), &[(ty, None)], out);
    let (got, want) = both::<B>(&g, &[x]);
    assert_eq!(got, want);
}

/// Softmax over any axis (values up to ±30 and a −10000 mask column): ≤ 2e-6 absolute +
/// 1e-5 relative of the interpreter (which sums in f64).
pub fn softmax_any_axis<B: Backend>(shape: Vec<usize>, ax: usize, seed: u64) {
    let mut r = Rng(seed | 1);
    let axis =
        (ax % shape.len()) as i64 - if seed.is_multiple_of(2) { shape.len() as i64 } else { 0 };
    let mut v = r.floats(numel(&shape), -30.0, 30.0);
    if v.len() > 2 {
        v[1] = -10000.0;
    }
    let (g, _) = one_op(
        Op::Softmax(AxisAttrs { axis }),
        &[(f32t(&shape), None)],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::f32(&shape, v)]);
    assert_close(&got, &want, 1e-5, 2e-6);
}

/// LayerNormalization (last axes from `axis`, with and without bias): ≤ 1e-5 relative +
/// 1e-6 absolute (statistics in f64 like the interpreter).
pub fn layer_norm_rows<B: Backend>(rows: usize, d: usize, bias: bool, seed: u64) {
    let mut r = Rng(seed | 1);
    let s = vec![rows, d];
    let scale = Tensor::f32(&[d], r.floats(d, 0.5, 1.5));
    let mut ins = vec![(f32t(&s), None), (f32t(&[d]), Some(scale))];
    if bias {
        ins.push((f32t(&[d]), Some(Tensor::f32(&[d], r.floats(d, -1.0, 1.0)))));
    }
    let (g, _) = one_op(
        Op::LayerNormalization(LayerNormAttrs { axis: -1, epsilon: 1e-5 }),
        &ins,
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::f32(&s, r.floats(rows * d, -3.0, 3.0))]);
    assert_close(&got, &want, 1e-5, 1e-6);
}

/// ReduceSum/Mean/Max/Min over any non-empty set of axes, keepdims or not: ≤ 1e-6 relative (sums in f64).
pub fn reduce_any_axes<B: Backend>(shape: Vec<usize>, mask: u8, keep: bool, which: u8, seed: u64) {
    let mut r = Rng(seed | 1);
    // The mask's bits beyond the rank are dropped; an empty selection reduces the last axis,
    // so every generated case reduces something.
    let mut axes: Vec<i64> =
        (0..shape.len()).filter(|&d| mask >> d & 1 == 1).map(|d| d as i64).collect();
    if axes.is_empty() {
        axes.push(shape.len() as i64 - 1);
    }
    let at = ReduceAttrs { keepdims: keep, noop_with_empty_axes: false };
    let op = match which {
        0 => Op::ReduceSum(at),
        1 => Op::ReduceMean(at),
        2 => Op::ReduceMax(at),
        _ => Op::ReduceMin(at),
    };
    let n = axes.len();
    let (g, _) = one_op(
        op,
        &[
            (f32t(&shape), None),
            (TensorType::fixed(DType::I64, &[n]), Some(Tensor::i64(&[n], axes))),
        ],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::f32(&shape, r.floats(numel(&shape), -2.0, 2.0))]);
    assert_close(&got, &want, 1e-6, 1e-7);
}

/// QAdd / QMul with broadcast (u8/i8 mixes): bit-exact.
pub fn qadd_qmul_broadcast_bit_exact<B: Backend>(
    shape: Vec<usize>,
    bmask: u8,
    mul: bool,
    (sa, sb, sy): (f32, f32, f32),
    (za, zb, zy): (i32, i32, i32),
    out_signed: bool,
    seed: u64,
) {
    let mut r = Rng(seed | 1);
    let bshape: Vec<usize> =
        shape.iter().enumerate().map(|(d, &x)| if bmask >> d & 1 == 1 { 1 } else { x }).collect();
    let dy = if out_signed { DType::I8 } else { DType::U8 };
    let zy = if out_signed { zy } else { zy + 128 };
    let mut g = Graph::new("q");
    let a = g.add_input("a", qt(DType::U8, &shape, sa, za));
    let b = g.add_input("b", qt(DType::I8, &bshape, sb, zb));
    let y = g
        .add_op(
            if mul { Op::QMul } else { Op::QAdd },
            "op",
            &[a, b],
            TensorType::unknown(dy).with_quant(Quant::tensor(sy, zy)),
        )
        .unwrap();
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    let at = reshape(q8(DType::U8, numel(&shape), &mut r), &shape);
    let bt = reshape(q8(DType::I8, numel(&bshape), &mut r), &bshape);
    let (got, want) = both::<B>(&g, &[at, bt]);
    assert_eq!(got, want);
}

/// Gather rows (any axis, i64 indices with negatives): exact.
pub fn gather_any_axis<B: Backend>(shape: Vec<usize>, ax: usize, nidx: usize, seed: u64) {
    let mut r = Rng(seed | 1);
    let axis = ax % shape.len();
    let d = shape[axis] as i64;
    let idx: Vec<i64> = (0..nidx).map(|_| (r.next_u64() % (2 * d as u64)) as i64 - d).collect();
    let data = Tensor::f32(&shape, r.floats(numel(&shape), -1.0, 1.0));
    let (g, _) = one_op(
        Op::Gather(AxisAttrs { axis: axis as i64 }),
        &[(f32t(&shape), Some(data)), (TensorType::fixed(DType::I64, &[nidx]), None)],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::i64(&[nidx], idx)]);
    assert_eq!(got, want);
}

/// Gather with an index outside `[−d, d)`: the run fails with a typed error naming the step
/// (the interpreter fails too), reads nothing out of bounds, and the model still runs
/// afterwards on good indices.
pub fn gather_out_of_range_is_an_error<B: Backend>() {
    let data = Tensor::f32(&[4, 3], (0..12).map(|x| x as f32).collect());
    let (g, _) = one_op(
        Op::Gather(AxisAttrs { axis: 0 }),
        &[(f32t(&[4, 3]), Some(data)), (TensorType::fixed(DType::I64, &[2]), None)],
        TensorType::unknown(DType::F32),
    );
    let cm = compile::<B>(&g, 1);
    for bad in [4i64, -5, i64::MAX, i64::MIN] {
        let x = Tensor::i64(&[2], vec![1, bad]);
        assert!(qcc_ir::interp::run(&g, std::slice::from_ref(&x)).is_err());
        match B::run(&cm, std::slice::from_ref(&x)) {
            Err(m) => assert!(m.contains("out of range"), "index {bad}: {m}"),
            Ok(_) => panic!("index {bad}: the backend ran an out-of-range Gather"),
        }
    }
    let ok = B::run(&cm, &[Tensor::i64(&[2], vec![-1, 0])]).unwrap();
    assert_eq!(ok[0].as_f32().unwrap(), &[9., 10., 11., 0., 1., 2.]);
}

/// Exp, Erf, Gelu, Sqrt over a dense grid against the interpreter (libm): Exp ≤ 3e-7
/// relative on [−87, 88] (and exactly 0 / +∞ far outside), Erf ≤ 1e-6 absolute, Gelu ≤ 2e-6
/// absolute + 1e-6 relative (the cancellation in `1 + erf` for x ≪ 0), Sqrt exact. Prints the
/// measured maxima (at this writing: exp 1.2e-7, erf 4.8e-7, gelu 1.4e-6).
pub fn exp_and_erf_accuracy<B: Backend>() {
    let grid = |lo: f32, hi: f32, n: usize| -> Vec<f32> {
        (0..n).map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32).collect()
    };
    let run = |op: Op, v: Vec<f32>| {
        let n = v.len();
        let (g, _) = one_op(op, &[(f32t(&[n]), None)], TensorType::unknown(DType::F32));
        both::<B>(&g, &[Tensor::f32(&[n], v)])
    };
    let mut v = grid(-87.0, 88.0, 20001);
    v.extend([-1000.0, -104.5, 89.0, 1000.0, 0.0, -0.0]);
    let (got, want) = run(Op::Exp, v.clone());
    let (a, b) = (got.as_f32().unwrap(), want.as_f32().unwrap());
    let mut worst = 0f32;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if v[i] < -87.5 {
            assert_eq!(*x, 0.0, "exp({})", v[i]);
        } else if v[i] > 88.8 {
            assert_eq!(*x, f32::INFINITY, "exp({})", v[i]);
        } else {
            worst = worst.max((x - y).abs() / y.abs());
        }
    }
    eprintln!("exp: max relative error {worst:e}");
    assert!(worst <= 3e-7, "exp relative error {worst}");
    let v = grid(-6.0, 6.0, 24001);
    for (op, atol, rtol) in [(Op::Erf, 1e-6f32, 0f32), (Op::Gelu(GeluAttrs::default()), 2e-6, 1e-6)]
    {
        let name = op.name().to_string();
        let (got, want) = run(op, v.clone());
        let (a, b) = (got.as_f32().unwrap(), want.as_f32().unwrap());
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        eprintln!("{name}: max absolute error {worst:e}");
        assert_close(&got, &want, rtol, atol);
    }
    let (got, want) = run(Op::Sqrt, grid(0.0, 1000.0, 4001));
    assert_eq!(got, want);
}

/// Cast i64 → f32, f32 → i32/u8/i8 (round half to even, saturate), u8 → f32: exact.
pub fn cast_rounds_and_saturates<B: Backend>() {
    let f = vec![0.5f32, 1.5, 2.5, -0.5, -1.5, 300.0, -300.0, f32::NAN, 1e20, -7.25];
    for to in [DType::I32, DType::U8, DType::I8, DType::I64, DType::F32] {
        let (g, _) = one_op(
            Op::Cast(CastAttrs::new(to)),
            &[(f32t(&[f.len()]), None)],
            TensorType::unknown(to),
        );
        let (got, want) = both::<B>(&g, &[Tensor::f32(&[f.len()], f.clone())]);
        if to == DType::F32 {
            assert_close(&got, &want, 0.0, 0.0);
        } else {
            assert_eq!(got, want, "to {to}");
        }
    }
    let i = vec![0i64, 1, -3, 1 << 40, i64::MIN];
    let (g, _) = one_op(
        Op::Cast(CastAttrs::new(DType::F32)),
        &[(TensorType::fixed(DType::I64, &[5]), None)],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::i64(&[5], i)]);
    assert_eq!(got, want);
}

/// Slice (negative steps, negative starts), Concat (three operands, middle axis) and Expand:
/// exact.
pub fn slice_concat_expand<B: Backend>() {
    let mut r = Rng(7);
    let x = Tensor::f32(&[4, 5, 3], r.floats(60, -1.0, 1.0));
    let i64t = |v: Vec<i64>| {
        let n = v.len();
        (TensorType::fixed(DType::I64, &[n]), Some(Tensor::i64(&[n], v)))
    };
    let (g, _) = one_op(
        Op::Slice,
        &[
            (f32t(&[4, 5, 3]), None),
            i64t(vec![-1, 1]),
            i64t(vec![-5, 5]),
            i64t(vec![0, 1]),
            i64t(vec![-2, 2]),
        ],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
    assert_eq!(got.shape, vec![2, 2, 3]);
    assert_eq!(got, want);
    let mut g = Graph::new("c");
    let a = g.add_input("a", f32t(&[2, 1, 3]));
    let b = g.add_input("b", f32t(&[2, 4, 3]));
    let c = g.add_const("c", Tensor::f32(&[2, 2, 3], r.floats(12, -1.0, 1.0)));
    let y = g
        .add_op(
            Op::Concat(AxisAttrs { axis: -2 }),
            "cat",
            &[a, b, c],
            TensorType::unknown(DType::F32),
        )
        .unwrap();
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    let ins = [
        Tensor::f32(&[2, 1, 3], r.floats(6, -1.0, 1.0)),
        Tensor::f32(&[2, 4, 3], r.floats(24, -1.0, 1.0)),
    ];
    let (got, want) = both::<B>(&g, &ins);
    assert_eq!(got.shape, vec![2, 7, 3]);
    assert_eq!(got, want);
    let (g, _) = one_op(
        Op::Expand,
        &[(f32t(&[3, 1]), None), i64t(vec![2, 3, 4])],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, &[Tensor::f32(&[3, 1], vec![1., 2., 3.])]);
    assert_eq!(got.shape, vec![2, 3, 4]);
    assert_eq!(got, want);
}

/// Binary Max/Min with broadcast against the interpreter (NaN propagates): exact.
pub fn binary_max_min<B: Backend>() {
    for op in [Op::Max, Op::Min] {
        let (g, _) = one_op(
            op,
            &[(f32t(&[2, 3]), None), (f32t(&[3]), None)],
            TensorType::unknown(DType::F32),
        );
        let a = Tensor::f32(&[2, 3], vec![1., -2., f32::NAN, 4., 5., -6.]);
        let b = Tensor::f32(&[3], vec![0., 0., 1.]);
        let (got, want) = both::<B>(&g, &[a, b]);
        assert_close(&got, &want, 0.0, 0.0);
    }
}

/// f32 Neg, Abs, Floor, Ceil, Round (ties to even), Reciprocal, Sign and LeakyRelu: exact, bit
/// for bit (signed zeros included), with ties, ±0, ±∞ and NaN among the inputs.
pub fn f32_unary_ops_exact<B: Backend>() {
    let ops = [
        Op::Neg,
        Op::Abs,
        Op::Floor,
        Op::Ceil,
        Op::Round,
        Op::Reciprocal,
        Op::Sign,
        Op::LeakyRelu(qcc_ir::ops::AlphaAttrs { alpha: 0.1 }),
    ];
    let mut v = vec![0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.7, -3.7, 1e-30, -1e-30];
    v.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 123456.5, -7.25, 8388609.0]);
    let mut rng = crate::Rng(17);
    v.extend(rng.floats(19, -50.0, 50.0));
    let n = v.len();
    let x = Tensor::f32(&[n], v);
    for op in ops {
        let name = op.name().to_string();
        let (g, _) = one_op(op, &[(f32t(&[n]), None)], TensorType::unknown(DType::F32));
        let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
        let (a, b) = (got.as_f32().expect("f32"), want.as_f32().expect("f32"));
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            let same = p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan());
            assert!(
                same,
                "{name} of {}: backend {p:e} vs interpreter {q:e}",
                x.as_f32().unwrap()[i]
            );
        }
    }
}

/// Cases proptest once shrank failures to (kept explicitly: the seeds of its regression files
/// depend on the strategies' shapes).
pub fn regressions<B: Backend>() {
    softmax_any_axis::<B>(vec![1], 0, 0);
    qmatmul_runtime_b_bit_exact::<B>(
        (vec![], vec![]),
        (1, 4, 1),
        (false, false),
        (0, 0),
        false,
        false,
        0,
    );
}
