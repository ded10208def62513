//! Import of an ONNX `ModelProto` into a [`qcc_ir::Graph`] (phase `Imported`).
//!
//! Steps: decode; collect the opset of each domain; check every node against the op registry
//! (all unsupported ops are reported in one error); initializers become named constant nodes
//! (a graph input that is also an initializer is a constant); the remaining graph inputs become
//! `Input` nodes typed from their `ValueInfoProto` (symbolic dims stay `Dim::Sym(name)` unless
//! bound by [`ImportOptions::input_shapes`]); each node is imported by its op family's importer
//! (`ops/`), which rewrites older opset forms into the IR's single form; finally unused nodes
//! are removed and shape subgraphs are folded to constants.

use crate::error::{OnnxError, UnsupportedOp};
use crate::external::{ExternalLimits, ExternalReader};
use crate::ops::{self, NodeCx};
use crate::proto::{type_proto, GraphProto, ModelProto, ValueInfoProto};
use crate::tensor::{dtype_from_onnx, tensor_from_proto_ext};
use qcc_ir::{Dim, Graph, Limits, Shape, TensorType, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Options of the importer.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Concrete shapes for graph inputs, by input name. A symbol bound here (the name of a
    /// symbolic dim of that input) is bound to the same extent in every other input too.
    pub input_shapes: HashMap<String, Vec<usize>>,
    /// Fold constant subgraphs (and `Shape`/`Size` of values of known shape) after import.
    pub fold_constants: bool,
    /// Limits on external data.
    pub external_limits: ExternalLimits,
    /// Resource limits (tensor bytes, node count, depth), checked before allocating.
    pub limits: Limits,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            input_shapes: HashMap::new(),
            fold_constants: true,
            external_limits: ExternalLimits::default(),
            limits: Limits::default(),
        }
    }
}

/// Imports the model file at `path`; external data is read from the file's folder.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Graph, OnnxError> {
    let bytes =
        std::fs::read(path).map_err(|source| OnnxError::Io { path: path.to_path_buf(), source })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    let dir = if dir.as_os_str().is_empty() { ".".into() } else { dir };
    let mut ext = ExternalReader::new(&dir, opts.external_limits);
    import_bytes_ext(&bytes, opts, Some(&mut ext))
}

/// Imports a serialized model. Tensors with external data are an error here (no folder).
pub fn import_bytes(bytes: &[u8], opts: &ImportOptions) -> Result<Graph, OnnxError> {
    import_bytes_ext(bytes, opts, None)
}

fn import_bytes_ext(
    bytes: &[u8],
    opts: &ImportOptions,
    ext: Option<&mut ExternalReader>,
) -> Result<Graph, OnnxError> {
    let model = decode_model(bytes)?;
    let g = import_model(&model, opts, ext)?;
    tracing::info!(
        bytes = bytes.len(),
        nodes = g.node_count(),
        producer = model.producer_name.as_deref().unwrap_or(""),
        "imported ONNX model"
    );
    Ok(g)
}

/// Decodes the protobuf bytes of a model.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    use prost::Message;
    ModelProto::decode(bytes).map_err(|source| OnnxError::Decode { what: "ModelProto", source })
}

/// The opset imported for each domain (`""` is the default domain; `ai.onnx` maps to it).
pub(crate) fn opsets(model: &ModelProto) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    for o in &model.opset_import {
        let d = o.domain.clone().unwrap_or_default();
        let d = if d == "ai.onnx" { String::new() } else { d };
        m.insert(d, o.version.unwrap_or(1));
    }
    m
}

/// The display name of a node: its name, else its first output, else `#index`.
pub(crate) fn node_display_name(n: &crate::proto::NodeProto, index: usize) -> String {
    match n.name.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => match n.output.first() {
            Some(o) if !o.is_empty() => o.clone(),
            _ => format!("#{index}"),
        },
    }
}

/// Every node whose op (type, domain, opset) has no importer, grouped by op.
pub fn unsupported_ops(model: &ModelProto) -> Vec<UnsupportedOp> {
    let sets = opsets(model);
    let mut found: BTreeMap<(String, String), UnsupportedOp> = BTreeMap::new();
    if let Some(g) = &model.graph {
        for (i, n) in g.node.iter().enumerate() {
            let op_type = n.op_type.clone().unwrap_or_default();
            let domain = n.domain.clone().unwrap_or_default();
            let domain = if domain == "ai.onnx" { String::new() } else { domain };
            let opset = sets.get(&domain).copied().unwrap_or(0);
            if ops::lookup(&domain, &op_type, opset).is_none() {
                found
                    .entry((domain.clone(), op_type.clone()))
                    .or_insert_with(|| UnsupportedOp { op_type, domain, opset, nodes: Vec::new() })
                    .nodes
                    .push(node_display_name(n, i));
            }
        }
    }
    found.into_values().collect()
}

/// State shared by the node importers.
pub(crate) struct Importer {
    pub(crate) g: Graph,
    pub(crate) env: HashMap<String, Value>,
    pub(crate) value_info: HashMap<String, TensorType>,
}

/// The type of a `ValueInfoProto` (tensor types only), with symbols bound from `bound`.
fn value_info_type(
    vi: &ValueInfoProto,
    bound: &HashMap<String, usize>,
) -> Result<Option<TensorType>, OnnxError> {
    let name = vi.name.clone().unwrap_or_default();
    let Some(tp) = vi.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(None);
    };
    let t = match tp {
        type_proto::Value::TensorType(t) => t,
        _ => {
            return Err(OnnxError::UnsupportedDType {
                name,
                dtype: "non-tensor (sequence, map, optional or sparse) type".into(),
            })
        }
    };
    let dtype = dtype_from_onnx(t.elem_type.unwrap_or(0), &name)?;
    let shape = match &t.shape {
        None => Shape::unknown(),
        Some(s) => Shape(Some(
            s.dim
                .iter()
                .map(|d| {
                    use crate::proto::tensor_shape_proto::dimension::Value as D;
                    Ok(match &d.value {
                        Some(D::DimValue(v)) if *v < 0 => {
                            return Err(OnnxError::BadValueInfo {
                                name: name.clone(),
                                msg: format!("negative dimension {v}"),
                            })
                        }
                        Some(D::DimValue(v)) => Dim::Fixed(*v as usize),
                        Some(D::DimParam(p)) if !p.is_empty() => match bound.get(p) {
                            Some(&n) => Dim::Fixed(n),
                            None => Dim::Sym(p.clone()),
                        },
                        _ => Dim::Sym("?".into()),
                    })
                })
                .collect::<Result<_, OnnxError>>()?,
        )),
    };
    Ok(Some(TensorType::new(dtype, shape)))
}

/// Symbols bound by the options: for each input given a shape, its symbolic dims' names.
fn bound_symbols(
    graph: &GraphProto,
    opts: &ImportOptions,
) -> Result<HashMap<String, usize>, OnnxError> {
    let mut bound = HashMap::new();
    for vi in &graph.input {
        let name = vi.name.clone().unwrap_or_default();
        let Some(shape) = opts.input_shapes.get(&name) else { continue };
        if let Some(ty) = value_info_type(vi, &HashMap::new())? {
            if let Some(dims) = ty.shape.dims() {
                if dims.len() != shape.len() {
                    return Err(OnnxError::BadValueInfo {
                        name,
                        msg: format!(
                            "given shape {shape:?} has rank {}, the model's is {}",
                            shape.len(),
                            dims.len()
                        ),
                    });
                }
                for (d, &n) in dims.iter().zip(shape) {
                    match d {
                        Dim::Sym(s) if s != "?" => {
                            bound.insert(s.clone(), n);
                        }
                        Dim::Fixed(f) if *f != n => {
                            return Err(OnnxError::BadValueInfo {
                                name,
                                msg: format!(
                                    "given shape {shape:?} conflicts with the model's {}",
                                    ty.shape
                                ),
                            })
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(bound)
}

pub(crate) fn import_model(
    model: &ModelProto,
    opts: &ImportOptions,
    mut ext: Option<&mut ExternalReader>,
) -> Result<Graph, OnnxError> {
    let graph = model.graph.as_ref().ok_or(OnnxError::NoGraph)?;
    let unsupported = unsupported_ops(model);
    if !unsupported.is_empty() {
        return Err(OnnxError::UnsupportedOps(unsupported));
    }
    let sets = opsets(model);
    let limits = &opts.limits;
    let n_nodes =
        graph.node.len().saturating_add(graph.initializer.len()).saturating_add(graph.input.len());
    limits.check_nodes(n_nodes).map_err(limit_err)?;
    check_unique_names(graph)?;
    let bound = bound_symbols(graph, opts)?;
    let mut imp = Importer {
        g: Graph::new(graph.name.clone().unwrap_or_else(|| "main".into())),
        env: HashMap::new(),
        value_info: HashMap::new(),
    };
    for vi in graph.value_info.iter().chain(&graph.output) {
        // A value_info with a type qcc cannot represent only matters if the value is used;
        // the node importer then reports it.
        if let Ok(Some(ty)) = value_info_type(vi, &bound) {
            imp.value_info.insert(vi.name.clone().unwrap_or_default(), ty);
        }
    }
    for init in &graph.initializer {
        let name = init.name.clone().unwrap_or_default();
        let t = tensor_from_proto_ext(init, ext.as_deref_mut(), limits)?;
        let v = imp.g.add_const(name.clone(), t);
        imp.env.insert(name, v);
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(OnnxError::UnsupportedForm {
            node: "graph".into(),
            op: "sparse_initializer".into(),
            what: "sparse initializers".into(),
        });
    }
    for vi in &graph.input {
        let name = vi.name.clone().unwrap_or_default();
        if imp.env.contains_key(&name) {
            continue; // an input with an initializer is a constant
        }
        let mut ty = value_info_type(vi, &bound)?.ok_or_else(|| OnnxError::BadValueInfo {
            name: name.clone(),
            msg: "graph input without a type".into(),
        })?;
        if let Some(shape) = opts.input_shapes.get(&name) {
            ty.shape = Shape::fixed(shape);
        }
        if let Some(dims) = ty.shape.as_fixed() {
            limits.tensor_bytes_usize(&name, ty.dtype, &dims).map_err(limit_err)?;
        }
        let v = imp.g.add_input(name.clone(), ty);
        imp.env.insert(name, v);
    }
    for (i, node) in graph.node.iter().enumerate() {
        let domain = node.domain.clone().unwrap_or_default();
        let domain = if domain == "ai.onnx" { String::new() } else { domain };
        let op_type = node.op_type.clone().unwrap_or_default();
        let opset = sets.get(&domain).copied().unwrap_or(0);
        let entry = ops::lookup(&domain, &op_type, opset).expect("checked by unsupported_ops");
        let name = node_display_name(node, i);
        let mut cx = NodeCx { imp: &mut imp, node, opset, name, op_type, helpers: 0 };
        let outs = (entry.import)(&mut cx)?;
        let name = cx.name.clone();
        for (k, out_name) in node.output.iter().enumerate() {
            if out_name.is_empty() {
                continue;
            }
            match outs.get(k).copied().flatten() {
                Some(v) => {
                    imp.env.insert(out_name.clone(), v);
                }
                None => {
                    return Err(OnnxError::UnsupportedForm {
                        node: name,
                        op: node.op_type.clone().unwrap_or_default(),
                        what: format!("output {k} (`{out_name}`)"),
                    })
                }
            }
        }
    }
    let mut outputs = Vec::new();
    for vi in &graph.output {
        let name = vi.name.clone().unwrap_or_default();
        let v = *imp.env.get(&name).ok_or_else(|| OnnxError::UndefinedOutput(name.clone()))?;
        outputs.push((name, v));
    }
    let mut g = imp.g;
    g.set_outputs(outputs)?;
    g.remove_dead_nodes();
    crate::post::finish(&mut g, opts)?;
    limits.check_graph(&g).map_err(limit_err)?;
    Ok(g)
}

pub(crate) fn limit_err(e: qcc_ir::LimitError) -> OnnxError {
    OnnxError::Limit(e)
}

/// Every name is defined once: graph inputs (other than those with an initializer of the same
/// name, which ONNX allows), initializers, node outputs; graph outputs are listed once.
fn check_unique_names(graph: &GraphProto) -> Result<(), OnnxError> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let dup = |n: &str, what: &str| OnnxError::Duplicate { name: n.to_string(), what: what.into() };
    let inits: std::collections::HashSet<&str> =
        graph.initializer.iter().filter_map(|t| t.name.as_deref()).collect();
    for t in &graph.initializer {
        let n = t.name.as_deref().unwrap_or_default();
        if !seen.insert(n) {
            return Err(dup(n, "an initializer"));
        }
    }
    let mut inputs = std::collections::HashSet::new();
    for vi in &graph.input {
        let n = vi.name.as_deref().unwrap_or_default();
        if !inputs.insert(n) {
            return Err(dup(n, "a graph input"));
        }
        if !inits.contains(n) {
            seen.insert(n);
        }
    }
    for node in &graph.node {
        for o in &node.output {
            if !o.is_empty() && !seen.insert(o.as_str()) {
                return Err(dup(o, "a node output"));
            }
        }
    }
    let mut outs = std::collections::HashSet::new();
    for vi in &graph.output {
        let n = vi.name.as_deref().unwrap_or_default();
        if !outs.insert(n) {
            return Err(dup(n, "a graph output"));
        }
    }
    Ok(())
}
