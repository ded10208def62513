//! Inference for shape ops: Reshape, Flatten, Transpose, Gather, Squeeze/Unsqueeze, Expand,
//! Tile, Shape, Size, ConstantOfShape, Range, DepthToSpace (Concat, Split, Slice, Pad and Resize
//! are in `movement`). Quantization is carried as `carry` describes.

use super::carry::{carry, carry_prefix, carry_same_extent, DropAxisQuant};
use super::dims::{self, broadcast, unknown, unknown_dims};
use super::movement::{concat, pad, resize, slice};
use super::{operand_label, Ctx, R};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{Dim, Shape, TensorType};

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
            if b == 0 || b.checked_mul(b).is_none() {
                return Err(format!("blocksize {b} is out of range"));
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
