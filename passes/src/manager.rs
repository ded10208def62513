//! [`PassManager`]: runs a list of passes with instruments.
//!
//! Instruments (all set through [`PassManagerOptions`], which the `qcc opt` command fills from
//! its flags): verification after each pass (default on in debug builds, so in tests; the error
//! names the pass that broke the graph), printing the IR before or after named passes, after
//! every pass or after every pass that changed something (to a `Box<dyn Write>` sink, stderr by
//! default), a `--time-passes` table, a dump directory with one numbered `.qir` per step, and an
//! `--opt-bisect-limit` that runs only the first N passes (to find a miscompiling pass by
//! bisection).

use crate::analysis::PassCx;
use crate::ir_api;
use crate::pass::{Changed, Pass, PassError};
use crate::pipeline::Pipeline;
use crate::registry::Registry;
use qcc_ir::Graph;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Instrument settings. Field names match the `qcc opt` flags (`--print-ir-after-all`, ...);
/// with the `clap` feature the struct derives `clap::Args` so a CLI can `#[command(flatten)]` it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct PassManagerOptions {
    /// Verify the graph before the first pass and after each pass (default: on in debug builds).
    #[cfg_attr(
        feature = "clap",
        arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")
    )]
    pub verify_each: Option<bool>,
    /// Print the IR before each run of the named passes.
    #[cfg_attr(feature = "clap", arg(long, value_name = "PASS", value_delimiter = ','))]
    pub print_ir_before: Vec<String>,
    /// Print the IR after each run of the named passes.
    #[cfg_attr(feature = "clap", arg(long, value_name = "PASS", value_delimiter = ','))]
    pub print_ir_after: Vec<String>,
    /// Print the IR after every pass.
    #[cfg_attr(feature = "clap", arg(long))]
    pub print_ir_after_all: bool,
    /// Print the IR after every pass that changed the graph.
    #[cfg_attr(feature = "clap", arg(long))]
    pub print_ir_after_change: bool,
    /// Print a table of the time spent in each pass at the end.
    #[cfg_attr(feature = "clap", arg(long))]
    pub time_passes: bool,
    /// Write the input and the graph after each pass as `DIR/NN-pass.qir`.
    #[cfg_attr(feature = "clap", arg(long, value_name = "DIR"))]
    pub dump_dir: Option<PathBuf>,
    /// Run only the first N passes (skipped ones are reported as `BISECT: NOT running`).
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub opt_bisect_limit: Option<usize>,
}

impl PassManagerOptions {
    /// Whether verification after each pass is on (explicit setting, else debug builds).
    pub fn verify_each_enabled(&self) -> bool {
        self.verify_each.unwrap_or(cfg!(debug_assertions))
    }
}

/// What happened in one step of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// 1-based position in the expanded pipeline.
    pub index: usize,
    /// Pass name.
    pub pass: String,
    /// Whether the pass changed the graph (`No` when skipped).
    pub changed: Changed,
    /// True when `--opt-bisect-limit` skipped the pass.
    pub skipped: bool,
    /// Time spent in the pass (instruments excluded).
    pub time: Duration,
    /// Node count before the pass.
    pub nodes_before: usize,
    /// Node count after the pass.
    pub nodes_after: usize,
}

/// The outcome of [`PassManager::run`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// One entry per pass of the pipeline, in order.
    pub steps: Vec<StepReport>,
    /// Time spent verifying.
    pub verify_time: Duration,
    /// Time spent printing IR (`--print-ir-*`) and dumping it (`--dump-dir`).
    pub print_time: Duration,
    /// Wall time of the whole run, instruments included.
    pub total: Duration,
}

impl RunReport {
    /// True if some pass changed the graph.
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|s| s.changed.changed())
    }

    /// The `--time-passes` table: one line per step, then verification and the total.
    pub fn time_table(&self) -> String {
        let total = self.total.as_secs_f64().max(1e-12);
        let mut s = String::new();
        let _ = writeln!(s, "===-------------------------------------------------------===");
        let _ = writeln!(s, "                   Pass execution timing report");
        let _ = writeln!(s, "===-------------------------------------------------------===");
        let _ = writeln!(s, "  Total execution time: {:.3} ms", self.total.as_secs_f64() * 1e3);
        let _ = writeln!(s);
        let _ = writeln!(s, "  {:>10}  {:>6}  {:>13}  {:<9}  pass", "wall (ms)", "%", "nodes", "");
        let row = |s: &mut String, t: Duration, nodes: String, what: &str, name: &str| {
            let _ = writeln!(
                s,
                "  {:>10.3}  {:>5.1}%  {:>13}  {:<9}  {}",
                t.as_secs_f64() * 1e3,
                100.0 * t.as_secs_f64() / total,
                nodes,
                what,
                name
            );
        };
        for st in &self.steps {
            let what = if st.skipped {
                "skipped"
            } else if st.changed.changed() {
                "changed"
            } else {
                ""
            };
            row(
                &mut s,
                st.time,
                format!("{}→{}", st.nodes_before, st.nodes_after),
                what,
                &format!("{:>2} {}", st.index, st.pass),
            );
        }
        if self.verify_time > Duration::ZERO {
            row(&mut s, self.verify_time, String::new(), "", "   (verify)");
        }
        if self.print_time > Duration::ZERO {
            row(&mut s, self.print_time, String::new(), "", "   (print-ir, dump-dir)");
        }
        row(&mut s, self.total, String::new(), "", "   total");
        s
    }
}

/// A `Write` sink that keeps what is written, shareable (for tests and for capturing output).
#[derive(Debug, Clone, Default)]
pub struct SharedSink(Arc<Mutex<Vec<u8>>>);

impl SharedSink {
    /// An empty sink.
    pub fn new() -> SharedSink {
        SharedSink::default()
    }
    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs passes in order with the instruments of [`PassManagerOptions`].
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    options: PassManagerOptions,
    sink: Box<dyn Write>,
}

impl std::fmt::Debug for PassManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassManager")
            .field("passes", &self.passes.iter().map(|p| p.name().to_string()).collect::<Vec<_>>())
            .field("options", &self.options)
            .finish()
    }
}

fn sink_err(e: std::io::Error) -> PassError {
    PassError::Instrument { instrument: "print-ir", message: e.to_string() }
}

impl PassManager {
    /// A manager over `passes`, printing to stderr.
    pub fn new(passes: Vec<Box<dyn Pass>>, options: PassManagerOptions) -> PassManager {
        PassManager { passes, options, sink: Box::new(std::io::stderr()) }
    }

    /// Parses `pipeline` and builds its passes from `registry`.
    pub fn from_pipeline(
        registry: &Registry,
        pipeline: &str,
        options: PassManagerOptions,
    ) -> Result<PassManager, PassError> {
        let p = Pipeline::parse(pipeline)?;
        Ok(PassManager::new(registry.build(&p)?, options))
    }

    /// Sends printed IR, bisect lines and the time table to `sink` instead of stderr.
    pub fn with_sink(mut self, sink: Box<dyn Write>) -> PassManager {
        self.sink = sink;
        self
    }

    /// Appends a pass.
    pub fn add_pass(&mut self, pass: Box<dyn Pass>) {
        self.passes.push(pass);
    }

    /// The pass names, in order.
    pub fn pass_names(&self) -> Vec<String> {
        self.passes.iter().map(|p| p.name().to_string()).collect()
    }

    /// The options.
    pub fn options(&self) -> &PassManagerOptions {
        &self.options
    }

    /// Runs every pass on `g` with a fresh [`PassCx`].
    pub fn run(&mut self, g: &mut Graph) -> Result<RunReport, PassError> {
        self.run_with(g, &mut PassCx::new())
    }

    fn print_ir(
        &mut self,
        g: &Graph,
        title: &str,
        report: &mut RunReport,
    ) -> Result<(), PassError> {
        let t = Instant::now();
        let r = self.print_ir_inner(g, title);
        report.print_time += t.elapsed();
        r
    }

    fn print_ir_inner(&mut self, g: &Graph, title: &str) -> Result<(), PassError> {
        let text = ir_api::print(g);
        writeln!(self.sink, "; *** IR Dump {title} ***").map_err(sink_err)?;
        self.sink.write_all(text.as_bytes()).map_err(sink_err)?;
        if !text.ends_with('\n') {
            writeln!(self.sink).map_err(sink_err)?;
        }
        Ok(())
    }

    fn dump(
        &self,
        g: &Graph,
        step: usize,
        name: &str,
        report: &mut RunReport,
    ) -> Result<(), PassError> {
        let t = Instant::now();
        let r = self.dump_inner(g, step, name);
        report.print_time += t.elapsed();
        r
    }

    fn dump_inner(&self, g: &Graph, step: usize, name: &str) -> Result<(), PassError> {
        let Some(dir) = &self.options.dump_dir else { return Ok(()) };
        let err = |e: std::io::Error| PassError::Instrument {
            instrument: "dump-dir",
            message: format!("{}: {e}", dir.display()),
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let path = dir.join(format!("{step:02}-{name}.qir"));
        std::fs::write(&path, ir_api::print(g)).map_err(err)
    }

    fn verify(&self, g: &Graph, after: &str, report: &mut RunReport) -> Result<(), PassError> {
        if !self.options.verify_each_enabled() {
            return Ok(());
        }
        let t = Instant::now();
        let r = ir_api::verify(g);
        report.verify_time += t.elapsed();
        r.map_err(|errors| PassError::Verify { pass: after.to_string(), errors })
    }

    /// Runs every pass on `g` in the context `cx` (analyses cached there are invalidated
    /// whenever a pass changes the graph).
    pub fn run_with(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<RunReport, PassError> {
        let start = Instant::now();
        let mut report = RunReport::default();
        self.verify(g, "<input>", &mut report)?;
        self.dump(g, 0, "input", &mut report)?;
        let mut passes = std::mem::take(&mut self.passes);
        let result = self.run_passes(&mut passes, g, cx, &mut report);
        self.passes = passes;
        result?;
        report.total = start.elapsed();
        tracing::info!(
            passes = report.steps.len(),
            nodes = g.node_count(),
            millis = report.total.as_secs_f64() * 1e3,
            "pipeline done"
        );
        if self.options.time_passes {
            let table = report.time_table();
            self.sink.write_all(table.as_bytes()).map_err(sink_err)?;
        }
        self.sink.flush().map_err(sink_err)?;
        Ok(report)
    }

    fn run_passes(
        &mut self,
        passes: &mut [Box<dyn Pass>],
        g: &mut Graph,
        cx: &mut PassCx,
        report: &mut RunReport,
    ) -> Result<(), PassError> {
        for (i, pass) in passes.iter_mut().enumerate() {
            let index = i + 1;
            let name = pass.name().to_string();
            let nodes_before = g.node_count();
            if let Some(limit) = self.options.opt_bisect_limit {
                let run = index <= limit;
                let not = if run { "" } else { "NOT " };
                writeln!(self.sink, "BISECT: {not}running pass ({index}) {name}")
                    .map_err(sink_err)?;
                if !run {
                    report.steps.push(StepReport {
                        index,
                        pass: name,
                        changed: Changed::No,
                        skipped: true,
                        time: Duration::ZERO,
                        nodes_before,
                        nodes_after: nodes_before,
                    });
                    continue;
                }
            }
            if g.phase() < pass.required_phase() {
                return Err(PassError::Phase {
                    pass: name,
                    required: pass.required_phase(),
                    actual: g.phase(),
                });
            }
            if self.options.print_ir_before.contains(&name) {
                self.print_ir(g, &format!("Before {name} (step {index})"), report)?;
            }
            let t = Instant::now();
            let changed = pass.run(g, cx)?;
            let time = t.elapsed();
            if changed.changed() {
                cx.invalidate();
            }
            self.verify(g, &name, report)?;
            let print_after = self.options.print_ir_after_all
                || (self.options.print_ir_after_change && changed.changed())
                || self.options.print_ir_after.contains(&name);
            if print_after {
                self.print_ir(g, &format!("After {name} (step {index}, {changed})"), report)?;
            }
            self.dump(g, index, &name, report)?;
            tracing::debug!(
                pass = %name,
                step = index,
                changed = changed.changed(),
                nodes_before,
                nodes_after = g.node_count(),
                micros = time.as_micros() as u64,
                "pass done"
            );
            report.steps.push(StepReport {
                index,
                pass: name,
                changed,
                skipped: false,
                time,
                nodes_before,
                nodes_after: g.node_count(),
            });
        }
        Ok(())
    }
}
