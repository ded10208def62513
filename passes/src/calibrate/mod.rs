//! Calibration: run the float graph on sample inputs and collect streaming statistics per
//! float tensor (constant memory per tensor: a fixed-bin histogram plus running extremes),
//! in parallel over samples, then choose each tensor's range.

pub mod histogram;
pub mod range;

use histogram::Histogram;
use qcc_ir::interp::{run_observed, InterpError};
use qcc_ir::{DType, Graph, Op, Tensor, Value};
use range::{choose_range, RangeMethod};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Statistics of one tensor over the calibration set.
#[derive(Debug, Clone)]
pub struct TensorStats {
    /// Histogram of every element.
    pub hist: Histogram,
    /// Sum of per-sample minima (for the moving-average range).
    pub sum_min: f64,
    /// Sum of per-sample maxima.
    pub sum_max: f64,
    /// Samples observed.
    pub samples: u64,
    /// Per-channel sums (channel axis: 1 for rank-4 tensors, else the last axis).
    pub channel_sum: Vec<f64>,
    /// Elements summed per channel.
    pub channel_count: u64,
    /// Per-channel maximum of |x| (for SmoothQuant).
    pub channel_absmax: Vec<f32>,
}

/// The channel axis used for per-channel means: 1 for NCHW tensors, else the last axis.
pub fn channel_axis(rank: usize) -> usize {
    if rank == 4 {
        1
    } else {
        rank.saturating_sub(1)
    }
}

impl TensorStats {
    fn new(bins: usize) -> TensorStats {
        TensorStats {
            hist: Histogram::new(bins),
            sum_min: 0.0,
            sum_max: 0.0,
            samples: 0,
            channel_sum: Vec::new(),
            channel_count: 0,
            channel_absmax: Vec::new(),
        }
    }
    fn observe(&mut self, data: &[f32], shape: &[usize]) {
        if !shape.is_empty() {
            let ax = channel_axis(shape.len());
            let c = shape[ax];
            let inner: usize = shape[ax + 1..].iter().product();
            if self.channel_sum.len() != c {
                self.channel_sum = vec![0.0; c];
                self.channel_count = 0;
                self.channel_absmax = vec![0.0; c];
            }
            if c > 0 && inner > 0 {
                for (i, &x) in data.iter().enumerate() {
                    if x.is_finite() {
                        let ch = (i / inner) % c;
                        self.channel_sum[ch] += x as f64;
                        self.channel_absmax[ch] = self.channel_absmax[ch].max(x.abs());
                    }
                }
                self.channel_count += (data.len() / c) as u64;
            }
        }
        let (lo, hi) = data
            .iter()
            .filter(|x| x.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
        if lo <= hi {
            self.sum_min += lo as f64;
            self.sum_max += hi as f64;
            self.samples += 1;
        }
        self.hist.observe(data);
    }
    fn merge(&mut self, o: &TensorStats) {
        if self.channel_sum.len() == o.channel_sum.len() {
            for (a, b) in self.channel_sum.iter_mut().zip(&o.channel_sum) {
                *a += b;
            }
            for (a, b) in self.channel_absmax.iter_mut().zip(&o.channel_absmax) {
                *a = a.max(*b);
            }
            self.channel_count += o.channel_count;
        }
        self.hist.merge(&o.hist);
        self.sum_min += o.sum_min;
        self.sum_max += o.sum_max;
        self.samples += o.samples;
    }
    /// Mean of each channel (see [`channel_axis`]).
    pub fn channel_means(&self) -> Vec<f32> {
        let n = self.channel_count.max(1) as f64;
        self.channel_sum.iter().map(|&s| (s / n) as f32).collect()
    }

    /// Average of the per-sample extremes.
    pub fn moving_average(&self) -> (f32, f32) {
        if self.samples == 0 {
            return (0.0, 0.0);
        }
        ((self.sum_min / self.samples as f64) as f32, (self.sum_max / self.samples as f64) as f32)
    }
}

/// Statistics of every float value of a graph, by value.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    /// Per float value (constants excluded).
    pub stats: BTreeMap<Value, TensorStats>,
}

/// Per-channel means per value, from a [`Calibration`].
pub type ChannelMeans = BTreeMap<Value, Vec<f32>>;

/// A range per value, as chosen from a [`Calibration`].
pub type Ranges = BTreeMap<Value, (f32, f32)>;

impl Calibration {
    /// Per-channel means of every observed value (for bias correction).
    pub fn channel_means(&self) -> ChannelMeans {
        self.stats.iter().map(|(&v, s)| (v, s.channel_means())).collect()
    }

    /// Per-channel maximum of |x| of every observed value (for SmoothQuant).
    pub fn channel_absmax(&self) -> crate::quant::smooth::ChannelMax {
        self.stats.iter().map(|(&v, s)| (v, s.channel_absmax.clone())).collect()
    }

    /// Ranges for every observed value with `method` for a quantizer with `levels` steps.
    pub fn ranges(&self, method: RangeMethod, levels: usize) -> Ranges {
        self.stats
            .iter()
            .map(|(&v, s)| (v, choose_range(method, &s.hist, s.moving_average(), levels)))
            .collect()
    }
}

/// Samples observed in sequence by one task of [`calibrate`] (a constant, so that the result
/// does not depend on the number of threads).
const CALIB_CHUNK: usize = 8;

/// Runs `g` on every sample (each a list of input tensors in graph input order) and collects
/// statistics of every float value that is not a constant. `on_sample` is called after each
/// sample (progress). Samples run in parallel on the current rayon pool.
pub fn calibrate(
    g: &Graph,
    samples: &[Vec<Tensor>],
    bins: usize,
    on_sample: &(dyn Fn() + Sync),
) -> Result<Calibration, InterpError> {
    let wanted = |v: Value, t: &Tensor| {
        t.dtype == DType::F32 && !matches!(g.node(v.node).op, Op::Constant(_))
    };
    // Fixed chunks observed in parallel, merged in order: the statistics (histogram growth and
    // merging depend on the order of observations) are the same whatever the number of threads
    // and however rayon splits the work, so calibration is deterministic.
    let parts: Vec<BTreeMap<Value, TensorStats>> = samples
        .par_chunks(CALIB_CHUNK)
        .map(|chunk| {
            let mut acc = BTreeMap::<Value, TensorStats>::new();
            for inputs in chunk {
                run_observed(g, inputs, &mut |v, t| {
                    if wanted(v, t) {
                        if let Ok(data) = t.as_f32() {
                            acc.entry(v)
                                .or_insert_with(|| TensorStats::new(bins))
                                .observe(data, &t.shape);
                        }
                    }
                })?;
                on_sample();
            }
            Ok::<_, InterpError>(acc)
        })
        .collect::<Result<_, _>>()?;
    let mut partial = BTreeMap::new();
    for b in parts {
        for (v, s) in b {
            match partial.get_mut(&v) {
                Some(x) => TensorStats::merge(x, &s),
                None => {
                    partial.insert(v, s);
                }
            }
        }
    }
    tracing::info!(
        samples = samples.len(),
        tensors = partial.len(),
        threads = rayon::current_num_threads(),
        "calibration statistics collected"
    );
    Ok(Calibration { stats: partial })
}
