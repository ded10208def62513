//! Helpers shared by the integration tests: locating `../shared`.
#![allow(dead_code)]

use std::path::PathBuf;

/// `<repo>/../shared`, found by walking up from this crate; panics with a clear message when
/// it is missing (the tests need the shared data).
pub fn shared_dir() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared");
        if cand.join("onnx-node-tests").is_dir() || cand.join("models").is_dir() {
            return cand;
        }
        if !dir.pop() {
            panic!(
                "shared data not found: expected a `shared/` folder (onnx-node-tests, models) beside the repository, walking up from {}",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
}

use qcc_ir::{Data, Tensor};

/// Reads one array of an `.npz` file as a qcc tensor (f32, i64 or i32 arrays).
pub fn npz_array(path: &std::path::Path, name: &str) -> Tensor {
    let mut z = npyz::npz::NpzArchive::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let arr = z
        .by_name(name)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{} has no array `{name}`", path.display()));
    let shape: Vec<usize> = arr.shape().iter().map(|&d| d as usize).collect();
    let data = match arr.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 4 => {
            Data::F32(arr.into_vec::<f32>().expect("f32 data"))
        }
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Int && t.size_field() == 8 => {
            Data::I64(arr.into_vec::<i64>().expect("i64 data"))
        }
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Int && t.size_field() == 4 => {
            Data::I32(arr.into_vec::<i32>().expect("i32 data"))
        }
        other => panic!("{}: `{name}` has an unexpected dtype {other:?}", path.display()),
    };
    Tensor::new(shape, data).expect("consistent npz array")
}

/// Sample `i` of a `[M, ...]` array: the tensor of shape `[...]`.
pub fn sample(t: &Tensor, i: usize) -> Tensor {
    let inner: Vec<usize> = t.shape[1..].to_vec();
    let n: usize = inner.iter().product();
    let data = match &t.data {
        Data::F32(v) => Data::F32(v[i * n..(i + 1) * n].to_vec()),
        Data::I64(v) => Data::I64(v[i * n..(i + 1) * n].to_vec()),
        Data::I32(v) => Data::I32(v[i * n..(i + 1) * n].to_vec()),
        _ => panic!("unexpected dtype {}", t.dtype),
    };
    Tensor::new(inner, data).expect("slice of a consistent array")
}
