//! Verifier tests: one violating graph per rule, error collection, and a well-formed graph of
//! each phase.

use qcc_ir::ops::{ConvAttrs, CustomOp, QLinearAttrs};
use qcc_ir::verify::{verify, VerifyErrors};
use qcc_ir::{
    ConstId, DType, Data, Dim, Graph, NodeId, Op, Phase, Quant, Shape, Tensor, TensorType,
};

fn f32t(dims: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, dims)
}

fn sym(dtype: DType, dims: &[&str]) -> TensorType {
    let d = dims
        .iter()
        .map(|s| s.parse::<usize>().map(Dim::Fixed).unwrap_or_else(|_| Dim::Sym(s.to_string())))
        .collect();
    TensorType::new(dtype, Shape(Some(d)))
}

fn q(dtype: DType, dims: &[usize], scale: f32, zp: i32) -> TensorType {
    TensorType::fixed(dtype, dims).with_quant(Quant::tensor(scale, zp))
}

fn errors(g: &Graph) -> VerifyErrors {
    verify(g).expect_err("the graph should not verify")
}

/// Asserts that some error mentions `needle` (and, if given, is attached to `node`).
fn assert_reported(g: &Graph, needle: &str, node: Option<NodeId>) {
    let e = errors(g);
    let hit = e.iter().any(|x| x.message.contains(needle) && (node.is_none() || x.node == node));
    assert!(hit, "no error containing `{needle}` on {node:?}; got:\n{e}");
}

fn at(g: &mut Graph, p: Phase) {
    g.advance_phase(p).unwrap();
}

/// x → Relu → y, with fixed shapes.
fn simple() -> (Graph, qcc_ir::Value) {
    let mut g = Graph::new("simple");
    let x = g.add_input("x", f32t(&[2, 3]));
    let r = g.add_op(Op::Relu, "relu", &[x], f32t(&[2, 3])).unwrap();
    g.add_output("y", r).unwrap();
    (g, r)
}

// ----- well-formed graphs of each phase -----

#[test]
fn imported_graph_with_partial_types_passes() {
    let mut g = Graph::new("imported");
    let x = g.add_input("x", TensorType::unknown(DType::F32));
    let r = g.add_op(Op::Relu, "relu", &[x], TensorType::unknown(DType::F32)).unwrap();
    g.add_output("y", r).unwrap();
    verify(&g).unwrap();
}

#[test]
fn typed_graph_with_symbols_and_custom_passes() {
    let mut g = Graph::new("typed");
    let x = g.add_input("x", sym(DType::F32, &["N", "3", "8", "8"]));
    let w = g.add_const("w", Tensor::f32(&[4, 3, 3, 3], vec![0.1; 108]));
    let c = g
        .add_op(
            Op::Conv(ConvAttrs::default()),
            "conv",
            &[x, w],
            sym(DType::F32, &["N", "4", "6", "6"]),
        )
        .unwrap();
    let custom = Op::Custom(CustomOp {
        domain: "x".into(),
        name: "Mystery".into(),
        attrs: Default::default(),
    });
    let m = g.add_op(custom, "mystery", &[c], sym(DType::F32, &["N", "?"])).unwrap();
    g.add_output("y", m).unwrap();
    at(&mut g, Phase::Typed);
    verify(&g).unwrap();
}

fn quantized_graph() -> Graph {
    let mut g = Graph::new("quantized");
    let x = g.add_input("x", f32t(&[1, 3, 4, 4]));
    let xq = g.add_op(Op::Quantize, "q", &[x], q(DType::U8, &[1, 3, 4, 4], 0.5, 128)).unwrap();
    let wq = TensorType::fixed(DType::I8, &[2, 3, 3, 3]).with_quant(Quant::Axis {
        axis: 0,
        scales: vec![0.25, 0.125],
        zero_points: vec![0, 0],
    });
    let w = g.add_const_typed("w", Tensor::i8(&[2, 3, 3, 3], vec![1; 54]), wq);
    let bias = g.add_const("b", Tensor::i32(&[2], vec![10, -10]));
    let acc_q =
        Quant::Axis { axis: 1, scales: vec![0.5 * 0.25, 0.5 * 0.125], zero_points: vec![0, 0] };
    let acc_t = TensorType::fixed(DType::I32, &[1, 2, 2, 2]).with_quant(acc_q);
    let acc = g.add_op(Op::QConv(ConvAttrs::default()), "qconv", &[xq, w, bias], acc_t).unwrap();
    let y = g.add_op(Op::Requantize, "rq", &[acc], q(DType::I8, &[1, 2, 2, 2], 0.1, -5)).unwrap();
    let d = g.add_op(Op::Dequantize, "dq", &[y], f32t(&[1, 2, 2, 2])).unwrap();
    g.add_output("y", d).unwrap();
    g
}

#[test]
fn quantized_and_lowered_graphs_pass() {
    let mut g = quantized_graph();
    at(&mut g, Phase::Quantized);
    verify(&g).unwrap();
    at(&mut g, Phase::Fused);
    verify(&g).unwrap();
    at(&mut g, Phase::Lowered);
    verify(&g).unwrap();
}

// ----- always -----

#[test]
fn cycle_is_reported() {
    let (mut g, r) = simple();
    let r2 = g.add_op(Op::Relu, "relu2", &[r], f32t(&[2, 3])).unwrap();
    g.set_operand(r.node, 0, Some(r2)).unwrap();
    assert_reported(&g, "cycle", None);
}

#[test]
fn operand_count_is_checked() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let bad = g.add_op(Op::Relu, "relu", &[x, x], f32t(&[2])).unwrap();
    assert_reported(&g, "takes 1 operands, the node has 2", Some(bad.node));
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let bad = g.add_op(Op::Add, "add", &[x], f32t(&[2])).unwrap();
    assert_reported(&g, "takes 2 operands", Some(bad.node));
}

#[test]
fn required_slots_are_checked() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[1, 1, 3, 3]));
    let conv = g
        .add_node(
            Op::Conv(ConvAttrs::default()),
            "conv",
            &[Some(x), None],
            vec![f32t(&[1, 1, 1, 1])],
        )
        .unwrap();
    assert_reported(&g, "required operand 1 (w) is missing", Some(conv));
}

#[test]
fn result_count_is_checked() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let n = g.add_node(Op::Relu, "relu", &[Some(x)], vec![f32t(&[2]), f32t(&[2])]).unwrap();
    assert_reported(&g, "gives 1 results, the node has 2", Some(n));
    let n = g.add_node(Op::DynamicQuantizeLinear, "dql", &[Some(x)], vec![f32t(&[2])]).unwrap();
    assert_reported(&g, "gives 3 results", Some(n));
}

#[test]
fn edges_must_refer_to_existing_results() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let n = g
        .add_node(
            Op::DynamicQuantizeLinear,
            "dql",
            &[Some(x)],
            vec![TensorType::fixed(DType::U8, &[2]), f32t(&[]), TensorType::fixed(DType::U8, &[])],
        )
        .unwrap();
    let user = g
        .add_op(
            Op::Identity,
            "id",
            &[qcc_ir::Value { node: n, index: 2 }],
            TensorType::fixed(DType::U8, &[]),
        )
        .unwrap();
    g.node_mut(n).results.truncate(2);
    assert_reported(&g, "missing result 2", Some(user.node));
}

#[test]
fn outputs_must_exist_and_names_be_unique() {
    let (mut g, r) = simple();
    g.add_output("y", r).unwrap();
    assert_reported(&g, "duplicate graph output name `y`", None);
    let (mut g, r) = simple();
    g.node_mut(r.node).results.clear();
    assert_reported(&g, "graph output `y` refers to a missing value", None);
}

#[test]
fn input_names_must_be_unique_and_inputs_listed() {
    let (mut g, _) = simple();
    let dup = g.add_input("x", f32t(&[1]));
    assert_reported(&g, "duplicate graph input name `x`", Some(dup.node));
    let (mut g, _) = simple();
    let stray = g.add_node(Op::Input, "stray", &[], vec![f32t(&[1])]).unwrap();
    assert_reported(&g, "not among the graph inputs", Some(stray));
}

#[test]
fn constants_must_match_their_type() {
    let mut g = Graph::new("g");
    let wrong_dtype = g.add_const_typed(
        "a",
        Tensor::f32(&[2], vec![1.0, 2.0]),
        TensorType::fixed(DType::I32, &[2]),
    );
    let wrong_shape = g.add_const_typed("b", Tensor::f32(&[2], vec![1.0, 2.0]), f32t(&[1, 2]));
    let missing = g.add_node(Op::Constant(ConstId(99)), "c", &[], vec![f32t(&[1])]).unwrap();
    let e = errors(&g);
    assert!(
        e.iter().any(|x| x.node == Some(wrong_dtype.node) && x.message.contains("dtype f32")),
        "{e}"
    );
    assert!(
        e.iter().any(|x| x.node == Some(wrong_shape.node) && x.message.contains("shape [2]")),
        "{e}"
    );
    assert!(
        e.iter()
            .any(|x| x.node == Some(missing) && x.message.contains("not in the constant table")),
        "{e}"
    );
}

#[test]
fn four_bit_constants_live_in_bytes_and_in_range() {
    let mut g = Graph::new("g");
    let t = Tensor::with_dtype(DType::I4, vec![3], Data::I8(vec![-8, 0, 7])).unwrap();
    g.add_const("ok", t);
    verify(&g).unwrap();
    let bad = Tensor { dtype: DType::I4, shape: vec![2], data: Data::I8(vec![3, 9]) };
    let v = g.add_const_typed("bad", bad, TensorType::fixed(DType::I4, &[2]));
    assert_reported(&g, "value 9 is outside the range of i4", Some(v.node));
    let mut g = Graph::new("g");
    let storage = Tensor { dtype: DType::U4, shape: vec![1], data: Data::I8(vec![1]) };
    let v = g.add_const_typed("s", storage, TensorType::fixed(DType::U4, &[1]));
    assert_reported(&g, "stored as i8", Some(v.node));
}

#[test]
fn quant_params_must_be_well_formed() {
    let cases: Vec<(TensorType, &str)> = vec![
        (q(DType::I8, &[2], 0.0, 0), "scale 0 must be finite and > 0"),
        (q(DType::I8, &[2], f32::NAN, 0), "finite"),
        (q(DType::U8, &[2], 1.0, 300), "zero point 300 is outside the range of u8"),
        (q(DType::I4, &[2], 1.0, 8), "outside the range of i4"),
        (f32t(&[2]).with_quant(Quant::tensor(1.0, 0)), "cannot carry quantization"),
        (
            TensorType::fixed(DType::I8, &[3, 2]).with_quant(Quant::Axis {
                axis: 0,
                scales: vec![1.0; 2],
                zero_points: vec![0; 2],
            }),
            "2 scales for axis 0 of extent 3",
        ),
        (
            TensorType::fixed(DType::I8, &[3]).with_quant(Quant::Axis {
                axis: 1,
                scales: vec![1.0],
                zero_points: vec![0],
            }),
            "axis 1 is not < rank 1",
        ),
        (
            TensorType::fixed(DType::I8, &[2]).with_quant(Quant::Axis {
                axis: 0,
                scales: vec![1.0; 2],
                zero_points: vec![0],
            }),
            "2 scales but 1 zero points",
        ),
        (
            // [4, 10] in blocks of 4 on axis 1: ceil(10/4) = 3 blocks per row, 12 scales.
            TensorType::fixed(DType::I4, &[4, 10]).with_quant(Quant::Block {
                axis: 1,
                block: 4,
                scales: vec![1.0; 8],
                zero_points: vec![0; 8],
            }),
            "need 12 scales, got 8",
        ),
        (
            TensorType::fixed(DType::I4, &[4]).with_quant(Quant::Block {
                axis: 0,
                block: 0,
                scales: vec![],
                zero_points: vec![],
            }),
            "block size",
        ),
    ];
    for (t, needle) in cases {
        let mut g = Graph::new("g");
        let x = g.add_input("x", t.clone());
        assert_reported(&g, needle, Some(x.node));
    }
    let mut g = Graph::new("g");
    let ok = TensorType::fixed(DType::I4, &[4, 10]).with_quant(Quant::Block {
        axis: 1,
        block: 4,
        scales: vec![1.0; 12],
        zero_points: vec![0; 12],
    });
    g.add_input("x", ok);
    verify(&g).unwrap();
}

#[test]
fn all_errors_are_collected_and_shown_inline() {
    let mut g = Graph::new("many");
    let x = g.add_input("x", f32t(&[2]));
    let a = g.add_op(Op::Relu, "too_many", &[x, x], f32t(&[2])).unwrap();
    let b =
        g.add_node(Op::Sigmoid, "two_results", &[Some(x)], vec![f32t(&[2]), f32t(&[2])]).unwrap();
    let c = g.add_input("bad_quant", q(DType::I8, &[2], -1.0, 0));
    g.add_output("o", a).unwrap();
    g.add_output("o", x).unwrap();
    let e = errors(&g);
    assert!(e.len() >= 4, "{e}");
    let nodes: Vec<_> = e.iter().map(|x| x.node).collect();
    for n in [Some(a.node), Some(b), Some(c.node), None] {
        assert!(nodes.contains(&n), "missing an error on {n:?}:\n{e}");
    }
    let text = e.to_string();
    for needle in
        ["too_many", "two_results", "bad_quant", "duplicate graph output name `o`", "scale -1"]
    {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
    // Each error is printed after its node's line.
    let node_line = text.find("too_many").unwrap();
    let err_line = text.find("takes 1 operands").unwrap();
    assert!(err_line > node_line, "{text}");
}

// ----- Typed and later -----

#[test]
fn typed_requires_known_ranks() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", TensorType::unknown(DType::F32));
    let r = g.add_op(Op::Relu, "relu", &[x], TensorType::unknown(DType::F32)).unwrap();
    verify(&g).unwrap();
    at(&mut g, Phase::Typed);
    assert_reported(&g, "unknown rank", Some(x.node));
    assert_reported(&g, "unknown rank", Some(r.node));
}

#[test]
fn typed_declared_types_must_agree_with_inference() {
    let mut g = Graph::new("g");
    let a = g.add_input("a", sym(DType::F32, &["N", "3"]));
    let b = g.add_input("b", f32t(&[3]));
    let wrong_shape = g.add_op(Op::Add, "add", &[a, b], sym(DType::F32, &["N", "4"])).unwrap();
    let wrong_dtype = g.add_op(Op::Less, "less", &[a, b], sym(DType::F32, &["N", "3"])).unwrap();
    // A symbol where inference knows the extent is compatible.
    let fine = g.add_op(Op::Mul, "mul", &[a, b], sym(DType::F32, &["M", "?"])).unwrap();
    let c = g.add_input("c", f32t(&[5]));
    let bad = g.add_op(Op::Add, "bad", &[a, c], sym(DType::F32, &["N", "5"])).unwrap();
    at(&mut g, Phase::Typed);
    let e = errors(&g);
    let on = |v: qcc_ir::Value, s: &str| {
        e.iter().any(|x| x.node == Some(v.node) && x.message.contains(s))
    };
    assert!(on(wrong_shape, "declared f32[N,4], inference gives f32[N,3]"), "{e}");
    assert!(on(wrong_dtype, "inference gives bool[N,3]"), "{e}");
    assert!(on(bad, "type inference fails"), "{e}");
    assert!(!e.iter().any(|x| x.node == Some(fine.node)), "{e}");
    // At Imported the same graph passes the type rules.
    let mut g2 = Graph::new("g");
    let a = g2.add_input("a", f32t(&[3]));
    g2.add_op(Op::Add, "add", &[a, a], f32t(&[4])).unwrap();
    verify(&g2).unwrap();
}

#[test]
fn custom_ops_are_rejected_when_lowered() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let c = Op::Custom(CustomOp {
        domain: "".into(),
        name: "Mystery".into(),
        attrs: Default::default(),
    });
    let n = g.add_op(c, "m", &[x], f32t(&[2])).unwrap();
    at(&mut g, Phase::Fused);
    verify(&g).unwrap();
    at(&mut g, Phase::Lowered);
    assert_reported(&g, "custom op `Mystery`", Some(n.node));
}

// ----- Quantized and later -----

#[test]
fn quantized_ops_need_their_parameters() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[4]));
    let plain = g.add_op(Op::Quantize, "q", &[x], TensorType::fixed(DType::I8, &[4])).unwrap();
    at(&mut g, Phase::Typed);
    verify(&g).unwrap();
    at(&mut g, Phase::Quantized);
    assert_reported(&g, "needs a quantized result type", Some(plain.node));

    let mut g = Graph::new("g");
    let a = g.add_input("a", q(DType::I8, &[4], 0.5, 0));
    let b = g.add_input("b", TensorType::fixed(DType::I8, &[4]));
    let add = g.add_op(Op::QAdd, "qadd", &[a, b], q(DType::I8, &[4], 1.0, 0)).unwrap();
    at(&mut g, Phase::Quantized);
    assert_reported(&g, "operand 1 (b) needs a quantized type", Some(add.node));
}

// ----- Lowered -----

#[test]
fn lowered_forbids_onnx_quant_ops_and_symbolic_shapes() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", sym(DType::F32, &["N", "4"]));
    let s = g.add_const("s", Tensor::scalar_f32(0.5));
    let ql = g
        .add_op(
            Op::QuantizeLinear(QLinearAttrs::default()),
            "ql",
            &[x, s],
            sym(DType::U8, &["N", "4"]),
        )
        .unwrap();
    g.add_output("y", ql).unwrap();
    at(&mut g, Phase::Fused);
    verify(&g).unwrap();
    at(&mut g, Phase::Lowered);
    assert_reported(&g, "ONNX-form quantized op QuantizeLinear", Some(ql.node));
    assert_reported(&g, "not fully known", Some(x.node));
}

#[test]
fn listing_shows_errors_of_nodes_the_printer_leaves_out() {
    // A non-Input node listed as a graph input: the plain listing is used.
    let (mut g, r) = simple();
    g.set_input_order(vec![r.node]);
    let e = errors(&g);
    let text = e.to_string();
    assert!(text.contains("relu") && text.contains("is not an Input node"), "{text}");
    // An Input node missing from the graph inputs: its error is listed on top.
    let (mut g, _) = simple();
    g.add_node(Op::Input, "stray", &[], vec![f32t(&[1])]).unwrap();
    let text = errors(&g).to_string();
    assert!(text.contains("%stray") && text.contains("not among the graph inputs"), "{text}");
}
