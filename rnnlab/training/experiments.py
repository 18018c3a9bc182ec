"""Long sweeps behind the book's measured claims, run from the command line.

The chapters never run these live: ``python -m rnnlab sweep frn-lag`` writes a
JSON file under ``results/`` that the chapter loads, beside a short live run.

See chapter 2, *The fully recurrent network* (section *How long a lag?*).
"""

import json
import multiprocessing
import os
import platform
import time
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor
from itertools import product

import numpy as np
from scipy.stats import binomtest

from rnnlab.data import generate_batches
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.training.train import EVAL_SEED, RECIPES, accuracy, evaluate, train, train_recipe

__all__ = [
    "FRN_LAG_GRID",
    "LSTM_T100",
    "RTRL_LAG",
    "frn_lag_run",
    "frn_lag_sweep",
    "load_results",
    "lstm_t100_sweep",
    "machine_description",
    "rtrl_lag_sweep",
    "summarise_lag_sweep",
    "write_json",
]

# The documented grid of chapter 2: every (init_scale, T, eta, seed) is one run of
# max(checkpoints) updates on batches of 32, evaluated at every checkpoint.
FRN_LAG_GRID = {
    "I": 32,
    "batch_size": 32,
    "init_scales": [0.01, 0.15],
    "Ts": [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 25, 30],
    "etas": [0.1, 0.3, 1.0, 3.0],
    "checkpoints": [500, 1000, 2000, 4000],
    "seeds": [0, 1, 2, 3, 4],
    "n_val": 1000,
    "n_test": 1000,
}


def machine_description():
    """One line naming the machine, Python, numpy and the BLAS thread setting (stored with results)."""
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, numpy {np.__version__}, OpenBLAS threads: {threads}")


RESULTS = Path(__file__).resolve().parents[2] / "results"


def load_results(name):
    """The committed results file ``results/<name>.json`` of this checkout, as a dict.

    Chapters load their sweeps through this, so a notebook runs from any folder.
    """
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: regenerate it with the command named in the chapter")
    return json.loads(path.read_text())


def write_json(out, result):
    """Write ``result`` to the JSON file ``out``, creating its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


def _fixed_set(T, n, seed):
    return next(generate_batches(T, n, seed=seed))


def frn_lag_run(init_scale, T, eta, seed, grid=FRN_LAG_GRID):
    """Train one FRN and measure validation and test accuracy at each checkpoint.

    Seeds: weights ``seed``, training data ``1000 + seed``, validation data
    ``2000 + seed``, test data ``EVAL_SEED + seed`` (independent sets per seed,
    so test counts of different seeds are independent under the null hypothesis).

    Returns
    -------
    dict
        The run's settings, ``val_acc`` and ``test_acc`` (one per checkpoint), and
        ``diverged`` (the step of a divergence, or ``None``).
    """
    net = FullyRecurrentNetwork(1, grid["I"], 1, rng=seed, init_scale=init_scale)
    batches = generate_batches(T, grid["batch_size"], seed=1000 + seed)
    val = _fixed_set(T, grid["n_val"], 2000 + seed)
    test = _fixed_set(T, grid["n_test"], EVAL_SEED + seed)
    record = dict(init_scale=init_scale, T=T, eta=eta, seed=seed, val_acc=[], test_acc=[], diverged=None)
    done = 0
    for checkpoint in grid["checkpoints"]:
        if record["diverged"] is None:
            try:
                train(net, batches, checkpoint - done, eta, progress=False)
            except FloatingPointError:
                record["diverged"] = checkpoint
        done = checkpoint
        # A diverged network has no prediction left: it is scored 0.5 (chance) by convention.
        ok = record["diverged"] is None
        record["val_acc"].append(accuracy(net, *val) if ok else 0.5)
        record["test_acc"].append(accuracy(net, *test) if ok else 0.5)
    return record


def _run(args):
    return frn_lag_run(*args)


def frn_lag_sweep(out, jobs=None, grid=FRN_LAG_GRID, progress=True):
    """Run the whole grid and write the records, the grid and the machine to ``out`` (JSON)."""
    from tqdm import tqdm

    tasks = list(product(grid["init_scales"], grid["Ts"], grid["etas"], grid["seeds"]))
    start = time.time()
    # One BLAS thread per worker: with every core busy, OpenBLAS's own threads on these
    # small matrices wait for each other and slow each product down by 100x or more.
    # The variable must be set before numpy loads, hence fresh ("spawn") worker processes.
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=context) as pool:
        records = list(tqdm(pool.map(_run, tasks, chunksize=4), total=len(tasks), disable=not progress))
    result = {
        "command": "python -m rnnlab sweep frn-lag",
        "grid": grid,
        "machine": machine_description(),
        "wall_seconds": round(time.time() - start, 1),
        "records": records,
    }
    write_json(out, result)
    return result


def summarise_lag_sweep(result, alpha=0.01):
    """Tune (eta, updates) per (init_scale, T) on validation accuracy; test the choice.

    For every init scale and T the configuration with the best mean validation
    accuracy over seeds is selected; its test accuracies (one per seed, on
    independent test sets) are pooled into one one-sided binomial test against
    chance (p = 1/2), Bonferroni-corrected over the number of T values.

    Returns
    -------
    list of dict
        One row per (init_scale, T): ``eta``, ``updates``, ``test_acc`` (per seed),
        ``mean``, ``p_value`` and ``better_than_chance``.
    """
    grid = result["grid"]
    n_test = grid["n_test"]
    rows = []
    for scale, T in product(grid["init_scales"], grid["Ts"]):
        runs = [r for r in result["records"] if r["init_scale"] == scale and r["T"] == T]
        best = None
        for eta, (c, updates) in product(grid["etas"], enumerate(grid["checkpoints"])):
            group = [r for r in runs if r["eta"] == eta]
            score = np.mean([r["val_acc"][c] for r in group])
            if best is None or score > best[0]:
                best = (score, eta, updates, [r["test_acc"][c] for r in group])
        _, eta, updates, test_acc = best
        correct = int(round(sum(test_acc) * n_test))
        p_value = binomtest(correct, n_test * len(test_acc), 0.5, alternative="greater").pvalue
        rows.append(dict(
            init_scale=scale, T=T, eta=eta, updates=updates, test_acc=test_acc,
            mean=float(np.mean(test_acc)), p_value=float(p_value),
            better_than_chance=bool(p_value < alpha / len(grid["Ts"])),
        ))
    return rows


# Chapter 4: the LSTM on T = 100 with the two training methods.
LSTM_T100 = {
    "T": 100,
    "methods": {
        "adam": dict(label="Adam, learning rate 0.05, clipping at 1, batches of 32, gate biases (the recipe)",
                     seeds=list(range(10)), overrides={}),
        "sgd": dict(
            label="online gradient descent, learning rate 1.0, gate biases of the 1997 paper",
            seeds=list(range(5)),
            overrides=dict(optimizer="sgd", eta=1.0, clip=None, batch_size=1, steps=150_000, check_every=1000),
        ),
    },
}


def lstm_t100_sweep(out, settings=LSTM_T100, progress=True):
    """Train the LSTM on T = 100 with each method and seed, one run at a time (honest wall times).

    Each run stops when its validation accuracy reaches 99.9 % (checked every
    ``check_every`` updates) or after the method's maximum number of updates; it is then
    scored on 1000 fresh test sequences. Writes the runs, the settings and the machine to ``out`` (JSON).
    """
    from tqdm import tqdm

    T = settings["T"]
    result = {"command": "python -m rnnlab sweep lstm-t100", "machine": machine_description(), "T": T,
              "settings": {m: {"label": v["label"]} for m, v in settings["methods"].items()}, "methods": {}}
    for method, spec in settings["methods"].items():
        runs = []
        for seed in tqdm(spec["seeds"], desc=method, disable=not progress):
            start = time.time()
            run = train_recipe("lstm", T, seed, progress=False, **spec["overrides"])
            seconds = time.time() - start
            solved = bool(run.val_acc and run.val_acc[-1] >= run.recipe["target"])
            runs.append(dict(
                seed=seed, solved=solved, updates=len(run.losses), sequences=run.sequences,
                seconds=round(seconds, 2), test_acc=evaluate(run.model, T, seed=EVAL_SEED + seed),
                curve_sequences=[c * run.recipe["batch_size"] for c in run.checkpoints], curve_acc=run.val_acc,
            ))
        result["methods"][method] = runs
    write_json(out, result)
    return result


# Chapter 5: truncated RTRL against full BPTT, same network and optimiser, growing T.
RTRL_LAG = {"Ts": [1, 2, 5, 10, 20, 50, 100, 200, 500], "seeds": [0, 1, 2], "max_updates": 1500}


def rtrl_lag_sweep(out, settings=RTRL_LAG, progress=True):
    """Train ``lstm-rtrl`` and the same recipe with BPTT (``lstm``) for each T and seed.

    Runs one at a time so that the recorded wall times are comparable. Each run stops
    at the recipe's validation target (99 %) or after ``max_updates``.
    """
    from tqdm import tqdm

    rtrl = RECIPES["lstm-rtrl"]
    same = dict(init_scale=rtrl["init_scale"], model_kwargs=rtrl["model_kwargs"], target=rtrl["target"],
                steps=settings["max_updates"])
    result = {"command": "python -m rnnlab sweep rtrl-lag", "machine": machine_description(), "Ts": settings["Ts"],
              "settings": {k: v for k, v in rtrl.items() if k not in ("model", "model_kwargs")}, "runs": []}
    tasks = list(product(settings["Ts"], settings["seeds"], ("rtrl", "bptt")))
    for T, seed, method in tqdm(tasks, disable=not progress):
        start = time.time()
        run = train_recipe("lstm-rtrl" if method == "rtrl" else "lstm", T, seed, progress=False, **same)
        result["runs"].append(dict(
            T=T, seed=seed, method=method, solved=bool(run.val_acc[-1] >= run.recipe["target"]),
            updates=len(run.losses), sequences=run.sequences, seconds=round(time.time() - start, 2),
            test_acc=evaluate(run.model, T, seed=EVAL_SEED + seed),
        ))
    write_json(out, result)
    return result


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

    from rnnlab.data import generate_data
    from rnnlab.models.lstm1997 import LSTM1997, stopping_criteria

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
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=context) as pool:
        futures = [pool.submit(exp3a_row, row["T"], row["N"], settings, 0, False) for row in settings["rows"]]
        rows = [f.result() for f in futures]
    result = {"command": "python -m rnnlab reproduce --out results/exp3a.json", "machine": machine_description(),
              "settings": settings, "rows": rows}
    write_json(out, result)
    return result
