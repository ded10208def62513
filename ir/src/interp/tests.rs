//! Tests of the graph executor: input checking, observation, errors naming the node.

use super::*;
use crate::ops::{CustomOp, ReshapeAttrs};
use crate::types::Shape;

fn sym(dims: &[&str]) -> Shape {
    Shape(Some(
        dims.iter()
            .map(|d| d.parse::<usize>().map(Dim::Fixed).unwrap_or_else(|_| Dim::Sym(d.to_string())))
            .collect(),
    ))
}

/// y = relu(a + b) · c, with a constant c.
fn small_graph() -> (Graph, Value, Value) {
    let mut g = Graph::new("t");
    let a = g.add_input("a", TensorType::new(DType::F32, sym(&["N", "3"])));
    let b = g.add_input("b", TensorType::new(DType::F32, sym(&["N", "3"])));
    let c = g.add_const("c", Tensor::f32(&[3], vec![1., 2., 3.]));
    let t = TensorType::new(DType::F32, sym(&["N", "3"]));
    let s = g.add_op(Op::Add, "sum", &[a, b], t.clone()).unwrap();
    let r = g.add_op(Op::Relu, "relu", &[s], t.clone()).unwrap();
    let y = g.add_op(Op::Mul, "scale", &[r, c], t).unwrap();
    g.add_output("y", y).unwrap();
    g.add_output("s", s).unwrap();
    (g, s, y)
}

#[test]
fn runs_and_observes_every_computed_value() {
    let (g, s, y) = small_graph();
    let a = Tensor::f32(&[2, 3], vec![1., -2., 3., 4., 5., -6.]);
    let b = Tensor::f32(&[2, 3], vec![0., 0., 1., -5., 0., 0.]);
    let mut seen = Vec::new();
    let out =
        run_observed(&g, &[a.clone(), b.clone()], &mut |v, t| seen.push((v, t.numel()))).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].as_f32().unwrap(), &[1., 0., 12., 0., 10., 0.]);
    assert_eq!(out[1].as_f32().unwrap(), &[1., -2., 4., -1., 5., -6.]);
    // two inputs + three ops, not the constant
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().any(|(v, _)| *v == s) && seen.iter().any(|(v, _)| *v == y));
    assert_eq!(run(&g, &[a, b]).unwrap(), out);
}

#[test]
fn input_checks() {
    let (g, _, _) = small_graph();
    let a = Tensor::f32(&[2, 3], vec![0.; 6]);
    assert!(matches!(
        run(&g, std::slice::from_ref(&a)),
        Err(InterpError::InputCount { expected: 2, got: 1 })
    ));
    let b = Tensor::f32(&[3, 3], vec![0.; 9]);
    let e = run(&g, &[a.clone(), b]).unwrap_err();
    assert!(
        matches!(&e, InterpError::Input { name, what } if name == "b" && what.contains('N')),
        "{e}"
    );
    let b = Tensor::f32(&[2, 4], vec![0.; 8]);
    assert!(matches!(run(&g, &[a.clone(), b]), Err(InterpError::Input { .. })));
    let b = Tensor::i32(&[2, 3], vec![0; 6]);
    assert!(matches!(run(&g, &[a.clone(), b]), Err(InterpError::Input { .. })));
    let b = Tensor::f32(&[6], vec![0.; 6]);
    assert!(matches!(run(&g, &[a.clone(), b]), Err(InterpError::Input { .. })));
    let bad = Tensor { dtype: DType::F32, shape: vec![2, 3], data: crate::Data::F32(vec![0.; 5]) };
    assert!(matches!(run(&g, &[a, bad]), Err(InterpError::Input { .. })));
}

#[test]
fn anonymous_dims_do_not_bind() {
    let mut g = Graph::new("t");
    let a = g.add_input("a", TensorType::new(DType::F32, sym(&["?"])));
    let b = g.add_input("b", TensorType::new(DType::F32, sym(&["?"])));
    let c = g
        .add_op(
            Op::Concat(crate::ops::AxisAttrs { axis: 0 }),
            "cat",
            &[a, b],
            TensorType::unknown(DType::F32),
        )
        .unwrap();
    g.add_output("c", c).unwrap();
    let out = run(&g, &[Tensor::f32(&[1], vec![1.]), Tensor::f32(&[2], vec![2., 3.])]).unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[1., 2., 3.]);
}

#[test]
fn errors_name_the_node() {
    let mut g = Graph::new("t");
    let a = g.add_input("a", TensorType::fixed(DType::F32, &[4]));
    let s = g.add_const("s", Tensor::i64(&[1], vec![3]));
    let r = g
        .add_op(
            Op::Reshape(ReshapeAttrs::default()),
            "bad_reshape",
            &[a, s],
            TensorType::unknown(DType::F32),
        )
        .unwrap();
    g.add_output("r", r).unwrap();
    let e = run(&g, &[Tensor::f32(&[4], vec![0.; 4])]).unwrap_err();
    assert!(
        matches!(&e, InterpError::Node { node, op, error: OpError::Shape(_) } if node == "bad_reshape" && op == "Reshape"),
        "{e}"
    );
    assert!(e.to_string().contains("bad_reshape"));

    let mut g = Graph::new("t");
    let a = g.add_input("a", TensorType::fixed(DType::F32, &[4]));
    let custom = Op::Custom(CustomOp {
        domain: "com.example".into(),
        name: "Frobnicate".into(),
        attrs: Default::default(),
    });
    let r = g.add_op(custom, "frob", &[a], TensorType::unknown(DType::F32)).unwrap();
    g.add_output("r", r).unwrap();
    let e = run(&g, &[Tensor::f32(&[4], vec![0.; 4])]).unwrap_err();
    assert!(e.to_string().contains("Frobnicate") && e.to_string().contains("frob"), "{e}");
}

#[test]
fn eval_op_checks_result_count_and_arity() {
    let x = Tensor::f32(&[2], vec![1., 2.]);
    let two = vec![TensorType::unknown(DType::F32); 2];
    assert!(matches!(
        eval_op(&Op::Relu, &[], &[Some(&x)], &two),
        Err(InterpError::Node { error: OpError::ResultCount { .. }, .. })
    ));
    assert!(matches!(
        eval_op(&Op::Add, &[], &[Some(&x)], &[]),
        Err(InterpError::Node { error: OpError::Arity { .. }, .. })
    ));
    assert!(matches!(
        eval_op(&Op::Add, &[], &[Some(&x), None], &[]),
        Err(InterpError::Node { error: OpError::MissingOperand(1), .. })
    ));
    assert!(matches!(
        eval_op(&Op::Input, &[], &[], &[]),
        Err(InterpError::Node { error: OpError::NotEvaluable(_), .. })
    ));
    let bad = Tensor { dtype: DType::F32, shape: vec![3], data: crate::Data::F32(vec![0.; 2]) };
    assert!(eval_op(&Op::Relu, &[], &[Some(&bad)], &[]).is_err());
}

#[test]
fn multi_result_split_in_graph_and_freeing() {
    let mut g = Graph::new("t");
    let a = g.add_input("a", TensorType::fixed(DType::I32, &[4]));
    let id = g
        .add_node(
            Op::Split(crate::ops::SplitAttrs { axis: 0 }),
            "split",
            &[Some(a)],
            vec![TensorType::unknown(DType::I32); 2],
        )
        .unwrap();
    let (p, q) = (Value { node: id, index: 0 }, Value { node: id, index: 1 });
    let s = g.add_op(Op::Sub, "sub", &[q, p], TensorType::unknown(DType::I32)).unwrap();
    let t = g.add_op(Op::Neg, "neg", &[s], TensorType::unknown(DType::I32)).unwrap();
    g.add_output("t", t).unwrap();
    let out = run(&g, &[Tensor::i32(&[4], vec![1, 2, 10, 20])]).unwrap();
    assert_eq!(out[0].as_i32().unwrap(), &[-9, -18]);
}
