//! Type and shape inference (ONNX semantics), per node and over a whole graph.
//!
//! [`infer_node`] computes a node's result types from its operand types, the values of its
//! constant operands and the types it declares now; [`infer_graph`] runs it over a graph in
//! topological order and stores the results. Shapes are symbolic: named symbols (`N`) propagate,
//! and `?` stands for an extent that cannot be known statically. Ops whose result depends on an
//! operand's value (Reshape, Slice, Pad, ...) read it when it is a constant and otherwise give the
//! rank and as many extents as can be known.
//!
//! Ops whose result dtype or quantization is a choice of the producer (Quantize, Requantize,
//! QAdd, QMul, QAveragePool, QGlobalAveragePool, QConcat, Lut) keep the declared dtype and
//! quantization and infer only the shape; Custom returns its declared types unchanged.
//!
//! The rules are split by op family: [`dims`] (symbolic dimension arithmetic), `elementwise`,
//! `linalg` (conv, pool, gemm, matmul), `reduce`, `shape` (data movement) and `quant`.

pub mod dims;
mod elementwise;
mod linalg;
mod quant;
mod reduce;
mod shape;

use crate::graph::{Graph, GraphError};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::{Shape, TensorType};

/// A type inference failure: the op (and, from [`infer_graph`], the node) and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{op}: {message}", node_prefix(.node))]
pub struct InferError {
    /// The node's name, when known (set by [`infer_graph`]).
    pub node: Option<String>,
    /// The op's name.
    pub op: String,
    /// What is wrong.
    pub message: String,
}

fn node_prefix(node: &Option<String>) -> String {
    match node {
        Some(n) => format!("node `{n}`: "),
        None => String::new(),
    }
}

/// The result of inference helpers: a message that [`infer_node`] turns into an [`InferError`].
pub(crate) type R<T> = Result<T, String>;

/// What one node's inference sees.
pub(crate) struct Ctx<'a> {
    pub op: &'a Op,
    pub types: &'a [Option<&'a TensorType>],
    pub consts: &'a [Option<&'a Tensor>],
    pub declared: &'a [TensorType],
}

/// Names of operand slots for messages (`operand 1 (w)`).
fn slot_name(op: &Op, i: usize) -> Option<&'static str> {
    use Op::*;
    let names: &[&str] = match op {
        Conv(_) | ConvTranspose(_) | QConv(_) => &["x", "w", "bias"],
        Gemm(_) => &["a", "b", "c"],
        MatMul | QMatMul | QAdd | QMul => &["a", "b", "bias"],
        Where => &["cond", "x", "y"],
        Clip => &["x", "min", "max"],
        LayerNormalization(_) => &["x", "scale", "bias"],
        BatchNormalization(_) => &["x", "scale", "bias", "mean", "var"],
        InstanceNormalization(_) => &["x", "scale", "bias"],
        Reshape(_) | Expand => &["x", "shape"],
        Slice => &["x", "starts", "ends", "axes", "steps"],
        Pad(_) => &["x", "pads", "constant_value", "axes"],
        Resize(_) => &["x", "roi", "scales", "sizes"],
        Gather(_) | GatherElements(_) => &["data", "indices"],
        Squeeze | Unsqueeze => &["x", "axes"],
        Tile => &["x", "repeats"],
        Split(_) => &["x", "split"],
        Range => &["start", "limit", "delta"],
        QuantizeLinear(_) | DequantizeLinear(_) => &["x", "scale", "zero_point"],
        QLinearConv(_) => &["x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "b"],
        QLinearMatMul => &["a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"],
        MatMulInteger => &["a", "b", "a_zp", "b_zp"],
        ConvInteger(_) => &["x", "w", "x_zp", "w_zp"],
        Lut => &["x", "table"],
        ReduceMean(_) | ReduceSum(_) | ReduceMax(_) | ReduceMin(_) | ReduceProd(_)
        | ReduceSumSquare(_) => &["x", "axes"],
        _ => &[],
    };
    names.get(i).copied()
}

/// `operand 1 (w)` or `operand 1`.
pub(crate) fn operand_label(op: &Op, i: usize) -> String {
    match slot_name(op, i) {
        Some(n) => format!("operand {i} ({n})"),
        None => format!("operand {i}"),
    }
}

impl<'a> Ctx<'a> {
    /// The type of a required operand.
    pub fn ty(&self, i: usize) -> R<&'a TensorType> {
        self.opt_ty(i).ok_or_else(|| format!("{} is missing", operand_label(self.op, i)))
    }
    /// The type of an optional operand.
    pub fn opt_ty(&self, i: usize) -> Option<&'a TensorType> {
        self.types.get(i).copied().flatten()
    }
    /// The constant value of an operand, if it is a constant.
    pub fn konst(&self, i: usize) -> Option<&'a Tensor> {
        self.consts.get(i).copied().flatten()
    }
    /// The integer values of a constant operand (`None` when not constant).
    pub fn const_ints(&self, i: usize) -> R<Option<Vec<i64>>> {
        match self.konst(i) {
            None => Ok(None),
            Some(t) => t.to_i64_vec().map(Some).ok_or_else(|| {
                format!("{} must be an integer tensor, got {}", operand_label(self.op, i), t.dtype)
            }),
        }
    }
    /// The float values of a constant operand (`None` when not constant).
    pub fn const_floats(&self, i: usize) -> Option<Vec<f64>> {
        self.konst(i).map(|t| t.to_f64_vec())
    }
    /// The declared type of result `i`.
    pub fn declared(&self, i: usize) -> R<&'a TensorType> {
        self.declared.get(i).ok_or_else(|| {
            format!("result {i} needs a declared type (its dtype/quantization is a choice)")
        })
    }
    /// Error unless operand `i` has a dtype accepted by `ok`.
    pub fn expect_dtype(&self, i: usize, what: &str, ok: impl Fn(crate::DType) -> bool) -> R<()> {
        let t = self.ty(i)?;
        if ok(t.dtype) {
            Ok(())
        } else {
            Err(format!("{} must be {what}, got {}", operand_label(self.op, i), t))
        }
    }
    /// Error unless operand `i` has the same dtype as operand `j`.
    pub fn same_dtype(&self, i: usize, j: usize) -> R<()> {
        let (a, b) = (self.ty(i)?, self.ty(j)?);
        if a.dtype == b.dtype {
            Ok(())
        } else {
            Err(format!(
                "{} ({}) and {} ({}) must have the same dtype",
                operand_label(self.op, i),
                a.dtype,
                operand_label(self.op, j),
                b.dtype
            ))
        }
    }
    /// The rank of operand `i` if known, erroring when it is known and not `want`.
    pub fn expect_rank(&self, i: usize, want: usize) -> R<()> {
        match self.ty(i)?.shape.rank() {
            Some(r) if r != want => Err(format!(
                "{} must have rank {want}, got {}",
                operand_label(self.op, i),
                self.ty(i)?.shape
            )),
            _ => Ok(()),
        }
    }
}

/// Infers the result types of one node.
///
/// `operand_types[i]` is the type of operand slot `i` (`None`: missing optional operand),
/// `consts[i]` its value when it is a constant, `declared` the node's current result types (one
/// per result). Returns one type per result.
pub fn infer_node(
    op: &Op,
    operand_types: &[Option<&TensorType>],
    consts: &[Option<&Tensor>],
    declared: &[TensorType],
) -> Result<Vec<TensorType>, InferError> {
    let cx = Ctx { op, types: operand_types, consts, declared };
    dispatch(&cx).map_err(|message| InferError { node: None, op: op.name().to_string(), message })
}

fn dispatch(cx: &Ctx<'_>) -> R<Vec<TensorType>> {
    use Op::*;
    let one = |t: R<TensorType>| t.map(|t| vec![t]);
    match cx.op {
        Input | Constant(_) => match cx.declared.first() {
            Some(t) => Ok(vec![t.clone()]),
            None => Err("an input or constant needs its declared type".into()),
        },
        Custom(_) => Ok(cx.declared.to_vec()),
        Identity => one(Ok(cx.ty(0)?.clone())),
        Conv(_) | ConvTranspose(_) | Gemm(_) | MatMul | MaxPool(_) | AveragePool(_)
        | GlobalAveragePool | GlobalMaxPool => one(linalg::infer(cx)),
        Add
        | Sub
        | Mul
        | Div
        | Pow
        | Mod
        | Max
        | Min
        | Equal
        | Less
        | LessOrEqual
        | Greater
        | GreaterOrEqual
        | And
        | Or
        | Xor
        | Where
        | Relu
        | LeakyRelu(_)
        | Elu(_)
        | Clip
        | Sigmoid
        | HardSigmoid(_)
        | HardSwish
        | Tanh
        | Erf
        | Gelu(_)
        | Exp
        | Log
        | Sqrt
        | Reciprocal
        | Neg
        | Abs
        | Floor
        | Ceil
        | Round
        | Sign
        | Not
        | Softplus
        | Sin
        | Cos
        | Softmax(_)
        | LogSoftmax(_)
        | LayerNormalization(_)
        | BatchNormalization(_)
        | InstanceNormalization(_)
        | Cast(_) => one(elementwise::infer(cx)),
        ReduceMean(_) | ReduceSum(_) | ReduceMax(_) | ReduceMin(_) | ReduceProd(_)
        | ReduceSumSquare(_) | ArgMax(_) | ArgMin(_) => one(reduce::infer(cx)),
        Split(_) => shape::split(cx),
        Reshape(_) | Flatten(_) | Transpose(_) | Concat(_) | Slice | Gather(_)
        | GatherElements(_) | Squeeze | Unsqueeze | Expand | Tile | Pad(_) | Resize(_)
        | Shape(_) | Size | ConstantOfShape(_) | Range | DepthToSpace(_) => one(shape::infer(cx)),
        QuantizeLinear(_)
        | DequantizeLinear(_)
        | DynamicQuantizeLinear
        | QLinearConv(_)
        | QLinearMatMul
        | MatMulInteger
        | ConvInteger(_)
        | Quantize
        | Dequantize
        | Requantize
        | QConv(_)
        | QMatMul
        | QAdd
        | QMul
        | QAveragePool(_)
        | QGlobalAveragePool
        | QConcat(_)
        | Lut => quant::infer(cx),
    }
}

/// Keeps the more precise of an inferred and a declared shape: where inference gives an unknown
/// rank or `?` and the declaration is compatible, the declared extent is kept (frontends often
/// know shapes that inference cannot derive, e.g. after a Reshape by a computed shape).
fn refine(inferred: Shape, declared: &Shape) -> Shape {
    match (inferred.0, declared.dims()) {
        (None, Some(_)) => declared.clone(),
        (Some(inf), Some(dec)) if inf.len() == dec.len() => Shape(Some(
            inf.into_iter()
                .zip(dec)
                .map(|(i, d)| if dims::is_anon(&i) { d.clone() } else { i })
                .collect(),
        )),
        (inf, _) => Shape(inf),
    }
}

/// Infers every node's result types in topological order and stores them.
///
/// Input and Constant nodes keep their types. Where inference cannot know an extent (`?` or
/// unknown rank) and the node declares one, the declared extent is kept. Errors name the node
/// and its op.
pub fn infer_graph(g: &mut Graph) -> Result<(), InferError> {
    let order = g.topo_order().map_err(|e| {
        let node = match &e {
            GraphError::Cycle(n) => Some(n.clone()),
            _ => None,
        };
        InferError { node, op: String::new(), message: e.to_string() }
    })?;
    for id in order {
        let node = g.node(id);
        if matches!(node.op, Op::Input | Op::Constant(_)) {
            continue;
        }
        let operands = g.operands(id);
        let mut types = Vec::with_capacity(operands.len());
        for v in &operands {
            match v {
                Some(v) => {
                    let producer =
                        g.try_node(v.node).filter(|p| (v.index as usize) < p.results.len());
                    if producer.is_none() {
                        return Err(InferError {
                            node: Some(node.name.clone()),
                            op: node.op.name().to_string(),
                            message: format!("an operand refers to a missing value {v:?}"),
                        });
                    }
                    types.push(Some(g.value_type(*v)));
                }
                None => types.push(None),
            }
        }
        let consts: Vec<Option<&Tensor>> =
            operands.iter().map(|v| v.and_then(|v| g.const_value(v)).map(|t| &**t)).collect();
        let inferred = infer_node(&node.op, &types, &consts, &node.results)
            .map_err(|e| InferError { node: Some(node.name.clone()), ..e })?;
        if inferred.len() != node.results.len() {
            return Err(InferError {
                node: Some(node.name.clone()),
                op: node.op.name().to_string(),
                message: format!(
                    "the node has {} results, the op gives {}",
                    node.results.len(),
                    inferred.len()
                ),
            });
        }
        let refined: Vec<TensorType> = inferred
            .into_iter()
            .zip(&node.results)
            .map(|(t, d)| TensorType { shape: refine(t.shape, &d.shape), ..t })
            .collect();
        g.node_mut(id).results = refined;
    }
    Ok(())
}
