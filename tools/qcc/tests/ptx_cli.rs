//! `qcc compile --backend llvm --target nvptx`: mlp_digits quantized (int8, calibrated on its
//! calib.npz) becomes OUT.ptx (PTX 7.5 for sm_86, one `.visible .entry stepN` per launch, no
//! unresolved call) and OUT.launch.json (format, arena, steps, the input and output slots inside
//! the arena); `--backend cranelift --target nvptx` is refused with a message naming the fix.
//! The PTX itself is checked against the plan in backends/llvm/tests/ptx.rs.
#![cfg(feature = "llvm")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn model_dir(name: &str) -> PathBuf {
    let mut dir = repo();
    loop {
        let cand = dir.join("shared/models").join(name);
        if cand.is_dir() {
            return cand;
        }
        if !dir.pop() {
            panic!("shared model `{name}` not found beside the repository (../shared/models)");
        }
    }
}

fn qcc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qcc")).current_dir(repo()).args(args).output().unwrap()
}

#[test]
fn mlp_digits_int8_to_ptx() {
    let dir = model_dir("mlp_digits");
    let out = std::env::temp_dir().join(format!("qcc-ptx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let (model, calib) = (dir.join("model.onnx"), dir.join("calib.npz"));
    let o = qcc(&[
        "compile",
        model.to_str().unwrap(),
        "--calib",
        calib.to_str().unwrap(),
        "--backend",
        "llvm",
        "--target",
        "nvptx",
        "-o",
        out.join("mlp.ptx").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ptx = std::fs::read_to_string(out.join("mlp.ptx")).expect("OUT.ptx");
    let launch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mlp.launch.json")).unwrap())
            .expect("launch JSON");
    for h in [".version 7.5", ".target sm_86", ".address_size 64"] {
        assert!(ptx.lines().any(|l| l.trim() == h), "no `{h}`");
    }
    assert!(!ptx.contains(".extern .func"));
    assert_eq!(launch["format"], "qcc-ptx-launch/1");
    let steps = launch["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    assert_eq!(ptx.matches(".visible .entry ").count(), steps.len());
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["entry"], format!("step{i}"));
        assert!(ptx.contains(&format!(".visible .entry step{i}(")), "entry {i}");
    }
    // int8: the realized graph's integer kernels.
    assert!(steps.iter().any(|s| s["kernel"] == "qgemm"), "{steps:?}");
    let arena = launch["arena_bytes"].as_u64().unwrap();
    for b in
        launch["inputs"].as_array().unwrap().iter().chain(launch["outputs"].as_array().unwrap())
    {
        let (off, n) = (b["offset"].as_u64().unwrap(), b["bytes"].as_u64().unwrap());
        assert!(n > 0 && off + n <= arena, "{b}");
    }
    assert_eq!(launch["inputs"][0]["dtype"], "f32");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn nvptx_needs_the_llvm_backend() {
    let model = model_dir("mlp_digits").join("model.onnx");
    let o = qcc(&[
        "compile",
        model.to_str().unwrap(),
        "--backend",
        "cranelift",
        "--target",
        "nvptx",
        "-o",
        "/nonexistent/x",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--target nvptx needs --backend llvm"), "{err}");
}
