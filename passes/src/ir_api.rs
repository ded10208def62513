//! The qcc-ir services the passes use (printer, verifier, inference, folding), in one place.
//!
//! TEMPORARY: the printer, verifier, inference and folding are being written on other branches;
//! until they are on `main` these are placeholders (structural checks only for `verify`, errors for
//! `infer_graph` and `fold_constants`). Each becomes a
//! one-line call into `qcc_ir` when its module lands.

use qcc_ir::Graph;

/// The text form of `g` (`qcc_ir::print::print`).
pub(crate) fn print(g: &Graph) -> String {
    qcc_ir::print::print(g)
}

/// Verifies `g` (`qcc_ir::verify::verify`); the error is the verifier's report.
pub(crate) fn verify(g: &Graph) -> Result<(), String> {
    g.topo_order().map_err(|e| e.to_string())?;
    qcc_ir::verify::verify(g).map_err(|e| e.to_string())
}

/// Shape and type inference (`qcc_ir::infer::infer_graph`).
pub(crate) fn infer_graph(_g: &mut Graph) -> Result<(), String> {
    Err("type inference is not available yet".into())
}

/// Constant folding (`qcc_ir::fold::fold_constants`): the number of nodes folded.
pub(crate) fn fold_constants(_g: &mut Graph) -> Result<usize, String> {
    Err("constant folding is not available yet".into())
}

/// Parses the text form (`qcc_ir::parse::parse`).
pub(crate) fn parse(text: &str) -> Result<Graph, String> {
    qcc_ir::parse::parse(text).map_err(|e| e.to_string())
}
