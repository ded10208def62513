//! The ONNX backend node tests on the reference interpreter: ≥ 95 % of the supported cases
//! pass, and every quantization case (all element types, float8/float4 included) passes.

mod common;

use qcc_onnx::conformance::{case_dirs, run_dir};

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
    let is_quant = |c: &str| QUANT_CASES.iter().any(|p| c.starts_with(p));
    let quant_failures: Vec<_> = rep
        .failures
        .iter()
        .filter(|f| is_quant(&f.case))
        .map(|f| format!("{}: {}", f.case, f.reason))
        .collect();
    assert!(quant_failures.is_empty(), "quantization cases failed:\n{}", quant_failures.join("\n"));
    // Every quantization case is supported: all element types (float8, float4, int2/uint2,
    // int4/uint4, int16/uint16) and forms (per tensor, per axis, blocked).
    let quant_unsupported: Vec<_> = rep
        .unsupported_cases
        .iter()
        .filter(|u| is_quant(&u.case))
        .map(|u| format!("{}: {}", u.case, u.reason))
        .collect();
    assert!(
        quant_unsupported.is_empty(),
        "quantization cases unsupported:\n{}",
        quant_unsupported.join("\n")
    );
    // …and every one on disk ran and passed (counted per prefix, not through the op filing).
    let mut found = 0;
    for p in QUANT_CASES {
        let filter = format!("{p}*");
        let n = case_dirs(&dir, Some(&filter)).len();
        let r = run_dir(&dir, Some(&filter));
        assert!(n > 0, "no {p}* cases in {}", dir.display());
        assert_eq!((r.passed, r.failed, r.unsupported), (n, 0, 0), "{p}*: {}", r.summary());
        found += n;
    }
    assert!(found >= 45, "only {found} quantization cases found in {}", dir.display());
    assert!(
        rep.pass_rate() >= 0.95,
        "pass rate among supported cases {:.2} % < 95 %",
        100.0 * rep.pass_rate()
    );
}
