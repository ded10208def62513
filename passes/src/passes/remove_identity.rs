//! `remove-identity`: removes ops that return their operand unchanged: `Identity` (which is
//! also what the importer makes of `Dropout` in inference), `Cast` to the operand's own dtype,
//! `Reshape`/`Expand` to the operand's own shape, `Transpose` by the identity permutation.

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::matchers::guard;
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::{Dim, Graph, GraphError, NodeId, Op, Value};

/// Removes no-op nodes.
#[derive(Debug, Default)]
pub struct RemoveIdentity;

impl DeclaredPass for RemoveIdentity {
    const NAME: &'static str = "remove-identity";
    const SUMMARY: &'static str =
        "remove Identity/Dropout, no-op Cast, Reshape/Expand to the same shape, identity Transpose";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        RemoveIdentity
    }
}

/// True when the shape is fully known (fixed extents or named symbols, no anonymous `?`).
fn definite(d: &[Dim]) -> bool {
    d.iter().all(|d| !matches!(d, Dim::Sym(s) if s == "?"))
}

/// Matches a node whose single result equals its first operand.
struct NoOp;

impl Pattern for NoOp {
    type Match = Value;
    fn name(&self) -> &str {
        "no-op"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Value> {
        let n = g.node(root);
        guard(n.results.len() == 1)?;
        let x = g.operand(root, 0)?;
        let (xt, yt) = (g.value_type(x), &n.results[0]);
        // The value must keep its exact type (dtype, quantization, shape).
        guard(xt.dtype == yt.dtype && xt.quant == yt.quant)?;
        let same_shape = || -> Option<()> {
            let (xs, ys) = (xt.shape.dims()?, yt.shape.dims()?);
            guard(xs == ys && definite(xs))
        };
        match &n.op {
            Op::Identity => Some(x),
            Op::Cast(c) => {
                guard(c.to == xt.dtype && xt.quant.is_none() && xt.shape == yt.shape)?;
                Some(x)
            }
            Op::Reshape(_) | Op::Expand => same_shape().map(|()| x),
            Op::Transpose(t) => {
                let r = xt.shape.rank()?;
                let identity = if t.perm.is_empty() {
                    r <= 1
                } else {
                    t.perm.iter().copied().eq(0..r)
                };
                guard(identity)?;
                Some(x)
            }
            _ => None,
        }
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, x: Value) -> Result<(), GraphError> {
        g.replace_all_uses(g.result(root), x).map(|_| ())
    }
}

impl Pass for RemoveIdentity {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(NoOp);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("remove-identity.removed", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::ops::{CastAttrs, ReshapeAttrs, TransposeAttrs};
    use qcc_ir::{DType, Tensor, TensorType};

    fn run(g: &mut Graph) -> Changed {
        RemoveIdentity.run(g, &mut PassCx::new()).unwrap()
    }

    #[test]
    fn removes_noops_keeps_real_ops() {
        let t = TensorType::fixed(DType::F32, &[2, 3]);
        let mut g = Graph::new("t");
        let x = g.add_input("x", t.clone());
        let a = g.add_op(Op::Identity, "id", &[x], t.clone()).unwrap();
        let b = g.add_op(Op::Cast(CastAttrs::new(DType::F32)), "c", &[a], t.clone()).unwrap();
        let s = g.add_const("s", Tensor::i64(&[2], vec![2, 3]));
        let c = g.add_op(Op::Reshape(ReshapeAttrs::default()), "r", &[b, s], t.clone()).unwrap();
        let p = TransposeAttrs { perm: vec![0, 1] };
        let d = g.add_op(Op::Transpose(p), "tr", &[c], t.clone()).unwrap();
        // Not no-ops: a real transpose and a cast to another dtype.
        let p = TransposeAttrs { perm: vec![1, 0] };
        let e = g
            .add_op(Op::Transpose(p), "tr2", &[d], TensorType::fixed(DType::F32, &[3, 2]))
            .unwrap();
        let f = g
            .add_op(
                Op::Cast(CastAttrs::new(DType::F16)),
                "c2",
                &[e],
                TensorType::fixed(DType::F16, &[3, 2]),
            )
            .unwrap();
        g.add_output("y", f).unwrap();
        assert_eq!(run(&mut g), Changed::Yes);
        let ops: Vec<_> = g
            .topo_order()
            .unwrap()
            .into_iter()
            .map(|n| g.node(n).op.name().to_string())
            .collect();
        assert_eq!(ops, ["Input", "Transpose", "Cast"]);
        assert_eq!(run(&mut g), Changed::No);
    }

    #[test]
    fn identity_output_is_redirected() {
        let t = TensorType::fixed(DType::F32, &[2]);
        let mut g = Graph::new("t");
        let x = g.add_input("x", t.clone());
        let r = g.add_op(Op::Relu, "r", &[x], t.clone()).unwrap();
        let a = g.add_op(Op::Identity, "id", &[r], t).unwrap();
        g.add_output("y", a).unwrap();
        run(&mut g);
        assert_eq!(g.outputs()[0].1, r);
        assert_eq!(g.node_count(), 2);
    }
}
