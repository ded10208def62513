//! Per-op kernel generators other than the int8 GEMM (which lives in [`crate::gemm`]). Every
//! kernel has the signature of [`crate::gemm::codegen::signature`]: `(in0, in1, p2, p3, out,
//! m0, m1)`; unused parameters are ignored.

pub mod act;
pub mod bmm;
pub mod cnn;
pub mod conv;
pub mod elementwise;
pub(crate) mod fops;
pub mod math;
pub mod movement;
pub mod norm;
pub mod pool;
pub(crate) mod pow;
pub mod qelem;
pub mod sgemm;
pub(crate) mod transcendental;
pub(crate) mod trig;
pub(crate) mod xformer;

use cranelift_codegen::ir::{Function, UserFuncName, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// Builds a kernel function: `body` receives the builder and the 7 parameters.
pub(crate) fn build_kernel(
    isa: &dyn TargetIsa,
    index: u32,
    body: impl FnOnce(&mut FunctionBuilder<'_>, &[Value]),
) -> Function {
    let sig = crate::gemm::codegen::signature(isa.default_call_conv());
    let mut func = Function::with_name_signature(UserFuncName::user(0, index), sig);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    body(&mut b, &p);
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    func
}

use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::{condcodes::IntCC, types::I64};

/// Emits `for i in 0..n { body(i) }` with a runtime counter (nothing when `n == 0`).
pub(crate) fn counted_loop(
    b: &mut FunctionBuilder<'_>,
    n: usize,
    body: &mut dyn FnMut(&mut FunctionBuilder<'_>, Value),
) {
    if n == 0 {
        return;
    }
    let iv = b.declare_var(I64);
    let zero = b.ins().iconst(I64, 0);
    b.def_var(iv, zero);
    let lp = b.create_block();
    let after = b.create_block();
    b.ins().jump(lp, &[]);
    b.switch_to_block(lp);
    let i = b.use_var(iv);
    body(b, i);
    let i = b.use_var(iv);
    let i = b.ins().iadd_imm_s(i, 1);
    b.def_var(iv, i);
    let more = b.ins().icmp_imm_s(IntCC::SignedLessThan, i, n as i64);
    b.ins().brif(more, lp, &[], after, &[]);
    b.seal_block(lp);
    b.switch_to_block(after);
    b.seal_block(after);
}
