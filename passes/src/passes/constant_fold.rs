//! `constant-fold`: evaluates every node whose operands are constants (and `Shape`/`Size` of
//! values of known shape) and replaces it by a constant. Wraps `qcc_ir::fold::fold_constants`.

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::ir_api;
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use qcc_ir::Graph;

/// Folds constant subgraphs.
#[derive(Debug, Default)]
pub struct ConstantFold;

impl DeclaredPass for ConstantFold {
    const NAME: &'static str = "constant-fold";
    const SUMMARY: &'static str = "evaluate nodes whose operands are constants";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        ConstantFold
    }
}

impl Pass for ConstantFold {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let n = ir_api::fold_constants(g).map_err(|e| PassError::failed(Self::NAME, e))?;
        cx.bump("constant-fold.folded", n as u64);
        Ok(Changed::from(n > 0))
    }
}
