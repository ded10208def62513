//! The op registry: (domain, op type, opset range) → importer, one file per op family.
//!
//! An importer reads one `NodeProto` through a [`NodeCx`] and adds IR nodes for it, rewriting
//! the older opset forms (attributes that later became inputs) into the IR's single form
//! (constant operands). It returns one value per ONNX output (`None` for an output it cannot
//! produce, which is an error only when the model uses that output).

use crate::error::OnnxError;
use crate::import::Importer;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use qcc_ir::{DType, Graph, Op, Tensor, TensorType, Value};
use std::sync::Arc;

mod decomposed;
mod elementwise;
mod linalg;
mod ms_quant;
mod norm;
mod pool;
mod quant;
mod reduce;
mod shape;

/// The result of an importer: one entry per ONNX output.
pub(crate) type Outs = Result<Vec<Option<Value>>, OnnxError>;

/// An importer function.
pub(crate) type ImportFn = fn(&mut NodeCx<'_>) -> Outs;

/// One registry entry.
pub(crate) struct OpEntry {
    /// Domain (`""`: default ONNX domain).
    pub(crate) domain: &'static str,
    /// ONNX op type.
    pub(crate) op_type: &'static str,
    /// First opset version handled.
    pub(crate) since: i64,
    /// The importer.
    pub(crate) import: ImportFn,
}

/// Highest default-domain opset accepted (the ONNX 1.22 test models go up to 27; the ops qcc imports changed only by added element types after 21).
pub(crate) const MAX_OPSET: i64 = 27;

/// Shorthand to build registry entries of the default domain.
pub(crate) const fn onnx(op_type: &'static str, since: i64, import: ImportFn) -> OpEntry {
    OpEntry { domain: "", op_type, since, import }
}

/// Shorthand for `com.microsoft` entries.
pub(crate) const fn ms(op_type: &'static str, import: ImportFn) -> OpEntry {
    OpEntry { domain: "com.microsoft", op_type, since: 1, import }
}

fn families() -> [&'static [OpEntry]; 9] {
    [
        decomposed::OPS,
        elementwise::OPS,
        linalg::OPS,
        norm::OPS,
        pool::OPS,
        reduce::OPS,
        shape::OPS,
        quant::OPS,
        ms_quant::OPS,
    ]
}

/// The importer for an op at an opset, if qcc supports it.
pub(crate) fn lookup(domain: &str, op_type: &str, opset: i64) -> Option<&'static OpEntry> {
    families().into_iter().flatten().find(|e| {
        e.domain == domain
            && e.op_type == op_type
            && opset >= e.since
            && (!e.domain.is_empty() || opset <= MAX_OPSET)
    })
}

/// Every supported (domain, op type), for documentation and reports.
pub fn supported_ops() -> Vec<(&'static str, &'static str, i64)> {
    families().into_iter().flatten().map(|e| (e.domain, e.op_type, e.since)).collect()
}

/// What an importer sees of the node it imports.
pub(crate) struct NodeCx<'a> {
    pub(crate) imp: &'a mut Importer,
    pub(crate) node: &'a NodeProto,
    /// The model's opset for the node's domain.
    pub(crate) opset: i64,
    /// Display name (node name, else first output).
    pub(crate) name: String,
    pub(crate) op_type: String,
    pub(crate) helpers: usize,
}

impl NodeCx<'_> {
    /// The graph.
    pub(crate) fn g(&mut self) -> &mut Graph {
        &mut self.imp.g
    }

    /// An error about this node.
    pub(crate) fn err(&self, msg: impl Into<String>) -> OnnxError {
        OnnxError::BadNode { node: self.name.clone(), op: self.op_type.clone(), msg: msg.into() }
    }

    /// An "unsupported form" error about this node.
    pub(crate) fn unsupported(&self, what: impl Into<String>) -> OnnxError {
        OnnxError::UnsupportedForm {
            node: self.name.clone(),
            op: self.op_type.clone(),
            what: what.into(),
        }
    }

    /// Number of input slots of the ONNX node.
    pub(crate) fn n_inputs(&self) -> usize {
        self.node.input.len()
    }

    /// Input `i`: `None` when absent (past the end or empty name).
    pub(crate) fn input(&self, i: usize) -> Result<Option<Value>, OnnxError> {
        match self.node.input.get(i) {
            None => Ok(None),
            Some(n) if n.is_empty() => Ok(None),
            Some(n) => {
                self.imp.env.get(n).copied().map(Some).ok_or_else(|| OnnxError::UndefinedValue {
                    node: self.name.clone(),
                    op: self.op_type.clone(),
                    name: n.clone(),
                })
            }
        }
    }

    /// A required input.
    pub(crate) fn req(&self, i: usize) -> Result<Value, OnnxError> {
        self.input(i)?.ok_or_else(|| self.err(format!("input {i} is required")))
    }

    /// All inputs as operands (None where absent).
    pub(crate) fn all_inputs(&self) -> Result<Vec<Option<Value>>, OnnxError> {
        (0..self.n_inputs()).map(|i| self.input(i)).collect()
    }

    /// The constant behind a value, if it is a constant node.
    pub(crate) fn const_of(&self, v: Value) -> Option<Arc<Tensor>> {
        self.imp.g.const_value(v).cloned()
    }

    /// The dtype of a value.
    pub(crate) fn dtype(&self, v: Value) -> DType {
        self.imp.g.value_type(v).dtype
    }

    /// The type of a value.
    pub(crate) fn ty(&self, v: Value) -> TensorType {
        self.imp.g.value_type(v).clone()
    }

    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
    }

    /// True if the attribute is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// An integer attribute.
    pub(crate) fn ai(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|a| a.i)
    }

    /// An integer attribute with a default.
    pub(crate) fn ai_or(&self, name: &str, d: i64) -> i64 {
        self.ai(name).unwrap_or(d)
    }

    /// A float attribute.
    pub(crate) fn af(&self, name: &str) -> Option<f32> {
        self.attr(name).and_then(|a| a.f)
    }

    /// A float attribute with a default.
    pub(crate) fn af_or(&self, name: &str, d: f32) -> f32 {
        self.af(name).unwrap_or(d)
    }

    /// An integer-list attribute.
    pub(crate) fn ais(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    /// A float-list attribute.
    pub(crate) fn afs(&self, name: &str) -> Option<Vec<f32>> {
        self.attr(name).map(|a| a.floats.clone())
    }

    /// A string attribute.
    pub(crate) fn astr(&self, name: &str) -> Option<String> {
        self.attr(name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// A tensor attribute.
    pub(crate) fn atensor(&self, name: &str) -> Option<&TensorProto> {
        self.attr(name).and_then(|a| a.t.as_ref())
    }

    /// A non-negative integer-list attribute as usizes.
    pub(crate) fn ausize(&self, name: &str) -> Result<Vec<usize>, OnnxError> {
        let v = self.ais(name).unwrap_or_default();
        v.iter()
            .map(|&x| usize::try_from(x).map_err(|_| self.err(format!("negative `{name}`: {v:?}"))))
            .collect()
    }

    /// A bool (0/1) attribute with a default.
    pub(crate) fn abool(&self, name: &str, d: bool) -> bool {
        self.ai(name).map(|x| x != 0).unwrap_or(d)
    }

    /// The declared type of output `i` (value_info), else an unknown shape of `dtype`.
    pub(crate) fn out_ty(&self, i: usize, dtype: DType) -> TensorType {
        self.node
            .output
            .get(i)
            .and_then(|n| self.imp.value_info.get(n))
            .filter(|t| t.dtype == dtype)
            .cloned()
            .unwrap_or_else(|| TensorType::unknown(dtype))
    }

    /// Adds the node's main IR node (named after the ONNX node).
    pub(crate) fn add(
        &mut self,
        op: Op,
        operands: &[Option<Value>],
        results: Vec<TensorType>,
    ) -> Result<Vec<Value>, OnnxError> {
        let name = self.name.clone();
        let id = self.imp.g.add_node(op, name, operands, results)?;
        Ok(self.imp.g.results(id))
    }

    /// Adds the main node with one result, typed from output 0's value_info or `dtype`.
    pub(crate) fn add1(
        &mut self,
        op: Op,
        operands: &[Option<Value>],
        dtype: DType,
    ) -> Result<Value, OnnxError> {
        let ty = self.out_ty(0, dtype);
        Ok(self.add(op, operands, vec![ty])?[0])
    }

    /// Adds a helper node (named `node/suffix`) with one result of unknown shape.
    pub(crate) fn helper(
        &mut self,
        suffix: &str,
        op: Op,
        operands: &[Option<Value>],
        dtype: DType,
    ) -> Result<Value, OnnxError> {
        self.helpers += 1;
        let name = format!("{}/{suffix}", self.name);
        let id = self.imp.g.add_node(op, name, operands, vec![TensorType::unknown(dtype)])?;
        Ok(self.imp.g.result(id))
    }

    /// Adds a named constant (`node/suffix`).
    pub(crate) fn constant(&mut self, suffix: &str, t: Tensor) -> Value {
        let name = format!("{}/{suffix}", self.name);
        self.imp.g.add_const(name, t)
    }

    /// Adds a 1-d i64 constant.
    pub(crate) fn const_i64s(&mut self, suffix: &str, v: &[i64]) -> Value {
        self.constant(suffix, Tensor::i64(&[v.len()], v.to_vec()))
    }

    /// Returns the single value as the node's outputs.
    pub(crate) fn one(v: Value) -> Outs {
        Ok(vec![Some(v)])
    }
}

/// Parses an `auto_pad` attribute.
pub(crate) fn auto_pad(cx: &NodeCx<'_>) -> Result<qcc_ir::ops::AutoPad, OnnxError> {
    use qcc_ir::ops::AutoPad;
    Ok(match cx.astr("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") => AutoPad::NotSet,
        Some("SAME_UPPER") => AutoPad::SameUpper,
        Some("SAME_LOWER") => AutoPad::SameLower,
        Some("VALID") => AutoPad::Valid,
        Some(other) => return Err(cx.err(format!("unknown auto_pad `{other}`"))),
    })
}
