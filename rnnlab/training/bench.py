"""Benchmarks: rnnlab's training step against PyTorch, and the cost of truncated RTRL.

    python -m rnnlab bench [--repeats 7]

Prints tables of medians over repeated runs, with ratios measured in the same run.
PyTorch is optional (``pip install torch==2.13.0``); without it only rnnlab's own rows
are printed. For a fair comparison both libraries should use the same number of
threads: run with ``OPENBLAS_NUM_THREADS=1`` (numpy reads it at import) and this
module sets PyTorch to the same count.

See the *Performance* notes in the README.
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

__all__ = ["exp3a_engine_times", "run_benchmarks"]

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

    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
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

    def module(kind, dtype):
        torch.manual_seed(0)
        rnn = (torch.nn.LSTM(D, I, batch_first=True) if kind == "lstm"
               else torch.nn.RNN(D, I, batch_first=True, bias=False)).to(dtype)
        head = torch.nn.Linear(I, 1).to(dtype)
        xs, ys = xt64.to(dtype), yt64.to(dtype)

        def step():
            rnn.zero_grad()
            head.zero_grad()
            out, _ = rnn(xs)
            torch.nn.functional.binary_cross_entropy_with_logits(head(out[:, -1]), ys).backward()
        return step

    rows["lstm"] = {"torch autograd, same model, float64": _median_ms(lstm_autograd(), repeats),
                    "torch.nn.LSTM + Linear, float64": _median_ms(module("lstm", torch.float64), repeats),
                    "torch.nn.LSTM + Linear, float32": _median_ms(module("lstm", torch.float32), repeats)}
    rows["frn"] = {"torch autograd, same model, float64": _median_ms(frn_autograd(), repeats),
                   "torch.nn.RNN + Linear, float64": _median_ms(module("rnn", torch.float64), repeats)}
    return rows, torch.__version__, torch.get_num_threads()


def rtrl_step_times(sizes=(16, 32, 64, 128, 256), batch=8, steps=200, repeats=5):
    """Median microseconds per LSTM_RTRL step for each number of cells, and the log-log slope."""
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
    """Peak bytes allocated (KiB) for one batch with the loss at the last step: RTRL and BPTT."""
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


def exp3a_engine_times(trials=2, T=1000, N=3, sequences=(3, 60), repeats=5):
    """Microseconds per sequence step per network of the two engines of Experiment 3a, on the same data.

    Both engines train ``trials`` networks online (one update per sequence) on the first
    sequences of each trial's training stream: the numpy engine (:class:`LSTM1997`, the trials
    vectorised) on ``sequences[0]`` of them, the numba engine (one trial after the other) on
    ``sequences[1]``. The time of a run is divided by the time steps it trained, summed over
    the networks; the median over ``repeats`` runs is reported, in wall time and in processor
    time (the latter is what an idle core would take: on a shared machine the wall time
    also counts the waits for a core).

    Returns
    -------
    dict
        ``numpy_us``, ``numba_us`` (wall µs per step per network), ``numpy_cpu_us``,
        ``numba_cpu_us`` (processor µs), ``ratio`` and ``cpu_ratio`` (numpy / numba),
        ``trials``, ``T``, ``N`` and ``load`` (1-minute load average at the start).

    See chapter 6, *Reproducing Experiment 3a* (section *A compiled engine*).
    """
    from rnnlab.models.lstm1997 import LSTM1997
    from rnnlab.models.lstm1997_numba import train_sequences
    from rnnlab.training.reproduction import _padded, trial_streams

    data = [_padded(trial_streams(T, N, k)[0], max(sequences), T) for k in range(trials)]
    x, lengths, y = (np.stack(a) for a in zip(*data))                         # (trials, sequences, T_max)

    def numpy_run():
        net = LSTM1997(trials, rng=0)
        for b in range(sequences[0]):
            net.online_update(x[:, b], lengths[:, b], y[:, b])
        return lengths[:, :sequences[0]].sum()

    def numba_run():
        init = LSTM1997(trials, rng=0)
        return sum(train_sequences(init.w[k], init.w_out[k], x[k, :sequences[1]], lengths[k, :sequences[1]],
                                   y[k, :sequences[1]]) for k in range(trials))

    numba_run()                                                                # compile or load the cache
    result = dict(trials=trials, T=T, N=N, load=os.getloadavg()[0])
    for name, run in (("numpy", numpy_run), ("numba", numba_run)):
        wall, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            steps = run()
            wall.append((time.perf_counter() - start) / steps * 1e6)
            cpu.append((time.process_time() - start_cpu) / steps * 1e6)
        result[f"{name}_us"], result[f"{name}_cpu_us"] = float(np.median(wall)), float(np.median(cpu))
    result["ratio"] = result["numpy_us"] / result["numba_us"]
    result["cpu_ratio"] = result["numpy_cpu_us"] / result["numba_cpu_us"]
    return result


def run_benchmarks(repeats=7, out=None):
    """Run every benchmark, print its tables, and return (and optionally save) the numbers.

    Parameters
    ----------
    repeats : int
        Runs per measurement; the median is reported.
    out : str, optional
        JSON file to write the results to (for the book's Performance appendix).
    """
    x, y = next(generate_batches(T, B, seed=0))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"training step (forward + backward), B = {B}, T = {T}, I = {I}, D = {D}; "
          f"median of {repeats} runs of 5 steps; OPENBLAS_NUM_THREADS={threads}")
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
    engines = exp3a_engine_times()
    result["exp3a_engines"] = engines
    print(f"\nExperiment 3a, online training at T = {engines['T']}, {engines['trials']} trials, µs per step per network "
          f"(load average {engines['load']:.1f})")
    for kind, suffix in (("wall", "us"), ("processor", "cpu_us")):
        ratio = engines["ratio" if kind == "wall" else "cpu_ratio"]
        print(f"  {kind:<9}: numpy engine {engines['numpy_' + suffix]:9.3f}   numba engine "
              f"{engines['numba_' + suffix]:7.3f}   ratio {ratio:.0f}x")
    if out:
        write_json(out, result)
    return result
