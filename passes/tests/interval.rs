//! Static interval analysis: bounds through Clip, Sigmoid, a constant-weight MatMul and Add,
//! printed on the graph (snapshot) and checked against the interpreter on sample inputs.

use qcc_ir::parse::parse;
use qcc_passes::interval::{analyze, print_with_intervals, Interval};
use std::collections::BTreeMap;

const G: &str = r#"graph @g {
  input %x: f32[1,2]
  const @c0: f32[] = [0.0]
  const @c1: f32[] = [6.0]
  const @c2: f32[2,2] = [1.0, -2.0, 0.5, 1.0]
  const @c3: f32[2] = [0.25, -1.0]
  %0 = Clip(%x, @c0, @c1) : f32[1,2] "relu6"
  %1 = MatMul(%0, @c2) : f32[1,2] "fc"
  %2 = Add(%1, @c3) : f32[1,2] "bias"
  %3 = Sigmoid(%2) : f32[1,2] "sigmoid"
  %4 = Relu(%x) : f32[1,2] "relu_unbounded"
  output "y" = %3
  output "r" = %4
}
"#;

#[test]
fn intervals_print_and_bound_the_interpreter() {
    let g = parse(G).unwrap();
    let iv = analyze(&g, &BTreeMap::new());
    insta::assert_snapshot!(print_with_intervals(&g, &iv));
    // fc: column 0 = 1·a + 0.5·b ∈ [0, 9]; column 1 = −2·a + b ∈ [−12, 6]; hull [−12, 9].
    let fc = g.node_ids().into_iter().find(|&n| g.node(n).name == "fc").unwrap();
    assert_eq!(iv[&g.result(fc)], Interval::new(-12.0, 9.0));
    // Every interpreter value on sample inputs lies in its interval.
    for xs in [[-3.0f32, 10.0], [0.5, 2.0], [6.0, -6.0]] {
        let x = qcc_ir::Tensor::f32(&[1, 2], xs.to_vec());
        qcc_ir::interp::run_observed(&g, &[x], &mut |v, t| {
            let i = iv[&v];
            for &e in t.as_f32().unwrap() {
                assert!(e as f64 >= i.lo - 1e-6 && e as f64 <= i.hi + 1e-6, "{e} outside {i}");
            }
        })
        .unwrap();
    }
}
