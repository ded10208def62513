//! Data movement: Transpose, Slice, Expand and Concat as strided copies
//! ([`Kernel::Copy`]; a Concat is one copy step per operand into the same buffer), Gather
//! ([`Kernel::Gather`]) and Cast ([`Kernel::Cast`]).

use super::Cx;
use crate::model::{Kernel, Step};
use crate::spec::{cast_supported, GatherSpec, StridedCopy};
use crate::LowerError;
use qcc_ir::{NodeId, Op};

/// Row-major element strides of `shape`.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (a >= 0 && (a as usize) < rank).then_some(a as usize)
}

impl Cx<'_> {
    fn const_ints(&self, id: NodeId, slot: usize) -> Result<Option<Vec<i64>>, LowerError> {
        let Some(v) = self.g.operand(id, slot) else { return Ok(None) };
        let t = self
            .constant(v)
            .ok_or_else(|| self.err(id, format!("operand {slot} must be constant")))?;
        t.to_i64_vec()
            .map(Some)
            .ok_or_else(|| self.err(id, format!("operand {slot} must be integer")))
    }

    fn copy_kernel(&self, id: NodeId, c: StridedCopy) -> Result<Kernel, LowerError> {
        if !matches!(c.elem_bytes, 1 | 2 | 4 | 8) {
            return Err(self.err(id, format!("{}-byte elements", c.elem_bytes)));
        }
        Ok(Kernel::Copy(c))
    }

    /// Lowers Transpose / Slice / Expand / Concat / Gather / Cast.
    pub(super) fn movement(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let out = g.result(id);
        let os = self.shape(id, out)?;
        let x = self.operand(id, 0)?;
        let xs = self.shape(id, x)?;
        let eb = g.value_type(x).dtype.size_bytes();
        let name = g.node(id).op.name().to_string();
        let xb = self.buf(id, x)?;
        let ist = strides(&xs);
        let kernel = match &g.node(id).op {
            Op::Transpose(at) => {
                let r = xs.len();
                let perm: Vec<usize> =
                    if at.perm.is_empty() { (0..r).rev().collect() } else { at.perm.clone() };
                let mut seen = vec![false; r];
                if perm.len() != r
                    || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
                {
                    return Err(self.err(id, format!("bad permutation {perm:?}")));
                }
                self.copy_kernel(
                    id,
                    StridedCopy {
                        elem_bytes: eb,
                        shape: os.clone(),
                        src_offset: 0,
                        src_strides: perm.iter().map(|&p| ist[p] as isize).collect(),
                        dst_offset: 0,
                        dst_strides: strides(&os),
                    },
                )?
            }
            Op::Expand => {
                let st = super::bcast_strides(&xs, &os)
                    .ok_or_else(|| self.err(id, "input does not broadcast to the output"))?;
                self.copy_kernel(
                    id,
                    StridedCopy {
                        elem_bytes: eb,
                        shape: os.clone(),
                        src_offset: 0,
                        src_strides: st.iter().map(|&s| s as isize).collect(),
                        dst_offset: 0,
                        dst_strides: strides(&os),
                    },
                )?
            }
            Op::Slice => {
                let r = xs.len();
                let starts = self.const_ints(id, 1)?.ok_or_else(|| self.err(id, "no starts"))?;
                let ends = self.const_ints(id, 2)?.ok_or_else(|| self.err(id, "no ends"))?;
                let axes =
                    self.const_ints(id, 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = self.const_ints(id, 4)?.unwrap_or_else(|| vec![1; starts.len()]);
                if ends.len() != starts.len()
                    || axes.len() != starts.len()
                    || steps.len() != starts.len()
                {
                    return Err(self.err(id, "starts/ends/axes/steps lengths differ"));
                }
                let mut offset = 0isize;
                let mut sst: Vec<isize> = ist.iter().map(|&s| s as isize).collect();
                for i in 0..starts.len() {
                    let ax = norm_axis(axes[i], r).ok_or_else(|| self.err(id, "bad axis"))?;
                    let d = xs[ax] as i64;
                    let step = steps[i];
                    if step == 0 {
                        return Err(self.err(id, "step 0"));
                    }
                    let mut s = starts[i];
                    if s < 0 {
                        s += d;
                    }
                    // ONNX clamping of the start.
                    s = if step > 0 { s.clamp(0, d) } else { s.clamp(0, d - 1) };
                    if os[ax] > 0 {
                        let last = s + step * (os[ax] as i64 - 1);
                        if s < 0 || s >= d || last < 0 || last >= d {
                            return Err(self.err(id, "slice outside the input"));
                        }
                    }
                    offset += s as isize * ist[ax] as isize;
                    sst[ax] = step as isize * ist[ax] as isize;
                }
                self.copy_kernel(
                    id,
                    StridedCopy {
                        elem_bytes: eb,
                        shape: os.clone(),
                        src_offset: offset,
                        src_strides: sst,
                        dst_offset: 0,
                        dst_strides: strides(&os),
                    },
                )?
            }
            Op::Concat(at) => return self.concat(id, at.axis, &os),
            Op::Gather(at) => {
                let ax = norm_axis(at.axis, xs.len()).ok_or_else(|| self.err(id, "bad axis"))?;
                let iv = self.operand(id, 1)?;
                let idt = g.value_type(iv).dtype;
                let idx_i64 = match idt {
                    qcc_ir::DType::I64 => true,
                    qcc_ir::DType::I32 => false,
                    d => return Err(self.err(id, format!("indices of type {d}"))),
                };
                let nidx: usize = self.shape(id, iv)?.iter().product();
                let ib = self.buf(id, iv)?;
                let spec = GatherSpec {
                    outer: xs[..ax].iter().product(),
                    d: xs[ax],
                    nidx,
                    inner: xs[ax + 1..].iter().product(),
                    elem_bytes: eb,
                    idx_i64,
                };
                return self.push(id, name, Kernel::Gather(spec), vec![xb, ib], out);
            }
            Op::Cast(at) => {
                let from = g.value_type(x).dtype;
                if !cast_supported(from, at.to) || g.value_type(out).dtype != at.to {
                    return Err(self.err(id, format!("cast {from} -> {}", at.to)));
                }
                Kernel::Cast { n: os.iter().product(), from, to: at.to }
            }
            _ => return Err(self.err(id, "not a movement op")),
        };
        self.push(id, name, kernel, vec![xb], out)
    }

    /// One copy step per operand, all writing the output buffer.
    fn concat(&mut self, id: NodeId, axis: i64, os: &[usize]) -> Result<(), LowerError> {
        let g = self.g;
        let out = g.result(id);
        let ax = norm_axis(axis, os.len()).ok_or_else(|| self.err(id, "bad axis"))?;
        let ost = strides(os);
        let ob = self.arena_buf(id, out)?;
        let mut at = 0usize;
        let ops = g.operands(id);
        for (i, v) in ops.iter().enumerate() {
            let v = v.ok_or_else(|| self.err(id, "missing operand"))?;
            let s = self.shape(id, v)?;
            if s.len() != os.len() || (0..os.len()).any(|d| d != ax && s[d] != os[d]) {
                return Err(self.err(id, format!("operand {i} {s:?} does not fit {os:?}")));
            }
            if s[ax] > 0 {
                let eb = g.value_type(v).dtype.size_bytes();
                let k = self.copy_kernel(
                    id,
                    StridedCopy {
                        elem_bytes: eb,
                        shape: s.clone(),
                        src_offset: 0,
                        src_strides: strides(&s).iter().map(|&x| x as isize).collect(),
                        dst_offset: at * ost[ax],
                        dst_strides: ost.clone(),
                    },
                )?;
                let vb = self.buf(id, v)?;
                self.steps.push(Step {
                    node: super::node_name(g, id),
                    ops: format!("Concat[{i}]"),
                    kernel: k,
                    inputs: vec![vb],
                    output: ob,
                });
            }
            at += s[ax];
        }
        if at != os[ax] {
            return Err(self.err(id, "operand extents do not sum to the output's"));
        }
        Ok(())
    }
}
