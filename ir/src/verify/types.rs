//! Type-level checks of the verifier: quantization parameters, constants against their node's
//! type, and agreement of declared with inferred types.

use crate::tensor::{Data, Tensor};
use crate::types::{Dim, Quant, Shape, TensorType};
use crate::DType;

/// True when a declared type agrees with an inferred one: same dtype and quantization, ranks
/// equal when both known, extents equal unless one of them is symbolic.
pub(super) fn agrees(declared: &TensorType, inferred: &TensorType) -> bool {
    if declared.dtype != inferred.dtype || declared.quant != inferred.quant {
        return false;
    }
    match (declared.shape.dims(), inferred.shape.dims()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| match (x, y) {
                    (Dim::Fixed(p), Dim::Fixed(q)) => p == q,
                    _ => true,
                })
        }
        _ => true,
    }
}

/// Problems with a type's quantization parameters.
pub fn quant_problems(t: &TensorType) -> Vec<String> {
    let mut out = Vec::new();
    let Some(q) = &t.quant else { return out };
    if !t.dtype.is_quantizable() {
        out.push(format!("dtype {} cannot carry quantization parameters", t.dtype));
        return out;
    }
    if let Some(s) = q.scales().iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        out.push(format!("scale {s} must be finite and > 0"));
    }
    let (lo, hi) = t.dtype.int_range().expect("quantizable dtypes are integers");
    if let Some(z) = q.zero_points().iter().find(|&&z| (z as i64) < lo || (z as i64) > hi) {
        out.push(format!("zero point {z} is outside the range of {} [{lo}, {hi}]", t.dtype));
    }
    let dims = t.shape.dims();
    match q {
        Quant::Tensor { .. } => {}
        Quant::Axis { axis, scales, zero_points } => {
            if zero_points.len() != scales.len() {
                out.push(format!("{} scales but {} zero points", scales.len(), zero_points.len()));
            }
            if let Some(d) = dims {
                match d.get(*axis) {
                    None => out.push(format!("quantization axis {axis} is not < rank {}", d.len())),
                    Some(Dim::Fixed(n)) if *n != scales.len() => {
                        out.push(format!("{} scales for axis {axis} of extent {n}", scales.len()))
                    }
                    _ => {}
                }
            }
        }
        Quant::Block { axis, block, scales, zero_points } => {
            if zero_points.len() != scales.len() {
                out.push(format!("{} scales but {} zero points", scales.len(), zero_points.len()));
            }
            if *block == 0 {
                out.push("block size must be ≥ 1".into());
            } else if let Some(d) = dims {
                if *axis >= d.len() {
                    out.push(format!("quantization axis {axis} is not < rank {}", d.len()));
                } else if let Some(f) = Shape(Some(d.to_vec())).as_fixed() {
                    let want = f
                        .iter()
                        .enumerate()
                        .map(|(i, &e)| if i == *axis { e.div_ceil(*block) } else { e })
                        .try_fold(1usize, |a, e| a.checked_mul(e));
                    if let Some(want) = want.filter(|&w| w != scales.len()) {
                        out.push(format!(
                            "blocks of {block} on axis {axis} of {} need {want} scales, got {}",
                            t.shape,
                            scales.len()
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Problems with a constant tensor as the value of a node of type `ty`.
pub(super) fn constant_problems(t: &Tensor, ty: &TensorType) -> Vec<String> {
    let mut out = Vec::new();
    if t.dtype != ty.dtype {
        out.push(format!("constant has dtype {}, the node's type is {ty}", t.dtype));
    }
    let storage = match t.dtype {
        DType::I4 | DType::I2 => DType::I8,
        DType::U4 | DType::U2 => DType::U8,
        d => d,
    };
    if t.data.natural_dtype() != storage {
        out.push(format!(
            "constant of dtype {} is stored as {} elements",
            t.dtype,
            t.data.natural_dtype()
        ));
    }
    if crate::tensor::numel(&t.shape).ok() != Some(t.data.len()) {
        out.push(format!("constant of shape {:?} holds {} elements", t.shape, t.data.len()));
    }
    if t.dtype.is_subbyte_int() {
        let (lo, hi) = t.dtype.int_range().expect("integer");
        let bad = match &t.data {
            Data::I8(v) => v.iter().map(|&x| x as i64).find(|x| *x < lo || *x > hi),
            Data::U8(v) => v.iter().map(|&x| x as i64).find(|x| *x < lo || *x > hi),
            _ => None,
        };
        if let Some(x) = bad {
            out.push(format!("constant value {x} is outside the range of {}", t.dtype));
        }
    }
    if ty.shape != Shape::fixed(&t.shape) {
        out.push(format!("constant has shape {:?}, the node's type is {ty}", t.shape));
    }
    out
}
