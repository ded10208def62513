//! Symbolic dimensions stay symbolic unless bound by `ImportOptions::input_shapes`; once bound,
//! shape subgraphs (`Shape → Gather → Unsqueeze → Concat → Reshape`) fold to constants.

use prost::Message;
use qcc_ir::{Dim, Op};
use qcc_onnx::proto::{
    tensor_shape_proto::{self, dimension},
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use qcc_onnx::{import_bytes, tensor_to_proto, ImportOptions};
use std::collections::HashMap;

fn vi(name: &str, dims: &[dimension::Value]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| tensor_shape_proto::Dimension {
                            value: Some(d.clone()),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, ins: &[&str], out: &str) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(out.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        ..Default::default()
    }
}

/// y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [2, 2])) + z (z also `[N, 4]`).
fn model() -> Vec<u8> {
    use dimension::Value::{DimParam, DimValue};
    let n = || DimParam("N".into());
    let mut gather = node("Gather", &["shape", "zero"], "batch");
    gather.attribute.push(AttributeProto {
        name: Some("axis".into()),
        i: Some(0),
        r#type: Some(2),
        ..Default::default()
    });
    let mut concat = node("Concat", &["batch1", "rest"], "new_shape");
    concat.attribute.push(AttributeProto {
        name: Some("axis".into()),
        i: Some(0),
        r#type: Some(2),
        ..Default::default()
    });
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(GraphProto {
            name: Some("sym".into()),
            node: vec![
                node("Add", &["x", "z"], "xz"),
                node("Shape", &["xz"], "shape"),
                gather,
                node("Unsqueeze", &["batch", "axes"], "batch1"),
                concat,
                node("Reshape", &["xz", "new_shape"], "y"),
            ],
            initializer: vec![
                tensor_to_proto("zero", &qcc_ir::Tensor::i64(&[], vec![0])),
                tensor_to_proto("axes", &qcc_ir::Tensor::i64(&[1], vec![0])),
                tensor_to_proto("rest", &qcc_ir::Tensor::i64(&[2], vec![2, 2])),
            ],
            input: vec![vi("x", &[n(), DimValue(4)]), vi("z", &[n(), DimValue(4)])],
            output: vec![vi("y", &[n(), DimValue(2), DimValue(2)])],
            ..Default::default()
        }),
        ..Default::default()
    };
    m.encode_to_vec()
}

fn count(g: &qcc_ir::Graph, f: fn(&Op) -> bool) -> usize {
    g.node_ids().iter().filter(|&&n| f(&g.node(n).op)).count()
}

#[test]
fn unbound_symbols_stay_symbolic() {
    let g = import_bytes(&model(), &ImportOptions::default()).expect("imports");
    let x = g.input_by_name("x").expect("x");
    assert_eq!(g.value_type(x).shape.dims().expect("rank")[0], Dim::Sym("N".into()));
    // The batch extent is unknown, so the shape subgraph stays.
    assert_eq!(count(&g, |o| matches!(o, Op::Shape(_))), 1);
    let y = g.outputs()[0].1;
    assert_eq!(g.value_type(y).shape.dims().expect("rank")[0], Dim::Sym("N".into()));
}

#[test]
fn bound_symbols_fold_shape_subgraphs() {
    let opts = ImportOptions {
        input_shapes: HashMap::from([("x".to_string(), vec![3, 4])]),
        ..Default::default()
    };
    let g = import_bytes(&model(), &opts).expect("imports");
    // Binding `x` binds the symbol N, so `z` is [3, 4] too.
    let z = g.input_by_name("z").expect("z");
    assert_eq!(g.value_type(z).shape.as_fixed(), Some(vec![3, 4]));
    for f in [
        (|o: &Op| matches!(o, Op::Shape(_))) as fn(&Op) -> bool,
        |o| matches!(o, Op::Gather(_)),
        |o| matches!(o, Op::Concat(_)),
        |o| matches!(o, Op::Unsqueeze),
    ] {
        assert_eq!(count(&g, f), 0, "{}", qcc_ir::print::print(&g));
    }
    let y = g.outputs()[0].1;
    let reshape = y.node;
    let shape = g.operand(reshape, 1).expect("shape operand");
    assert_eq!(g.const_value(shape).expect("folded").as_i64().expect("i64"), &[3, 2, 2]);
    assert_eq!(g.value_type(y).shape.as_fixed(), Some(vec![3, 2, 2]));
}

#[test]
fn a_bound_shape_must_fit_the_model() {
    let opts = ImportOptions {
        input_shapes: HashMap::from([("x".to_string(), vec![3, 5])]),
        ..Default::default()
    };
    assert!(import_bytes(&model(), &opts).is_err());
}
