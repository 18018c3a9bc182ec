"""Reproduction of Experiment 3a of Hochreiter & Schmidhuber (1997): the paper's protocol, row by row.

    python -m rnnlab reproduce --out results/exp3a.json

See chapter 6, *Reproducing Experiment 3a*.
"""

import time

import numpy as np

from rnnlab.data import generate_data
from rnnlab.models.lstm1997 import LSTM1997, stopping_criteria
from rnnlab.training.experiments import machine_description, write_json
from rnnlab.training.parallel import default_jobs, run_parallel

__all__ = ["EXP3A", "exp3a_row", "exp3a_sweep"]

# Chapter 6: Experiment 3a of Hochreiter & Schmidhuber (1997), the paper's protocol.
EXP3A = {
    "rows": [dict(T=100, N=3), dict(T=100, N=1)],
    "trials": 10,
    "learning_rate": 1.0,
    "check_every": 500,
    "max_sequences": 150_000,
    "n_test": 256,
    "n_final": 2560,
}


def _padded(streams, count=1):
    """``count`` sequences from each stream, zero-padded: x (N, count, T_max), lengths and targets (N, count)."""
    samples = [[next(s) for _ in range(count)] for s in streams]
    T_max = max(x.shape[0] for row in samples for x, _ in row)
    x = np.zeros((len(streams), count, T_max))
    lengths = np.zeros((len(streams), count), dtype=int)
    y = np.zeros((len(streams), count))
    for n, row in enumerate(samples):
        for b, (xs, ys) in enumerate(row):
            x[n, b, :len(xs)] = xs[:, 0]
            lengths[n, b], y[n, b] = len(xs), ys[0]
    return x, lengths, y


def exp3a_row(T, N, settings=EXP3A, seed=0, progress=True):
    """Train ``trials`` independent networks online with the paper's protocol; record ST1 and ST2.

    Each trial has its own weights (seed ``seed``), training stream (``1000 + trial``) and
    256 test sequences (``5000 + trial``); lengths vary in [T, T + T/10] and the first N
    elements carry the class. After every ``check_every`` training sequences the test set
    decides ST1 and ST2; a trial that reaches ST2 stops learning and is scored on
    ``n_final`` fresh sequences (``9000 + trial``).

    Returns
    -------
    dict
        Per trial: sequences to ST1 and to ST2 (``None`` if not reached within the budget),
        the misclassified fraction after training, and the wall time of the row.
    """
    from tqdm import tqdm

    trials = settings["trials"]
    streams = [generate_data(T, seed=1000 + k, N=N, variable_length=True) for k in range(trials)]
    tests = _padded([generate_data(T, seed=5000 + k, N=N, variable_length=True) for k in range(trials)],
                    settings["n_test"])
    net = LSTM1997(trials, rng=seed)
    active = np.ones(trials, dtype=bool)
    st1_at, st2_at = [None] * trials, [None] * trials
    lr = settings["learning_rate"]
    start = time.time()
    bar = tqdm(total=settings["max_sequences"], desc=f"T={T} N={N}", disable=not progress, mininterval=2)
    for k in range(1, settings["max_sequences"] + 1):
        x, lengths, y = _padded(streams)
        dw, dw_out, _ = net.gradient(x[:, 0], lengths[:, 0], y[:, 0])
        net.w -= lr * active[:, None, None] * dw          # online: one sequence, one update
        net.w_out -= lr * active[:, None] * dw_out
        if k % settings["check_every"]:
            continue
        bar.update(settings["check_every"])
        st1, st2 = stopping_criteria(net.predict(tests[0], tests[1]), tests[2])
        for n in range(trials):
            if active[n] and st1[n] and st1_at[n] is None:
                st1_at[n] = k
            if active[n] and st2[n]:
                st2_at[n], active[n] = k, False
        if not active.any():
            break
    bar.close()
    final = _padded([generate_data(T, seed=9000 + k, N=N, variable_length=True) for k in range(trials)],
                    settings["n_final"])
    wrong = np.abs(net.predict(final[0], final[1]) - final[2]) >= 0.2
    return dict(T=T, N=N, st1=st1_at, st2=st2_at, misclassified=wrong.mean(axis=1).tolist(),
                sequences_trained=k, seconds=round(time.time() - start, 1))


def exp3a_sweep(out, settings=EXP3A, jobs=None, progress=True):
    """Run every row of the reproduction (one process per row) and write them to ``out`` (JSON)."""
    jobs = jobs or default_jobs()
    machine = machine_description(jobs)
    tasks = [(row["T"], row["N"], settings, 0, False) for row in settings["rows"]]
    rows = run_parallel(exp3a_row, tasks, jobs, progress, desc="rows")
    result = {"command": "python -m rnnlab reproduce --out results/exp3a.json", "machine": machine,
              "settings": settings, "rows": rows}
    write_json(out, result)
    return result
