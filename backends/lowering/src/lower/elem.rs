//! Layout-aware elementwise lowering: f32 Add/Sub/Mul/Div with broadcast, QAdd/QMul (exact
//! `qmath` parameters), Lut, and the f32 activations HardSwish/HardSigmoid/Sigmoid.

use super::Cx;
use crate::cnn::{Activation, QBinOp, QBinary};
use crate::model::{BinOp, Kernel};
use crate::LowerError;
use qcc_ir::{qmath, DType, NodeId, Op, Quant};

fn signed8(d: DType) -> Option<bool> {
    match d {
        DType::I8 => Some(true),
        DType::U8 => Some(false),
        _ => None,
    }
}

impl Cx<'_> {
    pub(super) fn elementwise(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let op = g.node(id).op.clone();
        let out = g.result(id);
        match op {
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::QAdd | Op::QMul => {
                let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
                let (ab, bb) = (self.buf(id, a)?, self.buf(id, b)?);
                let oshape = self.shape(id, out)?;
                let nhwc = oshape.len() == 4 && (self.is_nhwc(ab) || self.is_nhwc(bb));
                let sa = self.operand_strides(id, ab, &self.shape(id, a)?, &oshape)?;
                let sb = self.operand_strides(id, bb, &self.shape(id, b)?, &oshape)?;
                let shape = Self::to_physical(&oshape, nhwc);
                let a_strides = Self::to_physical(&sa, nhwc);
                let b_strides = Self::to_physical(&sb, nhwc);
                let kernel = if matches!(op, Op::QAdd | Op::QMul) {
                    let tq = |v| {
                        let t = g.value_type(v);
                        let (s, z) = t.quant.as_ref().and_then(Quant::per_tensor)?;
                        Some((s, z, signed8(t.dtype)?))
                    };
                    let ((sa_, za, a_signed), (sb_, zb, b_signed), (sy, zy, signed)) =
                        match (tq(a), tq(b), tq(out)) {
                            (Some(x), Some(y), Some(z)) => (x, y, z),
                            _ => {
                                return Err(
                                    self.err(id, "operands and result must be 8-bit, per tensor")
                                )
                            }
                        };
                    let qop = if matches!(op, Op::QAdd) {
                        QBinOp::Add {
                            ma: qmath::multiplier(sa_, sy),
                            mb: qmath::multiplier(sb_, sy),
                        }
                    } else {
                        QBinOp::Mul { m: qmath::product_multiplier(sa_, sb_, sy) }
                    };
                    Kernel::QBinary(QBinary {
                        op: qop,
                        shape,
                        a_strides,
                        b_strides,
                        a_signed,
                        b_signed,
                        signed,
                        zero_points: (za, zb, zy),
                    })
                } else {
                    for v in [a, b, out] {
                        if g.value_type(v).dtype != DType::F32 {
                            return Err(self.err(id, "only f32 elementwise arithmetic"));
                        }
                    }
                    let bop = match op {
                        Op::Add => BinOp::Add,
                        Op::Sub => BinOp::Sub,
                        Op::Mul => BinOp::Mul,
                        _ => BinOp::Div,
                    };
                    Kernel::Binary { op: bop, shape, a_strides, b_strides }
                };
                let ob = self.out_buf(id, out, nhwc)?;
                self.step(id, op.name(), kernel, vec![ab, bb], ob);
            }
            Op::Lut => {
                let x = self.operand(id, 0)?;
                let t = self.operand(id, 1)?;
                let xb = self.buf(id, x)?;
                let tb = self.buf(id, t)?;
                let signed = signed8(g.value_type(x).dtype)
                    .ok_or_else(|| self.err(id, "Lut input must be u8 or i8"))?;
                let tt =
                    self.constant(t).ok_or_else(|| self.err(id, "table must be a constant"))?;
                if tt.numel() != 256
                    || signed8(tt.dtype).is_none()
                    || signed8(g.value_type(out).dtype).is_none()
                {
                    return Err(self.err(id, "table must hold 256 8-bit values"));
                }
                let nhwc = self.is_nhwc(xb);
                let ob = self.out_buf(id, out, nhwc)?;
                self.step(id, "Lut", Kernel::Lut { signed }, vec![xb, tb], ob);
            }
            Op::HardSwish | Op::HardSigmoid(_) | Op::Sigmoid => {
                let x = self.operand(id, 0)?;
                if g.value_type(x).dtype != DType::F32 || g.value_type(out).dtype != DType::F32 {
                    return Err(self.err(id, "only f32"));
                }
                let act = match op {
                    Op::HardSwish => Activation::HardSwish,
                    Op::HardSigmoid(at) => {
                        Activation::HardSigmoid { alpha: at.alpha, beta: at.beta }
                    }
                    _ => Activation::Sigmoid,
                };
                let xb = self.buf(id, x)?;
                let nhwc = self.is_nhwc(xb);
                let ob = self.out_buf(id, out, nhwc)?;
                self.step(id, op.name(), Kernel::Act(act), vec![xb], ob);
            }
            other => return Err(self.err(id, format!("no kernel for `{}`", other.name()))),
        }
        Ok(())
    }
}
