//! Elementwise unary ops and activations (Relu, LeakyRelu, Elu, Clip, Sigmoid, HardSigmoid,
//! HardSwish, Tanh, Erf, Gelu, Exp, Log, Sqrt, Reciprocal, Neg, Abs, Floor, Ceil, Round, Sign,
//! Not, Softplus, Sin, Cos).
//!
//! Floats compute in f32 (`erf` from `libm::erff`). Abs, Neg, Relu, Sign and Clip also accept
//! integers (Neg and Abs wrap, as in two's complement).

use super::util::{dtype_err, float_out, floats, int_out_wrapping, ints, mk, scalar_f64, Args, R};
use super::OpError;
use crate::dtype::DType;
use crate::ops::{GeluApprox, Op};
use crate::tensor::{Data, Tensor};

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Evaluates a unary op.
pub(crate) fn unary(op: &Op, a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    if matches!(op, Op::Not) {
        let Data::Bool(v) = &x.data else { return Err(dtype_err(0, x.dtype)) };
        return mk(DType::Bool, x.shape.clone(), Data::Bool(v.iter().map(|b| !b).collect()));
    }
    if !x.dtype.is_float() {
        if !x.dtype.is_int() {
            return Err(dtype_err(0, x.dtype));
        }
        let f: fn(i64) -> i64 = match op {
            Op::Abs => |v| v.wrapping_abs(),
            Op::Neg => |v| v.wrapping_neg(),
            Op::Relu => |v| v.max(0),
            Op::Sign => |v| v.signum(),
            _ => return Err(dtype_err(0, x.dtype)),
        };
        let v: Vec<i64> = ints(x, 0)?.into_iter().map(f).collect();
        return int_out_wrapping(x.dtype, x.shape.clone(), &v);
    }
    let v = floats(x, 0)?;
    let out: Vec<f32> = match *op {
        Op::Relu => v.iter().map(|&x| if x < 0.0 { 0.0 } else { x }).collect(),
        Op::LeakyRelu(at) => v.iter().map(|&x| if x >= 0.0 { x } else { at.alpha * x }).collect(),
        Op::Elu(at) => {
            v.iter().map(|&x| if x >= 0.0 { x } else { at.alpha * (x.exp() - 1.0) }).collect()
        }
        Op::Sigmoid => v.iter().map(|&x| sigmoid(x)).collect(),
        Op::HardSigmoid(at) => {
            v.iter().map(|&x| (at.alpha * x + at.beta).clamp(0.0, 1.0)).collect()
        }
        Op::HardSwish => v.iter().map(|&x| x * (x / 6.0 + 0.5).clamp(0.0, 1.0)).collect(),
        Op::Tanh => v.iter().map(|&x| x.tanh()).collect(),
        Op::Erf => v.iter().map(|&x| libm::erff(x)).collect(),
        Op::Gelu(at) => match at.approximate {
            GeluApprox::None => v
                .iter()
                .map(|&x| 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)))
                .collect(),
            GeluApprox::Tanh => {
                let c = (2.0f32 / std::f32::consts::PI).sqrt();
                v.iter()
                    .map(|&x| 0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh()))
                    .collect()
            }
        },
        Op::Exp => v.iter().map(|&x| x.exp()).collect(),
        Op::Log => v.iter().map(|&x| x.ln()).collect(),
        Op::Sqrt => v.iter().map(|&x| x.sqrt()).collect(),
        Op::Reciprocal => v.iter().map(|&x| 1.0 / x).collect(),
        Op::Neg => v.iter().map(|&x| -x).collect(),
        Op::Abs => v.iter().map(|&x| x.abs()).collect(),
        Op::Floor => v.iter().map(|&x| x.floor()).collect(),
        Op::Ceil => v.iter().map(|&x| x.ceil()).collect(),
        Op::Round => v.iter().map(|&x| crate::qmath::round_half_even(x)).collect(),
        Op::Sign => v
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            })
            .collect(),
        Op::Softplus => v.iter().map(|&x| if x > 20.0 { x } else { x.exp().ln_1p() }).collect(),
        Op::Sin => v.iter().map(|&x| x.sin()).collect(),
        Op::Cos => v.iter().map(|&x| x.cos()).collect(),
        _ => return Err(OpError::Internal(format!("{} is not a unary op", op.name()))),
    };
    float_out(x.dtype, x.shape.clone(), out)
}

/// `Clip(x, min?, max?)` on floats and integers.
pub(crate) fn clip(a: &Args<'_>) -> R<Tensor> {
    a.arity(1, 3)?;
    let x = a.req(0)?;
    for i in 1..a.len() {
        if let Some(b) = a.opt(i) {
            if b.dtype != x.dtype {
                return Err(dtype_err(i, b.dtype));
            }
        }
    }
    let lo = a.opt(1).map(|t| scalar_f64(t, 1)).transpose()?;
    let hi = a.opt(2).map(|t| scalar_f64(t, 2)).transpose()?;
    if x.dtype.is_float() {
        let (lo, hi) = (lo.map(|v| v as f32), hi.map(|v| v as f32));
        let v: Vec<f32> = floats(x, 0)?
            .iter()
            .map(|&e| {
                let mut e = e;
                if let Some(l) = lo {
                    if e < l {
                        e = l;
                    }
                }
                if let Some(h) = hi {
                    if e > h {
                        e = h;
                    }
                }
                e
            })
            .collect();
        return float_out(x.dtype, x.shape.clone(), v);
    }
    if !x.dtype.is_int() {
        return Err(dtype_err(0, x.dtype));
    }
    let lo = a.opt(1).map(|t| ints(t, 1).map(|v| v[0])).transpose()?;
    let hi = a.opt(2).map(|t| ints(t, 2).map(|v| v[0])).transpose()?;
    let v: Vec<i64> = ints(x, 0)?
        .into_iter()
        .map(|e| {
            let e = lo.map_or(e, |l| e.max(l));
            hi.map_or(e, |h| e.min(h))
        })
        .collect();
    int_out_wrapping(x.dtype, x.shape.clone(), &v)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::{AlphaAttrs, GeluAttrs, HardSigmoidAttrs};

    #[test]
    fn activations() {
        let x = Tensor::f32(&[5], vec![-2., -0.5, 0., 0.5, 3.]);
        assert_eq!(ev1(&Op::Relu, &[&x]).as_f32().unwrap(), &[0., 0., 0., 0.5, 3.]);
        let r = ev1(&Op::LeakyRelu(AlphaAttrs { alpha: 0.1 }), &[&x]);
        close(r.as_f32().unwrap(), &[-0.2, -0.05, 0., 0.5, 3.], 1e-7);
        let r = ev1(&Op::HardSwish, &[&x]);
        close(
            r.as_f32().unwrap(),
            &[-2. * (1. / 6.), -0.5 * (0.5 - 0.5 / 6.), 0., 0.5 * (0.5 + 0.5 / 6.), 3.],
            1e-6,
        );
        let r = ev1(&Op::HardSigmoid(HardSigmoidAttrs::default()), &[&x]);
        close(r.as_f32().unwrap(), &[0.1, 0.4, 0.5, 0.6, 1.0], 1e-6);
        let r = ev1(&Op::Sigmoid, &[&x]);
        close(r.as_f32().unwrap(), &[0.11920292, 0.37754067, 0.5, 0.62245935, 0.95257413], 1e-6);
        let r = ev1(&Op::Elu(AlphaAttrs { alpha: 1.0 }), &[&x]);
        close(r.as_f32().unwrap(), &[-0.86466473, -0.39346934, 0., 0.5, 3.], 1e-6);
    }

    #[test]
    fn erf_and_gelu() {
        let x = Tensor::f32(&[4], vec![-1., 0., 0.5, 2.]);
        let r = ev1(&Op::Erf, &[&x]);
        close(r.as_f32().unwrap(), &[-0.84270079, 0., 0.52049988, 0.99532227], 1e-6);
        let r = ev1(&Op::Gelu(GeluAttrs::default()), &[&x]);
        close(r.as_f32().unwrap(), &[-0.15865525, 0., 0.34573123, 1.95449974], 1e-6);
        let r = ev1(&Op::Gelu(GeluAttrs { approximate: GeluApprox::Tanh }), &[&x]);
        close(r.as_f32().unwrap(), &[-0.15880801, 0., 0.34571401, 1.95459769], 1e-6);
    }

    #[test]
    fn round_half_even_and_sign() {
        let x = Tensor::f32(&[6], vec![0.5, 1.5, 2.5, -0.5, -1.5, -2.6]);
        assert_eq!(ev1(&Op::Round, &[&x]).as_f32().unwrap(), &[0., 2., 2., -0., -2., -3.]);
        assert_eq!(ev1(&Op::Sign, &[&x]).as_f32().unwrap(), &[1., 1., 1., -1., -1., -1.]);
        assert_eq!(ev1(&Op::Floor, &[&x]).as_f32().unwrap(), &[0., 1., 2., -1., -2., -3.]);
    }

    #[test]
    fn integer_unary() {
        let x = Tensor::i8(&[4], vec![-128, -3, 0, 5]);
        assert_eq!(ev1(&Op::Abs, &[&x]).as_i8().unwrap(), &[-128, 3, 0, 5]);
        assert_eq!(ev1(&Op::Neg, &[&x]).as_i8().unwrap(), &[-128, 3, 0, -5]);
        assert_eq!(ev1(&Op::Relu, &[&x]).as_i8().unwrap(), &[0, 0, 0, 5]);
        assert!(matches!(ev_err(&Op::Exp, &[&x]), OpError::DType { .. }));
        let b = Tensor::new(vec![2], Data::Bool(vec![true, false])).unwrap();
        assert_eq!(ev1(&Op::Not, &[&b]).as_bool().unwrap(), &[false, true]);
    }

    #[test]
    fn clip_float_and_int() {
        let x = Tensor::f32(&[4], vec![-1., 3., 7., 2.]);
        let lo = Tensor::scalar_f32(0.);
        let hi = Tensor::scalar_f32(6.);
        assert_eq!(ev1(&Op::Clip, &[&x, &lo, &hi]).as_f32().unwrap(), &[0., 3., 6., 2.]);
        let r = evo(&Op::Clip, &[Some(&x), None, Some(&hi)], 1).unwrap();
        assert_eq!(r[0].as_f32().unwrap(), &[-1., 3., 6., 2.]);
        let xi = Tensor::i32(&[3], vec![-9, 4, 100]);
        let l = Tensor::i32(&[], vec![-5]);
        let h = Tensor::i32(&[], vec![50]);
        assert_eq!(ev1(&Op::Clip, &[&xi, &l, &h]).as_i32().unwrap(), &[-5, 4, 50]);
        assert!(matches!(ev_err(&Op::Clip, &[&x, &l]), OpError::DType { .. }));
    }
}
