//! Inference for shape and data-movement ops: Reshape, Flatten, Transpose, Concat, Split,
//! Slice, Gather, Squeeze/Unsqueeze, Expand, Tile, Pad, Resize, Shape, Size, ConstantOfShape,
//! Range, DepthToSpace.
//!
//! Data-movement ops keep the operand's quantization: per-tensor parameters always, per-axis and
//! blocked ones when the quantized axis survives with its extent (its index remapped).

use super::dims::{self, broadcast, unify, unknown, unknown_dims};
use super::{operand_label, Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Dim, Quant, Shape, TensorType};

pub(super) fn infer(cx: &Ctx<'_>) -> R<TensorType> {
    match cx.op {
        Op::Reshape(a) => reshape(cx, a.allowzero),
        Op::Flatten(a) => {
            let x = cx.ty(0)?;
            let Some(d) = x.shape.dims() else {
                return Ok(TensorType::new(x.dtype, unknown_dims(2)));
            };
            let r = d.len() as i64;
            if a.axis < -r || a.axis > r {
                return Err(format!("axis {} is out of range for rank {r}", a.axis));
            }
            let ax = if a.axis < 0 { a.axis + r } else { a.axis } as usize;
            let shape = Shape(Some(vec![dims::product(&d[..ax]), dims::product(&d[ax..])]));
            carry_prefix(x, shape)
        }
        Op::Transpose(a) => {
            let x = cx.ty(0)?;
            let Some(d) = x.shape.dims() else { return Ok(x.clone()) };
            let perm: Vec<usize> =
                if a.perm.is_empty() { (0..d.len()).rev().collect() } else { a.perm.clone() };
            let mut seen = vec![false; d.len()];
            if perm.len() != d.len()
                || perm.iter().any(|&p| p >= d.len() || std::mem::replace(&mut seen[p], true))
            {
                return Err(format!("perm {perm:?} is not a permutation of rank {}", d.len()));
            }
            let shape = Shape(Some(perm.iter().map(|&p| d[p].clone()).collect()));
            carry(x, shape, |ax| perm.iter().position(|&p| p == ax))
        }
        Op::Concat(a) => concat(cx, a.axis),
        Op::Slice => slice(cx),
        Op::Gather(a) => {
            let (x, idx) = (cx.ty(0)?, cx.ty(1)?);
            cx.expect_dtype(1, "an integer tensor", |d| matches!(d, DType::I64 | DType::I32))?;
            let (Some(d), Some(id)) = (x.shape.dims(), idx.shape.dims()) else {
                return Ok(TensorType { shape: Shape::unknown(), ..x.clone() }.drop_axis_quant());
            };
            let ax = dims::axis(a.axis, d.len())?;
            let mut out = d[..ax].to_vec();
            out.extend(id.iter().cloned());
            out.extend(d[ax + 1..].iter().cloned());
            let ir = id.len();
            carry(x, Shape(Some(out)), |q| match q.cmp(&ax) {
                std::cmp::Ordering::Less => Some(q),
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => Some(q + ir - 1),
            })
        }
        Op::GatherElements(a) => {
            let (x, idx) = (cx.ty(0)?, cx.ty(1)?);
            cx.expect_dtype(1, "an integer tensor", |d| matches!(d, DType::I64 | DType::I32))?;
            if let (Some(r), Some(ri)) = (x.shape.rank(), idx.shape.rank()) {
                if r != ri {
                    return Err(format!(
                        "indices {} must have the rank of data {}",
                        idx.shape, x.shape
                    ));
                }
                dims::axis(a.axis, r)?;
            }
            carry_same_extent(x, idx.shape.clone())
        }
        Op::Squeeze => squeeze(cx),
        Op::Unsqueeze => unsqueeze(cx),
        Op::Expand => {
            let x = cx.ty(0)?;
            cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
            cx.expect_rank(1, 1)?;
            let shape = match cx.const_ints(1)? {
                Some(v) => {
                    let target = v
                        .iter()
                        .map(|&e| dims::extent(e, "shape value").map(Dim::Fixed))
                        .collect::<R<Vec<_>>>()?;
                    broadcast(&[&x.shape, &Shape(Some(target))])?
                }
                None => match (x.shape.rank(), cx.ty(1)?.shape.as_fixed()) {
                    (Some(r), Some(k)) => unknown_dims(r.max(k[0])),
                    _ => Shape::unknown(),
                },
            };
            carry_same_extent(x, shape)
        }
        Op::Tile => {
            let x = cx.ty(0)?;
            cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
            let Some(d) = x.shape.dims() else { return Ok(x.clone()) };
            let shape = match cx.const_ints(1)? {
                Some(rep) => {
                    if rep.len() != d.len() {
                        return Err(format!(
                            "repeats has {} values, x has rank {}",
                            rep.len(),
                            d.len()
                        ));
                    }
                    let out = d
                        .iter()
                        .zip(&rep)
                        .map(|(d, &k)| Ok(dims::mul(d, dims::extent(k, "repeat")?)))
                        .collect::<R<Vec<_>>>()?;
                    Shape(Some(out))
                }
                None => unknown_dims(d.len()),
            };
            carry_same_extent(x, shape)
        }
        Op::Pad(_) => pad(cx),
        Op::Resize(_) => resize(cx),
        Op::Shape(a) => {
            let x = cx.ty(0)?;
            let shape = match x.shape.rank() {
                None => unknown_dims(1),
                Some(r) => {
                    let r = r as i64;
                    let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r);
                    let (s, e) = (clampi(a.start), clampi(a.end.unwrap_or(r)));
                    Shape::fixed(&[(e - s).max(0) as usize])
                }
            };
            Ok(TensorType::new(DType::I64, shape))
        }
        Op::Size => {
            cx.ty(0)?;
            Ok(TensorType::new(DType::I64, Shape::scalar()))
        }
        Op::ConstantOfShape(a) => {
            cx.expect_dtype(0, "i64", |d| d == DType::I64)?;
            cx.expect_rank(0, 1)?;
            let shape = match cx.const_ints(0)? {
                Some(v) => Shape(Some(
                    v.iter()
                        .map(|&e| dims::extent(e, "shape value").map(Dim::Fixed))
                        .collect::<R<_>>()?,
                )),
                None => match cx.ty(0)?.shape.as_fixed() {
                    Some(k) => unknown_dims(k[0]),
                    None => Shape::unknown(),
                },
            };
            Ok(TensorType::new(a.dtype, shape))
        }
        Op::Range => range(cx),
        Op::DepthToSpace(a) => {
            let x = cx.ty(0)?;
            if a.mode != "DCR" && a.mode != "CRD" {
                return Err(format!("mode must be DCR or CRD, got `{}`", a.mode));
            }
            let b = a.blocksize;
            if b == 0 {
                return Err("blocksize must be ≥ 1".into());
            }
            cx.expect_rank(0, 4)?;
            let Some(d) = x.shape.dims() else {
                return Ok(TensorType { shape: unknown_dims(4), ..x.clone() });
            };
            let c = match &d[1] {
                Dim::Fixed(c) if c % (b * b) != 0 => {
                    return Err(format!("{c} channels are not divisible by blocksize² = {}", b * b))
                }
                Dim::Fixed(c) => Dim::Fixed(c / (b * b)),
                other if b == 1 => other.clone(),
                _ => unknown(),
            };
            let shape =
                Shape(Some(vec![d[0].clone(), c, dims::mul(&d[2], b), dims::mul(&d[3], b)]));
            carry(x, shape, |q| (q == 0).then_some(0))
        }
        other => Err(format!("{} is not a shape op", other.name())),
    }
}

trait DropAxisQuant {
    fn drop_axis_quant(self) -> Self;
}
impl DropAxisQuant for TensorType {
    /// Keeps per-tensor quantization only (used where axes cannot be followed).
    fn drop_axis_quant(mut self) -> TensorType {
        self.quant = self.quant.filter(|q| q.per_tensor().is_some());
        self
    }
}

/// `x`'s dtype and quantization with a new shape; per-axis/blocked quantization follows `map`
/// (old axis → new axis) and is an error where the axis does not survive.
pub(super) fn carry(
    x: &TensorType,
    shape: Shape,
    map: impl Fn(usize) -> Option<usize>,
) -> R<TensorType> {
    let quant = match &x.quant {
        None => None,
        Some(q @ Quant::Tensor { .. }) => Some(q.clone()),
        Some(Quant::Axis { axis, scales, zero_points }) => {
            let a = map(*axis).ok_or_else(|| lost_axis(*axis))?;
            Some(Quant::Axis { axis: a, scales: scales.clone(), zero_points: zero_points.clone() })
        }
        Some(Quant::Block { axis, block, scales, zero_points }) => {
            let a = map(*axis).ok_or_else(|| lost_axis(*axis))?;
            Some(Quant::Block {
                axis: a,
                block: *block,
                scales: scales.clone(),
                zero_points: zero_points.clone(),
            })
        }
    };
    Ok(TensorType { dtype: x.dtype, shape, quant })
}

fn lost_axis(a: usize) -> String {
    format!("the per-axis quantization on axis {a} does not survive this op")
}

/// [`carry`] where axes keep their index (aligned from the end when the rank grows) and must keep
/// their extent.
fn carry_same_extent(x: &TensorType, shape: Shape) -> R<TensorType> {
    let (Some(xd), Some(od)) = (x.shape.dims(), shape.dims()) else {
        return carry(x, shape.clone(), |_| None);
    };
    let off = od.len() as isize - xd.len() as isize;
    let (xd, od) = (xd.to_vec(), od.to_vec());
    carry(x, shape, move |a| {
        let b = usize::try_from(a as isize + off).ok()?;
        (od.get(b)? == &xd[a]).then_some(b)
    })
}

/// [`carry`] where an axis survives when every extent up to it is unchanged (Reshape, Flatten).
fn carry_prefix(x: &TensorType, shape: Shape) -> R<TensorType> {
    let xd = x.shape.dims().map(<[Dim]>::to_vec);
    let od = shape.dims().map(<[Dim]>::to_vec);
    carry(x, shape, move |a| {
        let (xd, od) = (xd.as_ref()?, od.as_ref()?);
        (od.len() > a && xd[..=a] == od[..=a]).then_some(a)
    })
}

fn reshape(cx: &Ctx<'_>, allowzero: bool) -> R<TensorType> {
    let x = cx.ty(0)?;
    cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
    cx.expect_rank(1, 1)?;
    let Some(v) = cx.const_ints(1)? else {
        let shape = match cx.ty(1)?.shape.as_fixed() {
            Some(k) => unknown_dims(k[0]),
            None => Shape::unknown(),
        };
        return carry_prefix(x, shape);
    };
    let xd = x.shape.dims();
    let mut out = Vec::with_capacity(v.len());
    let mut infer_at = None;
    for (i, &s) in v.iter().enumerate() {
        out.push(match s {
            -1 if infer_at.is_some() => return Err(format!("shape {v:?} has more than one -1")),
            -1 => {
                infer_at = Some(i);
                unknown()
            }
            0 if !allowzero => match xd {
                Some(d) => d.get(i).cloned().ok_or_else(|| {
                    format!("shape {v:?} copies axis {i}, x {} has no such axis", x.shape)
                })?,
                None => unknown(),
            },
            s if s < 0 => return Err(format!("shape {v:?} has the invalid value {s}")),
            s => Dim::Fixed(s as usize),
        });
    }
    if allowzero && infer_at.is_some() && v.contains(&0) {
        return Err(format!("shape {v:?} has both 0 and -1 with allowzero"));
    }
    if let Some(xd) = xd {
        let others: Vec<Dim> = out
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != infer_at)
            .map(|(_, d)| d.clone())
            .collect();
        match quotient(xd, &others) {
            Quotient::Exact(q) => {
                if let Some(i) = infer_at {
                    out[i] = Dim::Fixed(q);
                } else if q != 1 {
                    return Err(format!(
                        "cannot reshape {} to {v:?}: element counts differ",
                        x.shape
                    ));
                }
            }
            Quotient::Mismatch => {
                return Err(format!("cannot reshape {} to {v:?}: element counts differ", x.shape))
            }
            Quotient::Unknown => {}
        }
    }
    carry_prefix(x, Shape(Some(out)))
}

enum Quotient {
    Exact(usize),
    Mismatch,
    Unknown,
}

/// `Π num / Π den` with named symbols cancelled; `Unknown` when symbols or `?` remain.
fn quotient(num: &[Dim], den: &[Dim]) -> Quotient {
    let mut syms: Vec<&str> = Vec::new();
    let mut nf = 1usize;
    for d in num {
        match d {
            Dim::Fixed(n) => nf = nf.saturating_mul(*n),
            Dim::Sym(s) => syms.push(s),
        }
    }
    let mut df = 1usize;
    for d in den {
        match d {
            Dim::Fixed(n) => df = df.saturating_mul(*n),
            Dim::Sym(s) if s != "?" => match syms.iter().position(|x| x == s) {
                Some(p) => {
                    syms.swap_remove(p);
                }
                None => return Quotient::Unknown,
            },
            Dim::Sym(_) => return Quotient::Unknown,
        }
    }
    if !syms.is_empty() {
        return Quotient::Unknown;
    }
    if df == 0 {
        return if nf == 0 { Quotient::Unknown } else { Quotient::Mismatch };
    }
    if !nf.is_multiple_of(df) {
        Quotient::Mismatch
    } else {
        Quotient::Exact(nf / df)
    }
}

fn concat(cx: &Ctx<'_>, axis: i64) -> R<TensorType> {
    let n = cx.types.len();
    if n == 0 {
        return Err("needs at least one operand".into());
    }
    let first = cx.ty(0)?;
    let mut out: Option<Vec<Dim>> = None;
    let mut ax = 0usize;
    let mut same_quant = true;
    for i in 0..n {
        let t = cx.ty(i)?;
        cx.same_dtype(0, i)?;
        same_quant &= t.quant == first.quant;
        let Some(d) = t.shape.dims() else { continue };
        match &mut out {
            None => {
                ax = dims::axis(axis, d.len())?;
                out = Some(d.to_vec());
            }
            Some(o) => {
                if o.len() != d.len() {
                    return Err(format!(
                        "{} has rank {}, expected {}",
                        operand_label(cx.op, i),
                        d.len(),
                        o.len()
                    ));
                }
                for (j, (a, b)) in o.iter_mut().zip(d).enumerate() {
                    if j != ax {
                        *a = unify(a, b)
                            .map_err(|e| format!("{}: axis {j}: {e}", operand_label(cx.op, i)))?;
                    }
                }
            }
        }
    }
    let shape = match out {
        None => Shape::unknown(),
        Some(mut o) => {
            let mut sum = 0usize;
            let mut syms = Vec::new();
            for i in 0..n {
                match cx.ty(i)?.shape.dims() {
                    Some(d) => match &d[ax] {
                        Dim::Fixed(k) => sum += k,
                        s => syms.push(s.clone()),
                    },
                    None => syms.push(unknown()),
                }
            }
            o[ax] = match (syms.len(), sum) {
                (0, s) => Dim::Fixed(s),
                (1, 0) => syms.pop().expect("one"),
                _ => unknown(),
            };
            Shape(Some(o))
        }
    };
    if !same_quant {
        return Ok(TensorType::new(first.dtype, shape));
    }
    carry(first, shape, |q| (q != ax).then_some(q))
}

/// Split into the node's results: sizes from the constant operand, else equal parts
/// (the last one smaller when the extent does not divide, as ONNX opset 18).
pub(super) fn split(cx: &Ctx<'_>) -> R<Vec<TensorType>> {
    let Op::Split(a) = cx.op else { return Err("not a Split".into()) };
    let x = cx.ty(0)?;
    let n = cx.declared.len();
    if n == 0 {
        return Err("Split needs at least one declared result".into());
    }
    let Some(d) = x.shape.dims() else {
        return (0..n).map(|_| carry(x, Shape::unknown(), |_| None)).collect();
    };
    let ax = dims::axis(a.axis, d.len())?;
    let sizes: Vec<Dim> = match (cx.opt_ty(1), cx.const_ints(1)?) {
        (Some(_), Some(v)) => {
            if v.len() != n {
                return Err(format!("split has {} sizes for {n} results", v.len()));
            }
            let sizes = v.iter().map(|&s| dims::extent(s, "split size")).collect::<R<Vec<_>>>()?;
            if let Dim::Fixed(e) = d[ax] {
                if sizes.iter().sum::<usize>() != e {
                    return Err(format!("split sizes {v:?} do not add up to the extent {e}"));
                }
            }
            sizes.into_iter().map(Dim::Fixed).collect()
        }
        (Some(_), None) => vec![unknown(); n],
        (None, _) => match d[ax] {
            Dim::Fixed(e) => {
                let chunk = e.div_ceil(n);
                if chunk * (n - 1) > e {
                    return Err(format!("extent {e} cannot be split into {n} parts"));
                }
                (0..n)
                    .map(|i| Dim::Fixed(if i + 1 < n { chunk } else { e - chunk * (n - 1) }))
                    .collect()
            }
            _ if n == 1 => vec![d[ax].clone()],
            _ => vec![unknown(); n],
        },
    };
    sizes
        .into_iter()
        .map(|s| {
            let mut o = d.to_vec();
            o[ax] = s;
            carry(x, Shape(Some(o)), |q| (q != ax).then_some(q))
        })
        .collect()
}

fn slice(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    for i in 1..5 {
        if cx.opt_ty(i).is_some() {
            cx.expect_dtype(i, "an integer tensor", |d| matches!(d, DType::I64 | DType::I32))?;
            cx.expect_rank(i, 1)?;
        }
    }
    let Some(d) = x.shape.dims() else { return carry(x, Shape::unknown(), |_| None) };
    let r = d.len();
    let (starts, ends) = (cx.const_ints(1)?, cx.const_ints(2)?);
    let axes = match cx.opt_ty(3) {
        None => None,
        Some(_) => match cx.const_ints(3)? {
            Some(a) => Some(a),
            None => return carry_same_extent(x, unknown_dims(r)),
        },
    };
    let steps = match cx.opt_ty(4) {
        None => None,
        Some(_) => match cx.const_ints(4)? {
            Some(s) => Some(s),
            None => return carry_same_extent(x, unknown_dims(r)),
        },
    };
    let (Some(starts), Some(ends)) = (starts, ends) else {
        let mut out = d.to_vec();
        match &axes {
            Some(axes) => {
                for &a in axes {
                    out[dims::axis(a, r)?] = unknown();
                }
            }
            None => out = vec![unknown(); r],
        }
        return carry_same_extent(x, Shape(Some(out)));
    };
    let k = starts.len();
    if ends.len() != k {
        return Err(format!("starts has {k} values, ends {}", ends.len()));
    }
    let axes = axes.unwrap_or_else(|| (0..k as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; k]);
    if axes.len() != k || steps.len() != k {
        return Err(format!("starts, ends, axes and steps must have the same length ({k})"));
    }
    let mut out = d.to_vec();
    let mut seen = vec![false; r];
    for i in 0..k {
        let ax = dims::axis(axes[i], r)?;
        if std::mem::replace(&mut seen[ax], true) {
            return Err(format!("axis {} is repeated", axes[i]));
        }
        out[ax] = slice_extent(&d[ax], starts[i], ends[i], steps[i])?;
    }
    carry_same_extent(x, Shape(Some(out)))
}

/// The extent of `[start, end)` by `step` on an axis of extent `d` (ONNX clamping rules).
fn slice_extent(d: &Dim, start: i64, end: i64, step: i64) -> R<Dim> {
    if step == 0 {
        return Err("slice steps must not be 0".into());
    }
    let Dim::Fixed(n) = d else {
        // Whole-axis slices keep a symbolic extent.
        let whole = (step == 1 && start == 0 && end >= i32::MAX as i64)
            || (step == -1 && start == -1 && end <= i32::MIN as i64);
        return Ok(if whole { d.clone() } else { unknown() });
    };
    let n = *n as i64;
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s = s.saturating_add(n);
    }
    if e < 0 {
        e = e.saturating_add(n);
    }
    let len = if step > 0 {
        let (s, e) = (s.clamp(0, n), e.clamp(0, n));
        if e > s {
            (e - s + step - 1) / step
        } else {
            0
        }
    } else {
        let (s, e) = (s.clamp(0, n - 1), e.clamp(-1, n - 1));
        if s > e {
            (s - e + (-step) - 1) / (-step)
        } else {
            0
        }
    };
    Ok(Dim::Fixed(len.max(0) as usize))
}

fn squeeze(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    let Some(d) = x.shape.dims() else { return carry(x, Shape::unknown(), |_| None) };
    let r = d.len();
    let keep: Vec<bool> = match (cx.opt_ty(1), cx.const_ints(1)?) {
        (None, _) => {
            if d.iter().any(|e| matches!(e, Dim::Sym(_))) {
                // A symbol may or may not be 1: the rank is unknown.
                return carry(x, Shape::unknown(), |_| None);
            }
            d.iter().map(|e| *e != Dim::Fixed(1)).collect()
        }
        (Some(t), None) => {
            return Ok(match t.shape.as_fixed() {
                Some(k) if k.len() == 1 && k[0] <= r => carry(x, unknown_dims(r - k[0]), |_| None)?,
                _ => carry(x, Shape::unknown(), |_| None)?,
            })
        }
        (Some(_), Some(axes)) => {
            let mut keep = vec![true; r];
            for a in axes {
                let ax = dims::axis(a, r)?;
                if matches!(d[ax], Dim::Fixed(e) if e != 1) {
                    return Err(format!(
                        "axis {a} has extent {}, only extent-1 axes squeeze",
                        d[ax]
                    ));
                }
                keep[ax] = false;
            }
            keep
        }
    };
    let shape =
        Shape(Some(d.iter().zip(&keep).filter(|(_, &k)| k).map(|(e, _)| e.clone()).collect()));
    carry(x, shape, |a| keep[a].then(|| keep[..a].iter().filter(|&&k| k).count()))
}

fn unsqueeze(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
    let Some(d) = x.shape.dims() else { return carry(x, Shape::unknown(), |_| None) };
    let Some(axes) = cx.const_ints(1)? else {
        return Ok(match cx.ty(1)?.shape.as_fixed() {
            Some(k) if k.len() == 1 => carry(x, unknown_dims(d.len() + k[0]), |_| None)?,
            _ => carry(x, Shape::unknown(), |_| None)?,
        });
    };
    let r = d.len() + axes.len();
    let mut inserted = vec![false; r];
    for &a in &axes {
        let ax = dims::axis(a, r)?;
        if std::mem::replace(&mut inserted[ax], true) {
            return Err(format!("axis {a} is repeated"));
        }
    }
    let mut src = d.iter();
    let mut map = Vec::with_capacity(d.len());
    let mut out = Vec::with_capacity(r);
    for (i, &ins) in inserted.iter().enumerate() {
        if ins {
            out.push(Dim::Fixed(1));
        } else {
            out.push(src.next().expect("counted").clone());
            map.push(i);
        }
    }
    carry(x, Shape(Some(out)), |a| map.get(a).copied())
}

fn pad(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    cx.expect_dtype(1, "i64", |d| d == DType::I64)?;
    if let Some(v) = cx.opt_ty(2) {
        if v.dtype != x.dtype {
            return Err(format!(
                "constant_value must have the dtype of x ({}), got {}",
                x.dtype, v.dtype
            ));
        }
    }
    let Some(d) = x.shape.dims() else { return carry(x, Shape::unknown(), |_| None) };
    let r = d.len();
    let axes = match cx.opt_ty(3) {
        None => Some((0..r as i64).collect::<Vec<_>>()),
        Some(_) => cx.const_ints(3)?,
    };
    let (Some(pads), Some(axes)) = (cx.const_ints(1)?, axes) else {
        return carry_same_extent(x, unknown_dims(r));
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!("pads has {} values, expected {}", pads.len(), 2 * axes.len()));
    }
    let mut out = d.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        let ax = dims::axis(a, r)?;
        let delta = pads[i] + pads[axes.len() + i];
        out[ax] = match &d[ax] {
            Dim::Fixed(n) => {
                let e = *n as i64 + delta;
                if e < 0 {
                    return Err(format!(
                        "pads {pads:?} remove more than the extent {n} of axis {ax}"
                    ));
                }
                Dim::Fixed(e as usize)
            }
            s if delta == 0 => s.clone(),
            _ => unknown(),
        };
    }
    carry_same_extent(x, Shape(Some(out)))
}

fn resize(cx: &Ctx<'_>) -> R<TensorType> {
    let x = cx.ty(0)?;
    let Some(d) = x.shape.dims() else { return carry(x, Shape::unknown(), |_| None) };
    let r = d.len();
    // An operand that is absent or an empty tensor does not count.
    let given = |i: usize| cx.opt_ty(i).is_some_and(|t| t.shape.numel() != Some(0));
    let (has_scales, has_sizes) = (given(2), given(3));
    if has_scales && has_sizes {
        return Err("scales and sizes must not both be given".into());
    }
    let shape = if has_sizes {
        cx.expect_dtype(3, "i64", |d| d == DType::I64)?;
        match cx.const_ints(3)? {
            Some(v) if v.len() != r => {
                return Err(format!("sizes has {} values, x has rank {r}", v.len()))
            }
            Some(v) => Shape(Some(
                v.iter().map(|&e| dims::extent(e, "size").map(Dim::Fixed)).collect::<R<_>>()?,
            )),
            None => unknown_dims(r),
        }
    } else if has_scales {
        cx.expect_dtype(2, "a float tensor", DType::is_float)?;
        match cx.const_floats(2) {
            Some(v) if v.len() != r => {
                return Err(format!("scales has {} values, x has rank {r}", v.len()))
            }
            Some(v) => {
                let out = d
                    .iter()
                    .zip(&v)
                    .map(|(e, &s)| {
                        if !(s > 0.0 && s.is_finite()) {
                            return Err(format!("scale {s} must be finite and > 0"));
                        }
                        Ok(match e {
                            Dim::Fixed(n) => Dim::Fixed((*n as f64 * s).floor() as usize),
                            _ if s == 1.0 => e.clone(),
                            _ => unknown(),
                        })
                    })
                    .collect::<R<_>>()?;
                Shape(Some(out))
            }
            None => unknown_dims(r),
        }
    } else {
        return Err("one of scales and sizes must be given".into());
    };
    carry_same_extent(x, shape)
}

fn range(cx: &Ctx<'_>) -> R<TensorType> {
    let t = cx.ty(0)?;
    for i in 0..3 {
        cx.same_dtype(0, i)?;
        if cx.ty(i)?.shape.numel().is_some_and(|n| n != 1) {
            return Err(format!("{} must be a scalar", operand_label(cx.op, i)));
        }
    }
    let dim = match (cx.konst(0), cx.konst(1), cx.konst(2)) {
        (Some(s), Some(l), Some(dl)) => {
            let n = if t.dtype.is_float() {
                let (s, l, dl) = (s.to_f64_vec()[0], l.to_f64_vec()[0], dl.to_f64_vec()[0]);
                if dl == 0.0 {
                    return Err("delta must not be 0".into());
                }
                ((l - s) / dl).ceil().max(0.0) as usize
            } else {
                let v = |x: &crate::Tensor| x.to_i64_vec().map(|v| v[0] as i128);
                let (Some(s), Some(l), Some(dl)) = (v(s), v(l), v(dl)) else {
                    return Err("start, limit and delta must be numbers".into());
                };
                if dl == 0 {
                    return Err("delta must not be 0".into());
                }
                let diff = l - s;
                let q = diff / dl + i128::from(diff % dl != 0 && (diff < 0) == (dl < 0));
                q.max(0) as usize
            };
            Dim::Fixed(n)
        }
        _ => unknown(),
    };
    Ok(TensorType::new(t.dtype, Shape(Some(vec![dim]))))
}
