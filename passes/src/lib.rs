//! `qcc-passes`: the pass infrastructure of qcc and its graph-level passes.
//!
//! * [`Pass`]: a named, documented graph transformation returning whether it [`Changed`] the
//!   graph; [`PassCx`] caches [`Analysis`] results between passes and drops them on change.
//! * [`Registry`]: built-in passes (declared in one list, [`passes::BUILTIN`]), user passes
//!   and named pipelines (`canonicalize`); [`Pipeline`]: the text form
//!   `canonicalize,fold-batchnorm,cse{max=100}` that parses and prints back.
//! * [`PassManager`]: runs a pipeline with instruments (verify-each, print-IR, time-passes,
//!   dump-dir, opt-bisect-limit) configured by [`PassManagerOptions`].
//! * [`rewrite`]: named patterns with a benefit, guard helpers ([`matchers`]) and a greedy
//!   fixpoint driver with a typed [`rewrite::StopReason`].
//! * [`testing`]: snapshot-test a pipeline on a `.qir` string.
//! * [`calibrate`], [`interval`], [`quant`]: range analysis (calibration observers and static
//!   intervals), QDQ insertion and integer realization.
//!
//! See `passes/docs/writing-a-pass.md` for a walk-through.
#![deny(missing_docs)]

pub mod analysis;
pub mod calibrate;
pub mod interval;
mod ir_api;
pub mod manager;
pub mod matchers;
pub mod pass;
pub mod passes;
pub mod pipeline;
pub mod quant;
pub mod registry;
pub mod rewrite;
pub mod testing;

pub use analysis::{Analysis, PassCx};
pub use manager::{PassManager, PassManagerOptions, RunReport, SharedSink};
pub use pass::{Changed, InPass, Pass, PassError};
pub use pipeline::{PassOptions, PassSpec, Pipeline, PipelineError};
pub use registry::{DeclaredPass, NoOptions, Registry};
