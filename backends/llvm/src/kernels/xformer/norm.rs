//! Normalization, float math and reductions in f32:
//!
//! * LayerNorm (rows split): per row, mean and variance accumulated in f64 (two passes, as
//!   the interpreter), `y = f32((x − mean)·inv)·scale + bias` with `inv = 1/√(var + ε)` in f64.
//! * Softmax (outer index split): `m = max x`, `e = exp(f64(x − m))` (an f64 polynomial as
//!   accurate as libm's at f32 output precision) in an f64 scratch row, `s = Σ e` in f64,
//!   `y = f32(e / s)`: the interpreter's arithmetic, so quantized graphs with a float softmax
//!   island stay bit-exact (an f32 `exp` moved 8 % of minilm's attention probabilities by an
//!   ulp and one of them across a quantization step). Each pass over a contiguous row is a
//!   separate loop, so the `exp` and divide passes vectorize and the max/sum run in
//!   [`super::LANES`] partial accumulators. Softmax over a non-last axis runs column by column.
//! * Math (chunks split): Sqrt (exact), Exp, Erf, Gelu ([`math`]), Tanh, Log, Softplus, Sin,
//!   Cos, Elu, tanh-Gelu ([`transcendental`], [`trig`]) elementwise.
//! * Reduce (whole): Sum/Mean/SumSquare/Prod accumulate in f64 in the interpreter's order,
//!   Max/Min in f32 with NaN propagating.

use super::{f64c, f64t, fext, for_chunks, ftrunc, lanes, nest, CHUNK};
use crate::emit::{Cg, K, R};
use crate::kernels::{math, rows, transcendental, trig, whole, Built};
use inkwell::values::{FloatValue, IntValue, PointerValue};
use qcc_lowering::{MathOp, ReduceOp};

/// `√v` in f64.
fn sqrt64<'ctx>(k: &K<'_, 'ctx>, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let t = f64t(k).into();
    Ok(k.intrinsic("llvm.sqrt", &[t], &[v.into()])?.into_float_value())
}

/// LayerNorm (inputs: x, scale[d], bias[d]?; output).
pub(crate) fn layer_norm<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    (nrows, d): (usize, usize),
    eps: f32,
    has_bias: bool,
) -> R<Built<'ctx>> {
    let k = cg.kernel(name, if has_bias { 4 } else { 3 })?;
    let f = k.f32t();
    let (x, scale) = (k.buf(0, f)?, k.buf(1, f)?);
    let bias = if has_bias { Some(k.buf(2, f)?) } else { None };
    let out = k.buf(if has_bias { 3 } else { 2 }, f)?;
    let dn = f64c(&k, d.max(1) as f64);
    let add = |a, b| k.fadd(a, b);
    k.for_range(k.r0, k.r1, &mut |r| {
        let base = k.mul(r, k.i64c(d as i64))?;
        let at = |j: IntValue<'ctx>| k.add(base, j);
        let sum = lanes(&k, d, f64c(&k, 0.0), &mut |j| fext(&k, k.ldf(x, at(j)?)?), &add)?;
        let mean = k.fdiv(sum, dn)?;
        let var = lanes(
            &k,
            d,
            f64c(&k, 0.0),
            &mut |j| {
                let t = k.fsub(fext(&k, k.ldf(x, at(j)?)?)?, mean)?;
                k.fmul(t, t)
            },
            &add,
        )?;
        let var = k.fadd(k.fdiv(var, dn)?, f64c(&k, eps as f64))?;
        let inv = k.fdiv(f64c(&k, 1.0), sqrt64(&k, var)?)?;
        k.for_n(d, &mut |j| {
            let i = at(j)?;
            let t = k.fmul(k.fsub(fext(&k, k.ldf(x, i)?)?, mean)?, inv)?;
            let y = k.fmul(ftrunc(&k, t)?, k.ldf(scale, j)?)?;
            let b = match bias {
                Some(b) => k.ldf(b, j)?,
                None => k.f32c(0.0),
            };
            k.st(out, i, k.fadd(y, b)?)
        })
    })?;
    Ok(rows(k.finish()?, nrows))
}

/// `e^z` in f64 for `z ≤ 0` (f64 `z`), as accurate as the interpreter's libm `exp` at the
/// f32 precision softmax rounds to: `n = rint(z·log₂e)`, `r = z − n·ln2` (fdlibm's two-part
/// ln 2), `e^r` by its Taylor series to degree 12 (truncation < 2e-16 on `|r| ≤ ln2/2`), then
/// `2^n` in the exponent bits. Below −104 the result is taken as 0: after dividing by the sum
/// (≥ 1, the maximum's term) it is under the smallest f32 denormal either way.
pub(crate) fn exp_f64<'ctx>(k: &K<'_, 'ctx>, z: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
    let c = |v: f64| f64c(k, v);
    let low = k.fcmp(inkwell::FloatPredicate::OLT, z, c(-104.0))?;
    let zc = k.fsel(low, c(-104.0), z)?;
    let t = k.fmul(zc, c(std::f64::consts::LOG2_E))?;
    let n = k.intrinsic("llvm.rint", &[f64t(k).into()], &[t.into()])?.into_float_value();
    let r = k.fsub(zc, k.fmul(n, c(6.931_471_803_691_238e-1))?)?;
    let r = k.fsub(r, k.fmul(n, c(1.908_214_929_270_587_7e-10))?)?;
    let mut p = c(1.0 / 479_001_600.0); // 1/12!
    let mut fact = 479_001_600.0f64;
    for i in (0..12).rev() {
        fact /= (i + 1) as f64;
        p = k.fadd(k.fmul(p, r)?, c(1.0 / fact))?;
    }
    // NaN was mapped by the clamp's select only for ordered compares: keep it.
    let ni = k.b().build_float_to_signed_int(n, k.int(64), "n")?;
    let bits = k.mul(k.add(ni, k.i64c(1023))?, k.i64c(1 << 52))?;
    let scale = k.b().build_bit_cast(bits, f64t(k), "p2")?.into_float_value();
    let e = k.fmul(p, scale)?;
    k.fsel(low, c(0.0), e)
}

/// Softmax of one contiguous row of `d` at element `base`, with `e` an f64 scratch row: `m =
/// max x`, `e = exp(f64(x − m))`, `s = Σ e`, `y = f32(e / s)`, the interpreter's arithmetic.
fn softmax_row<'ctx>(
    k: &K<'_, 'ctx>,
    (x, out, e): (PointerValue<'ctx>, PointerValue<'ctx>, PointerValue<'ctx>),
    base: IntValue<'ctx>,
    d: usize,
) -> R<()> {
    let at = |j: IntValue<'ctx>| k.add(base, j);
    let m =
        lanes(k, d, k.f32c(f32::NEG_INFINITY), &mut |j| k.ldf(x, at(j)?), &|a, b| k.fmax(a, b))?;
    k.for_n(d, &mut |j| {
        let z = fext(k, k.fsub(k.ldf(x, at(j)?)?, m)?)?;
        k.st(e, j, exp_f64(k, z)?)
    })?;
    let ld = |j| -> R<FloatValue<'ctx>> { Ok(k.ld(f64t(k), e, j)?.into_float_value()) };
    let s = lanes(k, d, f64c(k, 0.0), &mut |j| ld(j), &|a, b| k.fadd(a, b))?;
    k.for_n(d, &mut |j| k.st(out, at(j)?, ftrunc(k, k.fdiv(ld(j)?, s)?)?))
}

/// Softmax over the middle axis of `[outer, d, inner]` (input → output).
pub(crate) fn softmax<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    outer: usize,
    d: usize,
    inner: usize,
) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let (x, out) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    let e = k.array(f64t(&k), d)?;
    k.for_range(k.r0, k.r1, &mut |o| {
        let obase = k.mul(o, k.i64c((d * inner) as i64))?;
        if inner == 1 {
            return softmax_row(&k, (x, out, e), obase, d);
        }
        k.for_n(inner, &mut |c| {
            let base = k.add(obase, c)?;
            let at = |j: IntValue<'ctx>| k.affine(j, inner, base);
            let m = k.var(k.f32c(f32::NEG_INFINITY).into())?;
            let s = k.var(f64c(&k, 0.0).into())?;
            let get = |v| -> R<FloatValue<'ctx>> { Ok(k.get(k.f32t(), v)?.into_float_value()) };
            let get64 = |v| -> R<FloatValue<'ctx>> { Ok(k.get(f64t(&k), v)?.into_float_value()) };
            k.for_n(d, &mut |j| k.set(m, k.fmax(get(m)?, k.ldf(x, at(j)?)?)?))?;
            let mv = get(m)?;
            k.for_n(d, &mut |j| {
                let i = at(j)?;
                let ej = exp_f64(&k, fext(&k, k.fsub(k.ldf(x, i)?, mv)?)?)?;
                k.st(e, j, ej)?;
                k.set(s, k.fadd(get64(s)?, ej)?)
            })?;
            let sv = get64(s)?;
            k.for_n(d, &mut |j| {
                let ej = k.ld(f64t(&k), e, j)?.into_float_value();
                k.st(out, at(j)?, ftrunc(&k, k.fdiv(ej, sv)?)?)
            })
        })
    })?;
    Ok(rows(k.finish()?, outer))
}

/// Float elementwise math over `n` elements (input → output).
pub(crate) fn math<'ctx>(cg: &mut Cg<'ctx>, name: &str, op: MathOp, n: usize) -> R<Built<'ctx>> {
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    for_chunks(&k, n, CHUNK, &mut |i| {
        let v = k.ldf(x, i)?;
        let r = match op {
            MathOp::Sqrt => k.sqrt(v)?,
            MathOp::Exp => math::exp(&k, v)?,
            MathOp::Erf => math::erf(&k, v)?,
            MathOp::Gelu => math::gelu(&k, v)?,
            MathOp::GeluTanh => transcendental::gelu_tanh(&k, v)?,
            MathOp::Tanh => transcendental::tanh(&k, v)?,
            MathOp::Log => transcendental::log(&k, v)?,
            MathOp::Softplus => transcendental::softplus(&k, v)?,
            MathOp::Sin => trig::sin_cos(&k, v, false)?,
            MathOp::Cos => trig::sin_cos(&k, v, true)?,
            MathOp::Elu(alpha) => transcendental::elu(&k, v, alpha)?,
        };
        k.st(y, i, r)
    })?;
    Ok(rows(k.finish()?, n.div_ceil(CHUNK)))
}

/// Reduction of `shape` over the `reduced` axes (input → output, the kept axes row-major).
pub(crate) fn reduce<'ctx>(
    cg: &mut Cg<'ctx>,
    name: &str,
    op: ReduceOp,
    shape: &[usize],
    reduced: &[bool],
) -> R<Built<'ctx>> {
    let r = shape.len();
    if reduced.len() != r {
        return Err(crate::BackendError::InvalidSpec("reduce: axes mask rank".into()));
    }
    let mut ist = vec![1i64; r];
    for d in (0..r.saturating_sub(1)).rev() {
        ist[d] = ist[d + 1] * shape[d + 1] as i64;
    }
    let kept: Vec<usize> = (0..r).filter(|&d| !reduced[d]).collect();
    let red: Vec<usize> = (0..r).filter(|&d| reduced[d]).collect();
    let kdims: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
    let mut ost = vec![1i64; kept.len()];
    for d in (0..kept.len().saturating_sub(1)).rev() {
        ost[d] = ost[d + 1] * kdims[d + 1] as i64;
    }
    let kst: Vec<i64> = kept.iter().map(|&d| ist[d]).collect();
    let rdims: Vec<usize> = red.iter().map(|&d| shape[d]).collect();
    let rst: Vec<i64> = red.iter().map(|&d| ist[d]).collect();
    let count: usize = rdims.iter().product();
    let wide = !matches!(op, ReduceOp::Max | ReduceOp::Min);
    let k = cg.kernel(name, 2)?;
    let (x, y) = (k.buf(0, k.f32t())?, k.buf(1, k.f32t())?);
    let z = k.i64c(0);
    let ty = if wide { f64t(&k) } else { k.f32t() };
    nest(&k, &kdims, &[&kst, &ost], 0, [z, z], false, &mut |q| {
        let init = match op {
            ReduceOp::Sum | ReduceOp::Mean | ReduceOp::SumSquare => f64c(&k, 0.0),
            ReduceOp::Prod => f64c(&k, 1.0),
            ReduceOp::Max => k.f32c(f32::NEG_INFINITY),
            ReduceOp::Min => k.f32c(f32::INFINITY),
        };
        let acc = k.var(init.into())?;
        nest(&k, &rdims, &[&rst], 0, [q[0]], false, &mut |s| {
            let v = k.ldf(x, s[0])?;
            let a = k.get(ty, acc)?.into_float_value();
            let a = match op {
                ReduceOp::Sum | ReduceOp::Mean => k.fadd(a, fext(&k, v)?)?,
                ReduceOp::SumSquare => {
                    let v = fext(&k, v)?;
                    k.fadd(a, k.fmul(v, v)?)?
                }
                ReduceOp::Prod => k.fmul(a, fext(&k, v)?)?,
                ReduceOp::Max => k.fmax(a, v)?,
                ReduceOp::Min => k.fmin(a, v)?,
            };
            k.set(acc, a)
        })?;
        let mut a = k.get(ty, acc)?.into_float_value();
        if op == ReduceOp::Mean {
            a = k.fdiv(a, f64c(&k, count as f64))?;
        }
        if wide {
            a = ftrunc(&k, a)?;
        }
        k.st(y, q[1], a)
    })?;
    Ok(whole(k.finish()?))
}
