//! The verifier: structural and type rules that tighten with the graph's [`Phase`].
//!
//! [`verify`] collects every error rather than stopping at the first. The rules:
//! * **always** — the graph is acyclic; operand counts, required operand slots and result counts
//!   follow each op's [`Signature`](crate::signature::Signature); every edge refers to an existing
//!   result and an existing operand slot, one edge per slot; graph inputs are `Input` nodes with
//!   unique names; outputs exist and have unique names; `Constant` nodes refer to an existing
//!   constant whose dtype, storage and shape match the node's type (4-bit dtypes over byte storage,
//!   values in range); quantization parameters are well formed (finite scales > 0, zero points in
//!   the dtype's range, one parameter per index of the axis, axis < rank, block layout sizes);
//! * **Typed and later** — every type has a known rank and the declared result types agree with
//!   [`infer_node`] (symbolic and unknown extents are compatible with anything);
//! * **Quantized and later** — typed quantized ops have the quantization parameters they need;
//! * **Lowered** — no ONNX-form quantized ops, no Custom ops, every shape fully known.
//!
//! [`VerifyErrors`] displays as the graph listing with each error under its node.

use crate::graph::{Graph, NodeId, Value};
use crate::infer::infer_node;
use crate::ops::Op;
use crate::phase::Phase;
use crate::tensor::{Data, Tensor};
use crate::types::{Dim, Quant, Shape, TensorType};
use crate::DType;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// One verifier finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// The node concerned (`None` for graph-level rules, e.g. duplicate output names).
    pub node: Option<NodeId>,
    /// What is wrong.
    pub message: String,
}

/// All findings of one [`verify`] run; displays the graph with each error under its node.
#[derive(Debug, Clone)]
pub struct VerifyErrors {
    errors: Vec<VerifyError>,
    listing: String,
}

impl VerifyErrors {
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }
    /// True when there are none (never the case for a value returned by [`verify`]).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
    /// The errors, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, VerifyError> {
        self.errors.iter()
    }
    /// The errors, owned.
    pub fn into_vec(self) -> Vec<VerifyError> {
        self.errors
    }
}

impl<'a> IntoIterator for &'a VerifyErrors {
    type Item = &'a VerifyError;
    type IntoIter = std::slice::Iter<'a, VerifyError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.listing)
    }
}

impl std::error::Error for VerifyErrors {}

/// Checks `g` against the rules of its phase; returns every error found.
pub fn verify(g: &Graph) -> Result<(), VerifyErrors> {
    let mut v = Verifier { g, errors: Vec::new() };
    v.run();
    if v.errors.is_empty() {
        return Ok(());
    }
    let listing = render(g, &v.errors);
    Err(VerifyErrors { errors: v.errors, listing })
}

struct Verifier<'g> {
    g: &'g Graph,
    errors: Vec<VerifyError>,
}

impl Verifier<'_> {
    fn err(&mut self, node: Option<NodeId>, message: impl Into<String>) {
        self.errors.push(VerifyError { node, message: message.into() });
    }

    fn run(&mut self) {
        let g = self.g;
        self.check_acyclic();
        self.check_inputs_outputs();
        let edges_ok = self.check_edges();
        let phase = g.phase();
        for id in g.node_ids() {
            let structure_ok = self.check_structure(id) && edges_ok.contains(&id);
            let node = g.node(id);
            for (i, t) in node.results.iter().enumerate() {
                for m in quant_problems(t) {
                    self.err(Some(id), format!("result {i} type {t}: {m}"));
                }
            }
            if let Op::Constant(c) = node.op {
                self.check_constant(id, c);
            }
            if phase >= Phase::Typed {
                for (i, t) in node.results.iter().enumerate() {
                    if t.shape.rank().is_none() {
                        self.err(Some(id), format!("result {i} has a type of unknown rank ({t})"));
                    }
                }
                if structure_ok {
                    self.check_inferred(id);
                }
            }
            if phase >= Phase::Quantized {
                self.check_quant_params(id);
            }
            if phase >= Phase::Lowered {
                self.check_lowered(id);
            }
        }
    }

    fn check_acyclic(&mut self) {
        if let Err(e) = self.g.topo_order() {
            // Kahn's algorithm over the operand lists to find a node left on a cycle.
            let g = self.g;
            let ids = g.node_ids();
            let mut indeg: HashMap<NodeId, usize> =
                ids.iter().map(|&n| (n, g.operand_values(n).len())).collect();
            let mut ready: Vec<NodeId> = ids.iter().copied().filter(|n| indeg[n] == 0).collect();
            while let Some(n) = ready.pop() {
                for r in g.results(n) {
                    for (u, _) in g.users(r) {
                        let d = indeg.get_mut(&u).expect("user in graph");
                        *d -= 1;
                        if *d == 0 {
                            ready.push(u);
                        }
                    }
                }
            }
            let stuck = ids.iter().copied().find(|n| indeg[n] > 0);
            self.err(stuck, e.to_string());
        }
    }

    fn check_inputs_outputs(&mut self) {
        let g = self.g;
        let mut names = HashSet::new();
        for &id in g.inputs() {
            match g.try_node(id) {
                None => self.err(None, format!("graph input {id:?} does not exist")),
                Some(n) => {
                    if n.op != Op::Input {
                        self.err(Some(id), "listed as a graph input but is not an Input node");
                    }
                    if !names.insert(n.name.clone()) {
                        self.err(Some(id), format!("duplicate graph input name `{}`", n.name));
                    }
                }
            }
        }
        let listed: HashSet<NodeId> = g.inputs().iter().copied().collect();
        for id in g.node_ids() {
            if g.node(id).op == Op::Input && !listed.contains(&id) {
                self.err(Some(id), "Input node is not among the graph inputs");
            }
        }
        let mut names = HashSet::new();
        for (name, v) in g.outputs() {
            if !value_exists(g, *v) {
                self.err(None, format!("graph output `{name}` refers to a missing value {v:?}"));
            }
            if !names.insert(name.as_str()) {
                self.err(None, format!("duplicate graph output name `{name}`"));
            }
        }
    }

    /// Every incoming edge of every node: an existing result, a slot within the arity, one per
    /// slot. Returns the nodes whose edges are fine.
    fn check_edges(&mut self) -> HashSet<NodeId> {
        let g = self.g;
        let mut incoming: HashMap<NodeId, Vec<usize>> = HashMap::new();
        for id in g.node_ids() {
            for r in g.results(id) {
                for (u, slot) in g.users(r) {
                    incoming.entry(u).or_default().push(slot);
                }
            }
        }
        let mut ok = HashSet::new();
        for id in g.node_ids() {
            let mut good = true;
            let arity = g.node(id).arity;
            let mut slots = incoming.remove(&id).unwrap_or_default();
            slots.sort_unstable();
            for w in slots.windows(2) {
                if w[0] == w[1] {
                    self.err(Some(id), format!("operand slot {} has more than one edge", w[0]));
                    good = false;
                }
            }
            if let Some(&s) = slots.iter().find(|&&s| s >= arity) {
                self.err(Some(id), format!("an edge feeds operand slot {s}, the node has {arity}"));
                good = false;
            }
            for (slot, v) in g.operands(id).iter().enumerate() {
                if let Some(v) = v {
                    if !value_exists(g, *v) {
                        self.err(
                            Some(id),
                            format!(
                                "operand {slot} refers to a missing result {} of its producer",
                                v.index
                            ),
                        );
                        good = false;
                    }
                }
            }
            if good {
                ok.insert(id);
            }
        }
        ok
    }

    /// Operand and result counts per the op's signature. True when they are right.
    fn check_structure(&mut self, id: NodeId) -> bool {
        let node = self.g.node(id);
        let sig = node.op.signature();
        let mut ok = true;
        if !sig.accepts_arity(node.arity) {
            self.err(
                Some(id),
                format!(
                    "{} takes {} operands, the node has {}",
                    node.op.name(),
                    sig.operands_text(),
                    node.arity
                ),
            );
            ok = false;
        }
        for (slot, v) in self.g.operands(id).iter().enumerate() {
            if v.is_none() && sig.is_required(slot) {
                self.err(
                    Some(id),
                    format!("required {} is missing", crate::infer::operand_label(&node.op, slot)),
                );
                ok = false;
            }
        }
        if !sig.accepts_results(node.results.len()) {
            self.err(
                Some(id),
                format!(
                    "{} gives {} results, the node has {}",
                    node.op.name(),
                    sig.results_text(),
                    node.results.len()
                ),
            );
            ok = false;
        }
        ok
    }

    fn check_constant(&mut self, id: NodeId, c: crate::ConstId) {
        let node = self.g.node(id);
        let Some(t) = self.g.const_tensor(c) else {
            self.err(Some(id), format!("constant {} is not in the constant table", c.0));
            return;
        };
        let Some(ty) = node.results.first() else { return };
        for m in constant_problems(t, ty) {
            self.err(Some(id), m);
        }
    }

    fn check_inferred(&mut self, id: NodeId) {
        let g = self.g;
        let node = g.node(id);
        if matches!(node.op, Op::Input | Op::Constant(_) | Op::Custom(_)) {
            return;
        }
        let operands = g.operands(id);
        let types: Vec<Option<&TensorType>> =
            operands.iter().map(|v| v.map(|v| g.value_type(v))).collect();
        let consts: Vec<Option<&Tensor>> =
            operands.iter().map(|v| v.and_then(|v| g.const_value(v)).map(|t| &**t)).collect();
        match infer_node(&node.op, &types, &consts, &node.results) {
            Err(e) => self.err(Some(id), format!("type inference fails: {}", e.message)),
            Ok(inferred) => {
                for (i, (d, t)) in node.results.iter().zip(&inferred).enumerate() {
                    if !agrees(d, t) {
                        self.err(
                            Some(id),
                            format!("result {i} is declared {d}, inference gives {t}"),
                        );
                    }
                }
            }
        }
    }

    fn check_quant_params(&mut self, id: NodeId) {
        let g = self.g;
        let node = g.node(id);
        let result_needs = matches!(
            node.op,
            Op::Quantize
                | Op::Requantize
                | Op::QConv(_)
                | Op::QMatMul
                | Op::QAdd
                | Op::QMul
                | Op::QAveragePool(_)
                | Op::QGlobalAveragePool
                | Op::QConcat(_)
        );
        let operands_need: &[usize] = match node.op {
            Op::Dequantize | Op::Requantize | Op::QAveragePool(_) | Op::QGlobalAveragePool => &[0],
            Op::QConv(_) | Op::QMatMul | Op::QAdd | Op::QMul => &[0, 1],
            Op::QConcat(_) => &[],
            _ => &[],
        };
        if result_needs {
            if let Some(t) = node.results.first().filter(|t| t.quant.is_none()) {
                self.err(
                    Some(id),
                    format!("{} needs a quantized result type, got {t}", node.op.name()),
                );
            }
        }
        let mut slots: Vec<usize> = operands_need.to_vec();
        if matches!(node.op, Op::QConcat(_)) {
            slots = (0..node.arity).collect();
        }
        for slot in slots {
            if let Some(v) = g.operand(id, slot) {
                let t = g.value_type(v);
                if t.quant.is_none() {
                    self.err(
                        Some(id),
                        format!(
                            "{} needs a quantized type, got {t}",
                            crate::infer::operand_label(&node.op, slot)
                        ),
                    );
                }
            }
        }
    }

    fn check_lowered(&mut self, id: NodeId) {
        let node = self.g.node(id);
        let onnx_quant = matches!(
            node.op,
            Op::QuantizeLinear(_)
                | Op::DequantizeLinear(_)
                | Op::DynamicQuantizeLinear
                | Op::QLinearConv(_)
                | Op::QLinearMatMul
                | Op::MatMulInteger
                | Op::ConvInteger(_)
        );
        if onnx_quant {
            self.err(
                Some(id),
                format!(
                    "ONNX-form quantized op {} must be realized before lowering",
                    node.op.name()
                ),
            );
        }
        if let Op::Custom(c) = &node.op {
            self.err(
                Some(id),
                format!("custom op `{}` (domain `{}`) cannot be lowered", c.name, c.domain),
            );
        }
        for (i, t) in node.results.iter().enumerate() {
            if t.shape.rank().is_some() && t.shape.as_fixed().is_none() {
                self.err(Some(id), format!("result {i} has a shape that is not fully known ({t})"));
            }
        }
    }
}

fn value_exists(g: &Graph, v: Value) -> bool {
    g.try_node(v.node).is_some_and(|n| (v.index as usize) < n.results.len())
}

/// True when a declared type agrees with an inferred one: same dtype and quantization, ranks
/// equal when both known, extents equal unless one of them is symbolic.
fn agrees(declared: &TensorType, inferred: &TensorType) -> bool {
    if declared.dtype != inferred.dtype || declared.quant != inferred.quant {
        return false;
    }
    match (declared.shape.dims(), inferred.shape.dims()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| match (x, y) {
                    (Dim::Fixed(p), Dim::Fixed(q)) => p == q,
                    _ => true,
                })
        }
        _ => true,
    }
}

/// Problems with a type's quantization parameters.
pub fn quant_problems(t: &TensorType) -> Vec<String> {
    let mut out = Vec::new();
    let Some(q) = &t.quant else { return out };
    if !t.dtype.is_quantizable() {
        out.push(format!("dtype {} cannot carry quantization parameters", t.dtype));
        return out;
    }
    if let Some(s) = q.scales().iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        out.push(format!("scale {s} must be finite and > 0"));
    }
    let (lo, hi) = t.dtype.int_range().expect("quantizable dtypes are integers");
    if let Some(z) = q.zero_points().iter().find(|&&z| (z as i64) < lo || (z as i64) > hi) {
        out.push(format!("zero point {z} is outside the range of {} [{lo}, {hi}]", t.dtype));
    }
    let dims = t.shape.dims();
    match q {
        Quant::Tensor { .. } => {}
        Quant::Axis { axis, scales, zero_points } => {
            if zero_points.len() != scales.len() {
                out.push(format!("{} scales but {} zero points", scales.len(), zero_points.len()));
            }
            if let Some(d) = dims {
                match d.get(*axis) {
                    None => out.push(format!("quantization axis {axis} is not < rank {}", d.len())),
                    Some(Dim::Fixed(n)) if *n != scales.len() => {
                        out.push(format!("{} scales for axis {axis} of extent {n}", scales.len()))
                    }
                    _ => {}
                }
            }
        }
        Quant::Block { axis, block, scales, zero_points } => {
            if zero_points.len() != scales.len() {
                out.push(format!("{} scales but {} zero points", scales.len(), zero_points.len()));
            }
            if *block == 0 {
                out.push("block size must be ≥ 1".into());
            } else if let Some(d) = dims {
                if *axis >= d.len() {
                    out.push(format!("quantization axis {axis} is not < rank {}", d.len()));
                } else if let Some(f) = Shape(Some(d.to_vec())).as_fixed() {
                    let want: usize = f
                        .iter()
                        .enumerate()
                        .map(|(i, &e)| if i == *axis { e.div_ceil(*block) } else { e })
                        .product();
                    if want != scales.len() {
                        out.push(format!(
                            "blocks of {block} on axis {axis} of {} need {want} scales, got {}",
                            t.shape,
                            scales.len()
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Problems with a constant tensor as the value of a node of type `ty`.
fn constant_problems(t: &Tensor, ty: &TensorType) -> Vec<String> {
    let mut out = Vec::new();
    if t.dtype != ty.dtype {
        out.push(format!("constant has dtype {}, the node's type is {ty}", t.dtype));
    }
    let storage = match t.dtype {
        DType::I4 => DType::I8,
        DType::U4 => DType::U8,
        d => d,
    };
    if t.data.natural_dtype() != storage {
        out.push(format!(
            "constant of dtype {} is stored as {} elements",
            t.dtype,
            t.data.natural_dtype()
        ));
    }
    if crate::tensor::numel(&t.shape).ok() != Some(t.data.len()) {
        out.push(format!("constant of shape {:?} holds {} elements", t.shape, t.data.len()));
    }
    if matches!(t.dtype, DType::I4 | DType::U4) {
        let (lo, hi) = t.dtype.int_range().expect("integer");
        let bad = match &t.data {
            Data::I8(v) => v.iter().map(|&x| x as i64).find(|x| *x < lo || *x > hi),
            Data::U8(v) => v.iter().map(|&x| x as i64).find(|x| *x < lo || *x > hi),
            _ => None,
        };
        if let Some(x) = bad {
            out.push(format!("constant value {x} is outside the range of {}", t.dtype));
        }
    }
    if ty.shape != Shape::fixed(&t.shape) {
        out.push(format!("constant has shape {:?}, the node's type is {ty}", t.shape));
    }
    out
}

/// The error listing: graph-level errors first, then the graph printed by
/// [`crate::print::print_annotated`] with each error under its node.
fn render(g: &Graph, errors: &[VerifyError]) -> String {
    let mut notes: BTreeMap<NodeId, Vec<String>> = BTreeMap::new();
    let mut out = String::new();
    for e in errors {
        match e.node {
            Some(n) if g.contains(n) => {
                notes.entry(n).or_default().push(format!("error: {}", e.message))
            }
            _ => out.push_str(&format!("error: {}\n", e.message)),
        }
    }
    // The printer expects the graph inputs to be existing Input nodes with a type; when they are
    // not, a plain listing still shows every node.
    let printable = g.inputs().iter().all(|&n| {
        g.try_node(n).is_some_and(|node| node.op == Op::Input && !node.results.is_empty())
    });
    if !printable {
        out.push_str(&listing(g, &notes));
        return out;
    }
    // Nodes the printer leaves out (an Input node missing from the graph inputs): their errors go
    // on top.
    let printed: HashSet<NodeId> = crate::print::print_order(g).into_iter().collect();
    for (n, msgs) in &notes {
        if !printed.contains(n) {
            for m in msgs {
                out.push_str(&format!("{} {m}\n", node_label(g, *n)));
            }
        }
    }
    out.push_str(&crate::print::print_annotated(g, &notes));
    out
}

/// A plain listing with errors inline, for graphs the printer cannot show (broken inputs).
fn listing(g: &Graph, notes: &BTreeMap<NodeId, Vec<String>>) -> String {
    let order = g.topo_order().unwrap_or_else(|_| g.node_ids());
    let mut s = format!("graph {} ({}):\n", g.name, g.phase());
    for id in order {
        let n = g.node(id);
        let tys: Vec<String> = n.results.iter().map(|t| t.to_string()).collect();
        let operands: Vec<String> = g
            .operands(id)
            .iter()
            .map(|v| match v {
                Some(v) if g.contains(v.node) && g.node(v.node).results.len() > 1 => {
                    format!("{}#{}", node_label(g, v.node), v.index)
                }
                Some(v) if g.contains(v.node) => node_label(g, v.node),
                Some(_) => "<missing>".to_string(),
                None => "_".to_string(),
            })
            .collect();
        s.push_str(&format!(
            "  {} = {}({}) : {}\n",
            node_label(g, id),
            n.op.name(),
            operands.join(", "),
            tys.join(", ")
        ));
        for m in notes.get(&id).into_iter().flatten() {
            s.push_str(&format!("    ^ {m}\n"));
        }
    }
    s
}

fn node_label(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    if n.name.is_empty() {
        format!("%node{}", id.index())
    } else {
        format!("%{}", n.name)
    }
}
