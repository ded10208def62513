//! Elementwise binary ops with numpy broadcasting (Add, Sub, Mul, Div, Pow, Max, Min, Mod,
//! comparisons, logical ops) and `Where`.
//!
//! Floats compute in f32. Integers compute in i64 and wrap to the operand type (two's
//! complement), division truncates, `Mod` takes the sign of the divisor, and a zero divisor is an
//! error.

use super::broadcast::{broadcast_index, broadcast_shape, zip};
use super::util::{
    dtype_err, float_out, floats, gather_data, int_out_wrapping, ints, mk, shape_err, value_err,
    Args, R,
};
use super::OpError;
use crate::dtype::DType;
use crate::ops::Op;
use crate::tensor::{Data, Tensor};

fn fmax(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

fn fmin(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

/// Evaluates a binary (or, for Max/Min, n-ary) elementwise op.
pub(crate) fn binary(op: &Op, a: &Args<'_>) -> R<Tensor> {
    if matches!(op, Op::Max | Op::Min) {
        a.arity(1, usize::MAX)?;
        let mut acc = a.req(0)?.clone();
        for i in 1..a.len() {
            acc = pair(op, &acc, a.req(i)?, i)?;
        }
        return Ok(acc);
    }
    a.arity(2, 2)?;
    pair(op, a.req(0)?, a.req(1)?, 1)
}

fn pair(op: &Op, x: &Tensor, y: &Tensor, yi: usize) -> R<Tensor> {
    let (dx, dy) = (x.dtype, y.dtype);
    let cmp =
        matches!(op, Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual);
    if matches!(op, Op::And | Op::Or | Op::Xor) {
        let (Data::Bool(p), Data::Bool(q)) = (&x.data, &y.data) else {
            return Err(dtype_err(
                if dx == DType::Bool { yi } else { 0 },
                if dx == DType::Bool { dy } else { dx },
            ));
        };
        let f = match op {
            Op::And => |a: bool, b: bool| a & b,
            Op::Or => |a: bool, b: bool| a | b,
            _ => |a: bool, b: bool| a ^ b,
        };
        let (v, s) = zip(p, &x.shape, q, &y.shape, f)?;
        return mk(DType::Bool, s, Data::Bool(v));
    }
    if dx != dy && !matches!(op, Op::Pow) {
        return Err(shape_err(format!("operand dtypes differ: {dx} and {dy}")));
    }
    if dx.is_float() {
        let p = floats(x, 0)?;
        if matches!(op, Op::Pow) {
            let q: Vec<f32> = y.to_f32_vec();
            if y.dtype == DType::Bool {
                return Err(dtype_err(yi, dy));
            }
            let (v, s) = zip(&p, &x.shape, &q, &y.shape, |a: f32, b: f32| a.powf(b))?;
            return float_out(dx, s, v);
        }
        let q = floats(y, yi)?;
        if cmp {
            let f: fn(f32, f32) -> bool = match op {
                Op::Equal => |a, b| a == b,
                Op::Less => |a, b| a < b,
                Op::LessOrEqual => |a, b| a <= b,
                Op::Greater => |a, b| a > b,
                _ => |a, b| a >= b,
            };
            let (v, s) = zip(&p, &x.shape, &q, &y.shape, f)?;
            return mk(DType::Bool, s, Data::Bool(v));
        }
        let f: fn(f32, f32) -> f32 = match op {
            Op::Add => |a, b| a + b,
            Op::Sub => |a, b| a - b,
            Op::Mul => |a, b| a * b,
            Op::Div => |a, b| a / b,
            Op::Max => fmax,
            Op::Min => fmin,
            Op::Mod => |a, b| a % b,
            _ => return Err(OpError::Internal(format!("{} is not a float binary op", op.name()))),
        };
        let (v, s) = zip(&p, &x.shape, &q, &y.shape, f)?;
        return float_out(dx, s, v);
    }
    if dx == DType::Bool && !matches!(op, Op::Equal) {
        return Err(dtype_err(0, dx));
    }
    let p = ints(x, 0)?;
    if matches!(op, Op::Pow) {
        if !dy.is_int() && !dy.is_float() {
            return Err(dtype_err(yi, dy));
        }
        let q = y.to_f64_vec();
        let (v, s) = zip(&p, &x.shape, &q, &y.shape, |a: i64, b: f64| (a as f64).powf(b) as i64)?;
        return int_out_wrapping(dx, s, &v);
    }
    let q = ints(y, yi)?;
    if cmp {
        let f: fn(i64, i64) -> bool = match op {
            Op::Equal => |a, b| a == b,
            Op::Less => |a, b| a < b,
            Op::LessOrEqual => |a, b| a <= b,
            Op::Greater => |a, b| a > b,
            _ => |a, b| a >= b,
        };
        let (v, s) = zip(&p, &x.shape, &q, &y.shape, f)?;
        return mk(DType::Bool, s, Data::Bool(v));
    }
    if matches!(op, Op::Div | Op::Mod) && q.contains(&0) {
        // Only an error if a zero divisor is actually used (it always is unless the result is
        // empty).
        let n = super::util::numel(&broadcast_shape(&x.shape, &y.shape)?)?;
        if n > 0 {
            return Err(value_err("integer division by zero"));
        }
    }
    let f: fn(i64, i64) -> i64 = match op {
        Op::Add => |a, b| a.wrapping_add(b),
        Op::Sub => |a, b| a.wrapping_sub(b),
        Op::Mul => |a, b| a.wrapping_mul(b),
        Op::Div => |a, b| if b == 0 { 0 } else { a.wrapping_div(b) },
        Op::Max => |a, b| a.max(b),
        Op::Min => |a, b| a.min(b),
        Op::Mod => |a, b| {
            if b == 0 {
                return 0;
            }
            let r = a.wrapping_rem(b);
            if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            }
        },
        _ => return Err(OpError::Internal(format!("{} is not an integer binary op", op.name()))),
    };
    let (v, s) = zip(&p, &x.shape, &q, &y.shape, f)?;
    int_out_wrapping(dx, s, &v)
}

/// `Where(cond, x, y)`: elementwise select with three-way broadcasting, any dtype.
pub(crate) fn where_op(a: &Args<'_>) -> R<Tensor> {
    a.arity(3, 3)?;
    let (c, x, y) = (a.req(0)?, a.req(1)?, a.req(2)?);
    let Data::Bool(cv) = &c.data else { return Err(dtype_err(0, c.dtype)) };
    if x.dtype != y.dtype || !super::util::same_variant(&x.data, &y.data) {
        return Err(shape_err(format!("x and y dtypes differ: {} and {}", x.dtype, y.dtype)));
    }
    let out = broadcast_shape(&broadcast_shape(&c.shape, &x.shape)?, &y.shape)?;
    let ic = broadcast_index(&c.shape, &out)?;
    let ix = broadcast_index(&x.shape, &out)?;
    let iy = broadcast_index(&y.shape, &out)?;
    let xs = gather_data(&x.data, &ix);
    let ys = gather_data(&y.data, &iy);
    let sel: Vec<bool> = ic.iter().map(|&i| cv[i]).collect();
    let data = select(sel, xs, ys)?;
    mk(x.dtype, out, data)
}

fn select(sel: Vec<bool>, x: Data, y: Data) -> R<Data> {
    macro_rules! sel {
        ($($v:ident),*) => {
            match (x, y) {
                $((Data::$v(mut p), Data::$v(q)) => {
                    for ((p, q), s) in p.iter_mut().zip(q).zip(sel) {
                        if !s { *p = q; }
                    }
                    Data::$v(p)
                })*
                _ => return Err(OpError::Internal("select on mismatched data".into())),
            }
        };
    }
    Ok(sel!(F32, F16, BF16, I64, I32, I16, I8, U8, U16, F8E4M3FN, F8E5M2, F4E2M1, Bool))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn float_broadcast_add_sub() {
        let x = Tensor::f32(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let y = Tensor::f32(&[3], vec![10., 20., 30.]);
        let r = ev1(&Op::Add, &[&x, &y]);
        assert_eq!(r.shape, vec![2, 3]);
        assert_eq!(r.as_f32().unwrap(), &[11., 22., 33., 14., 25., 36.]);
        let r = ev1(&Op::Sub, &[&y, &x]);
        assert_eq!(r.as_f32().unwrap(), &[9., 18., 27., 6., 15., 24.]);
    }

    #[test]
    fn shape_mismatch_is_error() {
        let x = Tensor::f32(&[2, 3], vec![0.; 6]);
        let y = Tensor::f32(&[2], vec![0.; 2]);
        assert!(matches!(ev_err(&Op::Add, &[&x, &y]), OpError::Shape(_)));
        let z = Tensor::i32(&[3], vec![1, 2, 3]);
        assert!(matches!(ev_err(&Op::Add, &[&x, &z]), OpError::Shape(_)));
    }

    #[test]
    fn integer_ops_wrap_truncate_and_mod_sign() {
        let x = Tensor::i8(&[4], vec![127, -7, 7, -128]);
        let y = Tensor::i8(&[4], vec![1, 2, -2, -1]);
        assert_eq!(ev1(&Op::Add, &[&x, &y]).as_i8().unwrap(), &[-128, -5, 5, 127]);
        assert_eq!(ev1(&Op::Div, &[&x, &y]).as_i8().unwrap(), &[127, -3, -3, -128]);
        assert_eq!(ev1(&Op::Mod, &[&x, &y]).as_i8().unwrap(), &[0, 1, -1, 0]);
        assert_eq!(ev1(&Op::Mul, &[&x, &y]).as_i8().unwrap(), &[127, -14, -14, -128]);
        let z = Tensor::i8(&[1], vec![0]);
        assert!(matches!(ev_err(&Op::Div, &[&x, &z]), OpError::Value(_)));
        let u = Tensor::u8(&[2], vec![250, 3]);
        let v = Tensor::u8(&[1], vec![10]);
        assert_eq!(ev1(&Op::Add, &[&u, &v]).as_u8().unwrap(), &[4, 13]);
        assert_eq!(ev1(&Op::Sub, &[&v, &u]).as_u8().unwrap(), &[16, 7]);
    }

    #[test]
    fn float_mod_is_fmod() {
        let x = Tensor::f32(&[2], vec![-7.5, 7.5]);
        let y = Tensor::f32(&[1], vec![2.0]);
        assert_eq!(ev1(&Op::Mod, &[&x, &y]).as_f32().unwrap(), &[-1.5, 1.5]);
    }

    #[test]
    fn max_min_nary_and_nan() {
        let a = Tensor::f32(&[3], vec![1., 5., f32::NAN]);
        let b = Tensor::f32(&[1], vec![3.]);
        let c = Tensor::f32(&[3], vec![0., 9., 0.]);
        let r = ev1(&Op::Max, &[&a, &b, &c]);
        let v = r.as_f32().unwrap();
        assert_eq!(&v[..2], &[3., 9.]);
        assert!(v[2].is_nan());
        let r = ev1(&Op::Min, &[&a, &b]);
        assert_eq!(&r.as_f32().unwrap()[..2], &[1., 3.]);
        let x = Tensor::i32(&[2], vec![-4, 4]);
        let y = Tensor::i32(&[], vec![0]);
        assert_eq!(ev1(&Op::Max, &[&x, &y]).as_i32().unwrap(), &[0, 4]);
    }

    #[test]
    fn comparisons_and_logic() {
        let x = Tensor::i64(&[3], vec![1, 2, 3]);
        let y = Tensor::i64(&[], vec![2]);
        assert_eq!(ev1(&Op::Less, &[&x, &y]).as_bool().unwrap(), &[true, false, false]);
        assert_eq!(ev1(&Op::GreaterOrEqual, &[&x, &y]).as_bool().unwrap(), &[false, true, true]);
        assert_eq!(ev1(&Op::Equal, &[&x, &y]).as_bool().unwrap(), &[false, true, false]);
        let p = Tensor::new(vec![2], Data::Bool(vec![true, false])).unwrap();
        let q = Tensor::new(vec![2, 1], Data::Bool(vec![true, false])).unwrap();
        let r = ev1(&Op::Xor, &[&p, &q]);
        assert_eq!(r.shape, vec![2, 2]);
        assert_eq!(r.as_bool().unwrap(), &[false, true, true, false]);
        assert!(matches!(ev_err(&Op::And, &[&x, &p]), OpError::DType { .. }));
    }

    #[test]
    fn pow_and_where() {
        let x = Tensor::f32(&[3], vec![2., 3., 4.]);
        let e = Tensor::i64(&[], vec![2]);
        assert_eq!(ev1(&Op::Pow, &[&x, &e]).as_f32().unwrap(), &[4., 9., 16.]);
        let c = Tensor::new(vec![2, 1], Data::Bool(vec![true, false])).unwrap();
        let a = Tensor::i32(&[3], vec![1, 2, 3]);
        let b = Tensor::i32(&[], vec![0]);
        let r = ev1(&Op::Where, &[&c, &a, &b]);
        assert_eq!(r.shape, vec![2, 3]);
        assert_eq!(r.as_i32().unwrap(), &[1, 2, 3, 0, 0, 0]);
    }

    #[test]
    fn empty_broadcast() {
        let x = Tensor::f32(&[0, 2], vec![]);
        let y = Tensor::f32(&[2], vec![1., 2.]);
        let r = ev1(&Op::Mul, &[&x, &y]);
        assert_eq!(r.shape, vec![0, 2]);
        let z = Tensor::i32(&[0], vec![]);
        let w = Tensor::i32(&[1], vec![0]);
        assert_eq!(ev1(&Op::Div, &[&z, &w]).shape, vec![0]);
    }
}
