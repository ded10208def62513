//! `fuse-softmax`: recognises `Exp(z) / ReduceSum(Exp(z), [a], keepdims)` with
//! `z = x` or `z = x − ReduceMax(x, [a], keepdims)` as `Softmax{axis=a}` of `x` (the
//! max-subtraction is what Softmax computes internally anyway).

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::matchers::{binary, guard, is_f32, producer, rank, reduce_axes, sole_producer};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::{AxisAttrs, ReduceAttrs};
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Recognises decomposed softmax.
#[derive(Debug, Default)]
pub struct FuseSoftmax;

impl DeclaredPass for FuseSoftmax {
    const NAME: &'static str = "fuse-softmax";
    const SUMMARY: &'static str =
        "recognise Exp/ReduceSum/Div (with or without max-subtraction) as Softmax";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FuseSoftmax
    }
}

struct Softmax;

fn keepdims(op: &Op) -> bool {
    matches!(
        op,
        Op::ReduceSum(ReduceAttrs { keepdims: true, .. })
            | Op::ReduceMax(ReduceAttrs { keepdims: true, .. })
    )
}

impl Pattern for Softmax {
    type Match = (Value, i64);
    fn name(&self) -> &str {
        "softmax"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<(Value, i64)> {
        guard(matches!(g.node(root).op, Op::Div))?;
        let (e, s) = binary(g, root)?;
        let exp = producer(g, e, |op| matches!(op, Op::Exp))?;
        let sum = sole_producer(g, s, |op| matches!(op, Op::ReduceSum(_)) && keepdims(op))?;
        guard(g.operand(sum, 0)? == e)?;
        // e feeds only the sum and the division.
        guard(g.users(e).iter().all(|&(u, _)| u == sum || u == root))?;
        guard(!g.outputs().iter().any(|(_, o)| *o == e))?;
        let axes = reduce_axes(g, sum)?;
        guard(axes.len() == 1)?;
        let z = g.operand(exp, 0)?;
        // Optional max-subtraction over the same axis.
        let x = match sole_producer(g, z, |op| matches!(op, Op::Sub)) {
            Some(sub) => {
                let (x, m) = binary(g, sub)?;
                let max = producer(g, m, |op| matches!(op, Op::ReduceMax(_)) && keepdims(op));
                // Strip the subtraction only when it is the max over the same axis (then it
                // does not change the softmax); otherwise Softmax applies to x − m.
                let strip = max.is_some_and(|max| {
                    g.operand(max, 0) == Some(x)
                        && reduce_axes(g, max).as_ref() == Some(&axes)
                        && g.users(m).len() == 1
                });
                if strip {
                    x
                } else {
                    z
                }
            }
            None => z,
        };
        guard(is_f32(g, x) && g.value_type(x) == g.value_type(g.result(root)))?;
        let r = rank(g, x)? as i64;
        Some((x, axes[0] as i64 - r))
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, (x, axis): (Value, i64)) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let v = g.add_op(Op::Softmax(AxisAttrs { axis }), name, &[x], ty)?;
        g.replace_all_uses(g.result(root), v).map(|_| ())
    }
}

impl Pass for FuseSoftmax {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(Softmax);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fuse-softmax.fused", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
