//! The graph: SSA values on a `petgraph::StableDiGraph`.
//!
//! Every node produces zero or more results (SSA values); an edge carries one result of its
//! source node into one operand slot of its target node. Graph inputs are `Op::Input` nodes and
//! weights are `Op::Constant` nodes whose tensors live once in the graph's constant table, so
//! every value, whatever its origin, is a [`Value`] `(node, result index)`. Edges are the single
//! source of truth for operands; a node records only how many operand slots it has, and a slot
//! without an edge is a missing optional operand.

use crate::ops::{ConstId, Op};
use crate::phase::Phase;
use crate::tensor::Tensor;
use crate::types::TensorType;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};
use petgraph::Direction;
use std::sync::Arc;

/// A node's id. Stable across removals of other nodes (ids have gaps after deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub NodeIndex<u32>);

impl NodeId {
    /// The raw index (for maps and debugging; not printed in the text format).
    pub fn index(self) -> usize {
        self.0.index()
    }
}

/// An SSA value: result `index` of `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value {
    /// The producing node.
    pub node: NodeId,
    /// Which of its results.
    pub index: u32,
}

/// A node: an op, a name (from the source model, for reports), its result types and arity.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The operation.
    pub op: Op,
    /// Name from the source model (may be empty).
    pub name: String,
    /// One type per result.
    pub results: Vec<TensorType>,
    /// Number of operand slots (optional operands may be unconnected).
    pub arity: usize,
}

/// An edge: result `result` of the source feeds operand slot `operand` of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    /// Result index in the producer.
    pub result: u32,
    /// Operand slot in the consumer.
    pub operand: u32,
}

/// Errors from graph construction and mutation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// A value refers to a node that is not in the graph, or to a result it does not have.
    #[error("value {0:?} does not exist")]
    NoSuchValue(Value),
    /// A node id is not in the graph.
    #[error("node {0:?} does not exist")]
    NoSuchNode(NodeId),
    /// Operand slot out of range.
    #[error("node {node:?} has {arity} operand slots, slot {slot} requested")]
    NoSuchSlot {
        /// The node.
        node: NodeId,
        /// Its arity.
        arity: usize,
        /// The slot asked for.
        slot: usize,
    },
    /// The graph has a cycle through the named node.
    #[error("the graph has a cycle through node `{0}`")]
    Cycle(String),
    /// A node still has users and cannot be removed.
    #[error("node `{0}` still has users")]
    HasUsers(String),
    /// Phases only move forward.
    #[error("phase cannot move back from {from} to {to}")]
    PhaseBackwards {
        /// Current phase.
        from: Phase,
        /// Requested phase.
        to: Phase,
    },
}

/// A dataflow graph of tensor operations.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    g: StableDiGraph<Node, Edge, u32>,
    /// The graph's name.
    pub name: String,
    inputs: Vec<NodeId>,
    outputs: Vec<(String, Value)>,
    consts: Vec<Arc<Tensor>>,
    phase: Phase,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Graph {
        Graph { name: name.into(), ..Graph::default() }
    }

    // ----- phase -----

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves the phase forward (or keeps it); moving back is an error.
    pub fn advance_phase(&mut self, to: Phase) -> Result<(), GraphError> {
        if to < self.phase {
            return Err(GraphError::PhaseBackwards { from: self.phase, to });
        }
        self.phase = to;
        Ok(())
    }

    // ----- construction -----

    /// Adds a graph input named `name` and returns its value.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> Value {
        let id =
            self.raw_add(Node { op: Op::Input, name: name.into(), results: vec![ty], arity: 0 });
        self.inputs.push(id);
        Value { node: id, index: 0 }
    }

    /// Stores `tensor` in the constant table and returns the id (no node is created).
    pub fn intern_const(&mut self, tensor: impl Into<Arc<Tensor>>) -> ConstId {
        self.consts.push(tensor.into());
        ConstId(self.consts.len() as u32 - 1)
    }

    /// Adds a constant node for `tensor` (typed from the tensor) and returns its value.
    pub fn add_const(&mut self, name: impl Into<String>, tensor: impl Into<Arc<Tensor>>) -> Value {
        let tensor = tensor.into();
        let ty = TensorType::fixed(tensor.dtype, &tensor.shape);
        self.add_const_typed(name, tensor, ty)
    }

    /// Adds a constant node with an explicit type (e.g. a quantized weight `i8<axis=0,...>`).
    pub fn add_const_typed(
        &mut self,
        name: impl Into<String>,
        tensor: impl Into<Arc<Tensor>>,
        ty: TensorType,
    ) -> Value {
        let id = self.intern_const(tensor);
        let node = self.raw_add(Node {
            op: Op::Constant(id),
            name: name.into(),
            results: vec![ty],
            arity: 0,
        });
        Value { node, index: 0 }
    }

    /// Adds a node with the given operands (None: missing optional operand) and result types.
    pub fn add_node(
        &mut self,
        op: Op,
        name: impl Into<String>,
        operands: &[Option<Value>],
        results: Vec<TensorType>,
    ) -> Result<NodeId, GraphError> {
        for v in operands.iter().flatten() {
            self.check_value(*v)?;
        }
        let id = self.raw_add(Node { op, name: name.into(), results, arity: operands.len() });
        for (slot, v) in operands.iter().enumerate() {
            if let Some(v) = v {
                self.g.add_edge(v.node.0, id.0, Edge { result: v.index, operand: slot as u32 });
            }
        }
        Ok(id)
    }

    /// Adds a single-result node with all operands present; returns its value.
    pub fn add_op(
        &mut self,
        op: Op,
        name: impl Into<String>,
        operands: &[Value],
        result: TensorType,
    ) -> Result<Value, GraphError> {
        let ops: Vec<Option<Value>> = operands.iter().copied().map(Some).collect();
        let id = self.add_node(op, name, &ops, vec![result])?;
        Ok(Value { node: id, index: 0 })
    }

    fn raw_add(&mut self, node: Node) -> NodeId {
        NodeId(self.g.add_node(node))
    }

    fn check_value(&self, v: Value) -> Result<(), GraphError> {
        match self.g.node_weight(v.node.0) {
            Some(n) if (v.index as usize) < n.results.len() => Ok(()),
            _ => Err(GraphError::NoSuchValue(v)),
        }
    }

    /// Appends a named graph output.
    pub fn add_output(&mut self, name: impl Into<String>, v: Value) -> Result<(), GraphError> {
        self.check_value(v)?;
        self.outputs.push((name.into(), v));
        Ok(())
    }

    /// Replaces all graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<(String, Value)>) -> Result<(), GraphError> {
        for (_, v) in &outputs {
            self.check_value(*v)?;
        }
        self.outputs = outputs;
        Ok(())
    }

    // ----- queries -----

    /// Graph inputs, in order (each an `Op::Input` node; its name is the input's name).
    pub fn inputs(&self) -> &[NodeId] {
        &self.inputs
    }

    /// Input values, in order.
    pub fn input_values(&self) -> Vec<Value> {
        self.inputs.iter().map(|&n| Value { node: n, index: 0 }).collect()
    }

    /// Graph outputs `(name, value)`, in order.
    pub fn outputs(&self) -> &[(String, Value)] {
        &self.outputs
    }

    /// The node, if present.
    pub fn try_node(&self, id: NodeId) -> Option<&Node> {
        self.g.node_weight(id.0)
    }

    /// The node. Panics if `id` was removed (ids come from this graph).
    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[id.0]
    }

    /// The node, mutably. Changing `results` changes the values' types; changing `arity` is not
    /// allowed here (use [`Graph::set_arity`]).
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.g[id.0]
    }

    /// True if the node exists.
    pub fn contains(&self, id: NodeId) -> bool {
        self.g.contains_node(id.0)
    }

    /// Number of nodes (inputs and constants included).
    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// All node ids in insertion order (not topological).
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.g.node_indices().map(NodeId).collect()
    }

    /// The type of a value.
    pub fn value_type(&self, v: Value) -> &TensorType {
        &self.g[v.node.0].results[v.index as usize]
    }

    /// Sets the type of a value.
    pub fn set_value_type(&mut self, v: Value, ty: TensorType) {
        self.g[v.node.0].results[v.index as usize] = ty;
    }

    /// The values a node produces.
    pub fn results(&self, id: NodeId) -> Vec<Value> {
        (0..self.g[id.0].results.len() as u32).map(|index| Value { node: id, index }).collect()
    }

    /// The single result of a node (result 0).
    pub fn result(&self, id: NodeId) -> Value {
        Value { node: id, index: 0 }
    }

    /// The operand slots of a node, `None` for missing optional operands.
    pub fn operands(&self, id: NodeId) -> Vec<Option<Value>> {
        let mut ops = vec![None; self.g[id.0].arity];
        for e in self.g.edges_directed(id.0, Direction::Incoming) {
            let w = e.weight();
            if let Some(slot) = ops.get_mut(w.operand as usize) {
                *slot = Some(Value { node: NodeId(e.source()), index: w.result });
            }
        }
        ops
    }

    /// One operand slot.
    pub fn operand(&self, id: NodeId, slot: usize) -> Option<Value> {
        self.g
            .edges_directed(id.0, Direction::Incoming)
            .find(|e| e.weight().operand as usize == slot)
            .map(|e| Value { node: NodeId(e.source()), index: e.weight().result })
    }

    /// Present operands in slot order (missing optional ones skipped).
    pub fn operand_values(&self, id: NodeId) -> Vec<Value> {
        self.operands(id).into_iter().flatten().collect()
    }

    /// Users of a value: `(consumer, operand slot)`, sorted.
    pub fn users(&self, v: Value) -> Vec<(NodeId, usize)> {
        let mut u: Vec<(NodeId, usize)> = self
            .g
            .edges_directed(v.node.0, Direction::Outgoing)
            .filter(|e| e.weight().result == v.index)
            .map(|e| (NodeId(e.target()), e.weight().operand as usize))
            .collect();
        u.sort();
        u
    }

    /// True when the value feeds a node or a graph output.
    pub fn is_used(&self, v: Value) -> bool {
        self.outputs.iter().any(|(_, o)| *o == v)
            || self
                .g
                .edges_directed(v.node.0, Direction::Outgoing)
                .any(|e| e.weight().result == v.index)
    }

    /// The constant tensor behind a value, if it is produced by a `Constant` node.
    pub fn const_value(&self, v: Value) -> Option<&Arc<Tensor>> {
        match self.try_node(v.node)?.op {
            Op::Constant(id) => self.consts.get(id.0 as usize),
            _ => None,
        }
    }

    /// A tensor of the constant table.
    pub fn const_tensor(&self, id: ConstId) -> Option<&Arc<Tensor>> {
        self.consts.get(id.0 as usize)
    }

    /// Replaces a tensor of the constant table (every node referring to it sees the change).
    pub fn set_const_tensor(&mut self, id: ConstId, t: impl Into<Arc<Tensor>>) {
        self.consts[id.0 as usize] = t.into();
    }

    /// The node producing the graph input named `name`.
    pub fn input_by_name(&self, name: &str) -> Option<Value> {
        self.inputs
            .iter()
            .find(|&&n| self.g[n.0].name == name)
            .map(|&n| Value { node: n, index: 0 })
    }

    /// Nodes in a topological order (operands before users), deterministic: among ready nodes the
    /// one added first goes first. Errors on a cycle.
    pub fn topo_order(&self) -> Result<Vec<NodeId>, GraphError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let bound = self.g.node_bound();
        let mut indeg = vec![0usize; bound];
        for e in self.g.edge_references() {
            indeg[e.target().index()] += 1;
        }
        let mut ready: BinaryHeap<Reverse<usize>> = self
            .g
            .node_indices()
            .filter(|n| indeg[n.index()] == 0)
            .map(|n| Reverse(n.index()))
            .collect();
        let mut order = Vec::with_capacity(self.g.node_count());
        while let Some(Reverse(i)) = ready.pop() {
            let n = NodeIndex::new(i);
            order.push(NodeId(n));
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                let t = e.target().index();
                indeg[t] -= 1;
                if indeg[t] == 0 {
                    ready.push(Reverse(t));
                }
            }
        }
        if order.len() != self.g.node_count() {
            let stuck =
                self.g.node_indices().find(|n| indeg[n.index()] > 0).expect("a node on the cycle");
            return Err(GraphError::Cycle(self.g[stuck].name.clone()));
        }
        Ok(order)
    }

    // ----- mutation (the rewrite API) -----

    /// Connects `v` (or nothing) to operand `slot` of `node`, replacing what was there.
    pub fn set_operand(
        &mut self,
        node: NodeId,
        slot: usize,
        v: Option<Value>,
    ) -> Result<(), GraphError> {
        let arity = self.try_node(node).ok_or(GraphError::NoSuchNode(node))?.arity;
        if slot >= arity {
            return Err(GraphError::NoSuchSlot { node, arity, slot });
        }
        if let Some(v) = v {
            self.check_value(v)?;
        }
        let old: Vec<_> = self
            .g
            .edges_directed(node.0, Direction::Incoming)
            .filter(|e| e.weight().operand as usize == slot)
            .map(|e| e.id())
            .collect();
        for e in old {
            self.g.remove_edge(e);
        }
        if let Some(v) = v {
            self.g.add_edge(v.node.0, node.0, Edge { result: v.index, operand: slot as u32 });
        }
        Ok(())
    }

    /// Replaces every operand slot of `node` (the arity becomes `operands.len()`).
    pub fn set_operands(
        &mut self,
        node: NodeId,
        operands: &[Option<Value>],
    ) -> Result<(), GraphError> {
        for v in operands.iter().flatten() {
            self.check_value(*v)?;
        }
        let old: Vec<_> =
            self.g.edges_directed(node.0, Direction::Incoming).map(|e| e.id()).collect();
        for e in old {
            self.g.remove_edge(e);
        }
        self.g[node.0].arity = operands.len();
        for (slot, v) in operands.iter().enumerate() {
            if let Some(v) = v {
                self.g.add_edge(v.node.0, node.0, Edge { result: v.index, operand: slot as u32 });
            }
        }
        Ok(())
    }

    /// Makes every user of `old` (nodes and graph outputs) use `new` instead. Returns how many
    /// uses changed.
    pub fn replace_all_uses(&mut self, old: Value, new: Value) -> Result<usize, GraphError> {
        self.check_value(new)?;
        if old == new {
            return Ok(0);
        }
        let mut n = 0;
        for (user, slot) in self.users(old) {
            self.set_operand(user, slot, Some(new))?;
            n += 1;
        }
        for (_, o) in self.outputs.iter_mut() {
            if *o == old {
                *o = new;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Removes a node that nothing uses (no users, not an output). Removing a graph input
    /// removes it from the inputs.
    pub fn remove_node(&mut self, id: NodeId) -> Result<Node, GraphError> {
        let node = self.try_node(id).ok_or(GraphError::NoSuchNode(id))?;
        let used =
            (0..node.results.len() as u32).any(|index| self.is_used(Value { node: id, index }));
        if used {
            return Err(GraphError::HasUsers(node.name.clone()));
        }
        self.inputs.retain(|&n| n != id);
        Ok(self.g.remove_node(id.0).expect("checked above"))
    }

    /// Removes every node whose results reach no graph output (graph inputs are kept).
    /// Returns the number removed.
    pub fn remove_dead_nodes(&mut self) -> usize {
        let mut live = vec![false; self.g.node_bound()];
        let mut stack: Vec<NodeIndex<u32>> = self.outputs.iter().map(|(_, v)| v.node.0).collect();
        stack.extend(self.inputs.iter().map(|n| n.0));
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut live[n.index()], true) {
                continue;
            }
            stack.extend(self.g.neighbors_directed(n, Direction::Incoming));
        }
        let dead: Vec<_> = self.g.node_indices().filter(|n| !live[n.index()]).collect();
        for n in &dead {
            self.g.remove_node(*n);
        }
        dead.len()
    }

    /// Reorders the graph inputs (a permutation of the current ones).
    pub fn set_input_order(&mut self, order: Vec<NodeId>) {
        debug_assert_eq!(order.len(), self.inputs.len());
        self.inputs = order;
    }
}
