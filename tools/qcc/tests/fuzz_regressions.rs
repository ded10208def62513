//! Replays the inputs of `tests/fuzz/regressions/<target>/` (every crash a fuzz target found,
//! minimized) through the fuzz targets' own code (`qcc::fuzzing`), in process, so a fixed crash stays fixed without cargo-fuzz. The hostile corpus's files are
//! replayed too. A panic fails the test; errors are the expected outcome.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.expect("entry").path()).filter(|p| p.is_file()).collect(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    if let Some(ext) = ext {
        v.retain(|p| p.extension().and_then(|e| e.to_str()) == Some(ext));
    }
    v.sort();
    v
}

fn replay(target: &str, ext: &str, f: fn(&[u8])) -> usize {
    let mut inputs = files(&repo().join("tests/fuzz/regressions").join(target), None);
    inputs.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    inputs.extend(files(&repo().join("tests/hostile/cases"), Some(ext)));
    for p in &inputs {
        let data = std::fs::read(p).expect("read");
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} panics", p.display());
    }
    inputs.len()
}

#[test]
fn onnx_load_regressions() {
    assert!(replay("onnx_load", "onnx", qcc::fuzzing::onnx_load) > 0);
}

#[test]
fn qir_parse_regressions() {
    assert!(replay("qir_parse", "qir", qcc::fuzzing::qir_parse) > 0);
}

#[test]
fn npz_read_regressions() {
    assert!(replay("npz_read", "npz", qcc::fuzzing::npz_read) > 0);
}

/// A 246-byte `.npy` whose header nests `{` 80 deep made npyz's header parser backtrack for
/// minutes (a libFuzzer timeout); qcc now refuses it before npyz parses it.
#[test]
fn npy_header_nesting_is_refused_before_parsing() {
    let p = repo().join("tests/fuzz/regressions/npz_read/npy_header_nested_braces_timeout.npy");
    let bytes = std::fs::read(&p).expect("read");
    let t0 = std::time::Instant::now();
    let e = qcc::data::read_npy_bytes(&p, &bytes, &qcc_ir::Limits::default())
        .expect_err("a nested header is refused");
    assert!(e.to_string().contains("nests brackets more than 8 deep"), "{e}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(2), "took {:?}", t0.elapsed());
}

/// Every input of `regressions/diff/` (crashes of the differential targets, and a minimized
/// corpus) builds a graph, and it runs on the Cranelift and LLVM JITs with the interpreter's
/// results, exactly as `diff_cranelift`/`diff_llvm` check it.
#[test]
fn diff_regressions() {
    use qcc::fuzzing::diff;
    let mut inputs = files(&repo().join("tests/fuzz/regressions/diff"), None);
    inputs.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    assert!(!inputs.is_empty(), "no inputs in tests/fuzz/regressions/diff");
    let mut outputs = 0;
    for p in &inputs {
        let data = std::fs::read(p).expect("read");
        let prog = diff::program(&data).unwrap_or_else(|| panic!("{}: no program", p.display()));
        let n = diff::check(&prog, &diff::cranelift)
            .unwrap_or_else(|e| panic!("{} on Cranelift: {e}", p.display()));
        assert!(n > 0, "{}: builds no graph, so it tests nothing", p.display());
        #[cfg(feature = "llvm")]
        diff::check(&prog, &diff::llvm).unwrap_or_else(|e| panic!("{} on LLVM: {e}", p.display()));
        outputs += n;
    }
    eprintln!("{} programs, {outputs} outputs compared", inputs.len());
}
