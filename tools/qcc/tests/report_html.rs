//! `qcc eval --report` on the digits CNN shipped in the repo writes a self-contained HTML page;
//! headless Chromium renders it, the rendered DOM holds the per-layer SQNR chart with one bar per
//! layer of the JSON report, and a screenshot is kept as a test artifact
//! (`target/test-artifacts/eval-report.png`).
//!
//! Chromium is required (`apt-get install chromium`; `tools/ci/test.sh` installs it): without it
//! the test fails and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output() {
            let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!(
        "headless Chromium is needed to check the HTML report: install it with \
         `apt-get install chromium` (tools/ci/test.sh does this)"
    );
}

#[test]
fn eval_report_renders_in_headless_chromium() {
    let dir = std::env::temp_dir().join(format!("qcc-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let m = "tests/models/digits_cnn";
    let o = Command::new(env!("CARGO_BIN_EXE_qcc"))
        .current_dir(repo())
        .args(["eval", &format!("{m}/model.onnx"), "--calib", &format!("{m}/calib.npz")])
        .args(["--data", &format!("{m}/eval.npz"), "--labels", "labels", "--limit", "40"])
        .args(["--sensitivity", "--auto-mixed", "--min-sqnr", "45"])
        .args(["--json", "--report", html.to_str().unwrap()])
        .output()
        .expect("run qcc");
    assert!(o.status.success(), "qcc eval failed: {}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("eval --json output");
    let layers = report["layers"].as_array().expect("layers").len();
    assert!(layers >= 5, "the digits CNN has at least 5 layers, report has {layers}");

    let browser = chromium();
    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let dom = Command::new(&browser)
        .args(flags)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains(r#"<svg id="sqnr-chart""#), "rendered DOM has no chart:\n{dom}");
    assert_eq!(dom.matches(r#"<rect class="bar "#).count(), layers, "one bar per layer");
    assert!(dom.contains(r#"id="accuracy""#), "accuracy line missing");
    let sens = report["sensitivity"].as_array().expect("sensitivity").len();
    assert!(sens >= 3, "the three weighted layers are ranked");
    assert!(dom.contains(r#"<table id="sensitivity">"#), "sensitivity ranking missing");
    assert!(dom.contains(r#"id="mixed-precision""#), "mixed-precision decision missing");

    let artifacts = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("eval-report.png");
    let _ = std::fs::remove_file(&png);
    let shot = Command::new(&browser)
        .args(flags)
        .arg("--window-size=1100,900")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(shot.status.success(), "screenshot failed: {}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "screenshot is a real PNG");
}
