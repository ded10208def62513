//! `realize-qdq`: turns QDQ units (typed `Quantize`/`Dequantize` around float ops) into integer
//! ops — `QConv`, `QMatMul` + `Requantize`, `QAdd`, `QMul`, pools, `QConcat`, 256-entry `Lut`s —
//! and runs data-movement ops on the integers. See [`crate::quant::realize`].

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::pass::{Changed, Pass, PassError};
use crate::quant::realize::realize;
use crate::quant::scheme::QuantScheme;
use crate::registry::DeclaredPass;
use qcc_ir::Graph;
use serde::{Deserialize, Serialize};

/// Options: nodes (by name) or ops (by op name) to keep in float.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealizeOptions {
    /// Names of nodes or ops left in float.
    pub exclude: Vec<String>,
    /// Also realize Conv/MatMul/Gemm units whose output is not quantized, as the integer op
    /// followed by a `Dequantize` of its i32 accumulator.
    pub float_outputs: bool,
}

/// Integer realization of QDQ units.
#[derive(Debug, Default)]
pub struct RealizeQdq {
    scheme: QuantScheme,
}

impl DeclaredPass for RealizeQdq {
    const NAME: &'static str = "realize-qdq";
    const SUMMARY: &'static str = "turn Quantize/Dequantize units into integer ops (QConv, QMatMul, Requantize, Lut, ...)";
    type Options = RealizeOptions;
    fn from_options(o: RealizeOptions) -> Self {
        RealizeQdq {
            scheme: QuantScheme {
                exclude: o.exclude,
                float_outputs: o.float_outputs,
                ..QuantScheme::default()
            },
        }
    }
}

impl Pass for RealizeQdq {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let r = realize(g, &self.scheme).map_err(|e| PassError::failed(Self::NAME, e))?;
        cx.bump("realize-qdq.integer-ops", r.integer_ops.len() as u64);
        Ok(Changed::from(!r.integer_ops.is_empty()))
    }
}
