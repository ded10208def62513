//! f32 activations: HardSwish `x·clamp(x/6 + 0.5, 0, 1)` and HardSigmoid
//! `clamp(α·x + β, 0, 1)` with the interpreter's operation order (bit-exact), and Sigmoid
//! `1/(1 + e^{−x})` (x ≥ 0) or `e^x/(1 + e^x)` (x < 0) calling the host's `expf` (Rust's
//! `f32::exp` through an absolute address, the function and formula the interpreter uses; the
//! tests check 1e-5 relative, bit-exactness is expected but not asserted). JIT only: an AOT
//! object would need `expf` as an imported symbol instead.

use super::cnn::{fl, offset};
use super::counted_loop;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, I64};
use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, Signature, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use qcc_lowering::cnn::Activation;

extern "C" fn host_expf(x: f32) -> f32 {
    x.exp()
}

fn clamp01(b: &mut FunctionBuilder<'_>, x: Value) -> Value {
    // f32::clamp(0, 1): below → 0, above → 1, NaN stays.
    let z = b.ins().f32const(0.0);
    let o = b.ins().f32const(1.0);
    let below = b.ins().fcmp(FloatCC::LessThan, x, z);
    let x = b.ins().select(below, z, x);
    let above = b.ins().fcmp(FloatCC::GreaterThan, x, o);
    b.ins().select(above, o, x)
}

/// `out = act(x)` over `n` elements.
pub fn activation(isa: &dyn TargetIsa, index: u32, act: Activation, n: usize) -> Function {
    let cc = isa.default_call_conv();
    super::build_kernel(isa, index, |b, p| {
        let (px, pc) = (p[0], p[4]);
        let exp_sig = {
            let mut s = Signature::new(cc);
            s.params.push(AbiParam::new(F32));
            s.returns.push(AbiParam::new(F32));
            b.import_signature(s)
        };
        counted_loop(b, n, &mut |b, i| {
            let a = offset(b, px, i, 4);
            let x = b.ins().load(F32, fl(), a, 0);
            let r = match act {
                Activation::HardSwish => {
                    let six = b.ins().f32const(6.0);
                    let half = b.ins().f32const(0.5);
                    let t = b.ins().fdiv(x, six);
                    let t = b.ins().fadd(t, half);
                    let t = clamp01(b, t);
                    b.ins().fmul(x, t)
                }
                Activation::HardSigmoid { alpha, beta } => {
                    let al = b.ins().f32const(alpha);
                    let be = b.ins().f32const(beta);
                    let t = b.ins().fmul(al, x);
                    let t = b.ins().fadd(t, be);
                    clamp01(b, t)
                }
                Activation::Sigmoid => {
                    // e = exp(−|x|); x ≥ 0: 1/(1+e); else e/(1+e).
                    let ax = b.ins().fabs(x);
                    let nx = b.ins().fneg(ax);
                    let f = b.ins().iconst(I64, host_expf as *const () as usize as i64);
                    let call = b.ins().call_indirect(exp_sig, f, &[nx]);
                    let e = b.inst_results(call)[0];
                    let one = b.ins().f32const(1.0);
                    let den = b.ins().fadd(one, e);
                    let z = b.ins().f32const(0.0);
                    let pos = b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, z);
                    let num = b.ins().select(pos, one, e);
                    b.ins().fdiv(num, den)
                }
            };
            let c = offset(b, pc, i, 4);
            b.ins().store(fl(), r, c, 0);
        });
    })
}
