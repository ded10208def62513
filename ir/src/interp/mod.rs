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
/// Runs a graph, observing values.
pub fn run_observed(
    _g: &Graph,
    _inputs: &[Tensor],
    _observer: &mut dyn FnMut(crate::Value, &Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    Err(InterpError("interpreter not built yet".into()))
}
/// Evaluates one op.
pub fn eval_op(
    _op: &crate::Op,
    _operand_types: &[Option<&crate::TensorType>],
    _operands: &[Option<&Tensor>],
    _result_types: &[crate::TensorType],
) -> Result<Vec<Tensor>, InterpError> {
    Err(InterpError("interpreter not built yet".into()))
}
