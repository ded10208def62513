//! Per-step kernel generators. Each writes the step's arithmetic as scalar loop nests over its
//! exact shapes (the optimizer vectorizes them for the target) and reports its row unit:
//!
//! * [`gemm`]: integer GEMM with fused bias/requantization, f32 GEMM;
//! * [`elem`]: Quantize, Dequantize (per tensor and per axis), f32 binary with broadcast, Relu/Clip;
//! * [`cnn`]: im2col, direct (depthwise/grouped) convolution, relayout, quantized binary,
//!   table lookup, pooling, f32 activations;
//! * [`xformer`]: batched matmul, strided copies, gather, casts, layer norm, softmax, float math,
//!   reductions;
//! * [`fops`]: comparisons, Where, ArgMax/ArgMin, LogSoftmax, Resize (with
//!   [`transcendental`], [`trig`], [`pow`]: Tanh, Log, Softplus, Sin, Cos, Elu, Pow).

pub mod cnn;
pub mod elem;
pub mod fops;
pub mod gemm;
pub mod math;
pub mod pow;
pub mod transcendental;
pub mod trig;
pub mod xformer;

use crate::emit::{Cg, ConstRef, R};
use crate::model::StepInfo;
use crate::BackendError;
use inkwell::values::FunctionValue;
use qcc_lowering::{Kernel, LoweredModel};

/// A generated kernel and its row unit.
pub type Built<'ctx> = (FunctionValue<'ctx>, StepInfo);

/// One step's kernel. Buffer parameters: the step's inputs, then its output; `status` is the
/// run's status word (kernels that detect bad run-time data write `step + 1`).
pub(crate) fn build<'ctx>(
    cg: &mut Cg<'ctx>,
    l: &LoweredModel,
    step: usize,
    name: &str,
    status: ConstRef<'ctx>,
) -> R<Built<'ctx>> {
    let st = &l.steps[step];
    let built = match &st.kernel {
        Kernel::QGemm(q) => Some(gemm::qgemm(cg, name, q)?),
        Kernel::GemmF32 { m, n, k, b, bias, clamp } => {
            Some(gemm::sgemm(cg, name, (*m, *n, *k), b, bias.as_deref(), *clamp)?)
        }
        Kernel::Quantize { .. }
        | Kernel::Dequantize { .. }
        | Kernel::Binary { .. }
        | Kernel::Unary(_)
        | Kernel::DequantizeAxis(_) => Some(elem::build(cg, l, st, name)?),
        Kernel::Compare(_)
        | Kernel::Where(_)
        | Kernel::ArgReduce(_)
        | Kernel::LogSoftmax { .. }
        | Kernel::Resample(_) => Some(fops::build(cg, st, name)?),
        _ => match cnn::build(cg, l, st, name)? {
            Some(b) => Some(b),
            None => xformer::build(cg, l, st, name, step, status)?,
        },
    };
    built.ok_or_else(|| BackendError::Unsupported {
        op: st.ops.clone(),
        node: st.node.clone(),
        reason: format!("no LLVM kernel for `{}`", st.kernel.name()),
    })
}

/// A kernel that runs as one row (`rows = 1`, not split).
pub(crate) fn whole<'ctx>(f: FunctionValue<'ctx>) -> Built<'ctx> {
    (f, StepInfo { rows: 1, split: false })
}

/// A kernel over `rows` rows that may be split across threads.
pub(crate) fn rows<'ctx>(f: FunctionValue<'ctx>, rows: usize) -> Built<'ctx> {
    (f, StepInfo { rows, split: true })
}
