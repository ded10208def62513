//! Graph → [`LoweredModel`]: kernel selection with epilogue fusion, views, memory plan.

use crate::model::*;
use crate::plan::{first_fit, Interval};
use crate::LowerError;
use qcc_ir::{qmath, DType, Graph, Limits, NodeId, Op, Quant, Tensor, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

mod conv;
mod elem;
mod fops;
mod layout;
mod matmul;
mod movement;
mod norm;
mod pool;
mod resize;
mod tile_pad;

struct Cx<'g> {
    g: &'g Graph,
    bufs: Vec<Buffer>,
    /// Root buffer of each view (itself for non-views).
    root: Vec<BufId>,
    map: HashMap<Value, BufId>,
    steps: Vec<Step>,
    fused: HashSet<NodeId>,
    /// Arena buffers holding a 4-d `[N, C, H, W]` value stored NHWC (see [`crate::cnn`]).
    nhwc: HashSet<BufId>,
}

fn node_name(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    if n.name.is_empty() {
        format!("#{}", id.index())
    } else {
        n.name.clone()
    }
}

impl<'g> Cx<'g> {
    fn err(&self, id: NodeId, reason: impl Into<String>) -> LowerError {
        LowerError::Unsupported {
            op: self.g.node(id).op.name().to_string(),
            node: node_name(self.g, id),
            reason: reason.into(),
        }
    }

    fn shape(&self, id: NodeId, v: Value) -> Result<Vec<usize>, LowerError> {
        self.g.value_type(v).shape.as_fixed().ok_or_else(|| LowerError::Type {
            node: node_name(self.g, id),
            msg: format!("shape {} is not fully known", self.g.value_type(v).shape),
        })
    }

    fn new_buf(&mut self, dtype: DType, shape: Vec<usize>, storage: Storage) -> BufId {
        self.bufs.push(Buffer { dtype, shape, storage });
        let id = self.bufs.len() - 1;
        self.root.push(id);
        id
    }

    fn arena_buf(&mut self, id: NodeId, v: Value) -> Result<BufId, LowerError> {
        let shape = self.shape(id, v)?;
        let b = self.new_buf(
            self.g.value_type(v).dtype,
            shape,
            Storage::Arena { offset: 0, view_of: None },
        );
        self.map.insert(v, b);
        Ok(b)
    }

    fn operand(&self, id: NodeId, slot: usize) -> Result<Value, LowerError> {
        self.g.operand(id, slot).ok_or_else(|| self.err(id, format!("operand {slot} missing")))
    }

    fn buf(&self, id: NodeId, v: Value) -> Result<BufId, LowerError> {
        self.map.get(&v).copied().ok_or_else(|| self.err(id, "operand not lowered"))
    }

    fn constant(&self, v: Value) -> Option<&Arc<Tensor>> {
        self.g.const_value(v)
    }

    /// The single user of `v` when `v` is not a graph output.
    fn sole_user(&self, v: Value) -> Option<NodeId> {
        if self.g.outputs().iter().any(|(_, o)| *o == v) {
            return None;
        }
        match self.g.users(v).as_slice() {
            [(u, 0)] => Some(*u),
            _ => None,
        }
    }

    fn const_scalar(&self, id: NodeId, slot: usize) -> Result<Option<f64>, LowerError> {
        let Some(v) = self.g.operand(id, slot) else { return Ok(None) };
        let t = self
            .constant(v)
            .ok_or_else(|| self.err(id, format!("operand {slot} must be constant")))?;
        let x = t.to_f64_vec();
        if x.len() != 1 {
            return Err(self.err(id, format!("operand {slot} must be a scalar")));
        }
        Ok(Some(x[0]))
    }

    fn push(
        &mut self,
        id: NodeId,
        ops: String,
        kernel: Kernel,
        inputs: Vec<BufId>,
        out_v: Value,
    ) -> Result<(), LowerError> {
        let output = self.arena_buf(id, out_v)?;
        self.steps.push(Step { node: node_name(self.g, id), ops, kernel, inputs, output });
        Ok(())
    }

    fn node(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let node = g.node(id);
        let out = g.result(id);
        match &node.op {
            op if layout::is_cnn_op(op) => self.cnn(id)?,
            Op::Input => {
                self.arena_buf(id, out)?;
            }
            Op::Constant(_) => {
                let t = self.constant(out).ok_or_else(|| self.err(id, "missing constant"))?.clone();
                let b = self.new_buf(t.dtype, t.shape.clone(), Storage::Const(t));
                self.map.insert(out, b);
            }
            Op::Identity | Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze | Op::Unsqueeze => {
                let x = self.operand(id, 0)?;
                let src = self.buf(id, x)?;
                let shape = self.shape(id, out)?;
                let sb = &self.bufs[src];
                if shape.iter().product::<usize>() != sb.numel() {
                    return Err(self.err(id, "view changes the element count"));
                }
                let storage = match &sb.storage {
                    Storage::Const(t) => {
                        let mut t2 = (**t).clone();
                        t2.shape = shape.clone();
                        Storage::Const(Arc::new(t2))
                    }
                    Storage::Arena { .. } => {
                        Storage::Arena { offset: 0, view_of: Some(self.root[src]) }
                    }
                };
                let dtype = sb.dtype;
                let root = self.root[src];
                let b = self.new_buf(dtype, shape, storage);
                if matches!(self.bufs[b].storage, Storage::Arena { .. }) {
                    self.root[b] = root;
                }
                self.map.insert(out, b);
            }
            Op::QMatMul if self.needs_batched(id, true) => self.batch_matmul(id)?,
            Op::QMatMul => self.qmatmul(id)?,
            Op::Quantize | Op::Dequantize => {
                let x = self.operand(id, 0)?;
                let (q, ty) = if matches!(node.op, Op::Quantize) {
                    (g.value_type(out), g.value_type(out))
                } else {
                    (g.value_type(x), g.value_type(x))
                };
                let wide_or_axis = !matches!(q.dtype, DType::I8 | DType::U8)
                    || matches!(q.quant, Some(Quant::Axis { .. }));
                if matches!(node.op, Op::Dequantize) && wide_or_axis {
                    return self.dequantize_axis(id);
                }
                let (scale, zero_point) = q
                    .quant
                    .as_ref()
                    .and_then(Quant::per_tensor)
                    .ok_or_else(|| self.err(id, "only per-tensor quantization"))?;
                let signed = match ty.dtype {
                    DType::I8 => true,
                    DType::U8 => false,
                    d => return Err(self.err(id, format!("{d} not supported (u8/i8 only)"))),
                };
                let other = if matches!(node.op, Op::Quantize) {
                    g.value_type(x).dtype
                } else {
                    g.value_type(out).dtype
                };
                if other != DType::F32 {
                    return Err(self.err(id, format!("float side is {other}, not f32")));
                }
                let kernel = if matches!(node.op, Op::Quantize) {
                    Kernel::Quantize { scale, zero_point, signed }
                } else {
                    Kernel::Dequantize { scale, zero_point, signed }
                };
                let xb = self.buf(id, x)?;
                self.push(id, node.op.name().into(), kernel, vec![xb], out)?;
            }
            Op::MatMul if self.needs_batched(id, false) => self.batch_matmul(id)?,
            Op::MatMul | Op::Gemm(_) => self.gemm_f32(id)?,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Max | Op::Min => {
                let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
                for v in [a, b, out] {
                    if g.value_type(v).dtype != DType::F32 {
                        return Err(self.err(id, "only f32 elementwise arithmetic"));
                    }
                }
                let shape = self.shape(id, out)?;
                let a_strides = bcast_strides(&self.shape(id, a)?, &shape)
                    .ok_or_else(|| self.err(id, "bad broadcast"))?;
                let b_strides = bcast_strides(&self.shape(id, b)?, &shape)
                    .ok_or_else(|| self.err(id, "bad broadcast"))?;
                if g.operands(id).len() != 2 {
                    return Err(self.err(id, "only the two-operand form"));
                }
                let op = match node.op {
                    Op::Add => BinOp::Add,
                    Op::Sub => BinOp::Sub,
                    Op::Mul => BinOp::Mul,
                    Op::Max => BinOp::Max,
                    Op::Min => BinOp::Min,
                    _ => BinOp::Div,
                };
                let ins = vec![self.buf(id, a)?, self.buf(id, b)?];
                self.push(
                    id,
                    node.op.name().into(),
                    Kernel::Binary { op, shape, a_strides, b_strides },
                    ins,
                    out,
                )?;
            }
            Op::Relu | Op::Clip => {
                let x = self.operand(id, 0)?;
                if g.value_type(x).dtype != DType::F32 {
                    return Err(self.err(id, "only f32 (integer Relu/Clip are fused into a GEMM)"));
                }
                let u = if matches!(node.op, Op::Relu) {
                    UnaryOp::Relu
                } else {
                    let lo = self.const_scalar(id, 1)?.map_or(f32::NEG_INFINITY, |v| v as f32);
                    let hi = self.const_scalar(id, 2)?.map_or(f32::INFINITY, |v| v as f32);
                    UnaryOp::Clip(lo, hi)
                };
                let xb = self.buf(id, x)?;
                self.push(id, node.op.name().into(), Kernel::Unary(u), vec![xb], out)?;
            }
            Op::Neg
            | Op::Abs
            | Op::Floor
            | Op::Ceil
            | Op::Round
            | Op::Reciprocal
            | Op::Sign
            | Op::LeakyRelu(_)
                if g.value_type(self.operand(id, 0)?).dtype == DType::F32 =>
            {
                let u = match &node.op {
                    Op::Neg => UnaryOp::Neg,
                    Op::Abs => UnaryOp::Abs,
                    Op::Floor => UnaryOp::Floor,
                    Op::Ceil => UnaryOp::Ceil,
                    Op::Round => UnaryOp::Round,
                    Op::Reciprocal => UnaryOp::Reciprocal,
                    Op::Sign => UnaryOp::Sign,
                    Op::LeakyRelu(at) => UnaryOp::LeakyRelu(at.alpha),
                    _ => unreachable!("matched above"),
                };
                let xb = self.buf(id, self.operand(id, 0)?)?;
                self.push(id, node.op.name().into(), Kernel::Unary(u), vec![xb], out)?;
            }
            Op::Transpose(_)
            | Op::Slice
            | Op::Expand
            | Op::Concat(_)
            | Op::Gather(_)
            | Op::Cast(_) => self.movement(id)?,
            Op::LayerNormalization(_)
            | Op::Softmax(_)
            | Op::LogSoftmax(_)
            | Op::Sqrt
            | Op::Exp
            | Op::Erf
            | Op::Gelu(_)
            | Op::Tanh
            | Op::Log
            | Op::Softplus
            | Op::Sin
            | Op::Cos
            | Op::Elu(_)
            | Op::GlobalMaxPool
            | Op::ReduceSum(_)
            | Op::ReduceMean(_)
            | Op::ReduceMax(_)
            | Op::ReduceMin(_)
            | Op::ReduceProd(_)
            | Op::ReduceSumSquare(_) => self.norm(id)?,
            Op::Pow
            | Op::Equal
            | Op::Less
            | Op::LessOrEqual
            | Op::Greater
            | Op::GreaterOrEqual
            | Op::Where
            | Op::ArgMax(_)
            | Op::ArgMin(_) => self.float_op(id)?,
            Op::Split(_) | Op::Tile | Op::Pad(_) => self.tile_pad(id)?,
            Op::Resize(_) => self.resize(id)?,
            other => return Err(self.err(id, format!("no kernel for `{}` yet", other.name()))),
        }
        Ok(())
    }

    /// Dequantize of an i8/u8/i32 value with per-tensor or per-axis parameters (e.g. an i32
    /// accumulator turned straight into float, scales `s_x·s_w[c]`): `(q − zp[c]) · scale[c]`
    /// over the axis as the buffer stores it (NHWC buffers keep their layout).
    fn dequantize_axis(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let x = self.operand(id, 0)?;
        let out = g.result(id);
        let ty = g.value_type(x);
        if !matches!(ty.dtype, DType::I8 | DType::U8 | DType::I32) {
            return Err(self.err(id, format!("dequantize of {} (i8/u8/i32 only)", ty.dtype)));
        }
        if g.value_type(out).dtype != DType::F32 {
            return Err(self.err(id, "dequantize to a type other than f32"));
        }
        let shape = self.shape(id, x)?;
        let (axis, scales, zero_points) = match &ty.quant {
            Some(Quant::Tensor { scale, zero_point }) => (0, vec![*scale], vec![*zero_point]),
            Some(Quant::Axis { axis, scales, zero_points }) => {
                (*axis, scales.clone(), zero_points.clone())
            }
            _ => return Err(self.err(id, "blocked or missing quantization parameters")),
        };
        let xb = self.buf(id, x)?;
        // Physical dim order of the buffer (NHWC buffers store [N, H, W, C]).
        let order: Vec<usize> = if self.is_nhwc(xb) && shape.len() == 4 {
            vec![0, 2, 3, 1]
        } else {
            (0..shape.len()).collect()
        };
        let (outer, axis_len, inner) = if scales.len() == 1 {
            (shape.iter().product::<usize>(), 1, 1)
        } else {
            let p =
                order.iter().position(|&d| d == axis).ok_or_else(|| self.err(id, "bad axis"))?;
            let phys: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
            if phys[p] != scales.len() {
                return Err(self.err(id, "one scale per index of the axis expected"));
            }
            (phys[..p].iter().product(), phys[p], phys[p + 1..].iter().product())
        };
        let kernel = Kernel::DequantizeAxis(DequantizeAxis {
            dtype: ty.dtype,
            outer,
            axis_len,
            inner,
            scales,
            zero_points,
        });
        self.push(id, "Dequantize".into(), kernel, vec![xb], out)
    }

    fn qmatmul(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
        let (ta, tb) = (g.value_type(a), g.value_type(b));
        let bt = self.constant(b).ok_or_else(|| self.err(id, "B must be a constant"))?.clone();
        if tb.dtype != DType::I8 || bt.shape.len() != 2 {
            return Err(self.err(id, "B must be a 2-d i8 constant"));
        }
        if tb.quant.as_ref().is_some_and(|q| q.zero_points().iter().any(|&z| z != 0)) {
            return Err(self.err(id, "nonzero weight zero points are not supported"));
        }
        let a_signed = match ta.dtype {
            DType::I8 => true,
            DType::U8 => false,
            d => return Err(self.err(id, format!("A of type {d}"))),
        };
        let (_, za) = ta
            .quant
            .as_ref()
            .and_then(Quant::per_tensor)
            .ok_or_else(|| self.err(id, "A must be quantized per tensor"))?;
        let (k, n) = (bt.shape[0], bt.shape[1]);
        let sa = self.shape(id, a)?;
        if sa.last() != Some(&k) {
            return Err(self.err(id, format!("A {sa:?} does not match B [{k}, {n}]")));
        }
        let m = sa.iter().product::<usize>() / k.max(1);
        let bv: Vec<i8> = bt.as_i8().map_err(|e| self.err(id, e.to_string()))?.to_vec();
        let bias = match g.operand(id, 2) {
            None => None,
            Some(bb) => {
                let t = self.constant(bb).ok_or_else(|| self.err(id, "bias must be a constant"))?;
                let v = t.as_i32().map_err(|e| self.err(id, e.to_string()))?;
                match v.len() {
                    l if l == n => Some(v.to_vec()),
                    1 => Some(vec![v[0]; n]),
                    _ => return Err(self.err(id, "bias must have one value per column")),
                }
            }
        };
        let (ops, out, requant) = self.fuse_requant(id, sa.len().max(2), n)?;
        let kernel =
            Kernel::QGemm(QGemm { m, n, k, a_signed, a_zero_point: za, b: bv, bias, requant });
        let ab = self.buf(id, a)?;
        self.push(id, ops, kernel, vec![ab], out)
    }

    /// Fuses the sole Requantize user of the integer matmul `id` (and a Relu/Clip after it):
    /// the fused ops' names, the value the step defines, and the requantization.
    fn fuse_requant(
        &mut self,
        id: NodeId,
        out_rank: usize,
        n: usize,
    ) -> Result<(String, Value, Option<QRequant>), LowerError> {
        let g = self.g;
        let mut ops = "QMatMul".to_string();
        let mut out = g.result(id);
        let mut requant = None;
        if let Some(r) = self.sole_user(out).filter(|&u| matches!(g.node(u).op, Op::Requantize)) {
            let acc_q = g.value_type(out).quant.clone();
            let rv = g.result(r);
            let rt = g.value_type(rv);
            let (sy, zy) = rt
                .quant
                .as_ref()
                .and_then(Quant::per_tensor)
                .ok_or_else(|| self.err(r, "output must be quantized per tensor"))?;
            let (sx, zx) = match &acc_q {
                Some(Quant::Tensor { scale, zero_point }) => (vec![*scale], *zero_point),
                Some(Quant::Axis { axis, scales, zero_points })
                    if *axis + 1 == out_rank
                        && scales.len() == n
                        && zero_points.iter().all(|&z| z == zero_points[0]) =>
                {
                    (scales.clone(), zero_points[0])
                }
                _ => {
                    return Err(
                        self.err(r, "accumulator must be quantized per tensor or per column")
                    )
                }
            };
            let signed = match rt.dtype {
                DType::I8 => true,
                DType::U8 => false,
                d => return Err(self.err(r, format!("requantize to {d}"))),
            };
            let (mut lo, mut hi) = qmath::qrange(rt.dtype);
            self.fused.insert(r);
            ops.push_str("+Requantize");
            out = rv;
            if let Some(act) = self.sole_user(out) {
                match g.node(act).op {
                    Op::Relu => {
                        lo = lo.max(0);
                        ops.push_str("+Relu");
                        self.fused.insert(act);
                        out = g.result(act);
                    }
                    Op::Clip => {
                        let cl = self.const_scalar(act, 1);
                        let ch = self.const_scalar(act, 2);
                        if let (Ok(cl), Ok(ch)) = (cl, ch) {
                            if let Some(c) = cl {
                                lo = lo.max(c as i32);
                            }
                            if let Some(c) = ch {
                                hi = hi.min(c as i32);
                            }
                            if lo > hi {
                                hi = lo;
                            }
                            ops.push_str("+Clip");
                            self.fused.insert(act);
                            out = g.result(act);
                        }
                    }
                    _ => {}
                }
            }
            let multipliers = sx.iter().map(|&s| qmath::multiplier(s, sy)).collect();
            requant =
                Some(QRequant { signed, acc_zero_point: zx, multipliers, zero_point: zy, lo, hi });
        }
        Ok((ops, out, requant))
    }

    fn gemm_f32(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
        let out = g.result(id);
        if g.value_type(a).dtype != DType::F32 || g.value_type(out).dtype != DType::F32 {
            return Err(self.err(id, "only f32"));
        }
        let bt = self
            .constant(b)
            .ok_or_else(|| self.err(id, "B must be a constant (batched runtime B not yet)"))?
            .clone();
        if bt.shape.len() != 2 {
            return Err(self.err(id, "B must be 2-d"));
        }
        let sa = self.shape(id, a)?;
        let mut bv = bt.to_f32_vec();
        let (mut k, mut n) = (bt.shape[0], bt.shape[1]);
        let mut bias = None;
        if let Op::Gemm(at) = &g.node(id).op {
            if at.trans_a {
                return Err(self.err(id, "trans_a"));
            }
            if at.trans_b {
                let mut t = vec![0f32; bv.len()];
                for i in 0..k {
                    for j in 0..n {
                        t[j * k + i] = bv[i * n + j];
                    }
                }
                bv = t;
                std::mem::swap(&mut k, &mut n);
            }
            if at.alpha != 1.0 {
                bv.iter_mut().for_each(|x| *x *= at.alpha);
            }
            if let Some(c) = g.operand(id, 2) {
                let ct = self.constant(c).ok_or_else(|| self.err(id, "C must be a constant"))?;
                let cv = ct.to_f32_vec();
                let cv: Vec<f32> = match cv.len() {
                    l if l == n && ct.shape.iter().rev().skip(1).all(|&d| d == 1) => cv,
                    1 => vec![cv[0]; n],
                    _ => return Err(self.err(id, "C must broadcast along rows")),
                };
                bias = Some(cv.into_iter().map(|x| x * at.beta).collect());
            }
        }
        if sa.last() != Some(&k) {
            return Err(self.err(id, format!("A {sa:?} does not match B ({k}×{n})")));
        }
        let m = sa.iter().product::<usize>() / k.max(1);
        let ab = self.buf(id, a)?;
        let mut name = g.node(id).op.name().to_string();
        let mut out = out;
        // Epilogue fusion: `+ bias` (an Add of a constant row vector) and then Relu/Clip.
        if bias.is_none() {
            if let Some((add, cv)) = self.row_bias_add(out, n) {
                bias = Some(cv);
                self.fused.insert(add);
                name.push_str("+Add");
                out = g.result(add);
            }
        }
        let (out, clamp) = self.fuse_f32_clamp(out, &mut name);
        self.push(id, name, Kernel::GemmF32 { m, n, k, b: bv, bias, clamp }, vec![ab], out)
    }

    /// Fuses the Relu/Clip that is the only use of the f32 GEMM result `v` (see
    /// [`Cx::f32_clamp_user`]) into the GEMM: marks it fused, appends its op to `ops`, and returns
    /// the value the step now defines with the clamp (or `v` and None).
    pub(crate) fn fuse_f32_clamp(
        &mut self,
        v: Value,
        ops: &mut String,
    ) -> (Value, Option<(f32, f32)>) {
        let Some((act, c)) = self.f32_clamp_user(v) else { return (v, None) };
        self.fused.insert(act);
        ops.push('+');
        ops.push_str(self.g.node(act).op.name());
        (self.g.result(act), Some(c))
    }

    /// When the only use of the f32 value `v` is a Relu or a Clip with constant bounds: that node
    /// and the clamp `(lo, hi)` it applies (Relu is `(0, +inf)`), for a GEMM epilogue.
    fn f32_clamp_user(&self, v: Value) -> Option<(NodeId, (f32, f32))> {
        let act = self.sole_user(v)?;
        let c = match self.g.node(act).op {
            Op::Relu => (0.0, f32::INFINITY),
            Op::Clip => match (self.const_scalar(act, 1), self.const_scalar(act, 2)) {
                (Ok(lo), Ok(hi)) => (
                    lo.map_or(f32::NEG_INFINITY, |v| v as f32),
                    hi.map_or(f32::INFINITY, |v| v as f32),
                ),
                _ => return None,
            },
            _ => return None,
        };
        Some((act, c))
    }

    /// When the only use of the f32 value `v` (…×n) is an Add with a constant that broadcasts
    /// along rows (`[n]` or `[1, …, 1, n]`, either operand) and keeps `v`'s shape: that Add and the
    /// constant's values.
    fn row_bias_add(&self, v: Value, n: usize) -> Option<(NodeId, Vec<f32>)> {
        let g = self.g;
        if g.outputs().iter().any(|(_, o)| *o == v) {
            return None;
        }
        let users = g.users(v);
        let &[(add, slot)] = users.as_slice() else { return None };
        if !matches!(g.node(add).op, Op::Add) {
            return None;
        }
        let other = g.operand(add, 1 - slot)?;
        let t = self.constant(other)?;
        let row = t.shape.last() == Some(&n) && t.shape.iter().rev().skip(1).all(|&d| d == 1);
        let same = g.value_type(g.result(add)).shape == g.value_type(v).shape;
        let fits = g.value_type(v).shape.rank().is_some_and(|r| t.shape.len() <= r);
        (t.dtype == DType::F32 && row && same && fits).then(|| (add, t.to_f32_vec()))
    }
}

/// Element strides of `src` broadcast to `dst` (numpy rules), or None if incompatible.
pub fn bcast_strides(src: &[usize], dst: &[usize]) -> Option<Vec<usize>> {
    if src.len() > dst.len() {
        return None;
    }
    let pad = dst.len() - src.len();
    let mut strides = vec![0usize; dst.len()];
    let mut s = 1usize;
    for i in (0..src.len()).rev() {
        let d = dst[pad + i];
        if src[i] == d {
            strides[pad + i] = if d == 1 { 0 } else { s };
        } else if src[i] != 1 {
            return None;
        }
        s *= src[i];
    }
    Some(strides)
}

/// Lowers a typed graph (every shape known) to kernels and a memory plan, under the default
/// [`Limits`] (see [`lower_with_limits`]).
pub fn lower(g: &Graph) -> Result<LoweredModel, LowerError> {
    lower_with_limits(g, &Limits::default())
}

/// Lowers a typed graph (every shape known) to kernels and a memory plan; the planned arena is
/// checked against `limits.max_arena_bytes` ([`LowerError::Limit`]) before any backend
/// allocates it.
pub fn lower_with_limits(g: &Graph, limits: &Limits) -> Result<LoweredModel, LowerError> {
    let order = g.topo_order().map_err(|e| LowerError::Graph(e.to_string()))?;
    let mut cx = Cx {
        g,
        bufs: Vec::new(),
        root: Vec::new(),
        map: HashMap::new(),
        steps: Vec::new(),
        fused: HashSet::new(),
        nhwc: HashSet::new(),
    };
    for &id in &order {
        if cx.fused.contains(&id) {
            continue;
        }
        cx.layout_prepare(id)?;
        cx.node(id)?;
        cx.layout_post(id)?;
    }
    cx.outputs_to_nchw()?;
    let inputs = g
        .inputs()
        .iter()
        .map(|&i| Ok((g.node(i).name.clone(), cx.buf(i, g.result(i))?)))
        .collect::<Result<Vec<_>, LowerError>>()?;
    let outputs = g
        .outputs()
        .iter()
        .map(|(name, v)| Ok((name.clone(), cx.buf(v.node, *v)?)))
        .collect::<Result<Vec<_>, LowerError>>()?;
    // Liveness over roots: inputs live from step 0, outputs to the end.
    let nsteps = cx.steps.len();
    let mut first: HashMap<BufId, usize> = HashMap::new();
    let mut last: HashMap<BufId, usize> = HashMap::new();
    for (_, b) in &inputs {
        first.insert(cx.root[*b], 0);
    }
    for (i, s) in cx.steps.iter().enumerate() {
        first.entry(cx.root[s.output]).or_insert(i);
        let e = last.entry(cx.root[s.output]).or_insert(i);
        *e = (*e).max(i);
        for &x in &s.inputs {
            let e = last.entry(cx.root[x]).or_insert(i);
            *e = (*e).max(i);
        }
    }
    for (_, b) in &outputs {
        last.insert(cx.root[*b], nsteps);
    }
    let roots: Vec<BufId> = (0..cx.bufs.len())
        .filter(|&b| cx.root[b] == b && matches!(cx.bufs[b].storage, Storage::Arena { .. }))
        .collect();
    let iv: Vec<Interval> = roots
        .iter()
        .map(|&b| {
            let f = first.get(&b).copied().unwrap_or(0);
            Interval {
                first: f,
                last: last.get(&b).copied().unwrap_or(f).max(f),
                size: cx.bufs[b].bytes().max(1),
            }
        })
        .collect();
    let (offs, arena_size) = first_fit(&iv);
    limits.check_arena(arena_size as u64)?;
    let root_off: HashMap<BufId, usize> = roots.iter().copied().zip(offs).collect();
    for b in 0..cx.bufs.len() {
        let r = cx.root[b];
        if let Storage::Arena { offset, .. } = &mut cx.bufs[b].storage {
            *offset = root_off[&r];
        }
    }
    Ok(LoweredModel { buffers: cx.bufs, inputs, outputs, steps: cx.steps, arena_size })
}
