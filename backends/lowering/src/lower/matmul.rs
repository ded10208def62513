//! Batched matmul with runtime operands: f32 `MatMul` whose B is not a 2-d constant, and
//! `QMatMul` whose B is not a 2-d i8 constant with zero point 0 (attention's `Q·Kᵀ` and `P·V`).
//! Batch axes broadcast (numpy rules); 1-d operands are promoted as in ONNX.

use super::Cx;
use crate::model::Kernel;
use crate::spec::{BatchMatMul, MmElem};
use crate::LowerError;
use qcc_ir::{DType, NodeId, Quant};

/// Batch strides (in matrices) of `src` broadcast to `dst`, or None if incompatible.
fn batch_strides(src: &[usize], dst: &[usize]) -> Option<Vec<usize>> {
    crate::lower::bcast_strides(src, dst)
}

fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let get = |s: &[usize], i: usize| if i + s.len() >= r { s[i + s.len() - r] } else { 1 };
    (0..r)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

fn q8(d: DType) -> Option<bool> {
    match d {
        DType::I8 => Some(true),
        DType::U8 => Some(false),
        _ => None,
    }
}

impl Cx<'_> {
    /// Whether the (Q)MatMul `id` needs the batched kernel (the GEMM kernels need a 2-d
    /// constant B; the integer one also i8 with zero point 0).
    pub(super) fn needs_batched(&self, id: NodeId, int: bool) -> bool {
        let Some(b) = self.g.operand(id, 1) else { return false };
        let Some(t) = self.constant(b) else { return true };
        if t.shape.len() != 2 {
            return true;
        }
        let ty = self.g.value_type(b);
        int && (ty.dtype != DType::I8
            || ty.quant.as_ref().is_some_and(|q| q.zero_points().iter().any(|&z| z != 0)))
    }

    /// Lowers a MatMul / QMatMul to [`Kernel::BatchMatMul`].
    pub(super) fn batch_matmul(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let int = matches!(g.node(id).op, qcc_ir::Op::QMatMul);
        let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
        let (sa, sb) = (self.shape(id, a)?, self.shape(id, b)?);
        if sa.is_empty() || sb.is_empty() {
            return Err(self.err(id, "operands must have rank >= 1"));
        }
        let a2 = if sa.len() == 1 { vec![1, sa[0]] } else { sa.clone() };
        let b2 = if sb.len() == 1 { vec![sb[0], 1] } else { sb.clone() };
        let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
        let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
        if k != kb {
            return Err(self.err(id, format!("inner extents differ: {sa:?} x {sb:?}")));
        }
        let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
        let batch = broadcast(ba, bb).ok_or_else(|| self.err(id, "batch axes do not broadcast"))?;
        let a_strides = batch_strides(ba, &batch).ok_or_else(|| self.err(id, "bad broadcast"))?;
        let b_strides = batch_strides(bb, &batch).ok_or_else(|| self.err(id, "bad broadcast"))?;
        let out_rank = batch.len() + (sa.len() > 1) as usize + (sb.len() > 1) as usize;
        let (ta, tb) = (g.value_type(a), g.value_type(b));
        let mut spec = BatchMatMul {
            batch,
            a_strides,
            b_strides,
            m,
            n,
            k,
            elem: MmElem::F32,
            bias: None,
            requant: None,
        };
        let (ops, out);
        if int {
            let (a_signed, b_signed) = match (q8(ta.dtype), q8(tb.dtype)) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(self.err(id, "operands must be i8 or u8")),
            };
            let per_tensor = |q: &Option<Quant>| q.as_ref().and_then(Quant::per_tensor);
            let (_, za) = per_tensor(&ta.quant)
                .ok_or_else(|| self.err(id, "A must be quantized per tensor"))?;
            let zb = match &tb.quant {
                Some(Quant::Tensor { zero_point, .. }) => *zero_point,
                Some(Quant::Axis { zero_points, .. })
                    if zero_points.iter().all(|&z| z == zero_points[0]) =>
                {
                    zero_points[0]
                }
                _ => {
                    return Err(self.err(id, "B must be quantized with one zero point (per tensor)"))
                }
            };
            spec.elem = MmElem::Int { a_signed, b_signed, a_zero_point: za, b_zero_point: zb };
            if let Some(bv) = g.operand(id, 2) {
                let t = self.constant(bv).ok_or_else(|| self.err(id, "bias must be constant"))?;
                let v = t.as_i32().map_err(|e| self.err(id, e.to_string()))?;
                let per_col = t.shape.iter().rev().skip(1).all(|&d| d == 1);
                spec.bias = Some(match v.len() {
                    l if l == n && per_col => v.to_vec(),
                    1 => vec![v[0]; n],
                    _ => return Err(self.err(id, "bias must have one value per column")),
                });
            }
            (ops, out, spec.requant) = self.fuse_requant(id, out_rank.max(2), n)?;
        } else {
            out = g.result(id);
            for v in [a, b, out] {
                if g.value_type(v).dtype != DType::F32 {
                    return Err(self.err(id, "only f32"));
                }
            }
            ops = "MatMul".to_string();
        }
        let ins = vec![self.buf(id, a)?, self.buf(id, b)?];
        self.push(id, ops, Kernel::BatchMatMul(spec), ins, out)
    }
}
