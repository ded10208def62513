//! The ONNX backend node tests on the reference interpreter: ≥ 95 % of the supported cases
//! pass, and every quantization case that qcc can represent passes.

mod common;

use qcc_onnx::conformance::run_dir;

const QUANT_CASES: &[&str] = &[
    "test_quantizelinear",
    "test_dequantizelinear",
    "test_qlinear",
    "test_matmulinteger",
    "test_convinteger",
    "test_dynamicquantizelinear",
];

#[test]
fn node_tests_pass_rate_and_quantization_cases() {
    let dir = common::shared_dir().join("onnx-node-tests/node");
    assert!(dir.is_dir(), "missing {}", dir.display());
    let rep = run_dir(&dir, None);
    println!("{}", rep.summary());
    let total = rep.passed + rep.failed + rep.unsupported;
    assert!(total > 1000, "only {total} cases found in {}", dir.display());
    let quant_failures: Vec<_> = rep
        .failures
        .iter()
        .filter(|f| QUANT_CASES.iter().any(|p| f.case.starts_with(p)))
        .map(|f| format!("{}: {}", f.case, f.reason))
        .collect();
    assert!(quant_failures.is_empty(), "quantization cases failed:\n{}", quant_failures.join("\n"));
    assert!(
        rep.pass_rate() >= 0.95,
        "pass rate among supported cases {:.2} % < 95 %",
        100.0 * rep.pass_rate()
    );
}
