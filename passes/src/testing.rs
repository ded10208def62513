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

/// Why two graphs could not be compared, or how they differ.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EquivError {
    /// An input's shape or dtype does not allow generating data for it.
    #[error("input `{0}` has no fixed shape or an unsupported dtype")]
    NotRunnable(String),
    /// The graphs have different inputs or outputs.
    #[error("the graphs have different signatures: {0}")]
    Signature(String),
    /// The interpreter failed on one of the graphs.
    #[error("interpreter failed on the {which} graph: {message}")]
    Interp {
        /// `before` or `after`.
        which: &'static str,
        /// The error.
        message: String,
    },
    /// An output differs beyond tolerance.
    #[error("output `{output}` differs at element {index}: before {before}, after {after}")]
    Differs {
        /// Output name.
        output: String,
        /// Flat element index.
        index: usize,
        /// Value before the pipeline.
        before: f64,
        /// Value after.
        after: f64,
    },
}

/// Deterministic pseudo-random inputs for `g` (f32 in [-3, 3), integers in [0, 4), bools).
pub fn random_inputs(g: &Graph, seed: u64) -> Result<Vec<qcc_ir::Tensor>, EquivError> {
    use qcc_ir::{DType, Data, Tensor};
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / ((1u64 << 31) as f64)
    };
    let mut out = Vec::new();
    for v in g.input_values() {
        let name = g.node(v.node).name.clone();
        let ty = g.value_type(v);
        let shape = ty.shape.as_fixed().ok_or_else(|| EquivError::NotRunnable(name.clone()))?;
        let n: usize = shape.iter().product();
        let data = match ty.dtype {
            DType::F32 if ty.quant.is_none() => {
                Data::F32((0..n).map(|_| (next() * 6.0 - 3.0) as f32).collect())
            }
            DType::I64 => Data::I64((0..n).map(|_| (next() * 4.0) as i64).collect()),
            DType::I32 => Data::I32((0..n).map(|_| (next() * 4.0) as i32).collect()),
            DType::Bool => Data::Bool((0..n).map(|_| next() < 0.5).collect()),
            _ => return Err(EquivError::NotRunnable(name)),
        };
        out.push(Tensor::new(shape, data).map_err(|_| EquivError::NotRunnable(name))?);
    }
    Ok(out)
}

/// Runs `before` and `after` on the same pseudo-random inputs with the reference interpreter
/// and checks every output element: `|a − b| ≤ atol + rtol·|b|` (integers exactly).
pub fn check_equivalent(
    before: &Graph,
    after: &Graph,
    rtol: f64,
    atol: f64,
    seed: u64,
) -> Result<(), EquivError> {
    let names = |g: &Graph| g.outputs().iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(before) != names(after) || before.inputs().len() != after.inputs().len() {
        return Err(EquivError::Signature(format!(
            "outputs {:?} vs {:?}",
            names(before),
            names(after)
        )));
    }
    let inputs = random_inputs(before, seed)?;
    compare_outputs(before, after, &inputs, rtol, atol)
}

/// Like [`check_equivalent`] on given inputs.
pub fn compare_outputs(
    before: &Graph,
    after: &Graph,
    inputs: &[qcc_ir::Tensor],
    rtol: f64,
    atol: f64,
) -> Result<(), EquivError> {
    let run = |g: &Graph, which| {
        qcc_ir::interp::run(g, inputs)
            .map_err(|e| EquivError::Interp { which, message: e.to_string() })
    };
    let (a, b) = (run(before, "before")?, run(after, "after")?);
    for ((name, _), (x, y)) in before.outputs().iter().zip(a.iter().zip(&b)) {
        if x.shape != y.shape || x.dtype != y.dtype {
            return Err(EquivError::Signature(format!(
                "output `{name}`: {} {:?} vs {} {:?}",
                x.dtype, x.shape, y.dtype, y.shape
            )));
        }
        let exact = !x.dtype.is_float();
        for (i, (p, q)) in x.to_f64_vec().into_iter().zip(y.to_f64_vec()).enumerate() {
            let ok = if exact {
                p == q
            } else {
                (p.is_nan() && q.is_nan()) || (p - q).abs() <= atol + rtol * p.abs()
            };
            if !ok {
                return Err(EquivError::Differs {
                    output: name.clone(),
                    index: i,
                    before: p,
                    after: q,
                });
            }
        }
    }
    Ok(())
}
