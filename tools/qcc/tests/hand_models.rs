//! The hand-built models shipped in `tests/models/` run through `qcc run` and give the outputs
//! computed by hand below (the numpy script beside the models computes the same independently).

use qcc::data::{read_npz, write_npz};
use qcc_ir::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn qcc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qcc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run qcc")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qcc-hand-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run_outputs(model: &str, inputs: &str, out: &Path) -> Vec<(String, Tensor)> {
    let o = qcc(&["run", model, "--inputs", inputs, "--outputs", out.to_str().unwrap()]);
    assert!(o.status.success(), "qcc run failed: {}", String::from_utf8_lossy(&o.stderr));
    read_npz(out).unwrap()
}

#[test]
fn mlp_tiny_matches_hand_computation() {
    // Sample 1, x = [1, 2, 3, 4]:
    //   x·W1 = [1 + 1.5 − 4, 2 + 1.5, −1 + 4 + 4] = [−1.5, 3.5, 7]; + b1 = [−1.5, 2.5, 7.5]
    //   relu = [0, 2.5, 7.5]; ·W2 + b2 = [2·2.5 + 0.25, 7.5] = [5.25, 7.5]
    // Sample 2, x = [−1, 0.5, 2, 0]:
    //   x·W1 = [−1 + 1, 0.5 + 1, 1 + 1] = [0, 1.5, 2]; + b1 = [0, 0.5, 2.5]
    //   relu = [0, 0.5, 2.5]; ·W2 + b2 = [1 + 0.25, 2.5] = [1.25, 2.5]
    let out =
        run_outputs("tests/models/mlp_tiny.qir", "tests/models/mlp_tiny.in.npz", &tmp("mlp.npz"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "logits");
    assert_eq!(out[0].1, Tensor::f32(&[2, 1, 2], vec![5.25, 7.5, 1.25, 2.5]));
}

#[test]
fn convnet_tiny_matches_hand_computation() {
    // Image (row-major 4×4): 0 1 2 3 / 4 5 −5 7 / 8 9 10 11 / 12 13 14 15.
    // Channel 0 = 3×3 neighbourhood sums (zero padding); 2×2 max pool of the relu:
    //   top-left max(10, 7, 27, 34) = 34; top-right max(13, 7, 43, 28) = 43;
    //   bottom-left max(51, 70, 42, 66) = 70; bottom-right max(79, 52, 72, 50) = 79.
    // Channel 1 = x[i,j] − x[i,j−1] − 0.5; relu + pool: 3.5, 11.5, 11.5, 0.5.
    // Flattened [34, 43, 70, 79, 3.5, 11.5, 11.5, 0.5] · W:
    //   col 0 = 34 + 79 + 0.5·3.5 − 0.5 = 114.25; col 1 = 43 + 79 + 0.5·11.5 = 127.75;
    //   col 2 = 70 + 79 + 0.5·11.5 = 154.75.
    let out = run_outputs(
        "tests/models/convnet_tiny.qir",
        "tests/models/convnet_tiny.in.npz",
        &tmp("conv.npz"),
    );
    assert_eq!(out[0].0, "scores");
    assert_eq!(out[0].1, Tensor::f32(&[1, 1, 3], vec![114.25, 127.75, 154.75]));
}

#[test]
fn assert_outputs_reports_json_and_exit_code() {
    let ok = qcc(&[
        "run",
        "tests/models/mlp_tiny.qir",
        "--inputs",
        "tests/models/mlp_tiny.in.npz",
        "--assert-outputs",
        "tests/models/mlp_tiny.ref.npz",
        "--json",
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["outputs"]["logits"]["ok"], true);
    assert_eq!(v["outputs"]["logits"]["max_abs_err"], 0.0);

    // A wrong reference fails with exit code 1 and says by how much.
    let bad = tmp("bad_ref.npz");
    write_npz(&bad, &[("logits".into(), Tensor::f32(&[2, 1, 2], vec![5.25, 7.5, 1.25, 3.5]))])
        .unwrap();
    let o = qcc(&[
        "run",
        "tests/models/mlp_tiny.qir",
        "--inputs",
        "tests/models/mlp_tiny.in.npz",
        "--assert-outputs",
        bad.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["outputs"]["logits"]["max_abs_err"], 1.0);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "nope.qir", "--inputs", "x.npz"], "nope.qir"),
        (
            &["run", "tests/models/mlp_tiny.qir", "--inputs", "tests/models/mlp_tiny.qir"],
            "not a readable .npz",
        ),
        (
            &["run", "tests/models/mlp_tiny.qir", "--inputs", "tests/models/convnet_tiny.in.npz"],
            "no array named `x`",
        ),
        (&["run", "tests/models/mlp_tiny.txt", "--inputs", "x.npz"], "unknown model format"),
        (&["opt", "tests/models/mlp_tiny.in.npz"], "mlp_tiny.in.npz"),
    ];
    for (args, msg) in cases {
        let o = qcc(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: expected `{msg}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}
