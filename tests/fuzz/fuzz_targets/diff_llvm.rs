//! Differential fuzz target: the LLVM JIT against the reference interpreter on small random
//! well-typed graphs (`diff_common.rs` builds them and states what must match). LLVM compiles
//! each graph at O3 (tens of milliseconds), so this target runs far fewer executions per second
//! than `diff_cranelift`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use qcc_backend_llvm::{compile, CompileOptions};

#[path = "diff_common.rs"]
mod diff_common;

fuzz_target!(|p: diff_common::Prog| {
    diff_common::check(&p, &|g, x, threads, _pmaddwd| {
        let opts = CompileOptions { threads, min_split_bytes: Some(0), ..Default::default() };
        let cm = compile(g, &opts).map_err(|e| e.to_string())?;
        cm.run(std::slice::from_ref(x)).map_err(|e| format!("compiled run: {e}"))
    });
});
