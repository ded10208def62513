//! Normalization: `Softmax` and `LogSoftmax` along one axis, `LayerNormalization` (with its
//! optional Mean and InvStdDev results), inference-mode `BatchNormalization` and
//! `InstanceNormalization`. Statistics accumulate in f64.

use super::broadcast::broadcast_index;
use super::util::{dtype_err, float_out, floats, norm_axis, numel, shape_err, Args, R};
use crate::ops::LayerNormAttrs;
use crate::tensor::Tensor;

/// `Softmax` (or `LogSoftmax` when `log`) along `axis`.
pub(crate) fn softmax(a: &Args<'_>, axis: i64, log: bool) -> R<Tensor> {
    a.arity(1, 1)?;
    let x = a.req(0)?;
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    let ax = norm_axis(axis, x.rank())?;
    let d = x.shape[ax];
    let outer = numel(&x.shape[..ax])?;
    let inner = numel(&x.shape[ax + 1..])?;
    let v = floats(x, 0)?;
    let mut out = vec![0f32; v.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * d + k) * inner + i;
            let m = (0..d).map(|k| v[at(k)]).fold(f32::NEG_INFINITY, f32::max);
            let s: f64 = (0..d).map(|k| ((v[at(k)] - m) as f64).exp()).sum();
            for k in 0..d {
                let z = (v[at(k)] - m) as f64;
                out[at(k)] = if log { (z - s.ln()) as f32 } else { (z.exp() / s) as f32 };
            }
        }
    }
    float_out(x.dtype, x.shape.clone(), out)
}

/// Broadcasts a parameter to `shape` (the normalized trailing shape), as f32.
fn param(t: &Tensor, operand: usize, shape: &[usize]) -> R<Vec<f32>> {
    let v = floats(t, operand)?;
    let idx = broadcast_index(&t.shape, shape)?;
    Ok(idx.iter().map(|&i| v[i]).collect())
}

/// `LayerNormalization(x, scale, bias?)` → (y, mean?, inv_std_dev?).
pub(crate) fn layer_norm(a: &Args<'_>, at: &LayerNormAttrs) -> R<Vec<Tensor>> {
    a.arity(2, 3)?;
    let x = a.req(0)?;
    if !x.dtype.is_float() {
        return Err(dtype_err(0, x.dtype));
    }
    let ax = norm_axis(at.axis, x.rank())?;
    let tail = &x.shape[ax..];
    let d = numel(tail)?;
    let outer = numel(&x.shape[..ax])?;
    let scale = param(a.req(1)?, 1, tail)?;
    let bias = match a.opt(2) {
        Some(b) => Some(param(b, 2, tail)?),
        None => None,
    };
    let v = floats(x, 0)?;
    let mut out = vec![0f32; v.len()];
    let mut means = Vec::with_capacity(outer);
    let mut invs = Vec::with_capacity(outer);
    for o in 0..outer {
        let row = &v[o * d..(o + 1) * d];
        let mean = row.iter().map(|&e| e as f64).sum::<f64>() / d.max(1) as f64;
        let var = row.iter().map(|&e| (e as f64 - mean).powi(2)).sum::<f64>() / d.max(1) as f64;
        let inv = 1.0 / (var + at.epsilon as f64).sqrt();
        for k in 0..d {
            let n = ((row[k] as f64 - mean) * inv) as f32;
            out[o * d + k] = n * scale[k] + bias.as_ref().map_or(0.0, |b| b[k]);
        }
        means.push(mean as f32);
        invs.push(inv as f32);
    }
    let mut res = vec![float_out(x.dtype, x.shape.clone(), out)?];
    let mut sshape = x.shape[..ax].to_vec();
    sshape.extend(std::iter::repeat_n(1, x.rank() - ax));
    if a.nresults() > 1 {
        res.push(Tensor::f32(&sshape, means));
    }
    if a.nresults() > 2 {
        res.push(Tensor::f32(&sshape, invs));
    }
    Ok(res)
}

fn channel_param(a: &Args<'_>, i: usize, c: usize) -> R<Vec<f32>> {
    let t = a.req(i)?;
    if t.numel() != c || t.rank() != 1 {
        return Err(shape_err(format!("operand {i} has shape {:?}, expected [{c}]", t.shape)));
    }
    Ok(floats(t, i)?.into_owned())
}

/// `BatchNormalization(x, scale, bias, mean, var)` in inference mode.
pub(crate) fn batch_norm(a: &Args<'_>, eps: f32) -> R<Tensor> {
    a.arity(5, 5)?;
    let x = a.req(0)?;
    if !x.dtype.is_float() || x.rank() < 2 {
        return Err(if x.dtype.is_float() {
            shape_err("BatchNormalization needs rank >= 2")
        } else {
            dtype_err(0, x.dtype)
        });
    }
    let c = x.shape[1];
    let (s, b, m, var) = (
        channel_param(a, 1, c)?,
        channel_param(a, 2, c)?,
        channel_param(a, 3, c)?,
        channel_param(a, 4, c)?,
    );
    let inner = numel(&x.shape[2..])?;
    let v = floats(x, 0)?;
    let mut out = vec![0f32; v.len()];
    for (p, (o, i)) in out.chunks_mut(inner.max(1)).zip(v.chunks(inner.max(1))).enumerate() {
        let ch = p % c;
        let inv = 1.0 / (var[ch] + eps).sqrt();
        for (o, &e) in o.iter_mut().zip(i) {
            *o = (e - m[ch]) * inv * s[ch] + b[ch];
        }
    }
    float_out(x.dtype, x.shape.clone(), out)
}

/// `InstanceNormalization(x, scale, bias)`.
pub(crate) fn instance_norm(a: &Args<'_>, eps: f32) -> R<Tensor> {
    a.arity(3, 3)?;
    let x = a.req(0)?;
    if !x.dtype.is_float() || x.rank() < 3 {
        return Err(if x.dtype.is_float() {
            shape_err("InstanceNormalization needs rank >= 3")
        } else {
            dtype_err(0, x.dtype)
        });
    }
    let c = x.shape[1];
    let (s, b) = (channel_param(a, 1, c)?, channel_param(a, 2, c)?);
    let inner = numel(&x.shape[2..])?;
    let v = floats(x, 0)?;
    let mut out = vec![0f32; v.len()];
    for (p, (o, i)) in out.chunks_mut(inner.max(1)).zip(v.chunks(inner.max(1))).enumerate() {
        let ch = p % c;
        let mean = i.iter().map(|&e| e as f64).sum::<f64>() / inner as f64;
        let var = i.iter().map(|&e| (e as f64 - mean).powi(2)).sum::<f64>() / inner as f64;
        let inv = 1.0 / (var + eps as f64).sqrt();
        for (o, &e) in o.iter_mut().zip(i) {
            *o = ((e as f64 - mean) * inv) as f32 * s[ch] + b[ch];
        }
    }
    float_out(x.dtype, x.shape.clone(), out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::ops::{AxisAttrs, EpsAttrs, Op};

    #[test]
    fn softmax_and_log_softmax() {
        let x = Tensor::f32(&[2, 2], vec![0., 0., 1., 3.]);
        let r = ev1(&Op::Softmax(AxisAttrs { axis: -1 }), &[&x]);
        close(r.as_f32().unwrap(), &[0.5, 0.5, 0.11920292, 0.88079708], 1e-6);
        let r = ev1(&Op::Softmax(AxisAttrs { axis: 0 }), &[&x]);
        close(r.as_f32().unwrap(), &[0.26894142, 0.04742587, 0.73105858, 0.95257413], 1e-6);
        let r = ev1(&Op::LogSoftmax(AxisAttrs { axis: 1 }), &[&x]);
        close(r.as_f32().unwrap(), &[-0.69314718, -0.69314718, -2.12692801, -0.12692801], 1e-6);
        let big = Tensor::f32(&[2], vec![1000., 1000.]);
        close(
            ev1(&Op::Softmax(AxisAttrs { axis: 0 }), &[&big]).as_f32().unwrap(),
            &[0.5, 0.5],
            1e-7,
        );
        assert!(ev(&Op::Softmax(AxisAttrs { axis: 2 }), &[&x]).is_err());
    }

    #[test]
    fn layer_norm_with_stats() {
        let x = Tensor::f32(&[2, 2], vec![1., 3., 2., 6.]);
        let s = Tensor::f32(&[2], vec![1., 2.]);
        let b = Tensor::f32(&[2], vec![0., 1.]);
        let r = evo(
            &Op::LayerNormalization(LayerNormAttrs { axis: -1, epsilon: 0.0 }),
            &[Some(&x), Some(&s), Some(&b)],
            3,
        )
        .unwrap();
        close(r[0].as_f32().unwrap(), &[-1., 3., -1., 3.], 1e-6);
        assert_eq!(r[1].shape, vec![2, 1]);
        close(r[1].as_f32().unwrap(), &[2., 4.], 1e-7);
        close(r[2].as_f32().unwrap(), &[1., 0.5], 1e-7);
        let bad = Tensor::f32(&[3], vec![1.; 3]);
        assert!(ev(&Op::LayerNormalization(LayerNormAttrs::default()), &[&x, &bad]).is_err());
    }

    #[test]
    fn batch_and_instance_norm() {
        let x = Tensor::f32(&[1, 2, 2], vec![1., 3., 10., 20.]);
        let p = |v: Vec<f32>| Tensor::f32(&[2], v);
        let r = ev1(
            &Op::BatchNormalization(EpsAttrs { epsilon: 0.0 }),
            &[&x, &p(vec![2., 1.]), &p(vec![1., 0.]), &p(vec![1., 10.]), &p(vec![4., 25.])],
        );
        close(r.as_f32().unwrap(), &[1., 3., 0., 2.], 1e-6);
        let r = ev1(
            &Op::InstanceNormalization(EpsAttrs { epsilon: 0.0 }),
            &[&x, &p(vec![1., 2.]), &p(vec![0., 1.])],
        );
        close(r.as_f32().unwrap(), &[-1., 1., -1., 3.], 1e-6);
        assert!(ev(
            &Op::BatchNormalization(EpsAttrs::default()),
            &[
                &x,
                &p(vec![1.; 2]),
                &p(vec![1.; 2]),
                &p(vec![1.; 2]),
                &Tensor::f32(&[3], vec![1.; 3])
            ]
        )
        .is_err());
    }
}
