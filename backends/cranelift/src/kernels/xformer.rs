//! Dispatch of the transformer-family kernels (movement, normalization, math, runtime matmul,
//! quantized binaries) and of the float-op family ([`fops`]: comparisons, Where, ArgMax/ArgMin,
//! LogSoftmax, Resize) for [`crate::model`]: the function, the constant buffers passed after
//! the step's inputs, and whether the kernel reports through the status word.

use super::{bmm, fops, math, movement, norm};
use crate::gemm::pack::AlignedBytes;
use crate::BackendError;
use cranelift_codegen::ir::Function;
use cranelift_codegen::isa::TargetIsa;
use qcc_lowering::{Kernel, Step};

/// What a transformer kernel needs at run time besides its inputs and output.
pub(crate) struct Built {
    /// The kernel.
    pub func: Function,
    /// Constant buffers passed (as absolute pointers) after the inputs.
    pub extra: Vec<AlignedBytes>,
    /// The kernel takes the status word's address after the extras.
    pub status: bool,
}

/// Builds step `st` (index `index`, status code `index`), or None if it is not one of this
/// family's kernels.
pub(crate) fn build(
    isa: &dyn TargetIsa,
    index: u32,
    st: &Step,
) -> Result<Option<Built>, BackendError> {
    let plain = |func| Built { func, extra: vec![], status: false };
    let b = match &st.kernel {
        Kernel::BatchMatMul(s) => {
            Built { func: bmm::build(isa, index, s), extra: bmm::consts(s), status: false }
        }
        Kernel::Copy(c) => plain(movement::copy(isa, index, c)),
        Kernel::Gather(g) => {
            Built { func: movement::gather(isa, index, g, index), extra: vec![], status: true }
        }
        Kernel::Cast { n, from, to } => plain(movement::cast(isa, index, *n, *from, *to)),
        Kernel::LayerNorm { rows, d, epsilon } => {
            plain(norm::layer_norm(isa, index, *rows, *d, *epsilon, st.inputs.len() > 2))
        }
        Kernel::Softmax { outer, d, inner } => plain(norm::softmax(isa, index, *outer, *d, *inner)),
        Kernel::Math { op, n } => plain(math::build(isa, index, *op, *n)),
        Kernel::Reduce { op, shape, reduced } => {
            plain(norm::reduce(isa, index, *op, shape, reduced))
        }
        Kernel::Compare(c) => plain(fops::compare(isa, index, c)),
        Kernel::Where(w) => plain(fops::select(isa, index, w)),
        Kernel::ArgReduce(a) => plain(fops::arg_reduce(isa, index, a)),
        Kernel::LogSoftmax { outer, d, inner } => {
            plain(fops::log_softmax(isa, index, *outer, *d, *inner))
        }
        Kernel::Resample(r) => Built {
            func: fops::resample(isa, index, r),
            extra: vec![fops::resample_table(r)],
            status: false,
        },
        _ => return Ok(None),
    };
    let nargs = st.inputs.len() + b.extra.len() + b.status as usize;
    if nargs > 4 {
        return Err(BackendError::InvalidSpec(format!(
            "step `{}`: {nargs} pointer arguments (at most 4)",
            st.node
        )));
    }
    Ok(Some(b))
}
