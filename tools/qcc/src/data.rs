//! `.npz` / `.npy` data files (DESIGN §8): one array per model input or output, shaped
//! `[M, *shape]` for M samples.

use npyz::npz::NpzWriter;
use npyz::WriterBuilder;
use qcc_ir::{DType, Data, Limits, Tensor};
use std::io::{Read, Seek};
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
    limits: &Limits,
) -> Result<Tensor, DataError> {
    let (descr, size) = match npy.dtype() {
        npyz::DType::Plain(ts) => (ts.to_string(), ts.size_field()),
        other => {
            return Err(DataError::DType {
                path: path.into(),
                name: name.into(),
                dtype: format!("{other:?}"),
            });
        }
    };
    // The header's shape is untrusted: check its size before anything is allocated for it.
    let bytes = qcc_ir::limits::checked_numel(npy.shape().iter().copied())
        .and_then(|n| n.checked_mul(size))
        .ok_or_else(|| {
            file_err(path, format!("array `{name}`: shape {:?} overflows", npy.shape()))
        })?;
    if bytes > limits.max_tensor_bytes {
        return Err(file_err(
            path,
            format!(
                "array `{name}`: shape {:?} needs {bytes} bytes, over the tensor size limit of {} bytes",
                npy.shape(),
                limits.max_tensor_bytes
            ),
        ));
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| file_err(path, format!("array `{name}`: shape too large")))?;
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

/// Reads every array of an `.npz` file, in archive order, under the process-wide
/// [`crate::limits`].
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>, DataError> {
    read_npz_with(path, &crate::limits())
}

/// Reads every array of an `.npz` file, in archive order; no array may exceed
/// `limits.max_tensor_bytes`.
pub fn read_npz_with(path: &Path, limits: &Limits) -> Result<Vec<(String, Tensor)>, DataError> {
    let f = std::fs::File::open(path).map_err(|e| file_err(path, e))?;
    read_npz_from(path, std::io::BufReader::new(f), limits)
}

/// Reads every array of `.npz` bytes (`path` only names them in errors).
pub fn read_npz_bytes(
    path: &Path,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Vec<(String, Tensor)>, DataError> {
    read_npz_from(path, std::io::Cursor::new(bytes), limits)
}

fn read_npz_from<R: Read + Seek>(
    path: &Path,
    reader: R,
    limits: &Limits,
) -> Result<Vec<(String, Tensor)>, DataError> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| file_err(path, format!("not a readable .npz file: {e}")))?;
    let mut out = Vec::with_capacity(zip.len().min(1024));
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| file_err(path, format!("not a readable .npz file: entry {i}: {e}")))?;
        let file_name = entry.name().to_string();
        let name =
            npyz::npz::array_name_from_file_name(&file_name).unwrap_or(&file_name).to_string();
        // The declared size is untrusted (a zip bomb): read at most the largest tensor allowed
        // plus room for a header, then check the header before npyz sees it.
        let cap = limits.max_tensor_bytes.saturating_add(NPY_HEADER_MAX);
        let mut bytes = Vec::new();
        (&mut entry)
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| file_err(path, format!("array `{name}`: {e}")))?;
        if bytes.len() as u64 > cap {
            return Err(file_err(
                path,
                format!(
                    "array `{name}` is larger than the tensor size limit of {} bytes",
                    limits.max_tensor_bytes
                ),
            ));
        }
        drop(entry);
        out.push((name.clone(), read_npy_named(path, &name, &bytes, limits)?));
    }
    Ok(out)
}

/// Largest `.npy` header qcc reads (numpy writes a few hundred bytes at most).
const NPY_HEADER_MAX: u64 = 1 << 16;

/// Deepest bracket nesting accepted in an `.npy` header.
const NPY_HEADER_DEPTH: usize = 8;

/// The shape tuples of an `.npy` header, checked before npyz parses it (npyz multiplies the
/// dims unchecked): every `'shape': (…)` entry must be a tuple of non-negative integers whose
/// product, times nothing larger than 16 bytes per element, stays within 64 bits.
fn precheck_npy_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (magic `\\x93NUMPY` not found)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    if len as u64 > NPY_HEADER_MAX {
        return Err(format!("the .npy header claims {len} bytes"));
    }
    let header =
        bytes.get(start..start + len).ok_or_else(|| "the .npy header is truncated".to_string())?;
    let header = String::from_utf8_lossy(header);
    // npyz's header parser backtracks exponentially on deeply nested brackets (a 246-byte header
    // of `{{{…` took minutes, found by the npz_read fuzz target); a real header nests 4 deep at
    // most (`{'descr': [('a', '<f4', (2,))], …}`).
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > NPY_HEADER_DEPTH {
            return Err(format!(
                "the .npy header nests brackets more than {NPY_HEADER_DEPTH} deep"
            ));
        }
    }
    for key in ["'shape'", "\"shape\""] {
        let mut rest = &header[..];
        while let Some(at) = rest.find(key) {
            rest = &rest[at + key.len()..];
            let tail = rest.trim_start().strip_prefix(':').unwrap_or("").trim_start();
            let Some(tuple) = tail.strip_prefix('(') else { continue };
            let Some(end) = tuple.find(')') else {
                return Err("the .npy header's shape is not closed".into());
            };
            let mut n: u64 = 16;
            for d in tuple[..end].split(',').map(str::trim).filter(|d| !d.is_empty()) {
                let d: u64 = d
                    .parse()
                    .map_err(|_| format!("the .npy header's shape has a bad dimension `{d}`"))?;
                n = n.checked_mul(d).ok_or_else(|| {
                    format!("the .npy header's shape ({}) overflows", &tuple[..end])
                })?;
            }
        }
    }
    Ok(())
}

/// Reads a single `.npy` file.
pub fn read_npy_file(path: &Path) -> Result<Tensor, DataError> {
    let bytes = std::fs::read(path).map_err(|e| file_err(path, e))?;
    read_npy_bytes(path, &bytes, &crate::limits())
}

/// Reads `.npy` bytes (`path` only names the array in errors).
pub fn read_npy_bytes(path: &Path, bytes: &[u8], limits: &Limits) -> Result<Tensor, DataError> {
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    read_npy_named(path, &name, bytes, limits)
}

fn read_npy_named(
    path: &Path,
    name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Tensor, DataError> {
    let e = |m: String| file_err(path, format!("array `{name}`: {m}"));
    precheck_npy_header(bytes).map_err(e)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|err| e(format!("not a .npy array: {err}")))?;
    read_npy(path, name, npy, limits)
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
        Data::U16(v) => put!(u16, v),
        // numpy has no float8/float4: written as f32 values (exact).
        Data::F8E4M3FN(_) | Data::F8E5M2(_) | Data::F4E2M1(_) => put!(f32, t.to_f32_vec()),
        Data::Bool(v) => put!(bool, v),
    }
}

/// Writes arrays to an `.npz` file (4- and 2-bit types are written as their byte storage,
/// float8/float4 as f32 values).
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
