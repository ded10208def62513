//! After import: type inference (`qcc_ir::infer::infer_graph`) fills every result type, then
//! constant folding (`qcc_ir::fold::fold_constants`) evaluates constant subgraphs and `Shape`/
//! `Size` of values of known shape, alternating until nothing folds (shape subgraphs such as
//! `Shape → Gather → Concat → Reshape` become constants once input shapes are known, and the
//! types behind them become known in turn).

use crate::error::OnnxError;
use crate::import::ImportOptions;
use qcc_ir::Graph;

/// Most infer/fold rounds (each round folds at least one node or stops).
const MAX_ROUNDS: usize = 16;

fn infer(g: &mut Graph) -> Result<(), OnnxError> {
    qcc_ir::infer::infer_graph(g)
        .map_err(|e| OnnxError::PostImport { step: "type inference", msg: e.to_string() })
}

/// Runs the post-import steps.
pub(crate) fn finish(g: &mut Graph, opts: &ImportOptions) -> Result<(), OnnxError> {
    infer(g)?;
    // Inferred sizes are checked before folding evaluates anything.
    opts.limits.check_graph(g)?;
    if !opts.fold_constants {
        return Ok(());
    }
    for _ in 0..MAX_ROUNDS {
        let n = qcc_ir::fold::fold_constants(g)
            .map_err(|e| OnnxError::PostImport { step: "constant folding", msg: e.to_string() })?;
        if n == 0 {
            break;
        }
        infer(g)?;
    }
    Ok(())
}
