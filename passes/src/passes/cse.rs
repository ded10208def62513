//! `cse`: common-subexpression elimination. Two pure nodes with the same op, attributes,
//! operands and result types compute the same values; the later one is replaced by the
//! earlier. Constants with equal type and contents are merged too. Option `max` bounds the
//! number of eliminations (`cse{max=100}`).

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::pass::{Changed, InPass, Pass, PassError};
use crate::registry::DeclaredPass;
use qcc_ir::{Graph, NodeId, Op};
use serde::Deserialize;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Options of `cse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CseOptions {
    /// Stop after this many eliminations (`None`: no limit).
    pub max: Option<usize>,
}

/// Common-subexpression elimination.
#[derive(Debug, Default)]
pub struct Cse {
    options: CseOptions,
}

impl DeclaredPass for Cse {
    const NAME: &'static str = "cse";
    const SUMMARY: &'static str = "merge identical pure nodes and identical constants";
    type Options = CseOptions;
    fn from_options(options: CseOptions) -> Self {
        Cse { options }
    }
}

/// The identity of a node for CSE: a hash to bucket candidates, compared exactly afterwards.
fn key_hash(g: &Graph, id: NodeId) -> u64 {
    let n = g.node(id);
    let mut h = DefaultHasher::new();
    match &n.op {
        Op::Constant(c) => {
            "const".hash(&mut h);
            if let Some(t) = g.const_tensor(*c) {
                t.shape.hash(&mut h);
                t.to_le_bytes().hash(&mut h);
            }
        }
        op => {
            op.variant_name().hash(&mut h);
            serde_json::Value::Object(op.attrs_json()).to_string().hash(&mut h);
            g.operands(id).hash(&mut h);
        }
    }
    format!("{:?}", n.results).hash(&mut h);
    h.finish()
}

fn same(g: &Graph, a: NodeId, b: NodeId) -> bool {
    let (na, nb) = (g.node(a), g.node(b));
    if na.results != nb.results {
        return false;
    }
    match (&na.op, &nb.op) {
        (Op::Constant(x), Op::Constant(y)) => g.const_tensor(*x) == g.const_tensor(*y),
        (x, y) => x == y && g.operands(a) == g.operands(b),
    }
}

impl Pass for Cse {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let order = g.topo_order().in_pass(Self::NAME)?;
        let mut seen: HashMap<u64, Vec<NodeId>> = HashMap::new();
        let mut merged = 0usize;
        for id in order {
            if self.options.max.is_some_and(|m| merged >= m) {
                break;
            }
            if !g.node(id).op.is_pure() {
                continue;
            }
            let h = key_hash(g, id);
            let bucket = seen.entry(h).or_default();
            match bucket.iter().copied().find(|&c| same(g, c, id)) {
                Some(earlier) => {
                    for (old, new) in g.results(id).into_iter().zip(g.results(earlier)) {
                        g.replace_all_uses(old, new).in_pass(Self::NAME)?;
                    }
                    g.remove_node(id).in_pass(Self::NAME)?;
                    merged += 1;
                }
                None => bucket.push(id),
            }
        }
        cx.bump("cse.merged", merged as u64);
        Ok(Changed::from(merged > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::{DType, Tensor, TensorType};

    fn graph() -> Graph {
        let t = TensorType::fixed(DType::F32, &[2]);
        let mut g = Graph::new("t");
        let x = g.add_input("x", t.clone());
        let c1 = g.add_const("c1", Tensor::f32(&[2], vec![1.0, 2.0]));
        let c2 = g.add_const("c2", Tensor::f32(&[2], vec![1.0, 2.0]));
        let a = g.add_op(Op::Add, "a", &[x, c1], t.clone()).unwrap();
        let b = g.add_op(Op::Add, "b", &[x, c2], t.clone()).unwrap();
        let s = g.add_op(Op::Sub, "s", &[x, c1], t.clone()).unwrap();
        let m = g.add_op(Op::Mul, "m", &[a, b], t.clone()).unwrap();
        let m2 = g.add_op(Op::Mul, "m2", &[m, s], t).unwrap();
        g.add_output("y", m2).unwrap();
        g
    }

    #[test]
    fn merges_constants_then_users() {
        let mut g = graph();
        let n = g.node_count();
        assert_eq!(Cse::default().run(&mut g, &mut PassCx::new()).unwrap(), Changed::Yes);
        assert_eq!(g.node_count(), n - 2, "c2 and b merged; Sub differs from Add");
        assert_eq!(Cse::default().run(&mut g, &mut PassCx::new()).unwrap(), Changed::No);
    }

    #[test]
    fn max_bounds_eliminations() {
        let mut g = graph();
        let n = g.node_count();
        let mut cse = Cse::from_options(CseOptions { max: Some(1) });
        cse.run(&mut g, &mut PassCx::new()).unwrap();
        assert_eq!(g.node_count(), n - 1);
    }
}
