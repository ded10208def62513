//! Compilation phases: a graph's phase only moves forward, and the verifier's rules tighten with it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a graph stands in the pipeline (DESIGN §1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Straight from a frontend: types may be partial.
    #[default]
    Imported,
    /// Every value has a dtype and a shape of known rank.
    Typed,
    /// Ranges are known for activations (calibration done).
    Calibrated,
    /// Quantization inserted or realized.
    Quantized,
    /// Operators fused.
    Fused,
    /// Layout, packing and memory plan chosen; ready for a backend.
    Lowered,
}

impl Phase {
    /// Every phase in order.
    pub const ALL: [Phase; 6] = [
        Phase::Imported,
        Phase::Typed,
        Phase::Calibrated,
        Phase::Quantized,
        Phase::Fused,
        Phase::Lowered,
    ];
    /// Lowercase name used in the text format.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Imported => "imported",
            Phase::Typed => "typed",
            Phase::Calibrated => "calibrated",
            Phase::Quantized => "quantized",
            Phase::Fused => "fused",
            Phase::Lowered => "lowered",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Phase::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown phase `{s}`"))
    }
}
