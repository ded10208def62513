//! Quantized elementwise binaries `QAdd` and `QMul` (8-bit operands and result, per-tensor
//! parameters, numpy broadcast) as [`Kernel::QBinary`], with the multipliers of
//! [`qcc_ir::qmath`] computed here once.

use super::Cx;
use crate::model::Kernel;
use crate::spec::{QBinOp, QBinary};
use crate::LowerError;
use qcc_ir::{qmath, DType, NodeId, Op, Quant};

impl Cx<'_> {
    /// Lowers QAdd / QMul.
    pub(super) fn qbinary(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (a, b, out) = (self.operand(id, 0)?, self.operand(id, 1)?, g.result(id));
        let mut p = Vec::new();
        for v in [a, b, out] {
            let t = g.value_type(v);
            let signed = match t.dtype {
                DType::I8 => true,
                DType::U8 => false,
                d => return Err(self.err(id, format!("{d} operand (8-bit only)"))),
            };
            let (s, z) = t
                .quant
                .as_ref()
                .and_then(Quant::per_tensor)
                .ok_or_else(|| self.err(id, "operands must be quantized per tensor"))?;
            p.push((signed, s, z));
        }
        let ((sa_, sa, za), (sb_, sb, zb), (sy_, sy, zy)) = (p[0], p[1], p[2]);
        let op = match g.node(id).op {
            Op::QAdd => {
                QBinOp::Add { ma: qmath::multiplier(sa, sy), mb: qmath::multiplier(sb, sy) }
            }
            _ => QBinOp::Mul { m: qmath::product_multiplier(sa, sb, sy) },
        };
        let shape = self.shape(id, out)?;
        let a_strides = super::bcast_strides(&self.shape(id, a)?, &shape)
            .ok_or_else(|| self.err(id, "bad broadcast"))?;
        let b_strides = super::bcast_strides(&self.shape(id, b)?, &shape)
            .ok_or_else(|| self.err(id, "bad broadcast"))?;
        let (lo, hi) = qmath::qrange(g.value_type(out).dtype);
        let spec = QBinary {
            op,
            shape,
            a_strides,
            b_strides,
            a: (sa_, za),
            b: (sb_, zb),
            signed: sy_,
            zero_point: zy,
            lo,
            hi,
        };
        let ins = vec![self.buf(id, a)?, self.buf(id, b)?];
        let name = g.node(id).op.name().to_string();
        self.push(id, name, Kernel::QBinary(spec), ins, out)
    }
}
