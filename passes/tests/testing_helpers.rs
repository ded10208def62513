//! The testing helpers: snapshot helper, numeric equivalence check.

use qcc_passes::testing::{check_equivalent, run_pipeline_str, EquivError};

#[test]
fn equivalence_check_detects_a_wrong_rewrite() {
    let a = qcc_ir::parse::parse(
        "graph @g {\n input %x: f32[3]\n %0 = Relu(%x) : f32[3]\n output \"y\" = %0\n}",
    )
    .unwrap();
    let b = qcc_ir::parse::parse(
        "graph @g {\n input %x: f32[3]\n %0 = Abs(%x) : f32[3]\n output \"y\" = %0\n}",
    )
    .unwrap();
    assert_eq!(check_equivalent(&a, &a.clone(), 1e-4, 1e-5, 1), Ok(()));
    match check_equivalent(&a, &b, 1e-4, 1e-5, 1) {
        Err(EquivError::Differs { output, .. }) => assert_eq!(output, "y"),
        other => panic!("expected a difference, got {other:?}"),
    }
    let sym = qcc_ir::parse::parse(
        "graph @g {\n input %x: f32[N]\n %0 = Relu(%x) : f32[N]\n output \"y\" = %0\n}",
    )
    .unwrap();
    assert!(matches!(
        check_equivalent(&sym, &sym.clone(), 1e-4, 1e-5, 1),
        Err(EquivError::NotRunnable(_))
    ));
}

#[test]
#[should_panic(expected = "unknown pass `nope`")]
fn run_pipeline_str_panics_with_the_error() {
    run_pipeline_str("graph @g {\n input %x: f32[1]\n output \"y\" = %x\n}", "nope");
}

#[test]
fn canonicalize_infers_types_and_fuses() {
    // Types are left unknown: infer-shapes fills them and moves the phase to typed.
    let out = run_pipeline_str(
        r#"graph @g {
  input %x: f32[2,3]
  const @sqrt2: f32[] = [1.4142135]
  const @one: f32[] = [1.0]
  const @half: f32[] = [0.5]
  %0 = Identity(%x) : f32[*]
  %1 = Div(%0, @sqrt2) : f32[*]
  %2 = Erf(%1) : f32[*]
  %3 = Add(%2, @one) : f32[*]
  %4 = Mul(%0, @half) : f32[*]
  %5 = Mul(%4, %3) : f32[*]
  output "y" = %5
}"#,
        "canonicalize",
    );
    insta::assert_snapshot!(out, @r#"
    graph @g phase=typed {
      input %x: f32[2,3]
      %0 = Gelu(%x) : f32[2,3]
      output "y" = %0
    }
    "#);
}
