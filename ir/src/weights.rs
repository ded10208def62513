//! `.qir` files with their weights: constants too large to print inline are stored in a
//! safetensors file beside the text (`model.qir` → `model.safetensors`), keyed by their printed
//! name (`c3` for `@c3`). The text records each tensor's hash, so a mismatched weights file is
//! an error rather than silently wrong numbers.

use crate::dtype::DType;
use crate::graph::Graph;
use crate::parse::{parse_with, ParseError};
use crate::print::{print_with, PrintOptions, Printed};
use crate::tensor::Tensor;
use safetensors::{Dtype as StDtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors reading or writing `.qir` + `.safetensors`.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The text does not parse.
    #[error("{path}:{err}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error (with line:column).
        err: ParseError,
    },
    /// The safetensors file is malformed or has an unsupported dtype.
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The weights file that belongs to a `.qir` path.
pub fn weights_path(qir: &Path) -> PathBuf {
    qir.with_extension("safetensors")
}

fn st_dtype(d: DType) -> StDtype {
    match d {
        DType::F32 => StDtype::F32,
        DType::F16 => StDtype::F16,
        DType::BF16 => StDtype::BF16,
        DType::I64 => StDtype::I64,
        DType::I32 => StDtype::I32,
        DType::I16 => StDtype::I16,
        DType::I8 | DType::I4 | DType::I2 => StDtype::I8,
        DType::U8 | DType::U4 | DType::U2 => StDtype::U8,
        DType::U16 => StDtype::U16,
        DType::F8E4M3FN => StDtype::F8_E4M3,
        DType::F8E5M2 => StDtype::F8_E5M2,
        // safetensors' F4 is packed two per byte; qcc stores float4 one per byte, as u8
        // (the .qir type re-tags it on load).
        DType::F4E2M1 => StDtype::U8,
        DType::Bool => StDtype::BOOL,
    }
}

fn ir_dtype(d: StDtype) -> Option<DType> {
    Some(match d {
        StDtype::F32 => DType::F32,
        StDtype::F16 => DType::F16,
        StDtype::BF16 => DType::BF16,
        StDtype::I64 => DType::I64,
        StDtype::I32 => DType::I32,
        StDtype::I16 => DType::I16,
        StDtype::I8 => DType::I8,
        StDtype::U8 => DType::U8,
        StDtype::U16 => DType::U16,
        StDtype::F8_E4M3 => DType::F8E4M3FN,
        StDtype::F8_E5M2 => DType::F8E5M2,
        StDtype::BOOL => DType::Bool,
        _ => return None,
    })
}

/// Serializes tensors to safetensors bytes.
pub fn to_safetensors(tensors: &[(String, Arc<Tensor>)]) -> Result<Vec<u8>, String> {
    let bytes: Vec<(String, StDtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), st_dtype(t.dtype), t.shape.clone(), t.to_le_bytes()))
        .collect();
    let mut views = BTreeMap::new();
    for (k, d, s, b) in &bytes {
        let v = safetensors::tensor::TensorView::new(*d, s.clone(), b)
            .map_err(|e| format!("{k}: {e}"))?;
        views.insert(k.clone(), v);
    }
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

/// Parses safetensors bytes into tensors by key.
pub fn from_safetensors(bytes: &[u8]) -> Result<HashMap<String, Arc<Tensor>>, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for (k, v) in st.tensors() {
        let d = ir_dtype(v.dtype())
            .ok_or_else(|| format!("tensor `{k}` has unsupported dtype {:?}", v.dtype()))?;
        let t = Tensor::from_le_bytes(d, v.shape().to_vec(), v.data())
            .map_err(|e| format!("tensor `{k}`: {e}"))?;
        out.insert(k, Arc::new(t));
    }
    Ok(out)
}

/// Writes `g` to `path` (.qir text) and, when some constants are too large to inline, their data
/// to the `.safetensors` beside it. Returns the printed result.
pub fn save_qir(g: &Graph, path: &Path, opts: &PrintOptions) -> Result<Printed, WeightsError> {
    let printed = print_with(g, opts, &BTreeMap::new());
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WeightsError + '_ {
        move |source| WeightsError::Io { path: path.to_path_buf(), source }
    }
    let wpath = weights_path(path);
    if !printed.external.is_empty() {
        let bytes = to_safetensors(&printed.external)
            .map_err(|message| WeightsError::Safetensors { path: wpath.clone(), message })?;
        std::fs::write(&wpath, bytes).map_err(io(&wpath))?;
    }
    std::fs::write(path, &printed.text).map_err(io(path))?;
    Ok(printed)
}

/// Reads a `.qir` and, if present, the `.safetensors` beside it.
pub fn load_qir(path: &Path) -> Result<Graph, WeightsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| WeightsError::Io { path: path.to_path_buf(), source })?;
    let wpath = weights_path(path);
    let weights = if wpath.exists() {
        let bytes = std::fs::read(&wpath)
            .map_err(|source| WeightsError::Io { path: wpath.clone(), source })?;
        from_safetensors(&bytes)
            .map_err(|message| WeightsError::Safetensors { path: wpath.clone(), message })?
    } else {
        HashMap::new()
    };
    parse_with(&text, &weights).map_err(|err| WeightsError::Parse { path: path.to_path_buf(), err })
}
