//! `infer-shapes`: shape and type inference over the whole graph (symbolic dims propagate);
//! moves the graph to the `Typed` phase. Wraps `qcc_ir::infer::infer_graph`.

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::ir_api;
use crate::pass::{Changed, InPass, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use qcc_ir::{Graph, Phase, TensorType};

/// Infers every result type.
#[derive(Debug, Default)]
pub struct InferShapes;

impl DeclaredPass for InferShapes {
    const NAME: &'static str = "infer-shapes";
    const SUMMARY: &'static str = "infer every value's dtype and shape (symbolic dims propagate)";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        InferShapes
    }
}

fn types(g: &Graph) -> Vec<Vec<TensorType>> {
    g.node_ids().into_iter().map(|id| g.node(id).results.clone()).collect()
}

impl Pass for InferShapes {
    declared_names!();
    fn run(&mut self, g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, PassError> {
        let before = types(g);
        let phase = g.phase();
        ir_api::infer_graph(g).map_err(|e| PassError::failed(Self::NAME, e))?;
        g.advance_phase(Phase::Typed.max(phase)).in_pass(Self::NAME)?;
        Ok(Changed::from(before != types(g) || g.phase() != phase))
    }
}
