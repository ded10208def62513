//! Loading models by file extension and binding data files to model inputs.

use crate::data::{conform, split_samples};
use qcc_ir::{Graph, Tensor};
use std::path::Path;

/// Errors loading a model or binding its data.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The `.qir` or its weights could not be read.
    #[error(transparent)]
    Qir(#[from] qcc_ir::weights::WeightsError),
    /// The extension is not one qcc reads.
    #[error("{0}: unknown model format; qcc reads `.qir` (with its `.safetensors`) and `.onnx`")]
    Format(String),
    /// The ONNX model could not be imported.
    #[error(transparent)]
    Onnx(#[from] qcc_onnx::OnnxError),
    /// A resource limit was exceeded.
    #[error("{0}: {1}")]
    Limit(String, qcc_ir::LimitError),
    /// Data does not fit the model.
    #[error("{0}")]
    Binding(String),
}

/// Loads a model: `.qir` (text + safetensors) or `.onnx` (imported, constants folded), under
/// the process-wide [`crate::limits`].
pub fn load_model(path: &Path) -> Result<Graph, ModelError> {
    let opts = qcc_onnx::ImportOptions { limits: crate::limits(), ..Default::default() };
    load_model_with(path, &opts)
}

/// Loads a model with ONNX import options (input shapes); `opts.limits` applies to `.qir`
/// files too.
pub fn load_model_with(path: &Path, opts: &qcc_onnx::ImportOptions) -> Result<Graph, ModelError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("qir") => {
            let g = qcc_ir::weights::load_qir(path)?;
            opts.limits
                .check_graph(&g)
                .map_err(|e| ModelError::Limit(path.display().to_string(), e))?;
            Ok(g)
        }
        Some("onnx") => Ok(qcc_onnx::import_file(path, opts)?),
        _ => Err(ModelError::Format(path.display().to_string())),
    }
}

/// Binds the arrays of a data file to the graph's inputs by name and splits them into samples:
/// returns one input list (in graph input order) per sample. Arrays that are not inputs (e.g.
/// `labels`) are ignored; a missing input or mismatched sample counts are errors. An array is
/// `[M, *input_shape]`, or `[M, *rest]` for an input shaped `[1, *rest]` (M samples of batch 1).
pub fn bind_samples(
    g: &Graph,
    arrays: &[(String, Tensor)],
    file: &str,
) -> Result<Vec<Vec<Tensor>>, ModelError> {
    let mut per_input = Vec::new();
    for &id in g.inputs() {
        let node = g.node(id);
        let (_, arr) = arrays.iter().find(|(n, _)| *n == node.name).ok_or_else(|| {
            let have: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            ModelError::Binding(format!(
                "{file}: no array named `{}` for model input `{}` (the file has: {})",
                node.name,
                node.name,
                have.join(", ")
            ))
        })?;
        let mut samples = split_samples(arr)
            .map_err(|e| ModelError::Binding(format!("{file}: `{}`: {e}", node.name)))?;
        // A batch laid out as the model's own batch axis (`[M, C, H, W]` for an input of
        // `[1, C, H, W]`) gives M samples of batch 1.
        let want_shape = node.results[0].shape.as_fixed();
        if let Some(ws) = want_shape.filter(|ws| ws.len() == arr.shape.len() && ws[0] == 1) {
            if arr.shape[1..] == ws[1..] {
                for t in &mut samples {
                    t.shape.insert(0, 1);
                }
            }
        }
        let want = node.results[0].dtype;
        let samples: Vec<Tensor> = samples
            .into_iter()
            .map(|t| conform(t, want))
            .collect::<Result<_, _>>()
            .map_err(|e| ModelError::Binding(format!("{file}: array `{}` {e}", node.name)))?;
        per_input.push(samples);
    }
    let m = per_input.first().map_or(0, Vec::len);
    if let Some((i, s)) = per_input.iter().enumerate().find(|(_, s)| s.len() != m) {
        return Err(ModelError::Binding(format!(
            "{file}: inputs have different sample counts ({m} for `{}`, {} for `{}`)",
            g.node(g.inputs()[0]).name,
            s.len(),
            g.node(g.inputs()[i]).name
        )));
    }
    Ok((0..m).map(|k| per_input.iter().map(|s| s[k].clone()).collect()).collect())
}
