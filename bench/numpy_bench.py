"""Reference implementations for `deno task bench`, written for this project.

backprop: a NumPy TwoLayerNet/MultiLayerNet training step (forward, backprop, SGD update) on
a batch, in float32 or float64. numerical: the book's naive central-difference gradient of the
784-50-10 TwoLayerNet, timed over the first `params` parameters of W1 and extrapolated.
torch: the same training step with torch.nn and torch.optim.SGD on the CPU.

Reads the batch from raw little-endian float32 files; prints one JSON object.
"""
import json
import os
import sys
import time

import numpy as np


def load(path, rows, cols):
    return np.fromfile(path, dtype="<f4").reshape(rows, cols)


def softmax(a):
    a = a - a.max(axis=1, keepdims=True)  # avoids overflow, leaves the result unchanged
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


class Net:
    def __init__(self, sizes, activation, dtype, seed=0):
        rng = np.random.default_rng(seed)
        self.act = activation
        self.W = [(rng.standard_normal((m, n)) * np.sqrt(2 / m)).astype(dtype) for m, n in zip(sizes, sizes[1:])]
        self.b = [np.zeros(n, dtype) for n in sizes[1:]]

    def forward(self, x):
        zs = [x]
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            a = zs[-1] @ W + b
            last = i == len(self.W) - 1
            zs.append(softmax(a) if last else (sigmoid(a) if self.act == "sigmoid" else np.maximum(a, 0)))
        return zs

    def loss(self, x, t):
        y = self.forward(x)[-1]
        return -np.sum(t * np.log(y + 1e-7)) / x.shape[0]

    def step(self, x, t, lr):
        zs = self.forward(x)
        d = (zs[-1] - t) / x.shape[0]
        for i in reversed(range(len(self.W))):
            gW = zs[i].T @ d
            gb = d.sum(axis=0)
            if i > 0:
                d = d @ self.W[i].T
                d = d * zs[i] * (1 - zs[i]) if self.act == "sigmoid" else d * (zs[i] > 0)
            self.W[i] -= lr * gW
            self.b[i] -= lr * gb


def blas_libraries():
    """The BLAS NumPy really loaded (from this process's memory map), and its threads."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line or "lapack" in line}
    except OSError:
        paths = set()
    libs = sorted(p for p in paths if p.startswith("/"))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (", ".join(libs) or "unknown") + f" (OPENBLAS_NUM_THREADS={threads})"


def median_time(f, runs, warmup):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times


def main():
    mode, xpath, tpath, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    sizes = [int(v) for v in sys.argv[5].split("-")]
    activation = sys.argv[6]
    x32 = load(xpath, rows, sizes[0])
    t32 = load(tpath, rows, sizes[-1])
    info = {"numpy": np.__version__, "blas": blas_libraries()}
    if mode == "backprop":
        dtype = sys.argv[7]
        x, t = x32.astype(dtype), t32.astype(dtype)
        net = Net(sizes, activation, dtype)
        times = median_time(lambda: net.step(x, t, 0.1), runs=30, warmup=5)
    elif mode == "numerical":
        params = int(sys.argv[7])
        x, t = x32.astype("float64"), t32.astype("float64")
        net = Net(sizes, activation, "float64")
        W = net.W[0].reshape(-1)

        def partial():
            h = 1e-4
            for i in range(params):  # the book's loop, over the first `params` weights of W1
                tmp = W[i]
                W[i] = tmp + h
                f1 = net.loss(x, t)
                W[i] = tmp - h
                f2 = net.loss(x, t)
                W[i] = tmp
                _ = (f1 - f2) / (2 * h)

        times = median_time(partial, runs=3, warmup=1)
        total = sum(w.size + b.size for w, b in zip(net.W, net.b))
        times = [s * total / params for s in times]
        info["extrapolated_from_params"] = params
    elif mode == "torch":
        import torch

        torch.set_num_threads(int(sys.argv[7]) if len(sys.argv) > 7 else 1)
        info["torch"] = torch.__version__
        info["torchBlas"] = blas_libraries()
        layers = []
        for i, (m, n) in enumerate(zip(sizes, sizes[1:])):
            layers.append(torch.nn.Linear(m, n))
            if i < len(sizes) - 2:
                layers.append(torch.nn.Sigmoid() if activation == "sigmoid" else torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.from_numpy(x32.copy())
        labels = torch.from_numpy(t32.argmax(axis=1))
        lossf = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            lossf(model(x), labels).backward()
            opt.step()

        times = median_time(step, runs=30, warmup=5)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"times": times, **info}))


if __name__ == "__main__":
    main()
