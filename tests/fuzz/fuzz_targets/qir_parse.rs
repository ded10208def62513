//! Fuzz target: the `.qir` text parser, then the verifier and type inference on what parses, and
//! a print → parse round trip of every graph that verifies. Any panic is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body lives in `qcc::fuzzing` so tools/qcc/tests/fuzz_regressions.rs replays crashes
// through the same code.
fuzz_target!(|data: &[u8]| qcc::fuzzing::qir_parse(data));
