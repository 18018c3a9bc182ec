"""Benchmarks: rnnlab's training step against PyTorch, and the cost of truncated RTRL.

    python -m rnnlab bench [--repeats 7]

Prints tables of medians over repeated runs, with ratios measured in the same run.
PyTorch is optional (``pip install torch==2.13.0``); without it only rnnlab's own rows
are printed. Both libraries run with one thread: rnnlab limits numpy's BLAS to one
thread around its loops (``rnnlab._threads``) and this module sets PyTorch to one.

See the *Performance* page.
"""

import os
import time
import tracemalloc

import numpy as np

from rnnlab.data import generate_batches
from rnnlab.training.experiments import machine_description, write_json
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.lstm import LSTM
from rnnlab.models.lstm_rtrl import LSTM_RTRL

__all__ = ["bench_table", "blas_thread_steps", "bptt_cost", "peak_memory_kib", "rtrl_step_times", "run_benchmarks"]

B, T, I, D = 32, 100, 32, 1


def _median_ms(step, repeats, inner=5):
    step()  # warm-up: allocations, caches, lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - start) / inner * 1e3)
    return float(np.median(times))


def _rnnlab_step(model, x, y):
    def step():
        model.zero_grad()
        model.forward(x, y)
        model.backward()
    return step


def _torch_rows(x, y, repeats):
    """Training steps of the identical models in PyTorch autograd, and of nn.LSTM / nn.RNN."""
    import torch

    torch.set_num_threads(1)                   # rnnlab's loops run with one BLAS thread too
    rows = {}
    xt64, yt64 = torch.tensor(x), torch.tensor(y)

    def lstm_autograd():
        g = torch.Generator().manual_seed(0)
        W = (torch.rand(3 * I, D, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
        R = (torch.rand(3 * I, I, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
        b = torch.zeros(3 * I, dtype=torch.float64, requires_grad=True)
        Wy = torch.zeros(1, I, dtype=torch.float64, requires_grad=True)
        by = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        params = (W, R, b, Wy, by)

        def step():
            for p in params:
                p.grad = None
            h = torch.zeros(B, I, dtype=torch.float64)
            c = torch.zeros(B, I, dtype=torch.float64)
            pre = xt64 @ W.T + b
            for t in range(T):
                a = pre[:, t] + h @ R.T
                z, i, o = torch.tanh(a[:, :I]), torch.sigmoid(a[:, I:2 * I]), torch.sigmoid(a[:, 2 * I:])
                c = c + z * i
                h = torch.tanh(c) * o
            loss = torch.nn.functional.binary_cross_entropy_with_logits(h @ Wy.T + by, yt64)
            loss.backward()
        return step

    def frn_autograd():
        g = torch.Generator().manual_seed(0)
        W = (torch.rand(I, D, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
        R = (torch.rand(I, I, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
        V = torch.zeros(1, I, dtype=torch.float64, requires_grad=True)

        def step():
            for p in (W, R, V):
                p.grad = None
            a = torch.zeros(B, I, dtype=torch.float64)
            pre = xt64 @ W.T
            for t in range(T):
                a = torch.tanh(pre[:, t] + a @ R.T)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(a @ V.T, yt64)
            loss.backward()
        return step

    def module(kind, dtype, onednn=True):
        torch.manual_seed(0)
        rnn = (torch.nn.LSTM(D, I, batch_first=True) if kind == "lstm"
               else torch.nn.RNN(D, I, batch_first=True, bias=False)).to(dtype)
        head = torch.nn.Linear(I, 1).to(dtype)
        xs, ys = xt64.to(dtype), yt64.to(dtype)

        def step():
            rnn.zero_grad()
            head.zero_grad()
            with torch.backends.mkldnn.flags(enabled=onednn):   # oneDNN's fused RNN kernel: CPU float32 only
                out, _ = rnn(xs)
                torch.nn.functional.binary_cross_entropy_with_logits(head(out[:, -1]), ys).backward()
        return step

    rows["lstm"] = {"torch autograd, same model, float64": _median_ms(lstm_autograd(), repeats),
                    "torch.nn.LSTM + Linear, float64": _median_ms(module("lstm", torch.float64), repeats),
                    "torch.nn.LSTM + Linear, float32": _median_ms(module("lstm", torch.float32), repeats),
                    "torch.nn.LSTM + Linear, float32, oneDNN off": _median_ms(module("lstm", torch.float32, False),
                                                                              repeats)}
    rows["frn"] = {"torch autograd, same model, float64": _median_ms(frn_autograd(), repeats),
                   "torch.nn.RNN + Linear, float64": _median_ms(module("rnn", torch.float64), repeats)}
    return rows, torch.__version__, torch.get_num_threads()


def blas_thread_steps(repeats=7):
    """LSTM training step (B = 32, T = 100, I = 32) with numpy's default BLAS threads and with one.

    See the *Performance* page.

    Returns
    -------
    dict
        Median milliseconds per step with ``"default"`` and ``"one"`` thread, and the load
        average of the machine when the measurement started (``"load"``): the threads only
        hurt when the cores are busy.
    """
    from rnnlab import _threads

    x, y = next(generate_batches(T, B, seed=0))
    step = _rnnlab_step(LSTM(D, I, 1, rng=0), x, y)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times = {}
    for label, threads in (("default", None), ("one", 1)):
        _threads.BLAS_THREADS = threads
        try:
            times[label] = _median_ms(step, repeats)
        finally:
            _threads.BLAS_THREADS = 1
    return dict(times, load=load)


def bptt_cost(lengths=(100, 300, 1000, 3000), hidden=32, batch=32, repeats=3):
    """Time and peak memory of one FRN forward and backward pass against the sequence length T.

    See chapter 2, *The fully recurrent network* (section *What BPTT costs*).

    Returns
    -------
    list of tuple
        ``(T, milliseconds, peak KiB)`` per length: the median time over ``repeats`` runs and
        the peak of numpy's allocations (``tracemalloc``, measured in a separate run).
    """
    out = []
    for length in lengths:
        x, y = next(generate_batches(length, batch, seed=0))
        net = FullyRecurrentNetwork(D, hidden, 1, rng=0)
        step = _rnnlab_step(net, x, y)
        ms = _median_ms(step, repeats, inner=1)
        tracemalloc.start()
        step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append((length, ms, peak / 1024))
    return out


def rtrl_step_times(sizes=(16, 32, 64, 128, 256), batch=8, steps=200, repeats=5):
    """Median microseconds per LSTM_RTRL step for each number of cells, and the log-log slope.

    See chapter 5, *Real-time recurrent learning* (section *Cost, measured*).
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, batch, 1))
    times = []
    for n in sizes:
        net = LSTM_RTRL(1, n, 1, rng=0)
        reps = []
        for _ in range(repeats):
            net.reset(batch)
            start = time.perf_counter()
            for x_t in x:
                net.forward(x_t)
            reps.append((time.perf_counter() - start) / steps * 1e6)
        times.append(float(np.median(reps)))
    slope = float(np.polyfit(np.log(sizes[2:]), np.log(times[2:]), 1)[0])
    return list(sizes), times, slope


def peak_memory_kib(lengths=(100, 1000, 10_000), cells=16, batch=8):
    """Peak bytes allocated (KiB) for one batch with the loss at the last step: RTRL and BPTT.

    See chapter 5, *Real-time recurrent learning* (section *Cost, measured*).
    """
    out = []
    for length in lengths:
        rng = np.random.default_rng(0)
        rtrl, bptt = LSTM_RTRL(1, cells, 1, rng=0), LSTM(1, cells, 1, rng=0)
        tracemalloc.start()
        rtrl.reset(batch)
        for _ in range(length):
            rtrl.forward(rng.normal(size=(batch, 1)))
        rtrl.backward(np.ones((batch, 1)))
        rtrl_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        tracemalloc.start()
        bptt.forward(rng.normal(size=(batch, length, 1)), np.ones((batch, 1)))
        bptt.backward()
        bptt_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append((length, rtrl_peak / 1024, bptt_peak / 1024))
    return out


def bench_table(result):
    """The training-step rows of a benchmark result as a Markdown table (ms per step, ratio to rnnlab).

    See the *Performance* page.
    """
    from rnnlab.training.experiments import markdown_table

    shape = result["shape"]
    rows = []
    for model, timings in result["steps_ms"].items():
        ours = timings["rnnlab (numpy, float64)"]
        rows += [[f"{model.upper()}: {name}", f"{ms:.2f}", f"{ours / ms:.2f}"] for name, ms in timings.items()]
    title = f"training step, B = {shape['B']}, T = {shape['T']}, I = {shape['I']}"
    return markdown_table([title, "ms per step", "rnnlab / this"], rows)


def run_benchmarks(repeats=7, out=None):
    """Run every benchmark, print its tables, and return (and optionally save) the numbers.

    See the *Performance* page.

    Parameters
    ----------
    repeats : int
        Runs per measurement; the median is reported.
    out : str, optional
        JSON file to write the results to (for the book's Performance appendix).
    """
    x, y = next(generate_batches(T, B, seed=0))
    print(f"training step (forward + backward), B = {B}, T = {T}, I = {I}, D = {D}; "
          f"median of {repeats} runs of 5 steps; one thread")
    ours = {"lstm": _median_ms(_rnnlab_step(LSTM(D, I, 1, rng=0), x, y), repeats),
            "frn": _median_ms(_rnnlab_step(FullyRecurrentNetwork(D, I, 1, rng=0), x, y), repeats)}
    result = {"command": "python -m rnnlab bench", "machine": machine_description(), "repeats": repeats,
              "shape": dict(B=B, T=T, I=I, D=D), "steps_ms": {}}
    try:
        theirs, version, torch_threads = _torch_rows(x, y, repeats)
        result["torch"] = f"PyTorch {version}, {torch_threads} thread(s)"
        print(result["torch"])
    except ImportError:
        theirs = {}
        print("PyTorch not installed (pip install torch==2.13.0): rnnlab rows only")
    for model, label in (("lstm", "LSTM"), ("frn", "FRN")):
        rows = {"rnnlab (numpy, float64)": ours[model]} | theirs.get(model, {})
        result["steps_ms"][model] = rows
        print(f"\n{label:<40} {'ms/step':>9} {'rnnlab / this':>14}")
        for name, ms in rows.items():
            print(f"{name:<40} {ms:9.2f} {ours[model] / ms:14.2f}")

    threads = blas_thread_steps(repeats)
    result["blas_threads_ms"] = threads
    print(f"\nLSTM step with numpy's default BLAS threads {threads['default']:.2f} ms, with one "
          f"{threads['one']:.2f} ms (load average {threads['load']:.1f})")

    sizes, times, slope = rtrl_step_times()
    result["rtrl_step_us"] = dict(sizes=sizes, times=times, slope=slope)
    print(f"\nLSTM_RTRL step (batch of 8), slope of log time against log I for I >= 64: {slope:.2f} "
          f"({2 ** slope:.1f}x per doubling)")
    for n, us in zip(sizes, times):
        print(f"  I = {n:>4}: {us:9.1f} µs")
    memory = peak_memory_kib()
    result["peak_memory_kib"] = [dict(T=length, rtrl=r, bptt=b) for length, r, b in memory]
    print("\npeak memory for one batch of 8 sequences, I = 16 (KiB)")
    for length, rtrl_kib, bptt_kib in memory:
        print(f"  T = {length:>6}: RTRL {rtrl_kib:9.1f}   BPTT {bptt_kib:11.1f}")
    if out:
        write_json(out, result)
    return result
