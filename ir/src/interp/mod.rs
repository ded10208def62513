//! The reference interpreter: executes a [`Graph`] on concrete tensors.
//!
//! It is the oracle of the compiler: every backend must match it bit for bit on integer ops.
//! Float ops are computed in f32 (f16/bf16 operands are widened to f32 and the result narrowed);
//! the f32 convolutions and matrix products go through the `gemm` crate. Integer convolutions and
//! matrix products accumulate in i32 with wrapping arithmetic, as hardware does, and every
//! rounding and saturation of quantized arithmetic goes through [`crate::qmath`].
//!
//! * [`run`] / [`run_observed`] walk the graph in topological order, check the inputs against the
//!   graph input types (binding named symbolic dims consistently), free every intermediate tensor
//!   after its last use, and borrow constants and inputs without copying them.
//! * [`eval_op`] evaluates one node (used by constant folding).
//! * [`resize_plan`] gives the per-axis taps of a `Resize` (used by the backends' lowering, so
//!   that compiled and interpreted Resize follow one rule).
//!
//! Every op of [`Op`] is executable except `Input`, `Constant` (graph structure, handled by the
//! executor) and `Custom` (an error naming the op): 101 ops.
//!
//! Conventions where ONNX leaves a choice:
//! * `Cast` float → integer rounds half to even, then saturates to the target range (NaN → 0).
//! * `DynamicQuantizeLinear` on an all-zero range uses scale 1 (as ONNX Runtime).
//! * Integer `Div`/`Mod` by zero is an error; integer overflow wraps; integer `ReduceMean`
//!   truncates toward zero.
//! * Out-of-range `Gather`/`GatherElements` indices are an error.
//! * `MaxPool` with two declared results also returns the flat NC… indices of the maxima.
//! * Float reductions and normalization statistics accumulate in f64.
//!
//! One op family per file: broadcasting helpers (`broadcast`), elementwise binary and unary ops
//! (`binary`, `unary`), f32 matrix products (`matmul`), f32 convolutions and window geometry
//! (`conv`), integer conv/matmul kernels (`qconv`), pooling (`pool`), reductions (`reduce`),
//! normalization (`norm`), shape ops (`shape`), data movement (`movement`), `gather`, `pad`,
//! `resize`, `cast`, ONNX-form quantization (`quant_onnx`) and typed-form quantization
//! (`quant_typed`).

mod binary;
mod broadcast;
mod cast;
mod conv;
mod gather;
mod matmul;
mod movement;
mod norm;
mod pad;
mod pool;
mod qconv;
mod quant_onnx;
mod quant_typed;
mod reduce;
mod resize;
mod shape;
mod unary;
mod util;

use crate::graph::{Graph, GraphError, Value};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::{Dim, TensorType};
use crate::DType;
use std::borrow::Cow;
use std::collections::HashMap;
use util::{Args, R};

pub use resize::{resize_plan, ResizeAxis};

/// What is wrong in one op evaluation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpError {
    /// Wrong number of operand slots.
    #[error("expected {min}..={max} operands, got {got}")]
    Arity {
        /// Fewest operands accepted.
        min: usize,
        /// Most operands accepted.
        max: usize,
        /// Operands given.
        got: usize,
    },
    /// A required operand is missing.
    #[error("required operand {0} is missing")]
    MissingOperand(usize),
    /// The op does not support this dtype for this operand.
    #[error("unsupported dtype {dtype} for operand {operand}")]
    DType {
        /// The operand slot.
        operand: usize,
        /// Its dtype.
        dtype: DType,
    },
    /// Operand shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An attribute is invalid.
    #[error("bad attribute: {0}")]
    Attr(String),
    /// An operand holds an invalid value (index out of range, negative size, division by zero).
    #[error("bad operand value: {0}")]
    Value(String),
    /// Quantization parameters missing or inconsistent.
    #[error("quantization: {0}")]
    Quant(String),
    /// The declared result count does not fit the op.
    #[error("expected {expected} result types, got {got}")]
    ResultCount {
        /// Results the op produces.
        expected: usize,
        /// Result types declared.
        got: usize,
    },
    /// A custom op cannot be executed.
    #[error("custom op `{domain}{sep}{name}` is not executable", sep = if domain.is_empty() { "" } else { "::" })]
    Custom {
        /// Its domain.
        domain: String,
        /// Its name.
        name: String,
    },
    /// Graph structure op evaluated out of context (`Input`, `Constant`).
    #[error("`{0}` cannot be evaluated on its own")]
    NotEvaluable(&'static str),
    /// A size computation overflows.
    #[error("size overflow")]
    Overflow,
    /// An invariant of the interpreter failed (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// An error of the interpreter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// A node failed.
    #[error("node `{node}` ({op}): {error}")]
    Node {
        /// The node's name (empty for [`eval_op`] calls).
        node: String,
        /// The op's name.
        op: String,
        /// What is wrong.
        #[source]
        error: OpError,
    },
    /// Wrong number of graph inputs.
    #[error("the graph has {expected} inputs, {got} given")]
    InputCount {
        /// Graph inputs.
        expected: usize,
        /// Tensors given.
        got: usize,
    },
    /// A graph input does not fit its declared type.
    #[error("graph input `{name}`: {what}")]
    Input {
        /// The input's name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// A constant tensor is malformed.
    #[error("constant `{name}`: {what}")]
    Constant {
        /// The constant node's name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// The graph is malformed (cycle, dangling value).
    #[error("graph: {0}")]
    Graph(#[from] GraphError),
}

/// Runs the graph on `inputs` (in graph input order); returns the outputs in graph output order.
pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    run_observed(g, inputs, &mut |_, _| {})
}

/// Like [`run`], calling `observer` on every graph input and every value a node computes (not on
/// constants), in execution order, before the value may be freed.
pub fn run_observed(
    g: &Graph,
    inputs: &[Tensor],
    observer: &mut dyn FnMut(Value, &Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    check_inputs(g, inputs)?;
    let order = g.topo_order()?;
    // Remaining uses of each value; graph outputs hold one use that is never released.
    let mut uses: HashMap<Value, usize> = HashMap::new();
    let mut operands_of = HashMap::with_capacity(order.len());
    for &id in &order {
        let ops = g.operands(id);
        for v in ops.iter().flatten() {
            *uses.entry(*v).or_default() += 1;
        }
        operands_of.insert(id, ops);
    }
    for (_, v) in g.outputs() {
        *uses.entry(*v).or_default() += 1;
    }
    let input_pos: HashMap<_, usize> =
        g.inputs().iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut vals: HashMap<Value, Cow<'_, Tensor>> = HashMap::new();
    for id in order {
        let node = g.node(id);
        let v0 = Value { node: id, index: 0 };
        match &node.op {
            Op::Input => {
                let t = &inputs[input_pos[&id]];
                observer(v0, t);
                vals.insert(v0, Cow::Borrowed(t));
            }
            Op::Constant(c) => {
                let t = g.const_tensor(*c).ok_or_else(|| InterpError::Constant {
                    name: node.name.clone(),
                    what: format!("constant {} is not in the table", c.0),
                })?;
                if util::numel(&t.shape).ok() != Some(t.data.len()) {
                    return Err(InterpError::Constant {
                        name: node.name.clone(),
                        what: format!(
                            "shape {:?} does not match {} elements",
                            t.shape,
                            t.data.len()
                        ),
                    });
                }
                vals.insert(v0, Cow::Borrowed(&**t));
            }
            op => {
                let opnds = &operands_of[&id];
                let types: Vec<Option<&TensorType>> =
                    opnds.iter().map(|o| o.map(|v| g.value_type(v))).collect();
                let mut tens: Vec<Option<&Tensor>> = Vec::with_capacity(opnds.len());
                for o in opnds {
                    tens.push(match o {
                        Some(v) => {
                            Some(vals.get(v).map(|c| &**c).ok_or_else(|| InterpError::Node {
                                node: node.name.clone(),
                                op: op.name().to_string(),
                                error: OpError::Internal(format!("operand {v:?} not computed")),
                            })?)
                        }
                        None => None,
                    });
                }
                let out = eval_op(op, &types, &tens, &node.results).map_err(|e| match e {
                    InterpError::Node { op, error, .. } => {
                        InterpError::Node { node: node.name.clone(), op, error }
                    }
                    e => e,
                })?;
                drop(tens);
                for (i, t) in out.into_iter().enumerate() {
                    let v = Value { node: id, index: i as u32 };
                    observer(v, &t);
                    if uses.get(&v).copied().unwrap_or(0) > 0 {
                        vals.insert(v, Cow::Owned(t));
                    }
                }
                for v in opnds.iter().flatten() {
                    if let Some(n) = uses.get_mut(v) {
                        *n -= 1;
                        if *n == 0 {
                            vals.remove(v);
                        }
                    }
                }
            }
        }
    }
    g.outputs()
        .iter()
        .map(|(name, v)| {
            vals.get(v).map(|t| t.clone().into_owned()).ok_or_else(|| InterpError::Node {
                node: name.clone(),
                op: "output".into(),
                error: OpError::Internal(format!("output value {v:?} was not computed")),
            })
        })
        .collect()
}

fn check_inputs(g: &Graph, inputs: &[Tensor]) -> Result<(), InterpError> {
    if inputs.len() != g.inputs().len() {
        return Err(InterpError::InputCount { expected: g.inputs().len(), got: inputs.len() });
    }
    let mut bound: HashMap<&str, (usize, &str)> = HashMap::new();
    for (&id, t) in g.inputs().iter().zip(inputs) {
        let node = g.node(id);
        let name = node.name.as_str();
        let err = |what: String| InterpError::Input { name: name.to_string(), what };
        let ty = node.results.first().ok_or_else(|| err("input node has no type".into()))?;
        if util::numel(&t.shape).ok() != Some(t.data.len()) {
            return Err(err(format!(
                "shape {:?} does not match {} elements",
                t.shape,
                t.data.len()
            )));
        }
        if t.dtype != ty.dtype || !util::same_variant(&t.data, &crate::Data::zeros(ty.dtype, 0)) {
            return Err(err(format!("expected dtype {}, got {}", ty.dtype, t.dtype)));
        }
        let Some(dims) = ty.shape.dims() else { continue };
        if dims.len() != t.rank() {
            return Err(err(format!(
                "expected shape {}, got {:?} (rank differs)",
                ty.shape, t.shape
            )));
        }
        for (axis, (d, &n)) in dims.iter().zip(&t.shape).enumerate() {
            match d {
                Dim::Fixed(k) if *k != n => {
                    return Err(err(format!(
                        "expected shape {}, got {:?} (axis {axis}: {k} != {n})",
                        ty.shape, t.shape
                    )))
                }
                Dim::Sym(s) if s != "?" => match bound.get(s.as_str()) {
                    Some(&(m, other)) if m != n => {
                        return Err(err(format!(
                            "symbolic dim `{s}` is {n} on axis {axis}, but {m} in input `{other}`"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        bound.insert(s.as_str(), (n, name));
                    }
                },
                _ => {}
            }
        }
    }
    Ok(())
}

/// Evaluates one op on its operands. `operand_types` give the quantization of typed quantized
/// ops (and may be `None` for other ops); `result_types` are the node's declared result types
/// (their count fixes the number of results of `Split`; typed quantized ops read their output
/// parameters there).
pub fn eval_op(
    op: &Op,
    operand_types: &[Option<&TensorType>],
    operands: &[Option<&Tensor>],
    result_types: &[TensorType],
) -> Result<Vec<Tensor>, InterpError> {
    let wrap = |error: OpError| InterpError::Node {
        node: String::new(),
        op: op.name().to_string(),
        error,
    };
    if operand_types.len() != operands.len() && !operand_types.is_empty() {
        return Err(wrap(OpError::Internal(format!(
            "{} operand types for {} operands",
            operand_types.len(),
            operands.len()
        ))));
    }
    for t in operands.iter().flatten() {
        if util::numel(&t.shape).ok() != Some(t.data.len()) {
            return Err(wrap(OpError::Shape(format!(
                "operand of shape {:?} holds {} elements",
                t.shape,
                t.data.len()
            ))));
        }
    }
    let none_types;
    let types = if operand_types.is_empty() && !operands.is_empty() {
        none_types = vec![None; operands.len()];
        &none_types[..]
    } else {
        operand_types
    };
    let args = Args { types, vals: operands, results: result_types };
    let out = dispatch(op, &args).map_err(wrap)?;
    if !result_types.is_empty() && out.len() != result_types.len() {
        return Err(wrap(OpError::ResultCount { expected: out.len(), got: result_types.len() }));
    }
    Ok(out)
}

fn one(t: Tensor) -> R<Vec<Tensor>> {
    Ok(vec![t])
}

fn dispatch(op: &Op, a: &Args<'_>) -> R<Vec<Tensor>> {
    use Op::*;
    match op {
        Input => Err(OpError::NotEvaluable("Input")),
        Constant(_) => Err(OpError::NotEvaluable("Constant")),
        Custom(c) => Err(OpError::Custom { domain: c.domain.clone(), name: c.name.clone() }),
        Identity => {
            a.arity(1, 1)?;
            one(a.req(0)?.clone())
        }
        Conv(at) => one(conv::conv(a, at)?),
        ConvTranspose(at) => one(conv::conv_transpose(a, at)?),
        Gemm(at) => one(matmul::gemm_op(a, at)?),
        MatMul => one(matmul::matmul(a)?),
        Add | Sub | Mul | Div | Pow | Max | Min | Mod | Equal | Less | LessOrEqual | Greater
        | GreaterOrEqual | And | Or | Xor => one(binary::binary(op, a)?),
        Where => one(binary::where_op(a)?),
        Relu | LeakyRelu(_) | Elu(_) | Sigmoid | HardSigmoid(_) | HardSwish | Tanh | Erf
        | Gelu(_) | Exp | Log | Sqrt | Reciprocal | Neg | Abs | Floor | Ceil | Round | Sign
        | Not | Softplus | Sin | Cos => one(unary::unary(op, a)?),
        Clip => one(unary::clip(a)?),
        Softmax(at) => one(norm::softmax(a, at.axis, false)?),
        LogSoftmax(at) => one(norm::softmax(a, at.axis, true)?),
        LayerNormalization(at) => norm::layer_norm(a, at),
        BatchNormalization(at) => one(norm::batch_norm(a, at.epsilon)?),
        InstanceNormalization(at) => one(norm::instance_norm(a, at.epsilon)?),
        MaxPool(at) => pool::max_pool(a, at),
        AveragePool(at) => one(pool::avg_pool(a, at)?),
        GlobalAveragePool => one(pool::global_pool(a, false)?),
        GlobalMaxPool => one(pool::global_pool(a, true)?),
        ReduceMean(at) => one(reduce::reduce(a, at, reduce::Kind::Mean)?),
        ReduceSum(at) => one(reduce::reduce(a, at, reduce::Kind::Sum)?),
        ReduceMax(at) => one(reduce::reduce(a, at, reduce::Kind::Max)?),
        ReduceMin(at) => one(reduce::reduce(a, at, reduce::Kind::Min)?),
        ReduceProd(at) => one(reduce::reduce(a, at, reduce::Kind::Prod)?),
        ReduceSumSquare(at) => one(reduce::reduce(a, at, reduce::Kind::SumSquare)?),
        ArgMax(at) => one(reduce::arg(a, at, true)?),
        ArgMin(at) => one(reduce::arg(a, at, false)?),
        Reshape(at) => one(shape::reshape(a, at)?),
        Flatten(at) => one(shape::flatten(a, at.axis)?),
        Transpose(at) => one(movement::transpose(a, &at.perm)?),
        Concat(at) => one(movement::concat(a, at.axis)?),
        Split(at) => movement::split(a, at.axis),
        Slice => one(movement::slice(a)?),
        Gather(at) => one(gather::gather(a, at.axis)?),
        GatherElements(at) => one(gather::gather_elements(a, at.axis)?),
        Squeeze => one(shape::squeeze(a)?),
        Unsqueeze => one(shape::unsqueeze(a)?),
        Expand => one(movement::expand(a)?),
        Tile => one(movement::tile(a)?),
        Pad(at) => one(pad::pad(a, at)?),
        Resize(at) => one(resize::resize(a, at)?),
        Cast(at) => one(cast::cast_op(a, at.to, at.saturate)?),
        Shape(at) => one(shape::shape_of(a, at)?),
        Size => one(shape::size(a)?),
        ConstantOfShape(at) => one(shape::constant_of_shape(a, at)?),
        Range => one(shape::range(a)?),
        DepthToSpace(at) => one(movement::depth_to_space(a, at)?),
        QuantizeLinear(at) => one(quant_onnx::quantize_linear(a, at)?),
        DequantizeLinear(at) => one(quant_onnx::dequantize_linear(a, at)?),
        DynamicQuantizeLinear => quant_onnx::dynamic_quantize_linear(a),
        QLinearConv(at) => one(quant_onnx::qlinear_conv(a, at)?),
        QLinearMatMul => one(quant_onnx::qlinear_matmul(a)?),
        MatMulInteger => one(quant_onnx::matmul_integer(a)?),
        ConvInteger(at) => one(quant_onnx::conv_integer(a, at)?),
        Quantize => one(quant_typed::quantize(a)?),
        Dequantize => one(quant_typed::dequantize(a)?),
        Requantize => one(quant_typed::requantize(a)?),
        QConv(at) => one(quant_typed::qconv(a, at)?),
        QMatMul => one(quant_typed::qmatmul(a)?),
        QAdd => one(quant_typed::qadd(a)?),
        QMul => one(quant_typed::qmul(a)?),
        QAveragePool(at) => one(pool::q_avg_pool(a, at)?),
        QGlobalAveragePool => one(pool::q_global_avg_pool(a)?),
        QConcat(at) => one(quant_typed::qconcat(a, at.axis)?),
        Lut => one(quant_typed::lut(a)?),
    }
}

#[cfg(test)]
mod lowbit_tests;
#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests;
