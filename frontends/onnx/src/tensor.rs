//! `TensorProto` ↔ [`qcc_ir::Tensor`]: element types, `raw_data` and the typed fields
//! (`float_data`, `int32_data`, `int64_data`, …), packed 4- and 2-bit types (first element in
//! the lowest bits), float8 as one byte per element, and external data.

use crate::error::OnnxError;
use crate::external::ExternalReader;
use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::proto::TensorProto;
use half::{bf16, f16};
use qcc_ir::minifloat::{F4E2M1, F8E4M3FN, F8E5M2};
use qcc_ir::{DType, Data, Tensor};

/// The ONNX `TensorProto.DataType` code of a qcc dtype.
pub fn dtype_to_onnx(d: DType) -> i32 {
    (match d {
        DType::F32 => DataType::Float,
        DType::F16 => DataType::Float16,
        DType::BF16 => DataType::Bfloat16,
        DType::I64 => DataType::Int64,
        DType::I32 => DataType::Int32,
        DType::I16 => DataType::Int16,
        DType::I8 => DataType::Int8,
        DType::U8 => DataType::Uint8,
        DType::I4 => DataType::Int4,
        DType::U4 => DataType::Uint4,
        DType::U16 => DataType::Uint16,
        DType::I2 => DataType::Int2,
        DType::U2 => DataType::Uint2,
        DType::F8E4M3FN => DataType::Float8e4m3fn,
        DType::F8E5M2 => DataType::Float8e5m2,
        DType::F4E2M1 => DataType::Float4e2m1,
        DType::Bool => DataType::Bool,
    }) as i32
}

/// The qcc dtype of an ONNX data type code; `name` is used in the error.
pub fn dtype_from_onnx(code: i32, name: &str) -> Result<DType, OnnxError> {
    let dt = DataType::try_from(code).ok();
    Ok(match dt {
        Some(DataType::Float) => DType::F32,
        Some(DataType::Float16) => DType::F16,
        Some(DataType::Bfloat16) => DType::BF16,
        Some(DataType::Int64) => DType::I64,
        Some(DataType::Int32) => DType::I32,
        Some(DataType::Int16) => DType::I16,
        Some(DataType::Int8) => DType::I8,
        Some(DataType::Uint8) => DType::U8,
        Some(DataType::Int4) => DType::I4,
        Some(DataType::Uint4) => DType::U4,
        Some(DataType::Uint16) => DType::U16,
        Some(DataType::Int2) => DType::I2,
        Some(DataType::Uint2) => DType::U2,
        Some(DataType::Float8e4m3fn) => DType::F8E4M3FN,
        Some(DataType::Float8e5m2) => DType::F8E5M2,
        Some(DataType::Float4e2m1) => DType::F4E2M1,
        Some(DataType::Bool) => DType::Bool,
        _ => {
            return Err(OnnxError::UnsupportedDType {
                name: name.to_string(),
                dtype: dt.map(|d| d.as_str_name().to_string()).unwrap_or(format!("code {code}")),
            })
        }
    })
}

/// Decodes a serialized `TensorProto` (an `input_0.pb` of the ONNX test data).
pub fn tensor_from_bytes(bytes: &[u8]) -> Result<Tensor, OnnxError> {
    use prost::Message;
    let tp = TensorProto::decode(bytes)
        .map_err(|source| OnnxError::Decode { what: "TensorProto", source })?;
    tensor_from_proto(&tp)
}

/// Converts a `TensorProto` whose data is inside the message (raw or typed fields).
/// Tensors with external data need [`crate::import_file`], which knows the model's folder.
pub fn tensor_from_proto(tp: &TensorProto) -> Result<Tensor, OnnxError> {
    tensor_from_proto_ext(tp, None, &qcc_ir::Limits::default())
}

pub(crate) fn tensor_from_proto_ext(
    tp: &TensorProto,
    ext: Option<&mut ExternalReader>,
    limits: &qcc_ir::Limits,
) -> Result<Tensor, OnnxError> {
    let name = tp.name.clone().unwrap_or_default();
    let bad = |reason: String| OnnxError::BadTensor { tensor: name.clone(), reason };
    if tp.segment.is_some() {
        return Err(bad("segmented tensors are not supported".into()));
    }
    let dtype = dtype_from_onnx(tp.data_type.unwrap_or(0), &name)?;
    let mut shape = Vec::with_capacity(tp.dims.len());
    for &d in &tp.dims {
        if d < 0 {
            return Err(bad(format!("negative dimension {d} in {:?}", tp.dims)));
        }
        shape.push(d as usize);
    }
    // Checked before any data is read or allocated.
    limits.tensor_bytes_usize(&name, dtype, &shape)?;
    let n = qcc_ir::tensor::numel(&shape).map_err(|e| bad(e.to_string()))?;
    let external = tp.data_location == Some(DataLocation::External as i32);
    let raw: Option<Vec<u8>> = if external {
        let Some(ext) = ext else {
            return Err(OnnxError::ExternalData {
                tensor: name,
                reason: "external data needs the model's folder (use import_file)".into(),
            });
        };
        Some(ext.read(tp, &name)?)
    } else {
        tp.raw_data.clone()
    };
    let sized = |bytes: usize| -> Result<(), OnnxError> {
        if bytes != n_bytes(dtype, n) {
            return Err(bad(format!(
                "raw data has {bytes} bytes, shape {shape:?} of {} needs {}",
                dtype,
                n_bytes(dtype, n)
            )));
        }
        Ok(())
    };
    if let Some(raw) = raw {
        sized(raw.len())?;
        return match packed_bits(dtype) {
            Some(bits) => Ok(Tensor::with_dtype(dtype, shape, unpack(&raw, n, dtype, bits))?),
            None => Ok(Tensor::from_le_bytes(dtype, shape, &raw)?),
        };
    }
    let count = |got: usize| -> Result<(), OnnxError> {
        if got != n {
            return Err(bad(format!("{got} elements for shape {shape:?} ({n} needed)")));
        }
        Ok(())
    };
    let i32s = &tp.int32_data;
    let data = match dtype {
        DType::F32 => {
            count(tp.float_data.len())?;
            Data::F32(tp.float_data.clone())
        }
        DType::I64 => {
            count(tp.int64_data.len())?;
            Data::I64(tp.int64_data.clone())
        }
        DType::I32 => {
            count(i32s.len())?;
            Data::I32(i32s.clone())
        }
        DType::I16 => {
            count(i32s.len())?;
            Data::I16(i32s.iter().map(|&x| x as i16).collect())
        }
        DType::I8 => {
            count(i32s.len())?;
            Data::I8(i32s.iter().map(|&x| x as i8).collect())
        }
        DType::U8 => {
            count(i32s.len())?;
            Data::U8(i32s.iter().map(|&x| x as u8).collect())
        }
        DType::U16 => {
            count(i32s.len())?;
            Data::U16(i32s.iter().map(|&x| x as u16).collect())
        }
        DType::F8E4M3FN => {
            count(i32s.len())?;
            Data::F8E4M3FN(i32s.iter().map(|&x| F8E4M3FN(x as u8)).collect())
        }
        DType::F8E5M2 => {
            count(i32s.len())?;
            Data::F8E5M2(i32s.iter().map(|&x| F8E5M2(x as u8)).collect())
        }
        DType::Bool => {
            count(i32s.len())?;
            Data::Bool(i32s.iter().map(|&x| x != 0).collect())
        }
        DType::F16 => {
            count(i32s.len())?;
            Data::F16(i32s.iter().map(|&x| f16::from_bits(x as u16)).collect())
        }
        DType::BF16 => {
            count(i32s.len())?;
            Data::BF16(i32s.iter().map(|&x| bf16::from_bits(x as u16)).collect())
        }
        DType::I4 | DType::U4 | DType::I2 | DType::U2 | DType::F4E2M1 => {
            let need = n_bytes(dtype, n);
            if i32s.len() != need {
                return Err(bad(format!(
                    "{} packed bytes for shape {shape:?} ({need} needed)",
                    i32s.len(),
                )));
            }
            let bytes: Vec<u8> = i32s.iter().map(|&x| x as u8).collect();
            unpack(&bytes, n, dtype, packed_bits(dtype).unwrap_or(4))
        }
    };
    Ok(Tensor::with_dtype(dtype, shape, data)?)
}

/// Bits per element of the types ONNX packs several to a byte.
fn packed_bits(dtype: DType) -> Option<u32> {
    match dtype {
        DType::I4 | DType::U4 | DType::F4E2M1 => Some(4),
        DType::I2 | DType::U2 => Some(2),
        _ => None,
    }
}

/// Bytes of `n` elements as ONNX stores them (4-bit types packed two per byte, 2-bit four).
pub(crate) fn n_bytes(dtype: DType, n: usize) -> usize {
    match packed_bits(dtype) {
        Some(bits) => n.div_ceil((8 / bits) as usize),
        None => n.saturating_mul(dtype.size_bytes()),
    }
}

/// The `n` packed `bits`-wide fields of `bytes` (first in the lowest bits) as `dtype` storage;
/// `bytes` holds at least `n_bytes(dtype, n)` bytes (checked by the callers).
fn unpack(bytes: &[u8], n: usize, dtype: DType, bits: u32) -> Data {
    let per = (8 / bits) as usize;
    let mask = (1u8 << bits) - 1;
    let field = |i: usize| -> u8 { (bytes[i / per] >> ((i % per) as u32 * bits)) & mask };
    let shift = 8 - bits;
    match dtype {
        DType::I4 | DType::I2 => {
            Data::I8((0..n).map(|i| ((field(i) << shift) as i8) >> shift).collect())
        }
        DType::F4E2M1 => Data::F4E2M1((0..n).map(|i| F4E2M1(field(i))).collect()),
        _ => Data::U8((0..n).map(field).collect()),
    }
}

/// Packs the elements of a sub-byte tensor `bits` wide, first in the lowest bits.
fn pack(t: &Tensor, bits: u32) -> Vec<u8> {
    let mask = (1u8 << bits) - 1;
    let vals: Vec<u8> = match &t.data {
        Data::I8(v) => v.iter().map(|&x| (x as u8) & mask).collect(),
        Data::U8(v) => v.iter().map(|&x| x & mask).collect(),
        Data::F4E2M1(v) => v.iter().map(|&x| x.0 & mask).collect(),
        _ => Vec::new(),
    };
    let per = (8 / bits) as usize;
    vals.chunks(per)
        .map(|c| c.iter().enumerate().fold(0u8, |b, (k, &x)| b | (x << (k as u32 * bits))))
        .collect()
}

/// Converts a qcc tensor to a `TensorProto` named `name` (data in `raw_data`, little-endian;
/// 4-bit types packed two per byte and 2-bit four, first element in the lowest bits).
pub fn tensor_to_proto(name: &str, t: &Tensor) -> TensorProto {
    let raw = match packed_bits(t.dtype) {
        Some(bits) => pack(t, bits),
        None => t.to_le_bytes(),
    };
    TensorProto {
        dims: t.shape.iter().map(|&d| d as i64).collect(),
        data_type: Some(dtype_to_onnx(t.dtype)),
        name: Some(name.to_string()),
        raw_data: Some(raw),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_dtype_tensors() -> Vec<Tensor> {
        let v = [-8i64, -1, 0, 3, 7, 5];
        let mut out: Vec<Tensor> = DType::ALL
            .iter()
            .map(|&d| Tensor::from_i64_saturating(d, vec![2, 3], &v).expect("tensor"))
            .collect();
        out.push(Tensor::f32(&[], vec![1.5]));
        out.push(
            Tensor::from_i64_saturating(DType::I4, vec![5], &[-8, 7, -1, 0, 3]).expect("odd i4"),
        );
        out.push(Tensor::from_i64_saturating(DType::U2, vec![5], &[3, 0, 1, 2, 3]).expect("u2"));
        out.push(Tensor::from_i64_saturating(DType::F4E2M1, vec![3], &[-6, 1, 3]).expect("odd f4"));
        out
    }

    #[test]
    fn raw_data_round_trips_every_dtype() {
        for t in all_dtype_tensors() {
            let tp = tensor_to_proto("t", &t);
            assert_eq!(tensor_from_proto(&tp).expect("decodes"), t, "{}", t.dtype);
        }
    }

    #[test]
    fn four_bit_types_are_packed_low_nibble_first() {
        let t = Tensor::from_i64_saturating(DType::I4, vec![3], &[-1, 2, -8]).expect("i4");
        let tp = tensor_to_proto("t", &t);
        assert_eq!(tp.raw_data.as_deref(), Some(&[0x2f, 0x08][..]));
        let u = Tensor::from_i64_saturating(DType::U4, vec![2], &[15, 1]).expect("u4");
        assert_eq!(tensor_to_proto("u", &u).raw_data.as_deref(), Some(&[0x1f][..]));
    }

    #[test]
    fn typed_fields_decode() {
        let mk = |dt: DataType, dims: Vec<i64>| TensorProto {
            dims,
            data_type: Some(dt as i32),
            ..Default::default()
        };
        let mut tp = mk(DataType::Float, vec![2]);
        tp.float_data = vec![1.0, -2.0];
        assert_eq!(tensor_from_proto(&tp).expect("f32"), Tensor::f32(&[2], vec![1.0, -2.0]));
        let mut tp = mk(DataType::Int64, vec![1]);
        tp.int64_data = vec![-5];
        assert_eq!(tensor_from_proto(&tp).expect("i64"), Tensor::i64(&[1], vec![-5]));
        let mut tp = mk(DataType::Uint8, vec![2]);
        tp.int32_data = vec![255, 3];
        assert_eq!(tensor_from_proto(&tp).expect("u8"), Tensor::u8(&[2], vec![255, 3]));
        let mut tp = mk(DataType::Int8, vec![2]);
        tp.int32_data = vec![-128, 127];
        assert_eq!(tensor_from_proto(&tp).expect("i8"), Tensor::i8(&[2], vec![-128, 127]));
        let mut tp = mk(DataType::Float16, vec![1]);
        tp.int32_data = vec![0x3c00];
        let t = tensor_from_proto(&tp).expect("f16");
        assert_eq!(t.to_f32_vec(), vec![1.0]);
        let mut tp = mk(DataType::Int4, vec![3]);
        tp.int32_data = vec![0x2f, 0x08];
        let t = tensor_from_proto(&tp).expect("i4");
        assert_eq!(t.dtype, DType::I4);
        assert_eq!(t.to_i64_vec(), Some(vec![-1, 2, -8]));
        let mut tp = mk(DataType::Bool, vec![2]);
        tp.int32_data = vec![1, 0];
        assert_eq!(tensor_from_proto(&tp).expect("bool").to_i64_vec(), Some(vec![1, 0]));
    }

    #[test]
    fn low_bit_typed_fields_decode_as_the_onnx_node_tests() {
        let mk = |dt: DataType, dims: Vec<i64>, i32s: Vec<i32>| TensorProto {
            dims,
            data_type: Some(dt as i32),
            int32_data: i32s,
            ..Default::default()
        };
        // test_dequantizelinear_int2 / _uint2: one byte holds four 2-bit values, lowest first.
        let t = tensor_from_proto(&mk(DataType::Int2, vec![4], vec![180])).expect("int2");
        assert_eq!((t.dtype, t.to_i64_vec()), (DType::I2, Some(vec![0, 1, -1, -2])));
        let t = tensor_from_proto(&mk(DataType::Uint2, vec![4], vec![228])).expect("uint2");
        assert_eq!(t.to_i64_vec(), Some(vec![0, 1, 2, 3]));
        // test_quantizelinear_int2: a [3] zero point packed into one entry.
        let t = tensor_from_proto(&mk(DataType::Int2, vec![3], vec![0])).expect("int2 zp");
        assert_eq!(t.to_i64_vec(), Some(vec![0, 0, 0]));
        // test_dequantizelinear_float4e2m1: five float4 values in three bytes.
        let t =
            tensor_from_proto(&mk(DataType::Float4e2m1, vec![5], vec![32, 58, 14])).expect("f4");
        assert_eq!((t.dtype, t.to_f32_vec()), (DType::F4E2M1, vec![0.0, 1.0, -1.0, 1.5, -4.0]));
        // float8: one element per int32 entry.
        let t = tensor_from_proto(&mk(DataType::Float8e4m3fn, vec![2], vec![56, 237])).expect("e4");
        assert_eq!(t.to_f32_vec(), vec![1.0, -104.0]);
        let t = tensor_from_proto(&mk(DataType::Float8e5m2, vec![2], vec![60, 124])).expect("e5");
        assert_eq!(t.to_f32_vec(), vec![1.0, f32::INFINITY]);
        let t = tensor_from_proto(&mk(DataType::Uint16, vec![1], vec![65535])).expect("u16");
        assert_eq!(t.to_i64_vec(), Some(vec![65535]));
        // Wrong packed counts are errors, not panics.
        assert!(tensor_from_proto(&mk(DataType::Int2, vec![5], vec![0])).is_err());
        assert!(tensor_from_proto(&mk(DataType::Float4e2m1, vec![3], vec![0])).is_err());
        // 2-bit packing on export, lowest bits first; an odd tail is zero-filled.
        let t = Tensor::from_i64_saturating(DType::I2, vec![5], &[0, 1, -1, -2, 1]).expect("i2");
        assert_eq!(tensor_to_proto("t", &t).raw_data.as_deref(), Some(&[180u8, 1][..]));
    }

    #[test]
    fn inconsistent_tensors_are_errors() {
        let mut tp = TensorProto {
            dims: vec![3],
            data_type: Some(DataType::Float as i32),
            float_data: vec![1.0],
            ..Default::default()
        };
        assert!(matches!(tensor_from_proto(&tp), Err(OnnxError::BadTensor { .. })));
        tp.float_data.clear();
        tp.raw_data = Some(vec![0; 11]);
        assert!(matches!(tensor_from_proto(&tp), Err(OnnxError::BadTensor { .. })));
        tp.data_type = Some(DataType::Double as i32);
        assert!(matches!(tensor_from_proto(&tp), Err(OnnxError::UnsupportedDType { .. })));
        tp.data_type = Some(DataType::Float as i32);
        tp.dims = vec![i64::MAX, i64::MAX];
        assert!(tensor_from_proto(&tp).is_err());
    }
}
