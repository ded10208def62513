//! int8 GEMM throughput (single thread) on 256×256×256 and 3136×64×576 (M×N×K), in GOP/s and
//! as a fraction of the 128-bit VNNI peak (235 GOP/s, DESIGN §5), plus JIT compile time.
//! `QCC_GEMM_PATH=pmaddwd` forces the non-VNNI path.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qcc_backend_cranelift::gemm::{AType, Epilogue, GemmSpec, JitGemm, Tile};
use qcc_backend_cranelift::IsaOptions;
use std::time::Instant;

const PEAK_128: f64 = 235.0;

fn bench(c: &mut Criterion) {
    let force = std::env::var("QCC_GEMM_PATH").is_ok_and(|v| v == "pmaddwd");
    let opts = IsaOptions { disable_vnni: force, ..IsaOptions::default() };
    let tiles = [Tile::DEFAULT, Tile { mr: 6, nr: 8 }];
    for &(m, n, k) in &[(256usize, 256usize, 256usize), (3136, 64, 576)] {
        for tile in tiles {
            for requant in [false, true] {
                let epilogue = if requant {
                    Epilogue::Requant {
                        signed: false,
                        acc_zero_point: 0,
                        multipliers: (0..n).map(|j| 1e-4 * (1 + j % 7) as f32).collect(),
                        zero_point: 3,
                        lo: 3,
                        hi: 255,
                    }
                } else {
                    Epilogue::I32
                };
                let mut spec = GemmSpec::new(m, n, k, AType::U8, epilogue);
                spec.tile = tile;
                let a: Vec<u8> = (0..m * k).map(|i| (i * 31 % 251) as u8).collect();
                let b: Vec<i8> = (0..k * n).map(|i| (i * 17 % 253) as u8 as i8).collect();
                let bias: Vec<i32> = (0..n as i32).collect();
                let t0 = Instant::now();
                let g = JitGemm::compile(&spec, &b, Some(&bias), &opts, false).expect("compile");
                let compile = t0.elapsed();
                let out = if requant { "u8" } else { "i32" };
                let name =
                    format!("gemm_{m}x{n}x{k}_{}x{}_{}_{out}", tile.mr, tile.nr, g.path().name());
                let ops = 2.0 * (m * n * k) as f64;
                let mut c8 = vec![0u8; m * n];
                let mut c32 = vec![0i32; m * n];
                let mut run = || {
                    if requant {
                        g.run_u8(&a, &mut c8, 0, m).unwrap();
                    } else {
                        g.run_i32(&a, &mut c32, 0, m).unwrap();
                    }
                };
                // Own measurement for the GOP/s line (best of 7 timed batches).
                run();
                let mut best = f64::MAX;
                for _ in 0..7 {
                    let reps = 5;
                    let t = Instant::now();
                    for _ in 0..reps {
                        run();
                    }
                    best = best.min(t.elapsed().as_secs_f64() / reps as f64);
                }
                let gops = ops / best / 1e9;
                println!(
                    "{name}: {gops:.1} GOP/s ({:.0}% of the 128-bit VNNI peak {PEAK_128}), {:.3} ms/call, JIT compile {:.2} ms",
                    100.0 * gops / PEAK_128,
                    best * 1e3,
                    compile.as_secs_f64() * 1e3
                );
                let mut grp = c.benchmark_group("gemm");
                grp.throughput(Throughput::Elements(ops as u64));
                grp.sample_size(10);
                grp.bench_function(&name, |bch| bch.iter(&mut run));
                grp.finish();
            }
        }
    }
    c.bench_function("gemm_jit_compile_256", |bch| {
        let spec = GemmSpec::new(256, 256, 256, AType::U8, Epilogue::I32);
        let b = vec![1i8; 256 * 256];
        bch.iter(|| JitGemm::compile(&spec, &b, None, &opts, false).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
