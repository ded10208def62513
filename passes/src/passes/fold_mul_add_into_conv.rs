//! `fold-mul-add-into-conv`: folds a per-channel `Mul` or `Add` by a constant that follows a
//! `Conv` with constant weights into the weights and bias: `Mul(Conv(x, W, b), c)` becomes
//! `Conv(x, W·c, b·c)` and `Add(Conv(x, W, b), c)` becomes `Conv(x, W, b + c)`, where `c`
//! varies only along the channel axis (e.g. `[C,1,1]`, `[1,C,1,1]` or a scalar). Chains fold
//! one link at a time until none is left.

use super::util::{base_name, const_f32, declared_names, per_channel};
use crate::analysis::PassCx;
use crate::matchers::{binary, commuted, constant, f32_values, guard, is_f32, producer, single_use};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::ConvAttrs;
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Folds per-channel affine ops into convolutions.
#[derive(Debug, Default)]
pub struct FoldMulAddIntoConv;

impl DeclaredPass for FoldMulAddIntoConv {
    const NAME: &'static str = "fold-mul-add-into-conv";
    const SUMMARY: &'static str = "fold per-channel Mul/Add by constants into Conv weights and bias";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FoldMulAddIntoConv
    }
}

struct Folded {
    x: Value,
    attrs: ConvAttrs,
    w_shape: Vec<usize>,
    w: Option<Vec<f32>>,
    w_old: Value,
    b: Vec<f32>,
}

struct ConvAffine;

impl Pattern for ConvAffine {
    type Match = Folded;
    fn name(&self) -> &str {
        "conv-affine"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Folded> {
        let is_mul = match g.node(root).op {
            Op::Mul => true,
            Op::Add => false,
            _ => return None,
        };
        guard(is_f32(g, g.result(root)))?;
        let (p, q) = binary(g, root)?;
        let (conv_v, c) = commuted(p, q, |y, c| {
            producer(g, y, |op| matches!(op, Op::Conv(_)))?;
            constant(g, c)?;
            Some((y, c))
        })?;
        single_use(g, conv_v)?;
        let conv = conv_v.node;
        let Op::Conv(attrs) = &g.node(conv).op else { return None };
        // The result must keep the conv's type (no broadcast growing it).
        guard(g.value_type(conv_v) == g.value_type(g.result(root)))?;
        let x = g.operand(conv, 0)?;
        let w_old = g.operand(conv, 1)?;
        let wt = constant(g, w_old)?;
        let cout = *wt.shape.first()?;
        let rank = g.value_type(conv_v).shape.rank()?;
        let cvec = per_channel(constant(g, c)?, rank, 1, cout)?;
        let b = match g.operand(conv, 2) {
            Some(b) => f32_values(g, b)?,
            None => vec![0.0; cout],
        };
        guard(b.len() == cout)?;
        let (w, b) = if is_mul {
            let w = f32_values(g, w_old)?;
            let per = w.len() / cout.max(1);
            let w = w.iter().enumerate().map(|(i, &v)| v * cvec[i / per]).collect();
            (Some(w), (0..cout).map(|k| b[k] * cvec[k]).collect())
        } else {
            (None, (0..cout).map(|k| b[k] + cvec[k]).collect())
        };
        Some(Folded { x, attrs: attrs.clone(), w_shape: wt.shape.clone(), w, w_old, b })
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, m: Folded) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let base = base_name(g, root, "conv");
        let ty = g.node(root).results[0].clone();
        let w = match m.w {
            Some(w) => const_f32(g, &format!("{base}.w"), &m.w_shape, w),
            None => m.w_old,
        };
        let n = m.b.len();
        let b = const_f32(g, &format!("{base}.b"), &[n], m.b);
        let new = g.add_op(Op::Conv(m.attrs), name, &[m.x, w, b], ty)?;
        g.replace_all_uses(g.result(root), new).map(|_| ())
    }
}

impl Pass for FoldMulAddIntoConv {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(ConvAffine);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fold-mul-add-into-conv.folded", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
