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
    "JORDAN_LAG_GRID",
    "LAG_GRIDS",
    "LSTM_T100",
    "lag_run",
    "lag_sweep",
    "LATCHING",
    "bridging_data",
    "bridging_reach",
    "bridging_table",
    "lag_limits",
    "latching_run",
    "latching_sweep",
    "lag_table",
    "load_results",
    "markdown_table",
    "lstm_t100_run",
    "lstm_t100_summary",
    "lstm_t100_table",
    "lstm_t100_sweep",
    "machine_description",
    "RTRL_LONG",
    "RTRL_REACH",
    "RTRL_WHY",
    "largest_solved_T",
    "markdown_table",
    "reach_pairs",
    "reach_run",
    "reach_summary",
    "reach_sweep",
    "summarise_lag_sweep",
    "truncation_gap",
    "truncation_table",
    "write_json",
]

# The documented grids of chapters 2 and 3: every (configuration, T, eta, seed) is one run
# of max(checkpoints) updates on batches of 32, evaluated at every checkpoint. A
# configuration is a model with its initial weights; each has its own lengths T.
_UNIFORM_TS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 21, 22, 23, 24, 25, 30]
_REMEDY_TS = [5, 10, 20, 30, 50, 100]
FRN_LAG_GRID = {
    "model": "frn",
    "I": 32,
    "batch_size": 32,
    "configs": {
        "uniform ±0.01": dict(init_scale=0.01, Ts=_UNIFORM_TS),
        "uniform ±0.15": dict(init_scale=0.15, Ts=_UNIFORM_TS),
        "orthogonal R": dict(init_scale=0.15, recurrent_init="orthogonal", Ts=_REMEDY_TS),
        "identity R": dict(init_scale=0.15, recurrent_init="identity", Ts=_REMEDY_TS),
    },
    "etas": [0.1, 0.3, 1.0, 3.0],
    "checkpoints": [500, 1000, 2000, 4000],
    "seeds": [0, 1, 2, 3, 4],
    "n_val": 1000,
    "n_test": 1000,
}
JORDAN_LAG_GRID = dict(FRN_LAG_GRID, model="jordan", configs={
    "uniform ±0.01": dict(init_scale=0.01, Ts=[1, 2, 3, 4, 5, 6, 8, 10]),
    "uniform ±0.15": dict(init_scale=0.15, Ts=[1, 2, 3, 4, 5, 6, 8, 10]),
})
# Truncated BPTT (chapter 2): the gradient crosses at most k steps; full BPTT is in FRN_LAG_GRID.
FRN_TRUNCATION_GRID = dict(FRN_LAG_GRID, configs={
    f"{name}, truncated at {k}": dict(FRN_LAG_GRID["configs"][name], truncation=k, Ts=Ts)
    for name, Ts in (("uniform ±0.15", [5, 10, 12, 14, 16, 20]), ("orthogonal R", [20, 50, 100])) for k in (5, 1)
})
LAG_GRIDS = {"frn-lag": FRN_LAG_GRID, "jordan-lag": JORDAN_LAG_GRID, "frn-truncation": FRN_TRUNCATION_GRID}


def machine_description(jobs=None):
    """One line naming the machine, Python, numpy, the workers and the load (stored with results).

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).
    """
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    workers = f", {jobs} worker(s) with one BLAS thread each" if jobs else ""
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, numpy {np.__version__}{workers}, load average {load:.1f} at the start")


RESULTS = Path(__file__).resolve().parents[2] / "results"


def load_results(name):
    """The committed results file ``results/<name>.json`` of this checkout, as a dict.

    Chapters load their sweeps through this, so a notebook runs from any folder.

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).
    """
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: regenerate it with the command named in the chapter")
    return json.loads(path.read_text())


def write_json(out, result):
    """Write ``result`` to the JSON file ``out``, creating its folder.

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).
    """
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


def _fixed_set(T, n, seed):
    return next(generate_batches(T, n, seed=seed))


def lag_run(config, T, eta, seed, grid=FRN_LAG_GRID):
    """Train one network of ``grid`` and measure validation and test accuracy at each checkpoint.

    Seeds: weights ``seed``, training data ``1000 + seed``, validation data
    ``2000 + seed``, test data ``EVAL_SEED + seed`` (independent sets per seed,
    so test counts of different seeds are independent under the null hypothesis).

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).

    Parameters
    ----------
    config : str
        A key of ``grid["configs"]``: the initial weights.
    T : int
        Sequence length.
    eta : float
        Learning rate of gradient descent.
    seed : int
    grid : dict
        One of ``LAG_GRIDS``.

    Returns
    -------
    dict
        The run's settings, ``val_acc`` and ``test_acc`` (one per checkpoint), and
        ``diverged`` (the step of a divergence, or ``None``).
    """
    init = {k: v for k, v in grid["configs"][config].items() if k != "Ts"}
    model = RECIPES[grid["model"]]["model"]
    net = model(1, grid["I"], 1, rng=seed, **init)
    batches = generate_batches(T, grid["batch_size"], seed=1000 + seed)
    val = _fixed_set(T, grid["n_val"], 2000 + seed)
    test = _fixed_set(T, grid["n_test"], EVAL_SEED + seed)
    record = dict(config=config, T=T, eta=eta, seed=seed, val_acc=[], test_acc=[], diverged=None)
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


def lag_sweep(name, out, jobs=None, progress=True):
    """Run the whole grid ``LAG_GRIDS[name]`` (``jobs`` workers); write records, grid and machine to ``out``.

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).

    Parameters
    ----------
    name : {"frn-lag", "jordan-lag", "frn-truncation"}
    out : str
        JSON file to write.
    jobs : int, optional
        Worker processes (default: one per core).
    """
    grid = LAG_GRIDS[name]
    tasks = [(config, T, eta, seed, grid) for config, spec in grid["configs"].items()
             for T, eta, seed in product(spec["Ts"], grid["etas"], grid["seeds"])]
    tasks.sort(key=lambda task: -task[1])                  # longest first: the workers finish together
    jobs = jobs or default_jobs()
    machine = machine_description(jobs)
    start = time.time()
    records = run_parallel(lag_run, tasks, jobs, progress, desc=name)
    result = {
        "command": f"python -m rnnlab sweep {name}",
        "grid": grid,
        "machine": machine,
        "wall_seconds": round(time.time() - start, 1),
        "records": records,
    }
    write_json(out, result)
    return result


def summarise_lag_sweep(result, alpha=0.01):
    """Tune (eta, updates) per configuration and T on validation accuracy; test the choice.

    For every configuration and T the learning rate and number of updates with the best
    mean validation accuracy over seeds are selected; their test accuracies (one per seed,
    on independent test sets) are pooled into one one-sided binomial test against chance
    (p = 1/2), Bonferroni-corrected over every (configuration, T) of the sweep.

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).

    Returns
    -------
    list of dict
        One row per (configuration, T): ``config``, ``T``, ``eta``, ``updates``,
        ``test_acc`` (per seed), ``mean``, ``p_value``, ``tests`` (the Bonferroni
        divisor) and ``better_than_chance``.
    """
    grid = result["grid"]
    n_test = grid["n_test"]
    cells = [(config, T) for config, spec in grid["configs"].items() for T in spec["Ts"]]
    rows = []
    for config, T in cells:
        runs = [r for r in result["records"] if r["config"] == config and r["T"] == T]
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
            config=config, T=T, eta=eta, updates=updates, test_acc=test_acc,
            mean=float(np.mean(test_acc)), p_value=float(p_value), tests=len(cells),
            better_than_chance=bool(p_value < alpha / len(cells)),
        ))
    return rows


def markdown_table(header, rows):
    """A MyST/Markdown table: ``header`` a list of column titles, ``rows`` lists of cell strings.

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).
    """
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def lag_table(rows, configs=None):
    """The rows of :func:`summarise_lag_sweep` as a Markdown table (optionally only some configurations).

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).
    """
    return markdown_table(
        ["initial weights", "$T$", "$\\eta$", "updates", "mean test acc.", "min – max over seeds", "$p$",
         "better than chance"],
        [[r["config"], r["T"], r["eta"], f"{r['updates']:,}", f"{r['mean']:.3f}",
          f"{min(r['test_acc']):.3f} – {max(r['test_acc']):.3f}", f"{r['p_value']:.1e}",
          "yes" if r["better_than_chance"] else "no"]
         for r in rows if configs is None or r["config"] in configs])


def truncation_table(full_rows, truncated_rows):
    """Full against truncated BPTT: mean test accuracy and seeds at 99 % or more, per initial weights and T.

    ``full_rows`` and ``truncated_rows`` come from :func:`summarise_lag_sweep` of the
    ``frn-lag`` and ``frn-truncation`` sweeps; truncated configurations are named
    ``"<initial weights>, truncated at <k>"``.

    See chapter 2, *The fully recurrent network* (section *Truncated BPTT*).
    """
    def cell(row):
        if row is None:
            return "—"
        return f"{row['mean']:.3f} ({sum(a >= 0.99 for a in row['test_acc'])}/{len(row['test_acc'])})"

    ks = sorted({int(r["config"].rsplit(" ", 1)[1]) for r in truncated_rows}, reverse=True)
    by_key = {(r["config"], r["T"]): r for r in full_rows + truncated_rows}
    inits = list(dict.fromkeys(r["config"].split(", truncated")[0] for r in truncated_rows))
    body = []
    for init in inits:
        for T in sorted({r["T"] for r in truncated_rows if r["config"].startswith(init)}):
            body.append([init, T, cell(by_key.get((init, T)))] +
                        [cell(by_key.get((f"{init}, truncated at {k}", T))) for k in ks])
    return markdown_table(["initial weights", "$T$", "full BPTT"] + [f"truncated at $k = {k}$" for k in ks], body)


def lag_limits(rows):
    """Per configuration: the largest T better than chance, and how far every seed learned (>= 99 %).

    See chapter 2, *The fully recurrent network* (section *How long a lag?*).

    Returns
    -------
    dict of str to dict
        ``better``: the largest T better than chance (``None`` if none); ``every_seed``: the
        largest T up to which every seed learned every T of the grid (``None`` if not even
        the smallest); ``tried``: the largest T of the grid.
    """
    by_config = {}
    for r in sorted(rows, key=lambda r: r["T"]):
        by_config.setdefault(r["config"], []).append(r)
    return {config: {"better": max((r["T"] for r in runs if r["better_than_chance"]), default=None),
                     "every_seed": bridging_reach([r["T"] for r in runs], [r["test_acc"] for r in runs]) or None,
                     "tried": runs[-1]["T"]}
            for config, runs in by_config.items()}


def bridging_reach(Ts, acc, target=0.99):
    """The largest T such that every tested T' <= T was solved by every seed (accuracy >= ``target``); 0 if none.

    Parameters
    ----------
    Ts : sequence of int
        The lengths tested, ascending.
    acc : sequence of sequence of float
        The test accuracies of the seeds at each length.

    See chapter 6, section *How far each network bridges*.
    """
    reach = 0
    for T, accuracies in zip(Ts, acc):
        if min(accuracies) < target:
            break
        reach = T
    return reach


def bridging_data(target=0.99):
    """How far each network of the book bridges: test accuracy against T, per seed, from the committed sweeps.

    Returns
    -------
    dict of str to list of dict
        Two groups, ``"plain"`` (the FRN and the Jordan network, chapters 2 and 3) and
        ``"lstm"`` (the LSTM, chapters 4 to 6). Each entry has a ``key``, a ``label``, the
        ``budget`` of training sequences per run as configured, ``trained``: the largest
        number of sequences a run actually trained (above the budget when a method checks
        its target in steps), the lengths ``Ts`` that were run, ``acc``: the test accuracies
        of the seeds or trials at each length, ``reach`` (:func:`bridging_reach`) and
        ``best``: the largest tested T that at least one seed solved (0 if none), which can
        lie beyond the reach.

    See chapter 6, section *How far each network bridges*.
    """
    def entry(key, label, budget, trained, Ts, acc):
        solved = [T for T, accuracies in zip(Ts, acc) if max(accuracies) >= target]
        return dict(key=key, label=label, budget=int(budget), trained=int(trained), Ts=Ts, acc=acc,
                    reach=bridging_reach(Ts, acc, target), best=max(solved, default=0))

    def from_lag(name, config, label, key):
        result = load_results(name)
        rows = [r for r in summarise_lag_sweep(result) if r["config"] == config]
        budget = max(result["grid"]["checkpoints"]) * result["grid"]["batch_size"]
        return entry(key, label, budget, budget, [r["T"] for r in rows], [r["test_acc"] for r in rows])

    def from_runs(results, methods, label, key):
        runs = [r for result in results for r in result["runs"] if r["method"] in methods]
        Ts = sorted({r["T"] for r in runs})
        budget = max(result["settings"]["methods"][m].get("max_sequences", result["settings"]["max_sequences"])
                     for result in results for m in methods if m in result["settings"]["methods"])
        return entry(key, label, budget, max(r["sequences"] for r in runs), Ts,
                     [[r["test_acc"] for r in runs if r["T"] == T] for T in Ts])

    reach, why, long = load_results("rtrl_reach"), load_results("rtrl_why"), load_results("rtrl_long")
    exp3a = load_results("exp3a")
    rows = sorted((r for r in exp3a["rows"] if (r["T"], r["N"]) in ((100, 1), (1000, 3))), key=lambda r: r["T"])
    paper = entry("lstm1997", "1997 network, truncated RTRL online (N = 3 at T = 1000)",
                  exp3a["settings"]["max_sequences"], max(n for r in rows for n in r["sequences"]),
                  [r["T"] for r in rows], [[1.0 - m for m in r["misclassified"]] for r in rows])
    return {
        "plain": [from_lag("frn_lag", "uniform ±0.01", "FRN, weights ±0.01", "frn-001"),
                  from_lag("frn_lag", "uniform ±0.15", "FRN, weights ±0.15", "frn-015"),
                  from_lag("jordan_lag", "uniform ±0.15", "Jordan network, weights ±0.15", "jordan"),
                  from_lag("frn_lag", "orthogonal R", "FRN, orthogonal R (a remedy)", "frn-orthogonal")],
        "lstm": [from_runs([reach], ("bptt-batch",), "LSTM, full BPTT, batches", "bptt-batch"),
                 from_runs([reach], ("rtrl-batch",), "LSTM, truncated RTRL, batches", "rtrl-batch"),
                 from_runs([reach], ("rtrl-online",), "LSTM, truncated RTRL, online", "rtrl-online"),
                 from_runs([why, long], ("online Adam, full gradient", "bptt-online"), "LSTM, full gradient, online",
                           "full-online"),
                 paper],
    }


def bridging_table(groups):
    """The entries of :func:`bridging_data` as a MyST Markdown table: lengths run, budget, most trained, reach.

    Every length that was run is listed: the reach depends on all of them.

    See chapter 6, section *How far each network bridges*.
    """
    rows = [[e["label"], ", ".join(f"{T:,}" for T in e["Ts"]), f"{e['budget']:,}", f"{e['trained']:,}",
             f"{e['reach']:,}", f"{e['best']:,}"]
            for series in groups.values() for e in series]
    return markdown_table(["network and learning", "lengths $T$ run", "budget (sequences per run)",
                           "most sequences trained", "reach (every seed)", "longest solved by a seed"], rows)


# Chapter 3: the latching dilemma. FRNs trained on one length (10) or on lengths varying
# from batch to batch (10 to 13, as the 1997 paper varies them), then tested at many lengths.
LATCHING = {
    "I": 32, "batch_size": 32, "init_scale": 0.15, "eta": 0.3, "updates": 8000, "seeds": [0, 1, 2, 3, 4],
    "training_lengths": {"fixed": [10, 10], "varied": [10, 13]},
    "test_Ts": list(range(5, 21)) + [25, 30, 40, 60], "jacobian_T": 60,
}


def latching_run(kind, seed, settings=LATCHING):
    """Train one FRN on the lengths of ``kind``; test it at other lengths and record its dynamics.

    See chapter 3, *Vanishing gradients* (section *The latching dilemma*).

    Returns
    -------
    dict
        ``test_acc`` per test length, the four eigenvalues of ``R`` of largest modulus (as
        ``[real, imaginary]`` pairs), and the spectral norms of the Jacobians
        ``d a(t) / d a(1)``, t = 1 .. ``jacobian_T``, along one test sequence of each class
        (see :func:`rnnlab.training.analysis.hidden_jacobians`).
    """
    from rnnlab.training.analysis import hidden_jacobians, spectral_norms

    shortest, longest = settings["training_lengths"][kind]
    net = FullyRecurrentNetwork(1, settings["I"], 1, rng=seed, init_scale=settings["init_scale"])
    batches = generate_batches(shortest, settings["batch_size"], seed=1000 + seed, max_T=longest)
    train(net, batches, settings["updates"], settings["eta"], progress=False)
    eigenvalues = np.linalg.eigvals(net.R)
    top = eigenvalues[np.argsort(-np.abs(eigenvalues))[:4]]
    x, y = _fixed_set(settings["jacobian_T"], 8, EVAL_SEED + seed)
    jacobians = {label: spectral_norms(hidden_jacobians(net, x[np.flatnonzero(y[:, 0] == value)[0]])).tolist()
                 for label, value in (("class 1", 1.0), ("class 2", 0.0))}
    return dict(kind=kind, seed=seed, test_acc={T: evaluate(net, T, seed=EVAL_SEED + seed) for T in settings["test_Ts"]},
                eigenvalues=[[float(v.real), float(v.imag)] for v in top], jacobian_norms=jacobians)


def latching_sweep(out, settings=LATCHING, jobs=None, progress=True):
    """Every kind of training and seed of ``settings`` (``jobs`` workers); write the runs to ``out``.

    See chapter 3, *Vanishing gradients* (section *The latching dilemma*).
    """
    tasks = [(kind, seed, settings) for kind in settings["training_lengths"] for seed in settings["seeds"]]
    jobs = jobs or default_jobs()
    result = {"command": "python -m rnnlab sweep latching", "machine": machine_description(jobs), "settings": settings}
    start = time.time()
    result["runs"] = run_parallel(latching_run, tasks, jobs, progress, desc="latching")
    result["wall_seconds"] = round(time.time() - start, 1)
    write_json(out, result)
    return result


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
        "adam, course init": dict(
            label="the recipe with the assignment's initial weights (±0.01) and no gate biases",
            seeds=list(range(10)), overrides=dict(init_scale=0.01, model_kwargs={}),
        ),
        **{f"sgd, batches, eta {eta:g}": dict(
            label=f"gradient descent on batches of 32, learning rate {eta:g}, gate biases, at most 4000 updates",
            seeds=[0, 1, 2], overrides=dict(optimizer="sgd", eta=eta, clip=None, steps=4000),
        ) for eta in (1.0, 3.0, 10.0, 30.0)},
    },
}


def lstm_t100_run(method, seed, settings=LSTM_T100):
    """Train the LSTM on T = 100 with one method and seed; stop at 99.9 % validation accuracy.

    Validation is checked every ``check_every`` updates; the run ends there or after the
    method's maximum number of updates, and is scored on 1000 fresh test sequences.

    See chapter 4, *LSTM*.
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


def lstm_t100_summary(runs):
    """Figures of one method of the ``lstm-t100`` sweep.

    See chapter 4, *LSTM*.

    Returns
    -------
    dict
        ``seeds``, ``solved`` (runs that reached the validation target), the median, smallest
        and largest number of training sequences of the solved runs (``None`` if none), the
        smallest test accuracy, ``below_perfect`` (runs under 100 % on the test set) and the
        median and largest wall time in seconds.
    """
    sequences = [r["sequences"] for r in runs if r["solved"]]
    tests = [r["test_acc"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    return dict(
        seeds=len(runs), solved=len(sequences),
        median_sequences=float(np.median(sequences)) if sequences else None,
        min_sequences=min(sequences, default=None), max_sequences=max(sequences, default=None),
        min_test=min(tests), below_perfect=sum(t < 1.0 for t in tests),
        median_seconds=float(np.median(seconds)), max_seconds=max(seconds),
    )


def lstm_t100_table(result):
    """The ``lstm-t100`` sweep as a Markdown table, one row per method.

    See chapter 4, *LSTM*.
    """
    rows = []
    for method, runs in result["methods"].items():
        f = lstm_t100_summary(runs)
        sequences = (f"{f['median_sequences']:,.0f} ({f['min_sequences']:,} – {f['max_sequences']:,})"
                     if f["solved"] else "—")
        rows.append([result["settings"][method]["label"], f"{f['solved']}/{f['seeds']}", sequences,
                     f"{min(r['test_acc'] for r in runs):.3f}", f"{f['median_seconds']:.1f}"])
    return markdown_table(["method", "solved", "sequences to 99.9 %: median (range)", "lowest test accuracy",
                           "median seconds"], rows)


def lstm_t100_sweep(out, settings=LSTM_T100, jobs=None, progress=True):
    """Every method and seed of ``settings`` (``jobs`` workers); write the runs, settings and machine to ``out``.

    See chapter 4, *LSTM*.
    """
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


# Chapter 5, exercise ex-rtrl-train: how far truncated RTRL reaches, online and in batches,
# beside full BPTT.
# Both gradients run in compiled engines (pinned to the numpy classes by the tests), so a
# method's budget is the same number of training sequences whatever its speed.
_NETWORK = dict(I=32, init_scale=0.1, biases=True)
_ADAM = dict(optimizer="adam", eta=0.05, clip=1.0, batch_size=32)     # the recipe of chapters 4 and 5
# One sequence per update, as in 1997, with Adam at a learning rate scaled down for single
# sequences. Plain online gradient descent, the paper's optimiser, is slow with this network:
# at the paper's learning rate 1.0 and with the full gradient it needed 25,000-43,000
# sequences at T = 100 (chapter 4, results/lstm_t100.json), more than the budget below; at
# 0.03 with the truncated gradient it stays at chance at T = 200 (RTRL_WHY, "online SGD 0.03").
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


def truncation_gap(T, n=200, seed=0, cells=32):
    """How far the truncated gradient is from the full one at the recipe's initial weights.

    The course network (``cells`` cells, weights uniform in [-0.1, 0.1], the 1997 gate
    biases repeated over the cells, seed ``seed``) on ``n`` sequences of length ``T``
    (stream ``seed``): its gradient with the gates' input h(t-1) held constant (truncated
    BPTT, equal to truncated RTRL) and its full BPTT gradient, both compiled. The output
    layer's gradient is the same in both by construction, so the gates are also compared
    on their own.

    Returns
    -------
    dict
        ``cosine``, ``distance`` (:math:`\\lVert g_{trunc} - g \\rVert / \\lVert g \\rVert`)
        over all parameters; ``gate_cosine``, ``gate_distance`` over the parameters of
        z, i and o; ``per_parameter``: the relative distance of each parameter's gradient;
        ``output_share``: the fraction of :math:`\\lVert g \\rVert^2` in ``W_y`` and ``b_y``.

    See chapter 5, *Real-time recurrent learning* (section *Exact, and what the truncation
    costs*).
    """
    biases = {name: np.resize(values, cells) for name, values in PAPER_GATE_BIASES.items()}
    x, y = next(generate_batches(T, n, seed=seed))
    grads = []
    for truncate in (True, False):
        net = LSTM_Numba(1, cells, 1, rng=seed, init_scale=0.1, truncate=truncate, **biases)
        net.zero_grad()
        net.loss_and_gradient(x, y)
        grads.append({name: g.ravel().copy() for name, g in net.grads().items()})
    cut, full = grads
    gates = [name for name in full if name[0] in "zio"]

    def compare(names):
        a, b = (np.concatenate([g[name] for name in names]) for g in (cut, full))
        norm = max(np.linalg.norm(b), 1e-300)
        cosine = a @ b / max(np.linalg.norm(a), 1e-300) / norm
        return float(cosine), float(np.linalg.norm(a - b) / norm)

    cosine, distance = compare(list(full))
    gate_cosine, gate_distance = compare(gates)
    squares = {name: float(g @ g) for name, g in full.items()}
    return dict(
        T=T, cosine=cosine, distance=distance, gate_cosine=gate_cosine,
        gate_distance=gate_distance, per_parameter={name: compare([name])[1] for name in full},
        output_share=(squares["W_y"] + squares["b_y"]) / sum(squares.values()),
    )


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


def reach_pairs(result, T, method, baseline):
    """Training sequences of two methods at one T, paired by seed (the seeds both solved).

    Counts are multiples of the validation interval (800 sequences up to T = 100), so a
    ratio of medians can hide what the pairs show.

    Returns
    -------
    list of dict
        One per seed, in seed order: ``seed``, ``sequences`` (of ``method``), ``baseline``
        (of ``baseline``), ``difference`` (``sequences - baseline``) and ``ratio``.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    solved = {(r["method"], r["seed"]): r["sequences"] for r in result["runs"]
              if r["T"] == T and r["solved"] and r["method"] in (method, baseline)}
    seeds = sorted(seed for m, seed in solved if m == method and (baseline, seed) in solved)
    return [dict(seed=seed, sequences=solved[method, seed], baseline=solved[baseline, seed],
                 difference=solved[method, seed] - solved[baseline, seed],
                 ratio=solved[method, seed] / solved[baseline, seed]) for seed in seeds]


def largest_solved_T(result, method, at_least=None):
    """The largest T up to which ``method`` solved at least ``at_least`` runs (default: all) at every T.

    The lengths are taken in increasing order and the answer is the last one before the first
    that falls short (``None`` if the first does), so the next length tried is one where
    ``method`` fell short: a success at a larger T after a failure does not count. Lengths
    between two tried ones were not tried.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    rows = sorted((row for row in reach_summary(result) if row["method"] == method), key=lambda row: row["T"])
    best = None
    for row in rows:
        if row["solved"] < (row["runs"] if at_least is None else at_least):
            break
        best = row["T"]
    return best


def markdown_table(header, rows):
    """A Markdown (MyST) table: ``header`` a list of column titles, ``rows`` lists of cells (already formatted).

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
    """
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
