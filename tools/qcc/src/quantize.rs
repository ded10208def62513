//! The quantization pipeline: canonicalize → calibrate ([`prepare`]) → insert QDQ → realize
//! integer ops ([`Prepared::build`]).

use qcc_ir::{DType, Graph, Tensor};
use qcc_passes::calibrate::{calibrate, range::RangeMethod, Calibration};
use qcc_passes::quant::bias_correct::bias_offsets;
use qcc_passes::quant::insert::{insert_qdq_with_offsets, BiasOffsets, QuantReport};
use qcc_passes::quant::realize::{realize, RealizeReport};
use qcc_passes::quant::scheme::QuantScheme;
use qcc_passes::quant::smooth::smooth_layernorms;
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
    /// SmoothQuant migration strength α for LayerNorm → MatMul (`None`: no smoothing;
    /// default 0.5).
    pub smooth_alpha: Option<f32>,
    /// Cross-layer equalization of Conv → (Relu) → Conv pairs before calibration.
    pub cle: bool,
    /// Rounds of empirical bias correction (0: only the analytic weight-error correction of
    /// the scheme).
    pub bias_rounds: usize,
    /// Calibration samples the empirical bias correction measures.
    pub bias_samples: usize,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        QuantizeConfig {
            method: RangeMethod::MinMax,
            scheme: QuantScheme { float_outputs: true, ..QuantScheme::default() },
            bins: 2048,
            smooth_alpha: Some(0.5),
            cle: false,
            bias_rounds: 0,
            bias_samples: 16,
        }
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
        "realize-qdq{float_outputs=true},dce,infer-shapes",
        PassManagerOptions::default(),
    )?;
    pm.run(g)?;
    Ok(before)
}

/// A canonicalized float graph with its calibration: everything needed to quantize it with
/// any scheme without running calibration again.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The canonicalized float graph.
    pub float: Graph,
    /// Statistics of every float value.
    pub calibration: Calibration,
    /// The samples empirical bias correction measures (the first `bias_samples`).
    pub bias_samples: Vec<Vec<Tensor>>,
}

/// Canonicalizes `g` and calibrates it on `samples`; `on_sample` reports progress.
pub fn prepare(
    g: &Graph,
    samples: &[Vec<Tensor>],
    cfg: &QuantizeConfig,
    on_sample: &(dyn Fn() + Sync),
) -> Result<Prepared, QuantizeError> {
    if samples.is_empty() {
        return Err(QuantizeError::NoSamples);
    }
    let mut float = g.clone();
    canonicalize(&mut float)?;
    if cfg.cle {
        let reg = Registry::with_builtins();
        let mut pm = PassManager::from_pipeline(
            &reg,
            "cross-layer-equalization",
            PassManagerOptions::default(),
        )?;
        pm.run(&mut float)?;
    }
    let mut calibration = calibrate(&float, samples, cfg.bins, on_sample)?;
    if let Some(alpha) = cfg.smooth_alpha {
        let r = smooth_layernorms(&mut float, alpha, Some(&calibration.channel_absmax()))
            .map_err(|e| QuantizeError::Pass(qcc_passes::PassError::graph("smooth-quant", e)))?;
        if !r.smoothed.is_empty() {
            // The smoothed LayerNorm outputs have new ranges: calibrate again.
            calibration = calibrate(&float, samples, cfg.bins, &|| {})?;
        }
    }
    let bias_samples = if cfg.bias_rounds > 0 {
        samples[..samples.len().min(cfg.bias_samples.max(1))].to_vec()
    } else {
        Vec::new()
    };
    Ok(Prepared { float, calibration, bias_samples })
}

impl Prepared {
    /// Quantizes the prepared graph with `cfg` (ranges, QDQ insertion, integer realization).
    pub fn build(&self, cfg: &QuantizeConfig) -> Result<QuantizedModel, QuantizeError> {
        let levels = if cfg.scheme.activations == DType::I16 { 65536 } else { 256 };
        let ranges = self.calibration.ranges(cfg.method, levels);
        let means = self.calibration.channel_means();
        let insert = |offsets: &BiasOffsets| -> Result<(Graph, QuantReport), QuantizeError> {
            let mut qdq = self.float.clone();
            let r = insert_qdq_with_offsets(&mut qdq, &ranges, &means, &cfg.scheme, offsets)?;
            Ok((qdq, r))
        };
        let mut offsets = BiasOffsets::new();
        let (mut qdq, mut report) = insert(&offsets)?;
        if cfg.bias_rounds > 0 && !self.bias_samples.is_empty() {
            for _ in 0..cfg.bias_rounds {
                let more = bias_offsets(&self.float, &qdq, &report.quantized, &self.bias_samples)?;
                for (label, d) in more {
                    let o = offsets.entry(label).or_insert_with(|| vec![0.0; d.len()]);
                    o.iter_mut().zip(&d).for_each(|(o, d)| *o += d);
                }
                (qdq, report) = insert(&offsets)?;
            }
        }
        qdq.advance_phase(qcc_ir::Phase::Calibrated).ok();
        let mut int = qdq.clone();
        let realized = realize(&mut int, &cfg.scheme)?;
        int.advance_phase(qcc_ir::Phase::Quantized).ok();
        Ok(QuantizedModel { float: self.float.clone(), qdq, int, report, realized })
    }
}

/// Quantizes a float graph with calibration samples; `on_sample` reports progress.
pub fn quantize(
    g: &Graph,
    samples: &[Vec<Tensor>],
    cfg: &QuantizeConfig,
    on_sample: &(dyn Fn() + Sync),
) -> Result<QuantizedModel, QuantizeError> {
    prepare(g, samples, cfg, on_sample)?.build(cfg)
}
