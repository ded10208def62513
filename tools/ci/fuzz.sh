#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz for a short fixed number of executions (CI; the long runs
# are described in tests/fuzz/README.md). Fails on the first crash, leaving the input in
# tests/fuzz/artifacts/<target>/. Needs cargo-fuzz (installed here if missing); libFuzzer needs
# nightly features, which RUSTC_BOOTSTRAP=1 enables on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/../../tests/fuzz"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
./seed.sh
# No sanitizer (safe Rust; much faster to build and run), debug assertions on (overflow checks).
flags=(-s none -a)
cargo fuzz build "${flags[@]}"
run() { # target executions [libFuzzer flags]
  local t=$1 n=$2
  shift 2
  echo "== fuzz $t: $n executions"
  # A copy of the seeds so CI runs always start from the same corpus.
  local work
  work=$(mktemp -d)
  cp -r "corpus/$t/." "$work/"
  local log=$work.log rc=0
  cargo fuzz run "${flags[@]}" "$t" "$work" -- -runs="$n" -seed=1 -rss_limit_mb=4096 \
    -max_len=262144 -timeout=20 -print_final_stats=1 "$@" >"$log" 2>&1 || rc=$?
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log" || true
  if [ "$rc" != 0 ]; then
    tail -n 60 "$log"
    echo "fuzz $t: FAILED (exit $rc); the input is in tests/fuzz/artifacts/$t/" >&2
  fi
  rm -rf "$work" "$log"
  return "$rc"
}
# Sized to about 3 minutes of runs in all on 2 busy cores (measured there: onnx_load 100k in
# 11 s, onnx_struct 50k in 18 s, qir_parse 60k in 18 s, npz_read 20k in 5 s, diff_cranelift
# 6-20 executions/s); building the targets from a clean tests/fuzz/target is the main cost
# (about 740 s of CPU time).
run onnx_load 100000
run onnx_struct 50000 -max_len=2048 -len_control=0
run qir_parse 60000
run npz_read 20000
run diff_cranelift 1000 -max_len=512 -len_control=0
run diff_llvm 100 -max_len=512 -len_control=0
echo "fuzz: all targets ran clean"
