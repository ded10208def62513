//! Float ops with broadcast or index results: Pow ([`Kernel::Binary`] with [`BinOp::Pow`]; a
//! constant integer exponent is converted to f32 at compile time, as the interpreter converts
//! it), comparisons on f32/i32/i64 → bool ([`Kernel::Compare`]), Where on any 1/2/4/8-byte
//! type ([`Kernel::Where`]) and ArgMax/ArgMin of f32 ([`Kernel::ArgReduce`]).

use super::{bcast_strides, Cx};
use crate::fops::{ArgReduce, CmpOp, Compare, WhereSpec};
use crate::model::{BinOp, Kernel, Storage};
use crate::LowerError;
use qcc_ir::{DType, NodeId, Op, Tensor};
use std::sync::Arc;

impl Cx<'_> {
    /// Broadcast element strides of operand `slot` over the output shape `os`.
    fn strides_of(&self, id: NodeId, slot: usize, os: &[usize]) -> Result<Vec<usize>, LowerError> {
        let v = self.operand(id, slot)?;
        bcast_strides(&self.shape(id, v)?, os)
            .ok_or_else(|| self.err(id, format!("operand {slot} does not broadcast")))
    }

    /// Lowers Pow / comparisons / Where / ArgMax / ArgMin.
    pub(super) fn float_op(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let out = g.result(id);
        let os = self.shape(id, out)?;
        let op = g.node(id).op.clone();
        let name = op.name().to_string();
        let dt = |v| g.value_type(v).dtype;
        match &op {
            Op::Pow => {
                let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
                if dt(a) != DType::F32 || dt(out) != DType::F32 {
                    return Err(self.err(id, "only f32 bases"));
                }
                let a_strides = self.strides_of(id, 0, &os)?;
                let b_strides = self.strides_of(id, 1, &os)?;
                let bb = match (dt(b), self.constant(b)) {
                    (DType::F32, _) => self.buf(id, b)?,
                    (d, Some(t)) if d.is_int() || d.is_float() => {
                        let t = Arc::new(Tensor::f32(&t.shape, t.to_f32_vec()));
                        self.new_buf(DType::F32, t.shape.clone(), Storage::Const(t))
                    }
                    (d, _) => return Err(self.err(id, format!("runtime exponent of type {d}"))),
                };
                let ab = self.buf(id, a)?;
                let k = Kernel::Binary { op: BinOp::Pow, shape: os, a_strides, b_strides };
                self.push(id, name, k, vec![ab, bb], out)
            }
            Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual => {
                let (a, b) = (self.operand(id, 0)?, self.operand(id, 1)?);
                let elem = dt(a);
                if elem != dt(b) || !matches!(elem, DType::F32 | DType::I32 | DType::I64) {
                    return Err(self.err(id, format!("operands {elem}, {} (f32/i32/i64)", dt(b))));
                }
                if dt(out) != DType::Bool {
                    return Err(self.err(id, "result must be bool"));
                }
                let cop = match op {
                    Op::Equal => CmpOp::Equal,
                    Op::Less => CmpOp::Less,
                    Op::LessOrEqual => CmpOp::LessOrEqual,
                    Op::Greater => CmpOp::Greater,
                    _ => CmpOp::GreaterOrEqual,
                };
                let a_strides = self.strides_of(id, 0, &os)?;
                let b_strides = self.strides_of(id, 1, &os)?;
                let ins = vec![self.buf(id, a)?, self.buf(id, b)?];
                let k = Kernel::Compare(Compare { op: cop, elem, shape: os, a_strides, b_strides });
                self.push(id, name, k, ins, out)
            }
            Op::Where => {
                let (c, x, y) = (self.operand(id, 0)?, self.operand(id, 1)?, self.operand(id, 2)?);
                if dt(c) != DType::Bool || dt(x) != dt(y) || dt(out) != dt(x) {
                    return Err(self.err(id, "needs a bool condition and equal x/y types"));
                }
                let elem_bytes = dt(x).size_bytes();
                if !matches!(elem_bytes, 1 | 2 | 4 | 8) {
                    return Err(self.err(id, format!("elements of type {}", dt(x))));
                }
                let spec = WhereSpec {
                    elem_bytes,
                    c_strides: self.strides_of(id, 0, &os)?,
                    x_strides: self.strides_of(id, 1, &os)?,
                    y_strides: self.strides_of(id, 2, &os)?,
                    shape: os,
                };
                let ins = vec![self.buf(id, c)?, self.buf(id, x)?, self.buf(id, y)?];
                self.push(id, name, Kernel::Where(spec), ins, out)
            }
            Op::ArgMax(at) | Op::ArgMin(at) => {
                let x = self.operand(id, 0)?;
                if dt(x) != DType::F32 || dt(out) != DType::I64 {
                    return Err(self.err(id, "only f32 → i64"));
                }
                let xs = self.shape(id, x)?;
                let r = xs.len() as i64;
                let ax = if at.axis < 0 { at.axis + r } else { at.axis };
                if ax < 0 || ax >= r {
                    return Err(self.err(id, "bad axis"));
                }
                let ax = ax as usize;
                let spec = ArgReduce {
                    max: matches!(op, Op::ArgMax(_)),
                    select_last: at.select_last_index,
                    outer: xs[..ax].iter().product(),
                    d: xs[ax],
                    inner: xs[ax + 1..].iter().product(),
                };
                if spec.d == 0 && spec.outer * spec.inner > 0 {
                    return Err(self.err(id, "arg-reduction over an empty axis"));
                }
                let xb = self.buf(id, x)?;
                self.push(id, name, Kernel::ArgReduce(spec), vec![xb], out)
            }
            other => Err(self.err(id, format!("`{}` is not a float op", other.name()))),
        }
    }
}
