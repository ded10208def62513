//! Constant folding: every pure node whose operands are all constants is evaluated once and
//! replaced by constant nodes; `Shape` and `Size` of a value whose shape is fully known fold
//! too, whatever produces the value (this is what turns exported shape subgraphs such as
//! `Shape → Gather → Concat → Reshape` into constants once input shapes are bound).
//!
//! [`fold_constants`] evaluates with the reference interpreter (`interp::eval_op`);
//! [`fold_constants_with`] takes another evaluator. Folded results larger than
//! [`MAX_FOLDED_ELEMENTS`] are left unfolded so folding never blows up the constant table
//! (an `Expand` of a scalar to a huge shape stays an `Expand`).
//!
//! Quantization boundaries (`QuantizeLinear`, `DequantizeLinear`, `Quantize`, `Dequantize`) are
//! never folded: `DequantizeLinear(int8 weight, scale)` is how a pre-quantized model carries its
//! weights' scales, and folding it would turn them back into f32 weights.

use crate::graph::{Graph, GraphError, NodeId};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::TensorType;

/// Largest result (elements, all results of a node together) that folding materializes.
pub const MAX_FOLDED_ELEMENTS: usize = 1 << 22;

/// Errors from constant folding.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    /// A graph operation failed.
    #[error("graph: {0}")]
    Graph(#[from] GraphError),
    /// Evaluating a node whose operands are all constant failed: the model is inconsistent
    /// (e.g. a shape computation out of bounds).
    #[error("folding node `{node}` ({op}): {msg}")]
    Eval {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// The evaluator's message.
        msg: String,
    },
}

/// An evaluator of one node: `(op, operand types, operands, declared result types)` → results.
pub type Evaluator<'a> = dyn FnMut(
        &Op,
        &[Option<&TensorType>],
        &[Option<&Tensor>],
        &[TensorType],
    ) -> Result<Vec<Tensor>, String>
    + 'a;

/// Folds constants with the reference interpreter. Returns the number of nodes folded.
pub fn fold_constants(g: &mut Graph) -> Result<usize, FoldError> {
    fold_constants_with(g, &mut |op, tys, ops, res| {
        crate::interp::eval_op(op, tys, ops, res).map_err(|e| e.to_string())
    })
}

/// `Shape`/`Size` of a fully known shape, without evaluating anything.
fn fold_shape(g: &Graph, id: NodeId) -> Option<Tensor> {
    let node = g.node(id);
    let x = g.operand(id, 0)?;
    let dims = g.value_type(x).shape.as_fixed()?;
    match &node.op {
        Op::Shape(a) => {
            let r = dims.len() as i64;
            let clamp = |i: i64| -> usize { (if i < 0 { i + r } else { i }).clamp(0, r) as usize };
            let start = clamp(a.start);
            let end = clamp(a.end.unwrap_or(r));
            let v: Vec<i64> = dims[start..end.max(start)].iter().map(|&d| d as i64).collect();
            Some(Tensor::i64(&[v.len()], v))
        }
        Op::Size => {
            let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
            Some(Tensor::i64(&[], vec![n as i64]))
        }
        _ => None,
    }
}

/// Folds constants with `eval`. Returns the number of nodes folded.
pub fn fold_constants_with(g: &mut Graph, eval: &mut Evaluator<'_>) -> Result<usize, FoldError> {
    let mut folded = 0;
    for id in g.topo_order()? {
        if !g.contains(id) {
            continue;
        }
        let node = g.node(id).clone();
        if matches!(node.op, Op::Input | Op::Constant(_)) || !node.op.is_pure() {
            continue;
        }
        if matches!(
            node.op,
            Op::QuantizeLinear(_) | Op::DequantizeLinear(_) | Op::Quantize | Op::Dequantize
        ) {
            continue;
        }
        let operands = g.operands(id);
        let results: Vec<Tensor> = if let Some(t) = fold_shape(g, id) {
            vec![t]
        } else {
            if operands.iter().flatten().any(|v| g.const_value(*v).is_none()) {
                continue;
            }
            if operands.iter().all(Option::is_none) {
                continue;
            }
            // Results whose inferred size is already too large are not even evaluated (a
            // hostile `ConstantOfShape`/`Expand` would allocate terabytes before the check below).
            let known: Option<usize> = node.results.iter().try_fold(0usize, |acc, t| {
                let n = t.shape.as_fixed()?.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                Some(acc.saturating_add(n.unwrap_or(usize::MAX)))
            });
            if known.is_some_and(|n| n > MAX_FOLDED_ELEMENTS) {
                continue;
            }
            let tensors: Vec<Option<Tensor>> = operands
                .iter()
                .map(|o| o.and_then(|v| g.const_value(v)).map(|t| (**t).clone()))
                .collect();
            let tys: Vec<Option<TensorType>> =
                operands.iter().map(|o| o.map(|v| g.value_type(v).clone())).collect();
            let tys_ref: Vec<Option<&TensorType>> = tys.iter().map(Option::as_ref).collect();
            let ts_ref: Vec<Option<&Tensor>> = tensors.iter().map(Option::as_ref).collect();
            let out = eval(&node.op, &tys_ref, &ts_ref, &node.results).map_err(|msg| {
                FoldError::Eval { node: node.name.clone(), op: node.op.name().to_string(), msg }
            })?;
            if out.len() != node.results.len() {
                return Err(FoldError::Eval {
                    node: node.name.clone(),
                    op: node.op.name().to_string(),
                    msg: format!("{} results, the node has {}", out.len(), node.results.len()),
                });
            }
            if out.iter().map(Tensor::numel).sum::<usize>() > MAX_FOLDED_ELEMENTS {
                continue;
            }
            out
        };
        let n = results.len();
        for (k, t) in results.into_iter().enumerate() {
            let name = if n == 1 { node.name.clone() } else { format!("{}:{k}", node.name) };
            let mut ty = TensorType::fixed(t.dtype, &t.shape);
            ty.quant = node.results[k].quant.clone();
            let c = g.add_const_typed(name, t, ty);
            let old = crate::graph::Value { node: id, index: k as u32 };
            g.replace_all_uses(old, c)?;
        }
        g.remove_node(id)?;
        folded += 1;
        // Constants that only fed the folded node go too.
        for v in operands.into_iter().flatten() {
            if g.contains(v.node)
                && matches!(g.node(v.node).op, Op::Constant(_))
                && !g.results(v.node).into_iter().any(|r| g.is_used(r))
            {
                g.remove_node(v.node)?;
            }
        }
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{QLinearAttrs, ShapeAttrs};
    use crate::{DType, Shape};

    #[test]
    fn folds_constant_arithmetic_and_known_shapes() {
        let mut g = Graph::new("t");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[2, 3]));
        let a = g.add_const("a", Tensor::f32(&[3], vec![1.0, 2.0, 3.0]));
        let b = g.add_const("b", Tensor::f32(&[3], vec![10.0, 20.0, 30.0]));
        let s = g.add_op(Op::Add, "s", &[a, b], TensorType::unknown(DType::F32)).expect("add");
        let y = g.add_op(Op::Add, "y", &[x, s], TensorType::unknown(DType::F32)).expect("add");
        let sh = g
            .add_op(
                Op::Shape(ShapeAttrs { start: 1, end: None }),
                "sh",
                &[x],
                TensorType::unknown(DType::I64),
            )
            .expect("shape");
        g.add_output("y", y).expect("out");
        g.add_output("sh", sh).expect("out");
        let mut calls = 0;
        let n = fold_constants_with(&mut g, &mut |op, _, ops, _| {
            calls += 1;
            assert!(matches!(op, Op::Add));
            let (a, b) = (
                ops[0].expect("a").as_f32().expect("f32"),
                ops[1].expect("b").as_f32().expect("f32"),
            );
            Ok(vec![Tensor::f32(&[3], a.iter().zip(b).map(|(x, y)| x + y).collect())])
        })
        .expect("folds");
        assert_eq!((n, calls), (2, 1));
        let s_now = g.operand(g.outputs()[0].1.node, 1).expect("operand");
        assert_eq!(
            g.const_value(s_now).expect("const").as_f32().expect("f32"),
            &[11.0, 22.0, 33.0]
        );
        assert_eq!(g.const_value(g.outputs()[1].1).expect("const").as_i64().expect("i64"), &[3]);
        // The constants that only fed the folded Add are gone.
        assert!(g.node_ids().iter().all(|&n| g.node(n).name != "a" && g.node(n).name != "b"));
    }

    #[test]
    fn leaves_dequantize_of_constant_weights_alone() {
        let mut g = Graph::new("t");
        let w = g.add_const("w", Tensor::i8(&[2], vec![1, -1]));
        let s = g.add_const("s", Tensor::scalar_f32(0.5));
        let d = g
            .add_op(
                Op::DequantizeLinear(QLinearAttrs::default()),
                "dq",
                &[w, s],
                TensorType::new(DType::F32, Shape::unknown()),
            )
            .expect("dq");
        g.add_output("d", d).expect("out");
        let n = fold_constants_with(&mut g, &mut |_, _, _, _| Err("must not be called".into()))
            .expect("nothing to fold");
        assert_eq!(n, 0);
    }

    #[test]
    fn evaluation_errors_name_the_node() {
        let mut g = Graph::new("t");
        let a = g.add_const("a", Tensor::scalar_f32(1.0));
        let y = g.add_op(Op::Neg, "neg", &[a], TensorType::unknown(DType::F32)).expect("neg");
        g.add_output("y", y).expect("out");
        let e = fold_constants_with(&mut g, &mut |_, _, _, _| Err("boom".into())).unwrap_err();
        assert!(e.to_string().contains("`neg`") && e.to_string().contains("boom"), "{e}");
    }
}
