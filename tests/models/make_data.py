"""Writes the inputs and the expected outputs of the hand-built test models, computed with numpy
independently of qcc (run: python3 make_data.py; needs numpy)."""
import numpy as np

# mlp_tiny: two samples.
x = np.array([[[1, 2, 3, 4]], [[-1, 0.5, 2, 0]]], dtype=np.float32)
w1 = np.array([[1, 0, -1], [0, 1, 2], [0.5, 0.5, 0], [-1, 0, 1]], dtype=np.float32)
b1 = np.array([0, -1, 0.5], dtype=np.float32)
w2 = np.array([[1, -1], [2, 0], [0, 1]], dtype=np.float32)
b2 = np.array([0.25, 0], dtype=np.float32)
h = np.maximum(x @ w1 + b1, 0)
np.savez("mlp_tiny.in.npz", x=x)
np.savez("mlp_tiny.ref.npz", logits=(h @ w2 + b2).astype(np.float32))

# convnet_tiny: one 4×4 image.
img = np.arange(16, dtype=np.float32).reshape(1, 1, 1, 4, 4)
img[0, 0, 0, 1, 2] = -5
k0 = np.ones((3, 3), np.float32)
k1 = np.array([[0, 0, 0], [-1, 1, 0], [0, 0, 0]], np.float32)
p = np.pad(img[0, 0, 0], 1)
conv = np.zeros((2, 4, 4), np.float32)
for i in range(4):
    for j in range(4):
        win = p[i:i + 3, j:j + 3]
        conv[0, i, j] = (win * k0).sum() + 0.0
        conv[1, i, j] = (win * k1).sum() - 0.5
r = np.maximum(conv, 0)
pool = r.reshape(2, 2, 2, 2, 2).max(axis=(2, 4))
wfc = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [-1, 0, 0]], np.float32)
scores = pool.reshape(1, 8) @ wfc
np.savez("convnet_tiny.in.npz", image=img)
np.savez("convnet_tiny.ref.npz", scores=scores.reshape(1, 1, 3).astype(np.float32))
