//! Float math emitted inline as plain arithmetic (so the loop vectorizer can widen it; a call
//! to libm's `expf` would stay scalar), the same algorithms and constants as the Cranelift
//! backend's `kernels::math` (accuracy measured there against the interpreter):
//!
//! * [`exp`]: Cody–Waite range reduction and the degree-6 Cephes polynomial; `2^n` built in
//!   the exponent bits in two halves so every `n` in `[−150, 129]` is exact; input clamped to
//!   `[−104, 89]`; NaN propagates. Max relative error ≈ 1.2e-7.
//! * [`erf`]: Eigen's rational approximation (degrees 13/8), input clamped to `[−4, 4]`.
//! * [`gelu`]: `0.5·x·(1 + erf(x/√2))`.

use crate::emit::{K, R};
use inkwell::values::FloatValue;

/// `acc·x + c`, multiply then add (no fusion).
fn madd<'ctx>(
    k: &K<'_, 'ctx>,
    acc: FloatValue<'ctx>,
    x: FloatValue<'ctx>,
    c: f32,
) -> R<FloatValue<'ctx>> {
    k.fadd(k.fmul(acc, x)?, k.f32c(c))
}

/// `2^n` for i32 `n` in `[−126, 127]`.
fn pow2<'ctx>(k: &K<'_, 'ctx>, n: inkwell::values::IntValue<'ctx>) -> R<FloatValue<'ctx>> {
    let e = k.add(n, k.i32c(127))?;
    let e = k.mul(e, k.i32c(1 << 23))?;
    k.bitcast_f32(e)
}

/// `e^x`.
pub(crate) fn exp<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let x = k.fmax(k.fmin(x, k.f32c(89.0))?, k.f32c(-104.0))?;
    let fx = k.rint(k.fmul(x, k.f32c(std::f32::consts::LOG2_E))?)?;
    let r = k.fsub(x, k.fmul(fx, k.f32c(0.693_359_4))?)?;
    let r = k.fsub(r, k.fmul(fx, k.f32c(-2.121_944_4e-4))?)?;
    let mut p = k.f32c(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = madd(k, p, r, c)?;
    }
    let y = k.fadd(k.fmul(p, k.fmul(r, r)?)?, r)?;
    let y = k.fadd(y, k.f32c(1.0))?;
    // A plain conversion (NaN mapped to 0; the clamp keeps n in [−150, 129]): LLVM 14 does
    // not vectorize `llvm.fptosi.sat`, which would leave every exp loop scalar.
    let nan = k.fcmp(inkwell::FloatPredicate::UNO, fx, fx)?;
    let fx = k.fsel(nan, k.f32c(0.0), fx)?;
    let n = k.b().build_float_to_signed_int(fx, k.int(32), "n")?;
    let n1 = k.ashr(n, 1)?;
    let n2 = k.sub(n, n1)?;
    let y = k.fmul(y, pow2(k, n1)?)?;
    k.fmul(y, pow2(k, n2)?)
}

/// `erf(x)`.
pub(crate) fn erf<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let x = k.fmax(k.fmin(x, k.f32c(4.0))?, k.f32c(-4.0))?;
    let x2 = k.fmul(x, x)?;
    let mut p = k.f32c(-2.726_142_3e-10);
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = madd(k, p, x2, c)?;
    }
    let p = k.fmul(x, p)?;
    let mut q = k.f32c(-1.456_607_2e-5);
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = madd(k, q, x2, c)?;
    }
    k.fdiv(p, q)
}

/// `0.5·x·(1 + erf(x/√2))`.
pub(crate) fn gelu<'ctx>(k: &K<'_, 'ctx>, x: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let e = erf(k, k.fmul(x, k.f32c(std::f32::consts::FRAC_1_SQRT_2))?)?;
    let e = k.fadd(e, k.f32c(1.0))?;
    k.fmul(k.fmul(x, k.f32c(0.5))?, e)
}
