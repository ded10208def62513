//! Helpers for testing passes and pipelines by snapshot: parse a `.qir` string, run a
//! pipeline (verifying after each pass), print the result, and compare with `insta`:
//!
//! ```
//! let out = qcc_passes::testing::run_pipeline_str(
//!     "graph @g {\n input %x: f32[2]\n %0 = Identity(%x) : f32[2]\n output \"y\" = %0\n}",
//!     "remove-identity,dce",
//! );
//! insta::assert_snapshot!(out, @r#"
//! graph @g phase=imported {
//!   input %x: f32[2]
//!   output "y" = %x
//! }
//! "#);
//! ```

use crate::manager::{PassManager, PassManagerOptions, SharedSink};
use crate::pass::PassError;
use crate::registry::Registry;
use qcc_ir::Graph;

/// Errors of [`try_run_pipeline_str`].
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    /// The input text did not parse.
    #[error("input does not parse: {0}")]
    Parse(String),
    /// A pass or the pipeline failed.
    #[error(transparent)]
    Pass(#[from] PassError),
}

/// Parses `qir`, runs `pipeline` (built-in passes, verification after each pass) and returns
/// the printed result. Panics with the error message on failure (it is meant for tests).
pub fn run_pipeline_str(qir: &str, pipeline: &str) -> String {
    run_pipeline_str_with(&Registry::with_builtins(), qir, pipeline)
}

/// Like [`run_pipeline_str`] with a registry holding user passes.
pub fn run_pipeline_str_with(registry: &Registry, qir: &str, pipeline: &str) -> String {
    match try_run_pipeline_str(registry, qir, pipeline) {
        Ok(s) => s,
        Err(e) => panic!("pipeline `{pipeline}` failed: {e}"),
    }
}

/// Parses `qir`, runs `pipeline` with verification after each pass, returns the printed graph.
pub fn try_run_pipeline_str(
    registry: &Registry,
    qir: &str,
    pipeline: &str,
) -> Result<String, TestingError> {
    let mut g = crate::ir_api::parse(qir).map_err(TestingError::Parse)?;
    run_pipeline(registry, &mut g, pipeline)?;
    Ok(crate::ir_api::print(&g))
}

/// Runs `pipeline` on `g` with verification after each pass; instrument output is discarded.
pub fn run_pipeline(registry: &Registry, g: &mut Graph, pipeline: &str) -> Result<(), PassError> {
    let options = PassManagerOptions { verify_each: Some(true), ..Default::default() };
    let mut pm = PassManager::from_pipeline(registry, pipeline, options)?
        .with_sink(Box::new(SharedSink::new()));
    pm.run(g)?;
    Ok(())
}

/// Parses `.qir` text (`qcc_ir::parse::parse`), the error as text.
pub fn parse(qir: &str) -> Result<Graph, String> {
    crate::ir_api::parse(qir)
}

/// Prints a graph (`qcc_ir::print::print`).
pub fn print(g: &Graph) -> String {
    crate::ir_api::print(g)
}

/// Runs the verifier (`qcc_ir::verify::verify`); the error is its report.
pub fn verify(g: &Graph) -> Result<(), String> {
    crate::ir_api::verify(g)
}
