//! Resource limits for untrusted models and data: the largest tensor (bytes), the node count,
//! the graph depth (longest path) and the size of a backend's memory arena.
//!
//! Readers check a tensor's size with [`Limits::tensor_bytes`] *before* allocating it, with
//! overflow-checked shape arithmetic; [`Limits::check_graph`] checks a whole graph (every result
//! type of fixed shape, the node count, the depth). [`Limits::from_env`] reads overrides from
//! `QCC_MAX_TENSOR_BYTES`, `QCC_MAX_NODES`, `QCC_MAX_DEPTH` and `QCC_MAX_ARENA_BYTES`.

use crate::dtype::DType;
use crate::graph::Graph;
use std::collections::HashMap;

/// Resource limits (see the module doc). The defaults admit every real model qcc targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single tensor, in bytes (constants, data arrays, any result of fixed shape).
    pub max_tensor_bytes: u64,
    /// Most nodes in a graph (inputs and constants included).
    pub max_nodes: usize,
    /// Longest chain of nodes from an input or constant to an output.
    pub max_depth: usize,
    /// Largest memory arena a compiled model may plan, in bytes.
    pub max_arena_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tensor_bytes: 4 << 30,
            max_nodes: 1_000_000,
            max_depth: 100_000,
            max_arena_bytes: 16 << 30,
        }
    }
}

/// A limit was exceeded, or a size cannot even be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The element count or byte size of a shape overflows 64 bits.
    #[error(
        "`{what}`: shape {shape:?} overflows (its element count or byte size does not fit 64 bits)"
    )]
    Overflow {
        /// The tensor or value concerned.
        what: String,
        /// Its shape.
        shape: Vec<u64>,
    },
    /// A tensor is larger than `max_tensor_bytes`.
    #[error("`{what}`: {dtype}{shape:?} needs {bytes} bytes, over the tensor size limit of {limit} bytes (--max-tensor-bytes / QCC_MAX_TENSOR_BYTES)")]
    TensorBytes {
        /// The tensor or value concerned.
        what: String,
        /// Its element type.
        dtype: DType,
        /// Its shape.
        shape: Vec<u64>,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The graph has more than `max_nodes` nodes.
    #[error("the graph has {count} nodes, over the node count limit of {limit} (--max-nodes / QCC_MAX_NODES)")]
    Nodes {
        /// Node count.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The graph is deeper than `max_depth`.
    #[error("the graph is {depth} nodes deep, over the depth limit of {limit} (--max-depth / QCC_MAX_DEPTH)")]
    Depth {
        /// The depth found (at least; counting stops past the limit).
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A memory plan is larger than `max_arena_bytes`.
    #[error("the memory arena needs {bytes} bytes, over the arena size limit of {limit} bytes (--max-arena-bytes / QCC_MAX_ARENA_BYTES)")]
    Arena {
        /// Arena size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// An environment variable does not hold a number.
    #[error("environment variable {var}=`{value}` is not a non-negative integer")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
}

/// Element count of `shape`, or `None` on overflow.
pub fn checked_numel<I: IntoIterator<Item = u64>>(shape: I) -> Option<u64> {
    shape.into_iter().try_fold(1u64, |a, d| a.checked_mul(d))
}

impl Limits {
    /// No limits at all (for tests and trusted inputs).
    pub fn unlimited() -> Limits {
        Limits {
            max_tensor_bytes: u64::MAX,
            max_nodes: usize::MAX,
            max_depth: usize::MAX,
            max_arena_bytes: u64::MAX,
        }
    }

    /// The defaults, overridden by the `QCC_MAX_*` environment variables that are set.
    pub fn from_env() -> Result<Limits, LimitError> {
        let mut l = Limits::default();
        fn var<T: std::str::FromStr>(name: &'static str, slot: &mut T) -> Result<(), LimitError> {
            if let Ok(v) = std::env::var(name) {
                *slot = v
                    .trim()
                    .parse()
                    .map_err(|_| LimitError::Env { var: name, value: v.clone() })?;
            }
            Ok(())
        }
        var("QCC_MAX_TENSOR_BYTES", &mut l.max_tensor_bytes)?;
        var("QCC_MAX_NODES", &mut l.max_nodes)?;
        var("QCC_MAX_DEPTH", &mut l.max_depth)?;
        var("QCC_MAX_ARENA_BYTES", &mut l.max_arena_bytes)?;
        Ok(l)
    }

    /// The byte size of a `dtype` tensor of `shape` (4-bit types packed two per byte, 2-bit four), checked
    /// against `max_tensor_bytes`; call it before allocating. `what` names the tensor in errors.
    pub fn tensor_bytes(&self, what: &str, dtype: DType, shape: &[u64]) -> Result<u64, LimitError> {
        let overflow = || LimitError::Overflow { what: what.to_string(), shape: shape.to_vec() };
        let n = checked_numel(shape.iter().copied()).ok_or_else(overflow)?;
        let bytes = match dtype {
            DType::I4 | DType::U4 | DType::F4E2M1 => n.div_ceil(2),
            DType::I2 | DType::U2 => n.div_ceil(4),
            _ => n.checked_mul(dtype.size_bytes() as u64).ok_or_else(overflow)?,
        };
        if bytes > self.max_tensor_bytes {
            return Err(LimitError::TensorBytes {
                what: what.to_string(),
                dtype,
                shape: shape.to_vec(),
                bytes,
                limit: self.max_tensor_bytes,
            });
        }
        Ok(bytes)
    }

    /// [`Limits::tensor_bytes`] for a `usize` shape.
    pub fn tensor_bytes_usize(
        &self,
        what: &str,
        dtype: DType,
        shape: &[usize],
    ) -> Result<u64, LimitError> {
        let s: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        self.tensor_bytes(what, dtype, &s)
    }

    /// Checks a node count before building that many nodes.
    pub fn check_nodes(&self, count: usize) -> Result<(), LimitError> {
        if count > self.max_nodes {
            return Err(LimitError::Nodes { count, limit: self.max_nodes });
        }
        Ok(())
    }

    /// Checks a memory plan's arena size.
    pub fn check_arena(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_arena_bytes {
            return Err(LimitError::Arena { bytes, limit: self.max_arena_bytes });
        }
        Ok(())
    }

    /// Checks a whole graph: node count, depth (when the graph is acyclic; the verifier reports
    /// cycles) and the size of every result whose shape is fully known.
    pub fn check_graph(&self, g: &Graph) -> Result<(), LimitError> {
        self.check_nodes(g.node_count())?;
        for id in g.node_ids() {
            let node = g.node(id);
            for ty in &node.results {
                if let Some(dims) = ty.shape.as_fixed() {
                    self.tensor_bytes_usize(&node.name, ty.dtype, &dims)?;
                }
            }
        }
        if let Ok(order) = g.topo_order() {
            let mut depth: HashMap<_, usize> = HashMap::with_capacity(order.len());
            for id in order {
                let d = g
                    .operands(id)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| depth.get(&v.node).copied())
                    .max()
                    .map_or(1, |d| d + 1);
                if d > self.max_depth {
                    return Err(LimitError::Depth { depth: d, limit: self.max_depth });
                }
                depth.insert(id, d);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Op, TensorType};

    fn chain(n: usize) -> Graph {
        let mut g = Graph::new("chain");
        let mut v = g.add_input("x", TensorType::fixed(DType::F32, &[2, 3]));
        for i in 0..n {
            v = g
                .add_op(Op::Relu, format!("r{i}"), &[v], TensorType::fixed(DType::F32, &[2, 3]))
                .expect("relu");
        }
        g.add_output("y", v).expect("output");
        g
    }

    #[test]
    fn tensor_bytes_checks_overflow_and_limit() {
        let l = Limits { max_tensor_bytes: 100, ..Limits::default() };
        assert_eq!(l.tensor_bytes("t", DType::F32, &[5, 5]), Ok(100));
        assert!(matches!(
            l.tensor_bytes("t", DType::F32, &[26, 1]),
            Err(LimitError::TensorBytes { bytes: 104, .. })
        ));
        assert!(matches!(
            l.tensor_bytes("t", DType::F32, &[1 << 40, 1 << 40]),
            Err(LimitError::Overflow { .. })
        ));
        // The element count fits but the byte size does not.
        assert!(matches!(
            Limits::unlimited().tensor_bytes("t", DType::I64, &[1 << 62]),
            Err(LimitError::Overflow { .. })
        ));
        assert_eq!(l.tensor_bytes("t", DType::I4, &[7]), Ok(4));
        assert_eq!(l.tensor_bytes("t", DType::F32, &[0, 1 << 62]), Ok(0));
    }

    #[test]
    fn graph_limits() {
        let g = chain(10); // 11 nodes, 11 deep
        assert_eq!(Limits::default().check_graph(&g), Ok(()));
        let l = Limits { max_nodes: 10, ..Limits::default() };
        assert_eq!(l.check_graph(&g), Err(LimitError::Nodes { count: 11, limit: 10 }));
        let l = Limits { max_depth: 11, ..Limits::default() };
        assert_eq!(l.check_graph(&g), Ok(()));
        let l = Limits { max_depth: 10, ..Limits::default() };
        assert_eq!(l.check_graph(&g), Err(LimitError::Depth { depth: 11, limit: 10 }));
        let l = Limits { max_tensor_bytes: 23, ..Limits::default() };
        assert!(matches!(l.check_graph(&g), Err(LimitError::TensorBytes { bytes: 24, .. })));
    }

    #[test]
    fn arena_limit() {
        let l = Limits { max_arena_bytes: 10, ..Limits::default() };
        assert!(l.check_arena(10).is_ok());
        assert_eq!(l.check_arena(11), Err(LimitError::Arena { bytes: 11, limit: 10 }));
    }
}
