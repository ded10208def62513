//! `infer_graph`: whole graphs in topological order.

use super::*;
use qcc_ir::ops::{AxisAttrs, ConvAttrs, GemmAttrs, PoolAttrs, ReshapeAttrs, SplitAttrs};
use qcc_ir::{Graph, Value};

fn unknown(d: DType) -> TensorType {
    TensorType::unknown(d)
}

#[test]
fn fills_a_small_cnn_with_a_symbolic_batch() {
    let mut g = Graph::new("cnn");
    let x = g.add_input("x", ty("f32[N,3,32,32]"));
    let w = g.add_const("w", Tensor::f32(&[8, 3, 3, 3], vec![0.0; 216]));
    let b = g.add_const("b", Tensor::f32(&[8], vec![0.0; 8]));
    let conv = Op::Conv(ConvAttrs { pads: vec![1, 1, 1, 1], ..Default::default() });
    let c = g.add_op(conv, "conv", &[x, w, b], unknown(DType::F32)).unwrap();
    let r = g.add_op(Op::Relu, "relu", &[c], unknown(DType::F32)).unwrap();
    let pool = PoolAttrs { kernel_shape: vec![2, 2], strides: vec![2, 2], ..Default::default() };
    let p = g.add_op(Op::MaxPool(pool), "pool", &[r], unknown(DType::F32)).unwrap();
    let f =
        g.add_op(Op::Flatten(AxisAttrs { axis: 1 }), "flat", &[p], unknown(DType::F32)).unwrap();
    let fw = g.add_const("fw", Tensor::f32(&[10, 2048], vec![0.0; 20480]));
    let gemm = Op::Gemm(GemmAttrs { trans_b: true, ..Default::default() });
    let y = g.add_op(gemm, "fc", &[f, fw], unknown(DType::F32)).unwrap();
    g.add_output("y", y).unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    assert_eq!(g.value_type(c), &ty("f32[N,8,32,32]"));
    assert_eq!(g.value_type(p), &ty("f32[N,8,16,16]"));
    assert_eq!(g.value_type(f), &ty("f32[N,2048]"));
    assert_eq!(g.value_type(y), &ty("f32[N,10]"));
}

#[test]
fn constant_operands_drive_reshape_and_split() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", ty("f32[N,6,4]"));
    let shape = g.add_const("shape", ints(&[0, -1]));
    let r = g
        .add_op(Op::Reshape(ReshapeAttrs::default()), "reshape", &[x, shape], unknown(DType::F32))
        .unwrap();
    let sizes = g.add_const("sizes", ints(&[20, 4]));
    let split = g
        .add_node(
            Op::Split(SplitAttrs { axis: 1 }),
            "split",
            &[Some(r), Some(sizes)],
            vec![unknown(DType::F32); 2],
        )
        .unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    assert_eq!(g.value_type(r), &ty("f32[N,24]"));
    assert_eq!(g.value_type(Value { node: split, index: 0 }), &ty("f32[N,20]"));
    assert_eq!(g.value_type(Value { node: split, index: 1 }), &ty("f32[N,4]"));
}

#[test]
fn declared_extents_refine_unknown_ones() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", ty("f32[N,12]"));
    let s = g.add_input("s", ty("i64[2]"));
    // The shape is computed at run time; the frontend knows the result is [N,12].
    let r = g
        .add_op(Op::Reshape(ReshapeAttrs::default()), "reshape", &[x, s], ty("f32[N,12]"))
        .unwrap();
    qcc_ir::infer::infer_graph(&mut g).unwrap();
    assert_eq!(g.value_type(r), &ty("f32[N,12]"));
}

#[test]
fn errors_name_the_node_and_op() {
    let mut g = Graph::new("g");
    let a = g.add_input("a", ty("f32[2,3]"));
    let b = g.add_input("b", ty("f32[4,3]"));
    let s = g.add_op(Op::Add, "my_add", &[a, b], unknown(DType::F32)).unwrap();
    g.add_output("s", s).unwrap();
    let e = qcc_ir::infer::infer_graph(&mut g).unwrap_err();
    assert_eq!(e.node.as_deref(), Some("my_add"));
    assert_eq!(e.op, "Add");
    let msg = e.to_string();
    assert!(msg.contains("my_add") && msg.contains("Add") && msg.contains("broadcast"), "{msg}");
}

#[test]
fn a_cycle_is_an_error() {
    let mut g = Graph::new("g");
    let a = g.add_input("a", ty("f32[2]"));
    let r1 = g.add_op(Op::Relu, "r1", &[a], unknown(DType::F32)).unwrap();
    let r2 = g.add_op(Op::Relu, "r2", &[r1], unknown(DType::F32)).unwrap();
    g.set_operand(r1.node, 0, Some(r2)).unwrap();
    let e = qcc_ir::infer::infer_graph(&mut g).unwrap_err();
    assert!(e.to_string().contains("cycle"), "{e}");
}

#[test]
fn the_hand_built_models_infer_to_their_declared_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models");
    for name in ["mlp_tiny.qir", "convnet_tiny.qir"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("model text");
        let declared = qcc_ir::parse::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut g = declared.clone();
        for id in g.node_ids() {
            if !matches!(g.node(id).op, Op::Input | Op::Constant(_)) {
                for t in &mut g.node_mut(id).results {
                    *t = unknown(t.dtype);
                }
            }
        }
        qcc_ir::infer::infer_graph(&mut g).unwrap_or_else(|e| panic!("{name}: {e}"));
        for id in g.node_ids() {
            assert_eq!(
                g.node(id).results,
                declared.node(id).results,
                "{name}: {}",
                g.node(id).name
            );
        }
        g.advance_phase(qcc_ir::Phase::Typed).unwrap();
        qcc_ir::verify::verify(&g).unwrap_or_else(|e| panic!("{name}:\n{e}"));
    }
}
