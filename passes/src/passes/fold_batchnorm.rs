//! `fold-batchnorm`: folds an inference `BatchNormalization` into the preceding `Conv`, `Gemm`
//! or `MatMul` (+ `Add` of a constant bias) when the weights and the BN parameters are
//! constants: with `s = scale / √(var + ε)`, the weights are scaled by `s` per output channel
//! and the bias becomes `(b − mean)·s + bias`.

use super::util::{base_name, const_f32, declared_names, per_channel};
use crate::analysis::PassCx;
use crate::matchers::{constant, f32_values, guard, is_f32, producer, single_use};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::{ConvAttrs, GemmAttrs};
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Folds BatchNormalization into the producer of its input.
#[derive(Debug, Default)]
pub struct FoldBatchNorm;

impl DeclaredPass for FoldBatchNorm {
    const NAME: &'static str = "fold-batchnorm";
    const SUMMARY: &'static str =
        "fold BatchNormalization into the preceding Conv, Gemm or MatMul(+Add) weights and bias";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FoldBatchNorm
    }
}

/// The folded layer to build.
enum Folded {
    Conv { x: Value, attrs: ConvAttrs, w_shape: Vec<usize>, w: Vec<f32>, b: Vec<f32> },
    Gemm { a: Value, attrs: GemmAttrs, w_shape: Vec<usize>, w: Vec<f32>, c: Vec<f32> },
    MatMul { a: Value, mm: Value, w_shape: Vec<usize>, w: Vec<f32>, b: Vec<f32> },
}

/// `(s, t)` with BN(y) = y·s + t per channel.
fn bn_affine(g: &Graph, bn: NodeId, eps: f32, channels: usize) -> Option<(Vec<f32>, Vec<f32>)> {
    let get = |slot| -> Option<Vec<f32>> {
        let v = f32_values(g, g.operand(bn, slot)?)?;
        guard(v.len() == channels)?;
        Some(v)
    };
    let (scale, bias, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
    let s: Vec<f32> = (0..channels)
        .map(|c| (scale[c] as f64 / (var[c] as f64 + eps as f64).sqrt()) as f32)
        .collect();
    guard(s.iter().all(|x| x.is_finite()))?;
    let t = (0..channels).map(|c| bias[c] - mean[c] * s[c]).collect();
    Some((s, t))
}

struct FoldBn;

impl FoldBn {
    fn conv(g: &Graph, bn: NodeId, eps: f32, conv: NodeId, attrs: &ConvAttrs) -> Option<Folded> {
        let x = g.operand(conv, 0)?;
        let wt = constant(g, g.operand(conv, 1)?)?;
        let cout = *wt.shape.first()?;
        let w = f32_values(g, g.operand(conv, 1)?)?;
        let b = match g.operand(conv, 2) {
            Some(b) => f32_values(g, b)?,
            None => vec![0.0; cout],
        };
        guard(b.len() == cout)?;
        let (s, t) = bn_affine(g, bn, eps, cout)?;
        let per = w.len() / cout.max(1);
        let w = w.iter().enumerate().map(|(i, &v)| v * s[i / per]).collect();
        let b = (0..cout).map(|c| b[c] * s[c] + t[c]).collect();
        Some(Folded::Conv { x, attrs: attrs.clone(), w_shape: wt.shape.clone(), w, b })
    }

    fn gemm(g: &Graph, bn: NodeId, eps: f32, gemm: NodeId, attrs: &GemmAttrs) -> Option<Folded> {
        let a = g.operand(gemm, 0)?;
        let wt = constant(g, g.operand(gemm, 1)?)?;
        guard(wt.rank() == 2)?;
        let w = f32_values(g, g.operand(gemm, 1)?)?;
        let (k, n) = if attrs.trans_b { (wt.shape[1], wt.shape[0]) } else { (wt.shape[0], wt.shape[1]) };
        let c = match g.operand(gemm, 2) {
            Some(c) => per_channel(constant(g, c)?, 2, 1, n)?,
            None => vec![0.0; n],
        };
        let (s, t) = bn_affine(g, bn, eps, n)?;
        let w = (0..k * n)
            .map(|i| {
                let col = if attrs.trans_b { i / k } else { i % n };
                w[i] * s[col]
            })
            .collect();
        let c = (0..n).map(|j| attrs.beta * c[j] * s[j] + t[j]).collect();
        let attrs = GemmAttrs { beta: 1.0, ..attrs.clone() };
        Some(Folded::Gemm { a, attrs, w_shape: wt.shape.clone(), w, c })
    }

    fn matmul(g: &Graph, bn: NodeId, eps: f32, x: Value) -> Option<Folded> {
        // x = MatMul(a, W) or x = Add(MatMul(a, W), c) with c constant.
        let (mm, bias) = match producer(g, x, |op| matches!(op, Op::MatMul)) {
            Some(mm) => (mm, None),
            None => {
                let add = producer(g, x, |op| matches!(op, Op::Add))?;
                let (p, q) = crate::matchers::binary(g, add)?;
                let (m, c) = crate::matchers::commuted(p, q, |m, c| {
                    let mm = producer(g, m, |op| matches!(op, Op::MatMul))?;
                    single_use(g, m)?;
                    constant(g, c)?;
                    Some((mm, c))
                })?;
                (m, Some(c))
            }
        };
        let mmv = g.result(mm);
        guard(g.value_type(mmv).shape.rank() == Some(2))?;
        let a = g.operand(mm, 0)?;
        let wt = constant(g, g.operand(mm, 1)?)?;
        guard(wt.rank() == 2)?;
        let (k, n) = (wt.shape[0], wt.shape[1]);
        let w = f32_values(g, g.operand(mm, 1)?)?;
        let c = match bias {
            Some(c) => per_channel(constant(g, c)?, 2, 1, n)?,
            None => vec![0.0; n],
        };
        let (s, t) = bn_affine(g, bn, eps, n)?;
        let w = (0..k * n).map(|i| w[i] * s[i % n]).collect();
        let b = (0..n).map(|j| c[j] * s[j] + t[j]).collect();
        Some(Folded::MatMul { a, mm: mmv, w_shape: wt.shape.clone(), w, b })
    }
}

impl Pattern for FoldBn {
    type Match = Folded;
    fn name(&self) -> &str {
        "fold-batchnorm"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Folded> {
        let Op::BatchNormalization(attrs) = &g.node(root).op else { return None };
        guard(g.node(root).results.len() == 1)?;
        let x = g.operand(root, 0)?;
        guard(is_f32(g, x) && is_f32(g, g.result(root)))?;
        single_use(g, x)?;
        match &g.node(x.node).op {
            Op::Conv(c) => Self::conv(g, root, attrs.epsilon, x.node, c),
            Op::Gemm(a) => Self::gemm(g, root, attrs.epsilon, x.node, a),
            _ => Self::matmul(g, root, attrs.epsilon, x),
        }
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, m: Folded) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let base = base_name(g, root, "batchnorm");
        let ty = g.node(root).results[0].clone();
        let new = match m {
            Folded::Conv { x, attrs, w_shape, w, b } => {
                let n = b.len();
                let w = const_f32(g, &format!("{base}.w"), &w_shape, w);
                let b = const_f32(g, &format!("{base}.b"), &[n], b);
                g.add_op(Op::Conv(attrs), name, &[x, w, b], ty)?
            }
            Folded::Gemm { a, attrs, w_shape, w, c } => {
                let n = c.len();
                let w = const_f32(g, &format!("{base}.w"), &w_shape, w);
                let c = const_f32(g, &format!("{base}.b"), &[n], c);
                g.add_op(Op::Gemm(attrs), name, &[a, w, c], ty)?
            }
            Folded::MatMul { a, mm, w_shape, w, b } => {
                let n = b.len();
                let mm_ty = g.value_type(mm).clone();
                let w = const_f32(g, &format!("{base}.w"), &w_shape, w);
                let b = const_f32(g, &format!("{base}.b"), &[n], b);
                let mm = g.add_op(Op::MatMul, format!("{base}.matmul"), &[a, w], mm_ty)?;
                g.add_op(Op::Add, name, &[mm, b], ty)?
            }
        };
        g.replace_all_uses(g.result(root), new).map(|_| ())
    }
}

impl Pass for FoldBatchNorm {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(FoldBn);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fold-batchnorm.folded", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
