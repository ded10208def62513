//! Layout tracking: which arena buffers hold a 4-d `[N, C, H, W]` value stored NHWC, the
//! conversions back to NCHW before ops that are not layout-aware (and at graph outputs), and
//! the physical strides of broadcast operands (see [`crate::cnn`] for the layout choice).

use super::Cx;
use crate::cnn::Relayout;
use crate::model::{BufId, Kernel, Step, Storage};
use crate::LowerError;
use qcc_ir::{NodeId, Op, Value};

/// Ops lowered by the CNN family (this module's siblings), all layout-aware.
pub(super) fn is_cnn_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Conv(_)
            | Op::QConv(_)
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::QAdd
            | Op::QMul
            | Op::Lut
            | Op::HardSwish
            | Op::HardSigmoid(_)
            | Op::Sigmoid
            | Op::GlobalAveragePool
            | Op::QGlobalAveragePool
            | Op::MaxPool(_)
            | Op::AveragePool(_)
    )
}

/// Elementwise ops lowered in `lower.rs` that work on any layout (the result keeps operand 0's).
fn is_transparent(op: &Op) -> bool {
    matches!(op, Op::Relu | Op::Clip | Op::Quantize | Op::Dequantize)
}

/// `[N, C, H, W]` → `[N, H, W, C]`.
pub(super) fn nhwc_shape(s: &[usize]) -> Vec<usize> {
    vec![s[0], s[2], s[3], s[1]]
}

/// Physical dim order of a buffer: `perm[i]` is the logical dim stored at position i.
fn perm(rank: usize, nhwc: bool) -> Vec<usize> {
    if nhwc && rank == 4 {
        vec![0, 2, 3, 1]
    } else {
        (0..rank).collect()
    }
}

impl Cx<'_> {
    pub(super) fn is_nhwc(&self, b: BufId) -> bool {
        self.nhwc.contains(&b)
    }

    /// A new view of arena buffer `src` with `shape` (same bytes).
    fn view(&mut self, src: BufId, shape: Vec<usize>) -> BufId {
        let root = self.root[src];
        let dtype = self.bufs[src].dtype;
        let b = self.new_buf(dtype, shape, Storage::Arena { offset: 0, view_of: Some(root) });
        self.root[b] = root;
        b
    }

    /// The buffer of `v` in NCHW (logical) layout, converting (and remembering) if needed.
    pub(super) fn as_nchw(&mut self, id: NodeId, v: Value) -> Result<BufId, LowerError> {
        let src = self.buf(id, v)?;
        if !self.is_nhwc(src) {
            return Ok(src);
        }
        let logical = self.shape(id, v)?;
        let (n, c, hw) = (logical[0], logical[1], logical[2] * logical[3]);
        let b = if c == 1 || hw == 1 {
            self.view(src, logical)
        } else {
            let elem = self.bufs[src].dtype.size_bytes();
            let dtype = self.bufs[src].dtype;
            let out = self.new_buf(dtype, logical, Storage::Arena { offset: 0, view_of: None });
            self.steps.push(Step {
                node: super::node_name(self.g, id),
                ops: "Relayout".into(),
                kernel: Kernel::Relayout(Relayout { n, c, hw, elem, to_nhwc: false }),
                inputs: vec![src],
                output: out,
            });
            out
        };
        self.map.insert(v, b);
        Ok(b)
    }

    /// The buffer of 4-d `v` in NHWC layout (a view when both layouts coincide, else a copy).
    pub(super) fn as_nhwc(&mut self, id: NodeId, v: Value) -> Result<BufId, LowerError> {
        let src = self.buf(id, v)?;
        if self.is_nhwc(src) {
            return Ok(src);
        }
        let logical = self.shape(id, v)?;
        if logical.len() != 4 {
            return Err(self.err(id, format!("expected a 4-d tensor, got {logical:?}")));
        }
        let (n, c, hw) = (logical[0], logical[1], logical[2] * logical[3]);
        let phys = nhwc_shape(&logical);
        let dtype = self.bufs[src].dtype;
        let b = if c == 1 || hw == 1 {
            match &self.bufs[src].storage {
                Storage::Const(t) => {
                    let mut t2 = (**t).clone();
                    t2.shape = phys.clone();
                    return Ok(self.new_buf(dtype, phys, Storage::Const(std::sync::Arc::new(t2))));
                }
                Storage::Arena { .. } => self.view(src, phys),
            }
        } else {
            if matches!(self.bufs[src].storage, Storage::Const(_)) {
                return Err(self.err(id, "constant 4-d operand needs NHWC (not supported)"));
            }
            let out = self.new_buf(dtype, phys, Storage::Arena { offset: 0, view_of: None });
            let elem = dtype.size_bytes();
            self.steps.push(Step {
                node: super::node_name(self.g, id),
                ops: "Relayout".into(),
                kernel: Kernel::Relayout(Relayout { n, c, hw, elem, to_nhwc: true }),
                inputs: vec![src],
                output: out,
            });
            out
        };
        self.nhwc.insert(b);
        Ok(b)
    }

    /// Before lowering `id`: operands of ops that are not layout-aware go back to NCHW.
    pub(super) fn layout_prepare(&mut self, id: NodeId) -> Result<(), LowerError> {
        let op = &self.g.node(id).op;
        if is_cnn_op(op) || is_transparent(op) {
            return Ok(());
        }
        for v in self.g.operands(id).into_iter().flatten() {
            if self.map.contains_key(&v) {
                self.as_nchw(id, v)?;
            }
        }
        Ok(())
    }

    /// After lowering `id`: a transparent elementwise op on an NHWC operand gives NHWC.
    pub(super) fn layout_post(&mut self, id: NodeId) -> Result<(), LowerError> {
        if !is_transparent(&self.g.node(id).op) {
            return Ok(());
        }
        let Some(x) = self.g.operand(id, 0) else { return Ok(()) };
        let (Some(&xb), Some(&ob)) = (self.map.get(&x), self.map.get(&self.g.result(id))) else {
            return Ok(());
        };
        if self.is_nhwc(xb) && !self.is_nhwc(ob) {
            let phys = nhwc_shape(&self.bufs[ob].shape);
            self.bufs[ob].shape = phys;
            self.nhwc.insert(ob);
        }
        Ok(())
    }

    /// Graph outputs in NCHW.
    pub(super) fn outputs_to_nchw(&mut self) -> Result<(), LowerError> {
        for (_, v) in self.g.outputs().to_vec() {
            if self.map.contains_key(&v) {
                self.as_nchw(v.node, v)?;
            }
        }
        Ok(())
    }

    /// Element strides of operand `v` (logical shape `s`) over the logical output shape `out`
    /// (broadcast axes 0), given the operand buffer's layout.
    pub(super) fn operand_strides(
        &self,
        id: NodeId,
        b: BufId,
        s: &[usize],
        out: &[usize],
    ) -> Result<Vec<usize>, LowerError> {
        if s.len() > out.len() {
            return Err(self.err(id, "bad broadcast"));
        }
        let p = perm(s.len(), self.is_nhwc(b));
        // Element stride of each logical dim of the operand.
        let mut ls = vec![0usize; s.len()];
        let mut acc = 1usize;
        for &d in p.iter().rev() {
            ls[d] = acc;
            acc *= s[d];
        }
        let pad = out.len() - s.len();
        let mut st = vec![0usize; out.len()];
        for i in 0..s.len() {
            let d = out[pad + i];
            if s[i] == d {
                st[pad + i] = if d == 1 { 0 } else { ls[i] };
            } else if s[i] != 1 {
                return Err(self.err(id, "bad broadcast"));
            }
        }
        Ok(st)
    }

    /// Reorders a logical-order vector (shape or strides) into the physical order.
    pub(super) fn to_physical(v: &[usize], nhwc: bool) -> Vec<usize> {
        perm(v.len(), nhwc).iter().map(|&d| v[d]).collect()
    }

    /// An arena buffer for result `v`, NHWC when `nhwc` (and 4-d).
    pub(super) fn out_buf(
        &mut self,
        id: NodeId,
        v: Value,
        nhwc: bool,
    ) -> Result<BufId, LowerError> {
        let shape = self.shape(id, v)?;
        let nhwc = nhwc && shape.len() == 4;
        let phys = if nhwc { nhwc_shape(&shape) } else { shape };
        let b = self.new_buf(
            self.g.value_type(v).dtype,
            phys,
            Storage::Arena { offset: 0, view_of: None },
        );
        if nhwc {
            self.nhwc.insert(b);
        }
        self.map.insert(v, b);
        Ok(b)
    }

    /// Pushes a step writing `output`.
    pub(super) fn step(
        &mut self,
        id: NodeId,
        ops: impl Into<String>,
        kernel: Kernel,
        inputs: Vec<BufId>,
        output: BufId,
    ) {
        self.steps.push(Step {
            node: super::node_name(self.g, id),
            ops: ops.into(),
            kernel,
            inputs,
            output,
        });
    }

    /// Lowers a CNN-family op.
    pub(super) fn cnn(&mut self, id: NodeId) -> Result<(), LowerError> {
        match &self.g.node(id).op {
            Op::Conv(_) | Op::QConv(_) => self.conv(id),
            Op::GlobalAveragePool | Op::QGlobalAveragePool => self.global_pool(id),
            Op::MaxPool(_) | Op::AveragePool(_) => self.pool2d(id),
            _ => self.elementwise(id),
        }
    }
}
