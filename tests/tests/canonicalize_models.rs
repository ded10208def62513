//! Canonicalizing every model of `../shared/models/` keeps the interpreter's outputs within
//! rtol 1e-4 of the original graph's and reduces the node count (never grows it; see
//! `ALREADY_CANONICAL`). `minilm_l6`, written op by
//! op, must come out with `LayerNormalization` and `Gelu` nodes.
//!
//! Prints per model: node counts before/after, the op histogram of what changed, and the
//! `--time-passes` table (run with `--nocapture` to see them).

use qcc_ir::{Graph, Tensor};
use qcc_passes::{PassManager, PassManagerOptions, Registry};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;
/// Samples of `eval.npz` run per model (keeps the test short on 2 cores).
const SAMPLES: usize = 2;
/// Models with nothing to canonicalize: `mlp_digits` is three `Gemm`s and two `Relu`s, so its
/// node count can only stay the same (it must not grow).
const ALREADY_CANONICAL: &[&str] = &["mlp_digits"];

fn shared_models() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/models");
        if cand.is_dir() {
            return cand;
        }
        assert!(
            dir.pop(),
            "../shared/models not found above {}: the model tests need the shared data folder \
             beside the repository",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

fn histogram(g: &Graph) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for id in g.node_ids() {
        *h.entry(g.node(id).op.name().to_string()).or_insert(0) += 1;
    }
    h
}

fn compare(name: &str, out: &str, a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape, b.shape, "{name}: output `{out}` shape changed");
    let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
    let mut worst = 0.0f64;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let err = (x - y).abs();
        assert!(
            err <= ATOL + RTOL * x.abs(),
            "{name}: output `{out}` element {i}: original {x}, canonicalized {y}"
        );
        worst = worst.max(err / (ATOL + RTOL * x.abs()));
    }
    eprintln!("  {out}: max error {:.3} of the tolerance", worst);
}

fn check_model(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let model = dir.join("model.onnx");
    let original = qcc_onnx::import_file(&model, &Default::default())
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let arrays = qcc::data::read_npz(&dir.join("eval.npz"))
        .unwrap_or_else(|e| panic!("{name}: eval.npz: {e}"));
    let samples = qcc::model::bind_samples(&original, &arrays, "eval.npz")
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut g = original.clone();
    let sink = qcc_passes::SharedSink::new();
    let options =
        PassManagerOptions { verify_each: Some(true), time_passes: true, ..Default::default() };
    let mut pm = PassManager::from_pipeline(&Registry::with_builtins(), "canonicalize", options)
        .unwrap()
        .with_sink(Box::new(sink.clone()));
    pm.run(&mut g).unwrap_or_else(|e| panic!("{name}: canonicalize failed: {e}"));

    let (before, after) = (original.node_count(), g.node_count());
    eprintln!("== {name}: {before} nodes → {after} nodes");
    let (hb, ha) = (histogram(&original), histogram(&g));
    let ops: std::collections::BTreeSet<&String> = hb.keys().chain(ha.keys()).collect();
    for op in ops {
        let (x, y) = (hb.get(op).copied().unwrap_or(0), ha.get(op).copied().unwrap_or(0));
        if x != y {
            eprintln!("  {op}: {x} → {y}");
        }
    }
    eprint!("{}", sink.contents());

    for (k, inputs) in samples.iter().take(SAMPLES).enumerate() {
        let a = qcc_ir::interp::run(&original, inputs)
            .unwrap_or_else(|e| panic!("{name}: original graph, sample {k}: {e}"));
        let b = qcc_ir::interp::run(&g, inputs)
            .unwrap_or_else(|e| panic!("{name}: canonicalized graph, sample {k}: {e}"));
        for ((out, _), (x, y)) in original.outputs().iter().zip(a.iter().zip(&b)) {
            compare(&name, out, x, y);
        }
    }
    if ALREADY_CANONICAL.contains(&name.as_str()) {
        assert!(after <= before, "{name}: canonicalize grew the graph");
    } else {
        assert!(after < before, "{name}: canonicalize did not reduce the node count");
    }
    if name == "minilm_l6" {
        for op in ["LayerNormalization", "Gelu"] {
            assert!(ha.contains_key(op), "minilm_l6: no {op} after canonicalize: {ha:?}");
        }
    }
}

#[test]
fn canonicalize_keeps_outputs_and_reduces_nodes() {
    let root = shared_models();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no models under {}", root.display());
    for d in dirs {
        check_model(&d);
    }
}
