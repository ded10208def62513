//! `dce`: removes every node whose results reach no graph output (inputs are kept).

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use qcc_ir::Graph;

/// Dead-code elimination.
#[derive(Debug, Default)]
pub struct Dce;

impl DeclaredPass for Dce {
    const NAME: &'static str = "dce";
    const SUMMARY: &'static str = "remove nodes whose results reach no graph output";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        Dce
    }
}

impl Pass for Dce {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let n = g.remove_dead_nodes();
        cx.bump("dce.removed", n as u64);
        Ok(Changed::from(n > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::{DType, Op, TensorType};

    #[test]
    fn removes_only_dead_nodes() {
        let t = TensorType::fixed(DType::F32, &[2]);
        let mut g = Graph::new("t");
        let x = g.add_input("x", t.clone());
        let _unused_input = g.add_input("u", t.clone());
        let y = g.add_op(Op::Relu, "live", &[x], t.clone()).unwrap();
        let d = g.add_op(Op::Exp, "dead", &[x], t.clone()).unwrap();
        g.add_op(Op::Neg, "dead2", &[d], t).unwrap();
        g.add_output("y", y).unwrap();
        let mut cx = PassCx::new();
        assert_eq!(Dce.run(&mut g, &mut cx).unwrap(), Changed::Yes);
        assert_eq!(g.node_count(), 3);
        assert_eq!(Dce.run(&mut g, &mut cx).unwrap(), Changed::No);
    }
}
