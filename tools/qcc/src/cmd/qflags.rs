//! Quantization flags shared by `quantize`, `eval`, `run --quantize` and `bench`.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qcc::quantize::{quantize, QuantizeConfig, QuantizedModel};
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
    /// Calibration inputs (`.npz`, one array per model input shaped `[N, *input_shape]`).
    #[arg(long)]
    pub calib: Option<PathBuf>,
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
    /// Do not correct biases for the mean error of quantized weights.
    #[arg(long)]
    pub no_bias_correction: bool,
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
            },
            ..Default::default()
        })
    }

    /// Loads the calibration samples and quantizes `g` with a progress bar.
    pub fn quantize(&self, g: &Graph) -> anyhow::Result<QuantizedModel> {
        let calib = self.calib.as_ref().context("--calib CALIB.npz is needed to quantize")?;
        let arrays = qcc::data::read_npz(calib)?;
        let mut samples = qcc::model::bind_samples(g, &arrays, &calib.display().to_string())?;
        if let Some(n) = self.calib_limit {
            samples.truncate(n);
        }
        let cfg = self.config()?;
        let pb = progress(samples.len() as u64, "calibrating");
        let q = quantize(g, &samples, &cfg, &|| pb.inc(1))?;
        pb.finish_and_clear();
        Ok(q)
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
