//! Helpers shared by the integration tests: locating `../shared`.
#![allow(dead_code)]

use std::path::PathBuf;

/// `<repo>/../shared`, found by walking up from this crate; panics with a clear message when
/// it is missing (the tests need the shared data).
pub fn shared_dir() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared");
        if cand.join("onnx-node-tests").is_dir() || cand.join("models").is_dir() {
            return cand;
        }
        if !dir.pop() {
            panic!(
                "shared data not found: expected a `shared/` folder (onnx-node-tests, models) beside the repository, walking up from {}",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
}
