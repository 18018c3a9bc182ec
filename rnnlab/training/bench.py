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
from rnnlab.models.frn_rtrl_numba import FRN_RTRL_Numba
from rnnlab.models.lstm_rtrl import LSTM_RTRL
from rnnlab.models.lstm_rtrl_numba import LSTM_RTRL_Numba

__all__ = ["bench_table", "blas_thread_steps", "bptt_cost", "engine_step_times", "exp3a_engine_times", "peak_memory_kib",
           "online_update_times", "rtrl_scaling", "rtrl_step_times", "run_benchmarks"]

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
        bptt.forward(np.zeros((1, 1)), np.ones(1))   # warm-up: one-time allocations (BLAS thread control)
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


def _fastest_us_per_step(work, steps, repeats):
    """The fastest of ``repeats`` runs of ``work()``, divided by the ``steps`` it does, in µs.

    The minimum, not the median: on a machine shared with other processes, a run of a
    millisecond is often interrupted, and a slower run measures the others' work.
    """
    work()  # warm-up (and numba's compilation)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, (time.perf_counter() - start) / steps * 1e6)
    return float(best)


def engine_step_times(T=100, cells=32, sequences=(10, 200), batch=32, repeats=7):
    """Microseconds per sequence step of truncated RTRL, numpy against the compiled engine, in one run.

    Online: one gradient-descent update per sequence (``sequences`` of length ``T`` for the
    numpy and the numba engine); batches: ``loss_and_gradient`` and ``update`` on ``batch``
    sequences. Both engines run the same network (``cells`` cells, the same seed).

    Returns
    -------
    dict
        ``online`` and ``batch``, each ``{"numpy": µs, "numba": µs, "speedup": ratio}`` per
        sequence step (fastest of ``repeats`` runs), and the settings.

    See chapter 5, *Real-time recurrent learning* (section *A compiled engine*).
    """
    x, y = next(generate_batches(T, max(max(sequences), batch), seed=0))
    result = dict(T=T, cells=cells, batch_size=batch, repeats=repeats)

    def online(net, n):
        def work():
            if isinstance(net, LSTM_RTRL_Numba):
                net.sgd_online(x[:n], y[:n], 0.01)
            else:
                for q in range(n):
                    net.zero_grad()
                    net.loss_and_gradient(x[q], y[q])
                    net.update(0.01)
        return work

    def batched(net):
        def work():
            net.zero_grad()
            net.loss_and_gradient(x[:batch], y[:batch])
            net.update(0.01)
        return work

    for mode in ("online", "batch"):
        times = {}
        for engine, cls, n in (("numpy", LSTM_RTRL, sequences[0]), ("numba", LSTM_RTRL_Numba, sequences[1])):
            net = cls(1, cells, 1, rng=0, init_scale=0.1)
            work, steps = (online(net, n), n * T) if mode == "online" else (batched(net), batch * T)
            times[engine] = _fastest_us_per_step(work, steps, repeats)
        result[mode] = dict(times, speedup=times["numpy"] / times["numba"])
    return result


def online_update_times(T=1000, cells=32, sequences=20, eta=0.003, clip=1.0, repeats=3):
    """Microseconds per sequence of one online update with Adam, as the chapter's sweeps run it.

    The 32-cell network of the sweeps in the compiled engine (``LSTM_RTRL_Numba``, the 1997
    gate biases), one sequence of length ``T`` per update, each update the steps of
    :func:`~rnnlab.training.train.train`, timed one by one: ``data`` (drawing the sequence
    from the stream), ``gradient`` (``zero_grad`` and the compiled ``loss_and_gradient``),
    ``checks`` (finite loss, clipping at ``clip``, the weights' size) and ``adam`` (the numpy
    Adam step); ``update`` is their sum. ``sgd_online`` is plain gradient descent compiled as
    a whole (``LSTM_RTRL_Numba.sgd_online``), per sequence.

    Returns
    -------
    dict
        ``data``, ``gradient``, ``checks``, ``adam`` (each the fastest of ``repeats`` runs of
        ``sequences`` updates), ``update`` (their sum) and ``sgd_online`` (fastest of
        ``repeats``), in µs per sequence, and the settings.

    See chapter 5, *Real-time recurrent learning* (section *A compiled engine*).
    """
    from rnnlab.training.optim import Adam
    from rnnlab.training.train import PAPER_GATE_BIASES, _check_weights, clip_grad_norm

    biases = {k: np.resize(v, cells).tolist() for k, v in PAPER_GATE_BIASES.items()}
    net = LSTM_RTRL_Numba(1, cells, 1, rng=0, init_scale=0.1, **biases)
    adam = Adam(net, eta)
    stream = generate_batches(T, 1, seed=1000)
    parts = ("data", "gradient", "checks", "adam")

    def run():
        spent = dict.fromkeys(parts, 0.0)
        for _ in range(sequences):
            t0 = time.perf_counter()
            x, y = next(stream)
            t1 = time.perf_counter()
            net.zero_grad()
            loss = net.loss_and_gradient(x, y)
            t2 = time.perf_counter()
            if not np.isfinite(loss):
                raise FloatingPointError(f"the loss is {loss}")
            clip_grad_norm(net, clip)
            _check_weights(net, 1e6)
            t3 = time.perf_counter()
            adam.step()
            t4 = time.perf_counter()
            for part, (a, b) in zip(parts, ((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
                spent[part] += (b - a) / sequences * 1e6
        return spent

    run()                                  # warm-up (and numba's compilation)
    runs = [run() for _ in range(repeats)]
    # each part at its fastest: on a shared machine a slower run measures the others' work
    best = {part: min(spent[part] for spent in runs) for part in parts}
    x, y = next(generate_batches(T, sequences, seed=1))
    sgd = _fastest_us_per_step(lambda: net.sgd_online(x, y, 1e-4), sequences, repeats)
    return dict(best, update=sum(best.values()), sgd_online=sgd, T=T, cells=cells,
                sequences=sequences, repeats=repeats)


def rtrl_scaling(sizes=(8, 16, 32, 64, 128), frn_up_to=64, steps=50, repeats=7,
                 fit=((16, 64), (32, 128))):
    """Time per step and memory of full RTRL (FRN_RTRL) and truncated RTRL (LSTM_RTRL) against I.

    One sequence of (at most) ``steps`` steps with a loss at every step (so every step does its full
    work), both in their compiled engines (the numpy engines' fixed cost per call would
    hide the growth at these sizes): full RTRL of the FRN, Eq. (5.1), for the sizes up
    to ``frn_up_to``, and truncated RTRL of the LSTM, Eqs. (5.3)-(5.6). Memory is the size of
    the sensitivity buffers of one sequence: ``FRN_RTRL.P`` (I · I · (D + I) numbers) and
    ``LSTM_RTRL.S`` (2I · (D + I + 1) numbers).

    Parameters
    ----------
    fit : pair of (int, int)
        The ranges of I over which the slopes of log time against log I are fitted, for
        the FRN and for the LSTM (the LSTM's step also has a fixed cost, the same at every
        I, about its time at I = 1, which the quadratic part outgrows only from I = 32 or so).

    Returns
    -------
    dict
        ``sizes``; ``frn_us``, ``lstm_us`` (µs per step, fastest of ``repeats`` runs; ``None`` where not measured);
        ``frn_kib``, ``lstm_kib`` (buffer sizes); ``frn_slope``, ``lstm_slope`` (least-squares
        slopes of log time against log I over the ``fit`` ranges).

    See chapter 5, *Real-time recurrent learning* (section *Cost, measured*).
    """
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(steps, 1)), rng.random((steps, 1))
    result = dict(sizes=list(sizes), steps=steps, repeats=repeats, fit=[list(f) for f in fit],
                  frn_us=[], lstm_us=[], frn_kib=[], lstm_kib=[])
    for n in sizes:
        nets = [("lstm", LSTM_RTRL_Numba(1, n, 1, rng=0))] + ([("frn", FRN_RTRL_Numba(1, n, 1, rng=0))]
                                                              if n <= frn_up_to else [])
        for name, net in nets:
            # Shorter sequences for the larger sizes keep every timed run near a millisecond,
            # short enough to fit between the interruptions of a shared machine.
            k = max(1, int(steps * min(1.0, (16 / n) ** 4 if name == "frn" else (32 / n) ** 2)))
            result[f"{name}_us"].append(_fastest_us_per_step(lambda: net.loss_and_gradient(x[:k], y[:k]), k,
                                                             repeats))
            net.reset()
            result[f"{name}_kib"].append((net.P if name == "frn" else net.S).nbytes / 1024)
        if n > frn_up_to:
            result["frn_us"].append(None)
            result["frn_kib"].append(None)
    for name, (low, high) in zip(("frn", "lstm"), fit):
        pairs = [(n, us) for n, us in zip(sizes, result[f"{name}_us"]) if us is not None and low <= n <= high]
        result[f"{name}_slope"] = float(np.polyfit(*np.log(np.array(pairs)).T, 1)[0])
    return result


def exp3a_engine_times(trials=2, T=1000, N=3, sequences=(3, 60), repeats=5):
    """Microseconds per sequence step per network of the two engines of Experiment 3a, on the same data.

    Both engines train ``trials`` networks online (one update per sequence) on the first
    sequences of each trial's training stream: the numpy engine (:class:`~rnnlab.models.lstm1997.LSTM1997`, the trials
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
    engines = engine_step_times(repeats=repeats)
    result["rtrl_engines"] = engines
    print(f"\ntruncated RTRL of the LSTM, I = {engines['cells']}, T = {engines['T']}: "
          f"µs per sequence step (median of {repeats})")
    for mode, label in (("online", "online, one update per sequence"), ("batch", f"batches of {engines['batch_size']}")):
        row = engines[mode]
        print(f"  {label:<34} numpy {row['numpy']:7.2f}   numba {row['numba']:6.2f}   "
              f"numba {row['speedup']:5.1f}x faster")
    scaling = rtrl_scaling()
    result["rtrl_scaling"] = scaling
    print(f"\nfull RTRL of the FRN against truncated RTRL of the LSTM (compiled), one sequence; "
          f"slopes {scaling['frn_slope']:.2f} (I = {scaling['fit'][0]}) and {scaling['lstm_slope']:.2f} "
          f"(I = {scaling['fit'][1]})")
    for n, f_us, l_us, f_kib, l_kib in zip(scaling["sizes"], scaling["frn_us"], scaling["lstm_us"],
                                           scaling["frn_kib"], scaling["lstm_kib"]):
        frn = f"{f_us:10.1f} µs {f_kib:9.1f} KiB" if f_us is not None else f"{'-':>13} {'-':>13}"
        print(f"  I = {n:>4}: FRN {frn}   LSTM {l_us:7.2f} µs {l_kib:7.1f} KiB")
    memory = peak_memory_kib()
    result["peak_memory_kib"] = [dict(T=length, rtrl=r, bptt=b) for length, r, b in memory]
    print("\npeak memory for one batch of 8 sequences, I = 16 (KiB)")
    for length, rtrl_kib, bptt_kib in memory:
        print(f"  T = {length:>6}: RTRL {rtrl_kib:9.1f}   BPTT {bptt_kib:11.1f}")
    exp3a = exp3a_engine_times()
    result["exp3a_engines"] = exp3a
    print(f"\nExperiment 3a, online training at T = {exp3a['T']}, {exp3a['trials']} trials, µs per step per network "
          f"(load average {exp3a['load']:.1f})")
    for kind, suffix in (("wall", "us"), ("processor", "cpu_us")):
        ratio = exp3a["ratio" if kind == "wall" else "cpu_ratio"]
        print(f"  {kind:<9}: numpy engine {exp3a['numpy_' + suffix]:9.3f}   numba engine "
              f"{exp3a['numba_' + suffix]:7.3f}   ratio {ratio:.0f}x")
    if out:
        write_json(out, result)
    return result
