//! Export of typed-form quantized graphs as QDQ ONNX: every quantized value gets
//! QuantizeLinear/DequantizeLinear with scale/zero-point initializers, and the result
//! re-imports. The exported model is written to `CARGO_TARGET_TMPDIR/typed_qdq.onnx` so it can
//! be checked with ONNX Runtime by hand.

use prost::Message;
use qcc_ir::{DType, Graph, Op, Quant, Shape, Tensor, TensorType};
use qcc_onnx::proto::ModelProto;
use qcc_onnx::{export_model, import_bytes, ImportOptions};

fn typed_graph() -> Graph {
    let mut g = Graph::new("typed");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[1, 4]));
    let qt = TensorType::fixed(DType::U8, &[1, 4]).with_quant(Quant::tensor(0.1, 128));
    let q = g.add_op(Op::Quantize, "q", &[x], qt).expect("quantize");
    let w = Tensor::i8(&[4, 3], vec![1, -2, 3, 4, -5, 6, 7, -8, 9, 10, -11, 12]);
    let ws = vec![0.01, 0.02, 0.03];
    let wt = TensorType::fixed(DType::I8, &[4, 3])
        .with_quant(Quant::Axis { axis: 1, scales: ws.clone(), zero_points: vec![0; 3] });
    let w = g.add_const_typed("w", w, wt);
    let acc_scales: Vec<f32> = ws.iter().map(|s| 0.1 * s).collect();
    let at = TensorType::fixed(DType::I32, &[1, 3])
        .with_quant(Quant::Axis { axis: 1, scales: acc_scales, zero_points: vec![0; 3] });
    let acc = g.add_op(Op::QMatMul, "mm", &[q, w], at).expect("qmatmul");
    let rt = TensorType::fixed(DType::U8, &[1, 3]).with_quant(Quant::tensor(0.05, 100));
    let r = g.add_op(Op::Requantize, "rq", &[acc], rt).expect("requantize");
    let y = g
        .add_op(Op::Dequantize, "dq", &[r], TensorType::new(DType::F32, Shape::fixed(&[1, 3])))
        .expect("dequantize");
    g.add_output("y", y).expect("output");
    g.add_output("y_q", r).expect("output");
    g
}

#[test]
fn typed_quantized_graph_exports_as_qdq() {
    let g = typed_graph();
    let bytes = export_model(&g).expect("exports");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("typed_qdq.onnx");
    std::fs::write(&path, &bytes).expect("write");
    let m = ModelProto::decode(bytes.as_slice()).expect("valid protobuf");
    let graph = m.graph.expect("graph");
    let ops: Vec<String> = graph.node.iter().filter_map(|n| n.op_type.clone()).collect();
    let count = |t: &str| ops.iter().filter(|o| *o == t).count();
    assert_eq!(count("QuantizeLinear"), 2, "{ops:?}");
    assert!(count("DequantizeLinear") >= 2, "{ops:?}");
    assert_eq!(count("MatMul"), 1, "{ops:?}");
    assert!(!ops.iter().any(|o| o.starts_with('Q') && o != "QuantizeLinear"), "{ops:?}");
    // The per-channel weight keeps its i8 data and scales.
    let w = graph.initializer.iter().find(|t| t.name.as_deref() == Some("w")).expect("w");
    assert_eq!(w.data_type, Some(3));
    let ws = graph.initializer.iter().find(|t| t.name.as_deref() == Some("w.scale")).expect("scale");
    assert_eq!(ws.dims, vec![3]);
    let outs: Vec<_> = graph.output.iter().filter_map(|o| o.name.clone()).collect();
    assert_eq!(outs, vec!["y", "y_q"]);
    // It re-imports as ONNX-form quantized ops.
    let g2 = import_bytes(&bytes, &ImportOptions::default()).expect("re-imports");
    let n_q = g2.node_ids().iter().filter(|&&n| matches!(g2.node(n).op, Op::QuantizeLinear(_))).count();
    assert_eq!(n_q, 2);
    assert_eq!(g2.value_type(g2.outputs()[1].1).dtype, DType::U8);
}
