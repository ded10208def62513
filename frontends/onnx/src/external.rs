//! External tensor data (`data_location = EXTERNAL`): files confined to the model's folder
//! (no absolute paths, no `..`, no symlink escaping it), with limits on the number of files and
//! on the bytes read, so a hostile model cannot read arbitrary files or exhaust memory.

use crate::error::OnnxError;
use crate::proto::TensorProto;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

/// Limits on external data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalLimits {
    /// Most distinct external files one model may reference.
    pub max_files: usize,
    /// Most bytes read from external files in all.
    pub max_total_bytes: u64,
}

impl Default for ExternalLimits {
    fn default() -> Self {
        ExternalLimits { max_files: 4096, max_total_bytes: 64 << 30 }
    }
}

/// Reads external tensor data relative to a model's folder.
#[derive(Debug)]
pub(crate) struct ExternalReader {
    dir: PathBuf,
    limits: ExternalLimits,
    files: HashSet<PathBuf>,
    total: u64,
}

impl ExternalReader {
    pub(crate) fn new(dir: &Path, limits: ExternalLimits) -> ExternalReader {
        ExternalReader { dir: dir.to_path_buf(), limits, files: HashSet::new(), total: 0 }
    }

    /// Reads the bytes of `tp`'s external data.
    pub(crate) fn read(&mut self, tp: &TensorProto, name: &str) -> Result<Vec<u8>, OnnxError> {
        let err = |reason: String| OnnxError::ExternalData { tensor: name.to_string(), reason };
        let mut location = None;
        let mut offset = 0u64;
        let mut length = None;
        for kv in &tp.external_data {
            let v = kv.value.clone().unwrap_or_default();
            match kv.key.as_deref() {
                Some("location") => location = Some(v),
                Some("offset") => {
                    offset = v.parse().map_err(|_| err(format!("bad offset `{v}`")))?
                }
                Some("length") => {
                    length = Some(v.parse::<u64>().map_err(|_| err(format!("bad length `{v}`")))?)
                }
                _ => {}
            }
        }
        let location = location.ok_or_else(|| err("no `location` key".into()))?;
        let rel = Path::new(&location);
        if location.is_empty() {
            return Err(err("empty location".into()));
        }
        for c in rel.components() {
            match c {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => {
                    return Err(err(format!(
                        "location `{location}` leaves the model's folder (`..`)"
                    )))
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(err(format!("location `{location}` is absolute")))
                }
            }
        }
        let path = self.dir.join(rel);
        let io = |e: std::io::Error| err(format!("{}: {e}", path.display()));
        // Symlinks must not lead out of the folder either.
        let canon_dir = self.dir.canonicalize().map_err(io)?;
        let canon = path.canonicalize().map_err(io)?;
        if !canon.starts_with(&canon_dir) {
            return Err(err(format!("location `{location}` resolves outside the model's folder")));
        }
        if self.files.insert(canon.clone()) && self.files.len() > self.limits.max_files {
            return Err(err(format!("more than {} external files", self.limits.max_files)));
        }
        let mut f = std::fs::File::open(&canon).map_err(io)?;
        let size = f.metadata().map_err(io)?.len();
        let len = match length {
            Some(l) => l,
            None => {
                size.checked_sub(offset).ok_or_else(|| err("offset past end of file".into()))?
            }
        };
        let end = offset.checked_add(len).ok_or_else(|| err("offset + length overflows".into()))?;
        if end > size {
            return Err(err(format!(
                "bytes {offset}..{end} requested, {} has {size}",
                canon.display()
            )));
        }
        self.total = self.total.saturating_add(len);
        if self.total > self.limits.max_total_bytes {
            return Err(err(format!(
                "external data exceeds the limit of {} bytes",
                self.limits.max_total_bytes
            )));
        }
        let dims_bytes = tp.dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d.max(0) as u64));
        if dims_bytes.is_none() {
            return Err(err("dims overflow".into()));
        }
        let len_usize = usize::try_from(len).map_err(|_| err("length too large".into()))?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = vec![0u8; len_usize];
        f.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }
}
