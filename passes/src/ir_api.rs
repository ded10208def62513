//! The qcc-ir services the passes use (printer, verifier, inference, folding), in one place.
//!
//! TEMPORARY: the printer, verifier, inference and folding are being written on other branches;
//! until they are on `main` these are placeholders (a debug listing for `print`, structural
//! checks only for `verify`, errors for `infer_graph` and `fold_constants`). Each becomes a
//! one-line call into `qcc_ir` when its module lands.

use qcc_ir::Graph;

/// The text form of `g` (`qcc_ir::print::print`).
pub(crate) fn print(g: &Graph) -> String {
    let mut s = format!("graph {} (placeholder listing)\n", g.name);
    if let Ok(order) = g.topo_order() {
        for id in order {
            let n = g.node(id);
            s += &format!(
                "  {:?} {} {:?} -> {:?}\n",
                id.index(),
                n.op.name(),
                g.operands(id),
                n.results
            );
        }
    }
    s
}

/// Verifies `g` (`qcc_ir::verify::verify`); the error is the verifier's report.
pub(crate) fn verify(g: &Graph) -> Result<(), String> {
    g.topo_order().map(|_| ()).map_err(|e| e.to_string())
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
pub(crate) fn parse(_text: &str) -> Result<Graph, String> {
    Err("the .qir parser is not available yet".into())
}
