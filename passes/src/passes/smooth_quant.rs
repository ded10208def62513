//! `smooth-quant`: SmoothQuant balancing of each LayerNorm and the MatMuls it feeds, with the
//! data-free per-channel bound `|γ_j|·√(C−1) + |β_j|` (the quantization pipeline uses measured
//! maxima instead). See [`crate::quant::smooth`].

use super::util::declared_names;
use crate::analysis::PassCx;
use crate::pass::{Changed, Pass, PassError};
use crate::quant::smooth::smooth_layernorms;
use crate::registry::DeclaredPass;
use qcc_ir::Graph;
use serde::{Deserialize, Serialize};

/// Options: the migration strength α (0 = all on the activations, 1 = all on the weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmoothOptions {
    /// Migration strength α.
    pub alpha: f32,
}

impl Default for SmoothOptions {
    fn default() -> Self {
        SmoothOptions { alpha: 0.5 }
    }
}

/// SmoothQuant balancing of LayerNorm → MatMul.
#[derive(Debug, Default)]
pub struct SmoothQuant {
    alpha: f32,
}

impl DeclaredPass for SmoothQuant {
    const NAME: &'static str = "smooth-quant";
    const SUMMARY: &'static str =
        "move per-channel activation outliers of LayerNorm → MatMul into the weights (SmoothQuant)";
    type Options = SmoothOptions;
    fn from_options(o: SmoothOptions) -> Self {
        SmoothQuant { alpha: o.alpha }
    }
}

impl Pass for SmoothQuant {
    declared_names!();
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(PassError::failed(Self::NAME, format!("alpha {} not in [0, 1]", self.alpha)));
        }
        let r = smooth_layernorms(g, self.alpha, None).map_err(|e| PassError::failed(Self::NAME, e))?;
        cx.bump("smooth-quant.layernorms", r.smoothed.len() as u64);
        Ok(Changed::from(!r.smoothed.is_empty()))
    }
}
