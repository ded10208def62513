//! `-v/--verbose` and `QCC_LOG`: qcc logs its steps (import, pass pipelines, calibration,
//! compilation) on stderr only when asked, and rejects a malformed filter with a clear error.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn qcc(args: &[&str], log: Option<&str>) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qcc"));
    c.current_dir(repo()).args(args).env_remove("QCC_LOG");
    if let Some(l) = log {
        c.env("QCC_LOG", l);
    }
    let o = c.output().expect("run qcc");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "qcc {args:?} panicked:\n{err}");
    (o.status.code().unwrap_or(-1), err)
}

const MODEL: &str = "tests/models/digits_cnn/model.onnx";
const CALIB: &str = "tests/models/digits_cnn/calib.npz";

#[test]
fn quiet_by_default_and_verbose_logs_each_stage() {
    let out = std::env::temp_dir().join(format!("qcc-logging-{}.qir", std::process::id()));
    let out_s = out.to_str().unwrap();
    let (code, err) = qcc(&["quantize", MODEL, "--calib", CALIB, "-o", out_s], None);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("INFO"), "no -v, yet info lines were logged:\n{err}");

    let (code, err) = qcc(&["-v", "quantize", MODEL, "--calib", CALIB, "-o", out_s], None);
    assert_eq!(code, 0, "{err}");
    for what in ["imported ONNX model", "calibration statistics collected", "pipeline done"] {
        assert!(err.contains(what), "-v did not log {what:?}:\n{err}");
    }
    assert!(!err.contains("DEBUG"), "-v logged debug lines:\n{err}");

    let (code, err) = qcc(&["-vv", "quantize", MODEL, "--calib", CALIB, "-o", out_s], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("pass done"), "-vv did not log each pass:\n{err}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn qcc_log_selects_targets() {
    let out = std::env::temp_dir().join(format!("qcc-logging-env-{}.qir", std::process::id()));
    let out_s = out.to_str().unwrap();
    let (code, err) =
        qcc(&["quantize", MODEL, "--calib", CALIB, "-o", out_s], Some("qcc_onnx=info"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imported ONNX model"), "{err}");
    assert!(!err.contains("pipeline done"), "QCC_LOG=qcc_onnx=info logged the passes:\n{err}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn malformed_qcc_log_is_a_clear_error() {
    let (code, err) = qcc(&["import", MODEL, "-o", "/dev/null"], Some("qcc_onnx=loud"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("QCC_LOG") && err.contains("not a valid log filter"), "{err}");
}
