//! Calibration inputs from a path: an `.npz` file, a folder of `.npy` files, or a folder of
//! images turned into tensors by a [`Preprocess`] spec (resize, center-crop, mean/std, layout).
//!
//! A folder of `.npy` files is read in file-name order. When every model input has a file named
//! after it (`NAME.npy`, shaped `[M, *input_shape]`), the files are bound like the arrays of an
//! `.npz`. Otherwise the model must have one input and each file holds one sample (shaped like
//! the input, or like the input without its leading batch dimension) or several (`[M, *shape]`
//! with `M` different from the batch size).

use crate::data::{read_npy_file, read_npz, split_samples, DataError};
use crate::model::{bind_samples, ModelError};
use qcc_ir::{DType, Graph, Tensor};
use std::path::{Path, PathBuf};

/// Errors reading calibration inputs.
#[derive(Debug, thiserror::Error)]
pub enum CalibInputError {
    /// A data file could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The data does not fit the model.
    #[error(transparent)]
    Binding(#[from] ModelError),
    /// The folder has no usable files, or the path is neither a file nor a folder.
    #[error("{path}: {message}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `--preprocess` spec is malformed.
    #[error("--preprocess: {0}")]
    Spec(String),
    /// An image could not be decoded.
    #[error("{path}: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
}

/// Tensor layout of a preprocessed image batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[1, C, H, W]`.
    Nchw,
    /// `[1, H, W, C]`.
    Nhwc,
}

/// How an image becomes an input tensor: resize the shorter side to `resize` (bilinear), crop
/// the centre `crop × crop`, scale pixels to `[0, 1]` (divide by 255) unless `raw`, then
/// `(x − mean) / std` per channel, in `layout`.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// Shorter side after resizing (`None`: keep the size).
    pub resize: Option<u32>,
    /// Side of the centre crop (`None`: no crop).
    pub crop: Option<u32>,
    /// Per-channel mean (after scaling to `[0, 1]`).
    pub mean: [f32; 3],
    /// Per-channel standard deviation.
    pub std: [f32; 3],
    /// Output layout.
    pub layout: Layout,
    /// Keep pixel values in `[0, 255]` instead of dividing by 255.
    pub raw: bool,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            resize: None,
            crop: None,
            mean: [0.0; 3],
            std: [1.0; 3],
            layout: Layout::Nchw,
            raw: false,
        }
    }
}

impl Preprocess {
    /// Parses `key=value` pairs separated by commas: `resize=256,crop=224,
    /// mean=0.485:0.456:0.406,std=0.229:0.224:0.225,layout=nchw|nhwc,raw`. The preset
    /// `imagenet` stands for `resize=256,crop=224` with the ImageNet mean and std.
    pub fn parse(spec: &str) -> Result<Preprocess, CalibInputError> {
        let mut p = Preprocess::default();
        let err = CalibInputError::Spec;
        let triple = |k: &str, v: &str| -> Result<[f32; 3], CalibInputError> {
            let xs: Vec<f32> = v
                .split(':')
                .map(|x| x.trim().parse::<f32>())
                .collect::<Result<_, _>>()
                .map_err(|e| err(format!("`{k}={v}`: {e}")))?;
            match xs[..] {
                [a] => Ok([a; 3]),
                [a, b, c] => Ok([a, b, c]),
                _ => Err(err(format!("`{k}={v}`: give one value or three separated by `:`"))),
            }
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            let size = |v: &str| {
                v.parse::<u32>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| err(format!("`{k}={v}`: expected a positive integer")))
            };
            match k {
                "imagenet" => {
                    p.resize = Some(256);
                    p.crop = Some(224);
                    p.mean = [0.485, 0.456, 0.406];
                    p.std = [0.229, 0.224, 0.225];
                }
                "resize" => p.resize = Some(size(v)?),
                "crop" => p.crop = Some(size(v)?),
                "mean" => p.mean = triple(k, v)?,
                "std" => {
                    p.std = triple(k, v)?;
                    if p.std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
                        return Err(err(format!("`std={v}`: must be finite and non-zero")));
                    }
                }
                "layout" => {
                    p.layout = match v.to_ascii_lowercase().as_str() {
                        "nchw" => Layout::Nchw,
                        "nhwc" => Layout::Nhwc,
                        _ => return Err(err(format!("`layout={v}`: expected nchw or nhwc"))),
                    }
                }
                "raw" => p.raw = true,
                _ => {
                    return Err(err(format!(
                        "unknown key `{k}` (known: imagenet, resize, crop, mean, std, layout, raw)"
                    )))
                }
            }
        }
        Ok(p)
    }

    /// Turns a decoded RGB image into a `[1, 3, H, W]` or `[1, H, W, 3]` f32 tensor.
    pub fn apply(&self, img: &image::RgbImage) -> Tensor {
        use image::imageops::{self, FilterType};
        let mut img = img.clone();
        if let Some(r) = self.resize {
            let (w, h) = img.dimensions();
            let (nw, nh) = if w <= h {
                (r, ((h as u64 * r as u64 + w as u64 / 2) / w.max(1) as u64).max(1) as u32)
            } else {
                (((w as u64 * r as u64 + h as u64 / 2) / h.max(1) as u64).max(1) as u32, r)
            };
            img = imageops::resize(&img, nw, nh, FilterType::Triangle);
        }
        if let Some(c) = self.crop {
            let (w, h) = img.dimensions();
            let (cw, ch) = (c.min(w), c.min(h));
            img = imageops::crop_imm(&img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
        }
        let (w, h) = img.dimensions();
        let (w, h) = (w as usize, h as usize);
        let scale = if self.raw { 1.0 } else { 1.0 / 255.0 };
        let mut out = vec![0f32; 3 * w * h];
        for (x, y, px) in img.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            for c in 0..3 {
                let v = (px.0[c] as f32 * scale - self.mean[c]) / self.std[c];
                let i = match self.layout {
                    Layout::Nchw => (c * h + y) * w + x,
                    Layout::Nhwc => (y * w + x) * 3 + c,
                };
                out[i] = v;
            }
        }
        let shape = match self.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        };
        Tensor::f32(&shape, out)
    }
}

const IMAGE_EXTS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Files of a folder with one of `exts` (lower-cased), sorted by name.
fn files_with(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, CalibInputError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| CalibInputError::Path { path: dir.into(), message: e.to_string() })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Reads calibration samples for `g` from `path` (see the module doc); `preprocess` is needed
/// for a folder of images. Returns one input list (in graph input order) per sample.
pub fn load_samples(
    g: &Graph,
    path: &Path,
    preprocess: Option<&Preprocess>,
) -> Result<Vec<Vec<Tensor>>, CalibInputError> {
    if path.is_file() {
        let arrays = read_npz(path)?;
        return Ok(bind_samples(g, &arrays, &path.display().to_string())?);
    }
    if !path.is_dir() {
        return Err(CalibInputError::Path {
            path: path.into(),
            message: "no such file or folder".into(),
        });
    }
    let npys = files_with(path, &["npy"])?;
    if !npys.is_empty() {
        return npy_folder(g, path, &npys);
    }
    let images = files_with(path, &IMAGE_EXTS)?;
    if images.is_empty() {
        return Err(CalibInputError::Path {
            path: path.into(),
            message: "the folder has no .npy, .png or .jpg files".into(),
        });
    }
    let pre = preprocess.ok_or_else(|| CalibInputError::Path {
        path: path.into(),
        message: "a folder of images needs --preprocess (e.g. `imagenet` or \
                  `resize=256,crop=224,mean=…,std=…,layout=nchw`)"
            .into(),
    })?;
    single_input(g, path)?;
    let mut out = Vec::with_capacity(images.len());
    for p in &images {
        let img = image::open(p)
            .map_err(|e| CalibInputError::Image { path: p.clone(), message: e.to_string() })?
            .to_rgb8();
        out.push(vec![fit_sample(g, p, pre.apply(&img))?]);
    }
    Ok(out)
}

fn single_input(g: &Graph, path: &Path) -> Result<(), CalibInputError> {
    if g.inputs().len() == 1 {
        Ok(())
    } else {
        Err(CalibInputError::Path {
            path: path.into(),
            message: format!(
                "the model has {} inputs: name the .npy files after them (NAME.npy, [M, *shape])",
                g.inputs().len()
            ),
        })
    }
}

/// Checks a sample against the (single) input's rank and dtype, adding a batch dimension of 1
/// when the sample lacks it.
fn fit_sample(g: &Graph, file: &Path, t: Tensor) -> Result<Tensor, CalibInputError> {
    let input = g.node(g.inputs()[0]);
    let ty = &input.results[0];
    let rank = ty.shape.rank().unwrap_or(t.rank());
    let mut t = t;
    if t.rank() + 1 == rank {
        t.shape.insert(0, 1);
    }
    let bad = |m: String| CalibInputError::Path { path: file.into(), message: m };
    if t.rank() != rank {
        return Err(bad(format!(
            "shape {:?} does not fit input `{}` of rank {rank}",
            t.shape, input.name
        )));
    }
    if let Some(dims) = ty.shape.as_fixed() {
        if dims != t.shape {
            return Err(bad(format!(
                "shape {:?} does not fit input `{}` {dims:?}",
                t.shape, input.name
            )));
        }
    }
    let want = ty.dtype;
    let t = if want == DType::F32 || t.dtype == want {
        t
    } else {
        crate::data::conform(t, want).map_err(bad)?
    };
    if t.dtype != want {
        return Err(bad(format!("is {} but input `{}` is {want}", t.dtype, input.name)));
    }
    Ok(t)
}

fn npy_folder(
    g: &Graph,
    dir: &Path,
    files: &[PathBuf],
) -> Result<Vec<Vec<Tensor>>, CalibInputError> {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
    let names: Vec<String> = g.inputs().iter().map(|&i| g.node(i).name.clone()).collect();
    let by_name = names.iter().all(|n| files.iter().any(|f| stem(f).as_deref() == Some(n)));
    if by_name {
        let mut arrays = Vec::new();
        for f in files {
            let s = stem(f).unwrap_or_default();
            if names.contains(&s) {
                arrays.push((s, read_npy_file(f)?));
            }
        }
        return Ok(bind_samples(g, &arrays, &dir.display().to_string())?);
    }
    single_input(g, dir)?;
    let rank = g.node(g.inputs()[0]).results[0].shape.rank();
    let mut out = Vec::new();
    for f in files {
        let t = read_npy_file(f)?;
        // `[M, *shape]` with the batch dimension inside each sample → several samples.
        let batched = rank.is_some_and(|r| t.rank() == r + 1);
        if batched {
            for s in split_samples(&t)
                .map_err(|m| CalibInputError::Path { path: f.clone(), message: m })?
            {
                out.push(vec![fit_sample(g, f, s)?]);
            }
        } else {
            out.push(vec![fit_sample(g, f, t)?]);
        }
    }
    Ok(out)
}
