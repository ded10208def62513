//! PTX for the shared models (`mlp_digits`, `mobilenetv2_random`), fp32 and int8 (quantized by
//! qcc-passes on synthetic calibration samples: the structure, not the accuracy, is checked
//! here), checked structurally against the plan: PTX 7.5 for sm_86 with 64-bit addresses, one
//! `.visible .entry stepN(` with its one `.param .u64` per step and nothing else, no
//! `.extern .func` (no call left to resolve: libm cannot be linked on NVPTX), no x86
//! intrinsic left, the constants in `.global` memory, the launch description agreeing with the
//! lowered plan (offsets inside the arena, rows, grid × block covering the rows) and surviving
//! a JSON round trip. `ptxas` checks the PTX too when it is installed (it is not required).
//! The launch scheme itself runs on the host ([`ptx::emulate`]: row-parallel steps one row per
//! call, last row first) and matches the interpreter: int8 bit-exact, fp32 within 1e-4.
//! Without a CUDA driver, [`ptx::run`] fails with `libcuda.so not found` (after checking its
//! inputs).

use qcc_backend_llvm::ptx::{self, PtxModel};
use qcc_backend_llvm::BackendError;
use qcc_ir::{Dim, Graph, Tensor};
use qcc_onnx::conformance::compare;
use qcc_onnx::{import_file, ImportOptions};
use qcc_passes::{PassManager, PassManagerOptions, Registry};
use std::path::PathBuf;

fn model_path(name: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared/models").join(name).join("model.onnx");
        if cand.is_file() {
            return cand;
        }
        if !dir.pop() {
            panic!("shared model `{name}` not found beside the repository (../shared/models)");
        }
    }
}

fn input_shape(g: &Graph) -> Vec<usize> {
    let ty = &g.node(g.inputs()[0]).results[0];
    let dims = ty.shape.dims().expect("ranked input");
    dims.iter().map(|d| if let Dim::Fixed(n) = *d { n } else { 1 }).collect()
}

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

/// (fp32 canonicalized graph, int8 realized graph).
fn models(name: &str) -> (Graph, Graph) {
    use qcc_passes::calibrate::{calibrate, range::RangeMethod};
    use qcc_passes::quant::{insert::insert_qdq, realize::realize, scheme::QuantScheme};
    let mut g = import_file(&model_path(name), &ImportOptions::default()).expect("import");
    let reg = Registry::with_builtins();
    let mut pm = PassManager::from_pipeline(&reg, "canonicalize", PassManagerOptions::default())
        .expect("pipeline");
    pm.run(&mut g).expect("canonicalize");
    let shape = input_shape(&g);
    let samples: Vec<Vec<Tensor>> = (0..2).map(|s| vec![synthetic(&shape, s + 7)]).collect();
    let calib = calibrate(&g, &samples, 256, &|| {}).expect("calibrate");
    let ranges = calib.ranges(RangeMethod::MinMax, 256);
    let mut q = g.clone();
    insert_qdq(&mut q, &ranges, &calib.channel_means(), &QuantScheme::default()).expect("qdq");
    realize(&mut q, &QuantScheme::default()).expect("realize");
    (g, q)
}

/// The structural checks; returns the number of entries.
fn check(what: &str, g: &Graph, m: &PtxModel) -> usize {
    let (p, l) = (&m.ptx, &m.launch);
    for header in [".version 7.5", ".target sm_86", ".address_size 64"] {
        assert!(p.lines().any(|s| s.trim() == header), "{what}: no `{header}`");
    }
    assert!(!p.contains(".extern .func"), "{what}: unresolved calls in the PTX");
    assert!(!p.contains("llvm.x86") && !p.contains("pmadd"), "{what}: x86 intrinsic left");
    let lowered = {
        let mut t = g.clone();
        qcc_ir::infer::infer_graph(&mut t).expect("infer");
        qcc_lowering::lower(&t).expect("lower")
    };
    assert_eq!(l.steps.len(), lowered.steps.len(), "{what}: one launch per step");
    assert_eq!(l.arena_bytes, lowered.arena_size, "{what}: arena");
    let entries = p.matches(".visible .entry ").count();
    assert_eq!(entries, lowered.steps.len(), "{what}: one .entry per step");
    for (i, (st, ls)) in lowered.steps.iter().zip(&l.steps).enumerate() {
        assert_eq!(ls.entry, format!("step{i}"));
        let head = format!(".visible .entry step{i}(\n\t.param .u64 step{i}_param_0\n)");
        assert!(p.contains(&head), "{what}: entry {i} signature (`{head}`)");
        assert_eq!((ls.node.as_str(), ls.ops.as_str()), (st.node.as_str(), st.ops.as_str()));
        assert!(ls.rows >= 1, "{what}: step {i} rows");
        let threads = ls.grid[0] as usize * ls.block[0] as usize;
        if ls.per_row {
            assert!(threads >= ls.rows && threads < ls.rows + ls.block[0] as usize, "{what} {i}");
            assert!(ls.block[0] <= ptx::BLOCK);
        } else {
            assert_eq!((ls.grid, ls.block), ([1, 1, 1], [1, 1, 1]), "{what}: step {i}");
        }
    }
    for (bufs, plan) in [(&l.inputs, &lowered.inputs), (&l.outputs, &lowered.outputs)] {
        assert_eq!(bufs.len(), plan.len());
        for (b, (name, id)) in bufs.iter().zip(plan) {
            let pb = &lowered.buffers[*id];
            assert_eq!(&b.name, name);
            assert_eq!(Some(b.offset), lowered.offset(*id), "{what}: `{name}` offset");
            assert_eq!((b.bytes, &b.shape), (pb.bytes(), &pb.shape), "{what}: `{name}`");
            assert_eq!(b.dtype, pb.dtype.to_string());
            assert!(b.offset + b.bytes <= l.arena_bytes, "{what}: `{name}` outside the arena");
        }
    }
    let back = ptx::Launch::from_json(&l.to_json()).expect("launch JSON round trip");
    assert_eq!(&back, l);
    ptxas(what, p);
    entries
}

/// Assembles the PTX with `ptxas` when it is installed (it is not on the CI machines).
fn ptxas(what: &str, p: &str) {
    let Ok(o) = std::process::Command::new("ptxas").arg("--version").output() else {
        eprintln!("{what}: ptxas not installed, PTX not assembled");
        return;
    };
    assert!(o.status.success());
    let dir = std::env::temp_dir().join(format!("qcc-ptx-{}-{what}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.ptx"), p).unwrap();
    let o = std::process::Command::new("ptxas")
        .args(["-arch=sm_86", "m.ptx", "-o", "m.cubin"])
        .current_dir(&dir)
        .output()
        .expect("ptxas");
    assert!(o.status.success(), "{what}: ptxas: {}", String::from_utf8_lossy(&o.stderr));
}

fn model_ptx(name: &str) {
    let (g, q) = models(name);
    for (kind, graph) in [("fp32", &g), ("int8", &q)] {
        let t0 = std::time::Instant::now();
        let m = ptx::compile_ptx(graph, &Default::default())
            .unwrap_or_else(|e| panic!("{name} {kind}: {e}"));
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let entries = check(&format!("{name}-{kind}"), graph, &m);
        let per_row = m.launch.steps.iter().filter(|s| s.per_row).count();
        eprintln!(
            "{name} {kind}: {entries} entries ({per_row} row-parallel), {} bytes of PTX, arena \
             {} bytes, compiled in {ms:.0} ms",
            m.ptx.len(),
            m.launch.arena_bytes,
        );
        assert!(m.ptx.contains(".global .align"), "{name} {kind}: constants in .global memory");
        // The launch scheme (row-parallel steps one row per call, last row first) on the host.
        let xs = vec![synthetic(&input_shape(graph), 11)];
        let got = ptx::emulate::run_on_host(graph, &m.launch, &xs).expect("host emulation");
        let want = qcc_ir::interp::run(graph, &xs).expect("interpreter");
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            if kind == "int8" {
                // Integer kernels and the final Dequantize: exact.
                assert_eq!(a, b, "{name} int8: emulated launch vs interpreter");
            } else {
                compare(a, b, 1e-4, 1e-5)
                    .unwrap_or_else(|e| panic!("{name} fp32: emulated launch vs interpreter: {e}"));
            }
        }
    }
}

#[test]
fn mlp_digits_ptx() {
    model_ptx("mlp_digits");
}

#[test]
fn mobilenetv2_ptx() {
    model_ptx("mobilenetv2_random");
}

#[test]
fn run_without_a_driver_says_libcuda_is_missing() {
    let (g, _) = models("mlp_digits");
    let m = ptx::compile_ptx(&g, &Default::default()).expect("compile");
    let shape = input_shape(&g);
    // Input checks come before the driver is looked for.
    let bad = ptx::run(&m.ptx, &m.launch, &[Tensor::f32(&[1], vec![0.0])]).unwrap_err();
    assert!(matches!(bad, BackendError::BadInput(_)), "{bad}");
    let none = ptx::run(&m.ptx, &m.launch, &[]).unwrap_err();
    assert!(matches!(none, BackendError::BadInput(_)), "{none}");
    if ptx::cuda::driver_present() {
        // A machine with a driver: the run itself is tools/ptx/gpu_check.sh's business.
        eprintln!("a CUDA driver is present: skipping the no-driver check");
        let out = ptx::run(&m.ptx, &m.launch, &[synthetic(&shape, 3)]).expect("GPU run");
        let want = qcc_ir::interp::run(&g, &[synthetic(&shape, 3)]).expect("interp");
        assert_eq!(out.len(), want.len());
        return;
    }
    let e = ptx::run(&m.ptx, &m.launch, &[synthetic(&shape, 3)]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, BackendError::Cuda(_)), "{msg}");
    assert!(msg.contains("libcuda.so not found: "), "{msg}");
    assert!(msg.contains("libcuda.so"), "{msg}");
}

#[test]
fn launch_json_rejects_other_formats_and_buffers_outside_the_arena() {
    let (g, _) = models("mlp_digits");
    let m = ptx::compile_ptx(&g, &Default::default()).expect("compile");
    let mut l = m.launch.clone();
    l.format = "something/2".into();
    let e = ptx::Launch::from_json(&l.to_json()).unwrap_err();
    assert!(e.to_string().contains("something/2"), "{e}");
    let mut l = m.launch.clone();
    l.outputs[0].offset = l.arena_bytes;
    let e = ptx::Launch::from_json(&l.to_json()).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    assert!(ptx::Launch::from_json("{").is_err());
}
