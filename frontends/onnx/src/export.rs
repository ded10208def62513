//! Export of a [`qcc_ir::Graph`] to an ONNX model (default domain, opset 21).
//!
//! Float ops and ONNX-form quantized ops map one to one (the IR's operand forms are opset 21's).
//! Values whose *type* carries quantization parameters (typed form) are exported as QDQ, so
//! ONNX Runtime can run a quantized graph:
//! * a quantized value exists in ONNX as its integer tensor and, where a float consumer needs
//!   it, as `DequantizeLinear(int, scale, zp)` with scale/zero-point initializers;
//! * `Quantize`/`Requantize` become `QuantizeLinear`; `Dequantize` a `DequantizeLinear`;
//! * `QConv`/`QMatMul` become the float op on dequantized operands (the i32 accumulator is
//!   represented by its real value); `QAdd`, `QMul`, `QAveragePool`, `QGlobalAveragePool`,
//!   `QConcat` become the float op followed by `QuantizeLinear` to the result's parameters;
//!   `Lut` becomes a `Gather` from the table;
//! * other ops on quantized values (Reshape, MaxPool, …) run on the integer tensors.
//!
//! This QDQ form is a float simulation: ONNX Runtime's result can differ from qcc's exact
//! integer semantics (`qmath`) by one quantization step where rounding differs.

use crate::error::OnnxError;
use crate::proto::{
    attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use crate::tensor::{dtype_to_onnx, tensor_to_proto};
use qcc_ir::ops::*;
use qcc_ir::{DType, Dim, Graph, NodeId, Op, Quant, Tensor, TensorType, Value};
use std::collections::{HashMap, HashSet};

/// The opset the exporter targets.
pub const EXPORT_OPSET: i64 = 21;

/// Serializes a graph as an ONNX model (default domain, opset 21).
pub fn export_model(g: &Graph) -> Result<Vec<u8>, OnnxError> {
    use prost::Message;
    let model = export_proto(g)?;
    Ok(model.encode_to_vec())
}

/// Builds the `ModelProto` of a graph.
pub fn export_proto(g: &Graph) -> Result<ModelProto, OnnxError> {
    let mut ex = Exporter::new(g);
    ex.run()?;
    let graph = GraphProto {
        node: ex.nodes,
        name: Some(if g.name.is_empty() { "main".into() } else { g.name.clone() }),
        initializer: ex.inits,
        input: ex.inputs,
        output: ex.outputs,
        value_info: ex.value_info,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: Some(10),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(EXPORT_OPSET),
        }],
        producer_name: Some("qcc".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        ..Default::default()
    })
}

#[derive(Default, Clone)]
struct Names {
    /// The tensor in the value's own dtype (integers for quantized values).
    plain: Option<String>,
    /// For quantized values: the dequantized f32 tensor.
    float: Option<String>,
}

struct Exporter<'g> {
    g: &'g Graph,
    names: HashMap<Value, Names>,
    used: HashSet<String>,
    /// Node names given out (ONNX requires them unique; they may repeat tensor names).
    node_names: HashSet<String>,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    value_info: Vec<ValueInfoProto>,
    /// Output name to give a value, when it is a graph output.
    out_name: HashMap<Value, String>,
}

fn attr_i(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(i),
        ..Default::default()
    }
}
fn attr_f(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(f),
        ..Default::default()
    }
}
fn attr_s(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(s.as_bytes().to_vec()),
        ..Default::default()
    }
}
fn attr_ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.iter().map(|&x| x as i64).collect(),
        ..Default::default()
    }
}
fn attr_t(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Tensor as i32),
        t: Some(t),
        ..Default::default()
    }
}

fn value_info(name: &str, ty: &TensorType) -> ValueInfoProto {
    let shape = ty.shape.dims().map(|dims| TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| {
                use tensor_shape_proto::dimension::Value as D;
                tensor_shape_proto::Dimension {
                    value: match d {
                        Dim::Fixed(n) => Some(D::DimValue(*n as i64)),
                        Dim::Sym(s) if s == "?" => None,
                        Dim::Sym(s) => Some(D::DimParam(s.clone())),
                    },
                    ..Default::default()
                }
            })
            .collect(),
    });
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(dtype_to_onnx(ty.dtype)),
                shape,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn conv_attrs(a: &ConvAttrs, out: &mut Vec<AttributeProto>) {
    if !a.kernel_shape.is_empty() {
        out.push(attr_ints("kernel_shape", &a.kernel_shape));
    }
    if !a.strides.is_empty() {
        out.push(attr_ints("strides", &a.strides));
    }
    if !a.pads.is_empty() {
        out.push(attr_ints("pads", &a.pads));
    }
    if !a.dilations.is_empty() {
        out.push(attr_ints("dilations", &a.dilations));
    }
    out.push(attr_i("group", a.group.max(1) as i64));
    auto_pad(a.auto_pad, out);
}

fn auto_pad(p: AutoPad, out: &mut Vec<AttributeProto>) {
    let s = match p {
        AutoPad::NotSet => return,
        AutoPad::SameUpper => "SAME_UPPER",
        AutoPad::SameLower => "SAME_LOWER",
        AutoPad::Valid => "VALID",
    };
    out.push(attr_s("auto_pad", s));
}

fn pool_attrs(a: &PoolAttrs, max: bool, out: &mut Vec<AttributeProto>) {
    out.push(attr_ints("kernel_shape", &a.kernel_shape));
    if !a.strides.is_empty() {
        out.push(attr_ints("strides", &a.strides));
    }
    if !a.pads.is_empty() {
        out.push(attr_ints("pads", &a.pads));
    }
    if !a.dilations.is_empty() {
        out.push(attr_ints("dilations", &a.dilations));
    }
    out.push(attr_i("ceil_mode", a.ceil_mode as i64));
    if !max {
        out.push(attr_i("count_include_pad", a.count_include_pad as i64));
    }
    auto_pad(a.auto_pad, out);
}

fn reduce_attrs(a: &ReduceAttrs, out: &mut Vec<AttributeProto>) {
    out.push(attr_i("keepdims", a.keepdims as i64));
    out.push(attr_i("noop_with_empty_axes", a.noop_with_empty_axes as i64));
}

/// The ONNX op type and attributes of a plain (non typed-quant) op.
fn plain_op(op: &Op, g: &Graph, id: NodeId) -> Result<(&'static str, Vec<AttributeProto>), String> {
    let mut a = Vec::new();
    let t = match op {
        Op::Identity => "Identity",
        Op::Conv(c) => {
            conv_attrs(c, &mut a);
            "Conv"
        }
        Op::ConvTranspose(c) => {
            conv_attrs(&c.conv, &mut a);
            if !c.output_padding.is_empty() {
                a.push(attr_ints("output_padding", &c.output_padding));
            }
            if !c.output_shape.is_empty() {
                a.push(attr_ints("output_shape", &c.output_shape));
            }
            "ConvTranspose"
        }
        Op::Gemm(c) => {
            a.push(attr_f("alpha", c.alpha));
            a.push(attr_f("beta", c.beta));
            a.push(attr_i("transA", c.trans_a as i64));
            a.push(attr_i("transB", c.trans_b as i64));
            "Gemm"
        }
        Op::MatMul => "MatMul",
        Op::Add => "Add",
        Op::Sub => "Sub",
        Op::Mul => "Mul",
        Op::Div => "Div",
        Op::Pow => "Pow",
        Op::Max => "Max",
        Op::Min => "Min",
        Op::Mod => {
            let float = g.operand(id, 0).map(|v| g.value_type(v).dtype.is_float()).unwrap_or(false);
            a.push(attr_i("fmod", float as i64));
            "Mod"
        }
        Op::Equal => "Equal",
        Op::Less => "Less",
        Op::LessOrEqual => "LessOrEqual",
        Op::Greater => "Greater",
        Op::GreaterOrEqual => "GreaterOrEqual",
        Op::And => "And",
        Op::Or => "Or",
        Op::Xor => "Xor",
        Op::Where => "Where",
        Op::Relu => "Relu",
        Op::LeakyRelu(x) => {
            a.push(attr_f("alpha", x.alpha));
            "LeakyRelu"
        }
        Op::Elu(x) => {
            a.push(attr_f("alpha", x.alpha));
            "Elu"
        }
        Op::Clip => "Clip",
        Op::Sigmoid => "Sigmoid",
        Op::HardSigmoid(x) => {
            a.push(attr_f("alpha", x.alpha));
            a.push(attr_f("beta", x.beta));
            "HardSigmoid"
        }
        Op::HardSwish => "HardSwish",
        Op::Tanh => "Tanh",
        Op::Erf => "Erf",
        Op::Gelu(x) => {
            if x.approximate == GeluApprox::Tanh {
                a.push(attr_s("approximate", "tanh"));
            }
            "Gelu"
        }
        Op::Exp => "Exp",
        Op::Log => "Log",
        Op::Sqrt => "Sqrt",
        Op::Reciprocal => "Reciprocal",
        Op::Neg => "Neg",
        Op::Abs => "Abs",
        Op::Floor => "Floor",
        Op::Ceil => "Ceil",
        Op::Round => "Round",
        Op::Sign => "Sign",
        Op::Not => "Not",
        Op::Softplus => "Softplus",
        Op::Sin => "Sin",
        Op::Cos => "Cos",
        Op::Softmax(x) => {
            a.push(attr_i("axis", x.axis));
            "Softmax"
        }
        Op::LogSoftmax(x) => {
            a.push(attr_i("axis", x.axis));
            "LogSoftmax"
        }
        Op::LayerNormalization(x) => {
            a.push(attr_i("axis", x.axis));
            a.push(attr_f("epsilon", x.epsilon));
            "LayerNormalization"
        }
        Op::BatchNormalization(x) => {
            a.push(attr_f("epsilon", x.epsilon));
            "BatchNormalization"
        }
        Op::InstanceNormalization(x) => {
            a.push(attr_f("epsilon", x.epsilon));
            "InstanceNormalization"
        }
        Op::MaxPool(p) => {
            pool_attrs(p, true, &mut a);
            "MaxPool"
        }
        Op::AveragePool(p) => {
            pool_attrs(p, false, &mut a);
            "AveragePool"
        }
        Op::GlobalAveragePool => "GlobalAveragePool",
        Op::GlobalMaxPool => "GlobalMaxPool",
        Op::ReduceMean(r) => {
            reduce_attrs(r, &mut a);
            "ReduceMean"
        }
        Op::ReduceSum(r) => {
            reduce_attrs(r, &mut a);
            "ReduceSum"
        }
        Op::ReduceMax(r) => {
            reduce_attrs(r, &mut a);
            "ReduceMax"
        }
        Op::ReduceMin(r) => {
            reduce_attrs(r, &mut a);
            "ReduceMin"
        }
        Op::ReduceProd(r) => {
            reduce_attrs(r, &mut a);
            "ReduceProd"
        }
        Op::ReduceSumSquare(r) => {
            reduce_attrs(r, &mut a);
            "ReduceSumSquare"
        }
        Op::ArgMax(x) | Op::ArgMin(x) => {
            a.push(attr_i("axis", x.axis));
            a.push(attr_i("keepdims", x.keepdims as i64));
            a.push(attr_i("select_last_index", x.select_last_index as i64));
            if matches!(op, Op::ArgMax(_)) {
                "ArgMax"
            } else {
                "ArgMin"
            }
        }
        Op::Reshape(x) => {
            a.push(attr_i("allowzero", x.allowzero as i64));
            "Reshape"
        }
        Op::Flatten(x) => {
            a.push(attr_i("axis", x.axis));
            "Flatten"
        }
        Op::Transpose(x) => {
            if !x.perm.is_empty() {
                a.push(attr_ints("perm", &x.perm));
            }
            "Transpose"
        }
        Op::Concat(x) => {
            a.push(attr_i("axis", x.axis));
            "Concat"
        }
        Op::Split(x) => {
            a.push(attr_i("axis", x.axis));
            if g.operand(id, 1).is_none() {
                a.push(attr_i("num_outputs", g.node(id).results.len() as i64));
            }
            "Split"
        }
        Op::Slice => "Slice",
        Op::Gather(x) => {
            a.push(attr_i("axis", x.axis));
            "Gather"
        }
        Op::GatherElements(x) => {
            a.push(attr_i("axis", x.axis));
            "GatherElements"
        }
        Op::Squeeze => "Squeeze",
        Op::Unsqueeze => "Unsqueeze",
        Op::Expand => "Expand",
        Op::Tile => "Tile",
        Op::Pad(p) => {
            let m = match p.mode {
                PadMode::Constant => "constant",
                PadMode::Reflect => "reflect",
                PadMode::Edge => "edge",
                PadMode::Wrap => "wrap",
            };
            a.push(attr_s("mode", m));
            "Pad"
        }
        Op::Resize(r) => {
            a.push(attr_s(
                "mode",
                match r.mode {
                    ResizeMode::Nearest => "nearest",
                    ResizeMode::Linear => "linear",
                    ResizeMode::Cubic => "cubic",
                },
            ));
            a.push(attr_s(
                "coordinate_transformation_mode",
                match r.coordinate_transformation_mode {
                    CoordMode::HalfPixel => "half_pixel",
                    CoordMode::PytorchHalfPixel => "pytorch_half_pixel",
                    CoordMode::AlignCorners => "align_corners",
                    CoordMode::Asymmetric => "asymmetric",
                    CoordMode::TfCropAndResize => "tf_crop_and_resize",
                    CoordMode::HalfPixelSymmetric => "half_pixel_symmetric",
                },
            ));
            a.push(attr_s(
                "nearest_mode",
                match r.nearest_mode {
                    NearestMode::RoundPreferFloor => "round_prefer_floor",
                    NearestMode::RoundPreferCeil => "round_prefer_ceil",
                    NearestMode::Floor => "floor",
                    NearestMode::Ceil => "ceil",
                },
            ));
            a.push(attr_f("cubic_coeff_a", r.cubic_coeff_a));
            a.push(attr_i("exclude_outside", r.exclude_outside as i64));
            a.push(attr_f("extrapolation_value", r.extrapolation_value));
            "Resize"
        }
        Op::Cast(c) => {
            a.push(attr_i("to", dtype_to_onnx(c.to) as i64));
            if !c.saturate && c.to.is_minifloat() {
                a.push(attr_i("saturate", 0));
            }
            "Cast"
        }
        Op::Shape(s) => {
            if s.start != 0 {
                a.push(attr_i("start", s.start));
            }
            if let Some(e) = s.end {
                a.push(attr_i("end", e));
            }
            "Shape"
        }
        Op::Size => "Size",
        Op::ConstantOfShape(c) => {
            let v =
                Tensor::from_i64_saturating(c.dtype, vec![1], &[0]).map_err(|e| e.to_string())?;
            let v = fill_value(v, c.value);
            a.push(attr_t("value", tensor_to_proto("value", &v)));
            "ConstantOfShape"
        }
        Op::Range => "Range",
        Op::DepthToSpace(b) => {
            a.push(attr_i("blocksize", b.blocksize as i64));
            a.push(attr_s("mode", &b.mode));
            "DepthToSpace"
        }
        Op::QuantizeLinear(q) => {
            a.push(attr_i("axis", q.axis));
            if q.block_size > 0 {
                a.push(attr_i("block_size", q.block_size as i64));
            }
            if g.operand(id, 2).is_none() && q.dtype != DType::U8 {
                a.push(attr_i("output_dtype", dtype_to_onnx(q.dtype) as i64));
            }
            if !q.saturate && q.dtype.is_minifloat() {
                a.push(attr_i("saturate", 0));
            }
            "QuantizeLinear"
        }
        Op::DequantizeLinear(q) => {
            a.push(attr_i("axis", q.axis));
            if q.block_size > 0 {
                a.push(attr_i("block_size", q.block_size as i64));
            }
            "DequantizeLinear"
        }
        Op::DynamicQuantizeLinear => "DynamicQuantizeLinear",
        Op::QLinearConv(c) => {
            conv_attrs(c, &mut a);
            "QLinearConv"
        }
        Op::QLinearMatMul => "QLinearMatMul",
        Op::MatMulInteger => "MatMulInteger",
        Op::ConvInteger(c) => {
            conv_attrs(c, &mut a);
            "ConvInteger"
        }
        Op::Custom(c) => {
            return Err(format!("custom op `{}` ({}) has no ONNX form", c.name, c.domain))
        }
        other => return Err(format!("no plain ONNX form for {}", other.name())),
    };
    Ok((t, a))
}

fn fill_value(t: Tensor, value: f64) -> Tensor {
    use qcc_ir::Data;
    let data = match t.data {
        Data::F32(_) => Data::F32(vec![value as f32]),
        Data::F16(_) => Data::F16(vec![half::f16::from_f64(value)]),
        Data::BF16(_) => Data::BF16(vec![half::bf16::from_f64(value)]),
        Data::I64(_) => Data::I64(vec![value as i64]),
        Data::I32(_) => Data::I32(vec![value as i32]),
        Data::I16(_) => Data::I16(vec![value as i16]),
        Data::I8(_) => Data::I8(vec![value as i8]),
        Data::U8(_) => Data::U8(vec![value as u8]),
        Data::U16(_) => Data::U16(vec![value as u16]),
        Data::F8E4M3FN(_) | Data::F8E5M2(_) | Data::F4E2M1(_) => {
            match Data::minifloat_from_f32(t.dtype, &[value as f32], true) {
                Some(d) => d,
                None => return t,
            }
        }
        Data::Bool(_) => Data::Bool(vec![value != 0.0]),
    };
    Tensor { data, ..t }
}

impl<'g> Exporter<'g> {
    fn new(g: &'g Graph) -> Exporter<'g> {
        let mut used = HashSet::new();
        let mut out_name = HashMap::new();
        for &n in g.inputs() {
            used.insert(g.node(n).name.clone());
        }
        for (name, v) in g.outputs() {
            used.insert(name.clone());
            let is_input = matches!(g.node(v.node).op, Op::Input);
            if !is_input {
                out_name.entry(*v).or_insert_with(|| name.clone());
            }
        }
        Exporter {
            g,
            names: HashMap::new(),
            used,
            node_names: HashSet::new(),
            nodes: Vec::new(),
            inits: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            value_info: Vec::new(),
            out_name,
        }
    }

    fn fresh(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "v" } else { base };
        if self.used.insert(base.to_string()) {
            return base.to_string();
        }
        for k in 1.. {
            let cand = format!("{base}_{k}");
            if self.used.insert(cand.clone()) {
                return cand;
            }
        }
        unreachable!("names are finite")
    }

    fn err(&self, id: NodeId, msg: impl Into<String>) -> OnnxError {
        let n = self.g.node(id);
        OnnxError::Export { node: n.name.clone(), op: n.op.name().to_string(), msg: msg.into() }
    }

    fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: Vec<String>,
        outputs: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) {
        let mut inputs = inputs;
        while inputs.last().is_some_and(|s| s.is_empty()) {
            inputs.pop();
        }
        let mut unique = if name.is_empty() { op_type.to_string() } else { name.to_string() };
        let mut k = 1;
        while !self.node_names.insert(unique.clone()) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        self.nodes.push(NodeProto {
            input: inputs,
            output: outputs,
            name: Some(unique),
            op_type: Some(op_type.to_string()),
            domain: Some(String::new()),
            attribute,
            ..Default::default()
        });
    }

    fn init(&mut self, base: &str, t: &Tensor) -> String {
        let name = self.fresh(base);
        self.inits.push(tensor_to_proto(&name, t));
        name
    }

    /// Name for result `v` of a node named `base`.
    fn result_name(&mut self, v: Value, base: &str, n_results: usize) -> String {
        if let Some(o) = self.out_name.get(&v).cloned() {
            return o;
        }
        if n_results == 1 {
            self.fresh(base)
        } else {
            self.fresh(&format!("{base}:{}", v.index))
        }
    }

    fn quant_of(&self, v: Value) -> Option<Quant> {
        self.g.value_type(v).quant.clone()
    }

    /// Scale and zero-point initializers for a value's quantization; returns (scale, zp, axis,
    /// block) for Q/DQ nodes.
    fn qparams(&mut self, v: Value, id: NodeId) -> Result<(String, String, i64, usize), OnnxError> {
        let ty = self.g.value_type(v).clone();
        let q = ty.quant.clone().ok_or_else(|| self.err(id, "value is not quantized"))?;
        let base = self.g.node(v.node).name.clone();
        let zp_t = |zps: &[i32], shape: Vec<usize>| -> Result<Tensor, OnnxError> {
            let z: Vec<i64> = zps.iter().map(|&x| x as i64).collect();
            Ok(Tensor::from_i64_saturating(ty.dtype, shape, &z)?)
        };
        Ok(match &q {
            Quant::Tensor { scale, zero_point } => {
                let s = self.init(&format!("{base}.scale"), &Tensor::scalar_f32(*scale));
                let z = self.init(&format!("{base}.zero_point"), &zp_t(&[*zero_point], vec![])?);
                (s, z, 1, 0)
            }
            Quant::Axis { axis, scales, zero_points } => {
                let n = scales.len();
                let s = self.init(&format!("{base}.scale"), &Tensor::f32(&[n], scales.clone()));
                let z = self.init(&format!("{base}.zero_point"), &zp_t(zero_points, vec![n])?);
                (s, z, *axis as i64, 0)
            }
            Quant::Block { axis, block, scales, zero_points } => {
                let dims = ty.shape.as_fixed().ok_or_else(|| {
                    self.err(id, "blocked quantization of a value of unknown shape")
                })?;
                let mut sd = dims.clone();
                if let Some(d) = sd.get_mut(*axis) {
                    *d = d.div_ceil(*block);
                }
                let st = Tensor::new(sd.clone(), qcc_ir::Data::F32(scales.clone()))?;
                let s = self.init(&format!("{base}.scale"), &st);
                let z = self.init(&format!("{base}.zero_point"), &zp_t(zero_points, sd)?);
                (s, z, *axis as i64, *block)
            }
        })
    }

    fn qdq_attrs(axis: i64, block: usize) -> Vec<AttributeProto> {
        let mut a = vec![attr_i("axis", axis)];
        if block > 0 {
            a.push(attr_i("block_size", block as i64));
        }
        a
    }

    /// The tensor of `v` in its own dtype (integers for quantized values).
    fn plain(&mut self, v: Value, user: NodeId) -> Result<String, OnnxError> {
        let names = self.names.get(&v).cloned().unwrap_or_default();
        if let Some(p) = names.plain {
            return Ok(p);
        }
        let f = names.float.ok_or_else(|| self.err(user, "operand has no exported name"))?;
        // Quantize the float shadow.
        let ty = self.g.value_type(v).clone();
        let base = self.g.node(v.node).name.clone();
        let name = match self.out_name.get(&v).cloned() {
            Some(o) => o,
            None => self.fresh(&format!("{base}.q")),
        };
        if ty.dtype == DType::I32 {
            // QuantizeLinear has no int32 output: round(x / scale) cast to int32.
            let (s, _, axis, _) = self.qparams(v, user)?;
            let q = ty.quant.clone().expect("quantized");
            if q.zero_points().iter().any(|&z| z != 0) {
                return Err(self.err(user, "i32 value with a non-zero zero point"));
            }
            let s = if let Quant::Axis { .. } = q {
                let rank = ty
                    .shape
                    .rank()
                    .ok_or_else(|| self.err(user, "per-axis i32 value of unknown rank"))?;
                let mut shape = vec![1i64; rank];
                shape[axis as usize] = -1;
                let sh = self.init(&format!("{base}.scale_shape"), &Tensor::i64(&[rank], shape));
                let r = self.fresh(&format!("{base}.scale_b"));
                self.node("Reshape", &r, vec![s, sh], vec![r.clone()], vec![]);
                r
            } else {
                s
            };
            let d = self.fresh(&format!("{base}.div"));
            self.node("Div", &d, vec![f, s], vec![d.clone()], vec![]);
            let r = self.fresh(&format!("{base}.round"));
            self.node("Round", &r, vec![d], vec![r.clone()], vec![]);
            self.node(
                "Cast",
                &name,
                vec![r],
                vec![name.clone()],
                vec![attr_i("to", dtype_to_onnx(DType::I32) as i64)],
            );
        } else {
            let (s, z, axis, block) = self.qparams(v, user)?;
            self.node(
                "QuantizeLinear",
                &name,
                vec![f, s, z],
                vec![name.clone()],
                Self::qdq_attrs(axis, block),
            );
        }
        self.names.entry(v).or_default().plain = Some(name.clone());
        Ok(name)
    }

    /// The f32 tensor of `v`: itself if not quantized, else its dequantized shadow.
    fn float(&mut self, v: Value, user: NodeId) -> Result<String, OnnxError> {
        if self.quant_of(v).is_none() {
            return self.plain(v, user);
        }
        if let Some(f) = self.names.get(&v).and_then(|n| n.float.clone()) {
            return Ok(f);
        }
        let p = self.plain(v, user)?;
        let (s, z, axis, block) = self.qparams(v, user)?;
        let base = self.g.node(v.node).name.clone();
        let name = self.fresh(&format!("{base}.dq"));
        self.node(
            "DequantizeLinear",
            &name,
            vec![p, s, z],
            vec![name.clone()],
            Self::qdq_attrs(axis, block),
        );
        self.names.entry(v).or_default().float = Some(name.clone());
        Ok(name)
    }

    fn opt_float(&mut self, v: Option<Value>, user: NodeId) -> Result<String, OnnxError> {
        v.map(|v| self.float(v, user)).transpose().map(Option::unwrap_or_default)
    }

    fn run(&mut self) -> Result<(), OnnxError> {
        let g = self.g;
        let order = g.topo_order()?;
        for id in order {
            let node = g.node(id);
            let results = g.results(id);
            match &node.op {
                Op::Input => {
                    let v = results[0];
                    let name = node.name.clone();
                    self.inputs.push(value_info(&name, &node.results[0]));
                    self.names.insert(v, Names { plain: Some(name), float: None });
                }
                // A constant nothing reads (e.g. the float weights a quantized graph no
                // longer uses) is not exported.
                Op::Constant(_) if !g.is_used(results[0]) => {}
                Op::Constant(c) => {
                    let t =
                        g.const_tensor(*c).ok_or_else(|| self.err(id, "missing constant"))?.clone();
                    let v = results[0];
                    let name = match self.out_name.get(&v).cloned() {
                        Some(o) => o,
                        None => self.fresh(&node.name),
                    };
                    self.inits.push(tensor_to_proto(&name, &t));
                    self.names.insert(v, Names { plain: Some(name), float: None });
                }
                op if op.is_typed_quant() => self.typed(id)?,
                _ => {
                    let (op_type, attrs) =
                        plain_op(&node.op, g, id).map_err(|m| self.err(id, m))?;
                    let mut ins = Vec::new();
                    for o in g.operands(id) {
                        ins.push(match o {
                            Some(v) => self.plain(v, id)?,
                            None => String::new(),
                        });
                    }
                    let outs: Vec<String> = results
                        .iter()
                        .map(|&v| self.result_name(v, &node.name, results.len()))
                        .collect();
                    for (k, &v) in results.iter().enumerate() {
                        self.names.insert(v, Names { plain: Some(outs[k].clone()), float: None });
                        if !self.out_name.contains_key(&v) {
                            self.value_info.push(value_info(&outs[k], &node.results[k]));
                        }
                    }
                    let name = node.name.clone();
                    self.node(op_type, &name, ins, outs, attrs);
                }
            }
        }
        for (name, v) in g.outputs() {
            let p = self.plain(*v, v.node)?;
            if &p != name {
                let n = format!("{name}.identity");
                self.node("Identity", &n, vec![p], vec![name.clone()], vec![]);
            }
            self.outputs.push(value_info(name, g.value_type(*v)));
        }
        Ok(())
    }

    /// A typed-form quantized op, as QDQ.
    fn typed(&mut self, id: NodeId) -> Result<(), OnnxError> {
        let g = self.g;
        let node = g.node(id);
        let v = g.result(id);
        let ops = g.operands(id);
        let name = node.name.clone();
        let op0 =
            ops.first().copied().flatten().ok_or_else(|| self.err(id, "missing operand 0"))?;
        match &node.op {
            Op::Quantize => {
                let x = self.plain(op0, id)?;
                let (s, z, axis, block) = self.qparams(v, id)?;
                let out = self.result_name(v, &name, 1);
                self.node(
                    "QuantizeLinear",
                    &name,
                    vec![x, s, z],
                    vec![out.clone()],
                    Self::qdq_attrs(axis, block),
                );
                self.names.insert(v, Names { plain: Some(out), float: None });
            }
            Op::Requantize => {
                let x = self.float(op0, id)?;
                let (s, z, axis, block) = self.qparams(v, id)?;
                let out = self.result_name(v, &name, 1);
                self.node(
                    "QuantizeLinear",
                    &name,
                    vec![x, s, z],
                    vec![out.clone()],
                    Self::qdq_attrs(axis, block),
                );
                self.names.insert(v, Names { plain: Some(out), float: None });
            }
            Op::Dequantize => {
                let x = self.float(op0, id)?;
                let out = self.result_name(v, &name, 1);
                self.node("Identity", &name, vec![x], vec![out.clone()], vec![]);
                self.names.insert(v, Names { plain: Some(out), float: None });
            }
            Op::Lut => {
                let table =
                    ops.get(1).copied().flatten().ok_or_else(|| self.err(id, "missing table"))?;
                let x = self.plain(op0, id)?;
                let t = self.plain(table, id)?;
                let lo = g.value_type(op0).dtype.int_range().map(|r| r.0).unwrap_or(0);
                let c = self.fresh(&format!("{name}.index"));
                self.node(
                    "Cast",
                    &c,
                    vec![x],
                    vec![c.clone()],
                    vec![attr_i("to", dtype_to_onnx(DType::I64) as i64)],
                );
                let off = self.init(&format!("{name}.offset"), &Tensor::i64(&[], vec![-lo]));
                let idx = self.fresh(&format!("{name}.shifted"));
                self.node("Add", &idx, vec![c, off], vec![idx.clone()], vec![]);
                let out = self.result_name(v, &name, 1);
                self.node(
                    "Gather",
                    &name,
                    vec![t, idx],
                    vec![out.clone()],
                    vec![attr_i("axis", 0)],
                );
                self.names.insert(v, Names { plain: Some(out), float: None });
            }
            Op::QConv(_) | Op::QMatMul => {
                let a = self.float(op0, id)?;
                let b = self.opt_float(ops.get(1).copied().flatten(), id)?;
                let bias = ops.get(2).copied().flatten();
                let f = self.fresh(&format!("{name}.float"));
                if let Op::QConv(c) = &node.op {
                    let bias = self.opt_float(bias, id)?;
                    let mut attrs = Vec::new();
                    conv_attrs(c, &mut attrs);
                    self.node("Conv", &name, vec![a, b, bias], vec![f.clone()], attrs);
                } else if let Some(bias) = bias {
                    let bias = self.float(bias, id)?;
                    let m = self.fresh(&format!("{name}.matmul"));
                    self.node("MatMul", &m, vec![a, b], vec![m.clone()], vec![]);
                    self.node("Add", &name, vec![m, bias], vec![f.clone()], vec![]);
                } else {
                    self.node("MatMul", &name, vec![a, b], vec![f.clone()], vec![]);
                }
                self.names.insert(v, Names { plain: None, float: Some(f) });
            }
            Op::QAdd | Op::QMul | Op::QAveragePool(_) | Op::QGlobalAveragePool | Op::QConcat(_) => {
                let mut ins = Vec::new();
                for o in &ops {
                    ins.push(self.opt_float(*o, id)?);
                }
                let mut attrs = Vec::new();
                let t = match &node.op {
                    Op::QAdd => "Add",
                    Op::QMul => "Mul",
                    Op::QAveragePool(p) => {
                        pool_attrs(p, false, &mut attrs);
                        "AveragePool"
                    }
                    Op::QGlobalAveragePool => "GlobalAveragePool",
                    Op::QConcat(a) => {
                        attrs.push(attr_i("axis", a.axis));
                        "Concat"
                    }
                    _ => unreachable!("matched above"),
                };
                let f = self.fresh(&format!("{name}.float"));
                self.node(t, &format!("{name}.float"), ins, vec![f.clone()], attrs);
                let (s, z, axis, block) = self.qparams(v, id)?;
                let out = self.result_name(v, &name, 1);
                self.node(
                    "QuantizeLinear",
                    &name,
                    vec![f, s, z],
                    vec![out.clone()],
                    Self::qdq_attrs(axis, block),
                );
                self.names.insert(v, Names { plain: Some(out), float: None });
            }
            other => return Err(self.err(id, format!("no QDQ form for {}", other.name()))),
        }
        Ok(())
    }
}
