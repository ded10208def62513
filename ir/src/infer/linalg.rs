//! Inference for convolutions, pooling, Gemm and MatMul (shared with their quantized forms).

use super::dims::{self, broadcast, compatible, unknown};
use super::{operand_label, Ctx, R};
use crate::ops::{AutoPad, ConvAttrs, ConvTransposeAttrs, Op, PoolAttrs};
use crate::types::{Dim, Shape, TensorType};

pub(super) fn infer(cx: &Ctx<'_>) -> R<TensorType> {
    match cx.op {
        Op::Conv(a) => {
            cx.same_dtype(0, 1)?;
            let x = cx.ty(0)?;
            let shape = conv_shape(&x.shape, &cx.ty(1)?.shape, a)?;
            check_bias(cx, 2, &shape)?;
            Ok(TensorType::new(x.dtype, shape))
        }
        Op::ConvTranspose(a) => {
            cx.same_dtype(0, 1)?;
            let x = cx.ty(0)?;
            let shape = conv_transpose_shape(&x.shape, &cx.ty(1)?.shape, a)?;
            check_bias(cx, 2, &shape)?;
            Ok(TensorType::new(x.dtype, shape))
        }
        Op::MaxPool(a) | Op::AveragePool(a) => {
            let x = cx.ty(0)?;
            Ok(x.with_shape(pool_shape(&x.shape, a)?))
        }
        Op::GlobalAveragePool | Op::GlobalMaxPool => {
            let x = cx.ty(0)?;
            Ok(x.with_shape(global_pool_shape(&x.shape)?))
        }
        Op::MatMul => {
            cx.same_dtype(0, 1)?;
            let a = cx.ty(0)?;
            Ok(TensorType::new(a.dtype, matmul_shape(&a.shape, &cx.ty(1)?.shape)?))
        }
        Op::Gemm(g) => {
            cx.same_dtype(0, 1)?;
            let (a, b) = (cx.ty(0)?, cx.ty(1)?);
            cx.expect_rank(0, 2)?;
            cx.expect_rank(1, 2)?;
            let pick = |s: &Shape, t: bool| -> (Dim, Dim) {
                match s.dims() {
                    Some(d) if t => (d[1].clone(), d[0].clone()),
                    Some(d) => (d[0].clone(), d[1].clone()),
                    None => (unknown(), unknown()),
                }
            };
            let (m, ka) = pick(&a.shape, g.trans_a);
            let (kb, n) = pick(&b.shape, g.trans_b);
            if !compatible(&ka, &kb) {
                return Err(format!(
                    "inner extents differ: a {} (trans_a={}) and b {} (trans_b={})",
                    a.shape, g.trans_a, b.shape, g.trans_b
                ));
            }
            let out = Shape(Some(vec![m, n]));
            if let Some(c) = cx.opt_ty(2) {
                let bc = broadcast(&[&out, &c.shape])?;
                if bc.rank().is_some_and(|r| r != 2) {
                    return Err(format!("c {} does not broadcast to {out}", c.shape));
                }
            }
            Ok(TensorType::new(a.dtype, out))
        }
        other => Err(format!("{} is not a linear-algebra op", other.name())),
    }
}

/// Checks that a bias operand, if present, is 1-d with one element per output channel.
pub(super) fn check_bias(cx: &Ctx<'_>, slot: usize, out: &Shape) -> R<()> {
    let Some(b) = cx.opt_ty(slot) else { return Ok(()) };
    cx.expect_rank(slot, 1)?;
    if let (Some(bd), Some(od)) = (b.shape.dims(), out.dims()) {
        if !compatible(&bd[0], &od[1]) {
            return Err(format!(
                "{} has {} elements, the output has {} channels",
                operand_label(cx.op, slot),
                bd[0],
                od[1]
            ));
        }
    }
    Ok(())
}

fn attr_or(v: &[usize], n: usize, default: usize, name: &str) -> R<Vec<usize>> {
    match v.len() {
        0 => Ok(vec![default; n]),
        l if l == n => Ok(v.to_vec()),
        l => Err(format!("{name} has {l} values, expected {n}")),
    }
}

fn pads_of(v: &[usize], n: usize) -> R<Vec<usize>> {
    match v.len() {
        0 => Ok(vec![0; 2 * n]),
        l if l == 2 * n => Ok(v.to_vec()),
        l => Err(format!("pads has {l} values, expected {}", 2 * n)),
    }
}

/// One output extent of a sliding window (ONNX conv/pool shape inference).
#[allow(clippy::too_many_arguments)]
fn window_out(
    input: &Dim,
    k: Option<usize>,
    stride: usize,
    dil: usize,
    pb: usize,
    pe: usize,
    auto_pad: AutoPad,
    ceil_mode: bool,
) -> R<Dim> {
    if stride == 0 || dil == 0 {
        return Err("strides and dilations must be ≥ 1".into());
    }
    if matches!(auto_pad, AutoPad::SameUpper | AutoPad::SameLower) {
        return Ok(match input {
            Dim::Fixed(n) => Dim::Fixed(n.div_ceil(stride)),
            _ if stride == 1 => input.clone(),
            _ => unknown(),
        });
    }
    let (pb, pe) = if auto_pad == AutoPad::Valid { (0, 0) } else { (pb, pe) };
    let (Dim::Fixed(n), Some(k)) = (input, k) else { return Ok(unknown()) };
    if k == 0 {
        return Err("kernel extents must be ≥ 1".into());
    }
    let eff_k = dil * (k - 1) + 1;
    let total = n + pb + pe;
    if total < eff_k {
        return Err(format!(
            "the window ({eff_k} with dilation) is larger than the padded input ({total})"
        ));
    }
    let mut out = (total - eff_k + if ceil_mode { stride - 1 } else { 0 }) / stride + 1;
    // The last window must start inside the input or the left padding.
    if ceil_mode && (out - 1) * stride >= n + pb {
        out -= 1;
    }
    Ok(Dim::Fixed(out))
}

/// Output shape of an N-d convolution `x [N, C, S…]`, `w [M, C/group, K…]` → `[N, M, O…]`.
pub(super) fn conv_shape(x: &Shape, w: &Shape, a: &ConvAttrs) -> R<Shape> {
    let wd = w.dims();
    let Some(xd) = x.dims() else {
        return Ok(match wd {
            Some(wd) if wd.len() >= 3 => {
                let mut v = vec![unknown(); wd.len()];
                v[1] = wd[0].clone();
                Shape(Some(v))
            }
            _ => Shape::unknown(),
        });
    };
    if xd.len() < 3 {
        return Err(format!("x must have rank ≥ 3 (N, C, spatial…), got {x}"));
    }
    let sp = xd.len() - 2;
    if let Some(wd) = wd {
        if wd.len() != xd.len() {
            return Err(format!("w {w} must have the rank of x {x}"));
        }
    }
    let group = a.group.max(1);
    let kernel: Vec<Option<usize>> = if a.kernel_shape.is_empty() {
        match wd {
            Some(wd) => wd[2..].iter().map(Dim::fixed).collect(),
            None => vec![None; sp],
        }
    } else {
        attr_or(&a.kernel_shape, sp, 1, "kernel_shape")?.into_iter().map(Some).collect()
    };
    if let Some(wd) = wd {
        for (i, k) in kernel.iter().enumerate() {
            if let (Some(k), Some(wk)) = (k, wd[2 + i].fixed()) {
                if *k != wk {
                    return Err(format!("kernel_shape {:?} does not match w {w}", a.kernel_shape));
                }
            }
        }
        let c_per_group = dims::mul(&wd[1], group);
        if !compatible(&xd[1], &c_per_group) {
            return Err(format!(
                "x has {} channels, w {w} with group {group} expects {c_per_group}",
                xd[1]
            ));
        }
        if let Some(m) = wd[0].fixed() {
            if m % group != 0 {
                return Err(format!("{m} output channels are not divisible by group {group}"));
            }
        }
    }
    let strides = attr_or(&a.strides, sp, 1, "strides")?;
    let dil = attr_or(&a.dilations, sp, 1, "dilations")?;
    let pads = pads_of(&a.pads, sp)?;
    let mut out = vec![xd[0].clone(), wd.map_or_else(unknown, |w| w[0].clone())];
    for i in 0..sp {
        out.push(window_out(
            &xd[2 + i],
            kernel[i],
            strides[i],
            dil[i],
            pads[i],
            pads[sp + i],
            a.auto_pad,
            false,
        )?);
    }
    Ok(Shape(Some(out)))
}

/// Output shape of a transposed convolution, `w [C, M/group, K…]` → `[N, M, O…]`.
pub(super) fn conv_transpose_shape(x: &Shape, w: &Shape, a: &ConvTransposeAttrs) -> R<Shape> {
    let (Some(xd), Some(wd)) = (x.dims(), w.dims()) else { return Ok(Shape::unknown()) };
    if xd.len() < 3 || wd.len() != xd.len() {
        return Err(format!("x {x} and w {w} must have the same rank ≥ 3"));
    }
    let sp = xd.len() - 2;
    let c = &a.conv;
    let group = c.group.max(1);
    if !compatible(&xd[1], &wd[0]) {
        return Err(format!("x has {} channels, w {w} expects {}", xd[1], wd[0]));
    }
    let kernel: Vec<Option<usize>> = if c.kernel_shape.is_empty() {
        wd[2..].iter().map(Dim::fixed).collect()
    } else {
        attr_or(&c.kernel_shape, sp, 1, "kernel_shape")?.into_iter().map(Some).collect()
    };
    let strides = attr_or(&c.strides, sp, 1, "strides")?;
    let dil = attr_or(&c.dilations, sp, 1, "dilations")?;
    let pads = pads_of(&c.pads, sp)?;
    let opad = attr_or(&a.output_padding, sp, 0, "output_padding")?;
    let mut out = vec![xd[0].clone(), dims::mul(&wd[1], group)];
    if !a.output_shape.is_empty() {
        let os = &a.output_shape;
        // Either the spatial extents or the full shape.
        let spatial = if os.len() == sp {
            os.as_slice()
        } else if os.len() == sp + 2 {
            &os[2..]
        } else {
            return Err(format!("output_shape has {} values, expected {sp}", os.len()));
        };
        out.extend(spatial.iter().map(|&d| Dim::Fixed(d)));
        return Ok(Shape(Some(out)));
    }
    for i in 0..sp {
        let d = match (&xd[2 + i], kernel[i]) {
            (Dim::Fixed(n), _) if matches!(c.auto_pad, AutoPad::SameUpper | AutoPad::SameLower) => {
                Dim::Fixed(n * strides[i])
            }
            (Dim::Fixed(n), Some(k)) => {
                let (pb, pe) =
                    if c.auto_pad == AutoPad::Valid { (0, 0) } else { (pads[i], pads[sp + i]) };
                let full = strides[i] * (n.max(&1) - 1) + opad[i] + dil[i] * (k.max(1) - 1) + 1;
                if *n == 0 {
                    Dim::Fixed(0)
                } else {
                    Dim::Fixed(full.checked_sub(pb + pe).ok_or_else(|| {
                        format!("pads {:?} exceed the output extent {full}", c.pads)
                    })?)
                }
            }
            _ => unknown(),
        };
        out.push(d);
    }
    Ok(Shape(Some(out)))
}

/// Output shape of MaxPool/AveragePool.
pub(super) fn pool_shape(x: &Shape, a: &PoolAttrs) -> R<Shape> {
    let Some(xd) = x.dims() else { return Ok(Shape::unknown()) };
    if xd.len() < 3 {
        return Err(format!("x must have rank ≥ 3 (N, C, spatial…), got {x}"));
    }
    let sp = xd.len() - 2;
    if a.kernel_shape.len() != sp {
        return Err(format!("kernel_shape must have {sp} values, got {:?}", a.kernel_shape));
    }
    let strides = attr_or(&a.strides, sp, 1, "strides")?;
    let dil = attr_or(&a.dilations, sp, 1, "dilations")?;
    let pads = pads_of(&a.pads, sp)?;
    let mut out = vec![xd[0].clone(), xd[1].clone()];
    for i in 0..sp {
        out.push(window_out(
            &xd[2 + i],
            Some(a.kernel_shape[i]),
            strides[i],
            dil[i],
            pads[i],
            pads[sp + i],
            a.auto_pad,
            a.ceil_mode,
        )?);
    }
    Ok(Shape(Some(out)))
}

/// Output shape of a global pool: `[N, C, 1, …]`.
pub(super) fn global_pool_shape(x: &Shape) -> R<Shape> {
    let Some(xd) = x.dims() else { return Ok(Shape::unknown()) };
    if xd.len() < 3 {
        return Err(format!("x must have rank ≥ 3 (N, C, spatial…), got {x}"));
    }
    let mut out = xd[..2].to_vec();
    out.extend(std::iter::repeat_n(Dim::Fixed(1), xd.len() - 2));
    Ok(Shape(Some(out)))
}

/// Numpy `matmul` shape: 1-d operands are promoted and the added axis removed again; batch
/// axes broadcast.
pub(super) fn matmul_shape(a: &Shape, b: &Shape) -> R<Shape> {
    let (Some(ad), Some(bd)) = (a.dims(), b.dims()) else { return Ok(Shape::unknown()) };
    if ad.is_empty() || bd.is_empty() {
        return Err(format!("matmul operands must have rank ≥ 1, got {a} and {b}"));
    }
    let (ka, m, ab) = match ad.len() {
        1 => (&ad[0], None, &ad[..0]),
        r => (&ad[r - 1], Some(&ad[r - 2]), &ad[..r - 2]),
    };
    let (kb, n, bb) = match bd.len() {
        1 => (&bd[0], None, &bd[..0]),
        r => (&bd[r - 2], Some(&bd[r - 1]), &bd[..r - 2]),
    };
    if !compatible(ka, kb) {
        return Err(format!("inner extents differ: {a} × {b}"));
    }
    let batch = broadcast(&[&Shape(Some(ab.to_vec())), &Shape(Some(bb.to_vec()))])?;
    let mut out = batch.0.expect("known rank");
    out.extend(m.cloned());
    out.extend(n.cloned());
    Ok(Shape(Some(out)))
}
