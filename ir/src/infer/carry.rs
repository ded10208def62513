//! How data-movement ops carry their operand's quantization: per-tensor parameters always,
//! per-axis and blocked ones when the quantized axis survives with its extent (its index
//! remapped); otherwise inference reports that the axis is lost.

use super::R;
use crate::types::{Dim, Quant, Shape, TensorType};

/// Keeps per-tensor quantization only.
pub(super) trait DropAxisQuant {
    /// Drops per-axis and blocked quantization.
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
    if let (Some(Quant::Axis { axis, .. } | Quant::Block { axis, .. }), Some(r)) =
        (&x.quant, x.shape.rank())
    {
        if *axis >= r {
            return Err(format!("quantization axis {axis} is out of range for rank {r}"));
        }
    }
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
pub(super) fn carry_same_extent(x: &TensorType, shape: Shape) -> R<TensorType> {
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
pub(super) fn carry_prefix(x: &TensorType, shape: Shape) -> R<TensorType> {
    let xd = x.shape.dims().map(<[Dim]>::to_vec);
    let od = shape.dims().map(<[Dim]>::to_vec);
    carry(x, shape, move |a| {
        let (xd, od) = (xd.as_ref()?, od.as_ref()?);
        (od.len() > a && xd[..=a] == od[..=a]).then_some(a)
    })
}
