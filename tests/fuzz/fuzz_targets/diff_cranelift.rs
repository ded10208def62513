//! Differential fuzz target: the Cranelift JIT against the reference interpreter on small random
//! well-typed graphs (`qcc::fuzzing::diff` builds them and states what must match).
#![no_main]
use libfuzzer_sys::fuzz_target;
use qcc::fuzzing::diff;

fuzz_target!(|p: diff::Prog| {
    if let Err(e) = diff::check(&p, &diff::cranelift) {
        panic!("{e}");
    }
});
