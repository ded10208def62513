//! [`PassCx`]: the context a pass runs in, with analyses cached by type.
//!
//! An [`Analysis`] is computed from a graph on first request and cached in the context under
//! its Rust type. The pass manager calls [`PassCx::invalidate`] whenever a pass reports
//! [`crate::Changed::Yes`], so a pass never sees an analysis of an older graph (a pass that
//! changes the graph itself and wants a fresh analysis in the same run calls `invalidate` too).

use crate::pass::PassError;
use qcc_ir::{Graph, NodeId, Value};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};

/// A fact about a graph, computed on demand and cached until the graph changes.
pub trait Analysis: Any + Sized {
    /// Name for reports.
    const NAME: &'static str;
    /// Computes the analysis.
    fn compute(g: &Graph) -> Result<Self, PassError>;
}

/// The context passed to every pass: cached analyses and counters.
#[derive(Default)]
pub struct PassCx {
    cache: HashMap<TypeId, Box<dyn Any>>,
    computed: BTreeMap<&'static str, usize>,
    stats: BTreeMap<String, u64>,
}

impl PassCx {
    /// An empty context.
    pub fn new() -> PassCx {
        PassCx::default()
    }

    /// The analysis `A` of `g`, computed now if not cached.
    pub fn analysis<A: Analysis>(&mut self, g: &Graph) -> Result<&A, PassError> {
        let key = TypeId::of::<A>();
        if !self.cache.contains_key(&key) {
            let a = A::compute(g)?;
            *self.computed.entry(A::NAME).or_default() += 1;
            self.cache.insert(key, Box::new(a));
        }
        Ok(self.cache[&key].downcast_ref::<A>().expect("cache keyed by TypeId"))
    }

    /// True if `A` is cached.
    pub fn is_cached<A: Analysis>(&self) -> bool {
        self.cache.contains_key(&TypeId::of::<A>())
    }

    /// Drops every cached analysis (the graph changed).
    pub fn invalidate(&mut self) {
        self.cache.clear();
    }

    /// How many times each analysis was computed (for tests and `--time-passes`).
    pub fn computations(&self) -> &BTreeMap<&'static str, usize> {
        &self.computed
    }

    /// Adds `n` to the counter `key` (e.g. `fuse-gelu.matched`).
    pub fn bump(&mut self, key: impl Into<String>, n: u64) {
        *self.stats.entry(key.into()).or_default() += n;
    }

    /// The counters.
    pub fn stats(&self) -> &BTreeMap<String, u64> {
        &self.stats
    }
}

/// Users of every value, computed once: `value → [(consumer, slot)]`, plus graph-output uses.
#[derive(Debug, Clone, Default)]
pub struct UseCounts {
    uses: HashMap<Value, usize>,
}

impl UseCounts {
    /// Number of uses of `v` (operand slots plus graph outputs).
    pub fn uses(&self, v: Value) -> usize {
        self.uses.get(&v).copied().unwrap_or(0)
    }
}

impl Analysis for UseCounts {
    const NAME: &'static str = "use-counts";
    fn compute(g: &Graph) -> Result<Self, PassError> {
        let mut uses: HashMap<Value, usize> = HashMap::new();
        for id in g.node_ids() {
            for v in g.operand_values(id) {
                *uses.entry(v).or_default() += 1;
            }
        }
        for (_, v) in g.outputs() {
            *uses.entry(*v).or_default() += 1;
        }
        Ok(UseCounts { uses })
    }
}

/// A topological order of the graph's nodes.
#[derive(Debug, Clone)]
pub struct TopoOrder(pub Vec<NodeId>);

impl Analysis for TopoOrder {
    const NAME: &'static str = "topo-order";
    fn compute(g: &Graph) -> Result<Self, PassError> {
        g.topo_order().map(TopoOrder).map_err(|e| PassError::graph("topo-order", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::{DType, Op, TensorType};

    #[test]
    fn analyses_are_cached_until_invalidated() {
        let mut g = Graph::new("t");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[2]));
        let y = g.add_op(Op::Relu, "r", &[x], TensorType::fixed(DType::F32, &[2])).unwrap();
        g.add_output("y", y).unwrap();
        let mut cx = PassCx::new();
        assert_eq!(cx.analysis::<UseCounts>(&g).unwrap().uses(x), 1);
        assert_eq!(cx.analysis::<UseCounts>(&g).unwrap().uses(y), 1);
        assert_eq!(cx.computations()["use-counts"], 1);
        let z = g.add_op(Op::Relu, "r2", &[x], TensorType::fixed(DType::F32, &[2])).unwrap();
        g.add_output("z", z).unwrap();
        cx.invalidate();
        assert!(!cx.is_cached::<UseCounts>());
        assert_eq!(cx.analysis::<UseCounts>(&g).unwrap().uses(x), 2);
        assert_eq!(cx.computations()["use-counts"], 2);
    }
}
