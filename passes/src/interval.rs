//! Static interval analysis: data-free bounds for every float value, as a lattice analysis.
//!
//! The lattice is intervals `[lo, hi]` ordered by inclusion, with join = hull; graph inputs start
//! at ⊤ = `[-∞, ∞]` unless bounds are given. Transfer functions are sound for the reference
//! semantics: monotone activations map endpoints, saturating ones give fixed ranges (Sigmoid
//! `[0, 1]`, Relu6 `[0, 6]`, Softmax `[0, 1]`), linear ops with constant weights sum the
//! products of intervals, shape ops keep the interval, and LayerNorm with constant scale/bias
//! is bounded by `|γ|·√(n−1) + β` (a normalized vector of n elements has |x_i| ≤ √(n−1)).

use qcc_ir::{Graph, Op, Tensor, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A closed interval of reals (possibly infinite); `lo > hi` is the empty interval (⊥).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Interval {
    /// ⊤: nothing known.
    pub const TOP: Interval = Interval { lo: f64::NEG_INFINITY, hi: f64::INFINITY };
    /// ⊥: no value.
    pub const BOTTOM: Interval = Interval { lo: f64::INFINITY, hi: f64::NEG_INFINITY };

    /// `[lo, hi]`.
    pub fn new(lo: f64, hi: f64) -> Interval {
        Interval { lo, hi }
    }
    /// The hull of a constant's elements.
    pub fn of_tensor(t: &Tensor) -> Interval {
        t.to_f64_vec()
            .into_iter()
            .filter(|x| !x.is_nan())
            .fold(Interval::BOTTOM, |a, x| a.join(Interval::new(x, x)))
    }
    /// Least upper bound.
    pub fn join(self, o: Interval) -> Interval {
        Interval { lo: self.lo.min(o.lo), hi: self.hi.max(o.hi) }
    }
    /// Intersection.
    pub fn meet(self, o: Interval) -> Interval {
        Interval { lo: self.lo.max(o.lo), hi: self.hi.min(o.hi) }
    }
    /// True when both bounds are finite.
    pub fn is_bounded(self) -> bool {
        self.lo.is_finite() && self.hi.is_finite()
    }
    /// Interval sum.
    pub fn add(self, o: Interval) -> Interval {
        Interval { lo: self.lo + o.lo, hi: self.hi + o.hi }
    }
    /// Interval product (0·∞ taken as 0).
    pub fn mul(self, o: Interval) -> Interval {
        let m = |a: f64, b: f64| if a == 0.0 || b == 0.0 { 0.0 } else { a * b };
        let c = [m(self.lo, o.lo), m(self.lo, o.hi), m(self.hi, o.lo), m(self.hi, o.hi)];
        Interval {
            lo: c.iter().copied().fold(f64::INFINITY, f64::min),
            hi: c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
    /// Image under a monotone non-decreasing function.
    pub fn map_monotone(self, f: impl Fn(f64) -> f64) -> Interval {
        Interval { lo: f(self.lo), hi: f(self.hi) }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo > self.hi {
            return f.write_str("⊥");
        }
        let p = |x: f64| {
            if x.is_infinite() {
                if x > 0.0 {
                    "inf".to_string()
                } else {
                    "-inf".to_string()
                }
            } else {
                format!("{}", x as f32)
            }
        };
        write!(f, "[{}, {}]", p(self.lo), p(self.hi))
    }
}

/// The interval of every value, from bounds on (some) graph inputs.
pub fn analyze(g: &Graph, input_bounds: &BTreeMap<String, Interval>) -> BTreeMap<Value, Interval> {
    let mut out: BTreeMap<Value, Interval> = BTreeMap::new();
    let Ok(order) = g.topo_order() else { return out };
    for n in order {
        let node = g.node(n);
        let ops = g.operands(n);
        let iv = |i: usize| -> Interval {
            ops.get(i)
                .copied()
                .flatten()
                .and_then(|v| out.get(&v).copied())
                .unwrap_or(Interval::TOP)
        };
        let cst = |i: usize| ops.get(i).copied().flatten().and_then(|v| g.const_value(v));
        let r = match &node.op {
            Op::Input => input_bounds.get(&node.name).copied().unwrap_or(Interval::TOP),
            Op::Constant(_) => {
                g.const_value(g.result(n)).map(|t| Interval::of_tensor(t)).unwrap_or(Interval::TOP)
            }
            Op::Relu => iv(0).map_monotone(|x| x.max(0.0)),
            Op::Clip => {
                let lo = cst(1).map(|t| Interval::of_tensor(t).lo).unwrap_or(f64::NEG_INFINITY);
                let hi = cst(2).map(|t| Interval::of_tensor(t).hi).unwrap_or(f64::INFINITY);
                iv(0).map_monotone(|x| x.clamp(lo, hi.max(lo)))
            }
            Op::Sigmoid => iv(0).map_monotone(|x| 1.0 / (1.0 + (-x).exp())),
            Op::Tanh => iv(0).map_monotone(f64::tanh),
            Op::HardSigmoid(a) => iv(0)
                .map_monotone(|x| (a.alpha as f64 * x + a.beta as f64).clamp(0.0, 1.0))
                .meet(Interval::new(0.0, 1.0)),
            Op::HardSwish => {
                let i = iv(0);
                // x·relu6(x+3)/6 has its minimum −0.375 at x = −1.5 and is increasing above it.
                let f = |x: f64| x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
                let hi = f(i.hi).max(f(i.lo.max(-3.0).min(i.hi)));
                let lo = if i.lo <= -1.5 && i.hi >= -1.5 { -0.375 } else { f(i.lo).min(f(i.hi)) };
                Interval::new(lo, if i.hi.is_infinite() { f64::INFINITY } else { hi })
            }
            Op::Exp => iv(0).map_monotone(f64::exp),
            Op::Erf => Interval::new(-1.0, 1.0),
            Op::Gelu(_) => {
                let i = iv(0);
                Interval::new(if i.lo < 0.0 { -0.17 } else { 0.0 }, i.hi.max(0.0))
            }
            Op::Softmax(_) => Interval::new(0.0, 1.0),
            Op::LogSoftmax(_) => Interval::new(f64::NEG_INFINITY, 0.0),
            Op::Neg => {
                let i = iv(0);
                Interval::new(-i.hi, -i.lo)
            }
            Op::Abs => {
                let i = iv(0);
                if i.lo >= 0.0 {
                    i
                } else if i.hi <= 0.0 {
                    Interval::new(-i.hi, -i.lo)
                } else {
                    Interval::new(0.0, i.hi.max(-i.lo))
                }
            }
            Op::Sqrt => iv(0).map_monotone(|x| x.max(0.0).sqrt()),
            Op::Add => iv(0).add(iv(1)),
            Op::Sub => iv(0).add(Interval::new(-iv(1).hi, -iv(1).lo)),
            Op::Mul => iv(0).mul(iv(1)),
            Op::Max => (0..ops.len())
                .map(iv)
                .reduce(|a, b| Interval::new(a.lo.max(b.lo), a.hi.max(b.hi)))
                .unwrap_or(Interval::TOP),
            Op::Min => (0..ops.len())
                .map(iv)
                .reduce(|a, b| Interval::new(a.lo.min(b.lo), a.hi.min(b.hi)))
                .unwrap_or(Interval::TOP),
            Op::Concat(_) => (0..ops.len()).map(iv).fold(Interval::BOTTOM, Interval::join),
            Op::MaxPool(_)
            | Op::GlobalMaxPool
            | Op::AveragePool(_)
            | Op::GlobalAveragePool
            | Op::ReduceMean(_)
            | Op::ReduceMax(_)
            | Op::ReduceMin(_) => iv(0),
            Op::Reshape(_)
            | Op::Flatten(_)
            | Op::Transpose(_)
            | Op::Squeeze
            | Op::Unsqueeze
            | Op::Identity
            | Op::Slice
            | Op::Split(_)
            | Op::Expand
            | Op::Tile
            | Op::DepthToSpace(_)
            | Op::Gather(_) => iv(0),
            Op::Resize(a) if a.mode == qcc_ir::ops::ResizeMode::Nearest => iv(0),
            Op::Conv(_) | Op::Gemm(_) | Op::MatMul => linear(g, n, &iv(0), cst(1), cst(2)),
            Op::LayerNormalization(a) => match (cst(1), g.value_type(g.result(n)).shape.as_fixed())
            {
                (Some(gamma), Some(shape)) => {
                    let rank = shape.len() as i64;
                    let axis = if a.axis < 0 { a.axis + rank } else { a.axis } as usize;
                    let nelem: usize = shape.get(axis..).map(|s| s.iter().product()).unwrap_or(1);
                    let gmax = Interval::of_tensor(gamma);
                    let bound =
                        gmax.lo.abs().max(gmax.hi.abs()) * ((nelem.max(1) - 1) as f64).sqrt();
                    let beta =
                        cst(2).map(|t| Interval::of_tensor(t)).unwrap_or(Interval::new(0.0, 0.0));
                    Interval::new(-bound + beta.lo, bound + beta.hi)
                }
                _ => Interval::TOP,
            },
            _ => Interval::TOP,
        };
        for v in g.results(n) {
            out.insert(v, r);
        }
    }
    out
}

/// Bounds of a conv/matmul/gemm output with a constant weight: for each output channel the sum
/// over the reduction of `x · w`, plus the bias. Without a constant weight: ⊤.
fn linear(
    g: &Graph,
    n: qcc_ir::NodeId,
    x: &Interval,
    w: Option<&std::sync::Arc<Tensor>>,
    b: Option<&std::sync::Arc<Tensor>>,
) -> Interval {
    let Some(w) = w else { return Interval::TOP };
    let wv = w.to_f64_vec();
    // Group the weights by output channel: Conv [O, ...] axis 0; MatMul [K, N] axis 1; Gemm by trans_b.
    let (outer, red, trans) = match &g.node(n).op {
        Op::Conv(_) => (w.shape[0], wv.len() / w.shape[0].max(1), false),
        Op::Gemm(a) if a.trans_b => (w.shape[0], w.shape.get(1).copied().unwrap_or(1), false),
        _ if w.rank() == 2 => (w.shape[1], w.shape[0], true),
        _ => return Interval::TOP,
    };
    let bias = b.map(|b| b.to_f64_vec()).unwrap_or_default();
    let mut total = Interval::BOTTOM;
    for o in 0..outer {
        let mut acc = Interval::new(0.0, 0.0);
        for k in 0..red {
            let wk = if trans { wv[k * outer + o] } else { wv[o * red + k] };
            acc = acc.add(x.mul(Interval::new(wk, wk)));
        }
        let bo = bias.get(o).or(bias.first()).copied().unwrap_or(0.0);
        total = total.join(acc.add(Interval::new(bo, bo)));
    }
    total
}

/// The graph printed with each node's result interval as a note (for snapshots and `--print`).
pub fn print_with_intervals(g: &Graph, iv: &BTreeMap<Value, Interval>) -> String {
    let mut notes = BTreeMap::new();
    for n in g.node_ids() {
        if matches!(g.node(n).op, Op::Constant(_)) {
            continue;
        }
        let s: Vec<String> =
            g.results(n).iter().filter_map(|v| iv.get(v)).map(|i| i.to_string()).collect();
        if !s.is_empty() {
            notes.insert(n, vec![format!("range {}", s.join(", "))]);
        }
    }
    qcc_ir::print::print_annotated(g, &notes)
}
