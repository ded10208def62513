//! CNN-family kernels (to be written): im2col, direct convolution, relayout, quantized binary,
//! table lookup, global average pooling, 2-d pooling and f32 activations.

use super::Built;
use crate::emit::{Cg, R};
use qcc_lowering::{LoweredModel, Step};

/// The step's kernel if it belongs to the CNN family.
pub(crate) fn build<'ctx>(
    _cg: &mut Cg<'ctx>,
    _l: &LoweredModel,
    _st: &Step,
    _name: &str,
) -> R<Option<Built<'ctx>>> {
    Ok(None)
}
