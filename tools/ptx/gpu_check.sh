#!/usr/bin/env bash
# GPU check of the LLVM backend's PTX (issue #7), for a machine with an NVIDIA GPU and driver.
#
# For mlp_digits and mobilenetv2_random (../shared/models), fp32 and int8 (int8 realized by
# qcc-passes, calibrated on synthetic inputs): compile to PTX (sm_86, PTX 7.5), load it through
# the CUDA driver API (cudarc, libcuda.so loaded at run time), run every step, and compare the
# outputs with the reference interpreter on the same graph: int8 bit-exact, fp32 within
# rtol 1e-4 / atol 1e-5 (backends/llvm/examples/ptx_check.rs). Then the PTX tests
# (backends/llvm/tests/ptx.rs), which with a driver present also run mlp_digits on the GPU, and
# `ptxas -arch=sm_90` on the PTX when ptxas is installed.
#
# Needs: the NVIDIA driver (libcuda.so.1), and either a Rust toolchain with llvm-14-dev to build
# here, or PTX_CHECK=/path/to/ptx_check built elsewhere (it links libLLVM-14.so dynamically, so
# the LLVM 14 runtime library must be installed: Debian/Ubuntu `libllvm14`).
#
# Usage: tools/ptx/gpu_check.sh [SAMPLES]      (default 4 samples per precision and model)
# Exit status: 0 all match; 1 a mismatch or a failing test; 2 no driver / cannot run.
set -euo pipefail
cd "$(dirname "$0")/../.."
samples="${1:-4}"
# The shared models: $QCC_SHARED/models, else the first shared/models walking up from here.
if [ -n "${QCC_SHARED:-}" ]; then
  models="$QCC_SHARED/models"
else
  d="$PWD"
  while [ "$d" != / ] && [ ! -d "$d/shared/models" ]; do d="$(dirname "$d")"; done
  models="$d/shared/models"
fi
[ -d "$models" ] || { echo "shared models not found at $models (set QCC_SHARED)"; exit 2; }
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader || true
fi
if [ -z "${PTX_CHECK:-}" ]; then
  cargo build -p qcc-backend-llvm --example ptx_check
  PTX_CHECK="${CARGO_TARGET_DIR:-target}/debug/examples/ptx_check"
fi
status=0
for m in mlp_digits mobilenetv2_random; do
  echo "== $m"
  rc=0
  "$PTX_CHECK" "$models/$m/model.onnx" "$samples" || rc=$?
  if [ "$rc" = 2 ]; then exit 2; fi
  if [ "$rc" != 0 ]; then status=1; fi
done
if command -v ptxas >/dev/null && command -v cargo >/dev/null; then
  out="$(mktemp -d)"
  cargo run -q -p qcc -- compile "$models/mobilenetv2_random/model.onnx" \
    --calib "$models/mobilenetv2_random/calib.npz" --backend llvm --target nvptx -o "$out/m.ptx"
  if ptxas -arch=sm_90 "$out/m.ptx" -o "$out/m.cubin"; then echo "ptxas sm_90: ok"; else status=1; fi
fi
if command -v cargo >/dev/null; then
  cargo test -p qcc-backend-llvm --test ptx -- --nocapture || status=1
fi
exit "$status"
