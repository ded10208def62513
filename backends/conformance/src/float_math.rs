//! Float transcendentals against the interpreter (Rust's `f32` functions, i.e. the host libm):
//! Tanh, Log, Softplus, Sin, Cos, Elu, tanh-Gelu, Pow and LogSoftmax over dense grids, odd
//! lengths (vector tails) and special values (±0, ±∞, NaN, denormals, huge |x|). A result
//! passes when it equals the interpreter's (NaN matches NaN), is within the case's absolute
//! tolerance, or within its ulp budget; results that are ±0, ±∞, NaN or ±1 for the interpreter
//! must match bit for bit (the sign of zero included). Each case prints its measured maxima.

use crate::xformer::{f32t, one_op};
use crate::{both, Backend, Rng};
use qcc_ir::ops::{AlphaAttrs, AxisAttrs, GeluApprox, GeluAttrs};
use qcc_ir::{DType, Op, Tensor, TensorType};

/// Distance in units in the last place (±0 are one point).
pub fn ulps(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let b = x.to_bits();
        if b & 0x8000_0000 != 0 {
            -((b & 0x7fff_ffff) as i64)
        } else {
            b as i64
        }
    };
    key(a).abs_diff(key(b))
}

/// Whether the interpreter's `w` is a value that must be reproduced bit for bit.
fn exact_value(w: f32) -> bool {
    w.is_nan() || w.is_infinite() || w == 0.0 || w.abs() == 1.0
}

/// Compares `got` with `want` element by element (`x` the inputs, for messages): exact values
/// bit for bit, others within `atol` or `max_ulps(i)`; returns (max ulps, max abs error, the
/// number of elements not bit-identical) over the elements beyond `atol`.
fn compare(
    name: &str,
    x: &[f32],
    got: &[f32],
    want: &[f32],
    atol: f32,
    max_ulps: &dyn Fn(usize) -> u64,
) -> (u64, f32, usize) {
    let (mut worst_u, mut worst_a) = (0u64, 0f32);
    let differ = got
        .iter()
        .zip(want)
        .filter(|(a, w)| a.to_bits() != w.to_bits() && !(a.is_nan() && w.is_nan()))
        .count();
    for (i, (&a, &w)) in got.iter().zip(want).enumerate() {
        if exact_value(w) {
            let same = a.to_bits() == w.to_bits() || (a.is_nan() && w.is_nan());
            assert!(same, "{name}({:e}): backend {a:e} vs interpreter {w:e} (exact)", x[i]);
            continue;
        }
        let d = (a - w).abs();
        worst_a = worst_a.max(d);
        if d <= atol {
            continue;
        }
        let u = ulps(a, w);
        worst_u = worst_u.max(u);
        assert!(
            u <= max_ulps(i),
            "{name}({:e}): backend {a:e} vs interpreter {w:e}: {u} ulps (at most {})",
            x[i],
            max_ulps(i)
        );
    }
    (worst_u, worst_a, differ)
}

fn grid(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    (0..n).map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32).collect()
}

/// Values spread geometrically over `[lo, hi]` (both > 0).
fn geo(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
    (0..n).map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp() as f32).collect()
}

const SPECIAL: [f32; 12] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e-30,
    -1e-30,
    1e-45,
    -3e-39,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
];

fn run_unary<B: Backend>(op: Op, v: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = v.len();
    let (g, _) = one_op(op, &[(f32t(&[n]), None)], TensorType::unknown(DType::F32));
    let (got, want) = both::<B>(&g, &[Tensor::f32(&[n], v.to_vec())]);
    (got.into_f32().expect("f32"), want.into_f32().expect("f32"))
}

/// Tanh, Log, Softplus, Sin, Cos, Elu (α = 1 and 0.3) and tanh-Gelu on grids and special
/// values. Budgets: Tanh ≤ 3 ulps, Log ≤ 2 ulps, Softplus ≤ 4 ulps, Elu and tanh-Gelu ≤ 4
/// ulps or 2e-7·max(1, α) absolute (the interpreter's own `eˣ − 1` cancels near 0), Sin/Cos
/// ≤ 1 ulp for every finite x (f64 reduction, Payne–Hanek above 2¹⁹, f64 polynomials rounded
/// once).
pub fn float_math_accuracy<B: Backend>() {
    let mut rng = Rng(0x5eed);
    let with = |mut v: Vec<f32>, extra: &[f32]| {
        v.extend_from_slice(&SPECIAL);
        v.extend_from_slice(extra);
        v
    };
    let mut report = Vec::new();
    // Tanh.
    let mut v = with(grid(-10.0, 10.0, 20001), &[0.625, -0.625, 0.6249999, 9.0, 50.0, -50.0]);
    v.extend(rng.floats(1001, -1.0, 1.0));
    let (got, want) = run_unary::<B>(Op::Tanh, &v);
    report.push(("tanh", compare("Tanh", &v, &got, &want, 0.0, &|_| 3)));
    // Log: the whole positive range, dense near 1, and the special values.
    let mut v = with(geo(1e-45, 3e38, 20001), &[1.0, -1.0, 2.0, 0.5, 1e-40, 1.4e-45]);
    v.extend(grid(0.5, 2.0, 10001));
    v.extend(rng.floats(1001, 0.0, 100.0));
    let (got, want) = run_unary::<B>(Op::Log, &v);
    report.push(("log", compare("Log", &v, &got, &want, 0.0, &|_| 2)));
    // Softplus.
    let mut v = with(grid(-110.0, 30.0, 14001), &[20.0, 20.000002, 19.999998, -87.0, -104.0]);
    v.extend(rng.floats(1001, -5.0, 5.0));
    let (got, want) = run_unary::<B>(Op::Softplus, &v);
    report.push(("softplus", compare("Softplus", &v, &got, &want, 0.0, &|_| 4)));
    // Elu and tanh-Gelu.
    for alpha in [1.0f32, 0.3] {
        let v = with(grid(-20.0, 20.0, 8001), &[-1e-6, 1e-6, -104.0]);
        let op = Op::Elu(AlphaAttrs { alpha });
        let (got, want) = run_unary::<B>(op, &v);
        report.push(("elu", compare("Elu", &v, &got, &want, 2e-7 * alpha.max(1.0), &|_| 4)));
    }
    let v = with(grid(-10.0, 10.0, 8001), &[-1e-6, 1e-6]);
    let op = Op::Gelu(GeluAttrs { approximate: GeluApprox::Tanh });
    let (got, want) = run_unary::<B>(op, &v);
    report.push(("gelu_tanh", compare("Gelu(tanh)", &v, &got, &want, 2e-7, &|_| 4)));
    // Sin and Cos: near 0, moderate, around multiples of π/2, and large (every exponent up to
    // f32::MAX, both reduction paths and the switch between them at 2¹⁹).
    let mut v = with(grid(-10.0, 10.0, 20001), &[524287.97, 524288.0, -524288.0, 1.6e6]);
    v.extend(rng.floats(4001, -1e5, 1e5));
    v.extend((1..200).map(|k| (k as f64 * std::f64::consts::FRAC_PI_2) as f32));
    for e in 0..128 {
        let s = 2f32.powi(e);
        v.extend(rng.floats(40, -2.0 * s, 2.0 * s));
    }
    for (name, op) in [("sin", Op::Sin), ("cos", Op::Cos)] {
        let (got, want) = run_unary::<B>(op, &v);
        report.push((name, compare(name, &v, &got, &want, 0.0, &|_| 1)));
    }
    for (name, (u, a, d)) in report {
        eprintln!("{name}: max {u} ulps, max absolute error {a:e}, {d} elements not identical");
    }
}

/// Pow with broadcast (x `[nx, 1]`, y `[ny]`, both runtime) over positive and negative bases
/// (denormal to 1e30) and exponents in [−4, 4] (integers and fractions) and beyond: ≤ 1 ulp
/// (`e^{y·ln|x|}` in f64, rounded once); the `powf` special cases (zeros, infinities, NaN, ±1,
/// negative bases, overflow, underflow) bit for bit; and a constant integer exponent (i64,
/// converted to f32 as the interpreter converts it).
pub fn pow_matches_interpreter<B: Backend>() {
    let mut xs = geo(1e-3, 100.0, 97);
    xs.extend(xs.clone().iter().map(|x| -x).collect::<Vec<_>>());
    xs.extend([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, -3.0]);
    xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-40, 1e30]);
    let mut ys = grid(-4.0, 4.0, 41);
    ys.extend([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 3.0, -3.0, 2.5, 1e-3]);
    ys.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 101.0, 100.0, 1e10]);
    let (nx, ny) = (xs.len(), ys.len());
    let (g, _) = one_op(
        Op::Pow,
        &[(f32t(&[nx, 1]), None), (f32t(&[ny]), None)],
        TensorType::unknown(DType::F32),
    );
    let (got, want) =
        both::<B>(&g, &[Tensor::f32(&[nx, 1], xs.clone()), Tensor::f32(&[ny], ys.clone())]);
    let (got, want) = (got.into_f32().unwrap(), want.into_f32().unwrap());
    let xin: Vec<f32> = (0..nx * ny).map(|i| xs[i / ny]).collect();
    let (u, _, d) = compare("Pow", &xin, &got, &want, 0.0, &|_| 1);
    eprintln!("pow: max {u} ulps, {d} of {} elements not identical", got.len());
    // A constant i64 exponent.
    let (g, _) = one_op(
        Op::Pow,
        &[
            (f32t(&[5]), None),
            (TensorType::fixed(DType::I64, &[]), Some(Tensor::i64(&[], vec![3]))),
        ],
        TensorType::unknown(DType::F32),
    );
    let x = vec![1.5f32, -2.0, 0.0, -0.0, 10.0];
    let (got, want) = both::<B>(&g, &[Tensor::f32(&[5], x.clone())]);
    let (got, want) = (got.into_f32().unwrap(), want.into_f32().unwrap());
    compare("Pow(x, 3)", &x, &got, &want, 0.0, &|_| 1);
}

/// LogSoftmax over any axis (values up to ±30 and a −10000 mask entry), with one and two
/// threads: within 1 ulp of the interpreter (both compute `exp`, the sum and `ln` in f64 and
/// round once).
pub fn log_softmax_any_axis<B: Backend>(shape: Vec<usize>, ax: usize, seed: u64) {
    let mut r = Rng(seed | 1);
    let axis =
        (ax % shape.len()) as i64 - if seed.is_multiple_of(2) { shape.len() as i64 } else { 0 };
    let n: usize = shape.iter().product();
    let mut v = r.floats(n, -30.0, 30.0);
    if v.len() > 2 {
        v[1] = -10000.0;
    }
    let (g, _) = one_op(
        Op::LogSoftmax(AxisAttrs { axis }),
        &[(f32t(&shape), None)],
        TensorType::unknown(DType::F32),
    );
    let x = [Tensor::f32(&shape, v)];
    let want = qcc_ir::interp::run(&g, &x).expect("interpreter");
    for threads in [1, 2] {
        let cm = crate::compile::<B>(&g, threads);
        let got = B::run(&cm, &x).expect("run");
        let (a, w) = (got[0].as_f32().expect("f32"), want[0].as_f32().expect("f32"));
        let xs = x[0].as_f32().expect("f32");
        compare("LogSoftmax", xs, a, w, 0.0, &|_| 1);
    }
}
