//! Guard helpers for patterns: each returns `Option`, so a failed guard is an early `?`.
//!
//! ```text
//! fn match_at(&self, g: &Graph, root: NodeId) -> Option<Self::Match> {
//!     guard(is_op(g, root, |op| matches!(op, Op::Mul)))?;
//!     let (a, b) = binary(g, root)?;
//!     let half = commuted(a, b, |x, c| (scalar(g, c)? == 0.5).then_some(x))?;
//!     ...
//! }
//! ```

use qcc_ir::{DType, Graph, NodeId, Op, Tensor, Value};

/// `Some(())` when `cond` holds.
pub fn guard(cond: bool) -> Option<()> {
    cond.then_some(())
}

/// True when `node`'s op satisfies `f`.
pub fn is_op(g: &Graph, node: NodeId, f: impl Fn(&Op) -> bool) -> bool {
    g.try_node(node).is_some_and(|n| f(&n.op))
}

/// The node producing `v`, when its op satisfies `f`.
pub fn producer(g: &Graph, v: Value, f: impl Fn(&Op) -> bool) -> Option<NodeId> {
    is_op(g, v.node, f).then_some(v.node)
}

/// Like [`producer`], and also requires `v` to have exactly one use (so the producer may be
/// erased once its user is rewritten).
pub fn sole_producer(g: &Graph, v: Value, f: impl Fn(&Op) -> bool) -> Option<NodeId> {
    single_use(g, v)?;
    producer(g, v, f)
}

/// `Some(())` when `v` has exactly one use (one operand slot, not a graph output).
pub fn single_use(g: &Graph, v: Value) -> Option<()> {
    let out = g.outputs().iter().any(|(_, o)| *o == v);
    guard(!out && g.users(v).len() == 1)
}

/// The two operands of a binary node (both present).
pub fn binary(g: &Graph, node: NodeId) -> Option<(Value, Value)> {
    let ops = g.operands(node);
    guard(ops.len() == 2)?;
    Some((ops[0]?, ops[1]?))
}

/// The operand of a unary node.
pub fn unary(g: &Graph, node: NodeId) -> Option<Value> {
    g.operand(node, 0)
}

/// Tries `f(a, b)`, then `f(b, a)` (for commutative ops).
pub fn commuted<T>(a: Value, b: Value, mut f: impl FnMut(Value, Value) -> Option<T>) -> Option<T> {
    f(a, b).or_else(|| f(b, a))
}

/// The constant tensor behind `v`.
pub fn constant(g: &Graph, v: Value) -> Option<&Tensor> {
    g.const_value(v).map(|t| t.as_ref())
}

/// The value of a float constant whose elements are all equal (a scalar or a splat).
pub fn scalar(g: &Graph, v: Value) -> Option<f64> {
    let t = constant(g, v)?;
    guard(t.dtype.is_float() && t.numel() > 0)?;
    let vals = t.to_f64_vec();
    let first = vals[0];
    guard(vals.iter().all(|&x| x == first))?;
    Some(first)
}

/// `Some(())` when `v` is a float splat constant within a relative `tol` of `target`.
pub fn scalar_near(g: &Graph, v: Value, target: f64, tol: f64) -> Option<()> {
    let x = scalar(g, v)?;
    guard((x - target).abs() <= tol * target.abs().max(1e-30))
}

/// Integer constant values (e.g. reduction axes), widened to i64.
pub fn int_values(g: &Graph, v: Value) -> Option<Vec<i64>> {
    constant(g, v)?.to_i64_vec()
}

/// The f32 elements of a constant.
pub fn f32_values(g: &Graph, v: Value) -> Option<Vec<f32>> {
    let t = constant(g, v)?;
    guard(t.dtype == DType::F32)?;
    Some(t.to_f32_vec())
}

/// The rank of `v`'s type, if known.
pub fn rank(g: &Graph, v: Value) -> Option<usize> {
    g.value_type(v).shape.rank()
}

/// The known extents of `v`'s type.
pub fn fixed_shape(g: &Graph, v: Value) -> Option<Vec<usize>> {
    g.value_type(v).shape.as_fixed()
}

/// True if `v` is a plain f32 value (not quantized).
pub fn is_f32(g: &Graph, v: Value) -> bool {
    let t = g.value_type(v);
    t.dtype == DType::F32 && t.quant.is_none()
}

/// Normalises reduction axes against a rank (negative axes count from the end), sorted.
pub fn norm_axes(axes: &[i64], rank: usize) -> Option<Vec<usize>> {
    let mut out: Vec<usize> = axes
        .iter()
        .map(|&a| {
            let a = if a < 0 { a + rank as i64 } else { a };
            (0..rank as i64).contains(&a).then_some(a as usize)
        })
        .collect::<Option<_>>()?;
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// The reduction axes of a `Reduce*` node (its optional second operand), normalised.
pub fn reduce_axes(g: &Graph, node: NodeId) -> Option<Vec<usize>> {
    let x = g.operand(node, 0)?;
    let r = rank(g, x)?;
    match g.operand(node, 1) {
        Some(a) => norm_axes(&int_values(g, a)?, r),
        None => Some((0..r).collect()),
    }
}

/// True when `axes` are the trailing axes `first..rank`.
pub fn trailing_axes(axes: &[usize], rank: usize) -> Option<usize> {
    let first = *axes.first()?;
    guard(axes.iter().copied().eq(first..rank))?;
    Some(first)
}

/// Flattens the product rooted at `root` (nested `Mul`s, and `Div` by a scalar constant) into
/// its non-constant factors and the product of its scalar-constant factors. Inner nodes must
/// have a single use (they disappear with the rewrite); at most `max_depth` levels are opened.
pub fn product_terms(g: &Graph, root: NodeId, max_depth: usize) -> Option<(Vec<Value>, f64)> {
    fn walk(
        g: &Graph,
        node: NodeId,
        depth: usize,
        leaves: &mut Vec<Value>,
        k: &mut f64,
    ) -> Option<()> {
        let (a, b) = binary(g, node)?;
        let visit = |v: Value, leaves: &mut Vec<Value>, k: &mut f64| -> Option<()> {
            if let Some(s) = scalar(g, v) {
                *k *= s;
                return Some(());
            }
            let inner = depth > 0
                && single_use(g, v).is_some()
                && is_op(g, v.node, |op| matches!(op, Op::Mul | Op::Div))
                && walk(g, v.node, depth - 1, &mut Vec::new(), &mut 1.0).is_some();
            if inner {
                walk(g, v.node, depth - 1, leaves, k)
            } else {
                leaves.push(v);
                Some(())
            }
        };
        match g.node(node).op {
            Op::Mul => {
                visit(a, leaves, k)?;
                visit(b, leaves, k)
            }
            Op::Div => {
                let c = scalar(g, b)?;
                guard(c != 0.0)?;
                *k /= c;
                visit(a, leaves, k)
            }
            _ => None,
        }
    }
    let mut leaves = Vec::new();
    let mut k = 1.0;
    walk(g, root, max_depth, &mut leaves, &mut k)?;
    Some((leaves, k))
}

/// The input of a ReLU6 written as `Clip(v, 0, 6)` or `Min(Relu(v), 6)`.
pub fn relu6_input(g: &Graph, v: Value) -> Option<Value> {
    let n = v.node;
    match g.try_node(n)?.op {
        Op::Clip => {
            guard(scalar(g, g.operand(n, 1)?)? == 0.0)?;
            guard(scalar(g, g.operand(n, 2)?)? == 6.0)?;
            g.operand(n, 0)
        }
        Op::Min => {
            let (a, b) = binary(g, n)?;
            commuted(a, b, |r, six| {
                guard(scalar(g, six)? == 6.0)?;
                let relu = sole_producer(g, r, |op| matches!(op, Op::Relu))?;
                g.operand(relu, 0)
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcc_ir::TensorType;

    #[test]
    fn guards() {
        let mut g = Graph::new("t");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[2, 3]));
        let c = g.add_const("c", Tensor::f32(&[3], vec![0.5; 3]));
        let d = g.add_const("d", Tensor::f32(&[2], vec![0.5, 1.0]));
        let ax = g.add_const("ax", Tensor::i64(&[1], vec![-1]));
        let m = g.add_op(Op::Mul, "m", &[x, c], TensorType::fixed(DType::F32, &[2, 3])).unwrap();
        g.add_output("y", m).unwrap();
        assert_eq!(scalar(&g, c), Some(0.5));
        assert_eq!(scalar(&g, d), None);
        assert_eq!(scalar(&g, x), None);
        assert!(scalar_near(&g, c, 0.5000001, 1e-5).is_some());
        assert_eq!(binary(&g, m.node), Some((x, c)));
        assert_eq!(commuted(c, x, |a, b| scalar(&g, b).map(|s| (a, s))), Some((x, 0.5)));
        assert!(single_use(&g, x).is_some());
        assert!(single_use(&g, m).is_none(), "graph outputs are a use");
        assert_eq!(norm_axes(&int_values(&g, ax).unwrap(), 2), Some(vec![1]));
        assert_eq!(norm_axes(&[2], 2), None);
        assert_eq!(trailing_axes(&[1, 2], 3), Some(1));
        assert_eq!(trailing_axes(&[0, 2], 3), None);
        assert!(producer(&g, m, |op| matches!(op, Op::Mul)).is_some());
        assert!(producer(&g, m, |op| matches!(op, Op::Add)).is_none());
    }
}
