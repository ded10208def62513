//! The printer of the text format (`.qir`).
//!
//! ```text
//! graph @mlp phase=typed {
//!   input %x: f32[N,784]
//!   const @c0: f32[784,10] = dense<sha256="3f2a…", min=-0.31, max=0.29> "fc.weight"
//!   const @c1: f32[10] = [0.1, -0.2, …] "fc.bias"
//!   %0 = MatMul(%x, @c0) : f32[N,10] "fc"
//!   %1 = Add(%0, @c1) : f32[N,10]
//!   output "logits" = %1
//! }
//! ```
//! Values are renumbered on every print: graph inputs keep their names, constants become
//! `@c0, @c1, …` and other values `%0, %1, …`, in a deterministic topological order, so a
//! snapshot does not churn when a pass renumbers node ids. Attributes equal to the op's
//! defaults are omitted. Constants larger than [`PrintOptions::inline_limit`] elements are
//! printed as `dense<…>` references into a weights file (see [`crate::weights`]).

use crate::graph::{Graph, NodeId, Value};
use crate::ops::Op;
use crate::tensor::{Data, Tensor};
use crate::types::fmt_f32;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

/// How to print a graph.
#[derive(Debug, Clone)]
pub struct PrintOptions {
    /// Constants with at most this many elements are printed inline; larger ones as `dense<…>`.
    /// `usize::MAX` prints every weight in full.
    pub inline_limit: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions { inline_limit: 16 }
    }
}

/// The result of printing: the text and the constants it refers to by key (`c3` for `@c3`).
#[derive(Debug, Clone, Default)]
pub struct Printed {
    /// The `.qir` text.
    pub text: String,
    /// Constants printed as `dense<…>`, by key, in printed order.
    pub external: Vec<(String, Arc<Tensor>)>,
}

/// Prints a graph with default options.
pub fn print(g: &Graph) -> String {
    print_with(g, &PrintOptions::default(), &BTreeMap::new()).text
}

/// Prints a graph with notes (e.g. verifier errors) as comment lines under their nodes.
pub fn print_annotated(g: &Graph, notes: &BTreeMap<NodeId, Vec<String>>) -> String {
    print_with(g, &PrintOptions::default(), notes).text
}

/// Prints every constant in full (no weights file needed).
pub fn print_full(g: &Graph) -> String {
    print_with(g, &PrintOptions { inline_limit: usize::MAX }, &BTreeMap::new()).text
}

/// True for names printed bare after `%`: an identifier that does not start with a digit.
fn is_bare_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')
}

/// Writes `s` as a string literal with escapes.
pub(crate) fn write_str_lit(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn input_ref(name: &str) -> String {
    if is_bare_ident(name) {
        format!("%{name}")
    } else {
        let mut s = String::from("%");
        write_str_lit(&mut s, name);
        s
    }
}

/// The printing order: inputs (in graph order), constants, then the other nodes, each group in
/// topological order. Falls back to id order on a cycle so a broken graph still prints.
pub fn print_order(g: &Graph) -> Vec<NodeId> {
    let topo = g.topo_order().unwrap_or_else(|_| g.node_ids());
    let mut order: Vec<NodeId> = g.inputs().to_vec();
    order.extend(topo.iter().copied().filter(|&n| matches!(g.node(n).op, Op::Constant(_))));
    order.extend(
        topo.iter().copied().filter(|&n| !matches!(g.node(n).op, Op::Constant(_) | Op::Input)),
    );
    order
}

/// Short content hash of a tensor (first 16 hex digits of the SHA-256 of its bytes).
pub fn tensor_hash(t: &Tensor) -> String {
    let digest = Sha256::digest(t.to_le_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Writes a JSON attribute value in the text format's syntax.
fn write_attr_value(out: &mut String, v: &serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::Null => out.push_str("none"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if (f as f32) as f64 == f {
                    let _ = fmt_f32(out, f as f32);
                } else {
                    let _ = write!(out, "{f:?}");
                }
            }
        }
        J::String(s) => write_str_lit(out, s),
        J::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_attr_value(out, x);
            }
            out.push(']');
        }
        J::Object(m) => write_attr_map(out, m),
    }
}

fn write_attr_map(out: &mut String, m: &serde_json::Map<String, serde_json::Value>) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        write_attr_value(out, v);
    }
    out.push('}');
}

/// The op's attributes without those equal to the defaults (when the op has defaults).
fn non_default_attrs(op: &Op) -> serde_json::Map<String, serde_json::Value> {
    let attrs = op.attrs_json();
    if matches!(op, Op::Custom(_)) {
        return attrs;
    }
    let defaults = Op::from_name_attrs(op.variant_name(), serde_json::Map::new())
        .map(|d| d.attrs_json())
        .unwrap_or_default();
    attrs.into_iter().filter(|(k, v)| defaults.get(k) != Some(v)).collect()
}

/// Writes the elements of a tensor as a flat list.
pub(crate) fn write_elements(out: &mut String, t: &Tensor) {
    out.push('[');
    macro_rules! list {
        ($v:expr, $f:expr) => {
            for (i, x) in $v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                $f(out, x);
            }
        };
    }
    match &t.data {
        Data::F32(v) => list!(v, |o: &mut String, x: &f32| {
            let _ = fmt_f32(o, *x);
        }),
        Data::F16(v) => list!(v, |o: &mut String, x: &half::f16| {
            let _ = fmt_f32(o, x.to_f32());
        }),
        Data::BF16(v) => list!(v, |o: &mut String, x: &half::bf16| {
            let _ = fmt_f32(o, x.to_f32());
        }),
        Data::I64(v) => list!(v, |o: &mut String, x: &i64| {
            let _ = write!(o, "{x}");
        }),
        Data::I32(v) => list!(v, |o: &mut String, x: &i32| {
            let _ = write!(o, "{x}");
        }),
        Data::I16(v) => list!(v, |o: &mut String, x: &i16| {
            let _ = write!(o, "{x}");
        }),
        Data::I8(v) => list!(v, |o: &mut String, x: &i8| {
            let _ = write!(o, "{x}");
        }),
        Data::U8(v) => list!(v, |o: &mut String, x: &u8| {
            let _ = write!(o, "{x}");
        }),
        Data::U16(v) => list!(v, |o: &mut String, x: &u16| {
            let _ = write!(o, "{x}");
        }),
        Data::F8E4M3FN(_) | Data::F8E5M2(_) | Data::F4E2M1(_) => {
            list!(t.to_f64_vec(), |o: &mut String, x: &f64| {
                let _ = fmt_f32(o, *x as f32);
            })
        }
        Data::Bool(v) => list!(v, |o: &mut String, x: &bool| {
            o.push_str(if *x { "true" } else { "false" });
        }),
    }
    out.push(']');
}

fn min_max(t: &Tensor) -> Option<(f64, f64)> {
    let v = t.to_f64_vec();
    let finite = v.iter().copied().filter(|x| x.is_finite());
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in finite {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Prints a graph with options and notes.
pub fn print_with(
    g: &Graph,
    opts: &PrintOptions,
    notes: &BTreeMap<NodeId, Vec<String>>,
) -> Printed {
    let order = print_order(g);
    let mut names: HashMap<Value, String> = HashMap::new();
    let (mut next_val, mut next_const) = (0usize, 0usize);
    for &n in &order {
        let node = g.node(n);
        match node.op {
            Op::Input => {
                names.insert(Value { node: n, index: 0 }, input_ref(&node.name));
            }
            Op::Constant(_) => {
                names.insert(Value { node: n, index: 0 }, format!("@c{next_const}"));
                next_const += 1;
            }
            _ => {
                for index in 0..node.results.len() as u32 {
                    names.insert(Value { node: n, index }, format!("%{next_val}"));
                    next_val += 1;
                }
            }
        }
    }
    let name_of = |v: Value| {
        names
            .get(&v)
            .cloned()
            .unwrap_or_else(|| format!("%<missing {}:{}>", v.node.index(), v.index))
    };

    let mut out = String::new();
    let mut external = Vec::new();
    out.push_str("graph @");
    if is_bare_ident(&g.name) {
        out.push_str(&g.name);
    } else {
        write_str_lit(&mut out, &g.name);
    }
    let _ = writeln!(out, " phase={} {{", g.phase());
    for &n in &order {
        let node = g.node(n);
        out.push_str("  ");
        match &node.op {
            Op::Input => {
                let _ = write!(
                    out,
                    "input {}: {}",
                    name_of(Value { node: n, index: 0 }),
                    node.results[0]
                );
            }
            Op::Constant(id) => {
                let key = name_of(Value { node: n, index: 0 });
                let _ = write!(
                    out,
                    "const {key}: {} = ",
                    node.results.first().map(|t| t.to_string()).unwrap_or_default()
                );
                match g.const_tensor(*id) {
                    None => out.push_str("missing"),
                    Some(t) if t.numel() <= opts.inline_limit => write_elements(&mut out, t),
                    Some(t) => {
                        let _ = write!(out, "dense<sha256=\"{}\"", tensor_hash(t));
                        if let Some((lo, hi)) = min_max(t) {
                            let _ = write!(out, ", min={}, max={}", lo as f32, hi as f32);
                        }
                        out.push('>');
                        external.push((key[1..].to_string(), t.clone()));
                    }
                }
                if !node.name.is_empty() {
                    out.push(' ');
                    write_str_lit(&mut out, &node.name);
                }
            }
            op => {
                let results: Vec<String> = (0..node.results.len() as u32)
                    .map(|index| name_of(Value { node: n, index }))
                    .collect();
                if results.is_empty() {
                    out.push_str("()");
                } else {
                    out.push_str(&results.join(", "));
                }
                let _ = write!(out, " = {}(", op.variant_name());
                let operands: Vec<String> = g
                    .operands(n)
                    .into_iter()
                    .map(|o| o.map(name_of).unwrap_or_else(|| "_".into()))
                    .collect();
                out.push_str(&operands.join(", "));
                out.push(')');
                let attrs = non_default_attrs(op);
                if !attrs.is_empty() {
                    out.push(' ');
                    write_attr_map(&mut out, &attrs);
                }
                out.push_str(" : ");
                if node.results.is_empty() {
                    out.push_str("()");
                }
                let tys: Vec<String> = node.results.iter().map(|t| t.to_string()).collect();
                out.push_str(&tys.join(", "));
                if !node.name.is_empty() {
                    out.push(' ');
                    write_str_lit(&mut out, &node.name);
                }
            }
        }
        out.push('\n');
        if let Some(ns) = notes.get(&n) {
            for note in ns {
                for line in note.lines() {
                    let _ = writeln!(out, "  ; ^ {line}");
                }
            }
        }
    }
    for (name, v) in g.outputs() {
        out.push_str("  output ");
        write_str_lit(&mut out, name);
        let _ = writeln!(out, " = {}", name_of(*v));
    }
    out.push_str("}\n");
    Printed { text: out, external }
}
