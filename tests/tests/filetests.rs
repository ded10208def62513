//! Runs every filetest under `tests/filetests/` (see `qcc_tests::filetest`).
//! `QCC_BLESS=1 cargo test -p qcc-tests --test filetests` rewrites the expected blocks.

use qcc_tests::filetest::{collect, run_file, Outcome, BLESS_COMMAND};
use std::path::Path;

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("filetests");
    let files = collect(&dir);
    assert!(!files.is_empty(), "no filetests found under {}", dir.display());
    let bless = std::env::var("QCC_BLESS").is_ok_and(|v| v == "1");
    let registry = qcc_passes::Registry::with_builtins();
    let (mut passed, mut blessed, mut failed) = (0, 0, Vec::new());
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        match run_file(f, &registry, bless) {
            Outcome::Pass => passed += 1,
            Outcome::Blessed => {
                blessed += 1;
                eprintln!("blessed {rel}");
            }
            Outcome::Mismatch(diff) => {
                eprintln!("FAIL {rel}: output differs\n{diff}");
                failed.push(rel);
            }
            Outcome::Error(e) => {
                eprintln!("FAIL {rel}: {e}");
                failed.push(rel);
            }
        }
    }
    eprintln!(
        "filetests: {passed} passed, {blessed} blessed, {} failed, {} total",
        failed.len(),
        files.len()
    );
    assert!(
        failed.is_empty(),
        "{} filetest(s) failed: {}\nto accept the new output run: {BLESS_COMMAND}",
        failed.len(),
        failed.join(", ")
    );
}
