//! `fuse-gelu`: recognises GELU written op by op and replaces it by one `Gelu` node.
//!
//! The product `x · 0.5 · (1 + t)` may be nested in any order (`Mul`s, or a final `Div` by 2),
//! with `t` either `Erf(x / √2)` (or `Erf(x · 1/√2)`) → `Gelu`, or
//! `Tanh(√(2/π) · (x + 0.044715 · x³))` with `x³` as `Pow(x, 3)` or `x·x·x` →
//! `Gelu{approximate=tanh}`.

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::matchers::{
    binary, commuted, guard, is_f32, product_terms, scalar, scalar_near, sole_producer,
};
use crate::pass::{Changed, Pass, PassError};
use crate::registry::{DeclaredPass, NoOptions};
use crate::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_ir::ops::{GeluApprox, GeluAttrs};
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};

/// Recognises decomposed GELU.
#[derive(Debug, Default)]
pub struct FuseGelu;

impl DeclaredPass for FuseGelu {
    const NAME: &'static str = "fuse-gelu";
    const SUMMARY: &'static str = "recognise x·0.5·(1+erf(x/√2)) and the tanh form as Gelu";
    type Options = NoOptions;
    fn from_options(_: NoOptions) -> Self {
        FuseGelu
    }
}

const TOL: f64 = 1e-5;

struct Gelu;

impl Gelu {
    /// `t` in `1 + t`: returns it.
    fn one_plus(g: &Graph, v: Value) -> Option<Value> {
        let add = sole_producer(g, v, |op| matches!(op, Op::Add))?;
        let (a, b) = binary(g, add)?;
        commuted(a, b, |t, one| scalar_near(g, one, 1.0, 0.0).map(|()| t))
    }

    /// `Erf(x/√2)` → x.
    fn erf_arg(g: &Graph, t: Value) -> Option<Value> {
        let erf = sole_producer(g, t, |op| matches!(op, Op::Erf))?;
        let u = g.operand(erf, 0)?;
        let n = sole_producer(g, u, |op| matches!(op, Op::Div | Op::Mul))?;
        let (a, b) = binary(g, n)?;
        match g.node(n).op {
            Op::Div => scalar_near(g, b, std::f64::consts::SQRT_2, TOL).map(|()| a),
            _ => commuted(a, b, |x, c| {
                scalar_near(g, c, std::f64::consts::FRAC_1_SQRT_2, TOL).map(|()| x)
            }),
        }
    }

    /// `x³` as `Pow(x, 3)`, `Mul(x, Mul(x, x))` or `Mul(Mul(x, x), x)` → x.
    fn cube_of(g: &Graph, v: Value) -> Option<Value> {
        let n = sole_producer(g, v, |op| matches!(op, Op::Pow | Op::Mul))?;
        let (a, b) = binary(g, n)?;
        if matches!(g.node(n).op, Op::Pow) {
            return scalar_near(g, b, 3.0, 0.0).map(|()| a);
        }
        commuted(a, b, |x, sq| {
            let m = sole_producer(g, sq, |op| matches!(op, Op::Mul))?;
            let (p, q) = binary(g, m)?;
            guard(p == x && q == x)?;
            Some(x)
        })
    }

    /// `Tanh(√(2/π)·(x + 0.044715·x³))` → x.
    fn tanh_arg(g: &Graph, t: Value) -> Option<Value> {
        let tanh = sole_producer(g, t, |op| matches!(op, Op::Tanh))?;
        let w = g.operand(tanh, 0)?;
        let m = sole_producer(g, w, |op| matches!(op, Op::Mul))?;
        let (a, b) = binary(g, m)?;
        let inner = commuted(a, b, |inner, c| {
            scalar_near(g, c, (2.0 / std::f64::consts::PI).sqrt(), TOL).map(|()| inner)
        })?;
        let add = sole_producer(g, inner, |op| matches!(op, Op::Add))?;
        let (p, q) = binary(g, add)?;
        commuted(p, q, |x, cubic| {
            let m = sole_producer(g, cubic, |op| matches!(op, Op::Mul))?;
            let (r, s) = binary(g, m)?;
            let cx = commuted(r, s, |c3, k| {
                guard((scalar(g, k)? - 0.044715).abs() <= 1e-6)?;
                Self::cube_of(g, c3)
            })?;
            guard(cx == x)?;
            Some(x)
        })
    }
}

impl Pattern for Gelu {
    type Match = (Value, GeluApprox);
    fn name(&self) -> &str {
        "gelu"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<(Value, GeluApprox)> {
        guard(matches!(g.node(root).op, Op::Mul | Op::Div))?;
        let (leaves, k) = product_terms(g, root, 3)?;
        guard(leaves.len() == 2 && (k - 0.5).abs() <= 1e-6)?;
        let (x, approx) = commuted(leaves[0], leaves[1], |x, op| {
            let t = Self::one_plus(g, op)?;
            if let Some(y) = Self::erf_arg(g, t) {
                return (y == x).then_some((x, GeluApprox::None));
            }
            let y = Self::tanh_arg(g, t)?;
            (y == x).then_some((x, GeluApprox::Tanh))
        })?;
        guard(is_f32(g, x) && g.value_type(x) == g.value_type(g.result(root)))?;
        Some((x, approx))
    }
    fn rewrite(
        &self,
        g: &mut Graph,
        root: NodeId,
        (x, approximate): (Value, GeluApprox),
    ) -> Result<(), GraphError> {
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let v = g.add_op(Op::Gelu(GeluAttrs { approximate }), name, &[x], ty)?;
        g.replace_all_uses(g.result(root), v).map(|_| ())
    }
}

impl Pass for FuseGelu {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(Gelu);
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), Self::NAME)?;
        cx.bump("fuse-gelu.fused", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}
