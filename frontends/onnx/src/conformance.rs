//! The ONNX backend node tests (`onnx/backend/test/data/node`) run on a qcc executor.
//!
//! A case is a folder `test_*/` with `model.onnx` and `test_data_set_N/{input,output}_K.pb`.
//! It is *unsupported* when qcc cannot represent the model (an op, an element type, an
//! attribute form it does not import), *failed* when it imports but running it errors or gives
//! other outputs, *passed* otherwise. Floats compare like ONNX's backend runner
//! (`|got − want| ≤ atol + rtol·|want|`, rtol 1e-3, atol 1e-7, NaN matches NaN); integers and
//! bools must be exact; dtypes and shapes must match.

use crate::error::OnnxError;
use crate::import::{import_file, ImportOptions};
use crate::tensor::tensor_from_bytes;
use qcc_ir::{Data, Graph, Tensor};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Relative tolerance for float outputs.
pub const RTOL: f64 = 1e-3;
/// Absolute tolerance for float outputs.
pub const ATOL: f64 = 1e-7;

/// Pass/fail/unsupported counts of one op.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that qcc cannot represent.
    pub unsupported: usize,
}

/// One case that did not pass, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseNote {
    /// Case folder name.
    pub case: String,
    /// The op the case is filed under.
    pub op: String,
    /// Why it failed or is unsupported.
    pub reason: String,
}

/// The outcome of a conformance run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that qcc cannot represent.
    pub unsupported: usize,
    /// Counts per op.
    pub by_op: BTreeMap<String, OpCounts>,
    /// Every failed case with its reason.
    pub failures: Vec<CaseNote>,
    /// Every unsupported case with its reason.
    pub unsupported_cases: Vec<CaseNote>,
}

impl ConformanceReport {
    /// passed / (passed + failed): the pass rate among supported cases (1.0 when none).
    pub fn pass_rate(&self) -> f64 {
        let n = self.passed + self.failed;
        if n == 0 {
            1.0
        } else {
            self.passed as f64 / n as f64
        }
    }

    /// A short human-readable summary: totals, then failures grouped by op.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "passed {}, failed {}, unsupported {} (pass rate among supported {:.1} %)\n",
            self.passed,
            self.failed,
            self.unsupported,
            100.0 * self.pass_rate()
        );
        for (op, c) in &self.by_op {
            if c.failed > 0 {
                s.push_str(&format!("  {op}: {} failed, {} passed\n", c.failed, c.passed));
                for f in self.failures.iter().filter(|f| &f.op == op) {
                    let mut r = f.reason.clone();
                    if r.len() > 300 {
                        let mut cut = 300;
                        while !r.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        r.truncate(cut);
                        r.push('…');
                    }
                    s.push_str(&format!("    {}: {r}\n", f.case));
                }
            }
        }
        s
    }
}

/// What running one case gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Outputs matched.
    Passed,
    /// Imported but gave an error or other outputs.
    Failed(String),
    /// qcc cannot represent the model.
    Unsupported(String),
}

/// An executor: runs a graph on inputs (in graph input order), outputs in graph output order.
pub type Executor<'a> = dyn Fn(&Graph, &[Tensor]) -> Result<Vec<Tensor>, String> + Sync + 'a;

/// Runs every case folder `dir/test_*` (whose name contains `filter`, or starts with it when the
/// filter ends in `*`) on the reference interpreter.
pub fn run_dir(dir: &Path, filter: Option<&str>) -> ConformanceReport {
    run_dir_with(dir, filter, &interp_executor)
}

/// The reference interpreter as an [`Executor`].
pub fn interp_executor(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    qcc_ir::interp::run(g, inputs).map_err(|e| e.to_string())
}

/// The case folders of `dir` matching `filter`, sorted.
pub fn case_dirs(dir: &Path, filter: Option<&str>) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("model.onnx").is_file())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    match filter {
                        None => true,
                        Some(f) => match f.strip_suffix('*') {
                            Some(prefix) => name.starts_with(prefix),
                            None => name.contains(f),
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

/// Like [`run_dir`] with another executor (a backend under test).
pub fn run_dir_with(dir: &Path, filter: Option<&str>, exec: &Executor<'_>) -> ConformanceReport {
    let cases = case_dirs(dir, filter);
    let results: Vec<(String, String, Outcome)> = cases
        .par_iter()
        .map(|c| {
            let name = c.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
            let op = case_op(c, &name);
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case_with(c, exec)))
                    .unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        Outcome::Failed(format!("panic: {msg}"))
                    });
            (name, op, outcome)
        })
        .collect();
    let mut rep = ConformanceReport::default();
    for (case, op, outcome) in results {
        let c = rep.by_op.entry(op.clone()).or_default();
        match outcome {
            Outcome::Passed => {
                c.passed += 1;
                rep.passed += 1;
            }
            Outcome::Failed(reason) => {
                c.failed += 1;
                rep.failed += 1;
                rep.failures.push(CaseNote { case, op, reason });
            }
            Outcome::Unsupported(reason) => {
                c.unsupported += 1;
                rep.unsupported += 1;
                rep.unsupported_cases.push(CaseNote { case, op, reason });
            }
        }
    }
    rep
}

/// The op a case is filed under: the model's op whose lowercase name starts the case name
/// (`test_conv_with_strides` → `Conv`), else the last node's op type.
fn case_op(dir: &Path, name: &str) -> String {
    let stem = name.strip_prefix("test_").unwrap_or(name).to_lowercase();
    let Ok(bytes) = std::fs::read(dir.join("model.onnx")) else { return "?".into() };
    let Ok(m) = crate::import::decode_model(&bytes) else { return "?".into() };
    let Some(g) = m.graph else { return "?".into() };
    let types: Vec<String> = g.node.iter().filter_map(|n| n.op_type.clone()).collect();
    types
        .iter()
        .filter(|t| stem.starts_with(&t.to_lowercase()))
        .max_by_key(|t| t.len())
        .or(types.last())
        .cloned()
        .unwrap_or_else(|| "?".into())
}

fn classify(e: OnnxError, what: &str) -> Outcome {
    if e.is_unsupported() {
        Outcome::Unsupported(e.to_string())
    } else {
        Outcome::Failed(format!("{what}: {e}"))
    }
}

/// Runs one case folder.
pub fn run_case_with(dir: &Path, exec: &Executor<'_>) -> Outcome {
    let g = match import_file(&dir.join("model.onnx"), &ImportOptions::default()) {
        Ok(g) => g,
        Err(e) => return classify(e, "import"),
    };
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("test_data_set_"))
                })
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    if sets.is_empty() {
        return Outcome::Failed("no test_data_set_* folder".into());
    }
    for set in &sets {
        let inputs = match read_pbs(set, "input_") {
            Ok(v) => v,
            Err(e) => return classify(e, "reading inputs"),
        };
        let want = match read_pbs(set, "output_") {
            Ok(v) => v,
            Err(e) => return classify(e, "reading outputs"),
        };
        if inputs.len() != g.inputs().len() {
            return Outcome::Failed(format!(
                "{} inputs in the data, the graph has {}",
                inputs.len(),
                g.inputs().len()
            ));
        }
        let got = match exec(&g, &inputs) {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(format!("run: {e}")),
        };
        if got.len() != want.len() {
            return Outcome::Failed(format!("{} outputs, expected {}", got.len(), want.len()));
        }
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            if let Err(e) = compare(a, b, RTOL, ATOL) {
                let set_name = set.file_name().and_then(|n| n.to_str()).unwrap_or("?");
                return Outcome::Failed(format!("{set_name} output {k}: {e}"));
            }
        }
    }
    Outcome::Passed
}

fn read_pbs(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, OnnxError> {
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|source| OnnxError::Io { path: dir.to_path_buf(), source })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            let n = p.file_name()?.to_str()?.to_string();
            let idx = n.strip_prefix(prefix)?.strip_suffix(".pb")?.parse().ok()?;
            Some((idx, p))
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|(_, p)| {
            let bytes =
                std::fs::read(p).map_err(|source| OnnxError::Io { path: p.clone(), source })?;
            tensor_from_bytes(&bytes)
        })
        .collect()
}

/// Compares an output with the expected tensor: same dtype and shape; floats within
/// `atol + rtol·|want|` (NaN matches NaN, infinities must be equal); float8/float4 bit for bit
/// (they are conversion results: exact); others exact.
pub fn compare(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype != want.dtype {
        return Err(format!("dtype {} expected {}", got.dtype, want.dtype));
    }
    if got.shape != want.shape {
        return Err(format!("shape {:?} expected {:?}", got.shape, want.shape));
    }
    let float = matches!(want.data, Data::F32(_) | Data::F16(_) | Data::BF16(_));
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    let mut bad = 0usize;
    let mut first = None;
    let mut max_err = 0f64;
    for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
        let ok = if float {
            if a.is_nan() || b.is_nan() {
                a.is_nan() && b.is_nan()
            } else if a.is_infinite() || b.is_infinite() {
                a == b
            } else {
                let e = (a - b).abs();
                max_err = max_err.max(e);
                e <= atol + rtol * b.abs()
            }
        } else {
            match (&got.data, &want.data) {
                (Data::I64(x), Data::I64(y)) => x[i] == y[i],
                (Data::F8E4M3FN(x), Data::F8E4M3FN(y)) => x[i] == y[i],
                (Data::F8E5M2(x), Data::F8E5M2(y)) => x[i] == y[i],
                (Data::F4E2M1(x), Data::F4E2M1(y)) => x[i] == y[i],
                _ => a == b,
            }
        };
        if !ok {
            bad += 1;
            first.get_or_insert((i, a, b));
        }
    }
    match first {
        None => Ok(()),
        Some((i, a, b)) => Err(format!(
            "{bad} of {} elements differ (first at {i}: got {a}, expected {b}; max abs err {max_err:e})",
            w.len()
        )),
    }
}
