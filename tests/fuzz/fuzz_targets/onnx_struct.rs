//! Structure-aware fuzz target of the ONNX frontend: an `arbitrary` description of a small
//! model (inputs, initializers, nodes with ops drawn from the supported list and attributes
//! drawn from the names the importers read, outputs) is encoded as a real `ModelProto`, so the
//! op importers, type inference and constant folding see well-formed protobuf with hostile
//! contents. What imports is then run on the reference interpreter with all-ones inputs.
//! Any panic is a bug; errors are the expected outcome.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use qcc_onnx::proto::{
    attribute_proto::AttributeType, tensor_shape_proto, tensor_shape_proto::dimension, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

const ELEMS: [i32; 7] = [1, 7, 6, 3, 2, 9, 10]; // f32 i64 i32 i8 u8 bool f16
const ATTRS: &[&str] = &[
    "axis",
    "axes",
    "perm",
    "keepdims",
    "group",
    "kernel_shape",
    "pads",
    "strides",
    "dilations",
    "alpha",
    "beta",
    "transA",
    "transB",
    "to",
    "value",
    "mode",
    "epsilon",
    "starts",
    "ends",
    "split",
    "num_outputs",
    "block_size",
    "output_dtype",
    "auto_pad",
    "ceil_mode",
    "count_include_pad",
    "allowzero",
    "noop_with_empty_axes",
    "batch_dims",
    "select_last_index",
    "exclusive",
    "reverse",
    "coordinate_transformation_mode",
    "nearest_mode",
    "min",
    "max",
    "approximate",
    "stash_type",
    "largest",
    "sorted",
    "direction",
    "fmod",
    "seed",
    "dtype",
];
const STRINGS: &[&str] = &[
    "NOTSET",
    "SAME_UPPER",
    "SAME_LOWER",
    "VALID",
    "nearest",
    "linear",
    "constant",
    "reflect",
    "edge",
    "asymmetric",
    "tanh",
    "none",
    "LEFT",
    "",
];

#[derive(Debug, Arbitrary)]
struct Dims(Vec<i8>);

#[derive(Debug, Arbitrary)]
struct Init {
    dims: Vec<u8>,
    elem: u8,
    ints: Vec<i64>,
    floats: Vec<f32>,
    raw: bool,
}

#[derive(Debug, Arbitrary)]
struct Attr {
    name: u8,
    kind: u8,
    i: i64,
    f: f32,
    ints: Vec<i64>,
    s: u8,
    t: Option<Init>,
}

#[derive(Debug, Arbitrary)]
struct Node {
    op: u16,
    inputs: Vec<u8>,
    n_out: u8,
    attrs: Vec<Attr>,
}

#[derive(Debug, Arbitrary)]
struct Model {
    opset: u8,
    inputs: Vec<(Dims, u8)>,
    inits: Vec<Init>,
    nodes: Vec<Node>,
    outputs: Vec<u8>,
}

fn tensor(name: &str, i: &Init) -> TensorProto {
    let dims: Vec<i64> = i.dims.iter().take(4).map(|&d| (d % 5) as i64).collect();
    let n: usize = dims.iter().map(|&d| d as usize).product::<usize>().min(64);
    let elem = ELEMS[i.elem as usize % ELEMS.len()];
    let mut t =
        TensorProto { name: Some(name.into()), dims, data_type: Some(elem), ..Default::default() };
    let int = |k: usize| i.ints.get(k % i.ints.len().max(1)).copied().unwrap_or(1);
    let flt = |k: usize| i.floats.get(k % i.floats.len().max(1)).copied().unwrap_or(1.0);
    match elem {
        1 if i.raw => t.raw_data = Some((0..n).flat_map(|k| flt(k).to_le_bytes()).collect()),
        1 => t.float_data = (0..n).map(flt).collect(),
        7 if i.raw => t.raw_data = Some((0..n).flat_map(|k| int(k).to_le_bytes()).collect()),
        7 => t.int64_data = (0..n).map(int).collect(),
        _ => t.int32_data = (0..n).map(|k| int(k) as i32).collect(),
    }
    t
}

fn value_info(name: &str, dims: &Dims, elem: u8) -> ValueInfoProto {
    let dim = dims
        .0
        .iter()
        .take(5)
        .map(|&d| tensor_shape_proto::Dimension {
            value: Some(if d < -100 {
                dimension::Value::DimParam("N".into())
            } else {
                dimension::Value::DimValue((d % 6) as i64)
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(ELEMS[elem as usize % ELEMS.len()]),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn attr(a: &Attr) -> AttributeProto {
    let name = ATTRS[a.name as usize % ATTRS.len()];
    let mut p = AttributeProto { name: Some(name.into()), ..Default::default() };
    match a.kind % 5 {
        0 => {
            p.r#type = Some(AttributeType::Int as i32);
            p.i = Some(a.i % 8);
        }
        1 => {
            p.r#type = Some(AttributeType::Ints as i32);
            p.ints = a.ints.iter().take(8).map(|&x| if x.abs() > 64 { x } else { x % 5 }).collect();
        }
        2 => {
            p.r#type = Some(AttributeType::Float as i32);
            p.f = Some(a.f);
        }
        3 => {
            p.r#type = Some(AttributeType::String as i32);
            p.s = Some(STRINGS[a.s as usize % STRINGS.len()].as_bytes().to_vec());
        }
        _ => {
            p.r#type = Some(AttributeType::Tensor as i32);
            p.t = a.t.as_ref().map(|t| tensor("value", t));
        }
    }
    p
}

fn build(m: &Model, ops: &[(&str, &str, i64)]) -> ModelProto {
    let mut names: Vec<String> = Vec::new();
    let mut g = GraphProto { name: Some("g".into()), ..Default::default() };
    for (k, (dims, elem)) in m.inputs.iter().take(3).enumerate() {
        let n = format!("in{k}");
        g.input.push(value_info(&n, dims, *elem));
        names.push(n);
    }
    for (k, i) in m.inits.iter().take(4).enumerate() {
        let n = format!("c{k}");
        g.initializer.push(tensor(&n, i));
        names.push(n);
    }
    for (j, node) in m.nodes.iter().take(6).enumerate() {
        let (domain, op, _) = ops[node.op as usize % ops.len()];
        let input = node
            .inputs
            .iter()
            .take(6)
            .map(|&b| {
                if b == 255 || names.is_empty() {
                    String::new()
                } else {
                    names[b as usize % names.len()].clone()
                }
            })
            .collect();
        let output: Vec<String> = (0..1 + node.n_out % 3).map(|k| format!("n{j}_{k}")).collect();
        names.extend(output.iter().cloned());
        g.node.push(NodeProto {
            input,
            output,
            name: Some(format!("node{j}")),
            op_type: Some(op.into()),
            domain: Some(domain.into()),
            attribute: node.attrs.iter().take(6).map(attr).collect(),
            ..Default::default()
        });
    }
    for &o in m.outputs.iter().take(3) {
        if !names.is_empty() {
            let n = names[o as usize % names.len()].clone();
            g.output.push(ValueInfoProto { name: Some(n), ..Default::default() });
        }
    }
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![
            OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(7 + (m.opset % 15) as i64),
            },
            OperatorSetIdProto { domain: Some("com.microsoft".into()), version: Some(1) },
        ],
        graph: Some(g),
        ..Default::default()
    }
}

fuzz_target!(|m: Model| {
    let ops = qcc_onnx::ops::supported_ops();
    let bytes = build(&m, &ops).encode_to_vec();
    let opts = qcc_onnx::ImportOptions { limits: qcc::fuzzing::limits(), ..Default::default() };
    let Ok(g) = qcc_onnx::import_bytes(&bytes, &opts) else { return };
    let _ = qcc_ir::verify::verify(&g);
    let _ = qcc_ir::print::print(&g);
    // Run what imported, when every input has a small fixed shape.
    let mut inputs = Vec::new();
    for &id in g.inputs() {
        let ty = &g.node(id).results[0];
        let Some(shape) = ty.shape.as_fixed() else { return };
        let n: usize = shape.iter().product();
        if n > 4096 {
            return;
        }
        let Ok(t) = qcc_ir::Tensor::from_i64_saturating(ty.dtype, shape, &vec![1; n]) else {
            return;
        };
        inputs.push(t);
    }
    let _ = qcc_ir::interp::run(&g, &inputs);
});
