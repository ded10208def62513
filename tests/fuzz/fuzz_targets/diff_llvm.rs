//! Differential fuzz target: the LLVM JIT against the reference interpreter on the programs of
//! `diff_cranelift` (`qcc::fuzzing::diff`). LLVM compiles each graph at O3 (tens of
//! milliseconds), so this target runs far fewer executions per second than `diff_cranelift`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qcc::fuzzing::diff;

fuzz_target!(|p: diff::Prog| {
    if let Err(e) = diff::check(&p, &diff::llvm) {
        panic!("{e}");
    }
});
