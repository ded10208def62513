//! `--max-arena-bytes` / `QCC_MAX_ARENA_BYTES`: `qcc run --backend cranelift` and `qcc compile`
//! refuse a model whose memory plan exceeds the limit with a clear error and exit code 1 (and
//! `qcc compile` writes no object); the same model runs or compiles without the limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models")
}

fn qcc(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qcc"));
    c.args(args).env_remove("QCC_MAX_ARENA_BYTES").env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("spawn qcc")
}

fn assert_refused(out: &Output, limit: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("arena size limit of")
            && stderr.contains(&format!("limit of {limit} bytes")),
        "stderr: {stderr}"
    );
}

fn run_args(model: &str, inputs: &str) -> Vec<String> {
    vec![
        "run".into(),
        model.into(),
        "--inputs".into(),
        inputs.into(),
        "--backend".into(),
        "cranelift".into(),
    ]
}

#[test]
fn run_on_cranelift_honours_the_flag_and_the_environment() {
    let m = models();
    let args = run_args(
        &m.join("mlp_tiny.qir").display().to_string(),
        &m.join("mlp_tiny.in.npz").display().to_string(),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ok = qcc(&args, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut flag = args.clone();
    flag.extend(["--max-arena-bytes", "64"]);
    assert_refused(&qcc(&flag, &[]), "64");
    assert_refused(&qcc(&args, &[("QCC_MAX_ARENA_BYTES", "100")]), "100");
    // The flag overrides the environment.
    let mut big = args.clone();
    big.extend(["--max-arena-bytes", "1000000000"]);
    let ok = qcc(&big, &[("QCC_MAX_ARENA_BYTES", "100")]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn compile_honours_the_limit_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("qcc_arena_limit_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = models().join("mlp_tiny.qir").display().to_string();
    let out = dir.join("m").display().to_string();
    let args = ["compile", &model, "--target", "aarch64", "-o", &out];
    let mut limited = args.to_vec();
    limited.extend(["--max-arena-bytes", "64"]);
    assert_refused(&qcc(&limited, &[]), "64");
    assert!(!dir.join("m.o").exists() && !dir.join("m.h").exists());
    assert_refused(&qcc(&args, &[("QCC_MAX_ARENA_BYTES", "64")]), "64");
    assert!(!dir.join("m.o").exists());
    let ok = qcc(&args, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(dir.join("m.o").exists() && dir.join("m.h").exists());
    std::fs::remove_dir_all(&dir).ok();
}
