//! The rewrite-pattern API and a greedy fixpoint driver.
//!
//! A [`Pattern`] is a named rule with a benefit: `match_at` inspects the graph at a root node
//! and returns `Option<Match>` (the guard helpers of [`crate::matchers`] return `Option`, so
//! "no match" is an early `?`, never an error); `rewrite` then changes the graph using the
//! match. [`RewriteSet`] holds rules of different match types; [`apply_greedily`] sweeps the
//! graph in topological order, tries the rules at each node by decreasing benefit, erases what
//! became dead, and repeats until a sweep changes nothing ([`StopReason::Converged`]) or a limit
//! is hit ([`StopReason::IterationLimit`], [`StopReason::TimeLimit`]).

use crate::pass::PassError;
use qcc_ir::{Graph, GraphError, NodeId, Op};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A rewrite rule: match at a root node, then rewrite.
pub trait Pattern {
    /// What `match_at` found and `rewrite` needs.
    type Match;
    /// Rule name, for statistics and debugging.
    fn name(&self) -> &str;
    /// Higher benefit rules are tried first at a node.
    fn benefit(&self) -> u16 {
        1
    }
    /// Inspects the graph at `root`; `None` means the rule does not apply.
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Self::Match>;
    /// Rewrites the graph. Replaced values must be redirected (`replace_all_uses`); the driver
    /// erases nodes that became dead.
    fn rewrite(&self, g: &mut Graph, root: NodeId, m: Self::Match) -> Result<(), GraphError>;
}

/// Object-safe view of a [`Pattern`] used by [`RewriteSet`].
pub trait DynPattern {
    /// Rule name.
    fn name(&self) -> &str;
    /// Benefit.
    fn benefit(&self) -> u16;
    /// Matches and rewrites; `Ok(false)` when the rule does not apply.
    fn try_apply(&self, g: &mut Graph, root: NodeId) -> Result<bool, GraphError>;
}

impl<P: Pattern> DynPattern for P {
    fn name(&self) -> &str {
        Pattern::name(self)
    }
    fn benefit(&self) -> u16 {
        Pattern::benefit(self)
    }
    fn try_apply(&self, g: &mut Graph, root: NodeId) -> Result<bool, GraphError> {
        match self.match_at(g, root) {
            Some(m) => self.rewrite(g, root, m).map(|()| true),
            None => Ok(false),
        }
    }
}

/// A set of rules, tried by decreasing benefit (ties: insertion order).
#[derive(Default)]
pub struct RewriteSet {
    rules: Vec<Box<dyn DynPattern>>,
}

impl RewriteSet {
    /// An empty set.
    pub fn new() -> RewriteSet {
        RewriteSet::default()
    }
    /// Adds a rule.
    pub fn with(mut self, rule: impl DynPattern + 'static) -> RewriteSet {
        self.push(Box::new(rule));
        self
    }
    /// Adds a boxed rule.
    pub fn push(&mut self, rule: Box<dyn DynPattern>) {
        let pos = self.rules.iter().position(|r| r.benefit() < rule.benefit());
        match pos {
            Some(i) => self.rules.insert(i, rule),
            None => self.rules.push(rule),
        }
    }
    /// Rule names in the order they are tried.
    pub fn names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name()).collect()
    }
}

/// Limits of [`apply_greedily`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreedyConfig {
    /// Maximum number of sweeps over the graph.
    pub max_iterations: usize,
    /// Wall-time budget (checked between rewrites).
    pub time_limit: Option<Duration>,
    /// Maximum number of rewrites in total (`None`: unlimited).
    pub max_rewrites: Option<usize>,
}

impl Default for GreedyConfig {
    fn default() -> Self {
        GreedyConfig { max_iterations: 16, time_limit: None, max_rewrites: None }
    }
}

/// Why the greedy driver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A full sweep applied no rule: a fixpoint.
    Converged,
    /// `max_iterations` sweeps (or `max_rewrites` rewrites) were done and rules still applied.
    IterationLimit,
    /// The time budget ran out.
    TimeLimit,
}

/// What [`apply_greedily`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreedyOutcome {
    /// Why it stopped.
    pub stop: StopReason,
    /// Sweeps done.
    pub iterations: usize,
    /// Rewrites per rule name.
    pub applied: BTreeMap<String, usize>,
    /// Nodes erased because they became dead.
    pub erased: usize,
}

impl GreedyOutcome {
    /// Total number of rewrites.
    pub fn rewrites(&self) -> usize {
        self.applied.values().sum()
    }
}

/// Removes `start` and, transitively, its operands' producers when they have no use left
/// (graph inputs and outputs are kept). Returns the number of nodes removed.
pub fn erase_if_dead(g: &mut Graph, start: NodeId) -> usize {
    let mut stack = vec![start];
    let mut n = 0;
    while let Some(id) = stack.pop() {
        let Some(node) = g.try_node(id) else { continue };
        if matches!(node.op, Op::Input) {
            continue;
        }
        if g.results(id).into_iter().any(|v| g.is_used(v)) {
            continue;
        }
        let producers: Vec<NodeId> = g.operand_values(id).into_iter().map(|v| v.node).collect();
        if g.remove_node(id).is_ok() {
            n += 1;
            stack.extend(producers);
        }
    }
    n
}

/// Applies `rules` until a fixpoint or a limit. `pass` names the calling pass in errors.
pub fn apply_greedily(
    g: &mut Graph,
    rules: &RewriteSet,
    config: &GreedyConfig,
    pass: &str,
) -> Result<GreedyOutcome, PassError> {
    let start = Instant::now();
    let mut out = GreedyOutcome {
        stop: StopReason::Converged,
        iterations: 0,
        applied: BTreeMap::new(),
        erased: 0,
    };
    let mut total = 0usize;
    loop {
        if out.iterations >= config.max_iterations {
            out.stop = StopReason::IterationLimit;
            return Ok(out);
        }
        out.iterations += 1;
        let order = g.topo_order().map_err(|e| PassError::graph(pass, e))?;
        let mut changed = false;
        for id in order {
            if !g.contains(id) {
                continue;
            }
            for rule in &rules.rules {
                if let Some(limit) = config.time_limit {
                    if start.elapsed() > limit {
                        out.stop = StopReason::TimeLimit;
                        return Ok(out);
                    }
                }
                if config.max_rewrites.is_some_and(|m| total >= m) {
                    out.stop = StopReason::IterationLimit;
                    return Ok(out);
                }
                if rule.try_apply(g, id).map_err(|e| PassError::graph(pass, e))? {
                    *out.applied.entry(rule.name().to_string()).or_default() += 1;
                    total += 1;
                    changed = true;
                    out.erased += erase_if_dead(g, id);
                    break;
                }
            }
        }
        if !changed {
            out.stop = StopReason::Converged;
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::*;
    use qcc_ir::{DType, TensorType, Value};

    /// Relu(Relu(x)) → Relu(x).
    struct DoubleRelu;
    impl Pattern for DoubleRelu {
        type Match = Value;
        fn name(&self) -> &str {
            "double-relu"
        }
        fn match_at(&self, g: &Graph, root: NodeId) -> Option<Value> {
            guard(matches!(g.node(root).op, Op::Relu))?;
            let inner = producer(g, g.operand(root, 0)?, |op| matches!(op, Op::Relu))?;
            Some(g.result(inner))
        }
        fn rewrite(&self, g: &mut Graph, root: NodeId, inner: Value) -> Result<(), GraphError> {
            g.replace_all_uses(g.result(root), inner).map(|_| ())
        }
    }

    /// Always matches an Identity and replaces it by a new Identity: never converges.
    struct Churn;
    impl Pattern for Churn {
        type Match = Value;
        fn name(&self) -> &str {
            "churn"
        }
        fn match_at(&self, g: &Graph, root: NodeId) -> Option<Value> {
            guard(matches!(g.node(root).op, Op::Identity))?;
            g.operand(root, 0)
        }
        fn rewrite(&self, g: &mut Graph, root: NodeId, x: Value) -> Result<(), GraphError> {
            let ty = g.value_type(x).clone();
            let v = g.add_op(Op::Identity, "id", &[x], ty)?;
            g.replace_all_uses(g.result(root), v).map(|_| ())
        }
    }

    fn chain(op: Op, n: usize) -> Graph {
        let ty = TensorType::fixed(DType::F32, &[4]);
        let mut g = Graph::new("t");
        let mut v = g.add_input("x", ty.clone());
        for i in 0..n {
            v = g.add_op(op.clone(), format!("n{i}"), &[v], ty.clone()).unwrap();
        }
        g.add_output("y", v).unwrap();
        g
    }

    #[test]
    fn converges_and_erases_dead_nodes() {
        let mut g = chain(Op::Relu, 5);
        let rules = RewriteSet::new().with(DoubleRelu);
        let out = apply_greedily(&mut g, &rules, &GreedyConfig::default(), "t").unwrap();
        assert_eq!(out.stop, StopReason::Converged);
        assert_eq!(g.node_count(), 2, "input + one relu");
        assert_eq!(out.rewrites(), 4);
        assert_eq!(out.erased, 4);
    }

    #[test]
    fn no_match_is_not_an_error() {
        let mut g = chain(Op::Sigmoid, 3);
        let rules = RewriteSet::new().with(DoubleRelu);
        let out = apply_greedily(&mut g, &rules, &GreedyConfig::default(), "t").unwrap();
        assert_eq!((out.stop, out.iterations, out.rewrites()), (StopReason::Converged, 1, 0));
        assert_eq!(g.node_count(), 4);
    }

    #[test]
    fn limits_give_typed_stop_reasons() {
        let mut g = chain(Op::Identity, 1);
        let rules = RewriteSet::new().with(Churn);
        let cfg = GreedyConfig { max_iterations: 3, ..GreedyConfig::default() };
        let out = apply_greedily(&mut g, &rules, &cfg, "t").unwrap();
        assert_eq!(out.stop, StopReason::IterationLimit);
        assert_eq!(out.iterations, 3);
        let cfg = GreedyConfig {
            max_iterations: usize::MAX,
            time_limit: Some(Duration::from_millis(20)),
            max_rewrites: None,
        };
        let out = apply_greedily(&mut g, &rules, &cfg, "t").unwrap();
        assert_eq!(out.stop, StopReason::TimeLimit);
        assert_eq!(g.node_count(), 2, "churned identities are erased");
    }

    #[test]
    fn rules_are_tried_by_benefit() {
        struct B(u16, &'static str);
        impl Pattern for B {
            type Match = ();
            fn name(&self) -> &str {
                self.1
            }
            fn benefit(&self) -> u16 {
                self.0
            }
            fn match_at(&self, _: &Graph, _: NodeId) -> Option<()> {
                None
            }
            fn rewrite(&self, _: &mut Graph, _: NodeId, _: ()) -> Result<(), GraphError> {
                Ok(())
            }
        }
        let s = RewriteSet::new().with(B(1, "low")).with(B(5, "high")).with(B(1, "low2"));
        assert_eq!(s.names(), ["high", "low", "low2"]);
    }
}
