//! `qcc conformance`: the ONNX backend node tests on the reference interpreter.

use clap::Args;
use std::path::PathBuf;

/// Run ONNX backend test cases (`test_*/model.onnx` + `test_data_set_*`) and report pass counts.
///
/// Example: `qcc conformance ../shared/onnx-node-tests/node --json`
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Folder of test cases.
    dir: PathBuf,
    /// Only cases whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ConformanceArgs) -> anyhow::Result<i32> {
    if !a.dir.is_dir() {
        anyhow::bail!("{}: not a folder of ONNX test cases", a.dir.display());
    }
    let r = qcc_onnx::conformance::run_dir(&a.dir, a.filter.as_deref());
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("passed {}, failed {}, unsupported {}", r.passed, r.failed, r.unsupported);
        for f in &r.failures {
            println!("FAILED {f:?}");
        }
    }
    Ok(0)
}
