//! Every `qcc` command on `mlp_digits` (../shared/models) end to end — import → opt → quantize →
//! compile → run → eval → explain → bench, plus conformance on one ONNX node test — checking the JSON
//! fields DESIGN §8 promises (scripts and users depend on them).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn shared() -> PathBuf {
    let s = repo().join("../shared");
    assert!(
        s.join("models/mlp_digits/model.onnx").is_file(),
        "../shared/models/mlp_digits is missing beside the repository (the shared data folder)"
    );
    s
}

fn qcc(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_qcc"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run qcc");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "qcc {args:?} panicked:\n{err}");
    (o.status.code().unwrap_or(-1), out, err)
}

fn ok_json(args: &[&str]) -> Value {
    let (code, out, err) = qcc(args);
    assert_eq!(code, 0, "qcc {args:?} failed:\n{err}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("qcc {args:?}: not one JSON object ({e}):\n{out}"))
}

fn has(v: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(v.get(f).is_some(), "{what}: field `{f}` missing in {v}");
    }
}

#[test]
fn every_command_on_mlp_digits() {
    let m = shared().join("models/mlp_digits");
    let p = |f: &str| m.join(f).display().to_string();
    let dir = std::env::temp_dir().join(format!("qcc-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = |f: &str| dir.join(f).display().to_string();

    // import → opt
    let (code, _, err) = qcc(&["import", &p("model.onnx"), "-o", &t("mlp.qir")]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("mlp.safetensors").is_file(), "weights beside the .qir");
    let (code, _, err) = qcc(&[
        "opt",
        &t("mlp.qir"),
        "--passes",
        "canonicalize",
        "--time-passes",
        "-o",
        &t("opt.qir"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("canonicalize") || err.contains("infer-shapes"),
        "--time-passes report:\n{err}"
    );

    // quantize: integer .qir and QDQ .onnx
    for out in ["int.qir", "qdq.onnx"] {
        let (code, _, err) =
            qcc(&["quantize", &p("model.onnx"), "--calib", &p("calib.npz"), "-o", &t(out)]);
        assert_eq!(code, 0, "{err}");
        assert!(dir.join(out).is_file());
    }

    // compile: AOT object + C header of the integer model
    let (code, _, err) =
        qcc(&["compile", &t("int.qir"), "--backend", "cranelift", "-o", &t("mlp_aot")]);
    assert_eq!(code, 0, "{err}");
    let h = std::fs::read_to_string(dir.join("mlp_aot.h")).unwrap();
    assert!(h.contains("int32_t mlp_aot_run(") && h.contains("MLP_AOT_ARENA_SIZE"), "{h}");
    assert!(std::fs::read(dir.join("mlp_aot.o")).unwrap().starts_with(b"\x7fELF"));

    // run: fp32 against the reference, and the integer model
    let r = ok_json(&[
        "run",
        &t("opt.qir"),
        "--inputs",
        &p("eval.npz"),
        "--limit",
        "20",
        "--assert-outputs",
        &p("ref.npz"),
        "--json",
    ]);
    has(&r, &["outputs", "ok"], "run --assert-outputs");
    has(&r["outputs"]["logits"], &["max_abs_err", "max_rel_err", "ok"], "run outputs.logits");
    assert_eq!(r["ok"], true);
    let r = ok_json(&[
        "run",
        &t("int.qir"),
        "--inputs",
        &p("eval.npz"),
        "--limit",
        "20",
        "--outputs",
        &t("out.npz"),
        "--json",
    ]);
    assert_eq!(r["samples"], 20);
    assert!(dir.join("out.npz").is_file());

    // eval
    let e = ok_json(&[
        "eval",
        &p("model.onnx"),
        "--calib",
        &p("calib.npz"),
        "--data",
        &p("eval.npz"),
        "--labels",
        "labels",
        "--limit",
        "40",
        "--json",
    ]);
    has(&e, &["outputs", "accuracy", "layers", "quantized_nodes", "float_nodes"], "eval");
    has(
        &e["outputs"]["logits"],
        &["sqnr_db", "cosine_mean", "max_abs_err", "top1_agreement"],
        "eval outputs",
    );
    has(&e["accuracy"], &["fp32", "quantized"], "eval accuracy");
    has(&e["layers"][0], &["node", "op", "sqnr_db"], "eval layers");
    assert!(e["outputs"]["logits"]["sqnr_db"].as_f64().unwrap() > 30.0);

    // explain
    let x = ok_json(&["explain", &t("qdq.onnx"), "--json"]);
    has(
        &x,
        &["nodes", "warnings", "predicted_int8_ms", "predicted_fp32_ms", "dot_path"],
        "explain",
    );
    has(&x["nodes"][0], &["node", "op", "precision", "kernel", "isa", "share"], "explain nodes");

    // bench (interpreter and Cranelift)
    for backend in ["interp", "cranelift"] {
        let b = ok_json(&["bench", &t("int.qir"), "--backend", backend, "--iters", "5", "--json"]);
        has(
            &b,
            &["backend", "threads", "compile_ms", "median_ms", "p10_ms", "p90_ms", "iters"],
            "bench",
        );
        assert_eq!(b["backend"], backend);
        assert_eq!(b["iters"], 5);
        assert!(b["p10_ms"].as_f64().unwrap() <= b["p90_ms"].as_f64().unwrap());
    }

    // conformance on one node test
    let cdir = dir.join("conformance");
    std::fs::create_dir_all(&cdir).unwrap();
    let case = shared().join("onnx-node-tests/node/test_relu");
    let _ = std::fs::remove_file(cdir.join("test_relu"));
    std::os::unix::fs::symlink(case, cdir.join("test_relu")).unwrap();
    let c = ok_json(&["conformance", cdir.to_str().unwrap(), "--json"]);
    has(&c, &["passed", "failed", "unsupported", "by_op", "failures"], "conformance");
    assert_eq!(c["passed"], 1);
}
