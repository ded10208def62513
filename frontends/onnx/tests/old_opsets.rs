//! Older opset forms (attributes that later became inputs) import into the IR's single form and
//! compute what the old op computed: Clip 6, Slice 9, Pad 2, ReduceSum 11, Squeeze/Unsqueeze 11,
//! Split 11, Softmax 11 (2-d coercion), Resize 10.

use prost::Message;
use qcc_ir::Tensor;
use qcc_onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TypeProto,
    ValueInfoProto,
};
use qcc_onnx::{import_bytes, tensor_to_proto, ImportOptions};

fn vi(name: &str, elem: i32) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: None,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        ints: v.to_vec(),
        r#type: Some(7),
        ..Default::default()
    }
}
fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: Some(name.into()), i: Some(i), r#type: Some(2), ..Default::default() }
}
fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: Some(name.into()), f: Some(f), r#type: Some(1), ..Default::default() }
}

/// Runs a one-node model of `op` at `opset` on `x` (plus initializers), returning all outputs.
fn run(
    opset: i64,
    op: &str,
    x: Tensor,
    extra: Vec<(&str, Tensor)>,
    attrs: Vec<AttributeProto>,
    n_out: usize,
) -> Vec<Tensor> {
    let outs: Vec<String> = (0..n_out).map(|i| format!("y{i}")).collect();
    let mut inputs = vec!["x".to_string()];
    inputs.extend(extra.iter().map(|(n, _)| n.to_string()));
    let m = ModelProto {
        ir_version: Some(7),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: Some("old".into()),
            node: vec![NodeProto {
                op_type: Some(op.into()),
                name: Some("n".into()),
                input: inputs,
                output: outs.clone(),
                attribute: attrs,
                ..Default::default()
            }],
            initializer: extra.iter().map(|(n, t)| tensor_to_proto(n, t)).collect(),
            input: vec![vi("x", qcc_onnx::dtype_to_onnx(x.dtype))],
            output: outs.iter().map(|o| vi(o, qcc_onnx::dtype_to_onnx(x.dtype))).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let g = import_bytes(&m.encode_to_vec(), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{op} opset {opset}: {e}"));
    qcc_ir::interp::run(&g, &[x]).unwrap_or_else(|e| panic!("{op} opset {opset}: {e}"))
}

fn close(a: &Tensor, shape: &[usize], want: &[f32]) {
    assert_eq!(a.shape, shape);
    let got = a.to_f32_vec();
    assert!(got.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-6), "{got:?} vs {want:?}");
}

#[test]
fn clip_6_bounds_are_attributes() {
    let x = Tensor::f32(&[3], vec![-2.0, 0.5, 3.0]);
    let y = run(6, "Clip", x, vec![], vec![float("min", -1.0), float("max", 1.0)], 1);
    close(&y[0], &[3], &[-1.0, 0.5, 1.0]);
}

#[test]
fn slice_9_starts_ends_axes_are_attributes() {
    let x = Tensor::f32(&[2, 4], (0..8).map(|i| i as f32).collect());
    let attrs = vec![ints("starts", &[1]), ints("ends", &[3]), ints("axes", &[1])];
    let y = run(9, "Slice", x, vec![], attrs, 1);
    close(&y[0], &[2, 2], &[1.0, 2.0, 5.0, 6.0]);
}

#[test]
fn pad_2_pads_and_value_are_attributes() {
    let x = Tensor::f32(&[2], vec![1.0, 2.0]);
    let y = run(2, "Pad", x, vec![], vec![ints("pads", &[1, 2]), float("value", 9.0)], 1);
    close(&y[0], &[5], &[9.0, 1.0, 2.0, 9.0, 9.0]);
}

#[test]
fn reduce_sum_11_axes_are_an_attribute() {
    let x = Tensor::f32(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = run(11, "ReduceSum", x, vec![], vec![ints("axes", &[1]), int("keepdims", 0)], 1);
    close(&y[0], &[2], &[6.0, 15.0]);
}

#[test]
fn squeeze_and_unsqueeze_11_axes_are_attributes() {
    let x = Tensor::f32(&[1, 2, 1], vec![1.0, 2.0]);
    let y = run(11, "Squeeze", x.clone(), vec![], vec![ints("axes", &[0])], 1);
    close(&y[0], &[2, 1], &[1.0, 2.0]);
    let y = run(11, "Unsqueeze", x, vec![], vec![ints("axes", &[0, 4])], 1);
    close(&y[0], &[1, 1, 2, 1, 1], &[1.0, 2.0]);
}

#[test]
fn split_11_sizes_are_an_attribute() {
    let x = Tensor::f32(&[5], vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = run(11, "Split", x, vec![], vec![ints("split", &[2, 3]), int("axis", 0)], 2);
    close(&y[0], &[2], &[1.0, 2.0]);
    close(&y[1], &[3], &[3.0, 4.0, 5.0]);
}

#[test]
fn softmax_11_coerces_to_2d() {
    // axis=1 on [2, 2, 2]: each sample's 4 values are one softmax row.
    let v: Vec<f32> = vec![0.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0];
    let x = Tensor::f32(&[2, 2, 2], v.clone());
    let y = run(11, "Softmax", x, vec![], vec![int("axis", 1)], 1);
    let row = |r: &[f32]| {
        let s: f32 = r.iter().map(|x| x.exp()).sum();
        r.iter().map(|x| x.exp() / s).collect::<Vec<_>>()
    };
    let mut want = row(&v[..4]);
    want.extend(row(&v[4..]));
    close(&y[0], &[2, 2, 2], &want);
}

#[test]
fn resize_10_takes_scales_as_second_input() {
    let x = Tensor::f32(&[1, 1, 1, 2], vec![1.0, 2.0]);
    let scales = Tensor::f32(&[4], vec![1.0, 1.0, 1.0, 2.0]);
    let y = run(10, "Resize", x, vec![("scales", scales)], vec![], 1);
    close(&y[0], &[1, 1, 1, 4], &[1.0, 1.0, 2.0, 2.0]);
}

#[test]
fn old_forms_are_rewritten_to_constant_operands() {
    let m = ModelProto {
        ir_version: Some(3),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(6) }],
        graph: Some(GraphProto {
            name: Some("clip".into()),
            node: vec![NodeProto {
                op_type: Some("Clip".into()),
                name: Some("c".into()),
                input: vec!["x".into()],
                output: vec!["y".into()],
                attribute: vec![float("min", -1.0)],
                ..Default::default()
            }],
            input: vec![vi("x", 1)],
            output: vec![vi("y", 1)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = ImportOptions { fold_constants: false, ..Default::default() };
    let g = import_bytes(&m.encode_to_vec(), &opts).expect("imports");
    let clip = g.outputs()[0].1.node;
    let ops = g.operands(clip);
    assert_eq!(ops.len(), 3);
    assert_eq!(g.const_value(ops[1].expect("min")).expect("const").as_f32().expect("f32"), &[-1.0]);
    assert!(ops[2].is_none(), "no max: a missing optional operand");
}

#[test]
fn resize_18_axes_become_full_rank_operands() {
    let x = Tensor::f32(&[1, 1, 1, 2], vec![1.0, 2.0]);
    let scales = Tensor::f32(&[1], vec![2.0]);
    // Resize(X, roi="", scales) with axes=[3]: an empty roi name is a missing operand.
    let outs: Vec<String> = vec!["y0".into()];
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(18) }],
        graph: Some(GraphProto {
            name: Some("r".into()),
            node: vec![NodeProto {
                op_type: Some("Resize".into()),
                name: Some("n".into()),
                input: vec!["x".into(), String::new(), "scales".into()],
                output: outs.clone(),
                attribute: vec![ints("axes", &[-1])],
                ..Default::default()
            }],
            initializer: vec![tensor_to_proto("scales", &scales)],
            input: vec![ValueInfoProto {
                name: Some("x".into()),
                r#type: Some(TypeProto {
                    value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                        elem_type: Some(1),
                        shape: Some(qcc_onnx::proto::TensorShapeProto {
                            dim: [1i64, 1, 1, 2]
                                .iter()
                                .map(|&d| qcc_onnx::proto::tensor_shape_proto::Dimension {
                                    value: Some(
                                        qcc_onnx::proto::tensor_shape_proto::dimension::Value::DimValue(d),
                                    ),
                                    ..Default::default()
                                })
                                .collect(),
                        }),
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            output: vec![vi("y0", 1)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let g = import_bytes(&m.encode_to_vec(), &ImportOptions::default()).expect("imports");
    let y = qcc_ir::interp::run(&g, &[x]).expect("runs");
    close(&y[0], &[1, 1, 1, 4], &[1.0, 1.0, 2.0, 2.0]);
}
