//! Fuzz target: the ONNX loader on raw bytes (decode, import, type inference, folding), under
//! tight limits so a hostile size is an error, never an allocation. Any panic is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body lives in `qcc::fuzzing` so tools/qcc/tests/fuzz_regressions.rs replays crashes
// through the same code.
fuzz_target!(|data: &[u8]| qcc::fuzzing::onnx_load(data));
