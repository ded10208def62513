//! The transformer-family kernels against the reference interpreter, one op per graph, with
//! proptest over shapes (odd sizes, vector tails, batch broadcast, permutations, axes):
//! integer kernels (QMatMul with runtime B, QAdd, QMul, Gather, Transpose/Slice/Concat/Expand
//! copies, Cast) bit-exact; f32 kernels within the tolerances stated per test.

use proptest::prelude::*;
use qcc_backend_cranelift::{compile, BackendError, CompileOptions};
use qcc_ir::ops::{AxisAttrs, CastAttrs, GeluAttrs, LayerNormAttrs, ReduceAttrs, TransposeAttrs};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};

/// Deterministic pseudo-random stream.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
    fn floats(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

/// A graph computing `op` of inputs (runtime when the tensor is None in `consts`).
fn one_op(op: Op, ins: &[(TensorType, Option<Tensor>)], out: TensorType) -> (Graph, Vec<usize>) {
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

/// Runs `g` on both engines; returns (cranelift, interpreter) outputs.
fn both(g: &Graph, inputs: &[Tensor]) -> (Tensor, Tensor) {
    let want = qcc_ir::interp::run(g, inputs).expect("interpreter");
    let cm = compile(g, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("compile: {e}\n{}", qcc_ir::print::print(g)));
    let got = cm.run(inputs).expect("run");
    (got.into_iter().next().unwrap(), want.into_iter().next().unwrap())
}

fn assert_close(got: &Tensor, want: &Tensor, rtol: f32, atol: f32) {
    assert_eq!(got.shape, want.shape);
    let (a, b) = (got.as_f32().unwrap(), want.as_f32().unwrap());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()) || x == y;
        assert!(ok, "element {i}: {x} vs {y} (rtol {rtol}, atol {atol})");
    }
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

fn qt(d: DType, shape: &[usize], s: f32, z: i32) -> TensorType {
    TensorType::fixed(d, shape).with_quant(Quant::tensor(s, z))
}

fn q8(d: DType, n: usize, r: &mut Rng) -> Tensor {
    let v: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
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
fn batch_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop_oneof![
        Just((vec![], vec![])),
        Just((vec![3], vec![3])),
        Just((vec![2, 3], vec![3])),
        Just((vec![2, 1], vec![1, 3])),
        Just((vec![1, 2], vec![2])),
        Just((vec![], vec![2])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// f32 MatMul with a runtime B: ≤ 1e-5 relative (+1e-5 absolute) of the interpreter (k ≤ 20,
    /// values in [−1, 1]; the orders of summation differ).
    #[test]
    fn matmul_f32_runtime_b((ba, bb) in batch_pair(), m in 1usize..11, n in 1usize..21, k in 1usize..20, seed: u64) {
        let mut r = Rng(seed | 1);
        let sa: Vec<usize> = ba.iter().copied().chain([m, k]).collect();
        let sb: Vec<usize> = bb.iter().copied().chain([k, n]).collect();
        let (g, _) = one_op(Op::MatMul, &[(f32t(&sa), None), (f32t(&sb), None)], TensorType::unknown(DType::F32));
        let a = Tensor::f32(&sa, r.floats(numel(&sa), -1.0, 1.0));
        let b = Tensor::f32(&sb, r.floats(numel(&sb), -1.0, 1.0));
        let (got, want) = both(&g, &[a, b]);
        assert_close(&got, &want, 1e-5, 1e-5);
    }

    /// QMatMul with both operands runtime (zero points on both), i32 output or fused
    /// Requantize: bit-exact.
    #[test]
    fn qmatmul_runtime_b_bit_exact((ba, bb) in batch_pair(), m in 1usize..11, n in 1usize..21, k in 1usize..40,
        a_signed: bool, b_signed: bool, za in -20i32..20, zb in -20i32..20, requant: bool, out_signed: bool, seed: u64) {
        let mut r = Rng(seed | 1);
        let (da, db) = (if a_signed { DType::I8 } else { DType::U8 }, if b_signed { DType::I8 } else { DType::U8 });
        let za = if a_signed { za } else { za + 128 };
        let zb = if b_signed { zb } else { zb + 128 };
        let sa: Vec<usize> = ba.iter().copied().chain([m, k]).collect();
        let sb: Vec<usize> = bb.iter().copied().chain([k, n]).collect();
        let (s1, s2) = (0.02f32, 0.03f32);
        let mut g = Graph::new("q");
        let a = g.add_input("a", qt(da, &sa, s1, za));
        let b = g.add_input("b", qt(db, &sb, s2, zb));
        let acc = g.add_op(Op::QMatMul, "mm", &[a, b], TensorType::unknown(DType::I32).with_quant(Quant::tensor(s1 * s2, 0))).unwrap();
        let y = if requant {
            let d = if out_signed { DType::I8 } else { DType::U8 };
            g.add_op(Op::Requantize, "rq", &[acc], TensorType::unknown(d).with_quant(Quant::tensor(0.05, 3))).unwrap()
        } else { acc };
        g.add_output("y", y).unwrap();
        qcc_ir::infer::infer_graph(&mut g).unwrap();
        let at = reshape(q8(da, numel(&sa), &mut r), &sa);
        let bt = reshape(q8(db, numel(&sb), &mut r), &sb);
        let (got, want) = both(&g, &[at, bt]);
        prop_assert_eq!(got, want);
    }

    /// Transpose by any permutation (u8 and f32): exact.
    #[test]
    fn transpose_any_perm(shape in proptest::collection::vec(1usize..5, 1..5), seed: u64, byte: bool) {
        let mut r = Rng(seed | 1);
        let rank = shape.len();
        let mut perm: Vec<usize> = (0..rank).collect();
        for i in (1..rank).rev() { perm.swap(i, (r.next() % (i as u64 + 1)) as usize); }
        let (ty, x) = if byte {
            (qt(DType::U8, &shape, 0.1, 3), reshape(q8(DType::U8, numel(&shape), &mut r), &shape))
        } else {
            (f32t(&shape), Tensor::f32(&shape, r.floats(numel(&shape), -5.0, 5.0)))
        };
        let out = TensorType::unknown(ty.dtype);
        let out = if byte { out.with_quant(Quant::tensor(0.1, 3)) } else { out };
        let (g, _) = one_op(Op::Transpose(TransposeAttrs { perm }), &[(ty, None)], out);
        let (got, want) = both(&g, &[x]);
        prop_assert_eq!(got, want);
    }

    /// Softmax over any axis (values up to ±30 and a −10000 mask column): ≤ 2e-6 absolute +
    /// 1e-5 relative of the interpreter (which sums in f64).
    #[test]
    fn softmax_any_axis(shape in proptest::collection::vec(1usize..9, 1..4), ax in 0usize..3, seed: u64) {
        let mut r = Rng(seed | 1);
        let axis = (ax % shape.len()) as i64 - if seed % 2 == 0 { shape.len() as i64 } else { 0 };
        let mut v = r.floats(numel(&shape), -30.0, 30.0);
        if v.len() > 2 { v[1] = -10000.0; }
        let (g, _) = one_op(Op::Softmax(AxisAttrs { axis }), &[(f32t(&shape), None)], TensorType::unknown(DType::F32));
        let (got, want) = both(&g, &[Tensor::f32(&shape, v)]);
        assert_close(&got, &want, 1e-5, 2e-6);
    }

    /// LayerNormalization (last axes from `axis`, with and without bias): ≤ 1e-5 relative +
    /// 1e-6 absolute (statistics in f64 like the interpreter).
    #[test]
    fn layer_norm_rows(rows in 1usize..6, d in 1usize..40, bias: bool, seed: u64) {
        let mut r = Rng(seed | 1);
        let s = vec![rows, d];
        let scale = Tensor::f32(&[d], r.floats(d, 0.5, 1.5));
        let mut ins = vec![(f32t(&s), None), (f32t(&[d]), Some(scale))];
        if bias { ins.push((f32t(&[d]), Some(Tensor::f32(&[d], r.floats(d, -1.0, 1.0))))); }
        let (g, _) = one_op(Op::LayerNormalization(LayerNormAttrs { axis: -1, epsilon: 1e-5 }), &ins, TensorType::unknown(DType::F32));
        let (got, want) = both(&g, &[Tensor::f32(&s, r.floats(rows * d, -3.0, 3.0))]);
        assert_close(&got, &want, 1e-5, 1e-6);
    }

    /// ReduceSum/Mean/Max/Min over any axes, keepdims or not: ≤ 1e-6 relative (sums in f64).
    #[test]
    fn reduce_any_axes(shape in proptest::collection::vec(1usize..6, 1..4), mask in 0u8..16, keep: bool, which in 0u8..4, seed: u64) {
        let mut r = Rng(seed | 1);
        let axes: Vec<i64> = (0..shape.len()).filter(|&d| mask >> d & 1 == 1).map(|d| d as i64).collect();
        prop_assume!(!axes.is_empty());
        let at = ReduceAttrs { keepdims: keep, noop_with_empty_axes: false };
        let op = match which { 0 => Op::ReduceSum(at), 1 => Op::ReduceMean(at), 2 => Op::ReduceMax(at), _ => Op::ReduceMin(at) };
        let n = axes.len();
        let (g, _) = one_op(op, &[(f32t(&shape), None), (TensorType::fixed(DType::I64, &[n]), Some(Tensor::i64(&[n], axes)))], TensorType::unknown(DType::F32));
        let (got, want) = both(&g, &[Tensor::f32(&shape, r.floats(numel(&shape), -2.0, 2.0))]);
        assert_close(&got, &want, 1e-6, 1e-7);
    }

    /// QAdd / QMul with broadcast (u8/i8 mixes): bit-exact.
    #[test]
    fn qadd_qmul_broadcast_bit_exact(shape in proptest::collection::vec(1usize..6, 1..4), bmask in 0u8..8, mul: bool,
        sa in 0.01f32..0.5, sb in 0.01f32..0.5, sy in 0.01f32..0.5, za in 0i32..255, zb in -128i32..127, zy in -128i32..127, out_signed: bool, seed: u64) {
        let mut r = Rng(seed | 1);
        let bshape: Vec<usize> = shape.iter().enumerate().map(|(d, &x)| if bmask >> d & 1 == 1 { 1 } else { x }).collect();
        let dy = if out_signed { DType::I8 } else { DType::U8 };
        let zy = if out_signed { zy } else { zy + 128 };
        let mut g = Graph::new("q");
        let a = g.add_input("a", qt(DType::U8, &shape, sa, za));
        let b = g.add_input("b", qt(DType::I8, &bshape, sb, zb));
        let y = g.add_op(if mul { Op::QMul } else { Op::QAdd }, "op", &[a, b], TensorType::unknown(dy).with_quant(Quant::tensor(sy, zy))).unwrap();
        g.add_output("y", y).unwrap();
        qcc_ir::infer::infer_graph(&mut g).unwrap();
        let at = reshape(q8(DType::U8, numel(&shape), &mut r), &shape);
        let bt = reshape(q8(DType::I8, numel(&bshape), &mut r), &bshape);
        let (got, want) = both(&g, &[at, bt]);
        prop_assert_eq!(got, want);
    }

    /// Gather rows (any axis, i64 indices with negatives): exact.
    #[test]
    fn gather_any_axis(shape in proptest::collection::vec(1usize..6, 1..4), ax in 0usize..3, nidx in 1usize..7, seed: u64) {
        let mut r = Rng(seed | 1);
        let axis = ax % shape.len();
        let d = shape[axis] as i64;
        let idx: Vec<i64> = (0..nidx).map(|_| (r.next() % (2 * d as u64)) as i64 - d).collect();
        let data = Tensor::f32(&shape, r.floats(numel(&shape), -1.0, 1.0));
        let (g, _) = one_op(Op::Gather(AxisAttrs { axis: axis as i64 }),
            &[(f32t(&shape), Some(data)), (TensorType::fixed(DType::I64, &[nidx]), None)], TensorType::unknown(DType::F32));
        let (got, want) = both(&g, &[Tensor::i64(&[nidx], idx)]);
        prop_assert_eq!(got, want);
    }
}

/// Gather with an index outside `[−d, d)`: the run fails with a typed error naming the step
/// (the interpreter fails too), reads nothing out of bounds, and the model still runs
/// afterwards on good indices.
#[test]
fn gather_out_of_range_is_an_error() {
    let data = Tensor::f32(&[4, 3], (0..12).map(|x| x as f32).collect());
    let (g, _) = one_op(
        Op::Gather(AxisAttrs { axis: 0 }),
        &[(f32t(&[4, 3]), Some(data)), (TensorType::fixed(DType::I64, &[2]), None)],
        TensorType::unknown(DType::F32),
    );
    let cm = compile(&g, &CompileOptions::default()).unwrap();
    for bad in [4i64, -5, i64::MAX, i64::MIN] {
        let x = Tensor::i64(&[2], vec![1, bad]);
        assert!(qcc_ir::interp::run(&g, std::slice::from_ref(&x)).is_err());
        match cm.run(std::slice::from_ref(&x)) {
            Err(BackendError::BadInput(m)) => assert!(m.contains("out of range"), "{m}"),
            other => panic!("index {bad}: expected BadInput, got {other:?}"),
        }
    }
    let ok = cm.run(&[Tensor::i64(&[2], vec![-1, 0])]).unwrap();
    assert_eq!(ok[0].as_f32().unwrap(), &[9., 10., 11., 0., 1., 2.]);
}

/// Exp, Erf, Gelu, Sqrt over a dense grid against the interpreter (libm): Exp ≤ 3e-7
/// relative on [−87, 88] (and exactly 0 / +∞ far outside), Erf ≤ 1e-6 absolute, Gelu ≤ 2e-6
/// absolute + 1e-6 relative (the cancellation in `1 + erf` for x ≪ 0), Sqrt exact. Prints the
/// measured maxima (at this writing: exp 1.2e-7, erf 4.8e-7, gelu 1.4e-6).
#[test]
fn exp_and_erf_accuracy() {
    let grid = |lo: f32, hi: f32, n: usize| -> Vec<f32> {
        (0..n).map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32).collect()
    };
    let run = |op: Op, v: Vec<f32>| {
        let n = v.len();
        let (g, _) = one_op(op, &[(f32t(&[n]), None)], TensorType::unknown(DType::F32));
        both(&g, &[Tensor::f32(&[n], v)])
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
#[test]
fn cast_rounds_and_saturates() {
    let f = vec![0.5f32, 1.5, 2.5, -0.5, -1.5, 300.0, -300.0, f32::NAN, 1e20, -7.25];
    for to in [DType::I32, DType::U8, DType::I8, DType::I64, DType::F32] {
        let (g, _) = one_op(
            Op::Cast(CastAttrs::new(to)),
            &[(f32t(&[f.len()]), None)],
            TensorType::unknown(to),
        );
        let (got, want) = both(&g, &[Tensor::f32(&[f.len()], f.clone())]);
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
    let (got, want) = both(&g, &[Tensor::i64(&[5], i)]);
    assert_eq!(got, want);
}

/// Slice (negative steps, negative starts), Concat (three operands, middle axis) and Expand:
/// exact.
#[test]
fn slice_concat_expand() {
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
    let (got, want) = both(&g, std::slice::from_ref(&x));
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
    let (got, want) = both(&g, &ins);
    assert_eq!(got.shape, vec![2, 7, 3]);
    assert_eq!(got, want);
    let (g, _) = one_op(
        Op::Expand,
        &[(f32t(&[3, 1]), None), i64t(vec![2, 3, 4])],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both(&g, &[Tensor::f32(&[3, 1], vec![1., 2., 3.])]);
    assert_eq!(got.shape, vec![2, 3, 4]);
    assert_eq!(got, want);
}

/// Binary Max/Min with broadcast against the interpreter (NaN propagates): exact.
#[test]
fn binary_max_min() {
    for op in [Op::Max, Op::Min] {
        let (g, _) = one_op(
            op,
            &[(f32t(&[2, 3]), None), (f32t(&[3]), None)],
            TensorType::unknown(DType::F32),
        );
        let a = Tensor::f32(&[2, 3], vec![1., -2., f32::NAN, 4., 5., -6.]);
        let b = Tensor::f32(&[3], vec![0., 0., 1.]);
        let (got, want) = both(&g, &[a, b]);
        assert_close(&got, &want, 0.0, 0.0);
    }
}
