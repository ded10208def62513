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
    // A quantization case may be unsupported only because qcc has no such element type
    // (float8, float4, int2, uint16), never because an op or form is missing.
    let is_quant = |c: &str| QUANT_CASES.iter().any(|p| c.starts_with(p));
    for u in rep.unsupported_cases.iter().filter(|u| is_quant(&u.case)) {
        println!("unsupported quantization case {}: {}", u.case, u.reason);
        assert!(u.reason.contains("element type"), "{} is unsupported: {}", u.case, u.reason);
    }
    let quant_passed = rep
        .by_op
        .iter()
        .filter(|(op, _)| {
            [
                "QuantizeLinear",
                "DequantizeLinear",
                "QLinearConv",
                "QLinearMatMul",
                "MatMulInteger",
                "ConvInteger",
                "DynamicQuantizeLinear",
            ]
            .contains(&op.as_str())
        })
        .map(|(_, c)| c.passed)
        .sum::<usize>();
    assert!(quant_passed >= 20, "only {quant_passed} quantization cases passed");
    assert!(
        rep.pass_rate() >= 0.95,
        "pass rate among supported cases {:.2} % < 95 %",
        100.0 * rep.pass_rate()
    );
}
