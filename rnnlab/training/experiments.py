"""Long sweeps behind the book's measured claims, run from the command line.

The chapters never run these live: ``python -m rnnlab sweep frn-lag`` writes a
JSON file under ``results/`` that the chapter loads, beside a short live run.

See chapter 2, *The fully recurrent network* (section *How long a lag?*).
"""

import json
import os
import platform
import time
from itertools import product
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from rnnlab.data import generate_batches
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.lstm_numba import LSTM_Numba
from rnnlab.models.lstm_rtrl_numba import LSTM_RTRL_Numba
from rnnlab.training.parallel import default_jobs, run_parallel
from rnnlab.training.train import (
    EVAL_SEED,
    PAPER_GATE_BIASES,
    RECIPES,
    accuracy,
    evaluate,
    train,
    train_online,
    train_recipe,
)

__all__ = [
    "FRN_LAG_GRID",
    "LSTM_T100",
    "RTRL_LAG",
    "frn_lag_run",
    "frn_lag_sweep",
    "load_results",
    "lstm_t100_run",
    "lstm_t100_sweep",
    "machine_description",
    "RTRL_LONG",
    "RTRL_REACH",
    "RTRL_WHY",
    "largest_solved_T",
    "markdown_table",
    "reach_run",
    "reach_summary",
    "reach_sweep",
    "rtrl_lag_run",
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


def machine_description(jobs=None):
    """One line naming the machine, Python, numpy, the workers and the load (stored with results)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    workers = f", {jobs} worker(s) with one BLAS thread each" if jobs else ""
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, numpy {np.__version__}{workers}, load average {load:.1f} at the start")


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


def frn_lag_sweep(out, jobs=None, grid=FRN_LAG_GRID, progress=True):
    """Run the whole grid (``jobs`` workers) and write the records, the grid and the machine to ``out`` (JSON)."""
    tasks = list(product(grid["init_scales"], grid["Ts"], grid["etas"], grid["seeds"]))
    jobs = jobs or default_jobs()
    machine = machine_description(jobs)
    start = time.time()
    records = run_parallel(frn_lag_run, [task + (grid,) for task in tasks], jobs, progress, desc="frn-lag")
    result = {
        "command": "python -m rnnlab sweep frn-lag",
        "grid": grid,
        "machine": machine,
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


def lstm_t100_run(method, seed, settings=LSTM_T100):
    """Train the LSTM on T = 100 with one method and seed; stop at 99.9 % validation accuracy.

    Validation is checked every ``check_every`` updates; the run ends there or after the
    method's maximum number of updates, and is scored on 1000 fresh test sequences.
    """
    T, spec = settings["T"], settings["methods"][method]
    start = time.time()
    run = train_recipe("lstm", T, seed, progress=False, **spec["overrides"])
    seconds = time.time() - start
    return dict(
        method=method, seed=seed, solved=bool(run.val_acc and run.val_acc[-1] >= run.recipe["target"]),
        updates=len(run.losses), sequences=run.sequences, seconds=round(seconds, 2),
        test_acc=evaluate(run.model, T, seed=EVAL_SEED + seed),
        curve_sequences=[c * run.recipe["batch_size"] for c in run.checkpoints], curve_acc=run.val_acc,
    )


def lstm_t100_sweep(out, settings=LSTM_T100, jobs=None, progress=True):
    """Every method and seed of ``settings`` (``jobs`` workers); write the runs, settings and machine to ``out``."""
    tasks = [(method, seed, settings) for method, spec in settings["methods"].items() for seed in spec["seeds"]]
    jobs = jobs or default_jobs()
    result = {"command": "python -m rnnlab sweep lstm-t100", "machine": machine_description(jobs),
              "T": settings["T"], "settings": {m: {"label": v["label"]} for m, v in settings["methods"].items()}}
    start = time.time()
    runs = run_parallel(lstm_t100_run, tasks, jobs, progress, desc="lstm-t100")
    result["wall_seconds"] = round(time.time() - start, 1)
    result["methods"] = {m: [r for r in runs if r["method"] == m] for m in settings["methods"]}
    write_json(out, result)
    return result


# Chapter 5: truncated RTRL against full BPTT, same network and optimiser, growing T.
RTRL_LAG = {"Ts": [1, 2, 5, 10, 20, 50, 100, 200, 500], "seeds": [0, 1, 2], "max_updates": 1500}


def rtrl_lag_run(T, seed, method, settings=RTRL_LAG):
    """Train the chapter-5 recipe with truncated RTRL (``"rtrl"``) or full BPTT (``"bptt"``) on one T and seed.

    Same network and optimiser for both; the run stops at the recipe's validation target
    (99 %) or after ``max_updates``.
    """
    rtrl = RECIPES["lstm-rtrl"]
    same = dict(init_scale=rtrl["init_scale"], model_kwargs=rtrl["model_kwargs"], target=rtrl["target"],
                steps=settings["max_updates"])
    start = time.time()
    run = train_recipe("lstm-rtrl" if method == "rtrl" else "lstm", T, seed, progress=False, **same)
    return dict(
        T=T, seed=seed, method=method, solved=bool(run.val_acc[-1] >= run.recipe["target"]),
        updates=len(run.losses), sequences=run.sequences, seconds=round(time.time() - start, 2),
        test_acc=evaluate(run.model, T, seed=EVAL_SEED + seed),
    )


def rtrl_lag_sweep(out, settings=RTRL_LAG, jobs=None, progress=True):
    """Every T, seed and method of ``settings`` (``jobs`` workers); write the runs to ``out`` (JSON)."""
    tasks = [(T, seed, method, settings) for T, seed, method in product(settings["Ts"], settings["seeds"],
                                                                         ("rtrl", "bptt"))]
    jobs = jobs or default_jobs()
    rtrl = RECIPES["lstm-rtrl"]
    result = {"command": "python -m rnnlab sweep rtrl-lag", "machine": machine_description(jobs), "Ts": settings["Ts"],
              "settings": {k: v for k, v in rtrl.items() if k not in ("model", "model_kwargs")}}
    start = time.time()
    result["runs"] = run_parallel(rtrl_lag_run, tasks, jobs, progress, desc="rtrl-lag")
    result["wall_seconds"] = round(time.time() - start, 1)
    write_json(out, result)
    return result


# Chapter 5, exercise 11: how far truncated RTRL reaches, online and in batches, beside full BPTT.
# Both gradients run in compiled engines (pinned to the numpy classes by the tests), so a
# method's budget is the same number of training sequences whatever its speed.
_NETWORK = dict(I=32, init_scale=0.1, biases=True)
_ADAM = dict(optimizer="adam", eta=0.05, clip=1.0, batch_size=32)     # the recipe of chapters 4 and 5
# One sequence per update, as in 1997. Plain gradient descent does not learn T = 100 with this
# network within 100,000 sequences at learning rates 0.01-1 (see RTRL_WHY); Adam with a
# learning rate scaled down for single sequences does.
_ONLINE = dict(optimizer="adam", eta=0.003, clip=1.0, batch_size=1)

RTRL_REACH = {
    "Ts": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    "seeds": [0, 1, 2],
    "max_sequences": 20_000,
    "target": 0.99,
    "network": _NETWORK,
    "methods": {
        "rtrl-online": dict(gradient="rtrl", **_ONLINE),
        "rtrl-batch": dict(gradient="rtrl", **_ADAM),
        "bptt-batch": dict(gradient="bptt", **_ADAM),
    },
}

# Where the 32-cell recipe starts to fail (T = 200: some seeds solve within the budget, some
# not), one change at a time against the recipe; the full gradient both in batches and online.
RTRL_WHY = {
    "Ts": [200],
    "seeds": [0, 1, 2, 3],
    "max_sequences": 20_000,
    "target": 0.99,
    "network": _NETWORK,
    "methods": {
        "recipe": dict(gradient="rtrl", **_ADAM),
        "recipe, full gradient": dict(gradient="bptt", **_ADAM),
        "budget x3": dict(gradient="rtrl", **_ADAM, max_sequences=60_000),
        "learning rate 0.01": dict(gradient="rtrl", **dict(_ADAM, eta=0.01)),
        "no gate biases": dict(gradient="rtrl", **_ADAM, biases=False),
        "init 0.01": dict(gradient="rtrl", **_ADAM, init_scale=0.01),
        "online Adam": dict(gradient="rtrl", **_ONLINE),
        "online Adam, full gradient": dict(gradient="bptt", **_ONLINE),
        "online SGD 0.03": dict(gradient="rtrl", optimizer="sgd", eta=0.03, clip=None, batch_size=1),
    },
}


# Past the wall with the full gradient: online Adam with BPTT (which solved every seed of
# RTRL_WHY at T = 200 where the truncated gradient solved none) at T = 500 and 1000, with the
# budget and seeds of RTRL_REACH, beside its rtrl-online runs.
RTRL_LONG = {
    "Ts": [500, 1000],
    "seeds": [0, 1, 2],
    "max_sequences": 20_000,
    "target": 0.99,
    "network": _NETWORK,
    "methods": {
        "bptt-online": dict(gradient="bptt", **_ONLINE),
    },
}


def _check_every(T, batch_size):
    """Sequences between validations: 800 (25 batches of 32) up to T = 100, then 1600, and 3200 beyond T = 200.

    A validation costs 1000 sequences of length T: the longer T, the rarer, so that it stays
    a fraction of the training time.
    """
    sequences = 800 if T <= 100 else 1600 if T <= 200 else 3200
    return max(1, sequences // batch_size)


def reach_run(T, seed, method, settings=RTRL_REACH):
    """Train the 32-cell LSTM on one T and seed with one method of ``settings``; stop at the target.

    A method names the gradient (``"rtrl"``: truncated RTRL, ``"bptt"``: full BPTT), the
    optimiser, learning rate, clipping and batch size, and may override the network
    (``I``, ``init_scale``, ``biases``: the 1997 gate biases or none) and ``max_sequences``.
    Online gradient descent (batch size 1, ``"sgd"``) runs :func:`~rnnlab.training.train.train_online`,
    anything else the chapter's :func:`~rnnlab.training.train.train_recipe`; both validate on the
    same 1000 sequences (seed ``3000 + seed``) and the model is tested on 1000 fresh ones.

    Returns
    -------
    dict
        ``T``, ``seed``, ``method``, ``solved``, ``sequences`` (training sequences used),
        ``seconds`` (wall time of training), ``test_acc``, ``diverged``.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    spec = settings["network"] | settings["methods"][method]
    budget = spec.get("max_sequences", settings["max_sequences"])
    I, B = spec["I"], spec["batch_size"]
    model_kwargs = PAPER_GATE_BIASES if spec["biases"] else {}
    cls = LSTM_RTRL_Numba if spec["gradient"] == "rtrl" else LSTM_Numba
    check_every = min(_check_every(T, B), max(1, budget // B))
    start = time.time()
    record = dict(T=T, seed=seed, method=method, diverged=False)
    try:
        if spec["optimizer"] == "sgd" and B == 1:
            model = cls(1, I, 1, rng=seed, init_scale=spec["init_scale"],
                        **{k: np.resize(v, I).tolist() for k, v in model_kwargs.items()})
            run = train_online(model, T, seed, eta=spec["eta"], max_sequences=budget, check_every=check_every,
                               target=settings["target"])
        else:
            run = train_recipe("lstm-rtrl", T, seed, progress=False, model=cls, I=I, batch_size=B,
                               optimizer=spec["optimizer"], eta=spec["eta"], clip=spec["clip"],
                               init_scale=spec["init_scale"], model_kwargs=model_kwargs, steps=budget // B,
                               check_every=check_every, target=settings["target"])
        record.update(solved=bool(run.val_acc[-1] >= settings["target"]), sequences=run.sequences,
                      test_acc=evaluate(run.model, T, seed=EVAL_SEED + seed))
    except FloatingPointError:
        record.update(solved=False, sequences=budget, test_acc=0.5, diverged=True)
    record["seconds"] = round(time.time() - start, 2)
    return record


def reach_sweep(out, settings=RTRL_REACH, name="rtrl-reach", jobs=None, progress=True):
    """Every T, seed and method of ``settings`` on ``jobs`` workers; write runs, settings, machine and wall time.

    Tasks are ordered longest first (largest T first), so the two workers finish together.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    tasks = [(T, seed, method, settings) for T in sorted(settings["Ts"], reverse=True)
             for method in settings["methods"] for seed in settings["seeds"]]
    jobs = jobs or default_jobs()
    result = {"command": f"python -m rnnlab sweep {name} --jobs {jobs}", "machine": machine_description(jobs),
              "settings": settings}
    start = time.time()
    result["runs"] = run_parallel(reach_run, tasks, jobs, progress, desc=name)
    result["wall_seconds"] = round(time.time() - start, 1)
    write_json(out, result)
    return result


def reach_summary(result):
    """One row per (T, method) of a :func:`reach_sweep` result, in the order of ``settings``.

    Returns
    -------
    list of dict
        ``T``, ``method``, ``solved`` and ``runs`` (counts), ``median_sequences`` (over the
        solved runs; ``None`` if none), ``max_sequences`` (the budget), ``median_seconds``
        (over all runs) and ``mean_test_acc``.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    settings = result["settings"]
    rows = []
    for T in settings["Ts"]:
        for method, spec in settings["methods"].items():
            runs = [r for r in result["runs"] if r["T"] == T and r["method"] == method]
            solved = [r["sequences"] for r in runs if r["solved"]]
            rows.append(dict(
                T=T, method=method, solved=len(solved), runs=len(runs),
                median_sequences=float(np.median(solved)) if solved else None,
                max_sequences=spec.get("max_sequences", settings["max_sequences"]),
                median_seconds=float(np.median([r["seconds"] for r in runs])),
                mean_test_acc=float(np.mean([r["test_acc"] for r in runs])),
            ))
    return rows


def largest_solved_T(result, method, at_least=None):
    """The largest T at which at least ``at_least`` runs of ``method`` (default: all of them) solved.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    best = None
    for row in reach_summary(result):
        if row["method"] == method and row["solved"] >= (row["runs"] if at_least is None else at_least):
            best = row["T"] if best is None else max(best, row["T"])
    return best


def markdown_table(header, rows):
    """A Markdown (MyST) table: ``header`` a list of column titles, ``rows`` lists of cells (already formatted).

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
