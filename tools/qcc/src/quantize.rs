//! The quantization pipeline: canonicalize → calibrate → insert QDQ → realize integer ops.

use qcc_ir::{DType, Graph, Tensor};
use qcc_passes::calibrate::{calibrate, range::RangeMethod};
use qcc_passes::quant::insert::{insert_qdq, QuantReport};
use qcc_passes::quant::realize::{realize, RealizeReport};
use qcc_passes::quant::scheme::QuantScheme;
use qcc_passes::{PassManager, PassManagerOptions, Registry};

/// Options of `qcc quantize` (DESIGN §8).
#[derive(Debug, Clone)]
pub struct QuantizeConfig {
    /// How activation ranges are chosen.
    pub method: RangeMethod,
    /// Types, granularity, exclusions.
    pub scheme: QuantScheme,
    /// Histogram bins per tensor.
    pub bins: usize,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        QuantizeConfig { method: RangeMethod::MinMax, scheme: QuantScheme::default(), bins: 2048 }
    }
}

/// The three graphs of a quantized model and what was done.
#[derive(Debug, Clone)]
pub struct QuantizedModel {
    /// The canonicalized float graph (the reference).
    pub float: Graph,
    /// The QDQ simulation.
    pub qdq: Graph,
    /// The integer realization.
    pub int: Graph,
    /// Which nodes were quantized.
    pub report: QuantReport,
    /// Which integer ops were made.
    pub realized: RealizeReport,
}

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// A pass failed.
    #[error(transparent)]
    Pass(#[from] qcc_passes::PassError),
    /// Calibration (running the float model) failed.
    #[error("calibration: {0}")]
    Calibrate(#[from] qcc_ir::interp::InterpError),
    /// Quantization failed.
    #[error(transparent)]
    Quant(#[from] qcc_passes::quant::insert::QuantError),
    /// No calibration samples.
    #[error("no calibration samples")]
    NoSamples,
}

/// Runs the `canonicalize` pipeline (shape inference, folding, fusions, CSE, DCE) in place.
pub fn canonicalize(g: &mut Graph) -> Result<(), qcc_passes::PassError> {
    let reg = Registry::with_builtins();
    let mut pm = PassManager::from_pipeline(&reg, "canonicalize", PassManagerOptions::default())?;
    pm.run(g)?;
    Ok(())
}

/// Realizes an already quantized QDQ model (ONNX Runtime's, a QAT export, qcc's own) in place:
/// canonicalize, type its ONNX-form Q/DQ with the model's own scales, turn QDQ units into
/// integer ops. Returns the float-cost reference: the canonicalized QDQ graph before realization.
pub fn realize_qdq_model(g: &mut Graph) -> Result<Graph, qcc_passes::PassError> {
    let reg = Registry::with_builtins();
    let mut pm = PassManager::from_pipeline(
        &reg,
        "canonicalize,type-qdq,dce",
        PassManagerOptions::default(),
    )?;
    pm.run(g)?;
    let before = g.clone();
    let mut pm = PassManager::from_pipeline(
        &reg,
        "realize-qdq,dce,infer-shapes",
        PassManagerOptions::default(),
    )?;
    pm.run(g)?;
    Ok(before)
}

/// Quantizes a float graph with calibration samples; `on_sample` reports progress.
pub fn quantize(
    g: &Graph,
    samples: &[Vec<Tensor>],
    cfg: &QuantizeConfig,
    on_sample: &(dyn Fn() + Sync),
) -> Result<QuantizedModel, QuantizeError> {
    if samples.is_empty() {
        return Err(QuantizeError::NoSamples);
    }
    let mut float = g.clone();
    canonicalize(&mut float)?;
    let calib = calibrate(&float, samples, cfg.bins, on_sample)?;
    let levels = if cfg.scheme.activations == DType::I16 { 65536 } else { 256 };
    let ranges = calib.ranges(cfg.method, levels);
    let mut qdq = float.clone();
    let report = insert_qdq(&mut qdq, &ranges, &calib.channel_means(), &cfg.scheme)?;
    qdq.advance_phase(qcc_ir::Phase::Calibrated).ok();
    let mut int = qdq.clone();
    let realized = realize(&mut int, &cfg.scheme)?;
    int.advance_phase(qcc_ir::Phase::Quantized).ok();
    Ok(QuantizedModel { float, qdq, int, report, realized })
}
