//! `.npz` / `.npy` data files (DESIGN §8): one array per model input or output, shaped
//! `[M, *shape]` for M samples.

use npyz::npz::{NpzArchive, NpzWriter};
use npyz::WriterBuilder;
use qcc_ir::{DType, Data, Tensor};
use std::path::{Path, PathBuf};

/// Errors reading or writing data files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// File system or format error.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An array has a dtype qcc does not read.
    #[error("{path}: array `{name}` has dtype `{dtype}`; qcc reads f32, f64, f16, i64, i32, i16, i8, u8 and bool")]
    DType {
        /// The file.
        path: PathBuf,
        /// The array.
        name: String,
        /// Its numpy type string.
        dtype: String,
    },
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::File { path: path.to_path_buf(), message: e.to_string() }
}

fn read_npy<R: std::io::Read>(
    path: &Path,
    name: &str,
    npy: npyz::NpyFile<R>,
) -> Result<Tensor, DataError> {
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(DataError::DType {
                path: path.into(),
                name: name.into(),
                dtype: format!("{other:?}"),
            });
        }
    };
    if npy.order() == npyz::Order::Fortran && shape.len() > 1 {
        return Err(file_err(
            path,
            format!("array `{name}` is in Fortran order; save it C-contiguous"),
        ));
    }
    let e = |err: std::io::Error| file_err(path, format!("array `{name}`: {err}"));
    let data = match descr.trim_start_matches(['<', '|', '=']) {
        "f4" => Data::F32(npy.into_vec::<f32>().map_err(e)?),
        "f8" => {
            Data::F32(npy.into_vec::<f64>().map_err(e)?.into_iter().map(|x| x as f32).collect())
        }
        "f2" => Data::F16(npy.into_vec::<half::f16>().map_err(e)?),
        "i8" => Data::I64(npy.into_vec::<i64>().map_err(e)?),
        "i4" => Data::I32(npy.into_vec::<i32>().map_err(e)?),
        "i2" => Data::I16(npy.into_vec::<i16>().map_err(e)?),
        "i1" => Data::I8(npy.into_vec::<i8>().map_err(e)?),
        "u1" => Data::U8(npy.into_vec::<u8>().map_err(e)?),
        "b1" => Data::Bool(npy.into_vec::<bool>().map_err(e)?),
        _ => return Err(DataError::DType { path: path.into(), name: name.into(), dtype: descr }),
    };
    Tensor::new(shape, data).map_err(|err| file_err(path, format!("array `{name}`: {err}")))
}

/// Reads every array of an `.npz` file, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>, DataError> {
    let mut arch = NpzArchive::open(path)
        .map_err(|e| file_err(path, format!("not a readable .npz file: {e}")))?;
    let names: Vec<String> = arch.array_names().map(str::to_string).collect();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let npy = arch
            .by_name(&name)
            .map_err(|e| file_err(path, e))?
            .ok_or_else(|| file_err(path, format!("array `{name}` listed but missing")))?;
        let t = read_npy(path, &name, npy)?;
        out.push((name, t));
    }
    Ok(out)
}

/// Reads a single `.npy` file.
pub fn read_npy_file(path: &Path) -> Result<Tensor, DataError> {
    let bytes = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| file_err(path, format!("not a .npy file: {e}")))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    read_npy(path, &name, npy)
}

fn write_one<W: std::io::Write + std::io::Seek>(
    w: &mut NpzWriter<W>,
    name: &str,
    t: &Tensor,
) -> std::io::Result<()> {
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    macro_rules! put {
        ($ty:ty, $v:expr) => {{
            let mut a = w
                .array::<$ty>(name, Default::default())?
                .default_dtype()
                .shape(&shape)
                .begin_nd()?;
            a.extend($v.iter().copied())?;
            a.finish()
        }};
    }
    match &t.data {
        Data::F32(v) => put!(f32, v),
        Data::F16(v) => put!(half::f16, v),
        Data::BF16(v) => {
            let f: Vec<f32> = v.iter().map(|x| x.to_f32()).collect();
            put!(f32, f)
        }
        Data::I64(v) => put!(i64, v),
        Data::I32(v) => put!(i32, v),
        Data::I16(v) => put!(i16, v),
        Data::I8(v) => put!(i8, v),
        Data::U8(v) => put!(u8, v),
        Data::Bool(v) => put!(bool, v),
    }
}

/// Writes arrays to an `.npz` file (4-bit types are written as their byte storage).
pub fn write_npz(path: &Path, arrays: &[(String, Tensor)]) -> Result<(), DataError> {
    let mut w = NpzWriter::create(path).map_err(|e| file_err(path, e))?;
    for (name, t) in arrays {
        write_one(&mut w, name, t).map_err(|e| file_err(path, format!("array `{name}`: {e}")))?;
    }
    drop(w);
    Ok(())
}

/// Splits `[M, *shape]` into M tensors of `shape`.
pub fn split_samples(t: &Tensor) -> Result<Vec<Tensor>, String> {
    let Some((&m, rest)) = t.shape.split_first() else {
        return Err("a scalar cannot hold samples: arrays are shaped [M, *input_shape]".into());
    };
    let per: usize = rest.iter().product();
    let bytes = t.to_le_bytes();
    let w = t.dtype.size_bytes();
    (0..m)
        .map(|i| {
            Tensor::from_le_bytes(t.dtype, rest.to_vec(), &bytes[i * per * w..(i + 1) * per * w])
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Stacks M tensors of one shape into `[M, *shape]`.
pub fn stack_samples(ts: &[Tensor]) -> Result<Tensor, String> {
    let first = ts.first().ok_or("no samples to stack")?;
    let mut bytes = Vec::with_capacity(first.numel() * first.dtype.size_bytes() * ts.len());
    for t in ts {
        if t.shape != first.shape || t.dtype != first.dtype {
            return Err(format!(
                "samples differ: {:?} {} vs {:?} {}",
                t.shape, t.dtype, first.shape, first.dtype
            ));
        }
        bytes.extend_from_slice(&t.to_le_bytes());
    }
    let mut shape = vec![ts.len()];
    shape.extend_from_slice(&first.shape);
    Tensor::from_le_bytes(first.dtype, shape, &bytes).map_err(|e| e.to_string())
}

/// Converts a tensor to `dtype` when the conversion is exact for data files (e.g. f64 → f32 was
/// already done at read; int64 token ids → i32 if the model wants i32).
pub fn conform(t: Tensor, dtype: DType) -> Result<Tensor, String> {
    if t.dtype == dtype {
        return Ok(t);
    }
    match (t.to_i64_vec(), dtype.is_int()) {
        (Some(v), true) => {
            let (lo, hi) = dtype.int_range().expect("int dtype");
            if v.iter().any(|&x| x < lo || x > hi) {
                return Err(format!("values do not fit {dtype}"));
            }
            Tensor::from_i64_saturating(dtype, t.shape.clone(), &v).map_err(|e| e.to_string())
        }
        _ => Err(format!("is {} but the model wants {dtype}", t.dtype)),
    }
}
