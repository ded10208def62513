//! Empirical bias correction (Nagel et al. 2019, §4.2, the empirical variant): quantization
//! shifts the mean of a layer's output (weight rounding, activation rounding and clipping
//! upstream, the asymmetric errors of saturating ops). Running the float graph and its QDQ
//! simulation on calibration samples gives, per output channel of every Conv, Gemm and
//! MatMul(+bias Add), the mean of the float output and of the simulated one; their difference
//! is added to the layer's bias before it is quantized.
//!
//! Layers are corrected in topological order, each measured with its producers already
//! corrected (see [`bias_offsets`]): correcting all layers at once from one run and iterating
//! diverges on deep nets (every layer also "fixes" the error its producers will stop making).

use super::insert::{node_label, BiasOffsets};
use crate::calibrate::channel_axis;
use qcc_ir::interp::{eval_op, run_observed, InterpError};
use qcc_ir::{DType, Graph, NodeId, Op, Tensor, Value};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Per-channel sums and the number of elements summed per channel.
type Sums = BTreeMap<Value, (Vec<f64>, u64)>;

/// The values whose per-channel mean a bias can correct, by the label of the unit head:
/// the output of every Conv/Gemm with a constant weight, and the output of the bias `Add`
/// of a MatMul with a constant weight.
pub fn bias_targets(g: &Graph) -> Result<BTreeMap<String, Value>, qcc_ir::GraphError> {
    let mut t = BTreeMap::new();
    for n in g.topo_order()? {
        let konst = |slot| g.operand(n, slot).and_then(|v| g.const_value(v)).is_some();
        match g.node(n).op {
            Op::Conv(_) | Op::Gemm(_) if konst(1) => {
                t.insert(node_label(g, n), g.result(n));
            }
            Op::MatMul if konst(1) => {
                let out = g.result(n);
                let users = g.users(out);
                if let [(add, _)] = users[..] {
                    let ops = g.operands(add);
                    let other =
                        if ops.first() == Some(&Some(out)) { ops.get(1) } else { ops.first() };
                    let bias_const = other.copied().flatten().and_then(|v| g.const_value(v));
                    if matches!(g.node(add).op, Op::Add) && bias_const.is_some() {
                        t.insert(node_label(g, n), g.result(add));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

/// Samples observed in sequence by one task (fixed, so that sums do not depend on threads).
const CHUNK: usize = 4;

/// Per-channel means of `values` of `g` over `samples` (channel axis as in calibration).
pub fn channel_means(
    g: &Graph,
    values: &[Value],
    samples: &[Vec<Tensor>],
) -> Result<BTreeMap<Value, Vec<f32>>, InterpError> {
    let parts: Vec<Sums> = samples
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut acc = Sums::new();
            for inputs in chunk {
                run_observed(g, inputs, &mut |v, t| {
                    if t.dtype != DType::F32 || t.shape.is_empty() || !values.contains(&v) {
                        return;
                    }
                    let Ok(data) = t.as_f32() else { return };
                    let ax = channel_axis(t.shape.len());
                    let c = t.shape[ax];
                    let inner: usize = t.shape[ax + 1..].iter().product();
                    if c == 0 || inner == 0 {
                        return;
                    }
                    let e = acc.entry(v).or_insert_with(|| (vec![0.0; c], 0));
                    if e.0.len() != c {
                        return;
                    }
                    for (i, &x) in data.iter().enumerate() {
                        e.0[(i / inner) % c] += x as f64;
                    }
                    e.1 += (data.len() / c) as u64;
                })?;
            }
            Ok::<_, InterpError>(acc)
        })
        .collect::<Result<_, _>>()?;
    let mut total = Sums::new();
    for p in parts {
        for (v, (s, n)) in p {
            let e = total.entry(v).or_insert_with(|| (vec![0.0; s.len()], 0));
            if e.0.len() == s.len() {
                e.0.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
                e.1 += n;
            }
        }
    }
    Ok(total
        .into_iter()
        .map(|(v, (s, n))| (v, s.iter().map(|x| (x / n.max(1) as f64) as f32).collect()))
        .collect())
}

/// Empirical bias corrections of the QDQ simulation `qdq` of `float` (same node values:
/// `qdq` is built from a copy of `float`), for the bias targets among `quantized` (labels).
///
/// The float means come from one float run. The QDQ graph then runs on all samples at once,
/// node by node in topological order; at each target the mean error per channel is measured
/// and added to that value in every sample before the nodes below it run, so each layer's
/// correction sees its producers already corrected (one sweep, no iteration). Adding the
/// offset to the output equals adding it to the float bias, up to the bias's rounding to
/// `s_in·s_w`.
pub fn bias_offsets(
    float: &Graph,
    qdq: &Graph,
    quantized: &[String],
    samples: &[Vec<Tensor>],
) -> Result<BiasOffsets, InterpError> {
    let mut targets = bias_targets(float)?;
    targets.retain(|label, _| quantized.contains(label));
    let values: Vec<Value> = targets.values().copied().collect();
    let float_means = channel_means(float, &values, samples)?;
    let label_of: BTreeMap<Value, &String> = targets.iter().map(|(l, &v)| (v, l)).collect();

    let order = qdq.topo_order()?;
    let mut uses: HashMap<Value, usize> = HashMap::new();
    for &id in &order {
        for v in qdq.operands(id).iter().flatten() {
            *uses.entry(*v).or_default() += 1;
        }
    }
    for (_, v) in qdq.outputs() {
        *uses.entry(*v).or_default() += 1;
    }
    let input_pos: HashMap<NodeId, usize> =
        qdq.inputs().iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut envs: Vec<HashMap<Value, Tensor>> = vec![HashMap::new(); samples.len()];
    let mut offsets = BiasOffsets::new();
    for id in order {
        let node = qdq.node(id);
        let v0 = Value { node: id, index: 0 };
        match &node.op {
            Op::Constant(_) => continue,
            Op::Input => {
                for (env, s) in envs.iter_mut().zip(samples) {
                    let t = s.get(input_pos[&id]).ok_or(InterpError::InputCount {
                        expected: input_pos.len(),
                        got: s.len(),
                    })?;
                    env.insert(v0, t.clone());
                }
                continue;
            }
            _ => {}
        }
        let opnds = qdq.operands(id);
        let types: Vec<Option<&qcc_ir::TensorType>> =
            opnds.iter().map(|o| o.map(|v| qdq.value_type(v))).collect();
        envs.par_iter_mut().try_for_each(|env| {
            let tens: Vec<Option<&Tensor>> = opnds
                .iter()
                .map(|o| o.map(|v| qdq.const_value(v).map(|c| &**c).or_else(|| env.get(&v))))
                .map(|o| o.flatten())
                .collect();
            let out = eval_op(&node.op, &types, &tens, &node.results).map_err(|e| match e {
                InterpError::Node { op, error, .. } => {
                    InterpError::Node { node: node.name.clone(), op, error }
                }
                e => e,
            })?;
            for (i, t) in out.into_iter().enumerate() {
                env.insert(Value { node: id, index: i as u32 }, t);
            }
            Ok::<_, InterpError>(())
        })?;
        for (i, _) in node.results.iter().enumerate() {
            let v = Value { node: id, index: i as u32 };
            let (Some(label), Some(f)) = (label_of.get(&v), float_means.get(&v)) else {
                continue;
            };
            let m = mean_over(&envs, v);
            if m.len() != f.len() {
                continue;
            }
            let d: Vec<f32> = f
                .iter()
                .zip(&m)
                .map(|(f, m)| if (f - m).is_finite() { f - m } else { 0.0 })
                .collect();
            for env in &mut envs {
                if let Some(t) = env.get_mut(&v) {
                    add_per_channel(t, &d);
                }
            }
            offsets.insert((*label).clone(), d);
        }
        for v in opnds.iter().flatten() {
            if let Some(n) = uses.get_mut(v) {
                *n -= 1;
                if *n == 0 {
                    envs.iter_mut().for_each(|e| {
                        e.remove(v);
                    });
                }
            }
        }
        for (i, _) in node.results.iter().enumerate() {
            let v = Value { node: id, index: i as u32 };
            if uses.get(&v).copied().unwrap_or(0) == 0 {
                envs.iter_mut().for_each(|e| {
                    e.remove(&v);
                });
            }
        }
    }
    Ok(offsets)
}

/// Per-channel mean of `v` over every sample's value.
fn mean_over(envs: &[HashMap<Value, Tensor>], v: Value) -> Vec<f32> {
    let mut sum: Vec<f64> = Vec::new();
    let mut count = 0u64;
    for t in envs.iter().filter_map(|e| e.get(&v)) {
        let (Ok(data), false) = (t.as_f32(), t.shape.is_empty()) else { return Vec::new() };
        let ax = channel_axis(t.shape.len());
        let c = t.shape[ax];
        let inner: usize = t.shape[ax + 1..].iter().product();
        if c == 0 || inner == 0 {
            return Vec::new();
        }
        if sum.is_empty() {
            sum = vec![0.0; c];
        }
        if sum.len() != c {
            return Vec::new();
        }
        for (i, &x) in data.iter().enumerate() {
            sum[(i / inner) % c] += x as f64;
        }
        count += (data.len() / c) as u64;
    }
    sum.iter().map(|s| (s / count.max(1) as f64) as f32).collect()
}

/// Adds `d[c]` to every element of channel `c` (channel axis as in calibration).
fn add_per_channel(t: &mut Tensor, d: &[f32]) {
    if t.shape.is_empty() {
        return;
    }
    let ax = channel_axis(t.shape.len());
    let inner: usize = t.shape[ax + 1..].iter().product();
    let c = t.shape[ax];
    if c != d.len() || inner == 0 {
        return;
    }
    if let qcc_ir::tensor::Data::F32(data) = &mut t.data {
        for (i, x) in data.iter_mut().enumerate() {
            *x += d[(i / inner) % c];
        }
    }
}
