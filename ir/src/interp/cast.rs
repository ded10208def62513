//! `Cast`: float → integer rounds half to even, then saturates to the target range (NaN → 0;
//! ONNX leaves out-of-range conversions undefined, qcc fixes this choice); integer → integer
//! saturates; anything → bool is `!= 0`; to float converts to nearest. To the low-precision
//! floats (float8, float4) it rounds to nearest even with the `saturate` rule of
//! [`crate::minifloat`]; their values widen exactly.

use super::util::{mk, Args, R};
use crate::dtype::DType;
use crate::tensor::{Data, Tensor};
use half::{bf16, f16};

/// Converts a tensor to `to` (`saturate` applies to the low-precision float targets).
pub(crate) fn cast(x: &Tensor, to: DType, saturate: bool) -> R<Tensor> {
    if x.dtype == to {
        return Ok(x.clone());
    }
    let n = x.numel();
    let data = if to.is_minifloat() {
        // f32 holds every value of the float sources exactly except f64-only integers; those
        // are first rounded to f32 (one rounding more than ONNX for |x| > 2^24, far out of
        // range of these types anyway).
        let v = x.to_f32_vec();
        Data::minifloat_from_f32(to, &v, saturate)
            .ok_or_else(|| super::OpError::Internal(format!("{to} is not a minifloat")))?
    } else if to.is_float() {
        let v: Vec<f64> = match &x.data {
            Data::F32(v) => v.iter().map(|&e| e as f64).collect(),
            _ => x.to_f64_vec(),
        };
        match to {
            DType::F32 => Data::F32(match &x.data {
                Data::I64(w) => w.iter().map(|&e| e as f32).collect(),
                _ => v.iter().map(|&e| e as f32).collect(),
            }),
            DType::F16 => Data::F16(match &x.data {
                Data::F32(w) => w.iter().map(|&e| f16::from_f32(e)).collect(),
                _ => v.iter().map(|&e| f16::from_f64(e)).collect(),
            }),
            _ => Data::BF16(match &x.data {
                Data::F32(w) => w.iter().map(|&e| bf16::from_f32(e)).collect(),
                _ => v.iter().map(|&e| bf16::from_f64(e)).collect(),
            }),
        }
    } else if to == DType::Bool {
        Data::Bool(x.to_f64_vec().into_iter().map(|e| e != 0.0).collect())
    } else {
        let v: Vec<i64> = match x.to_i64_vec() {
            Some(v) => v,
            None => x
                .to_f64_vec()
                .into_iter()
                .map(|e| {
                    // f64 holds every f32/f16/bf16 exactly: round half to even there; `as`
                    // saturates and maps NaN to 0.
                    e.round_ties_even() as i64
                })
                .collect(),
        };
        debug_assert_eq!(v.len(), n);
        return Tensor::from_i64_saturating(to, x.shape.clone(), &v)
            .map_err(|e| super::OpError::Internal(e.to_string()));
    };
    mk(to, x.shape.clone(), data)
}

/// `Cast(x)` to `to`.
pub(crate) fn cast_op(a: &Args<'_>, to: DType, saturate: bool) -> R<Tensor> {
    a.arity(1, 1)?;
    cast(a.req(0)?, to, saturate)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::{CastAttrs, Op};

    #[test]
    fn float_to_int_rounds_even_and_saturates() {
        let x = Tensor::f32(&[8], vec![0.5, 1.5, 2.5, -0.5, -1.5, 300.0, -300.0, f32::NAN]);
        let r = ev1(&Op::Cast(CastAttrs::new(DType::I8)), &[&x]);
        assert_eq!(r.as_i8().unwrap(), &[0, 2, 2, 0, -2, 127, -128, 0]);
        let r = ev1(&Op::Cast(CastAttrs::new(DType::U8)), &[&x]);
        assert_eq!(r.as_u8().unwrap(), &[0, 2, 2, 0, 0, 255, 0, 0]);
        let r = ev1(&Op::Cast(CastAttrs::new(DType::I64)), &[&Tensor::f32(&[1], vec![1e20])]);
        assert_eq!(r.as_i64().unwrap(), &[i64::MAX]);
    }

    #[test]
    fn int_bool_float_conversions() {
        let x = Tensor::i32(&[3], vec![-1, 0, 70000]);
        assert_eq!(
            ev1(&Op::Cast(CastAttrs::new(DType::I16)), &[&x]).as_i16().unwrap(),
            &[-1, 0, 32767]
        );
        assert_eq!(
            ev1(&Op::Cast(CastAttrs::new(DType::Bool)), &[&x]).as_bool().unwrap(),
            &[true, false, true]
        );
        assert_eq!(
            ev1(&Op::Cast(CastAttrs::new(DType::F32)), &[&x]).as_f32().unwrap(),
            &[-1., 0., 70000.]
        );
        let h = ev1(&Op::Cast(CastAttrs::new(DType::F16)), &[&Tensor::f32(&[1], vec![1.5])]);
        assert_eq!(ev1(&Op::Cast(CastAttrs::new(DType::F32)), &[&h]).as_f32().unwrap(), &[1.5]);
        let e = Tensor::f32(&[0, 2], vec![]);
        assert_eq!(ev1(&Op::Cast(CastAttrs::new(DType::I8)), &[&e]).shape, vec![0, 2]);
    }
}
