//! The differential fuzz targets' body (`diff_cranelift`, `diff_llvm` in `tests/fuzz/`, and the
//! replay of `tests/fuzz/regressions/diff/` in `cargo test`): small random well-typed graphs
//! built from the ops both backends support
//! (f32 MatMul, Add/Sub/Mul/Div with broadcast, Relu, Clip; Quantize, Dequantize; QMatMul +
//! Requantize (+ Relu)), run on the reference interpreter and on a compiled model. Integer
//! outputs must be bit-exact when the float values they quantize were computed exactly the same
//! way: after an f32 MatMul (whose summation order or fused rounding may differ) no
//! quantization steps follow, and no division by values that may be near zero, so float outputs
//! are compared within a tolerance scaled to the output's magnitude and every integer output is
//! compared bit for bit.

use arbitrary::Arbitrary;
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};

/// One step of a program, applied to the running value `x` of shape `[rows, cols]`.
#[derive(Debug, Arbitrary)]
#[allow(missing_docs)]
pub enum Step {
    /// `x op c` with c a constant of shape `[cols]`, `[1]`, `[rows, cols]`, or `x op x`.
    Binary {
        op: u8,
        other: u8,
        seed: u16,
    },
    Relu,
    Clip {
        lo: i8,
        hi: i8,
    },
    /// `x @ W` with W a constant `[cols, n]`.
    MatMul {
        n: u8,
        seed: u16,
    },
    /// Quantize → Dequantize (an integer output too).
    QuantDequant {
        signed: bool,
        scale: u8,
        zp: i8,
    },
    /// Quantize → QMatMul(W i8 per column, bias) → Requantize (→ Relu) → Dequantize.
    QGemm {
        n: u8,
        signed: bool,
        sx: u8,
        zx: i8,
        sy: u8,
        zy: i8,
        relu: bool,
        seed: u16,
        per_tensor: bool,
    },
}

/// A program: the input's shape and values, up to [`MAX_STEPS`] steps, and how to compile it.
#[derive(Debug, Arbitrary)]
pub struct Prog {
    rows: u8,
    cols: u8,
    steps: Vec<Step>,
    input: Vec<i16>,
    threads: bool,
    pmaddwd: bool,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        (self.next() % 2001) as f32 / 1000.0 - 1.0
    }
}

/// Steps used per program (see `build`).
pub const MAX_STEPS: usize = 4;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

/// Builds the graph; returns it and, per output, whether it was computed without an f32 GEMM.
fn build(p: &Prog) -> Option<(Graph, Vec<bool>)> {
    let rows = 1 + p.rows as usize % 6;
    let mut cols = 1 + p.cols as usize % 24;
    let mut g = Graph::new("diff");
    let mut x = g.add_input("x", f32t(&[rows, cols]));
    let mut exact = true;
    let mut outs = Vec::new();
    let mut n_out = 0;
    let mut out = |g: &mut Graph, v, exact: bool, outs: &mut Vec<bool>| {
        g.add_output(format!("o{n_out}"), v).ok()?;
        n_out += 1;
        outs.push(exact);
        Some(())
    };
    // At most MAX_STEPS steps: nearly all of an execution is Cranelift compiling one kernel per
    // step (instrumented), and mismatches come from single kernels and their neighbours.
    for (i, s) in p.steps.iter().take(MAX_STEPS).enumerate() {
        let name = |t: &str| format!("{t}{i}");
        match *s {
            Step::Binary { op, other, seed } => {
                let mut r = Rng(seed as u64 * 2 + 1);
                let b = match other % 4 {
                    0 => g.add_const(
                        name("c"),
                        Tensor::f32(&[cols], (0..cols).map(|_| r.f()).collect()),
                    ),
                    1 => g.add_const(name("c"), Tensor::f32(&[1], vec![r.f() + 1.5])),
                    2 => g.add_const(
                        name("c"),
                        Tensor::f32(&[rows, cols], (0..rows * cols).map(|_| r.f()).collect()),
                    ),
                    _ => x,
                };
                let op = match op % 4 {
                    0 => Op::Add,
                    1 => Op::Sub,
                    2 => Op::Mul,
                    // Inexact values only divide by constants in [0.5, 2.5].
                    _ if !exact && other % 4 != 1 => Op::Mul,
                    _ => Op::Div,
                };
                x = g.add_op(op, name("bin"), &[x, b], f32t(&[rows, cols])).ok()?;
            }
            Step::Relu => x = g.add_op(Op::Relu, name("relu"), &[x], f32t(&[rows, cols])).ok()?,
            Step::Clip { lo, hi } => {
                let (lo, hi) = (lo.min(hi) as f32 / 16.0, lo.max(hi) as f32 / 16.0);
                let l = g.add_const(name("lo"), Tensor::f32(&[], vec![lo]));
                let h = g.add_const(name("hi"), Tensor::f32(&[], vec![hi]));
                x = g.add_op(Op::Clip, name("clip"), &[x, l, h], f32t(&[rows, cols])).ok()?;
            }
            Step::MatMul { n, seed } => {
                let n = 1 + n as usize % 24;
                let mut r = Rng(seed as u64 * 2 + 1);
                let w = g.add_const(
                    name("w"),
                    Tensor::f32(&[cols, n], (0..cols * n).map(|_| r.f()).collect()),
                );
                x = g.add_op(Op::MatMul, name("mm"), &[x, w], f32t(&[rows, n])).ok()?;
                cols = n;
                exact = false;
            }
            Step::QuantDequant { .. } | Step::QGemm { .. } if !exact => continue,
            Step::QuantDequant { signed, scale, zp } => {
                let dt = if signed { DType::I8 } else { DType::U8 };
                let zp = if signed { zp as i32 } else { zp as i32 + 128 };
                let q = Quant::tensor((1 + scale as u32) as f32 / 256.0, zp);
                let qt = TensorType::fixed(dt, &[rows, cols]).with_quant(q);
                let xq = g.add_op(Op::Quantize, name("q"), &[x], qt).ok()?;
                out(&mut g, xq, exact, &mut outs)?;
                x = g.add_op(Op::Dequantize, name("dq"), &[xq], f32t(&[rows, cols])).ok()?;
            }
            Step::QGemm { n, signed, sx, zx, sy, zy, relu, seed, per_tensor } => {
                let n = 1 + n as usize % 24;
                let mut r = Rng(seed as u64 * 2 + 1);
                let dt = if signed { DType::I8 } else { DType::U8 };
                let (zx, zy) = if signed {
                    (zx as i32, zy as i32)
                } else {
                    (zx as i32 + 128, zy as i32 + 128)
                };
                let sx = (1 + sx as u32) as f32 / 512.0;
                let xq = g
                    .add_op(
                        Op::Quantize,
                        name("q"),
                        &[x],
                        TensorType::fixed(dt, &[rows, cols]).with_quant(Quant::tensor(sx, zx)),
                    )
                    .ok()?;
                let w: Vec<i8> = (0..cols * n).map(|_| r.next() as i8).collect();
                let sw: Vec<f32> = if per_tensor {
                    vec![0.002; n]
                } else {
                    (0..n).map(|j| 0.001 * (1 + j % 5) as f32).collect()
                };
                let (wq, accq) = if per_tensor {
                    (Quant::tensor(sw[0], 0), Quant::tensor(sw[0] * sx, 0))
                } else {
                    (
                        Quant::Axis { axis: 1, scales: sw.clone(), zero_points: vec![0; n] },
                        Quant::Axis {
                            axis: 1,
                            scales: sw.iter().map(|s| s * sx).collect(),
                            zero_points: vec![0; n],
                        },
                    )
                };
                let wv = g.add_const_typed(
                    name("w"),
                    Tensor::i8(&[cols, n], w),
                    TensorType::fixed(DType::I8, &[cols, n]).with_quant(wq),
                );
                let bias: Vec<i32> = (0..n).map(|_| (r.next() % 4001) as i32 - 2000).collect();
                let bv = g.add_const(name("b"), Tensor::i32(&[n], bias));
                let acc = g
                    .add_op(
                        Op::QMatMul,
                        name("qmm"),
                        &[xq, wv, bv],
                        TensorType::fixed(DType::I32, &[rows, n]).with_quant(accq),
                    )
                    .ok()?;
                let yt = TensorType::fixed(dt, &[rows, n])
                    .with_quant(Quant::tensor((1 + sy as u32) as f32 / 64.0, zy));
                let mut y = g.add_op(Op::Requantize, name("rq"), &[acc], yt.clone()).ok()?;
                if relu {
                    y = g.add_op(Op::Relu, name("qrelu"), &[y], yt).ok()?;
                }
                out(&mut g, y, exact, &mut outs)?;
                x = g.add_op(Op::Dequantize, name("dq"), &[y], f32t(&[rows, n])).ok()?;
                cols = n;
            }
        }
    }
    out(&mut g, x, exact, &mut outs)?;
    Some((g, outs))
}

fn close(got: &Tensor, want: &Tensor) -> Result<(), String> {
    let (a, b) = (got.to_f32_vec(), want.to_f32_vec());
    let mag = b.iter().filter(|v| v.is_finite()).fold(1f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let ok = (x.is_nan() && y.is_nan())
            || x == y
            || (x - y).abs() <= 1e-4 * mag.max(1.0) + 1e-4 * y.abs();
        if !ok {
            return Err(format!("element {i}: {x} vs {y} (magnitude {mag})"));
        }
    }
    Ok(())
}

/// How a backend compiles and runs a graph: (graph, input, threads, force the non-VNNI path).
pub type CompileRun<'a> = &'a dyn Fn(&Graph, &Tensor, usize, bool) -> Result<Vec<Tensor>, String>;

/// Decodes a program from raw fuzzer bytes exactly as `libfuzzer_sys::fuzz_target!` does for a
/// typed input (`arbitrary_take_rest`), so a saved input replays the same program.
pub fn program(data: &[u8]) -> Option<Prog> {
    Prog::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok()
}

/// Builds `p`'s graph, runs it on the interpreter and through `compile_run`, and compares as the
/// module docs say. Returns how many outputs were compared (0 for a program that builds no
/// graph); `Err` describes the mismatch, with the printed graph.
pub fn check(p: &Prog, compile_run: CompileRun) -> Result<usize, String> {
    let Some((g, exact)) = build(p) else { return Ok(0) };
    let shape = g.value_type(g.result(g.inputs()[0])).shape.as_fixed().expect("fixed");
    let n: usize = shape.iter().product();
    let data: Vec<f32> =
        (0..n).map(|i| p.input.get(i).map_or(0.5, |&v| v as f32 / 1024.0)).collect();
    let x = Tensor::f32(&shape, data);
    let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x))
        .map_err(|e| format!("the interpreter fails on a well-typed graph: {e}"))?;
    let threads = if p.threads { 2 } else { 1 };
    let printed = || qcc_ir::print::print(&g);
    let got = compile_run(&g, &x, threads, p.pmaddwd).map_err(|e| {
        format!("the backend rejects a graph of supported ops: {e}\n{}", printed())
    })?;
    if got.len() != want.len() {
        return Err(format!("{} outputs, want {}\n{}", got.len(), want.len(), printed()));
    }
    for (k, ((a, b), &ex)) in got.iter().zip(&want).zip(&exact).enumerate() {
        if (a.dtype, &a.shape) != (b.dtype, &b.shape) {
            return Err(format!(
                "output {k} is {:?} {:?}, want {:?} {:?}\n{}",
                a.dtype,
                a.shape,
                b.dtype,
                b.shape,
                printed()
            ));
        }
        if b.dtype.is_int() {
            // Integer outputs are only built before any f32 GEMM (`build`).
            debug_assert!(ex);
            if a != b {
                return Err(format!("integer output {k} must be bit-exact\n{}", printed()));
            }
        } else if ex
            && a != b
            && !(a
                .to_f32_vec()
                .iter()
                .zip(b.to_f32_vec())
                .all(|(x, y)| x == &y || (x.is_nan() && y.is_nan())))
        {
            return Err(format!(
                "float output {k} of elementwise ops only must be exact\n{}",
                printed()
            ));
        } else if let Err(e) = close(a, b) {
            return Err(format!("float output {k}: {e}\n{}", printed()));
        }
    }
    Ok(got.len())
}

/// Compiles and runs on the Cranelift JIT (`pmaddwd` disables the VNNI path).
pub fn cranelift(g: &Graph, x: &Tensor, threads: usize, pmaddwd: bool) -> Result<Vec<Tensor>, String> {
    use qcc_backend_cranelift::{compile, CompileOptions, IsaOptions};
    let opts = CompileOptions {
        isa: IsaOptions { disable_vnni: pmaddwd, ..Default::default() },
        threads,
        ..Default::default()
    };
    let cm = compile(g, &opts).map_err(|e| e.to_string())?;
    cm.run(std::slice::from_ref(x)).map_err(|e| format!("compiled run: {e}"))
}

/// Compiles and runs on the LLVM JIT, every step split across the threads.
#[cfg(feature = "llvm")]
pub fn llvm(g: &Graph, x: &Tensor, threads: usize, _pmaddwd: bool) -> Result<Vec<Tensor>, String> {
    use qcc_backend_llvm::{compile, CompileOptions};
    let opts = CompileOptions { threads, min_split_bytes: Some(0), ..Default::default() };
    let cm = compile(g, &opts).map_err(|e| e.to_string())?;
    cm.run(std::slice::from_ref(x)).map_err(|e| format!("compiled run: {e}"))
}
