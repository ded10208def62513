//! Float-graph ops whose results are exact, bit for bit against the interpreter: comparisons
//! and Where with broadcast (NaN, ±0, ties), ArgMax/ArgMin (ties, NaN, select_last_index),
//! Split, Tile, Pad (constant with a constant or runtime value, reflect, edge, wrap, crops),
//! Resize (nearest in every rounding and coordinate mode, linear, cubic; f32 and u8),
//! ReduceProd, ReduceSumSquare and GlobalMaxPool.

use crate::xformer::{f32t, numel, one_op};
use crate::{both, compile, Backend, Rng};
use qcc_ir::ops::*;
use qcc_ir::{DType, Data, Graph, Op, Tensor, TensorType};

/// Values with ties, ±0, NaN and ±∞ (every 7th element from the specials).
fn tricky(r: &mut Rng, n: usize) -> Vec<f32> {
    const S: [f32; 6] = [0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0];
    (0..n)
        .map(
            |i| {
                if i % 7 == 3 {
                    S[(r.next_u64() % 6) as usize]
                } else {
                    (r.f32(-3.0, 3.0)).round()
                }
            },
        )
        .collect()
}

/// Bit-exact equality of two f32 tensors (NaN payloads aside).
fn same_f32(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.shape, want.shape, "{what}");
    let (a, b) = (got.as_f32().expect("f32"), want.as_f32().expect("f32"));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let same = x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
        assert!(same, "{what}: element {i}: backend {x:e} vs interpreter {y:e}");
    }
}

fn bools(shape: &[usize], v: Vec<bool>) -> Tensor {
    Tensor::new(shape.to_vec(), Data::Bool(v)).expect("bool tensor")
}

/// The five comparisons of f32 (with NaN, ±0, ±∞, ties), i32 and i64 operands, b broadcast
/// over the axes of `bmask`; then Where on f32, i64 and u8 with cond, x and y broadcast
/// differently: exact.
pub fn compare_and_where<B: Backend>(shape: Vec<usize>, bmask: u8, seed: u64) {
    let mut r = Rng(seed | 1);
    let bshape: Vec<usize> =
        shape.iter().enumerate().map(|(d, &x)| if bmask >> d & 1 == 1 { 1 } else { x }).collect();
    let (n, nb) = (numel(&shape), numel(&bshape));
    let ops = [Op::Equal, Op::Less, Op::LessOrEqual, Op::Greater, Op::GreaterOrEqual];
    for op in ops {
        for dt in [DType::F32, DType::I32, DType::I64] {
            let (a, b) = match dt {
                DType::F32 => (
                    Tensor::f32(&shape, tricky(&mut r, n)),
                    Tensor::f32(&bshape, tricky(&mut r, nb)),
                ),
                DType::I32 => {
                    let v =
                        |r: &mut Rng, k| (0..k).map(|_| (r.next_u64() % 5) as i32 - 2).collect();
                    (Tensor::i32(&shape, v(&mut r, n)), Tensor::i32(&bshape, v(&mut r, nb)))
                }
                _ => {
                    let v =
                        |r: &mut Rng, k| (0..k).map(|_| (r.next_u64() % 5) as i64 - 2).collect();
                    (Tensor::i64(&shape, v(&mut r, n)), Tensor::i64(&bshape, v(&mut r, nb)))
                }
            };
            let (g, _) = one_op(
                op.clone(),
                &[(TensorType::fixed(dt, &shape), None), (TensorType::fixed(dt, &bshape), None)],
                TensorType::unknown(DType::Bool),
            );
            let (got, want) = both::<B>(&g, &[a, b]);
            assert_eq!(got, want, "{} on {dt}", op.name());
        }
    }
    // Where: cond over the last axes, x full, y broadcast like b.
    let cshape: Vec<usize> =
        shape.iter().enumerate().map(|(d, &x)| if d == 0 { 1 } else { x }).collect();
    let cond = bools(&cshape, (0..numel(&cshape)).map(|_| r.next_u64() & 1 == 1).collect());
    for dt in [DType::F32, DType::I64, DType::U8] {
        let mk = |r: &mut Rng, s: &[usize]| -> Tensor {
            let k = numel(s);
            match dt {
                DType::F32 => Tensor::f32(s, tricky(r, k)),
                DType::I64 => Tensor::i64(s, (0..k).map(|_| r.next_u64() as i64).collect()),
                _ => Tensor::u8(s, (0..k).map(|_| r.next_u64() as u8).collect()),
            }
        };
        let (x, y) = (mk(&mut r, &shape), mk(&mut r, &bshape));
        let (g, _) = one_op(
            Op::Where,
            &[
                (TensorType::fixed(DType::Bool, &cshape), None),
                (TensorType::fixed(dt, &shape), None),
                (TensorType::fixed(dt, &bshape), None),
            ],
            TensorType::unknown(dt),
        );
        let (got, want) = both::<B>(&g, &[cond.clone(), x, y]);
        if dt == DType::F32 {
            same_f32(&got, &want, "Where");
        } else {
            assert_eq!(got, want, "Where on {dt}");
        }
    }
}

/// ArgMax / ArgMin over any axis, keepdims or not, first or last index on ties, with ties
/// and NaN among the values: exact.
pub fn argmax_argmin<B: Backend>(shape: Vec<usize>, ax: usize, keep: bool, last: bool, seed: u64) {
    let mut r = Rng(seed | 1);
    let axis =
        (ax % shape.len()) as i64 - if seed.is_multiple_of(2) { shape.len() as i64 } else { 0 };
    let x = Tensor::f32(&shape, tricky(&mut r, numel(&shape)));
    for max in [true, false] {
        let at = ArgAttrs { axis, keepdims: keep, select_last_index: last };
        let op = if max { Op::ArgMax(at) } else { Op::ArgMin(at) };
        let (g, _) = one_op(op, &[(f32t(&shape), None)], TensorType::unknown(DType::I64));
        let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
        assert_eq!(got, want, "max={max} axis={axis} keep={keep} last={last}");
    }
}

fn i64c(v: Vec<i64>) -> (TensorType, Option<Tensor>) {
    let n = v.len();
    (TensorType::fixed(DType::I64, &[n]), Some(Tensor::i64(&[n], v)))
}

/// Split (equal parts, explicit sizes with an empty part, negative axis), Tile (with a zero
/// repeat elsewhere) and Pad in every mode (positive, zero, negative and wide pads, an axes
/// operand, a constant or runtime fill value, u8 data): exact.
pub fn split_tile_pad<B: Backend>() {
    let mut r = Rng(11);
    let s = [2usize, 5, 3];
    let x = Tensor::f32(&s, tricky(&mut r, 30));
    // Split.
    for (axis, sizes, parts) in
        [(1i64, None, 5usize), (-1, Some(vec![1i64, 0, 2]), 3), (0, Some(vec![1, 1]), 2)]
    {
        let mut g = Graph::new("split");
        let xv = g.add_input("x", f32t(&s));
        let mut ins = vec![Some(xv)];
        if let Some(z) = sizes {
            let n = z.len();
            ins.push(Some(g.add_const("sizes", Tensor::i64(&[n], z))));
        }
        let id = g
            .add_node(
                Op::Split(SplitAttrs { axis }),
                "split",
                &ins,
                vec![TensorType::unknown(DType::F32); parts],
            )
            .unwrap();
        for (i, v) in g.results(id).into_iter().enumerate() {
            g.add_output(format!("y{i}"), v).unwrap();
        }
        qcc_ir::infer::infer_graph(&mut g).unwrap();
        let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap();
        let cm = compile::<B>(&g, 1);
        let got = B::run(&cm, std::slice::from_ref(&x)).unwrap();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            same_f32(a, b, &format!("Split axis {axis}"));
        }
    }
    // Tile.
    for reps in [vec![2i64, 1, 3], vec![1, 0, 2], vec![3, 2, 1]] {
        let (g, _) = one_op(
            Op::Tile,
            &[(f32t(&s), None), i64c(reps.clone())],
            TensorType::unknown(DType::F32),
        );
        let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
        same_f32(&got, &want, &format!("Tile {reps:?}"));
    }
    // Pad.
    let modes = [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap];
    let pads: [Vec<i64>; 5] = [
        vec![0, 1, 2, 1, 0, 2],
        vec![1, 4, 2, 0, 9, 5],
        vec![0, -1, 1, 0, 2, -1],
        vec![0, 0, 0, 0, 0, 0],
        vec![2, 0, 0, 2, 1, 0],
    ];
    for mode in modes {
        for p in &pads {
            let (g, _) = one_op(
                Op::Pad(PadAttrs { mode }),
                &[(f32t(&s), None), i64c(p.clone())],
                TensorType::unknown(DType::F32),
            );
            let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
            same_f32(&got, &want, &format!("Pad {mode:?} {p:?}"));
        }
    }
    // Constant pads with a constant value and axes, and with a runtime value (u8 data).
    let (g, _) = one_op(
        Op::Pad(PadAttrs::default()),
        &[
            (f32t(&s), None),
            i64c(vec![1, 3, 2, 0]),
            (f32t(&[]), Some(Tensor::f32(&[], vec![-7.5]))),
            i64c(vec![-1, 0]),
        ],
        TensorType::unknown(DType::F32),
    );
    let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
    same_f32(&got, &want, "Pad with value and axes");
    let xu = Tensor::u8(&s, (0..30).map(|i| i as u8 * 7).collect());
    let (g, _) = one_op(
        Op::Pad(PadAttrs::default()),
        &[
            (TensorType::fixed(DType::U8, &s), None),
            i64c(vec![0, 2, 1, 1, 0, 3]),
            (TensorType::fixed(DType::U8, &[]), None),
        ],
        TensorType::unknown(DType::U8),
    );
    let (got, want) = both::<B>(&g, &[xu, Tensor::u8(&[], vec![201])]);
    assert_eq!(got, want, "u8 Pad with a runtime value");
}

/// Resize: nearest (every rounding mode, half_pixel / asymmetric / align_corners /
/// pytorch_half_pixel, up- and down-scaling by integer and fractional factors, sizes), linear
/// and cubic (f32, weighted sums in f64 as the interpreter), nearest on u8: exact.
pub fn resize_modes<B: Backend>() {
    let mut r = Rng(5);
    let s = [1usize, 2, 5, 7];
    let x = Tensor::f32(&s, r.floats(70, -4.0, 4.0));
    let coords = [
        CoordMode::HalfPixel,
        CoordMode::Asymmetric,
        CoordMode::AlignCorners,
        CoordMode::PytorchHalfPixel,
    ];
    let nearest = [
        NearestMode::RoundPreferFloor,
        NearestMode::RoundPreferCeil,
        NearestMode::Floor,
        NearestMode::Ceil,
    ];
    let scales: [[f32; 4]; 4] =
        [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 0.5, 1.5], [1.0, 2.0, 3.0, 0.7], [1.0, 1.0, 1.0, 1.0]];
    let run =
        |at: ResizeAttrs, sc: Option<[f32; 4]>, sizes: Option<Vec<i64>>, x: &Tensor, dt: DType| {
            let mut ins = vec![
                (TensorType::fixed(dt, &s), None),
                (f32t(&[0]), Some(Tensor::f32(&[0], vec![]))),
            ];
            match (sc, sizes) {
                (Some(sc), _) => ins.push((f32t(&[4]), Some(Tensor::f32(&[4], sc.to_vec())))),
                (None, Some(z)) => {
                    ins.push((f32t(&[0]), Some(Tensor::f32(&[0], vec![]))));
                    ins.push(i64c(z));
                }
                _ => unreachable!(),
            }
            let what = format!("{at:?} scales={sc:?}");
            let (g, _) = one_op(Op::Resize(at), &ins, TensorType::unknown(dt));
            let (got, want) = both::<B>(&g, std::slice::from_ref(x));
            if dt == DType::F32 {
                same_f32(&got, &want, &what);
            } else {
                assert_eq!(got, want, "{what}");
            }
        };
    for c in coords {
        for nm in nearest {
            for sc in scales {
                let at = ResizeAttrs {
                    coordinate_transformation_mode: c,
                    nearest_mode: nm,
                    ..Default::default()
                };
                run(at, Some(sc), None, &x, DType::F32);
            }
        }
        for mode in [ResizeMode::Linear, ResizeMode::Cubic] {
            for sc in scales {
                let at =
                    ResizeAttrs { mode, coordinate_transformation_mode: c, ..Default::default() };
                run(at, Some(sc), None, &x, DType::F32);
            }
            let at = ResizeAttrs { mode, coordinate_transformation_mode: c, ..Default::default() };
            run(at, None, Some(vec![1, 2, 9, 4]), &x, DType::F32);
        }
    }
    let xu = Tensor::u8(&s, (0..70).map(|i| (i * 3) as u8).collect());
    run(ResizeAttrs::default(), Some([1.0, 1.0, 2.0, 1.5]), None, &xu, DType::U8);
    run(ResizeAttrs::default(), None, Some(vec![1, 2, 3, 11]), &xu, DType::U8);
}

/// ReduceProd and ReduceSumSquare over any axes (f64 accumulation in the interpreter's order)
/// and GlobalMaxPool (NaN propagates): exact.
pub fn prod_sum_square_global_max<B: Backend>(shape: Vec<usize>, mask: u8, keep: bool, seed: u64) {
    let mut r = Rng(seed | 1);
    let mut axes: Vec<i64> =
        (0..shape.len()).filter(|&d| mask >> d & 1 == 1).map(|d| d as i64).collect();
    if axes.is_empty() {
        axes.push(shape.len() as i64 - 1);
    }
    let at = ReduceAttrs { keepdims: keep, noop_with_empty_axes: false };
    let x = Tensor::f32(&shape, r.floats(numel(&shape), -1.5, 1.5));
    for op in [Op::ReduceProd(at), Op::ReduceSumSquare(at)] {
        let name = op.name().to_string();
        let (g, _) = one_op(
            op,
            &[(f32t(&shape), None), i64c(axes.clone())],
            TensorType::unknown(DType::F32),
        );
        let (got, want) = both::<B>(&g, std::slice::from_ref(&x));
        same_f32(&got, &want, &name);
    }
    if shape.len() >= 3 {
        let mut v = r.floats(numel(&shape), -5.0, 5.0);
        if seed.is_multiple_of(3) {
            v[0] = f32::NAN;
        }
        let (g, _) =
            one_op(Op::GlobalMaxPool, &[(f32t(&shape), None)], TensorType::unknown(DType::F32));
        let (got, want) = both::<B>(&g, &[Tensor::f32(&shape, v)]);
        same_f32(&got, &want, "GlobalMaxPool");
    }
}
