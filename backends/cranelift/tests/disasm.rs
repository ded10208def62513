//! The emitted machine code: `vpdpbusd` on a VNNI ISA, `pmaddwd` without (checked on Cranelift's
//! VCode listing; compiled for an explicit x86-64 ISA, so this runs on any host).

use cranelift_codegen::Context;
use qcc_backend_cranelift::gemm::{codegen, AType, Epilogue, GemmSpec};
use qcc_backend_cranelift::isa::x86_64_target;
use qcc_backend_cranelift::IsaOptions;

fn listing(vnni: bool, spec: &GemmSpec) -> String {
    let t = x86_64_target(vnni, &IsaOptions::default(), false).unwrap();
    let f = codegen::build(spec, t.path, &*t.isa, 0);
    let mut ctx = Context::for_function(f);
    ctx.set_disasm(true);
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    let code = ctx.compile(&*t.isa, &mut ctrl).map_err(|e| format!("{:?}", e.inner)).unwrap();
    code.vcode.clone().expect("disasm kept")
}

fn count(s: &str, pat: &str) -> usize {
    s.matches(pat).count()
}

#[test]
fn vnni_isa_folds_to_vpdpbusd() {
    let spec = GemmSpec::new(8, 32, 64, AType::U8, Epilogue::I32);
    let l = listing(true, &spec);
    let n = count(&l, "vpdpbusd");
    // Main loop: 2 rows × 4 vectors × 4 groups; plus the single-row loop: 1 × 4 × 4.
    assert!(n >= 48, "expected ≥ 48 vpdpbusd, found {n}:\n{l}");
    assert_eq!(count(&l, "pmaddwd"), 0);
    // The fold must leave no widening multiply behind.
    assert_eq!(count(&l, "pmullw"), 0, "unfolded widening tree:\n{l}");
}

#[test]
fn i8_activations_and_tails_still_fold() {
    let spec = GemmSpec::new(5, 21, 23, AType::I8, Epilogue::I32);
    let l = listing(true, &spec);
    assert!(count(&l, "vpdpbusd") > 0);
    assert_eq!(count(&l, "pmullw"), 0, "unfolded widening tree:\n{l}");
}

#[test]
fn pmaddwd_path_uses_pmaddwd() {
    let spec = GemmSpec::new(8, 32, 64, AType::U8, Epilogue::I32);
    let l = listing(false, &spec);
    assert!(count(&l, "pmaddwd") >= 24, "{l}");
    assert_eq!(count(&l, "vpdpbusd"), 0);
    assert_eq!(count(&l, "pmulld"), 0, "unfolded pmaddwd tree:\n{l}");
}
