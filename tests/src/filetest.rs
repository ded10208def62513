//! The filetest runner (DESIGN §6): `tests/filetests/**/*.qir`.
//!
//! A filetest is a `.qir` file with a header of `;` comment lines, the input graph, and an
//! expected block of `; `-prefixed lines after a `; expected:` line:
//!
//! ```text
//! ; test optimize
//! ; passes: dce,cse
//! graph @g { ... }
//!
//! ; expected:
//! ; graph @g phase=imported {
//! ; ...
//! ```
//! Kinds: `test optimize` runs the `passes:` pipeline (verifying after each pass) and compares
//! `qcc_ir::print::print` of the result; `test verify` runs the verifier (after the optional
//! `passes:`) and compares its error report (`ok` when the graph verifies); `test pass-error`
//! runs the pipeline and compares the error it must fail with; `test lower` runs the pipeline,
//! infers shapes and compares the printed Lowered plan (`qcc_lowering::print`: buffers with
//! their arena slots and views, then the kernels with fused epilogues) that every backend
//! compiles. The input is the whole file
//! (the parser skips `;` comments). With `QCC_BLESS=1` the expected block is rewritten.

use qcc_passes::{PassManager, PassManagerOptions, Registry, SharedSink};
use similar::TextDiff;
use std::path::{Path, PathBuf};

/// The command that updates expected blocks.
pub const BLESS_COMMAND: &str = "QCC_BLESS=1 cargo test -p qcc-tests --test filetests";

/// What a filetest checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Run passes, compare the printed graph.
    Optimize,
    /// Compare the verifier's report.
    Verify,
    /// The pipeline must fail; compare the error message.
    PassError,
    /// Run passes, lower for the backends, compare the printed Lowered plan.
    Lower,
}

/// A parsed filetest.
#[derive(Debug, Clone)]
pub struct FileTest {
    /// The file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: Kind,
    /// The pipeline (may be empty).
    pub passes: String,
    /// The whole text (input graph + comments).
    pub text: String,
    /// The expected block, `; ` prefixes removed (None when missing).
    pub expected: Option<String>,
}

/// The outcome of one filetest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Output matches; `numeric` tells whether the interpreter also compared the outputs of
    /// the graph before and after the pipeline (only for inputs of fixed shape).
    Pass {
        /// Outputs compared numerically.
        numeric: bool,
    },
    /// Output differs: the unified diff (expected → actual).
    Mismatch(String),
    /// The expected block was rewritten.
    Blessed,
    /// The test could not run (bad header, parse error, unexpected failure).
    Error(String),
}

/// Parses the header and expected block of a filetest.
pub fn parse_filetest(path: &Path, text: &str) -> Result<FileTest, String> {
    let mut kind = None;
    let mut passes = String::new();
    for line in text.lines() {
        let t = line.trim();
        let Some(c) = t.strip_prefix(';') else {
            if t.is_empty() {
                continue;
            }
            break;
        };
        let c = c.trim();
        if let Some(k) = c.strip_prefix("test ") {
            kind = Some(match k.trim() {
                "optimize" => Kind::Optimize,
                "verify" => Kind::Verify,
                "pass-error" => Kind::PassError,
                "lower" => Kind::Lower,
                other => return Err(format!("unknown test kind `{other}`")),
            });
        } else if let Some(p) = c.strip_prefix("passes:") {
            passes = p.trim().to_string();
        } else if c == "expected:" {
            break;
        }
    }
    let kind = kind.ok_or("missing `; test <kind>` header line")?;
    let expected = split_expected(text).1;
    Ok(FileTest { path: path.to_path_buf(), kind, passes, text: text.to_string(), expected })
}

/// Splits the text at the `; expected:` line: (before, expected block without prefixes).
fn split_expected(text: &str) -> (&str, Option<String>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "; expected:" {
            let rest = &text[offset + line.len()..];
            let block: Vec<&str> = rest
                .lines()
                .map(|l| l.strip_prefix("; ").or_else(|| l.strip_prefix(';')).unwrap_or(l))
                .collect();
            let mut s = block.join("\n");
            while s.ends_with('\n') {
                s.pop();
            }
            return (&text[..offset], Some(s));
        }
        offset += line.len();
    }
    (text, None)
}

/// Rewrites the expected block of `text` with `actual`.
pub fn blessed_text(text: &str, actual: &str) -> String {
    let before = split_expected(text).0.trim_end();
    let mut out = format!("{before}\n\n; expected:\n");
    for line in actual.trim_end().lines() {
        if line.is_empty() {
            out += ";\n";
        } else {
            out += &format!("; {line}\n");
        }
    }
    out
}

/// Relative and absolute tolerance of the numeric check of `test optimize` files.
pub const RTOL: f64 = 1e-4;
/// See [`RTOL`].
pub const ATOL: f64 = 1e-5;

/// Runs a filetest and returns what it produces (the text compared with the expected block)
/// and whether the outputs were checked numerically. For `test optimize`, when every input
/// has a fixed shape, the interpreter runs the graph before and after the pipeline on
/// pseudo-random inputs and the outputs must agree within [`RTOL`]/[`ATOL`].
pub fn actual_output(t: &FileTest, registry: &Registry) -> Result<(String, bool), String> {
    let mut g = qcc_ir::parse::parse(&t.text).map_err(|e| format!("input does not parse: {e}"))?;
    let before = g.clone();
    let run = if t.kind == Kind::Verify {
        // The input of a verify test may be broken on purpose: run the passes (if any)
        // without verifying, then report what the verifier says about the result.
        let options = PassManagerOptions { verify_each: Some(false), ..Default::default() };
        PassManager::from_pipeline(registry, &t.passes, options)
            .and_then(|pm| pm.with_sink(Box::new(SharedSink::new())).run(&mut g).map(|_| ()))
    } else {
        qcc_passes::testing::run_pipeline(registry, &mut g, &t.passes)
    };
    match t.kind {
        Kind::Optimize => {
            run.map_err(|e| format!("pipeline failed: {e}"))?;
            use qcc_passes::testing::{check_equivalent, EquivError};
            let numeric = match check_equivalent(&before, &g, RTOL, ATOL, 7) {
                Ok(()) => true,
                Err(EquivError::NotRunnable(_)) => false,
                Err(e) => return Err(format!("the pipeline changed the results: {e}")),
            };
            Ok((qcc_ir::print::print(&g), numeric))
        }
        Kind::Verify => {
            run.map_err(|e| format!("pipeline failed: {e}"))?;
            Ok((
                match qcc_passes::testing::verify(&g) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e,
                },
                false,
            ))
        }
        Kind::Lower => {
            run.map_err(|e| format!("pipeline failed: {e}"))?;
            qcc_ir::infer::infer_graph(&mut g).map_err(|e| format!("shape inference: {e}"))?;
            let lowered = qcc_lowering::lower(&g).map_err(|e| format!("lowering failed: {e}"))?;
            Ok((qcc_lowering::print::print(&lowered), false))
        }
        Kind::PassError => match run {
            Ok(()) => Err("the pipeline was expected to fail but succeeded".into()),
            Err(e) => Ok((e.to_string(), false)),
        },
    }
}

/// Runs one file, blessing it when `bless` is set.
pub fn run_file(path: &Path, registry: &Registry, bless: bool) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Outcome::Error(format!("cannot read: {e}")),
    };
    let t = match parse_filetest(path, &text) {
        Ok(t) => t,
        Err(e) => return Outcome::Error(e),
    };
    let (actual, numeric) = match actual_output(&t, registry) {
        Ok(a) => a,
        Err(e) => return Outcome::Error(e),
    };
    let actual = actual.trim_end().to_string();
    if t.expected.as_deref() == Some(actual.as_str()) {
        return Outcome::Pass { numeric };
    }
    if bless {
        return match std::fs::write(path, blessed_text(&text, &actual)) {
            Ok(()) => Outcome::Blessed,
            Err(e) => Outcome::Error(format!("cannot write: {e}")),
        };
    }
    let expected = t.expected.unwrap_or_default();
    let diff = TextDiff::from_lines(&format!("{expected}\n"), &format!("{actual}\n"))
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    Outcome::Mismatch(diff)
}

/// Every `*.qir` under `dir`, sorted.
pub fn collect(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "qir"))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_expected_block() {
        let text =
            "; test optimize\n; passes: dce, cse\ngraph @g {\n}\n\n; expected:\n; a\n;\n; b\n";
        let t = parse_filetest(Path::new("x.qir"), text).unwrap();
        assert_eq!(t.kind, Kind::Optimize);
        assert_eq!(t.passes, "dce, cse");
        assert_eq!(t.expected.as_deref(), Some("a\n\nb"));
        let blessed = blessed_text(text, "c\n\nd\n");
        assert!(blessed.ends_with("; expected:\n; c\n;\n; d\n"), "{blessed}");
        assert_eq!(parse_filetest(Path::new("x"), &blessed).unwrap().expected.unwrap(), "c\n\nd");
        assert!(parse_filetest(Path::new("x"), "graph @g {}").is_err());
        assert!(parse_filetest(Path::new("x"), "; test nonsense\n").is_err());
    }
}
