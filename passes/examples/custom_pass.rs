//! A user-defined pass: replace ReLU6 written as `Clip(x, 0, 6)` by a custom op
//! `example.Relu6`, registered next to the built-in passes and run in a pipeline with them.
//!
//! Run it with `cargo run -p qcc-passes --example custom_pass`; its snapshot test runs with
//! `cargo test -p qcc-passes --example custom_pass`. `passes/docs/writing-a-pass.md` walks through it.

use qcc_ir::ops::CustomOp;
use qcc_ir::{Graph, GraphError, NodeId, Op, Value};
use qcc_passes::matchers::{guard, is_op, scalar};
use qcc_passes::rewrite::{apply_greedily, GreedyConfig, Pattern, RewriteSet};
use qcc_passes::{Changed, Pass, PassCx, PassError, PassManager, PassManagerOptions, Registry};
use serde::Deserialize;

/// Options of the pass, from the pipeline text: `relu6-to-custom{domain=acme}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Relu6Options {
    /// Domain of the custom op.
    pub domain: String,
}

impl Default for Relu6Options {
    fn default() -> Self {
        Relu6Options { domain: "example".into() }
    }
}

/// The rewrite rule: `Clip(x, 0, 6)` → `Custom{domain, Relu6}(x)`.
struct ClipToRelu6 {
    domain: String,
}

impl Pattern for ClipToRelu6 {
    type Match = Value;
    fn name(&self) -> &str {
        "clip-to-relu6"
    }
    fn match_at(&self, g: &Graph, root: NodeId) -> Option<Value> {
        // Each guard returns None when it fails: "no match" is an early return.
        guard(is_op(g, root, |op| matches!(op, Op::Clip)))?;
        let x = g.operand(root, 0)?;
        guard(scalar(g, g.operand(root, 1)?)? == 0.0)?;
        guard(scalar(g, g.operand(root, 2)?)? == 6.0)?;
        Some(x)
    }
    fn rewrite(&self, g: &mut Graph, root: NodeId, x: Value) -> Result<(), GraphError> {
        let op = Op::Custom(CustomOp {
            domain: self.domain.clone(),
            name: "Relu6".into(),
            attrs: Default::default(),
        });
        let name = g.node(root).name.clone();
        let ty = g.value_type(g.result(root)).clone();
        let y = g.add_op(op, name, &[x], ty)?;
        g.replace_all_uses(g.result(root), y)?;
        Ok(()) // the driver erases the Clip and its bound constants, now dead
    }
}

/// The pass: applies the rule until nothing matches.
pub struct Relu6ToCustom {
    options: Relu6Options,
}

impl Pass for Relu6ToCustom {
    fn name(&self) -> &str {
        "relu6-to-custom"
    }
    fn summary(&self) -> &str {
        "replace Clip(x, 0, 6) by a custom Relu6 op"
    }
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let rules = RewriteSet::new().with(ClipToRelu6 { domain: self.options.domain.clone() });
        let out = apply_greedily(g, &rules, &GreedyConfig::default(), self.name())?;
        cx.bump("relu6-to-custom.replaced", out.rewrites() as u64);
        Ok(Changed::from(out.rewrites() > 0))
    }
}

/// The built-in registry plus our pass.
pub fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    r.register("relu6-to-custom", "replace Clip(x, 0, 6) by a custom Relu6 op", |options| {
        Relu6ToCustom { options }
    })
    .expect("the name is free");
    r
}

/// The pipeline the example runs: built-ins, then our pass.
pub const PIPELINE: &str = "remove-identity,fuse-hardswish,relu6-to-custom{domain=example},cse,dce";

/// A small MobileNet-like block: a ReLU6 to replace, and a hard-swish (whose Clip the
/// built-in `fuse-hardswish` consumes first, so our pass leaves it alone).
pub const INPUT: &str = r#"graph @block {
  input %x: f32[1,4]
  const @zero: f32[] = [0.0]
  const @three: f32[] = [3.0]
  const @six: f32[] = [6.0]
  %0 = Identity(%x) : f32[1,4]
  %1 = Clip(%0, @zero, @six) : f32[1,4] "relu6"
  %2 = Add(%1, @three) : f32[1,4]
  %3 = Clip(%2, @zero, @six) : f32[1,4]
  %4 = Mul(%1, %3) : f32[1,4]
  %5 = Div(%4, @six) : f32[1,4] "hswish"
  output "y" = %5
}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut g = qcc_ir::parse::parse(INPUT)?;
    let options = PassManagerOptions { time_passes: true, ..Default::default() };
    let mut pm = PassManager::from_pipeline(&registry(), PIPELINE, options)?;
    pm.run(&mut g)?;
    print!("{}", qcc_ir::print::print(&g));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu6_becomes_custom_op() {
        let out = qcc_passes::testing::run_pipeline_str_with(&registry(), INPUT, PIPELINE);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn other_clips_are_left_alone() {
        let input = INPUT.replace("[6.0]", "[5.0]");
        let out = qcc_passes::testing::run_pipeline_str_with(&registry(), &input, PIPELINE);
        assert!(out.contains("Clip("), "{out}");
        assert!(!out.contains("Relu6"), "{out}");
    }
}
