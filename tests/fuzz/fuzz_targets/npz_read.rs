//! Fuzz target: the `.npz` and `.npy` readers of `qcc` on raw bytes, under a 16 MiB tensor
//! limit. Any panic (or an allocation past the limit) is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The body lives in `qcc::fuzzing` so tools/qcc/tests/fuzz_regressions.rs replays crashes
// through the same code.
fuzz_target!(|data: &[u8]| qcc::fuzzing::npz_read(data));
