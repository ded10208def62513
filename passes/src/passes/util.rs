//! Helpers shared by the built-in passes: constant construction and per-channel broadcasting.

use qcc_ir::{Graph, Tensor, Value};

/// Implements `Pass::name` and `Pass::summary` from the pass's `DeclaredPass` constants.
macro_rules! declared_names {
    () => {
        fn name(&self) -> &str {
            <Self as $crate::registry::DeclaredPass>::NAME
        }
        fn summary(&self) -> &str {
            <Self as $crate::registry::DeclaredPass>::SUMMARY
        }
    };
}
pub(crate) use declared_names;

/// A name for constants derived from `node`: its name, or `fallback` when it has none.
pub(crate) fn base_name(g: &Graph, node: qcc_ir::NodeId, fallback: &str) -> String {
    let n = &g.node(node).name;
    if n.is_empty() {
        fallback.to_string()
    } else {
        n.clone()
    }
}

/// Adds an f32 constant node.
pub(crate) fn const_f32(g: &mut Graph, name: &str, shape: &[usize], data: Vec<f32>) -> Value {
    g.add_const(name.to_string(), Tensor::f32(shape, data))
}

/// The per-channel vector of a constant `t` that multiplies/adds a value of rank `rank` whose
/// channel axis `axis` has `channels` entries: `t` must broadcast without growing the value
/// and vary only along `axis`. Returns one entry per channel.
pub(crate) fn per_channel(
    t: &Tensor,
    rank: usize,
    axis: usize,
    channels: usize,
) -> Option<Vec<f32>> {
    if !t.dtype.is_float() || t.rank() > rank {
        return None;
    }
    let vals = t.to_f32_vec();
    let off = rank - t.rank();
    let mut along = None;
    for (i, &d) in t.shape.iter().enumerate() {
        let ax = i + off;
        if ax == axis {
            if d != channels && d != 1 {
                return None;
            }
            if d == channels {
                along = Some(d);
            }
        } else if d != 1 {
            return None;
        }
    }
    Some(match along {
        Some(_) => vals,
        None => vec![*vals.first()?; channels],
    })
}

/// `t` broadcast to exactly `shape` (numpy rules; `t` may not have more axes than `shape`
/// except leading 1s), row-major.
pub(crate) fn broadcast_to(t: &Tensor, shape: &[usize]) -> Option<Vec<f32>> {
    if !t.dtype.is_float() {
        return None;
    }
    let mut tshape = t.shape.clone();
    while tshape.len() > shape.len() {
        if tshape[0] != 1 {
            return None;
        }
        tshape.remove(0);
    }
    let off = shape.len() - tshape.len();
    for (i, &d) in tshape.iter().enumerate() {
        if d != 1 && d != shape[i + off] {
            return None;
        }
    }
    let vals = t.to_f32_vec();
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    for flat in 0..n {
        let mut rem = flat;
        let mut src = 0usize;
        let mut stride = 1usize;
        for ax in (0..shape.len()).rev() {
            let idx = rem % shape[ax];
            rem /= shape[ax];
            if ax >= off {
                let d = tshape[ax - off];
                if d != 1 {
                    src += idx * stride;
                }
                stride *= d;
            }
        }
        out.push(vals[src]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_and_broadcast() {
        let t = Tensor::f32(&[3, 1, 1], vec![1.0, 2.0, 3.0]);
        assert_eq!(per_channel(&t, 4, 1, 3), Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(per_channel(&t, 3, 1, 3), None, "would vary along axis 0");
        let s = Tensor::f32(&[], vec![2.0]);
        assert_eq!(per_channel(&s, 4, 1, 2), Some(vec![2.0, 2.0]));
        let full = Tensor::f32(&[1, 3, 2, 2], vec![0.0; 12]);
        assert_eq!(per_channel(&full, 4, 1, 3), None);
        let row = Tensor::f32(&[1, 2], vec![1.0, 2.0]);
        assert_eq!(broadcast_to(&row, &[2]), Some(vec![1.0, 2.0]));
        assert_eq!(broadcast_to(&row, &[3, 2]), Some(vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]));
        let col = Tensor::f32(&[2, 1], vec![1.0, 2.0]);
        assert_eq!(broadcast_to(&col, &[2, 2]), Some(vec![1.0, 1.0, 2.0, 2.0]));
        assert_eq!(broadcast_to(&col, &[3, 2]), None);
    }
}
