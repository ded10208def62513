//! Inference for data-movement ops that cut or join along axes: Concat, Split, Slice, Pad,
//! Resize.

use super::carry::{carry, carry_same_extent};
use super::dims::{self, unify, unknown, unknown_dims};
use super::{operand_label, Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Dim, Shape, TensorType};

pub(super) fn concat(cx: &Ctx<'_>, axis: i64) -> R<TensorType> {
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

pub(super) fn slice(cx: &Ctx<'_>) -> R<TensorType> {
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
    // i128 throughout: starts/ends are often ±i64::MAX and steps may be i64::MIN.
    let n = *n as i128;
    let (mut s, mut e, step) = (start as i128, end as i128, step as i128);
    if s < 0 {
        s += n;
    }
    if e < 0 {
        e += n;
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
            (s - e - step - 1) / -step
        } else {
            0
        }
    };
    Ok(Dim::Fixed(len.max(0) as usize))
}

pub(super) fn pad(cx: &Ctx<'_>) -> R<TensorType> {
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
        let delta = pads[i] as i128 + pads[axes.len() + i] as i128;
        out[ax] = match &d[ax] {
            Dim::Fixed(n) => {
                let e = *n as i128 + delta;
                if e < 0 {
                    return Err(format!(
                        "pads {pads:?} remove more than the extent {n} of axis {ax}"
                    ));
                }
                Dim::Fixed(
                    usize::try_from(e).map_err(|_| format!("pads {pads:?} overflow axis {ax}"))?,
                )
            }
            s if delta == 0 => s.clone(),
            _ => unknown(),
        };
    }
    carry_same_extent(x, Shape(Some(out)))
}

pub(super) fn resize(cx: &Ctx<'_>) -> R<TensorType> {
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
