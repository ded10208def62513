//! SmoothQuant-style balancing (Xiao et al. 2023) of a `LayerNormalization` and the MatMuls it
//! feeds: per input channel `j`, `s_j = max|X_j|^α / max|W_j·|^(1−α)`; the LayerNorm's gamma
//! and beta are divided by `s` and the rows of every consuming weight multiplied by `s`, so the
//! float function is unchanged while activation outliers move into the (per-channel
//! quantized) weights.
//!
//! The per-channel activation maxima come from calibration ([`ChannelMax`]) or, data-free, from
//! the LayerNorm's parameters: `|y_j| ≤ |γ_j|·√(C−1) + |β_j|` (a normalized value is bounded by
//! √(C−1) over C channels). When the LayerNorm output has users other than smoothable MatMuls
//! (a residual Add), a copy of the LayerNorm with the divided parameters feeds the MatMuls.

use qcc_ir::{DType, Graph, GraphError, NodeId, Op, Tensor, Value};
use std::collections::BTreeMap;

/// Per-channel (last axis) maximum of |x| per value, from calibration.
pub type ChannelMax = BTreeMap<Value, Vec<f32>>;

/// What smoothing did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SmoothReport {
    /// LayerNorm nodes whose consumers were balanced.
    pub smoothed: Vec<String>,
    /// LayerNorm copies made because the original output had other users.
    pub copies: usize,
}

fn const_f32<'a>(g: &'a Graph, v: Option<Value>) -> Option<&'a Tensor> {
    let t = g.const_value(v?)?;
    (t.dtype == DType::F32).then_some(t.as_ref())
}

/// Smooths every `LayerNormalization` (last axis, constant f32 gamma and beta) whose output
/// feeds at least one `MatMul(x, W)` with a constant 2-D W. `alpha` is the migration strength
/// (0.5 in the paper); `channel_max` gives measured maxima, else the data-free bound is used.
pub fn smooth_layernorms(
    g: &mut Graph,
    alpha: f32,
    channel_max: Option<&ChannelMax>,
) -> Result<SmoothReport, GraphError> {
    let mut report = SmoothReport::default();
    for n in g.topo_order()? {
        if !g.contains(n) {
            continue;
        }
        let Op::LayerNormalization(attrs) = g.node(n).op.clone() else { continue };
        let x = g.result(n);
        let Some(rank) = g.value_type(x).shape.rank() else { continue };
        if !(attrs.axis == -1 || attrs.axis == rank as i64 - 1) {
            continue;
        }
        let ops = g.operands(n);
        let (Some(gamma), beta) = (const_f32(g, ops.get(1).copied().flatten()), ops.get(2))
        else {
            continue;
        };
        let c = gamma.numel();
        let gamma = gamma.as_f32().expect("f32").to_vec();
        let beta: Vec<f32> = match beta.copied().flatten() {
            None => vec![0.0; c],
            Some(b) => match const_f32(g, Some(b)).and_then(|t| t.as_f32().ok()) {
                Some(d) if d.len() == c => d.to_vec(),
                _ => continue,
            },
        };
        // MatMul users with x as the left operand and a constant [C, N] weight.
        let mut mms: Vec<NodeId> = Vec::new();
        let mut others = false;
        for (u, slot) in g.users(x) {
            let w = const_f32(g, g.operand(u, 1));
            if matches!(g.node(u).op, Op::MatMul)
                && slot == 0
                && w.is_some_and(|w| w.rank() == 2 && w.shape[0] == c)
            {
                if !mms.contains(&u) {
                    mms.push(u);
                }
            } else {
                others = true;
            }
        }
        others |= g.outputs().iter().any(|(_, o)| *o == x);
        if mms.is_empty() {
            continue;
        }
        let act_max: Vec<f32> = match channel_max.and_then(|m| m.get(&x)) {
            Some(m) if m.len() == c => m.clone(),
            _ => {
                let k = ((c.max(2) - 1) as f32).sqrt();
                gamma.iter().zip(&beta).map(|(gm, b)| gm.abs() * k + b.abs()).collect()
            }
        };
        let mut w_max = vec![0f32; c];
        for &u in &mms {
            let w = const_f32(g, g.operand(u, 1)).expect("checked");
            let n_out = w.shape[1];
            for (i, &v) in w.as_f32().expect("f32").iter().enumerate() {
                w_max[i / n_out] = w_max[i / n_out].max(v.abs());
            }
        }
        const EPS: f32 = 1e-5;
        let s: Vec<f32> = act_max
            .iter()
            .zip(&w_max)
            .map(|(&a, &w)| {
                if a <= EPS || w <= EPS {
                    1.0
                } else {
                    (a.powf(alpha) / w.powf(1.0 - alpha)).clamp(1e-4, 1e4)
                }
            })
            .collect();
        let name = g.node(n).name.clone();
        let gv =
            g.add_const(format!("{name}.smooth_gamma"), div(&gamma, &s, &[c]));
        let bv = g.add_const(format!("{name}.smooth_beta"), div(&beta, &s, &[c]));
        let target = if others {
            // A copy of the LayerNorm feeds the MatMuls; the original keeps its other users.
            let ty = g.value_type(x).clone();
            report.copies += 1;
            g.add_op(
                Op::LayerNormalization(attrs.clone()),
                format!("{name}.smooth"),
                &[ops[0].expect("input"), gv, bv],
                ty,
            )?
        } else {
            let mut all = ops.clone();
            all.resize(3, None);
            all[1] = Some(gv);
            all[2] = Some(bv);
            g.set_operands(n, &all)?;
            x
        };
        for &u in &mms {
            let w = const_f32(g, g.operand(u, 1)).expect("checked").clone();
            let n_out = w.shape[1];
            let data: Vec<f32> = w
                .as_f32()
                .expect("f32")
                .iter()
                .enumerate()
                .map(|(i, &v)| v * s[i / n_out])
                .collect();
            let wname = format!("{}.smooth_weight", g.node(u).name);
            let wv = g.add_const(wname, Tensor::f32(&w.shape, data));
            g.set_operand(u, 0, Some(target))?;
            g.set_operand(u, 1, Some(wv))?;
        }
        report.smoothed.push(name);
    }
    g.remove_dead_nodes();
    Ok(report)
}

fn div(a: &[f32], s: &[f32], shape: &[usize]) -> Tensor {
    Tensor::f32(shape, a.iter().zip(s).map(|(x, d)| x / d).collect())
}
