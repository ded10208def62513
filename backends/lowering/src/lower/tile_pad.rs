//! Split, Tile and Pad as strided copies ([`Kernel::Copy`], any element type), no new kernel:
//!
//! * Split: one copy per result, from its offset along the axis.
//! * Tile: one copy over `[r₀, x₀, r₁, x₁, …]` reading the input with stride 0 along each
//!   repeat axis.
//! * Pad: per axis, the output coordinates are cut into runs whose source coordinate is affine
//!   (interior, an edge repeated with stride 0, a reflected run with stride −1, a wrapped run)
//!   or the constant, with the interpreter's source rule; one copy per combination of affine
//!   runs, after one copy that fills the whole output from the scalar constant (stride 0) when
//!   any constant runs exist. Negative pads crop.

use super::movement::strides;
use super::Cx;
use crate::model::{Kernel, Step, Storage};
use crate::spec::StridedCopy;
use crate::LowerError;
use qcc_ir::ops::PadMode;
use qcc_ir::{NodeId, Op, Tensor};
use std::sync::Arc;

/// Most copy steps one Pad may become.
const MAX_PAD_STEPS: usize = 1024;

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (a >= 0 && (a as usize) < rank).then_some(a as usize)
}

/// The interpreter's Pad rule: the source coordinate of output coordinate `o` along an axis
/// of extent `n` padded by `pb` at the start (None: the constant).
fn pad_src(o: i64, n: i64, pb: i64, mode: PadMode) -> Option<i64> {
    let i = o.saturating_sub(pb);
    if (0..n).contains(&i) {
        return Some(i);
    }
    Some(match mode {
        PadMode::Constant => return None,
        PadMode::Edge => i.clamp(0, n - 1),
        PadMode::Wrap => i.rem_euclid(n),
        PadMode::Reflect => {
            if n == 1 {
                0
            } else {
                let p = 2 * (n - 1);
                let m = i.rem_euclid(p);
                if m < n {
                    m
                } else {
                    p - m
                }
            }
        }
    })
}

/// A run of output coordinates `[start, start + len)` reading source `src + stride·k`, or the
/// constant (`src == None`).
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    len: usize,
    src: Option<(i64, i64)>,
}

/// Cuts `0..n_out` into maximal runs of `map` that are affine (or constant) and do not cross
/// the coordinates in `breaks` (the interior's bounds, so the interior is one run).
fn runs(n_out: usize, breaks: &[i64], map: impl Fn(i64) -> Option<i64>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut o = 0usize;
    while o < n_out {
        let first = map(o as i64);
        let mut len = 1;
        let next_ok = o + 1 < n_out && !breaks.contains(&(o as i64 + 1));
        let stride = match (first, next_ok.then(|| map(o as i64 + 1)).flatten()) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        while o + len < n_out && !breaks.contains(&((o + len) as i64)) {
            let next = map((o + len) as i64);
            let fits = match (first, next) {
                (None, None) => true,
                (Some(a), Some(b)) => b == a + stride * len as i64,
                _ => false,
            };
            if !fits {
                break;
            }
            len += 1;
        }
        out.push(Run { start: o, len, src: first.map(|a| (a, stride)) });
        o += len;
    }
    out
}

impl Cx<'_> {
    fn const_list(&self, id: NodeId, slot: usize) -> Result<Option<Vec<i64>>, LowerError> {
        let Some(v) = self.g.operand(id, slot) else { return Ok(None) };
        let t = self
            .constant(v)
            .ok_or_else(|| self.err(id, format!("operand {slot} must be constant")))?;
        t.to_i64_vec()
            .map(Some)
            .ok_or_else(|| self.err(id, format!("operand {slot} must be integer")))
    }

    fn copy_step(&mut self, id: NodeId, ops: String, c: StridedCopy, src: usize, dst: usize) {
        self.steps.push(Step {
            node: super::node_name(self.g, id),
            ops,
            kernel: Kernel::Copy(c),
            inputs: vec![src],
            output: dst,
        });
    }

    /// Lowers Split / Tile / Pad.
    pub(super) fn tile_pad(&mut self, id: NodeId) -> Result<(), LowerError> {
        let g = self.g;
        let x = self.operand(id, 0)?;
        let xs = self.shape(id, x)?;
        let ist = strides(&xs);
        let eb = g.value_type(x).dtype.size_bytes();
        if !matches!(eb, 1 | 2 | 4 | 8) {
            return Err(self.err(id, format!("{eb}-byte elements")));
        }
        let xb = self.buf(id, x)?;
        let name = g.node(id).op.name().to_string();
        match &g.node(id).op {
            Op::Split(at) => {
                let ax = norm_axis(at.axis, xs.len()).ok_or_else(|| self.err(id, "bad axis"))?;
                let mut at_ = 0usize;
                for (i, v) in g.results(id).into_iter().enumerate() {
                    let s = self.shape(id, v)?;
                    if s.len() != xs.len() || (0..xs.len()).any(|d| d != ax && s[d] != xs[d]) {
                        return Err(self.err(id, format!("result {i} {s:?} does not fit {xs:?}")));
                    }
                    let ob = self.arena_buf(id, v)?;
                    if s.iter().all(|&d| d > 0) {
                        let c = StridedCopy {
                            elem_bytes: eb,
                            src_offset: (at_ * ist[ax]) as isize,
                            src_strides: ist.iter().map(|&t| t as isize).collect(),
                            dst_offset: 0,
                            dst_strides: strides(&s),
                            shape: s.clone(),
                        };
                        self.copy_step(id, format!("Split[{i}]"), c, xb, ob);
                    }
                    at_ += s[ax];
                }
                if at_ != xs[ax] {
                    return Err(self.err(id, "result extents do not sum to the input's"));
                }
                Ok(())
            }
            Op::Tile => {
                let reps = self.const_list(id, 1)?.ok_or_else(|| self.err(id, "no repeats"))?;
                let out = g.result(id);
                let os = self.shape(id, out)?;
                let ok = reps.len() == xs.len()
                    && reps
                        .iter()
                        .zip(&xs)
                        .zip(&os)
                        .all(|((&r, &d), &o)| r >= 0 && (d as u128) * (r as u128) == o as u128);
                if !ok {
                    return Err(self.err(id, format!("repeats {reps:?} do not give {os:?}")));
                }
                let ost = strides(&os);
                let mut c = StridedCopy {
                    elem_bytes: eb,
                    shape: vec![],
                    src_offset: 0,
                    src_strides: vec![],
                    dst_offset: 0,
                    dst_strides: vec![],
                };
                for d in 0..xs.len() {
                    c.shape.extend([reps[d] as usize, xs[d]]);
                    c.src_strides.extend([0, ist[d] as isize]);
                    c.dst_strides.extend([xs[d] * ost[d], ost[d]]);
                }
                let ob = self.arena_buf(id, out)?;
                if os.iter().all(|&d| d > 0) {
                    self.copy_step(id, name, c, xb, ob);
                }
                Ok(())
            }
            Op::Pad(at) => self.pad(id, at.mode, &xs, eb),
            other => Err(self.err(id, format!("`{}` is not Split/Tile/Pad", other.name()))),
        }
    }

    fn pad(
        &mut self,
        id: NodeId,
        mode: PadMode,
        xs: &[usize],
        eb: usize,
    ) -> Result<(), LowerError> {
        let g = self.g;
        let (x, out) = (self.operand(id, 0)?, g.result(id));
        let os = self.shape(id, out)?;
        let r = xs.len();
        let pads = self.const_list(id, 1)?.ok_or_else(|| self.err(id, "no pads"))?;
        let axes: Vec<usize> = match self.const_list(id, 3)? {
            Some(a) => a
                .into_iter()
                .map(|v| norm_axis(v, r).ok_or_else(|| self.err(id, "bad axis")))
                .collect::<Result<_, _>>()?,
            None => (0..r).collect(),
        };
        if pads.len() != 2 * axes.len() {
            return Err(self.err(id, format!("{} pads for {} axes", pads.len(), axes.len())));
        }
        let (mut pb, mut pe) = (vec![0i64; r], vec![0i64; r]);
        for (i, &ax) in axes.iter().enumerate() {
            pb[ax] = pads[i];
            pe[ax] = pads[axes.len() + i];
        }
        for d in 0..r {
            let o = (xs[d] as i64).checked_add(pb[d]).and_then(|v| v.checked_add(pe[d]));
            if o != Some(os[d] as i64) {
                return Err(self.err(id, format!("pads {pads:?} do not give {os:?}")));
            }
            if xs[d] == 0 && os[d] > 0 && mode != PadMode::Constant {
                return Err(self.err(id, format!("cannot {mode:?}-pad an empty axis")));
            }
        }
        let per_axis: Vec<Vec<Run>> = (0..r)
            .map(|d| {
                let breaks = [pb[d], pb[d] + xs[d] as i64];
                runs(os[d], &breaks, |o| pad_src(o, xs[d] as i64, pb[d], mode))
            })
            .collect();
        let steps: usize = per_axis
            .iter()
            .map(|v| v.iter().filter(|r| r.src.is_some()).count())
            .fold(1usize, |a, n| a.saturating_mul(n));
        if steps > MAX_PAD_STEPS {
            return Err(self.err(id, format!("{steps} copies (at most {MAX_PAD_STEPS})")));
        }
        let xb = self.buf(id, x)?;
        let ob = self.arena_buf(id, out)?;
        let ost = strides(&os);
        let ist = strides(xs);
        let numel: usize = os.iter().product();
        let any_const = per_axis.iter().any(|v| v.iter().any(|r| r.src.is_none()));
        if any_const && numel > 0 {
            let dtype = g.value_type(x).dtype;
            let cb = match g.operand(id, 2) {
                Some(v) => {
                    if g.value_type(v).dtype != dtype
                        || self.shape(id, v)?.iter().product::<usize>() != 1
                    {
                        return Err(self.err(id, "constant_value must be a scalar of x's type"));
                    }
                    self.buf(id, v)?
                }
                None => {
                    let t =
                        Tensor::zeros(dtype, vec![1]).map_err(|e| self.err(id, e.to_string()))?;
                    self.new_buf(dtype, vec![1], Storage::Const(Arc::new(t)))
                }
            };
            let fill = StridedCopy {
                elem_bytes: eb,
                shape: os.clone(),
                src_offset: 0,
                src_strides: vec![0; r],
                dst_offset: 0,
                dst_strides: ost.clone(),
            };
            self.copy_step(id, "Pad[fill]".into(), fill, cb, ob);
        }
        // Every combination of affine runs (odometer over the per-axis lists).
        let affine: Vec<Vec<Run>> = per_axis
            .into_iter()
            .map(|v| v.into_iter().filter(|r| r.src.is_some()).collect())
            .collect();
        if numel == 0 || affine.iter().any(|v| v.is_empty()) {
            return Ok(());
        }
        let mut pick = vec![0usize; r];
        loop {
            let mut c = StridedCopy {
                elem_bytes: eb,
                shape: vec![],
                src_offset: 0,
                src_strides: vec![],
                dst_offset: 0,
                dst_strides: ost.clone(),
            };
            for d in 0..r {
                let run = affine[d][pick[d]];
                let (s0, st) = run.src.unwrap_or((0, 0));
                c.shape.push(run.len);
                c.src_offset += (s0 * ist[d] as i64) as isize;
                c.src_strides.push((st * ist[d] as i64) as isize);
                c.dst_offset += run.start * ost[d];
            }
            self.copy_step(id, "Pad".into(), c, xb, ob);
            let mut d = r;
            loop {
                if d == 0 {
                    return Ok(());
                }
                d -= 1;
                pick[d] += 1;
                if pick[d] < affine[d].len() {
                    break;
                }
                pick[d] = 0;
            }
        }
    }
}
