"""Trains the small digits CNN that ships with qcc (the README quick start) and writes its ONNX model
and data: `model.onnx`, `calib.npz` (input), `eval.npz` (input, labels).

Data: the 8×8 handwritten digits bundled with scikit-learn (`load_digits`: the UCI ML
hand-written digits set, CC BY 4.0, 1797 images). Network: Conv(1→8, 3×3, pad 1) → Relu → Conv(8→16, 3×3, stride 2,
pad 1) → Relu → Flatten → Gemm(256→10). Trained with Adam in plain numpy (no framework), fixed seed,
so the files are reproducible:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scikit-learn onnx
    /tmp/venv/bin/python tests/models/digits_cnn/train.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)

digits = load_digits()
x_all = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # N,1,8,8 in [0,1]
y_all = digits.target.astype(np.int64)
perm = rng.permutation(len(x_all))
x_all, y_all = x_all[perm], y_all[perm]
n_train = 1437
x_tr, y_tr = x_all[:n_train], y_all[:n_train]
x_ev, y_ev = x_all[n_train:], y_all[n_train:]


def im2col(x, k, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
    return cols.reshape(n, c * k * k, oh * ow), oh, ow


def col2im(cols, shape, k, stride, pad, oh, ow):
    n, c, h, w = shape
    cols = cols.reshape(n, c, k, k, oh, ow)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[:, :, i, j]
    return xp[:, :, pad : pad + h, pad : pad + w]


def init(shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


params = {
    "w1": init((8, 1, 3, 3), 9),
    "b1": np.zeros(8, np.float32),
    "w2": init((16, 8, 3, 3), 72),
    "b2": np.zeros(16, np.float32),
    "w3": init((10, 256), 256),
    "b3": np.zeros(10, np.float32),
}


def forward(p, x):
    c1, oh1, ow1 = im2col(x, 3, 1, 1)
    z1 = np.einsum("ok,nkp->nop", p["w1"].reshape(8, -1), c1) + p["b1"][None, :, None]
    a1 = np.maximum(z1, 0).reshape(len(x), 8, oh1, ow1)
    c2, oh2, ow2 = im2col(a1, 3, 2, 1)
    z2 = np.einsum("ok,nkp->nop", p["w2"].reshape(16, -1), c2) + p["b2"][None, :, None]
    a2 = np.maximum(z2, 0)
    f = a2.reshape(len(x), -1)
    logits = f @ p["w3"].T + p["b3"]
    return logits, (x, c1, z1, a1, c2, z2, f, oh1, ow1, oh2, ow2)


def backward(p, cache, dlogits):
    x, c1, z1, a1, c2, z2, f, oh1, ow1, oh2, ow2 = cache
    g = {}
    g["w3"] = dlogits.T @ f
    g["b3"] = dlogits.sum(0)
    df = dlogits @ p["w3"]
    dz2 = df.reshape(z2.shape) * (z2 > 0)
    g["w2"] = np.einsum("nop,nkp->ok", dz2, c2).reshape(p["w2"].shape)
    g["b2"] = dz2.sum((0, 2))
    dc2 = np.einsum("ok,nop->nkp", p["w2"].reshape(16, -1), dz2)
    da1 = col2im(dc2, a1.shape, 3, 2, 1, oh2, ow2)
    dz1 = da1.reshape(z1.shape) * (z1 > 0)
    g["w1"] = np.einsum("nop,nkp->ok", dz1, c1).reshape(p["w1"].shape)
    g["b1"] = dz1.sum((0, 2))
    return g


m = {k: np.zeros_like(v) for k, v in params.items()}
v = {k: np.zeros_like(v) for k, v in params.items()}
lr, b1, b2, t = 2e-3, 0.9, 0.999, 0
for epoch in range(40):
    order = rng.permutation(n_train)
    for s in range(0, n_train, 32):
        idx = order[s : s + 32]
        logits, cache = forward(params, x_tr[idx])
        e = np.exp(logits - logits.max(1, keepdims=True))
        prob = e / e.sum(1, keepdims=True)
        prob[np.arange(len(idx)), y_tr[idx]] -= 1
        grads = backward(params, cache, prob / len(idx))
        t += 1
        for k in params:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            mh, vh = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            params[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)

acc_tr = (forward(params, x_tr)[0].argmax(1) == y_tr).mean()
acc_ev = (forward(params, x_ev)[0].argmax(1) == y_ev).mean()
print(f"train accuracy {acc_tr:.4f}, eval accuracy {acc_ev:.4f}")

inits = [numpy_helper.from_array(params[k].astype(np.float32), k) for k in params]
inits.append(numpy_helper.from_array(np.array([1, 256], np.int64), "flat_shape"))
nodes = [
    helper.make_node("Conv", ["input", "w1", "b1"], ["z1"], "conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["z1"], ["a1"], "relu1"),
    helper.make_node(
        "Conv", ["a1", "w2", "b2"], ["z2"], "conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]
    ),
    helper.make_node("Relu", ["z2"], ["a2"], "relu2"),
    helper.make_node("Reshape", ["a2", "flat_shape"], ["f"], "flatten"),
    helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], "fc", transB=1),
]
graph = helper.make_graph(
    nodes,
    "digits_cnn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="qcc train.py")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "model.onnx"))
np.savez_compressed(os.path.join(HERE, "calib.npz"), input=x_tr[:64])
np.savez_compressed(os.path.join(HERE, "eval.npz"), input=x_ev, labels=y_ev)
print("wrote model.onnx, calib.npz (64 samples), eval.npz (%d samples)" % len(x_ev))
