//! `fuse-hardsigmoid`: recognises hard-sigmoid written op by op as `HardSigmoid`:
//! `ReLU6(x + 3) / 6` (or `· 1/6`) → `HardSigmoid{alpha=1/6, beta=1/2}`, and
//! `Clip(x·α + β, 0, 1)` (or `Clip(x + β, 0, 1)`) → `HardSigmoid{alpha=α, beta=β}`.

use super::fuse_hardswish::relu6_x_plus_3;
use super::util::declared_names;
use crate::analysis::PassCx;
use crate::matchers::{binary, commuted, guard, is_f32, product_terms, scalar, sole_producer};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::HardSigmoidAttrs;
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Recognises decomposed hard-sigmoid.
#[derive(Debug, Default)]
pub struct FuseHardSigmoid;

impl DeclaredPass for FuseHardSigmoid {
    const NAME: &'static str = "fuse-hardsigmoid";
    const SUMMARY: &'static str = "recognise ReLU6(x+3)/6 and Clip(αx+β, 0, 1) as HardSigmoid";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FuseHardSigmoid
    }
}

struct HardSigmoid;

impl HardSigmoid {
    /// `Clip(x·α + β, 0, 1)` → (x, α, β).
    fn clip_form(g: &Graph, root: NodeId) -> Option<(Value, f32, f32)> {
        guard(scalar(g, g.operand(root, 1)?)? == 0.0)?;
        guard(scalar(g, g.operand(root, 2)?)? == 1.0)?;
        let add = sole_producer(g, g.operand(root, 0)?, |op| matches!(op, Op::Add))?;
        let (a, b) = binary(g, add)?;
        commuted(a, b, |lin, beta| {
            let beta = scalar(g, beta)? as f32;
            if let Some(m) = sole_producer(g, lin, |op| matches!(op, Op::Mul)) {
                let (p, q) = binary(g, m)?;
                if let Some(r) = commuted(p, q, |x, al| Some((x, scalar(g, al)? as f32, beta))) {
                    return Some(r);
                }
            }
            Some((lin, 1.0, beta))
        })
    }
}

impl Pattern for HardSigmoid {
    type Match = (Value, f32, f32);
    fn name(&self) -> &str {
        "hardsigmoid"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<(Value, f32, f32)> {
        let (x, alpha, beta) = match g.node(root).op {
            Op::Clip => Self::clip_form(g, root)?,
            Op::Mul | Op::Div => {
                let (leaves, k) = product_terms(g, root, 2)?;
                guard(leaves.len() == 1 && (k - 1.0 / 6.0).abs() <= 1e-6)?;
                (relu6_x_plus_3(g, leaves[0])?, 1.0 / 6.0, 0.5)
            }
            _ => return None,
        };
        guard(is_f32(g, x) && g.value_type(x) == g.value_type(g.result(root)))?;
        Some((x, alpha, beta))
    }
    fn rewrite(
        &self,
        g: &mut Graph,
        root: NodeId,
        (x, alpha, beta): (Value, f32, f32),
    ) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let op = Op::HardSigmoid(HardSigmoidAttrs { alpha, beta });
        let v = g.add_op(op, name, &[x], ty)?;
        g.replace_all_uses(g.result(root), v).map(|_| ())
    }
}

impl Pass for FuseHardSigmoid {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(HardSigmoid);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fuse-hardsigmoid.fused", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
