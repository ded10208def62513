//! Which float ops of `qcc_ir::Op` the shared lowering accepts: every op of the list below is
//! built as a one-node f32 graph (typical operands: constant exponents, pads, repeats, sizes)
//! and must lower, so a layer left in float compiles on both native backends. The test prints
//! the ops that fail before asserting, so one run lists every gap.

use qcc_ir::ops::*;
use qcc_ir::{DType, Graph, Op, Tensor, TensorType, Value};

fn f32t(s: &[usize]) -> TensorType {
    TensorType::fixed(DType::F32, s)
}

fn i64c(g: &mut Graph, name: &str, v: Vec<i64>) -> Value {
    let n = v.len();
    g.add_const(name, Tensor::i64(&[n], v))
}

/// A graph applying `op` to a runtime f32 `[2, 3, 4, 5]` input (plus the op's usual constant
/// operands), with `nres` results.
fn graph(op: &Op) -> Result<Graph, String> {
    let mut g = Graph::new("t");
    let s = [2usize, 3, 4, 5];
    let x = g.add_input("x", f32t(&s));
    let mut ins = vec![x];
    let mut nres = 1;
    match op {
        Op::Pow => ins.push(g.add_const("p", Tensor::scalar_f32(3.0))),
        Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual => {
            ins.push(g.add_input("b", f32t(&[4, 5])))
        }
        Op::Where => {
            let c = g.add_input("c", TensorType::fixed(DType::Bool, &[4, 1]));
            let y = g.add_input("y", f32t(&[5]));
            ins = vec![c, x, y];
        }
        Op::Split(_) => {
            ins.push(i64c(&mut g, "sizes", vec![1, 2]));
            nres = 2;
        }
        Op::Tile => ins.push(i64c(&mut g, "reps", vec![1, 2, 1, 3])),
        Op::Pad(_) => ins.push(i64c(&mut g, "pads", vec![0, 0, 1, 2, 0, 1, 2, 1])),
        Op::Resize(_) => {
            ins.push(g.add_const("roi", Tensor::f32(&[0], vec![])));
            ins.push(g.add_const("scales", Tensor::f32(&[4], vec![1.0, 1.0, 2.0, 1.5])));
        }
        Op::ReduceProd(_) | Op::ReduceSumSquare(_) => ins.push(i64c(&mut g, "axes", vec![1])),
        _ => {}
    }
    let dt = match op {
        Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual => DType::Bool,
        Op::ArgMax(_) | Op::ArgMin(_) => DType::I64,
        _ => DType::F32,
    };
    let ty = TensorType::unknown(dt);
    let ins: Vec<Option<Value>> = ins.into_iter().map(Some).collect();
    let id = g.add_node(op.clone(), "op", &ins, vec![ty; nres]).map_err(|e| e.to_string())?;
    let out = g.results(id);
    for (i, v) in out.into_iter().enumerate() {
        g.add_output(format!("y{i}"), v).map_err(|e| e.to_string())?;
    }
    qcc_ir::infer::infer_graph(&mut g).map_err(|e| e.to_string())?;
    Ok(g)
}

fn float_ops() -> Vec<Op> {
    let red = ReduceAttrs::default();
    let arg = ArgAttrs { axis: 1, keepdims: true, select_last_index: false };
    vec![
        Op::Tanh,
        Op::Log,
        Op::Softplus,
        Op::Sin,
        Op::Cos,
        Op::Elu(AlphaAttrs { alpha: 1.0 }),
        Op::HardSigmoid(HardSigmoidAttrs::default()),
        Op::Gelu(GeluAttrs { approximate: GeluApprox::Tanh }),
        Op::Pow,
        Op::Equal,
        Op::Less,
        Op::LessOrEqual,
        Op::Greater,
        Op::GreaterOrEqual,
        Op::Where,
        Op::LogSoftmax(AxisAttrs { axis: -1 }),
        Op::Pad(PadAttrs::default()),
        Op::Pad(PadAttrs { mode: PadMode::Reflect }),
        Op::Pad(PadAttrs { mode: PadMode::Edge }),
        Op::Pad(PadAttrs { mode: PadMode::Wrap }),
        Op::Split(SplitAttrs { axis: 1 }),
        Op::Tile,
        Op::Resize(ResizeAttrs::default()),
        Op::Resize(ResizeAttrs { mode: ResizeMode::Linear, ..Default::default() }),
        Op::ArgMax(arg),
        Op::ArgMin(arg),
        Op::GlobalMaxPool,
        Op::ReduceProd(red),
        Op::ReduceSumSquare(red),
    ]
}

#[test]
fn every_float_op_lowers() {
    let mut failed = Vec::new();
    for op in float_ops() {
        let name = format!("{}{}", op.name(), serde_like(&op));
        match graph(&op) {
            Err(e) => failed.push(format!("{name}: graph: {e}")),
            Ok(g) => {
                if let Err(e) = qcc_lowering::lower(&g) {
                    failed.push(format!("{name}: {e}"));
                }
            }
        }
    }
    for f in &failed {
        eprintln!("does not lower: {f}");
    }
    assert!(failed.is_empty(), "{} float ops do not lower", failed.len());
}

/// The attributes worth telling apart in the report.
fn serde_like(op: &Op) -> String {
    match op {
        Op::Pad(a) => format!("({:?})", a.mode),
        Op::Resize(a) => format!("({:?})", a.mode),
        _ => String::new(),
    }
}
