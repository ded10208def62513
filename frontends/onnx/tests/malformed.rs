//! Bad input gives typed errors, never a panic: truncated or corrupted protobuf, missing
//! initializers, dangling names, external data leaving the model's folder, and unsupported ops
//! (all listed in one error).

use prost::Message;
use qcc_onnx::proto::tensor_proto::DataLocation;
use qcc_onnx::proto::{
    tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use qcc_onnx::{import_bytes, import_file, tensor_to_proto, ImportOptions, OnnxError};
use std::path::PathBuf;

fn vi(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
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

fn node(op: &str, name: &str, ins: &[&str], outs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(nodes: Vec<NodeProto>, inits: Vec<TensorProto>, out: &str) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            initializer: inits,
            input: vec![vi("x", &[2, 3])],
            output: vec![vi(out, &[2, 3])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn weight() -> TensorProto {
    tensor_to_proto("w", &qcc_ir::Tensor::f32(&[2, 3], (0..6).map(|i| i as f32).collect()))
}

fn good() -> ModelProto {
    model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![weight()], "y")
}

#[test]
fn a_good_model_imports() {
    let g = import_bytes(&good().encode_to_vec(), &ImportOptions::default()).expect("imports");
    assert_eq!(g.inputs().len(), 1);
    assert_eq!(g.outputs().len(), 1);
}

#[test]
fn truncated_protobuf_is_a_decode_error() {
    let bytes = good().encode_to_vec();
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        match import_bytes(&bytes[..cut], &ImportOptions::default()) {
            Err(OnnxError::Decode { .. }) | Err(OnnxError::NoGraph) => {}
            Err(e) => panic!("cut at {cut}: unexpected error kind: {e}"),
            Ok(_) => panic!("cut at {cut}: a truncated model imported"),
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let bytes = good().encode_to_vec();
    let mut errors = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            // Ok or a typed error; a panic fails the test.
            errors += import_bytes(&b, &ImportOptions::default()).is_err() as usize;
        }
    }
    assert!(errors > 0, "no corruption was detected at all");
}

#[test]
fn missing_initializer_names_the_node_and_value() {
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![], "y");
    match import_bytes(&m.encode_to_vec(), &ImportOptions::default()) {
        Err(e @ OnnxError::UndefinedValue { .. }) => {
            let s = e.to_string();
            assert!(s.contains("`add`") && s.contains("`w`") && s.contains("Add"), "{s}");
        }
        other => panic!("expected UndefinedValue, got {other:?}"),
    }
}

#[test]
fn dangling_names_are_errors() {
    let m = model(vec![node("Relu", "r", &["nothing"], &["y"])], vec![], "y");
    assert!(matches!(
        import_bytes(&m.encode_to_vec(), &ImportOptions::default()),
        Err(OnnxError::UndefinedValue { .. })
    ));
    let m = model(vec![node("Relu", "r", &["x"], &["y"])], vec![], "not_produced");
    match import_bytes(&m.encode_to_vec(), &ImportOptions::default()) {
        Err(OnnxError::UndefinedOutput(n)) => assert_eq!(n, "not_produced"),
        other => panic!("expected UndefinedOutput, got {other:?}"),
    }
}

#[test]
fn bad_tensor_contents_are_errors() {
    let mut w = weight();
    w.raw_data = Some(vec![0u8; 5]);
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![w], "y");
    assert!(matches!(
        import_bytes(&m.encode_to_vec(), &ImportOptions::default()),
        Err(OnnxError::BadTensor { .. })
    ));
    let mut w = weight();
    w.dims = vec![-1, 6];
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![w], "y");
    assert!(import_bytes(&m.encode_to_vec(), &ImportOptions::default()).is_err());
}

#[test]
fn unsupported_ops_are_all_listed_in_one_error() {
    let mut ms = node("FancyOp", "f1", &["x"], &["a"]);
    ms.domain = Some("com.example".into());
    let nodes = vec![
        node("TopK", "topk_1", &["x", "k"], &["t1", "i1"]),
        node("Relu", "relu", &["x"], &["r"]),
        node("TopK", "topk_2", &["r", "k"], &["t2", "i2"]),
        node("NonMaxSuppression", "nms", &["x", "x"], &["n"]),
        ms,
    ];
    let mut m = model(nodes, vec![], "r");
    m.opset_import
        .push(OperatorSetIdProto { domain: Some("com.example".into()), version: Some(3) });
    match import_bytes(&m.encode_to_vec(), &ImportOptions::default()) {
        Err(e @ OnnxError::UnsupportedOps(_)) => {
            let OnnxError::UnsupportedOps(list) = &e else { unreachable!() };
            assert_eq!(list.len(), 3, "{e}");
            let topk = list.iter().find(|u| u.op_type == "TopK").expect("TopK listed");
            assert_eq!(topk.nodes, vec!["topk_1", "topk_2"]);
            assert_eq!(topk.opset, 17);
            let s = e.to_string();
            for want in [
                "TopK",
                "topk_1",
                "topk_2",
                "NonMaxSuppression",
                "nms",
                "FancyOp",
                "com.example opset 3",
            ] {
                assert!(s.contains(want), "`{want}` missing from: {s}");
            }
        }
        other => panic!("expected UnsupportedOps, got {other:?}"),
    }
}

#[test]
fn bad_attribute_forms_are_errors() {
    let mut n = node("Conv", "c", &["x", "x"], &["y"]);
    n.attribute.push(AttributeProto {
        name: Some("strides".into()),
        ints: vec![-2],
        r#type: Some(7),
        ..Default::default()
    });
    let m = model(vec![n], vec![], "y");
    match import_bytes(&m.encode_to_vec(), &ImportOptions::default()) {
        Err(e @ OnnxError::BadNode { .. }) => assert!(e.to_string().contains("strides"), "{e}"),
        other => panic!("expected BadNode, got {other:?}"),
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qcc-onnx-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn external_weight(location: &str, offset: Option<u64>, length: Option<u64>) -> TensorProto {
    let mut w = weight();
    w.raw_data = None;
    w.data_location = Some(DataLocation::External as i32);
    let kv = |k: &str, v: String| StringStringEntryProto { key: Some(k.into()), value: Some(v) };
    w.external_data.push(kv("location", location.into()));
    if let Some(o) = offset {
        w.external_data.push(kv("offset", o.to_string()));
    }
    if let Some(l) = length {
        w.external_data.push(kv("length", l.to_string()));
    }
    w
}

fn import_with_external(dir: &std::path::Path, w: TensorProto) -> Result<qcc_ir::Graph, OnnxError> {
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![w], "y");
    let path = dir.join("model.onnx");
    std::fs::write(&path, m.encode_to_vec()).expect("write model");
    import_file(&path, &ImportOptions::default())
}

#[test]
fn external_data_loads_from_the_model_folder() {
    let dir = temp_dir("ext-ok");
    let t = qcc_ir::Tensor::f32(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let mut bytes = vec![9u8; 8];
    bytes.extend(t.to_le_bytes());
    std::fs::write(dir.join("weights.bin"), &bytes).expect("write data");
    let g = import_with_external(&dir, external_weight("weights.bin", Some(8), Some(24)))
        .expect("external data loads");
    let w = g.node_ids().into_iter().find(|&n| g.node(n).name == "w").expect("w");
    assert_eq!(**g.const_value(g.result(w)).expect("const"), t);
    // Past the end of the file.
    let e = import_with_external(&dir, external_weight("weights.bin", Some(16), Some(24)));
    assert!(matches!(e, Err(OnnxError::ExternalData { .. })), "{e:?}");
    // Without a folder (bytes only) external data is refused.
    let m = model(
        vec![node("Add", "add", &["x", "w"], &["y"])],
        vec![external_weight("weights.bin", None, None)],
        "y",
    );
    assert!(matches!(
        import_bytes(&m.encode_to_vec(), &ImportOptions::default()),
        Err(OnnxError::ExternalData { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn external_data_cannot_leave_the_model_folder() {
    let dir = temp_dir("ext-escape");
    let inner = dir.join("model");
    std::fs::create_dir_all(&inner).expect("dir");
    std::fs::write(dir.join("secret.bin"), vec![0u8; 24]).expect("write");
    for loc in ["../secret.bin", "sub/../../secret.bin"] {
        match import_with_external(&inner, external_weight(loc, None, None)) {
            Err(e @ OnnxError::ExternalData { .. }) => {
                assert!(e.to_string().contains(".."), "{e}")
            }
            other => panic!("{loc}: expected ExternalData error, got {other:?}"),
        }
    }
    let abs = dir.join("secret.bin");
    match import_with_external(&inner, external_weight(abs.to_str().expect("utf-8"), None, None)) {
        Err(e @ OnnxError::ExternalData { .. }) => {
            assert!(e.to_string().contains("absolute"), "{e}")
        }
        other => panic!("expected ExternalData error, got {other:?}"),
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("secret.bin"), inner.join("link.bin"))
            .expect("symlink");
        match import_with_external(&inner, external_weight("link.bin", None, None)) {
            Err(e @ OnnxError::ExternalData { .. }) => {
                assert!(e.to_string().contains("outside"), "{e}")
            }
            other => panic!("expected ExternalData error, got {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
