//! `fuse-layernorm`: recognises layer normalization written op by op and replaces it by one
//! `LayerNormalization` node:
//!
//! ```text
//! mean = ReduceMean(x, axes)          axes = the trailing axes a..rank, keepdims
//! d    = Sub(x, mean)
//! var  = ReduceMean(Pow(d, 2) | Mul(d, d), axes)
//! std  = Sqrt(Add(var, ε))
//! n    = Div(d, std) | Mul(d, Reciprocal(std)) | Mul(d, Div(1, std))
//! y    = Add(Mul(n, γ), β)            (γ and β constants, each optional)
//! ```

use super::util::{base_name, broadcast_to, const_f32, declared_names};
use crate::analysis::PassCx;
use crate::matchers::{
    binary, commuted, constant, fixed_shape, guard, is_f32, producer, reduce_axes, scalar,
    scalar_near, single_use, sole_producer, trailing_axes,
};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, erase_if_dead, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::{LayerNormAttrs, ReduceAttrs};
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Recognises decomposed layer normalization.
#[derive(Debug, Default)]
pub struct FuseLayerNorm;

impl DeclaredPass for FuseLayerNorm {
    const NAME: &'static str = "fuse-layernorm";
    const SUMMARY: &'static str =
        "recognise ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add as LayerNormalization";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FuseLayerNorm
    }
}

struct Found {
    x: Value,
    axis: i64,
    epsilon: f32,
    norm_shape: Vec<usize>,
    gamma: Option<Vec<f32>>,
    beta: Option<Vec<f32>>,
    last: Value,
}

struct LayerNorm;

fn is_keepdims_mean(op: &Op) -> bool {
    matches!(op, Op::ReduceMean(ReduceAttrs { keepdims: true, .. }))
}

impl LayerNorm {
    /// `std` → `(var input d, ε)` from `Sqrt(Add(ReduceMean(sq), ε))`.
    fn std_of(g: &Graph, std: Value) -> Option<(NodeId, f32)> {
        let sqrt = sole_producer(g, std, |op| matches!(op, Op::Sqrt))?;
        let ve = g.operand(sqrt, 0)?;
        let add = sole_producer(g, ve, |op| matches!(op, Op::Add))?;
        let (p, q) = binary(g, add)?;
        commuted(p, q, |var, eps| {
            let eps = scalar(g, eps)?;
            guard(eps >= 0.0)?;
            let rm = sole_producer(g, var, is_keepdims_mean)?;
            Some((rm, eps as f32))
        })
    }

    /// The squared deviation `Pow(d, 2)` or `Mul(d, d)`: returns `d`.
    fn square_of(g: &Graph, sq: Value) -> Option<Value> {
        let n = sole_producer(g, sq, |op| matches!(op, Op::Pow | Op::Mul))?;
        let (a, b) = binary(g, n)?;
        match g.node(n).op {
            Op::Pow => scalar_near(g, b, 2.0, 0.0).map(|()| a),
            _ => (a == b).then_some(a),
        }
    }

    /// The normalized value: `(d, std)` from `Div(d, std)` or `Mul(d, 1/std)`.
    fn norm_parts(g: &Graph, root: NodeId) -> Option<(Value, Value)> {
        let (a, b) = binary(g, root)?;
        match g.node(root).op {
            Op::Div => Some((a, b)),
            Op::Mul => commuted(a, b, |d, r| {
                let rn = sole_producer(g, r, |op| matches!(op, Op::Reciprocal | Op::Div))?;
                let std = match g.node(rn).op {
                    Op::Reciprocal => g.operand(rn, 0)?,
                    _ => {
                        let (one, std) = binary(g, rn)?;
                        scalar_near(g, one, 1.0, 0.0)?;
                        std
                    }
                };
                Some((d, std))
            }),
            _ => None,
        }
    }

    /// Follows `n` forward through `Mul(·, γ)` and `Add(·, β)` with constant γ, β.
    fn affine(
        g: &Graph,
        n: Value,
        norm_shape: &[usize],
    ) -> (Value, Option<Vec<f32>>, Option<Vec<f32>>) {
        let step = |v: Value, want: fn(&Op) -> bool| -> Option<(Value, Vec<f32>)> {
            single_use(g, v)?;
            let (user, _) = g.users(v)[0];
            guard(want(&g.node(user).op))?;
            let (a, b) = binary(g, user)?;
            let c = if a == v { b } else { a };
            let vals = broadcast_to(constant(g, c)?, norm_shape)?;
            let out = g.result(user);
            // The affine op must not broadcast the result beyond x's shape.
            guard(g.value_type(out) == g.value_type(v))?;
            Some((out, vals))
        };
        let (mut last, mut gamma, mut beta) = (n, None, None);
        if let Some((v, gm)) = step(last, |op| matches!(op, Op::Mul)) {
            last = v;
            gamma = Some(gm);
        }
        if let Some((v, bt)) = step(last, |op| matches!(op, Op::Add)) {
            last = v;
            beta = Some(bt);
        }
        (last, gamma, beta)
    }
}

impl Pattern for LayerNorm {
    type Match = Found;
    fn name(&self) -> &str {
        "layernorm"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Found> {
        guard(matches!(g.node(root).op, Op::Div | Op::Mul))?;
        let (d, std) = Self::norm_parts(g, root)?;
        let (var_mean, epsilon) = Self::std_of(g, std)?;
        let sq = g.operand(var_mean, 0)?;
        guard(Self::square_of(g, sq)? == d)?;
        let sub = producer(g, d, |op| matches!(op, Op::Sub))?;
        let (x, mean) = binary(g, sub)?;
        let mean_node = sole_producer(g, mean, is_keepdims_mean)?;
        guard(g.operand(mean_node, 0)? == x)?;
        guard(is_f32(g, x) && is_f32(g, g.result(root)))?;
        // d feeds only the square and the normalization.
        let sq_node = sq.node;
        guard(g.users(d).iter().all(|&(u, _)| u == sq_node || u == root))?;
        guard(!g.outputs().iter().any(|(_, o)| *o == d))?;
        let xs = fixed_shape(g, x)?;
        let axes = reduce_axes(g, mean_node)?;
        guard(reduce_axes(g, var_mean)? == axes)?;
        let first = trailing_axes(&axes, xs.len())?;
        guard(g.value_type(g.result(root)).shape == g.value_type(x).shape)?;
        let norm_shape = xs[first..].to_vec();
        let (last, gamma, beta) = Self::affine(g, g.result(root), &norm_shape);
        let axis = first as i64 - xs.len() as i64;
        Some(Found { x, axis, epsilon, norm_shape, gamma, beta, last })
    }
    fn rewrite(&self, g: &mut Graph, _root: NodeId, m: Found) -> Result<(), GraphError> {
        let name = g.node(m.last.node).name.clone();
        let base = base_name(g, m.last.node, "layernorm");
        let ty = g.value_type(m.last).clone();
        let n: usize = m.norm_shape.iter().product();
        let gamma = m.gamma.unwrap_or_else(|| vec![1.0; n]);
        let scale = const_f32(g, &format!("{base}.scale"), &m.norm_shape, gamma);
        let bias = m.beta.map(|b| const_f32(g, &format!("{base}.bias"), &m.norm_shape, b));
        let attrs = LayerNormAttrs { axis: m.axis, epsilon: m.epsilon };
        let mut operands = vec![Some(m.x), Some(scale)];
        if bias.is_some() {
            operands.push(bias);
        }
        let id = g.add_node(Op::LayerNormalization(attrs), name, &operands, vec![ty])?;
        g.replace_all_uses(m.last, g.result(id))?;
        erase_if_dead(g, m.last.node);
        Ok(())
    }
}

impl Pass for FuseLayerNorm {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(LayerNorm);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fuse-layernorm.fused", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
