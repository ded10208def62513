//! `fold-attention-scale`: the scaling of attention scores `MatMul(Q, Kᵀ) / c` (or `· c`) by a
//! scalar constant is folded into the weights (and bias) of the projection that produces `Q`
//! (or, failing that, `K`) when the path from that `MatMul(x, W)` [`+ b`] through
//! `Reshape`/`Transpose`/`Squeeze`/`Unsqueeze` is used only by the scores. When it cannot be
//! folded, a `Div` by `c` is kept as one `Mul` by `1/c`.

use super::util::{base_name, declared_names};
use crate::analysis::PassCx;
use crate::matchers::{binary, commuted, constant, guard, is_f32, scalar, single_use};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, erase_if_dead, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::{Graph, GraphError, NodeId, Op, Tensor, Value};

/// Folds attention score scaling into the Q projection.
#[derive(Debug, Default)]
pub struct FoldAttentionScale;

impl DeclaredPass for FoldAttentionScale {
    const NAME: &'static str = "fold-attention-scale";
    const SUMMARY: &'static str =
        "fold the scalar scale of Q·Kᵀ into the Q projection weights (else one Mul)";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FoldAttentionScale
    }
}

/// `(scores, factor)` for `Div(scores, c)` (factor 1/c) or `Mul(scores, c)` where `scores`
/// is a single-use `MatMul` of two non-constant values.
fn scaled_scores(g: &Graph, root: NodeId) -> Option<(Value, f64)> {
    let (a, b) = binary(g, root)?;
    let (scores, f) = match g.node(root).op {
        Op::Div => {
            let c = scalar(g, b)?;
            guard(c != 0.0 && c.is_finite())?;
            (a, 1.0 / c)
        }
        Op::Mul => commuted(a, b, |s, c| Some((s, scalar(g, c)?)))?,
        _ => return None,
    };
    let mm = scores.node;
    guard(matches!(g.try_node(mm)?.op, Op::MatMul))?;
    single_use(g, scores)?;
    let (q, k) = binary(g, mm)?;
    guard(constant(g, q).is_none() && constant(g, k).is_none())?;
    guard(is_f32(g, scores) && g.value_type(scores) == g.value_type(g.result(root)))?;
    Some((scores, f))
}

/// Walks back from `v` to a projection `MatMul(x, W)` [`+ b`]; returns the constant operand
/// slots `(node, slot)` to scale.
fn projection(g: &Graph, mut v: Value) -> Option<Vec<(NodeId, usize)>> {
    let mut slots = Vec::new();
    loop {
        single_use(g, v)?;
        let n = v.node;
        match g.try_node(n)?.op {
            Op::Reshape(_) | Op::Transpose(_) | Op::Squeeze | Op::Unsqueeze | Op::Identity => {
                v = g.operand(n, 0)?;
            }
            Op::Add => {
                let (a, b) = binary(g, n)?;
                let (x, slot) = if constant(g, b).is_some() {
                    (a, 1)
                } else if constant(g, a).is_some() {
                    (b, 0)
                } else {
                    return None;
                };
                guard(constant(g, g.operand(n, slot)?)?.dtype.is_float())?;
                slots.push((n, slot));
                v = x;
            }
            Op::MatMul => {
                let w = constant(g, g.operand(n, 1)?)?;
                guard(w.dtype.is_float() && constant(g, g.operand(n, 0)?).is_none())?;
                slots.push((n, 1));
                return Some(slots);
            }
            _ => return None,
        }
    }
}

struct FoldIntoProjection;

impl Pattern for FoldIntoProjection {
    type Match = (Value, f64, Vec<(NodeId, usize)>);
    fn name(&self) -> &str {
        "fold-into-projection"
    }
    fn benefit(&self) -> u16 {
        2
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Self::Match> {
        let (scores, f) = scaled_scores(g, root)?;
        let (q, k) = binary(g, scores.node)?;
        let slots = projection(g, q).or_else(|| projection(g, k))?;
        Some((scores, f, slots))
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, m: Self::Match) -> Result<(), GraphError> {
        let (scores, f, slots) = m;
        for (node, slot) in slots {
            let old = g.operand(node, slot).ok_or(GraphError::NoSuchNode(node))?;
            let t = g.const_value(old).ok_or(GraphError::NoSuchValue(old))?;
            let data: Vec<f32> = t.to_f32_vec().iter().map(|&x| (x as f64 * f) as f32).collect();
            let scaled = Tensor::f32(&t.shape, data);
            let name = format!("{}.scaled", base_name(g, old.node, "weight"));
            let c = g.add_const(name, scaled);
            g.set_operand(node, slot, Some(c))?;
            erase_if_dead(g, old.node);
        }
        g.replace_all_uses(g.result(root), scores).map(|_| ())
    }
}

struct DivToMul;

impl Pattern for DivToMul {
    type Match = (Value, f64);
    fn name(&self) -> &str {
        "div-to-mul"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<(Value, f64)> {
        guard(matches!(g.node(root).op, Op::Div))?;
        scaled_scores(g, root)
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, (s, f): (Value, f64)) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let c = g.add_const(format!("{}.scale", base_name(g, root, "attention")), Tensor::scalar_f32(f as f32));
        let v = g.add_op(Op::Mul, name, &[s, c], ty)?;
        g.replace_all_uses(g.result(root), v).map(|_| ())
    }
}

impl Pass for FoldAttentionScale {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(FoldIntoProjection).with(DivToMul);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fold-attention-scale.folded", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
