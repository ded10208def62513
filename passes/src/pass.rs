//! The [`Pass`] trait, its result ([`Changed`]) and error ([`PassError`]) types.
//!
//! A pass is a struct with a kebab-case name, a one-line summary, the phase a graph must have
//! reached before it runs, and a `run` method that rewrites the graph in place and says whether
//! it changed anything. Passes get a [`PassCx`] for cached analyses and statistics.

use crate::analysis::PassCx;
use qcc_ir::{Graph, GraphError, Phase};
use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Whether a pass changed the graph. `Changed::Yes` invalidates the cached analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Changed {
    /// The graph is exactly as before.
    #[default]
    No,
    /// Something was rewritten.
    Yes,
}

impl Changed {
    /// True for [`Changed::Yes`].
    pub fn changed(self) -> bool {
        self == Changed::Yes
    }
}

impl From<bool> for Changed {
    fn from(b: bool) -> Changed {
        if b {
            Changed::Yes
        } else {
            Changed::No
        }
    }
}

impl BitOr for Changed {
    type Output = Changed;
    fn bitor(self, rhs: Changed) -> Changed {
        Changed::from(self.changed() || rhs.changed())
    }
}

impl BitOrAssign for Changed {
    fn bitor_assign(&mut self, rhs: Changed) {
        *self = *self | rhs;
    }
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.changed() { "changed" } else { "unchanged" })
    }
}

/// Errors from passes, pipelines and the pass manager.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A graph mutation failed (a bug in the pass, reported instead of panicking).
    #[error("pass `{pass}`: graph error: {source}")]
    Graph {
        /// The pass.
        pass: String,
        /// What the graph said.
        #[source]
        source: GraphError,
    },
    /// The pass failed for a reason of its own (inference or folding errors land here).
    #[error("pass `{pass}`: {message}")]
    Failed {
        /// The pass.
        pass: String,
        /// What went wrong.
        message: String,
    },
    /// The graph is not far enough in the pipeline for the pass.
    #[error("pass `{pass}` needs phase {required} or later, the graph is {actual}")]
    Phase {
        /// The pass.
        pass: String,
        /// The phase it needs.
        required: Phase,
        /// The graph's phase.
        actual: Phase,
    },
    /// The verifier rejected the graph after a pass.
    #[error("the graph does not verify after pass `{pass}`:\n{errors}")]
    Verify {
        /// The pass after which verification failed (`<input>` for the input graph).
        pass: String,
        /// The verifier's report.
        errors: String,
    },
    /// Bad options for a pass.
    #[error("pass `{pass}`: bad options: {message}")]
    Options {
        /// The pass.
        pass: String,
        /// What was wrong.
        message: String,
    },
    /// An instrument failed (e.g. writing a dump file or to the print sink).
    #[error("instrument `{instrument}`: {message}")]
    Instrument {
        /// The instrument.
        instrument: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A pipeline could not be parsed or built.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
}

impl PassError {
    /// A [`PassError::Failed`] for `pass`.
    pub fn failed(pass: impl Into<String>, message: impl fmt::Display) -> PassError {
        PassError::Failed { pass: pass.into(), message: message.to_string() }
    }
    /// A [`PassError::Graph`] for `pass`.
    pub fn graph(pass: impl Into<String>, source: GraphError) -> PassError {
        PassError::Graph { pass: pass.into(), source }
    }
}

/// A transformation of a [`Graph`].
///
/// Implementors are plain structs holding their options; see `passes/docs/writing-a-pass.md`.
pub trait Pass {
    /// Kebab-case name, as written in pipelines (`fold-batchnorm`).
    fn name(&self) -> &str;
    /// One line saying what the pass does (shown by `--list-passes`).
    fn summary(&self) -> &str;
    /// The phase the graph must have reached (default: any).
    fn required_phase(&self) -> Phase {
        Phase::Imported
    }
    /// Rewrites `g` in place.
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError>;
}

/// Extension for results of graph mutations inside a pass: `g.add_node(..).in_pass(NAME)?`.
pub trait InPass<T> {
    /// Tags a [`GraphError`] with the pass name.
    fn in_pass(self, pass: &str) -> Result<T, PassError>;
}

impl<T> InPass<T> for Result<T, GraphError> {
    fn in_pass(self, pass: &str) -> Result<T, PassError> {
        self.map_err(|e| PassError::graph(pass, e))
    }
}
