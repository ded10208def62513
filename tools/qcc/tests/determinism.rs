//! Determinism: the same model, data and flags give byte-identical outputs — `qcc import
//! --canonicalize` (.qir + .safetensors), `qcc quantize` to `.qir` (integer form, with its
//! weights) and to ONNX (QDQ export) — on mlp_digits from `../shared/models`, each run twice in
//! separate folders, once with one rayon worker thread and once with four (parallel calibration
//! must not change a byte either).

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_model(name: &str) -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/models").join(name);
        if cand.is_dir() {
            return cand;
        }
        assert!(
            dir.pop(),
            "../shared/models/{name} not found above {}: the determinism test needs the shared \
             data folder beside the repository",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

/// Runs `qcc args…` (with `$O` replaced by `out`) on `threads` rayon threads; panics with its
/// stderr when it fails.
fn qcc(args: &[&str], out: &Path, threads: usize) {
    let args: Vec<String> =
        args.iter().map(|a| a.replace("$O", &out.display().to_string())).collect();
    let r = Command::new(env!("CARGO_BIN_EXE_qcc"))
        .args(&args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("spawn qcc");
    assert!(
        r.status.success(),
        "qcc {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&r.stderr)
    );
}

/// Every file of `dir`, by name, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let p = e.expect("entry").path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

fn twice(tag: &str, args: &[&str], expect_files: &[&str]) {
    let base = std::env::temp_dir().join(format!("qcc-determinism-{}-{tag}", std::process::id()));
    let (a, b) = (base.join("a"), base.join("b"));
    for (d, threads) in [(&a, 1), (&b, 4)] {
        std::fs::create_dir_all(d).expect("temp dir");
        qcc(args, d, threads);
    }
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expect_files, "{tag}: files written");
    for ((n, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(!x.is_empty(), "{tag}: {n} is empty");
        assert!(
            x == y,
            "{tag}: {n} differs between two identical runs ({} vs {} bytes)",
            x.len(),
            y.len()
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn import_quantize_and_export_are_byte_identical() {
    let m = shared_model("mlp_digits");
    let (model, calib) = (m.join("model.onnx"), m.join("calib.npz"));
    let (model, calib) = (model.to_str().unwrap(), calib.to_str().unwrap());
    twice(
        "import",
        &["import", "--canonicalize", model, "-o", "$O/m.qir"],
        &["m.qir", "m.safetensors"],
    );
    let q = |out: &'static str| {
        [
            "quantize",
            model,
            "--calib",
            calib,
            "--calib-limit",
            "64",
            "--method",
            "entropy",
            "-o",
            out,
        ]
    };
    twice("quantize-qir", &q("$O/m.int.qir"), &["m.int.qir", "m.int.safetensors"]);
    twice("quantize-onnx", &q("$O/m.qdq.onnx"), &["m.qdq.onnx"]);
}
