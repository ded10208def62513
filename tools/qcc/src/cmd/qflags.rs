//! Quantization flags shared by `quantize`, `eval`, `run --quantize` and `bench`.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qcc::calib_inputs::{load_samples, Preprocess};
use qcc::quantize::{prepare, quantize, QuantizeConfig, QuantizedModel};
use qcc::sensitivity::{auto_mixed, sensitivity, AutoMixedReport, Fallback, LayerSensitivity};
use qcc_ir::{DType, Graph};
use qcc_passes::calibrate::range::RangeMethod;
use qcc_passes::quant::scheme::{QuantScheme, WeightGranularity};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    Minmax,
    MovingAverage,
    Percentile,
    Entropy,
    Mse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActType {
    U8,
    I8,
    I16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightType {
    I8,
    I4,
}

/// How to quantize.
#[derive(Debug, Clone, Args)]
pub struct QuantFlags {
    /// Calibration inputs: an `.npz` (one array per model input shaped `[N, *input_shape]`), a
    /// folder of `.npy` files (`NAME.npy` per input, or one sample per file), or a folder of
    /// `.png`/`.jpg` images with `--preprocess`.
    #[arg(long)]
    pub calib: Option<PathBuf>,
    /// How images of a `--calib` folder become inputs: `imagenet`, or comma-separated
    /// `resize=256,crop=224,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,layout=nchw|nhwc,raw`.
    #[arg(long)]
    pub preprocess: Option<String>,
    /// Use only the first N calibration samples.
    #[arg(long)]
    pub calib_limit: Option<usize>,
    /// How activation ranges are chosen from calibration statistics.
    #[arg(long, value_enum, default_value_t = Method::Minmax)]
    pub method: Method,
    /// Percentile kept by `--method percentile`.
    #[arg(long, default_value_t = 99.99)]
    pub percentile: f64,
    /// Activation type (u8 asymmetric is the fast path of VNNI `u8·s8`).
    #[arg(long, value_enum, default_value_t = ActType::U8)]
    pub activations: ActType,
    /// Weight type.
    #[arg(long, value_enum, default_value_t = WeightType::I8)]
    pub weights: WeightType,
    /// Weight granularity: `tensor`, `channel` or `group:N`.
    #[arg(long, default_value = "channel")]
    pub granularity: String,
    /// Keep these nodes (by name) or ops (by op name, e.g. `Softmax`) in float (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Quantize the result of these nodes (by name, or op name) as i16 whatever
    /// `--activations` says: integer mixed precision for sensitive values (repeatable).
    #[arg(long)]
    pub wide: Vec<String>,
    /// Do not correct biases for the mean error of quantized weights.
    #[arg(long)]
    pub no_bias_correction: bool,
    /// Rounds of empirical bias correction: run the QDQ simulation on calibration samples and
    /// add each Conv/Gemm/MatMul(+bias) output's mean error per channel to its bias (0: off).
    #[arg(long, default_value_t = 0)]
    pub bias_rounds: usize,
    /// Calibration samples measured by `--bias-rounds`.
    #[arg(long, default_value_t = 16)]
    pub bias_samples: usize,
    /// Cross-layer equalization of Conv → (Relu) → Conv pairs before calibration (balances
    /// per-channel ranges; Clip/ReLU6/HardSwish links are not positively homogeneous and are
    /// left alone).
    #[arg(long)]
    pub cle: bool,
    /// Requantize every Conv/MatMul/Gemm output to 8 bits, even those read only by float ops
    /// or graph outputs (by default their i32 accumulators are dequantized to f32).
    #[arg(long)]
    pub requantize_outputs: bool,
    /// Keep the calibrated range of values read only by saturating ops (HardSwish,
    /// HardSigmoid, Relu, Clip) instead of narrowing it to where those ops vary.
    #[arg(long)]
    pub no_saturation_ranges: bool,
    /// SmoothQuant: balance each LayerNorm → MatMul with migration strength ALPHA (0..1)
    /// using calibrated per-channel maxima (nets without LayerNorm → MatMul are unchanged).
    #[arg(long, value_name = "ALPHA", default_value_t = 0.5)]
    pub smooth_quant: f32,
    /// Do not apply SmoothQuant balancing.
    #[arg(long)]
    pub no_smooth_quant: bool,
    /// Measure each layer's sensitivity: the output SQNR when only that layer is quantized.
    #[arg(long)]
    pub sensitivity: bool,
    /// Keep the fewest, cheapest layers in float until the output SQNR reaches `--min-sqnr`.
    #[arg(long, requires = "min_sqnr")]
    pub auto_mixed: bool,
    /// What `--auto-mixed` keeps sensitive layers in: `float`, or `i16` (results at i16, so the
    /// model stays integer; float only where i16 cannot reach the target).
    #[arg(long, value_enum, default_value_t = MixedPrecision::Float, requires = "auto_mixed")]
    pub mixed_precision: MixedPrecision,
    /// Target output SQNR (dB) of `--auto-mixed`, measured on calibration samples.
    #[arg(long)]
    pub min_sqnr: Option<f64>,
    /// Calibration samples used to measure sensitivity and the `--auto-mixed` target.
    #[arg(long, default_value_t = 8)]
    pub sensitivity_samples: usize,
}

/// `--mixed-precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MixedPrecision {
    /// Sensitive layers stay in float.
    Float,
    /// Sensitive layers' results are i16 (float where i16 does not reach the target).
    I16,
}

/// A quantized model with what `--sensitivity` and `--auto-mixed` found.
pub struct QuantOutcome {
    pub model: QuantizedModel,
    pub sensitivity: Option<Vec<LayerSensitivity>>,
    pub auto_mixed: Option<AutoMixedReport>,
}

impl QuantOutcome {
    /// The sensitivity and auto-mixed findings as JSON fields (empty when not asked for).
    pub fn json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        if let Some(s) = &self.sensitivity {
            m.insert("sensitivity".into(), serde_json::to_value(s).unwrap_or_default());
        }
        if let Some(a) = &self.auto_mixed {
            m.insert("auto_mixed".into(), serde_json::to_value(a).unwrap_or_default());
        }
        m
    }

    /// Human-readable lines about the findings.
    pub fn print_text(&self) {
        if let Some(s) = &self.sensitivity {
            let mut v: Vec<&LayerSensitivity> = s.iter().collect();
            v.sort_by(|a, b| a.sqnr_db.total_cmp(&b.sqnr_db));
            println!("most sensitive layers (output SQNR with only that layer quantized):");
            for l in v.iter().take(10) {
                println!("  {:>8.2} dB  {} ({}, {} MACs)", l.sqnr_db, l.node, l.op, l.cost);
            }
        }
        if let Some(a) = &self.auto_mixed {
            println!(
                "auto-mixed: {} layer(s) kept in float, {} at i16, output SQNR {:.2} dB (all quantized {:.2} dB, target {:.2} dB{}): {}",
                a.kept_float.len(),
                a.kept_wide.len(),
                a.sqnr_db,
                a.all_quantized_sqnr_db,
                a.min_sqnr_db,
                if a.met { "" } else { ", NOT met" },
                a.kept_float.iter().chain(&a.kept_wide).cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
}

impl QuantFlags {
    pub fn config(&self) -> anyhow::Result<QuantizeConfig> {
        let method = match self.method {
            Method::Minmax => RangeMethod::MinMax,
            Method::MovingAverage => RangeMethod::MovingAverage,
            Method::Percentile => RangeMethod::Percentile { percentile: self.percentile },
            Method::Entropy => RangeMethod::Entropy,
            Method::Mse => RangeMethod::Mse,
        };
        let granularity = match self.granularity.as_str() {
            "tensor" => WeightGranularity::Tensor,
            "channel" => WeightGranularity::Channel,
            g => match g.strip_prefix("group:").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => WeightGranularity::Group(n),
                _ => bail!("--granularity `{g}`: expected tensor, channel or group:N"),
            },
        };
        let a = self.smooth_quant;
        if !(0.0..=1.0).contains(&a) {
            bail!("--smooth-quant {a}: alpha must be in [0, 1]");
        }
        let activations = match self.activations {
            ActType::U8 => DType::U8,
            ActType::I8 => DType::I8,
            ActType::I16 => DType::I16,
        };
        let weights = match self.weights {
            WeightType::I8 => DType::I8,
            WeightType::I4 => DType::I4,
        };
        Ok(QuantizeConfig {
            method,
            scheme: QuantScheme {
                activations,
                weights,
                granularity,
                exclude: self.exclude.clone(),
                bias_correction: !self.no_bias_correction,
                float_outputs: !self.requantize_outputs,
                only: Vec::new(),
                wide: self.wide.clone(),
                saturation_ranges: !self.no_saturation_ranges,
            },
            smooth_alpha: (!self.no_smooth_quant).then_some(self.smooth_quant),
            cle: self.cle,
            bias_rounds: self.bias_rounds,
            bias_samples: self.bias_samples,
            ..Default::default()
        })
    }

    /// Loads the calibration samples for `g` (`--calib`, `--preprocess`).
    pub fn samples(&self, g: &Graph) -> anyhow::Result<Vec<Vec<qcc_ir::Tensor>>> {
        let calib = self.calib.as_ref().context("--calib CALIB.npz is needed to quantize")?;
        let pre = self.preprocess.as_deref().map(Preprocess::parse).transpose()?;
        Ok(load_samples(g, calib, pre.as_ref())?)
    }

    /// Loads the calibration samples and quantizes `g` with a progress bar.
    pub fn quantize(&self, g: &Graph) -> anyhow::Result<QuantizedModel> {
        let mut samples = self.samples(g)?;
        if let Some(n) = self.calib_limit {
            samples.truncate(n);
        }
        let cfg = self.config()?;
        let pb = progress(samples.len() as u64, "calibrating");
        let q = quantize(g, &samples, &cfg, &|| pb.inc(1))?;
        pb.finish_and_clear();
        Ok(q)
    }

    /// Like [`QuantFlags::quantize`], and also runs `--sensitivity` / `--auto-mixed`.
    pub fn quantize_full(&self, g: &Graph) -> anyhow::Result<QuantOutcome> {
        if !self.sensitivity && !self.auto_mixed {
            return Ok(QuantOutcome {
                model: self.quantize(g)?,
                sensitivity: None,
                auto_mixed: None,
            });
        }
        let mut samples = self.samples(g)?;
        if let Some(n) = self.calib_limit {
            samples.truncate(n);
        }
        let cfg = self.config()?;
        let pb = progress(samples.len() as u64, "calibrating");
        let p = prepare(g, &samples, &cfg, &|| pb.inc(1))?;
        pb.finish_and_clear();
        samples.truncate(self.sensitivity_samples.max(1));
        let sens = sensitivity(&p, &cfg, &samples)?;
        let (model, auto) = match (self.auto_mixed, self.min_sqnr) {
            (true, Some(db)) => {
                let fallback = match self.mixed_precision {
                    MixedPrecision::Float => Fallback::Float,
                    MixedPrecision::I16 => Fallback::Wide,
                };
                let (m, r) = auto_mixed(&p, &cfg, &samples, &sens, db, fallback)?;
                (m, Some(r))
            }
            _ => (p.build(&cfg)?, None),
        };
        Ok(QuantOutcome { model, sensitivity: Some(sens), auto_mixed: auto })
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(n: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(n);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
