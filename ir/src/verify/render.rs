//! The verifier's error listing: the graph printed with each error under its node.

use super::VerifyError;
use crate::graph::{Graph, NodeId};
use crate::ops::Op;
use std::collections::{BTreeMap, HashSet};

/// The error listing: graph-level errors first, then the graph printed by
/// [`crate::print::print_annotated`] with each error under its node.
pub(super) fn render(g: &Graph, errors: &[VerifyError]) -> String {
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
