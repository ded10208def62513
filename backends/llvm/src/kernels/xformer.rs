//! Transformer-family kernels (to be written): batched matmul, strided copy, gather, cast,
//! layer norm, softmax, float math and reductions.

use super::Built;
use crate::emit::{Cg, R};
use qcc_lowering::{LoweredModel, Step};

/// The step's kernel if it belongs to the transformer family.
pub(crate) fn build<'ctx>(
    _cg: &mut Cg<'ctx>,
    _l: &LoweredModel,
    _st: &Step,
    _name: &str,
    _step: usize,
    _status: usize,
) -> R<Option<Built<'ctx>>> {
    Ok(None)
}
