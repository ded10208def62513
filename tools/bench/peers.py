"""qcc against its peers, in one run: ONNX Runtime fp32, ONNX Runtime int8 QDQ (u8s8 and s8s8 from its
`quantize_static` on the same calib.npz), and qcc int8 on each of its backends — single thread and two
threads, interleaved rounds, medians — plus fidelity of each int8 variant against fp32. Writes a markdown
table with latency ratios qcc/ORT and SQNR.

Run it through `tools/bench/run.sh` (builds qcc in release, makes the venv with ONNX Runtime).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process


def load_npz(path):
    d = np.load(path)
    return {k: d[k] for k in d.files}


def samples(arrays, inputs, limit=None):
    """Yields feed dicts, one per sample. `inputs` maps input names to ranks. Arrays are
    [M, *input_shape], or [M, *rest] for inputs shaped [1, *rest] (DESIGN §8)."""
    names = list(inputs)
    m = len(arrays[names[0]])
    for i in range(m if limit is None else min(m, limit)):
        feed = {}
        for n, rank in inputs.items():
            x = arrays[n][i]
            feed[n] = x[None] if x.ndim + 1 == rank else x
        yield feed


class Reader(CalibrationDataReader):
    def __init__(self, arrays, inputs):
        self.it = iter(list(samples(arrays, inputs)))

    def get_next(self):
        return next(self.it, None)


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_times(sess, feed, iters):
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, feed)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def sqnr_db(ref, got):
    ref = np.asarray(ref, np.float64).ravel()
    got = np.asarray(got, np.float64).ravel()
    noise = np.sum((ref - got) ** 2)
    sig = np.sum(ref**2)
    return float("inf") if noise == 0 else float(10 * np.log10(sig / noise))


def qcc(qcc_bin, *args):
    r = subprocess.run([qcc_bin, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"qcc {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="../shared/models")
    ap.add_argument("--extra", nargs="*", default=["tests/models/digits_cnn"],
                    help="more model folders (model.onnx, calib.npz, eval.npz)")
    ap.add_argument("--only", nargs="*", help="model folder names (default: all)")
    ap.add_argument("--qcc", default="target/release/qcc")
    ap.add_argument("--backends", nargs="*", default=["cranelift", "llvm"])
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20, help="runs per configuration per round")
    ap.add_argument("--eval-samples", type=int, default=16)
    ap.add_argument("--out", default="target/bench/peers.md")
    a = ap.parse_args()

    folders = [os.path.join(a.models, n) for n in sorted(os.listdir(a.models))] + list(a.extra)
    folders = [f for f in folders if os.path.isfile(os.path.join(f, "model.onnx"))]
    if a.only:
        folders = [f for f in folders if os.path.basename(os.path.normpath(f)) in a.only]
    work = tempfile.mkdtemp(prefix="qcc-peers-")
    rows = []
    for d in folders:
        name = os.path.basename(os.path.normpath(d))
        model = os.path.join(d, "model.onnx")
        calib, evald = load_npz(os.path.join(d, "calib.npz")), load_npz(os.path.join(d, "eval.npz"))
        fp32 = session(model, 1)
        inames = {i.name: len(i.shape) for i in fp32.get_inputs()}
        feed = next(samples(evald, inames))
        print(f"== {name}", file=sys.stderr)

        # ORT int8 variants from its own quantizer on the same calibration data.
        pre = os.path.join(work, f"{name}.pre.onnx")
        try:
            quant_pre_process(model, pre, skip_symbolic_shape=True)
        except Exception as e:  # pre-processing is an optimization; ORT quantizes without it
            print(f"   quant_pre_process failed ({e}); quantizing the model as is", file=sys.stderr)
            pre = model
        variants = {}
        for tag, act in (("u8s8", QuantType.QUInt8), ("s8s8", QuantType.QInt8)):
            out = os.path.join(work, f"{name}.{tag}.onnx")
            quantize_static(pre, out, Reader(calib, inames), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=act, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
            variants[f"ORT int8 {tag}"] = out

        # Fidelity of each int8 variant against ORT fp32 on the first eval samples.
        fid = {}
        ev = list(samples(evald, inames, a.eval_samples))
        refs = [fp32.run(None, f)[0] for f in ev]
        for label, path in variants.items():
            s = session(path, 1)
            got = [s.run(None, f)[0] for f in ev]
            fid[label] = sqnr_db(np.concatenate(refs), np.concatenate(got))
        qj = json.loads(qcc(a.qcc, "eval", model, "--calib", os.path.join(d, "calib.npz"),
                            "--data", os.path.join(d, "eval.npz"), "--limit", str(a.eval_samples), "--json"))
        first_out = next(iter(qj["outputs"].values()))
        fid["qcc int8"] = first_out["sqnr_db"]

        # qcc's integer model, quantized once; timed through `qcc bench` on each backend.
        qir = os.path.join(work, f"{name}.int.qir")
        qcc(a.qcc, "quantize", model, "--calib", os.path.join(d, "calib.npz"), "-o", qir)
        feed_npz = os.path.join(work, f"{name}.feed.npz")
        np.savez(feed_npz, **{k: v[None] for k, v in feed.items()})

        configs = []
        for t in a.threads:
            configs.append((f"ORT fp32", t, session(model, t)))
            for label, path in variants.items():
                configs.append((label, t, session(path, t)))
            for b in a.backends:
                configs.append((f"qcc int8 {b}", t, (b, qir)))
                configs.append((f"qcc fp32 {b}", t, (b, model)))
        times = {(c[0], c[1]): [] for c in configs}
        failed = {}
        for r in range(a.rounds):
            for label, t, target in configs:
                if (label, t) in failed:
                    continue
                if isinstance(target, tuple):
                    b, path = target
                    try:
                        j = json.loads(qcc(a.qcc, "bench", path, "--backend", b, "--threads", str(t),
                                           "--iters", str(a.iters), "--warmup", "2", "--inputs", feed_npz,
                                           "--json"))
                        times[(label, t)].append(j["median_ms"])
                    except RuntimeError as e:
                        failed[(label, t)] = str(e).strip().splitlines()[-1]
                        print(f"   {label} ({t} thr): {failed[(label, t)]}", file=sys.stderr)
                else:
                    target.run(None, feed)  # warm
                    times[(label, t)].append(statistics.median(ort_times(target, feed, a.iters)))
        for t in a.threads:
            ort_best = min(statistics.median(times[(l, t)]) for l in variants if times[(l, t)])
            for label, tt, _ in configs:
                if tt != t:
                    continue
                med = statistics.median(times[(label, t)]) if times[(label, t)] else None
                rows.append({
                    "model": name, "config": label, "threads": t, "median_ms": med,
                    "vs_ort_int8": (med / ort_best) if med else None,
                    "sqnr_db": fid.get(label if "qcc" not in label else ("qcc int8" if "int8" in label else None)),
                    "note": failed.get((label, t), ""),
                })

    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `bash tools/bench/run.sh` (ONNX Runtime {ort.__version__}; "
        f"{a.rounds} interleaved rounds × {a.iters} runs, median of round medians; SQNR vs ORT fp32 on "
        f"{a.eval_samples} eval samples, qcc's from `qcc eval`).",
        "",
        "| model | configuration | threads | median ms | ratio to ORT's best int8 | SQNR dB | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        med = f"{r['median_ms']:.3f}" if r["median_ms"] else "–"
        ratio = f"{r['vs_ort_int8']:.2f}×" if r["vs_ort_int8"] else "–"
        sq = f"{r['sqnr_db']:.1f}" if r["sqnr_db"] is not None else ""
        lines.append(f"| {r['model']} | {r['config']} | {r['threads']} | {med} | {ratio} | {sq} | {r['note']} |")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
