//! Pooling lowering: GlobalAveragePool (f32) and QGlobalAveragePool (the interpreter's exact
//! rule, multiplier `f32(sx/sy) / n`) on NHWC or NCHW inputs, and f32 MaxPool/AveragePool
//! (2-d, NHWC).

use super::conv::geometry;
use super::Cx;
use crate::cnn::{GlobalPool, Pool2d, PoolQuant};
use crate::model::Kernel;
use crate::LowerError;
use qcc_ir::{qmath, DType, NodeId, Op, Quant};

impl Cx<'_> {
    pub(super) fn global_pool(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (x, out) = (self.operand(id, 0)?, g.result(id));
        let xs = self.shape(id, x)?;
        if xs.len() < 3 {
            return Err(self.err(id, "global pooling needs [N, C, spatial...]"));
        }
        let xb = self.buf(id, x)?;
        let nhwc = self.is_nhwc(xb);
        let (n, c, hw) = (xs[0], xs[1], xs[2..].iter().product::<usize>());
        let quant = if matches!(g.node(id).op, Op::QGlobalAveragePool) {
            let (xt, yt) = (g.value_type(x), g.value_type(out));
            let s8 = |d: DType| match d {
                DType::I8 => Some(true),
                DType::U8 => Some(false),
                _ => None,
            };
            let pq = (|| {
                let (sx, zx) = xt.quant.as_ref().and_then(Quant::per_tensor)?;
                let (sy, zy) = yt.quant.as_ref().and_then(Quant::per_tensor)?;
                Some(PoolQuant {
                    x_signed: s8(xt.dtype)?,
                    signed: s8(yt.dtype)?,
                    x_zero_point: zx,
                    m: qmath::multiplier(sx, sy) / hw as f32,
                    zero_point: zy,
                })
            })()
            .ok_or_else(|| self.err(id, "8-bit per-tensor input and result required"))?;
            if hw == 0 {
                return Err(self.err(id, "empty spatial extent"));
            }
            Some(pq)
        } else {
            if g.value_type(x).dtype != DType::F32 {
                return Err(self.err(id, "GlobalAveragePool: only f32"));
            }
            None
        };
        let ob = self.out_buf(id, out, false)?;
        let name = g.node(id).op.name();
        self.step(
            id,
            name,
            Kernel::GlobalAvgPool(GlobalPool { n, c, hw, nhwc, quant }),
            vec![xb],
            ob,
        );
        Ok(())
    }

    pub(super) fn pool2d(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let (at, max) = match &g.node(id).op {
            Op::MaxPool(a) => (a.clone(), true),
            Op::AveragePool(a) => (a.clone(), false),
            _ => return Err(self.err(id, "not a pool")),
        };
        if g.results(id).len() > 1 && g.is_used(g.results(id)[1]) {
            return Err(self.err(id, "MaxPool indices are not supported"));
        }
        let (x, out) = (self.operand(id, 0)?, g.result(id));
        if g.value_type(x).dtype != DType::F32 {
            return Err(self.err(id, "only f32 pooling"));
        }
        if at.ceil_mode {
            return Err(self.err(id, "ceil_mode is not supported"));
        }
        let xs = self.shape(id, x)?;
        if at.kernel_shape.len() != 2 {
            return Err(self.err(id, "only 2-d pooling"));
        }
        let dil = if max { at.dilations.clone() } else { vec![] };
        let geom = geometry(
            &xs,
            (at.kernel_shape[0], at.kernel_shape[1]),
            &at.strides,
            &dil,
            &at.pads,
            at.auto_pad,
        )
        .ok_or_else(|| self.err(id, "bad pooling geometry"))?;
        if self.shape(id, out)? != [geom.n, geom.c, geom.oh, geom.ow] {
            return Err(self.err(id, "result does not match the geometry"));
        }
        let xb = self.as_nhwc(id, x)?;
        let ob = self.out_buf(id, out, true)?;
        let kernel = Kernel::Pool2d(Pool2d { geom, max, count_include_pad: at.count_include_pad });
        let name = g.node(id).op.name();
        self.step(id, name, kernel, vec![xb], ob);
        Ok(())
    }
}
