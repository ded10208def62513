#!/usr/bin/env bash
# The test command of qcc (README.md): installs what the tests need, idempotently, then runs the
# whole workspace's tests, then every fuzz target for a short fixed number of executions
# (tools/ci/fuzz.sh; QCC_CI_FUZZ=0 skips that step). `.ci/run` calls this same script.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_shared() {
  if [ ! -d ../shared/models ] || [ ! -d ../shared/onnx-node-tests ]; then
    echo "error: ../shared (models and ONNX node tests) is missing beside the repository;" >&2
    echo "       the tests read ../shared/models and ../shared/onnx-node-tests." >&2
    exit 1
  fi
}
need_shared

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed (install Rust 1.95 with rustup)" >&2
  exit 1
fi

# Headless Chromium renders `qcc eval --report` pages in tools/qcc/tests/report_html.rs.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: chromium is missing; install it (apt-get install chromium) and rerun" >&2
    exit 1
  fi
fi

# gcc for AArch64 and qemu-user run qcc's AOT objects in tools/qcc/tests/aot.rs.
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing gcc-aarch64-linux-gnu and qemu-user-static (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static >/dev/null
  else
    echo "error: install gcc-aarch64-linux-gnu and qemu-user-static (apt) and rerun" >&2
    exit 1
  fi
fi

# Node.js runs the LLVM backend's wasm32 objects in tools/qcc/tests/llvm_aot.rs.
if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing nodejs (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
  else
    echo "error: node is missing; install nodejs (apt) and rerun" >&2
    exit 1
  fi
fi

# LLVM 14 (the LLVM backend, inkwell's llvm14-0-prefer-dynamic links libLLVM-14.so).
if ! command -v llvm-config-14 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing llvm-14-dev (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm-14-dev libpolly-14-dev zlib1g-dev >/dev/null
  else
    echo "error: LLVM 14 is missing; install llvm-14-dev (apt) and rerun" >&2
    exit 1
  fi
fi
export LLVM_SYS_140_PREFIX="${LLVM_SYS_140_PREFIX:-$(llvm-config-14 --prefix)}"

# ONNX Runtime (PyPI) runs qcc's QDQ exports in tools/qcc/tests/ort_interop.rs.
venv=tools/ci/.venv
if ! "$venv/bin/python" -c "import onnxruntime, numpy" >/dev/null 2>&1; then
  echo "== installing onnxruntime into $venv (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnxruntime==1.32.*" numpy
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo check without the llvm feature"
cargo check -q -p qcc --no-default-features
echo "== cargo test"
log=$(mktemp)
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole workspace (cargo prints one summary per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "workspace: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
[ "$status" = 0 ] || exit "$status"

# Bounded fuzzing (tests/fuzz/README.md): installs cargo-fuzz if missing, builds the targets
# (no sanitizer, debug assertions on) and runs each one from its seeds for a fixed number of
# executions; a crash fails CI and leaves the input in tests/fuzz/artifacts/<target>/.
if [ "${QCC_CI_FUZZ:-1}" != 0 ]; then
  echo "== fuzz (bounded)"
  start=$SECONDS
  bash tools/ci/fuzz.sh
  echo "fuzz: $((SECONDS - start)) s"
fi
