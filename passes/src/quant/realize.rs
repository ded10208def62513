//! Realizing QDQ units as integer ops.
//!
//! * `T(Dequantize(q))` for a transparent op `T` (Reshape, Transpose, MaxPool, Slice, …) becomes
//!   `Dequantize(T(q))`: the op runs on the integers with the same parameters;
//! * `Quantize(Conv(DQ(x), DQ(w), DQ(b)) [→ Relu/Clip])` becomes `QConv(x, w, b) → Requantize
//!   [→ Clip on integers]`, and likewise MatMul/Gemm (`QMatMul`), Add (`QAdd`), Mul (`QMul`),
//!   average pools and Concat;
//! * `Quantize(f(DQ(x)))` for a unary `f` of an 8-bit value becomes a 256-entry `Lut`, whose
//!   table is computed with the interpreter's own `f`, so it matches the float simulation;
//! * `Quantize(Dequantize(x))` becomes `x` when the parameters agree, else `Requantize(x)`.
//!
//! A Relu/Clip on the quantized output is exact on integers: `Q(relu(v)) = max(Q(v), zp)`
//! because rounding is monotonic and `Q(0) = zp`.

use super::insert::QuantError;
use super::scheme::{role, QuantScheme, Role};
use qcc_ir::interp::eval_op;
use qcc_ir::qmath;
use qcc_ir::{DType, Graph, NodeId, Op, Quant, Shape, Tensor, TensorType, Value};

/// What realization produced.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RealizeReport {
    /// Integer ops created, by op name.
    pub integer_ops: Vec<String>,
    /// `Quantize`/`Dequantize` left at float boundaries.
    pub boundaries: usize,
}

/// The quantized operand behind a `Dequantize`.
fn dq_input(g: &Graph, v: Value) -> Option<Value> {
    matches!(g.node(v.node).op, Op::Dequantize).then(|| g.operand(v.node, 0)).flatten()
}

fn per_tensor(g: &Graph, v: Value) -> Option<(f32, i32)> {
    g.value_type(v).quant.as_ref()?.per_tensor()
}

fn is_8bit(d: DType) -> bool {
    matches!(d, DType::U8 | DType::I8)
}

/// Realizes every QDQ unit of `g` into integer ops; returns what it made. Nodes the scheme
/// excludes stay in float even when Q/DQ surround them (their neighbours were quantized).
pub fn realize(g: &mut Graph, scheme: &QuantScheme) -> Result<RealizeReport, QuantError> {
    let mut report = RealizeReport::default();
    // 1. Sink Dequantize through transparent ops until nothing moves.
    loop {
        let mut moved = false;
        for n in g.topo_order()? {
            if !g.contains(n) || role(&g.node(n).op) != Role::Transparent || scheme.excludes(g, n) {
                continue;
            }
            let Some(x) = g.operand(n, 0).and_then(|v| dq_input(g, v)) else { continue };
            if per_tensor(g, x).is_none() {
                continue;
            }
            let xt = g.value_type(x).clone();
            let node = g.node(n).clone();
            let mut ops = g.operands(n);
            ops[0] = Some(x);
            let tys: Vec<TensorType> = node
                .results
                .iter()
                .map(|t| TensorType {
                    dtype: xt.dtype,
                    shape: t.shape.clone(),
                    quant: xt.quant.clone(),
                })
                .collect();
            let m = g.add_node(node.op.clone(), node.name.clone(), &ops, tys)?;
            for (i, t) in node.results.iter().enumerate() {
                let r = Value { node: m, index: i as u32 };
                let d = g.add_op(Op::Dequantize, format!("{}.dq", node.name), &[r], t.clone())?;
                g.replace_all_uses(Value { node: n, index: i as u32 }, d)?;
            }
            g.remove_node(n)?;
            moved = true;
        }
        if !moved {
            break;
        }
    }
    // 2. Units ending in a Quantize.
    for qn in g.topo_order()? {
        if !g.contains(qn) || !matches!(g.node(qn).op, Op::Quantize) {
            continue;
        }
        let out_ty = g.node(qn).results[0].clone();
        let Some(y) = g.operand(qn, 0) else { continue };
        if let Some(v) = realize_unit(g, y, &out_ty, scheme, &mut report)? {
            g.replace_all_uses(g.result(qn), v)?;
        }
    }
    // 2b. Conv/MatMul/Gemm units with a float output: accumulator → Dequantize.
    g.remove_dead_nodes();
    for n in g.topo_order()? {
        if !scheme.float_outputs
            || !g.contains(n)
            || !matches!(g.node(n).op, Op::Conv(_) | Op::MatMul | Op::Gemm(_))
            || scheme.excludes(g, n)
        {
            continue;
        }
        let y = float_unit_output(g, n);
        if g.users(y).iter().any(|&(u, _)| matches!(g.node(u).op, Op::Quantize)) {
            continue;
        }
        if let Some(v) = realize_compute(g, y, None, &mut report)? {
            g.replace_all_uses(y, v)?;
        }
    }
    // 3. Quantize(Dequantize(x)).
    for qn in g.topo_order()? {
        if !g.contains(qn) || !matches!(g.node(qn).op, Op::Quantize) {
            continue;
        }
        let Some(x) = g.operand(qn, 0).and_then(|v| dq_input(g, v)) else { continue };
        let out_ty = g.node(qn).results[0].clone();
        let xt = g.value_type(x).clone();
        let v = if xt.dtype == out_ty.dtype && xt.quant == out_ty.quant {
            x
        } else {
            report.integer_ops.push("Requantize".into());
            g.add_op(Op::Requantize, g.node(qn).name.clone(), &[x], out_ty)?
        };
        g.replace_all_uses(g.result(qn), v)?;
    }
    g.remove_dead_nodes();
    report.boundaries = g
        .node_ids()
        .iter()
        .filter(|&&n| matches!(g.node(n).op, Op::Quantize | Op::Dequantize))
        .count();
    Ok(report)
}

/// Integer clamp for a fused Relu/Clip with the output's parameters.
fn clamp_after(
    g: &mut Graph,
    act: NodeId,
    v: Value,
    out_ty: &TensorType,
) -> Result<Value, QuantError> {
    let (s, z) = out_ty.quant.as_ref().and_then(Quant::per_tensor).unwrap_or((1.0, 0));
    let (lo, hi) = qmath::qrange(out_ty.dtype);
    let (mut qlo, mut qhi) = (z, hi);
    if matches!(g.node(act).op, Op::Clip) {
        let bound = |slot: usize| {
            g.operand(act, slot)
                .and_then(|b| g.const_value(b))
                .and_then(|t| t.as_f32().ok().and_then(|d| d.first().copied()))
        };
        qlo = bound(1).map_or(lo, |b| qmath::quantize(b, s, z, lo, hi));
        qhi = bound(2).map_or(hi, |b| qmath::quantize(b, s, z, lo, hi));
    }
    let name = g.node(act).name.clone();
    let c = |g: &mut Graph, x: i32, tag: &str| {
        let t = Tensor::from_i64_saturating(out_ty.dtype, vec![], &[x as i64]).expect("scalar");
        g.add_const(format!("{name}.{tag}"), t)
    };
    let (a, b) = (c(g, qlo, "min"), c(g, qhi, "max"));
    Ok(g.add_op(Op::Clip, name, &[v, a, b], out_ty.clone())?)
}

fn acc_type(shape: Shape, sx: f32, w: &Quant, axis: usize) -> TensorType {
    let q = match w {
        Quant::Tensor { scale, .. } => Quant::Tensor { scale: sx * scale, zero_point: 0 },
        q => Quant::Axis {
            axis,
            scales: q.scales().iter().map(|&s| sx * s).collect(),
            zero_points: vec![0; q.scales().len()],
        },
    };
    TensorType { dtype: DType::I32, shape, quant: Some(q) }
}

/// Builds the integer version of the unit producing `y`; `None` when `y` is not a unit.
fn realize_unit(
    g: &mut Graph,
    y: Value,
    out_ty: &TensorType,
    scheme: &QuantScheme,
    report: &mut RealizeReport,
) -> Result<Option<Value>, QuantError> {
    let p = y.node;
    if scheme.excludes(g, p) {
        return Ok(None);
    }
    let p_op = g.node(p).op.clone();
    // A fused activation on top of a compute head?
    let (act, head_out) = match p_op {
        Op::Relu | Op::Clip => match g.operand(p, 0) {
            Some(h)
                if matches!(
                    g.node(h.node).op,
                    Op::Conv(_) | Op::MatMul | Op::Gemm(_) | Op::Add
                ) && dq_input(g, h).is_none() =>
            {
                (Some(p), h)
            }
            _ => (None, y),
        },
        _ => (None, y),
    };
    if scheme.excludes(g, head_out.node) {
        return Ok(None);
    }
    if let Some(v) = realize_compute(g, head_out, Some(out_ty), report)? {
        return Ok(Some(match act {
            Some(a) => clamp_after(g, a, v, out_ty)?,
            None => v,
        }));
    }
    // A table.
    if role(&p_op) == Role::Table && act.is_none() {
        let Some(x) = g.operand(p, 0).and_then(|v| dq_input(g, v)) else { return Ok(None) };
        let xt = g.value_type(x).clone();
        let Some((sx, zx)) = per_tensor(g, x) else { return Ok(None) };
        // 8-bit inputs: 256 entries; 16-bit: 65536 (128 KiB of i16), still cheaper than a
        // float island of Dequantize → op → Quantize.
        let small = |d: DType| is_8bit(d) || d == DType::I16;
        if !small(xt.dtype) || !small(out_ty.dtype) {
            return Ok(None);
        }
        let Some((sy, zy)) = out_ty.quant.as_ref().and_then(Quant::per_tensor) else {
            return Ok(None);
        };
        let (lo, hi) = qmath::qrange(xt.dtype);
        let xs: Vec<f32> = (lo..=hi).map(|q| qmath::dequantize(q, sx, zx)).collect();
        let xin = Tensor::f32(&[xs.len()], xs);
        let mut operand_types: Vec<Option<TensorType>> =
            vec![Some(TensorType::fixed(DType::F32, &[xin.shape[0]]))];
        let mut operands: Vec<Option<Tensor>> = vec![Some(xin)];
        for o in g.operands(p).into_iter().skip(1) {
            let t = o.and_then(|v| g.const_value(v)).map(|t| (**t).clone());
            operand_types.push(t.as_ref().map(|t| TensorType::fixed(t.dtype, &t.shape)));
            operands.push(t);
        }
        let rt = [TensorType::fixed(DType::F32, &[(hi - lo + 1) as usize])];
        let ot: Vec<Option<&TensorType>> = operand_types.iter().map(Option::as_ref).collect();
        let ov: Vec<Option<&Tensor>> = operands.iter().map(Option::as_ref).collect();
        let fy = eval_op(&p_op, &ot, &ov, &rt)
            .map_err(|e| QuantError::Scheme(format!("table for `{}`: {e}", g.node(p).name)))?;
        let (olo, ohi) = qmath::qrange(out_ty.dtype);
        let table: Vec<i64> = fy[0]
            .as_f32()
            .map_err(|e| QuantError::Scheme(e.to_string()))?
            .iter()
            .map(|&f| qmath::quantize(f, sy, zy, olo, ohi) as i64)
            .collect();
        let tt = Tensor::from_i64_saturating(out_ty.dtype, vec![table.len()], &table)
            .map_err(|e| QuantError::Scheme(e.to_string()))?;
        let name = g.node(p).name.clone();
        let tv = g.add_const(format!("{name}.table"), tt);
        report.integer_ops.push("Lut".into());
        return Ok(Some(g.add_op(Op::Lut, name, &[x, tv], out_ty.clone())?));
    }
    Ok(None)
}

/// The integer version of the compute unit producing `y`: requantized to `out_ty`, or, when
/// `out_ty` is `None` (a float output), the accumulator dequantized to f32 (Conv, MatMul and
/// Gemm only).
fn realize_compute(
    g: &mut Graph,
    y: Value,
    out_ty: Option<&TensorType>,
    report: &mut RealizeReport,
) -> Result<Option<Value>, QuantError> {
    let mut h = y.node;
    let mut bias: Option<Value> = None;
    // MatMul + fused constant bias Add.
    if matches!(g.node(h).op, Op::Add) {
        let ops = g.operands(h);
        if let [Some(a), Some(b)] = ops[..] {
            for (mm, c) in [(a, b), (b, a)] {
                let bq = dq_input(g, c)
                    .filter(|&q| g.value_type(q).dtype == DType::I32 && g.const_value(q).is_some());
                if matches!(g.node(mm.node).op, Op::MatMul) && bq.is_some() {
                    bias = bq;
                    h = mm.node;
                }
            }
        }
    }
    let op = g.node(h).op.clone();
    let name = g.node(h).name.clone();
    let ops = g.operands(h);
    let q_of = |g: &Graph, o: Option<Value>| o.and_then(|v| dq_input(g, v));
    let y_shape = g.value_type(g.result(h)).shape.clone();
    let v = match &op {
        Op::Conv(attrs) => {
            let (Some(x), Some(w)) = (q_of(g, ops[0]), q_of(g, ops[1])) else { return Ok(None) };
            let b = match ops.get(2).copied().flatten() {
                Some(bv) => match q_of(g, Some(bv)) {
                    Some(q) => Some(q),
                    None => return Ok(None),
                },
                None => None,
            };
            let (Some((sx, _)), Some(wq)) = (per_tensor(g, x), g.value_type(w).quant.clone())
            else {
                return Ok(None);
            };
            let acc = acc_type(y_shape, sx, &wq, 1);
            report.integer_ops.push("QConv".into());
            g.add_node(Op::QConv(attrs.clone()), name.clone(), &[Some(x), Some(w), b], vec![acc])?
        }
        Op::MatMul | Op::Gemm(_) => {
            let (Some(a), Some(mut b)) = (q_of(g, ops[0]), q_of(g, ops[1])) else {
                return Ok(None);
            };
            if let Op::Gemm(ga) = &op {
                bias = match ops.get(2).copied().flatten() {
                    Some(bv) => match q_of(g, Some(bv)) {
                        Some(q) => Some(q),
                        None => return Ok(None),
                    },
                    None => None,
                };
                if ga.trans_b {
                    b = transpose_weight(g, b)?;
                }
            }
            let Some((sa, _)) = per_tensor(g, a) else { return Ok(None) };
            let bq = g
                .value_type(b)
                .quant
                .clone()
                .unwrap_or(Quant::Tensor { scale: 1.0, zero_point: 0 });
            if matches!(bq, Quant::Block { .. }) {
                return Ok(None);
            }
            let rank = y_shape.rank().unwrap_or(2);
            let acc = acc_type(y_shape, sa, &bq, rank.saturating_sub(1));
            report.integer_ops.push("QMatMul".into());
            g.add_node(Op::QMatMul, name.clone(), &[Some(a), Some(b), bias], vec![acc])?
        }
        _ if out_ty.is_none() => return Ok(None),
        Op::Add | Op::Mul => {
            let (Some(a), Some(b)) = (q_of(g, ops[0]), q_of(g, ops[1])) else { return Ok(None) };
            if per_tensor(g, a).is_none() || per_tensor(g, b).is_none() {
                return Ok(None);
            }
            let qop = if matches!(op, Op::Add) { Op::QAdd } else { Op::QMul };
            report.integer_ops.push(qop.name().into());
            return Ok(Some(g.add_op(qop, name, &[a, b], out_ty.expect("checked").clone())?));
        }
        Op::GlobalAveragePool | Op::AveragePool(_) => {
            let Some(x) = q_of(g, ops[0]) else { return Ok(None) };
            let qop = match &op {
                Op::AveragePool(a) => Op::QAveragePool(a.clone()),
                _ => Op::QGlobalAveragePool,
            };
            report.integer_ops.push(qop.name().into());
            return Ok(Some(g.add_op(qop, name, &[x], out_ty.expect("checked").clone())?));
        }
        Op::Concat(a) => {
            let xs: Option<Vec<Value>> = ops.iter().map(|&o| q_of(g, o)).collect();
            let Some(xs) = xs else { return Ok(None) };
            report.integer_ops.push("QConcat".into());
            return Ok(Some(g.add_op(
                Op::QConcat(*a),
                name,
                &xs,
                out_ty.expect("checked").clone(),
            )?));
        }
        _ => return Ok(None),
    };
    let acc = g.result(v);
    Ok(Some(match out_ty {
        Some(t) => {
            report.integer_ops.push("Requantize".into());
            g.add_op(Op::Requantize, format!("{name}.requant"), &[acc], t.clone())?
        }
        None => {
            let t = TensorType {
                dtype: DType::F32,
                shape: g.value_type(acc).shape.clone(),
                quant: None,
            };
            g.add_op(Op::Dequantize, format!("{name}.dq"), &[acc], t)?
        }
    }))
}

/// The value a float-output compute unit headed by `n` produces: the node's result, or the
/// result of the constant-bias `Add` fused after a MatMul.
fn float_unit_output(g: &Graph, n: NodeId) -> Value {
    let y = g.result(n);
    if matches!(g.node(n).op, Op::MatMul) {
        if let [(u, _)] = g.users(y)[..] {
            let is_bias = g.operands(u).iter().flatten().any(|&o| {
                o != y
                    && dq_input(g, o).is_some_and(|q| {
                        g.value_type(q).dtype == DType::I32 && g.const_value(q).is_some()
                    })
            });
            if matches!(g.node(u).op, Op::Add)
                && is_bias
                && !g.outputs().iter().any(|(_, o)| *o == y)
            {
                return g.result(u);
            }
        }
    }
    y
}

/// A transposed copy of a 2-D quantized constant `[N, K]` → `[K, N]` (per-axis axis 0 → 1).
fn transpose_weight(g: &mut Graph, w: Value) -> Result<Value, QuantError> {
    let t = g
        .const_value(w)
        .ok_or_else(|| QuantError::Scheme("Gemm weight is not constant".into()))?
        .clone();
    let (n, k) = (t.shape[0], t.shape[1]);
    let bytes = t.to_le_bytes();
    let sz = t.dtype.size_bytes();
    let mut out = vec![0u8; bytes.len()];
    for i in 0..n {
        for j in 0..k {
            out[(j * n + i) * sz..(j * n + i + 1) * sz]
                .copy_from_slice(&bytes[(i * k + j) * sz..(i * k + j + 1) * sz]);
        }
    }
    let tt = Tensor::from_le_bytes(t.dtype, vec![k, n], &out)
        .map_err(|e| QuantError::Scheme(e.to_string()))?;
    let mut ty = g.value_type(w).clone();
    ty.shape = Shape::fixed(&[k, n]);
    if let Some(Quant::Axis { axis, .. }) = &mut ty.quant {
        *axis = 1 - *axis;
    }
    let name = format!("{}.t", g.node(w.node).name);
    Ok(g.add_const_typed(name, tt, ty))
}
