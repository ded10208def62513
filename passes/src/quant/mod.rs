//! Quantization: schemes, parameters, SmoothQuant balancing, QDQ insertion and integer
//! realization.

pub mod bias_correct;
pub mod insert;
pub mod params;
pub mod realize;
pub mod scheme;
pub mod smooth;
