//! Differential fuzz target: the Cranelift JIT against the reference interpreter on small random
//! well-typed graphs (`diff_common.rs` builds them and states what must match).
#![no_main]
use libfuzzer_sys::fuzz_target;
use qcc_backend_cranelift::{compile, CompileOptions, IsaOptions};

#[path = "diff_common.rs"]
mod diff_common;

fuzz_target!(|p: diff_common::Prog| {
    diff_common::check(&p, &|g, x, threads, pmaddwd| {
        let opts = CompileOptions {
            isa: IsaOptions { disable_vnni: pmaddwd, ..Default::default() },
            threads,
            ..Default::default()
        };
        let cm = compile(g, &opts).map_err(|e| e.to_string())?;
        cm.run(std::slice::from_ref(x)).map_err(|e| format!("compiled run: {e}"))
    });
});
