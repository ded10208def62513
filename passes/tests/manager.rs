//! The pass manager's instruments: verify-each, print-IR, time-passes, dump-dir, bisect.

use qcc_ir::{Graph, Op};
use qcc_passes::{
    Changed, NoOptions, Pass, PassCx, PassError, PassManager, PassManagerOptions, Registry,
    SharedSink,
};

const INPUT: &str = r#"graph @g {
  input %x: f32[2]
  %0 = Identity(%x) : f32[2]
  %1 = Relu(%0) : f32[2]
  %2 = Exp(%x) : f32[2]
  output "y" = %1
}"#;

fn graph() -> Graph {
    qcc_ir::parse::parse(INPUT).unwrap()
}

fn manager(pipeline: &str, options: PassManagerOptions) -> (PassManager, SharedSink) {
    let sink = SharedSink::new();
    let pm = PassManager::from_pipeline(&Registry::with_builtins(), pipeline, options)
        .unwrap()
        .with_sink(Box::new(sink.clone()));
    (pm, sink)
}

/// A pass that breaks the graph: it makes the first Relu its own operand (a cycle).
struct Breaker;
impl Pass for Breaker {
    fn name(&self) -> &str {
        "breaker"
    }
    fn summary(&self) -> &str {
        "creates a cycle"
    }
    fn run(&mut self, g: &mut Graph, _: &mut PassCx) -> Result<Changed, PassError> {
        let relu = g.node_ids().into_iter().find(|&n| matches!(g.node(n).op, Op::Relu)).unwrap();
        let v = g.result(relu);
        g.set_operand(relu, 0, Some(v)).map_err(|e| PassError::graph("breaker", e))?;
        Ok(Changed::Yes)
    }
}

#[test]
fn verify_each_names_the_pass_that_broke_the_graph() {
    let mut r = Registry::with_builtins();
    r.register("breaker", "creates a cycle", |_: NoOptions| Breaker).unwrap();
    let opts = PassManagerOptions { verify_each: Some(true), ..Default::default() };
    let mut pm = PassManager::from_pipeline(&r, "dce,breaker,cse", opts).unwrap();
    let err = pm.run(&mut graph()).unwrap_err();
    match &err {
        PassError::Verify { pass, .. } => assert_eq!(pass, "breaker"),
        other => panic!("expected a verify error, got {other}"),
    }
    assert!(err.to_string().contains("after pass `breaker`"), "{err}");
}

#[test]
fn verify_each_is_on_by_default_in_debug_builds() {
    assert_eq!(PassManagerOptions::default().verify_each_enabled(), cfg!(debug_assertions));
    let off = PassManagerOptions { verify_each: Some(false), ..Default::default() };
    assert!(!off.verify_each_enabled());
}

#[test]
fn print_ir_before_after_and_after_change() {
    let opts = PassManagerOptions {
        print_ir_before: vec!["dce".into()],
        print_ir_after: vec!["remove-identity".into()],
        ..Default::default()
    };
    let (mut pm, sink) = manager("remove-identity,dce,cse", opts);
    pm.run(&mut graph()).unwrap();
    let out = sink.contents();
    assert!(out.contains("; *** IR Dump Before dce (step 2) ***"), "{out}");
    assert!(out.contains("; *** IR Dump After remove-identity (step 1, changed) ***"), "{out}");
    assert!(!out.contains("After cse"), "{out}");
    assert!(!out.contains("After dce"), "{out}");
    // After remove-identity the Relu reads %x directly; before dce the Exp is still there.
    assert!(out.contains("Relu(%x)"), "{out}");
    assert!(out.contains("Exp(%x)"), "{out}");

    let opts = PassManagerOptions { print_ir_after_change: true, ..Default::default() };
    let (mut pm, sink) = manager("remove-identity,cse,dce", opts);
    pm.run(&mut graph()).unwrap();
    let out = sink.contents();
    assert!(out.contains("After remove-identity"), "{out}");
    assert!(out.contains("After dce"), "{out}");
    assert!(!out.contains("After cse"), "cse changes nothing here:\n{out}");

    let opts = PassManagerOptions { print_ir_after_all: true, ..Default::default() };
    let (mut pm, sink) = manager("remove-identity,cse,dce", opts);
    pm.run(&mut graph()).unwrap();
    assert_eq!(sink.contents().matches("; *** IR Dump After").count(), 3);
}

#[test]
fn time_passes_prints_a_table() {
    let opts = PassManagerOptions { time_passes: true, ..Default::default() };
    let (mut pm, sink) = manager("remove-identity,cse,dce", opts);
    let report = pm.run(&mut graph()).unwrap();
    let out = sink.contents();
    assert!(out.contains("Pass execution timing report"), "{out}");
    for name in [" 1 remove-identity", " 2 cse", " 3 dce", "total"] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    assert_eq!(report.steps.len(), 3);
    assert_eq!((report.steps[2].nodes_before, report.steps[2].nodes_after), (3, 2));
    assert!(report.changed());
}

#[test]
fn dump_dir_writes_one_numbered_file_per_step() {
    let dir = std::env::temp_dir().join(format!("qcc-dump-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = PassManagerOptions { dump_dir: Some(dir.clone()), ..Default::default() };
    let (mut pm, _) = manager("remove-identity,dce", opts);
    pm.run(&mut graph()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["00-input.qir", "01-remove-identity.qir", "02-dce.qir"]);
    let last = std::fs::read_to_string(dir.join("02-dce.qir")).unwrap();
    let reparsed = qcc_ir::parse::parse(&last).unwrap();
    assert_eq!(reparsed.node_count(), 2, "dumped files parse back:\n{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn opt_bisect_limit_skips_later_passes() {
    let opts = PassManagerOptions { opt_bisect_limit: Some(1), ..Default::default() };
    let (mut pm, sink) = manager("remove-identity,dce", opts);
    let mut g = graph();
    let report = pm.run(&mut g).unwrap();
    let out = sink.contents();
    assert!(out.contains("BISECT: running pass (1) remove-identity"), "{out}");
    assert!(out.contains("BISECT: NOT running pass (2) dce"), "{out}");
    assert!(report.steps[1].skipped);
    assert_eq!(g.node_count(), 3, "the dead Exp survives since dce was skipped");
}

#[test]
fn phase_requirements_are_checked() {
    struct NeedsTyped;
    impl Pass for NeedsTyped {
        fn name(&self) -> &str {
            "needs-typed"
        }
        fn summary(&self) -> &str {
            "needs a typed graph"
        }
        fn required_phase(&self) -> qcc_ir::Phase {
            qcc_ir::Phase::Typed
        }
        fn run(&mut self, _: &mut Graph, _: &mut PassCx) -> Result<Changed, PassError> {
            Ok(Changed::No)
        }
    }
    let mut pm = PassManager::new(vec![Box::new(NeedsTyped)], PassManagerOptions::default());
    let err = pm.run(&mut graph()).unwrap_err();
    assert!(matches!(err, PassError::Phase { .. }), "{err}");
    assert!(err.to_string().contains("needs phase typed"), "{err}");
}

#[test]
fn options_deserialize_from_json() {
    let o: PassManagerOptions =
        serde_json::from_str(r#"{"print_ir_after_all": true, "opt_bisect_limit": 3}"#).unwrap();
    assert!(o.print_ir_after_all);
    assert_eq!(o.opt_bisect_limit, Some(3));
    assert!(serde_json::from_str::<PassManagerOptions>(r#"{"bogus": 1}"#).is_err());
}
