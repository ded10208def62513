//! `cargo run --release -p qcc-backend-llvm --example ptx_check -- MODEL.onnx [SAMPLES]`: the
//! model (canonicalized fp32, and int8 realized by qcc-passes calibrated on synthetic inputs)
//! compiled to PTX, run on GPU 0 through the CUDA driver, and compared with the reference
//! interpreter on the same graph: int8 outputs bit-exact, fp32 within rtol 1e-4 / atol 1e-5.
//! Prints one line per (precision, sample) and exits 1 on any mismatch, 2 when it cannot run
//! (no driver: `libcuda.so not found`). Used by `tools/ptx/gpu_check.sh`.

use qcc_backend_llvm::ptx;
use qcc_ir::{Dim, Graph, Tensor};
use qcc_onnx::{import_file, ImportOptions};
use qcc_passes::calibrate::{calibrate, range::RangeMethod};
use qcc_passes::quant::{insert::insert_qdq, realize::realize, scheme::QuantScheme};
use qcc_passes::{PassManager, PassManagerOptions, Registry};
use std::time::Instant;

/// Deterministic inputs in [-1, 1).
fn synthetic(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(seed | 1).wrapping_mul(0x9e3779b97f4a7c15) >> 40;
            (h % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    Tensor::f32(shape, v)
}

fn inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    g.inputs()
        .iter()
        .enumerate()
        .map(|(k, &id)| {
            let dims = g.node(id).results[0].shape.dims().unwrap_or(&[]).to_vec();
            let shape: Vec<usize> =
                dims.iter().map(|d| if let Dim::Fixed(n) = *d { n } else { 1 }).collect();
            synthetic(&shape, seed * 31 + k as u64)
        })
        .collect()
}

fn close(a: &Tensor, b: &Tensor) -> Result<f32, String> {
    if a.dtype != b.dtype || a.shape != b.shape {
        return Err(format!("{}{:?} vs {}{:?}", a.dtype, a.shape, b.dtype, b.shape));
    }
    match (a.as_f32(), b.as_f32()) {
        (Ok(x), Ok(y)) => {
            let mut worst = 0f32;
            for (p, q) in x.iter().zip(y) {
                let d = (p - q).abs();
                if d > 1e-5 + 1e-4 * q.abs() || d.is_nan() {
                    return Err(format!("{p} vs {q}"));
                }
                worst = worst.max(d);
            }
            Ok(worst)
        }
        _ if a == b => Ok(0.0),
        _ => Err("integer outputs differ".into()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: ptx_check MODEL.onnx [SAMPLES]");
        std::process::exit(2);
    };
    let samples: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let mut g = import_file(path.as_ref(), &ImportOptions::default()).expect("import");
    let reg = Registry::with_builtins();
    let mut pm = PassManager::from_pipeline(&reg, "canonicalize", PassManagerOptions::default())
        .expect("pipeline");
    pm.run(&mut g).expect("canonicalize");
    let calib_in: Vec<Vec<Tensor>> = (0..4).map(|s| inputs(&g, 1000 + s)).collect();
    let calib = calibrate(&g, &calib_in, 256, &|| {}).expect("calibrate");
    let mut q = g.clone();
    let ranges = calib.ranges(RangeMethod::MinMax, 256);
    insert_qdq(&mut q, &ranges, &calib.channel_means(), &QuantScheme::default()).expect("qdq");
    realize(&mut q, &QuantScheme::default()).expect("realize");
    let mut bad = 0;
    for (kind, graph) in [("fp32", &g), ("int8", &q)] {
        let t = Instant::now();
        let m = ptx::compile_ptx(graph, &Default::default()).expect("compile PTX");
        println!(
            "{path} {kind}: PTX {} bytes, {} kernels, compiled in {:.0} ms",
            m.ptx.len(),
            m.launch.steps.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        let mut gpu = match ptx::CudaModel::load(&m.ptx, &m.launch) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{path} {kind}: {e}");
                std::process::exit(2);
            }
        };
        println!("  loaded on the GPU in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        for s in 0..samples {
            let xs = inputs(graph, s);
            let t = Instant::now();
            let got = gpu.run(&xs).unwrap_or_else(|e| panic!("{path} {kind} sample {s}: {e}"));
            let gpu_ms = t.elapsed().as_secs_f64() * 1e3;
            let want = qcc_ir::interp::run(graph, &xs).expect("interpreter");
            for ((name, _), (a, b)) in graph.outputs().iter().zip(got.iter().zip(&want)) {
                match close(a, b) {
                    Ok(d) => println!(
                        "  {kind} sample {s} `{name}`: ok (max abs diff {d:.3e}; GPU run {gpu_ms:.1} ms)"
                    ),
                    Err(e) => {
                        bad += 1;
                        println!("  {kind} sample {s} `{name}`: MISMATCH {e}");
                    }
                }
            }
        }
    }
    if bad > 0 {
        println!("{bad} mismatching outputs");
        std::process::exit(1);
    }
    println!("all outputs match the interpreter");
}
