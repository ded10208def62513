//! (in progress) reference interpreter — placeholder API until the implementation lands.
use crate::{Graph, Tensor};
/// Interpreter errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InterpError(pub String);
/// Runs a graph.
pub fn run(_g: &Graph, _inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    Err(InterpError("interpreter not built yet".into()))
}
