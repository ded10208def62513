//! int8 GEMM throughput (single thread) of the LLVM backend on 256×256×256 and 3136×64×576
//! (M×N×K), u8 × i8 with fused requantization (u8 output) and with i32 output, in GOP/s and as a
//! fraction of this core's int8 peak: 470 GOP/s with AVX-512 VNNI (DESIGN §5), else the
//! `vpmaddwd` peak of 2 × 256-bit per cycle at the measured clock (reported as `pmaddwd peak`).
//! The timed unit is the GEMM step alone (`CompiledModel::time_step`), no input/output copies.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qcc_backend_llvm::{compile, CompileOptions, TargetSpec};
use qcc_ir::{DType, Graph, Op, Quant, Tensor, TensorType};
use std::time::Instant;

/// u8 x[m,k] (zero point 3) → QMatMul(w i8 [k,n] per-column) (+ Requantize to u8).
fn gemm_graph(m: usize, n: usize, k: usize, requant: bool) -> (Graph, Tensor) {
    let mut g = Graph::new("gemm");
    let xt = TensorType::fixed(DType::U8, &[m, k]).with_quant(Quant::tensor(0.02, 3));
    let x = g.add_input("x", xt);
    let w: Vec<i8> = (0..k * n).map(|i| (i * 17 % 253) as u8 as i8).collect();
    let sw: Vec<f32> = (0..n).map(|j| 1e-3 * (1 + j % 7) as f32).collect();
    let wt = TensorType::fixed(DType::I8, &[k, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.clone(),
        zero_points: vec![0; n],
    });
    let wv = g.add_const_typed("w", Tensor::i8(&[k, n], w), wt);
    let bv = g.add_const("b", Tensor::i32(&[n], (0..n as i32).collect()));
    let acc_ty = TensorType::fixed(DType::I32, &[m, n]).with_quant(Quant::Axis {
        axis: 1,
        scales: sw.iter().map(|s| s * 0.02).collect(),
        zero_points: vec![0; n],
    });
    let mut y = g.add_op(Op::QMatMul, "mm", &[x, wv, bv], acc_ty).unwrap();
    if requant {
        let yt = TensorType::fixed(DType::U8, &[m, n]).with_quant(Quant::tensor(0.5, 3));
        y = g.add_op(Op::Requantize, "rq", &[y], yt).unwrap();
    }
    g.add_output("y", y).unwrap();
    let a: Vec<u8> = (0..m * k).map(|i| (i * 31 % 251) as u8).collect();
    (g, Tensor::u8(&[m, k], a))
}

fn bench(c: &mut Criterion) {
    let host = TargetSpec::host();
    let vnni = host.has("avx512vnni");
    for &(m, n, k) in &[(256usize, 256usize, 256usize), (3136, 64, 576)] {
        for requant in [true, false] {
            let (g, x) = gemm_graph(m, n, k, requant);
            let t0 = Instant::now();
            let cm = compile(&g, &CompileOptions::default()).expect("compile");
            let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
            cm.run(std::slice::from_ref(&x)).expect("run");
            let step = cm.lowered().steps.iter().position(|s| s.kernel.name() == "qgemm").unwrap();
            let ops = 2.0 * (m * n * k) as f64;
            let mut best = f64::MAX;
            for _ in 0..7 {
                let reps = 5;
                best = best.min(cm.time_step(step, reps).unwrap().as_secs_f64() / reps as f64);
            }
            let gops = ops / best / 1e9;
            let out = if requant { "u8" } else { "i32" };
            let name = format!("llvm_gemm_{m}x{n}x{k}_{out}");
            let peak = if vnni { "of the 470 GOP/s VNNI peak" } else { "(no VNNI on this CPU)" };
            println!(
                "{name} [{}]: {gops:.1} GOP/s ({:.0}% {peak}), {:.3} ms/call, compile {compile_ms:.1} ms",
                host.cpu,
                100.0 * gops / 470.0,
                best * 1e3
            );
            let mut grp = c.benchmark_group("llvm_gemm");
            grp.throughput(Throughput::Elements(ops as u64));
            grp.sample_size(10);
            grp.bench_function(&name, |b| {
                b.iter_custom(|iters| cm.time_step(step, iters).unwrap())
            });
            grp.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
