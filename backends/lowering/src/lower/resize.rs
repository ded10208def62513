//! Resize as one [`Kernel::Resample`] step per resampled axis, in the interpreter's order
//! (last axis first) with its taps ([`qcc_ir::interp::resize_plan`]): nearest is a copy of
//! any element type, linear and cubic are f32 weighted sums in f64. The roi, scales and sizes
//! operands must be constants; tf_crop_and_resize extrapolation is not supported.

use super::Cx;
use crate::fops::Resample;
use crate::model::{Kernel, Step, Storage};
use crate::LowerError;
use qcc_ir::ops::ResizeMode;
use qcc_ir::{DType, NodeId, Op};

impl Cx<'_> {
    /// Lowers Resize.
    pub(super) fn resize(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let Op::Resize(at) = &g.node(id).op else {
            return Err(self.err(id, "not a Resize"));
        };
        let x = self.operand(id, 0)?;
        let out = g.result(id);
        let xs = self.shape(id, x)?;
        let os = self.shape(id, out)?;
        let dtype = g.value_type(x).dtype;
        if g.value_type(out).dtype != dtype {
            return Err(self.err(id, "result type differs from the input's"));
        }
        let mut ops = [None, None, None];
        for (slot, o) in ops.iter_mut().enumerate() {
            if let Some(v) = g.operand(id, slot + 1) {
                let t = self.constant(v).ok_or_else(|| {
                    self.err(id, format!("operand {} must be constant", slot + 1))
                })?;
                *o = Some(t.clone());
            }
        }
        let [roi, scales, sizes] = &ops;
        let plan = qcc_ir::interp::resize_plan(
            at,
            &xs,
            roi.as_deref(),
            scales.as_deref(),
            sizes.as_deref(),
        )
        .map_err(|e| self.err(id, e.to_string()))?;
        let weighted = at.mode != ResizeMode::Nearest;
        if weighted && dtype != DType::F32 {
            return Err(self.err(id, format!("{:?} of {dtype} (f32 only)", at.mode)));
        }
        let eb = dtype.size_bytes();
        if !matches!(eb, 1 | 2 | 4 | 8) {
            return Err(self.err(id, format!("{eb}-byte elements")));
        }
        let mut cur_shape = xs.clone();
        let mut cur = self.buf(id, x)?;
        let node = super::node_name(g, id);
        if plan.is_empty() {
            // Nothing resampled: a view of the input.
            if os != xs {
                return Err(self.err(id, format!("no axis resampled but {xs:?} -> {os:?}")));
            }
            let root = self.root[cur];
            let b = match &self.bufs[cur].storage {
                Storage::Const(t) => self.new_buf(dtype, os, Storage::Const(t.clone())),
                Storage::Arena { .. } => {
                    let b =
                        self.new_buf(dtype, os, Storage::Arena { offset: 0, view_of: Some(root) });
                    self.root[b] = root;
                    b
                }
            };
            self.map.insert(out, b);
            return Ok(());
        }
        for (i, p) in plan.iter().enumerate() {
            let taps = p.taps.iter().map(|t| t.as_ref().map_or(0, |t| t.len())).max().unwrap_or(1);
            if p.taps.iter().any(|t| t.is_none()) {
                return Err(self.err(id, "tf_crop_and_resize extrapolation is not supported"));
            }
            if p.taps.iter().flatten().any(|t| t.len() != taps) {
                return Err(self.err(id, "uneven tap counts (cubic with exclude_outside)"));
            }
            let mut index = Vec::with_capacity(p.n_out * taps);
            let mut weight = Vec::with_capacity(p.n_out * taps);
            for &(ix, w) in p.taps.iter().flatten().flatten() {
                index.push(u32::try_from(ix).map_err(|_| self.err(id, "axis too long"))?);
                weight.push(w);
            }
            let spec = Resample {
                outer: cur_shape[..p.axis].iter().product(),
                n_in: p.n_in,
                n_out: p.n_out,
                inner: cur_shape[p.axis + 1..].iter().product(),
                taps,
                index,
                weight,
                elem_bytes: eb,
            };
            if spec.is_copy() == weighted {
                return Err(self.err(id, "taps do not match the mode"));
            }
            cur_shape[p.axis] = p.n_out;
            let last = i + 1 == plan.len();
            let ob = if last {
                if cur_shape != os {
                    return Err(self.err(id, format!("resampled to {cur_shape:?}, not {os:?}")));
                }
                self.arena_buf(id, out)?
            } else {
                self.new_buf(dtype, cur_shape.clone(), Storage::Arena { offset: 0, view_of: None })
            };
            self.steps.push(Step {
                node: node.clone(),
                ops: format!("Resize[axis {}]", p.axis),
                kernel: Kernel::Resample(spec),
                inputs: vec![cur],
                output: ob,
            });
            cur = ob;
        }
        Ok(())
    }
}
