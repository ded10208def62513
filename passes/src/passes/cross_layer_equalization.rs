//! `cross-layer-equalization`: cross-layer equalization (Nagel et al. 2019, "Data-Free
//! Quantization Through Weight Equalization and Bias Correction") of consecutive convolutions.
//!
//! For `Conv1 → [Relu | LeakyRelu] → Conv2` (each link the only user of the value it reads),
//! output channel `i` of Conv1 feeds input channel `i` of Conv2. Since the activation is
//! positively homogeneous (`f(s·x) = s·f(x)` for `s > 0`), dividing Conv1's output channel `i`
//! (weights and bias) by `s_i` and multiplying Conv2's input channel `i` by `s_i` leaves the
//! float function unchanged. With `r1_i` the range (max |w|) of Conv1's output channel `i` and
//! `r2_i` that of Conv2's input channel `i`, `s_i = √(r1_i / r2_i)` makes both ranges
//! `√(r1_i·r2_i)`: per-channel ranges balance, which matters for depthwise convolutions whose
//! channels have very different ranges (the activations between the layers are quantized per
//! tensor).
//!
//! Activations that are *not* positively homogeneous (`Clip`/ReLU6, `HardSwish`,
//! `HardSigmoid`, `Sigmoid`…) end a chain: scaling through them would change the function.
//! Chains longer than two are equalized pair by pair, `iterations` sweeps in topological
//! order (each sweep moves every pair closer to balance).

use super::util::{base_name, declared_names};
use crate::analysis::PassCx;
use crate::pass::{Changed, Pass, PassError};
use crate::registry::DeclaredPass;
use qcc_ir::{DType, Graph, NodeId, Op, Tensor, Value};
use serde::{Deserialize, Serialize};

/// Options: how many sweeps over all pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleOptions {
    /// Sweeps over all pairs (1..=100).
    pub iterations: u32,
}

impl Default for CleOptions {
    fn default() -> Self {
        CleOptions { iterations: 4 }
    }
}

/// Cross-layer equalization of Conv → (Relu) → Conv pairs.
#[derive(Debug, Default)]
pub struct CrossLayerEqualization {
    iterations: u32,
}

impl DeclaredPass for CrossLayerEqualization {
    const NAME: &'static str = "cross-layer-equalization";
    const SUMMARY: &'static str =
        "balance per-channel weight ranges of Conv → (Relu) → Conv pairs (Nagel et al. 2019)";
    type Options = CleOptions;
    fn from_options(o: CleOptions) -> Self {
        CrossLayerEqualization { iterations: o.iterations }
    }
}

/// A pair to equalize: the two convolutions.
#[derive(Debug, Clone, Copy)]
struct Pair {
    first: NodeId,
    second: NodeId,
}

/// The only user of `v` (not a graph output), with the slot it reads `v` in.
fn sole_user(g: &Graph, v: Value) -> Option<(NodeId, usize)> {
    let users = g.users(v);
    (users.len() == 1 && !g.outputs().iter().any(|(_, o)| *o == v)).then(|| users[0])
}

fn const_f32(g: &Graph, v: Option<Value>) -> Option<&Tensor> {
    let t = g.const_value(v?)?;
    (t.dtype == DType::F32).then_some(t.as_ref())
}

/// A Conv with a constant f32 weight of rank ≥ 3 and an absent or constant f32 bias.
fn conv_group(g: &Graph, n: NodeId) -> Option<usize> {
    let Op::Conv(a) = &g.node(n).op else { return None };
    let w = const_f32(g, g.operand(n, 1))?;
    let bias_ok = match g.operand(n, 2) {
        None => true,
        Some(b) => const_f32(g, Some(b)).is_some_and(|b| b.numel() == w.shape[0]),
    };
    (w.rank() >= 3 && bias_ok && a.group >= 1).then_some(a.group)
}

fn find_pairs(g: &Graph) -> Result<Vec<Pair>, PassError> {
    let mut pairs = Vec::new();
    let order = g.topo_order().map_err(|e| PassError::graph(CrossLayerEqualization::NAME, e))?;
    for n in order {
        let Some(_) = conv_group(g, n) else { continue };
        let mut v = g.result(n);
        let Some((mut u, mut slot)) = sole_user(g, v) else { continue };
        let homogeneous = match &g.node(u).op {
            Op::Relu => true,
            Op::LeakyRelu(a) => a.alpha.is_finite(),
            _ => false,
        };
        if homogeneous {
            v = g.result(u);
            let Some(next) = sole_user(g, v) else { continue };
            (u, slot) = next;
        }
        if slot != 0 || conv_group(g, u).is_none() {
            continue;
        }
        let c1 = const_f32(g, g.operand(n, 1)).expect("checked").shape[0];
        let w2 = const_f32(g, g.operand(u, 1)).expect("checked");
        let g2 = conv_group(g, u).expect("checked");
        if w2.shape[1] * g2 != c1 || !w2.shape[0].is_multiple_of(g2) {
            continue;
        }
        pairs.push(Pair { first: n, second: u });
    }
    Ok(pairs)
}

/// Max |w| of each output channel (axis 0) of a weight.
fn out_ranges(w: &[f32], shape: &[usize]) -> Vec<f32> {
    let inner: usize = shape[1..].iter().product();
    (0..shape[0])
        .map(|o| w[o * inner..(o + 1) * inner].iter().fold(0f32, |m, x| m.max(x.abs())))
        .collect()
}

/// For input channel `i` of a conv with weight `shape` and `group` groups, the flat index
/// ranges `[start, start + k)` of the weights that read it.
fn in_channel_slices(shape: &[usize], group: usize, i: usize) -> impl Iterator<Item = usize> {
    let cg = shape[1];
    let k: usize = shape[2..].iter().product();
    let og = shape[0] / group;
    let grp = i / cg;
    let j = i % cg;
    (grp * og..(grp + 1) * og).map(move |o| (o * cg + j) * k)
}

/// Equalizes one pair; returns whether any scale differed from 1.
fn equalize(g: &mut Graph, p: Pair) -> bool {
    let w1t = const_f32(g, g.operand(p.first, 1)).expect("checked").clone();
    let w2t = const_f32(g, g.operand(p.second, 1)).expect("checked").clone();
    let g2 = conv_group(g, p.second).expect("checked");
    let (mut w1, mut w2) = (w1t.to_f32_vec(), w2t.to_f32_vec());
    let k2: usize = w2t.shape[2..].iter().product();
    let c = w1t.shape[0];
    let r1 = out_ranges(&w1, &w1t.shape);
    let s: Vec<f32> = (0..c)
        .map(|i| {
            let r2 = in_channel_slices(&w2t.shape, g2, i)
                .flat_map(|st| &w2[st..st + k2])
                .fold(0f32, |m, x| m.max(x.abs()));
            let s = (r1[i] as f64 / r2 as f64).sqrt() as f32;
            if r1[i] > 0.0 && r2 > 0.0 && s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    if s.iter().all(|&x| (x - 1.0).abs() < 1e-6) {
        return false;
    }
    let inner1: usize = w1t.shape[1..].iter().product();
    for (i, &si) in s.iter().enumerate() {
        for x in &mut w1[i * inner1..(i + 1) * inner1] {
            *x /= si;
        }
        for st in in_channel_slices(&w2t.shape, g2, i) {
            for x in &mut w2[st..st + k2] {
                *x *= si;
            }
        }
    }
    let (n1, n2) = (base_name(g, p.first, "conv"), base_name(g, p.second, "conv"));
    let wv1 = g.add_const(format!("{n1}.cle_weight"), Tensor::f32(&w1t.shape, w1));
    let wv2 = g.add_const(format!("{n2}.cle_weight"), Tensor::f32(&w2t.shape, w2));
    g.set_operand(p.first, 1, Some(wv1)).expect("slot 1 exists");
    g.set_operand(p.second, 1, Some(wv2)).expect("slot 1 exists");
    if let Some(b) = const_f32(g, g.operand(p.first, 2)).cloned() {
        let nb: Vec<f32> = b.to_f32_vec().iter().zip(&s).map(|(x, si)| x / si).collect();
        let bv = g.add_const(format!("{n1}.cle_bias"), Tensor::f32(&b.shape, nb));
        g.set_operand(p.first, 2, Some(bv)).expect("slot 2 exists");
    }
    true
}

impl Pass for CrossLayerEqualization {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        if !(1..=100).contains(&self.iterations) {
            return Err(PassError::failed(
                Self::NAME,
                format!("iterations {} not in 1..=100", self.iterations),
            ));
        }
        let pairs = find_pairs(g)?;
        let mut changed = false;
        for _ in 0..self.iterations {
            let mut any = false;
            for &p in &pairs {
                any |= equalize(g, p);
            }
            changed |= any;
            if !any {
                break;
            }
        }
        cx.bump("cross-layer-equalization.pairs", pairs.len() as u64);
        Ok(Changed::from(changed))
    }
}
