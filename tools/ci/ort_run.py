"""Runs an ONNX model in ONNX Runtime (CPU, all graph optimizations) on every sample of an .npz
(one array per input, [M, *input_shape]) and writes the outputs the same way. Used by qcc's
interop test (tools/qcc/tests/ort_interop.rs): `python ort_run.py MODEL IN.npz OUT.npz [none|all]`:
`none` runs the graph as written (QuantizeLinear/DequantizeLinear as float ops: the QDQ semantics
qcc simulates), `all` (default) lets ONNX Runtime fuse QDQ units into its integer kernels."""
import sys

import numpy as np
import onnxruntime as ort

model, inp, out = sys.argv[1:4]
level = sys.argv[4] if len(sys.argv) > 4 else "all"
so = ort.SessionOptions()
so.log_severity_level = 3
so.graph_optimization_level = {
    "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}[level]
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
data = np.load(inp)
names = [i.name for i in sess.get_inputs()]
m = len(data[names[0]])
results = [sess.run(None, {n: data[n][i] for n in names}) for i in range(m)]
onames = [o.name for o in sess.get_outputs()]
np.savez(out, **{n: np.stack([r[k] for r in results]) for k, n in enumerate(onames)})
