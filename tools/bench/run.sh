#!/usr/bin/env bash
# qcc against ONNX Runtime on the shared models (and the digits CNN shipped in the repo), one run:
# builds qcc in release, installs ONNX Runtime from PyPI into tools/bench/.venv (once), then runs
# peers.py. Extra arguments go to peers.py (e.g. `--only mlp_digits --rounds 3`).
# Writes target/bench/peers.md (markdown table) and target/bench/peers.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/bench/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnxruntime==1.32.*" onnx numpy
fi
cargo build --release -p qcc
exec "$venv/bin/python" tools/bench/peers.py "$@"
