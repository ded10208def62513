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

fn const_f32(g: &Graph, v: Option<Value>) -> Option<&Tensor> {
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
        let (Some(gamma), beta) = (const_f32(g, ops.get(1).copied().flatten()), ops.get(2)) else {
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
        let gv = g.add_const(format!("{name}.smooth_gamma"), div(&gamma, &s, &[c]));
        let bv = g.add_const(format!("{name}.smooth_beta"), div(&beta, &s, &[c]));
        let target = if others {
            // A copy of the LayerNorm feeds the MatMuls; the original keeps its other users.
            let ty = g.value_type(x).clone();
            report.copies += 1;
            g.add_op(
                Op::LayerNormalization(attrs),
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

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::interp;

    const GRAPH: &str = "graph @g phase=typed {
  input %x: f32[3,6]
  const @g: f32[6] = [1.0, -8.0, 0.5, 2.0, 16.0, 1.0]
  const @b: f32[6] = [0.1, 3.0, 0.0, -0.2, 4.0, 0.0]
  const @w1: f32[6,2] = [1.0, -0.5, 0.5, 1.0, 4.0, 0.0, 1.0, 1.0, 0.25, 0.0, -2.0, 0.3]
  const @w2: f32[6,1] = [0.5, -1.0, 1.0, 0.5, 0.125, 0.7]
  %0 = LayerNormalization(%x, @g, @b) {epsilon=1e-5} : f32[3,6] \"ln\"
  %1 = MatMul(%0, @w1) : f32[3,2] \"q\"
  %2 = MatMul(%0, @w2) : f32[3,1] \"k\"
  %3 = Add(%0, %x) : f32[3,6] \"residual\"
  output \"q\" = %1
  output \"k\" = %2
  output \"r\" = %3
}
";

    fn input() -> Tensor {
        Tensor::f32(&[3, 6], (0..18).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.37).collect())
    }

    fn max_rel_diff(a: &[Tensor], b: &[Tensor]) -> f32 {
        let mut m = 0f32;
        for (x, y) in a.iter().zip(b) {
            for (p, q) in x.as_f32().unwrap().iter().zip(y.as_f32().unwrap()) {
                m = m.max((p - q).abs() / (1.0 + p.abs()));
            }
        }
        m
    }

    #[test]
    fn smoothing_keeps_the_function_and_flattens_channel_maxima() {
        let g0 = qcc_ir::parse::parse(GRAPH).unwrap();
        let want = interp::run(&g0, &[input()]).unwrap();
        // Measured maxima (as calibration gives them) and the data-free bound.
        let x = g0.result(g0.node_ids().into_iter().find(|&n| g0.node(n).name == "ln").unwrap());
        let ln_out = {
            let mut out = None;
            interp::run_observed(&g0, &[input()], &mut |v, t| {
                if v == x {
                    out = Some(t.clone());
                }
            })
            .unwrap();
            out.unwrap()
        };
        let mut amax = vec![0f32; 6];
        for (i, v) in ln_out.as_f32().unwrap().iter().enumerate() {
            amax[i % 6] = amax[i % 6].max(v.abs());
        }
        let measured: ChannelMax = [(x, amax.clone())].into_iter().collect();
        for cm in [Some(&measured), None] {
            let mut g = g0.clone();
            let r = smooth_layernorms(&mut g, 0.5, cm).unwrap();
            assert_eq!(r.smoothed, vec!["ln".to_string()]);
            assert_eq!(r.copies, 1, "the residual Add keeps the original LayerNorm");
            let got = interp::run(&g, &[input()]).unwrap();
            assert!(max_rel_diff(&want, &got) < 1e-5, "smoothing changed the outputs");
        }
        // With measured maxima and α = 1, the smoothed activation has equal channel maxima.
        let mut g = g0.clone();
        smooth_layernorms(&mut g, 1.0, Some(&measured)).unwrap();
        let copy = g.node_ids().into_iter().find(|&n| g.node(n).name == "ln.smooth").unwrap();
        let cv = g.result(copy);
        let mut sm = vec![0f32; 6];
        interp::run_observed(&g, &[input()], &mut |v, t| {
            if v == cv {
                for (i, e) in t.as_f32().unwrap().iter().enumerate() {
                    sm[i % 6] = sm[i % 6].max(e.abs());
                }
            }
        })
        .unwrap();
        for m in &sm {
            assert!((m - 1.0).abs() < 1e-4, "channel maxima after α=1: {sm:?}");
        }
    }
}
