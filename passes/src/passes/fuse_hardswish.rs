//! `fuse-hardswish`: recognises `x · ReLU6(x + 3) / 6` as `HardSwish`. The product may be
//! nested in any order (`Mul` by 1/6 or `Div` by 6 anywhere in it); ReLU6 is `Clip(·, 0, 6)`
//! or `Min(Relu(·), 6)`; `x · HardSigmoid{alpha=1/6, beta=1/2}(x)` is recognised too.

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::matchers::{
    binary, commuted, guard, is_f32, product_terms, relu6_input, scalar_near, single_use,
    sole_producer,
};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Recognises decomposed hard-swish.
#[derive(Debug, Default)]
pub struct FuseHardSwish;

impl DeclaredPass for FuseHardSwish {
    const NAME: &'static str = "fuse-hardswish";
    const SUMMARY: &'static str = "recognise x·ReLU6(x+3)/6 (Clip forms) as HardSwish";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FuseHardSwish
    }
}

/// `ReLU6(x + 3)` → x (the ReLU6 and the Add used only here).
pub(crate) fn relu6_x_plus_3(g: &Graph, v: Value) -> Option<Value> {
    single_use(g, v)?;
    let s = relu6_input(g, v)?;
    let add = sole_producer(g, s, |op| matches!(op, Op::Add))?;
    let (a, b) = binary(g, add)?;
    commuted(a, b, |x, three| scalar_near(g, three, 3.0, 0.0).map(|()| x))
}

struct HardSwish;

impl Pattern for HardSwish {
    type Match = Value;
    fn name(&self) -> &str {
        "hardswish"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Value> {
        guard(matches!(g.node(root).op, Op::Mul | Op::Div))?;
        let (leaves, k) = product_terms(g, root, 3)?;
        guard(leaves.len() == 2)?;
        let x = commuted(leaves[0], leaves[1], |x, r| {
            if (k - 1.0 / 6.0).abs() <= 1e-6 {
                return (relu6_x_plus_3(g, r)? == x).then_some(x);
            }
            guard(k == 1.0)?;
            let hs = sole_producer(g, r, |op| {
                matches!(op, Op::HardSigmoid(a)
                    if (a.alpha - 1.0 / 6.0).abs() <= 1e-6 && (a.beta - 0.5).abs() <= 1e-6)
            })?;
            (g.operand(hs, 0)? == x).then_some(x)
        })?;
        guard(is_f32(g, x) && g.value_type(x) == g.value_type(g.result(root)))?;
        Some(x)
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, x: Value) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let v = g.add_op(Op::HardSwish, name, &[x], ty)?;
        g.replace_all_uses(g.result(root), v).map(|_| ())
    }
}

impl Pass for FuseHardSwish {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(HardSwish);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fuse-hardswish.fused", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
