"""Reproduction of Experiment 3a of Hochreiter & Schmidhuber (1997): the paper's protocol, trial by trial.

    python -m rnnlab reproduce --jobs 2 --out results/exp3a.json       # the whole table
    python -m rnnlab reproduce --T 100 --N 1 --trials 3 --out row.json   # one row

Every trial k draws from its own seeds: initial weights ``k``, training stream ``1000 + k``,
256 test sequences ``5000 + k``, fresh sequences for the final score ``9000 + k``. The seeds
do not depend on N, so trial k of the N = 1 row and trial k of the N = 3 row start from the
same weights and see the same lengths, targets and noise (only elements 2 and 3 differ):
the two rows are *paired*. Two engines run the same protocol on the same data: ``numpy``
(:class:`~rnnlab.models.lstm1997.LSTM1997`, the trials vectorised) and ``numba``
(:mod:`rnnlab.models.lstm1997_numba`, one trial per process).

See chapter 6, *Reproducing Experiment 3a*.
"""

import numbers
import time

import numpy as np

from rnnlab._validation import as_generator, check_positive_int
from rnnlab.data import generate_data
from rnnlab.models.lstm1997 import LSTM1997, stopping_criteria
from rnnlab.training.experiments import machine_description, write_json
from rnnlab.training.parallel import default_jobs, run_parallel

__all__ = ["EXP3A", "PAPER", "PAPER_SCORED", "diagnosed_trials", "exp3a_diagnose", "exp3a_row", "exp3a_sweep",
           "exp3a_table", "exp3a_trace", "exp3a_trials", "final_snapshots", "paired_test", "resampled_mistakes",
           "row_summary", "snapshot", "st1_st2_gaps", "trace_table", "trial_streams"]

# Chapter 6: Experiment 3a of Hochreiter & Schmidhuber (1997), the paper's protocol.
EXP3A = {
    "rows": [dict(T=100, N=3), dict(T=100, N=1), dict(T=1000, N=3)],
    "trials": 30,
    "learning_rate": 1.0,
    "check_every": 500,
    "max_sequences": 1_500_000,
    "n_test": 256,
    "n_final": 10_000,
}

#: Table 4 of the paper, per row (T, N) -- mean sequences to ST1 and to ST2 over 10 trials, and the fraction
#: misclassified after ST2.
PAPER = {(100, 3): (27_380, 39_850, 0.000195), (100, 1): (58_370, 64_330, 0.000117),
         (1000, 3): (446_850, 452_460, 0.000078)}

#: How the paper took its final score -- each of its 10 trials on 2,560 further sequences after ST2
#: (its fractions are 5, 3 and 2 mistakes in 25,600).
PAPER_SCORED = dict(trials=10, per_trial=2_560)


def trial_streams(T, N, trial, settings=EXP3A):
    """The data of one trial: its training stream and its fixed test set (seeds ``1000 + trial``, ``5000 + trial``).

    Returns
    -------
    train : generator of (x, y)
        Sequences of length in [T, T + T/10] whose first N elements carry the class.
    test : tuple (x, lengths, y)
        ``settings["n_test"]`` sequences, x of shape (n_test, T + T // 10) zero-padded,
        lengths and y of shape (n_test,).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    train = generate_data(T, seed=1000 + trial, N=N, variable_length=True)
    test = _padded(generate_data(T, seed=5000 + trial, N=N, variable_length=True), settings["n_test"], T)
    return train, test


def _padded(stream, count, T):
    """``count`` sequences of a stream, zero-padded to T + T // 10: x (count, T_max), lengths, y (count,)."""
    x = np.zeros((count, T + T // 10))
    lengths = np.zeros(count, dtype=np.int64)
    y = np.zeros(count)
    for b in range(count):
        xs, ys = next(stream)
        x[b, :len(xs)] = xs[:, 0]
        lengths[b], y[b] = len(xs), ys[0]
    return x, lengths, y


def _check_settings(T, N, trials, settings):
    T, N = check_positive_int("T", T), check_positive_int("N", N)
    for key in ("learning_rate", "check_every", "max_sequences", "n_test", "n_final"):
        if key not in settings:
            raise ValueError(f"settings must have the keys of EXP3A; missing {key!r}")
    if settings["max_sequences"] % settings["check_every"]:
        raise ValueError(f"max_sequences must be a multiple of check_every = {settings['check_every']}; "
                         f"got {settings['max_sequences']}")
    if not all(isinstance(k, numbers.Integral) and k >= 0 for k in trials):
        raise ValueError(f"trials must be non-negative integer indices; got {list(trials)}")
    return T, N, [int(k) for k in trials]


def _record(T, N, trial, st1, st2, sequences, train_steps, check_steps, final_wrong, clock, w, w_out):
    seconds, cpu_seconds = time.perf_counter() - clock[0], time.process_time() - clock[1]
    return dict(T=T, N=N, trial=trial, st1=st1, st2=st2, sequences=sequences, train_steps=int(train_steps),
                check_steps=int(check_steps), misclassified=float(final_wrong), seconds=round(seconds / clock[2], 2),
                cpu_seconds=round(cpu_seconds / clock[2], 2), w=w.tolist(), w_out=w_out.tolist())


def _numba_trial(T, N, trial, settings, on_check=None):
    from rnnlab.models.lstm1997_numba import check_criteria, predict, train_sequences

    clock = (time.perf_counter(), time.process_time(), 1)
    init = LSTM1997(1, rng=trial)
    w, w_out = init.w[0].copy(), init.w_out[0].copy()
    train, test = trial_streams(T, N, trial, settings)
    st1 = st2 = None
    sequences = train_steps = check_steps = 0
    while sequences < settings["max_sequences"] and st2 is None:
        train_steps += train_sequences(w, w_out, *_padded(train, settings["check_every"], T),
                                       lr=settings["learning_rate"])
        sequences += settings["check_every"]
        ok1, ok2, steps = check_criteria(w, w_out, *test)
        check_steps += steps
        st1 = sequences if ok1 and st1 is None else st1
        st2 = sequences if ok2 else None
        if on_check is not None:
            on_check(sequences, w, w_out, test, st2 is not None or sequences == settings["max_sequences"])
    x, lengths, y = _padded(generate_data(T, seed=9000 + trial, N=N, variable_length=True), settings["n_final"], T)
    wrong = np.mean(np.abs(predict(w, w_out, x, lengths) - y) >= 0.2)
    return [_record(T, N, trial, st1, st2, sequences, train_steps, check_steps, wrong, clock, w, w_out)]


def _numpy_trials(T, N, trials, settings):
    n = len(trials)
    clock = (time.perf_counter(), time.process_time(), n)          # the vectorised trials share the time
    net = LSTM1997(n)
    for j, k in enumerate(trials):                        # trial k's weights, whatever the other trials
        init = LSTM1997(1, rng=k)
        net.w[j], net.w_out[j] = init.w[0], init.w_out[0]
    streams, tests = zip(*(trial_streams(T, N, k, settings) for k in trials))
    test_x, test_lengths, test_y = (np.stack(a) for a in zip(*tests))
    active = np.ones(n, dtype=bool)
    st1, st2 = [None] * n, [None] * n
    sequences, train_steps = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    for k in range(1, settings["max_sequences"] + 1):
        x, lengths, y = (np.stack(a)[:, 0] for a in zip(*(_padded(s, 1, T) for s in streams)))
        net.online_update(x, lengths, y, settings["learning_rate"], active)
        sequences += active
        train_steps += active * lengths
        if k % settings["check_every"]:
            continue
        ok1, ok2 = stopping_criteria(net.predict(test_x, test_lengths), test_y)
        for j in np.flatnonzero(active):
            st1[j] = k if ok1[j] and st1[j] is None else st1[j]
            if ok2[j]:
                st2[j], active[j] = k, False
        if not active.any():
            break
    finals = [_padded(generate_data(T, seed=9000 + k, N=N, variable_length=True), settings["n_final"], T)
              for k in trials]
    x, lengths, y = (np.stack(a) for a in zip(*finals))
    wrong = np.mean(np.abs(net.predict(x, lengths) - y) >= 0.2, axis=1)
    checks = sequences // settings["check_every"] * test_lengths.sum(axis=1)
    return [_record(T, N, k, st1[j], st2[j], int(sequences[j]), train_steps[j], checks[j], wrong[j], clock,
                    net.w[j], net.w_out[j]) for j, k in enumerate(trials)]


def exp3a_trials(T, N, trials, settings=EXP3A, engine="numba"):
    r"""Train the given trials of one row online with the paper's protocol; record ST1 and ST2.

    After every ``check_every`` training sequences (one update each, learning rate
    ``learning_rate``) the trial's 256 test sequences decide ST1 (none misclassified,
    ``|ŷ - y| < 0.2``) and ST2 (ST1 and mean ``|ŷ - y| < 0.01``); a trial that reaches ST2 stops
    learning. Then it is scored on ``n_final`` fresh sequences.

    Parameters
    ----------
    T, N : int
        Minimum length (lengths vary in [T, T + T/10]) and number of class-carrying elements.
    trials : sequence of int
        Trial indices (they choose the seeds, see the module docstring).
    settings : dict, default EXP3A
    engine : {"numba", "numpy"}
        Same protocol and data; ``numpy`` vectorises the trials, ``numba`` runs them one by one.

    Returns
    -------
    list of dict
        One record per trial: ``st1``, ``st2`` (sequences, a multiple of ``check_every``, or
        ``None`` if not reached within ``max_sequences``), ``sequences`` trained,
        ``train_steps`` and ``check_steps`` (time steps), ``misclassified`` (fraction of
        the fresh sequences), ``seconds`` and ``cpu_seconds`` (wall and processor time), and
        the final weights ``w`` (3C, U) and ``w_out`` (C,).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    T, N, trials = _check_settings(T, N, trials, settings)
    if engine == "numba":
        return [record for k in trials for record in _numba_trial(T, N, k, settings)]
    if engine == "numpy":
        return _numpy_trials(T, N, trials, settings)
    raise ValueError(f"engine must be 'numba' or 'numpy'; got {engine!r}")


def _row(T, N, records):
    keys = ("st1", "st2", "sequences", "train_steps", "check_steps", "misclassified", "seconds", "cpu_seconds", "w",
            "w_out")
    return dict(T=T, N=N, trials=[r["trial"] for r in records]) | {key: [r[key] for r in records] for key in keys}


def exp3a_row(T, N, settings=EXP3A, engine="numba", jobs=1, progress=False):
    """One row of Table 4 (``settings["trials"]`` trials): the per-trial records as lists.

    Returns
    -------
    dict
        ``T``, ``N``, ``trials`` and, per trial in that order, ``st1``, ``st2``, ``sequences``,
        ``train_steps``, ``check_steps``, ``misclassified``, ``seconds``, ``w`` and ``w_out``
        (see :func:`exp3a_trials`).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    return exp3a_sweep(None, dict(settings, rows=[dict(T=T, N=N)]), engine, jobs, progress)["rows"][0]


def exp3a_sweep(out, settings=EXP3A, engine="numba", jobs=None, progress=True, command="exp3a_sweep"):
    """Every row of ``settings`` through :func:`~rnnlab.training.parallel.run_parallel`; write to ``out`` (JSON).

    The numba engine makes one task per trial (the longest rows first, so the workers
    finish together), the numpy engine one task per row and worker, its trials vectorised.

    Returns
    -------
    dict
        ``command``, ``machine``, ``engine``, ``settings``, ``rows`` (see :func:`exp3a_row`),
        ``wall_seconds``, ``cpu_seconds`` (summed over the workers: the time on idle cores,
        whatever else ran), ``train_steps`` and ``steps_per_second`` (training steps of all
        trials per second of wall time).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    jobs = jobs or default_jobs()
    rows = [_check_settings(r["T"], r["N"], [], settings)[:2] for r in settings["rows"]]
    trials = list(range(check_positive_int("trials", settings["trials"])))
    if engine == "numba":
        groups = [[k] for k in trials]
    else:
        groups = [list(g) for g in np.array_split(trials, min(jobs, len(trials)))]
    tasks = sorted(((T, N, g, settings, engine) for T, N in rows for g in groups), key=lambda t: -t[0])
    machine = machine_description(jobs)
    started = time.perf_counter()
    records = [r for group in run_parallel(exp3a_trials, tasks, jobs, progress, desc="trials") for r in group]
    wall = time.perf_counter() - started
    steps = sum(r["train_steps"] for r in records)
    result = dict(command=command, machine=machine, engine=engine, settings=settings,
                  rows=[_row(T, N, sorted((r for r in records if (r["T"], r["N"]) == (T, N)),
                                          key=lambda r: r["trial"])) for T, N in rows],
                  wall_seconds=round(wall, 1), cpu_seconds=round(sum(r["cpu_seconds"] for r in records), 1),
                  train_steps=steps, steps_per_second=round(steps / wall))
    if out:
        write_json(out, result)
    return result


def _reached(values):
    return [v for v in values if v is not None]


def row_summary(row, settings=EXP3A):
    """Sequences to ST1 and ST2 of one row (mean, median, range, trials reached) and the final misclassification.

    Returns
    -------
    dict
        For ``"st1"`` and ``"st2"``: ``mean``, ``median``, ``min``, ``max`` over the trials that
        reached the criterion, ``reached`` and ``trials``; ``misclassified``: the mean over the
        trials that reached ST2 of the fraction of ``n_final`` fresh sequences misclassified,
        and ``wrong`` / ``scored``: the pooled counts behind it.

    See chapter 6, *Reproducing Experiment 3a*.
    """
    out = {}
    for key in ("st1", "st2"):
        done = _reached(row[key])
        out[key] = dict(reached=len(done), trials=len(row[key]))
        if done:
            out[key] |= dict(mean=float(np.mean(done)), median=float(np.median(done)), min=min(done), max=max(done))
    at_st2 = [m for m, s in zip(row["misclassified"], row["st2"]) if s is not None]
    out["misclassified"] = float(np.mean(at_st2)) if at_st2 else None
    out["wrong"] = int(round(sum(at_st2) * settings["n_final"]))
    out["scored"] = len(at_st2) * settings["n_final"]
    return out


def exp3a_table(result, paper=PAPER):
    """Our Table 4 beside the paper's, as a MyST Markdown table (one column per row of the paper).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    rows = result["rows"]
    summaries = [row_summary(r, result["settings"]) for r in rows]

    def line(label, cells):
        return f"| {label} | " + " | ".join(cells) + " |"

    def counts(key):
        def fmt(s, name):
            return f"{s[key][name]:,.0f}" if s[key]["reached"] else "–"
        return [line(f"{key.upper()}: ours, mean", [fmt(s, "mean") for s in summaries]),
                line("median", [fmt(s, "median") for s in summaries]),
                line("range", [f"{s[key]['min']:,}–{s[key]['max']:,}" if s[key]["reached"] else "–"
                               for s in summaries]),
                line("trials reached", [f"{s[key]['reached']} of {s[key]['trials']}" for s in summaries])]

    lines = [line("", [f"$T = {r['T']}$, $N = {r['N']}$" for r in rows]), "|---|" + "---:|" * len(rows),
             line("ST1: paper, mean of 10", [f"{paper[(r['T'], r['N'])][0]:,}" for r in rows]), *counts("st1"),
             line("ST2: paper, mean of 10", [f"{paper[(r['T'], r['N'])][1]:,}" for r in rows]), *counts("st2"),
             line("misclassified after ST2: paper", [f"{paper[(r['T'], r['N'])][2]:.6f}" for r in rows]),
             line("ours (mean over trials at ST2)",
                  [f"{s['misclassified']:.6f} ({s['wrong']} of {s['scored']:,})" if s["scored"] else "–"
                   for s in summaries])]
    return "\n".join(lines)


def resampled_mistakes(result, paper=PAPER, scored=PAPER_SCORED, draws=200_000, rng=0):
    """Could our trials, scored as the paper scored its own, make as few mistakes as the paper reports?

    The paper scored each of its ``scored["trials"]`` trials on ``scored["per_trial"]`` further
    sequences after ST2, so its fractions are k mistakes in ``trials * per_trial``. Each draw
    picks that many of our trials that reached ST2 (with replacement) and gives each
    ``per_trial`` sequences, misclassified independently with the rate the trial showed on its
    ``n_final`` fresh sequences (binomial); it counts how often the total is at most k.

    Parameters
    ----------
    result : dict
        A results file of :func:`exp3a_sweep`.
    paper, scored : dict
        The paper's Table 4 (:data:`PAPER`) and final score (:data:`PAPER_SCORED`).
    draws : int, default 200_000
    rng : None, int or numpy.random.Generator, default 0
        Source of the draws (seeded: the chapter's numbers are reproducible).

    Returns
    -------
    list of dict
        One per row: ``T``, ``N``, ``paper_wrong`` (k), ``paper_scored``, ``expected`` (our
        pooled rate times ``paper_scored``) and ``p`` (the fraction of draws with at most k
        mistakes).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    rng, draws = as_generator(rng), check_positive_int("draws", draws)
    trials, per_trial = scored["trials"], scored["per_trial"]
    out = []
    for row in result["rows"]:
        rates = np.array([m for m, s in zip(row["misclassified"], row["st2"]) if s is not None])
        if not len(rates):
            raise ValueError(f"row T = {row['T']}, N = {row['N']}: no trial reached ST2, nothing to resample")
        k = int(round(paper[(row["T"], row["N"])][2] * trials * per_trial))
        wrong = rng.binomial(per_trial, rates[rng.integers(0, len(rates), (draws, trials))]).sum(axis=1)
        out.append(dict(T=row["T"], N=row["N"], paper_wrong=k, paper_scored=trials * per_trial,
                        expected=float(rates.mean() * trials * per_trial), p=float(np.mean(wrong <= k))))
    return out


def paired_test(result, T=100, key="st1", ns=(3, 1), draws=20_000, rng=0):
    """N = 3 against N = 1 trial by trial (same weights and noise): Wilcoxon signed-rank and sign test.

    A trial that did not reach the criterion within the budget counts as slower than every
    trial that did (its count is set above the budget); a pair where neither reached it is a tie.
    Ties (equal counts) are dropped, as in Wilcoxon's original test. Beside the paired tests,
    what pairing is worth: the rank correlation of the two counts within pairs and the
    unpaired Mann–Whitney test of the same counts; and the ratio of the two rows' means,
    the statistic the paper's table gives, with a paired-bootstrap interval.

    Parameters
    ----------
    result : dict
        A results file of :func:`exp3a_sweep` with rows T, ``ns[0]`` and T, ``ns[1]``.
    T : int
    key : {"st1", "st2"}
    ns : pair of int
    draws : int, default 20_000
        Bootstrap resamples of the pairs.
    rng : None, int or numpy.random.Generator, default 0
        Source of the bootstrap (seeded: the chapter's numbers are reproducible).

    Returns
    -------
    dict
        ``pairs``, ``faster`` (pairs where N = ns[0] needed fewer sequences), ``slower``, ``ties``,
        ``wilcoxon_p`` and ``sign_p`` (two-sided), ``median_ratio`` of the paired counts
        (N = ns[0] over N = ns[1]) with a distribution-free interval of at least 95 %
        ``ratio_low``, ``ratio_high`` (order statistics, the sign test inverted) and its
        exact ``coverage`` (``None`` for fewer than 6 pairs); ``spearman`` and ``spearman_p``
        (rank correlation of the counts within pairs), ``mannwhitney_p`` (two-sided, the rows
        as independent samples); ``ratio_of_means`` (mean of the N = ns[0] counts over the
        mean of the N = ns[1] counts) with a 95 % percentile interval ``means_low``,
        ``means_high`` from ``draws`` resamples of whole pairs.

    See chapter 6, *Reproducing Experiment 3a*.
    """
    from scipy.stats import binom, binomtest, mannwhitneyu, spearmanr, wilcoxon

    rows = {r["N"]: r for r in result["rows"] if r["T"] == T}
    if any(n not in rows for n in ns):
        raise ValueError(f"expected rows T = {T} with N in {list(ns)}; got N in {sorted(rows)}")
    a, b = rows[ns[0]], rows[ns[1]]
    if a["trials"] != b["trials"]:
        raise ValueError(f"expected the same trials in both rows; got {a['trials']} and {b['trials']}")
    rng, draws = as_generator(rng), check_positive_int("draws", draws)
    beyond = result["settings"]["max_sequences"] + result["settings"]["check_every"]
    x = np.array([beyond if v is None else v for v in a[key]], dtype=float)
    y = np.array([beyond if v is None else v for v in b[key]], dtype=float)
    d = x - y
    faster, slower = int(np.sum(d < 0)), int(np.sum(d > 0))
    ratios = np.sort(x / y)
    n = len(ratios)
    k = int(np.sum(binom.cdf(np.arange(n), n, 0.5) <= 0.025))     # largest k with P(Bin(n, 1/2) < k) <= 2.5 %
    interval = (float(ratios[k - 1]), float(ratios[n - k]), float(1 - 2 * binom.cdf(k - 1, n, 0.5))) if k else (
        None, None, None)
    pairs = rng.integers(0, n, size=(draws, n))                   # resample whole pairs
    boot = x[pairs].mean(axis=1) / y[pairs].mean(axis=1)
    rho = spearmanr(x, y)
    return dict(T=T, key=key, pairs=n, faster=faster, slower=slower, ties=n - faster - slower,
                wilcoxon_p=float(wilcoxon(x, y, zero_method="wilcox").pvalue) if faster + slower else 1.0,
                sign_p=float(binomtest(faster, faster + slower, 0.5).pvalue) if faster + slower else 1.0,
                median_ratio=float(np.median(ratios)), ratio_low=interval[0], ratio_high=interval[1],
                coverage=interval[2], spearman=float(rho.statistic), spearman_p=float(rho.pvalue),
                mannwhitney_p=float(mannwhitneyu(x, y, alternative="two-sided").pvalue),
                ratio_of_means=float(x.mean() / y.mean()), means_low=float(np.percentile(boot, 2.5)),
                means_high=float(np.percentile(boot, 97.5)))


def st1_st2_gaps(result, gap_factor=10):
    """Sequences from ST1 to ST2 in each row, and the trials whose gap is long.

    Returns
    -------
    list of dict
        One per row: ``T``, ``N``, ``median`` gap over the trials that reached both criteria,
        and ``long``: a list of ``(trial, gap)`` for the trials whose gap exceeds
        ``gap_factor`` times the median.

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    out = []
    for row in result["rows"]:
        gaps = [(k, b - a) for k, a, b in zip(row["trials"], row["st1"], row["st2"]) if a is not None and b is not None]
        median = float(np.median([g for _, g in gaps])) if gaps else None
        out.append(dict(T=row["T"], N=row["N"], median=median,
                        long=[(k, g) for k, g in gaps if g > gap_factor * median] if gaps else []))
    return out


def _test_run(net, x, lengths, N):
    """Run one network over padded test sequences: final states, gates and outputs, and the state after t = N."""
    C, (B, T_max) = net.C, x.shape
    y_prev, s = net._zero_state(B)
    s_end, out_end, y_hat, s_written = np.zeros((B, C)), np.zeros((B, C)), np.zeros(B), np.zeros((B, C))
    in_write, in_rest, rest_count = np.zeros(C), np.zeros(C), 0
    for t in range(T_max):
        _, y_out, s, _, _, out, y_prev = net._step(x[None, :, t], y_prev, s)
        y_in = y_prev[0, :, C:2 * C]                                          # (B, C)
        live = t < lengths
        if t < N:
            in_write += y_in.mean(axis=0) / N
        else:
            in_rest += y_in[live].sum(axis=0)
            rest_count += live.sum()
        if t == N - 1:
            s_written = s[0].copy()
        end = lengths - 1 == t
        s_end[end], out_end[end], y_hat[end] = s[0, end], y_out[0, end], out[0, end]
    return dict(s_end=s_end, out_end=out_end, y_hat=y_hat, s_written=s_written, in_write=in_write,
                in_noise=in_rest / max(rest_count, 1))


def snapshot(w, w_out, test, N):
    """What one network does on its test set: errors, weight norms, cell states and gate activations.

    The test set is run twice: as it is, and with the noise zeroed (every element after the
    first N set to 0), which separates what the noise does to a cell state from what the
    network's own weights do (a bias on the cell input, for instance, makes the state drift
    whatever the input).

    Parameters
    ----------
    w, w_out : ndarray of shape (3C, U) and (C,)
        The network's weights (as ``LSTM1997.w[n]``, ``LSTM1997.w_out[n]``).
    test : tuple (x, lengths, y)
        Test sequences as :func:`trial_streams` returns them.
    N : int
        Class-carrying elements (the input gate is averaged over t <= N and t > N apart).

    Returns
    -------
    dict
        The quantities listed in :func:`exp3a_trace` (per-cell values as lists of C numbers).

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    x, lengths, y = test
    net = LSTM1997(1)
    net.w[0], net.w_out[0] = w, w_out
    C = net.C
    run = _test_run(net, x, lengths, N)
    quiet_x = np.array(x, dtype=float)
    quiet_x[:, N:] = 0.0                                   # the class elements only, no noise
    quiet = _test_run(net, quiet_x, lengths, N)["s_end"]
    s_end, error = run["s_end"], np.abs(run["y_hat"] - y)
    one, zero = y == 1.0, y == 0.0

    def cells(a):
        return [round(float(v), 6) for v in a]

    return dict(
        misclassified=float(np.mean(error >= 0.2)), mean_error=float(error.mean()),
        weight_norm=float(np.sqrt(np.sum(w ** 2) + np.sum(w_out ** 2))), w_out=cells(w_out),
        cell_bias=cells(w[:C, -1]), input_bias=cells(w[C:2 * C, -1]), output_bias=cells(w[2 * C:, -1]),
        state_written=cells(np.abs(run["s_written"]).mean(axis=0)),
        state_class1=cells(s_end[one].mean(axis=0)), state_class2=cells(s_end[zero].mean(axis=0)),
        state_spread=cells(np.sqrt(0.5 * (s_end[one].var(axis=0) + s_end[zero].var(axis=0)))),
        state_quiet_class1=cells(quiet[one].mean(axis=0)), state_quiet_class2=cells(quiet[zero].mean(axis=0)),
        input_gate_write=cells(run["in_write"]), input_gate_noise=cells(run["in_noise"]),
        output_gate_end=cells(run["out_end"].mean(axis=0)),
    )


def final_snapshots(result, T, N):
    """:func:`snapshot` of every trial's final network in one row of a results file, on its own test set.

    Returns
    -------
    list of dict
        One snapshot per trial, in the row's order, each with ``trial`` and ``cell``: the
        cell the output unit weighs most (largest ``|w_out|``).

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    rows = {(r["T"], r["N"]): r for r in result["rows"]}
    if (T, N) not in rows:
        raise ValueError(f"expected a row T = {T}, N = {N}; got rows {sorted(rows)}")
    row, settings = rows[(T, N)], result["settings"]
    out = []
    for k, w, w_out in zip(row["trials"], row["w"], row["w_out"]):
        _, test = trial_streams(T, N, k, settings)
        out.append(dict(trial=k, cell=int(np.argmax(np.abs(w_out)))) | snapshot(np.array(w), np.array(w_out), test, N))
    return out


def exp3a_trace(T, N, trial, settings=EXP3A, snapshots=200):
    """Rerun one trial of the numba engine and log what its network does on the test set over training.

    The training is that of :func:`exp3a_trials` (same data, same chunks, same updates);
    every ``check_every`` multiple chosen so that at most about ``snapshots`` are taken, and at
    the end, the trial's 256 test sequences are run through the numpy reference
    :class:`~rnnlab.models.lstm1997.LSTM1997` and the snapshot records: the misclassified
    fraction and mean absolute error, the norm of all weights, the output weights
    (``w_out``), the biases of the cell inputs and the gates (``cell_bias``, ``input_bias``,
    ``output_bias``), and per cell: the mean :math:`|s_c|` once the class is written
    (t = N, ``state_written``), the mean final cell state :math:`s_c` for each class
    (``state_class1``, ``state_class2``) and its spread within a class (``state_spread``),
    the same means with the noise zeroed (``state_quiet_class1``, ``state_quiet_class2``),
    the mean input-gate activation while the class is written (t <= N, ``input_gate_write``)
    and during the noise (t > N, ``input_gate_noise``), and the mean output-gate activation
    at the last step (``output_gate_end``).

    Returns
    -------
    dict
        ``record`` (as :func:`exp3a_trials` returns it) and ``snapshots``: a list of dicts with
        ``sequences`` and the quantities above.

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    T, N, _ = _check_settings(T, N, [trial], settings)
    every = settings["check_every"] * max(1, -(-settings["max_sequences"] // (settings["check_every"] * snapshots)))
    log = []

    def on_check(sequences, w, w_out, test, last):
        if sequences % every == 0 or last:
            log.append(dict(sequences=sequences) | snapshot(w, w_out, test, N))

    record = _numba_trial(T, N, trial, settings, on_check)[0]
    return dict(record=record, snapshots=log)


def diagnosed_trials(result, gap_factor=10):
    """The trials whose failures chapter 6 diagnoses, with the reason each was chosen.

    - every trial that reached ST1 but not ST2 within the budget;
    - every T = 100 trial that needed more than ``gap_factor`` times its row's median number
      of sequences between ST1 and ST2 ("long ST1 to ST2");
    - every T = 100, N = 3 trial that needed more sequences to ST1 than the slowest N = 1
      trial ("slow N = 3"), with its paired N = 1 trial (same weights and noise).

    The T = 1000 rows are traced only for the first reason: a trace reruns the whole trial,
    and a slow trial there takes minutes of processor time.

    Returns
    -------
    list of tuple (T, N, trial, reason)

    See chapter 6, *Reproducing Experiment 3a*.
    """
    chosen = []
    for row, gaps in zip(result["rows"], st1_st2_gaps(result, gap_factor)):
        long = dict(gaps["long"])
        for k, st1, st2 in zip(row["trials"], row["st1"], row["st2"]):
            if st1 is not None and st2 is None:
                chosen.append((row["T"], row["N"], k, "ST1 but not ST2"))
            elif row["T"] == 100 and k in long:
                chosen.append((row["T"], row["N"], k, "long ST1 to ST2"))
    rows = {(r["T"], r["N"]): r for r in result["rows"]}
    if (100, 3) in rows and (100, 1) in rows:
        budget = result["settings"]["max_sequences"] + 1
        slowest = max(budget if v is None else v for v in rows[(100, 1)]["st1"])
        for k, st1 in zip(rows[(100, 3)]["trials"], rows[(100, 3)]["st1"]):
            if (budget if st1 is None else st1) > slowest:
                chosen += [(100, 3, k, "slow N = 3"), (100, 1, k, "paired N = 1")]
    unique = {}
    for T, N, k, reason in chosen:
        unique.setdefault((T, N, k), []).append(reason)
    return [(T, N, k, ", ".join(reasons)) for (T, N, k), reasons in unique.items()]


def trace_table(diagnostics):
    """The traced trials of :func:`exp3a_diagnose` halfway and at the end, as a MyST Markdown table.

    Each line names the cell the output unit weighs most in that snapshot (largest
    ``|w_out|``, cells numbered from 1 as in the gate biases -1, -3, -5), which can change
    along training, and gives that cell's state per class, its spread, its input gate
    during the noise and its output gate at the end.

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    lines = ["| trial | sequences | misclassified | mean error | weight norm | cell | $s_c$, class 1 / 2 | spread | "
             "$y^{in}$ noise / $y^{out}$ end |", "|" + "---|" * 9]
    for t in diagnostics["trials"]:
        for s in (t["snapshots"][len(t["snapshots"]) // 2], t["snapshots"][-1]):     # halfway and at the end
            c = int(np.argmax(np.abs(s["w_out"])))
            lines.append(f"| $T={t['T']}$, $N={t['N']}$, #{t['trial']} ({t['reason']}) | {s['sequences']:,} | "
                         f"{s['misclassified']:.3f} | {s['mean_error']:.3f} | {s['weight_norm']:.1f} | {c + 1} | "
                         f"{s['state_class1'][c]:.1f} / {s['state_class2'][c]:.1f} | {s['state_spread'][c]:.2f} | "
                         f"{s['input_gate_noise'][c]:.3f} / {s['output_gate_end'][c]:.3f} |")
    return "\n".join(lines)


def exp3a_diagnose(results, out, settings=None, jobs=None, progress=True, command="exp3a_diagnose"):
    """Trace (:func:`exp3a_trace`) the trials :func:`diagnosed_trials` picks from a results file; write ``out``.

    See chapter 6, *Reproducing Experiment 3a* (section *Two ways to fail*).
    """
    import json

    with open(results) as f:
        result = json.load(f)
    settings = settings or result["settings"]
    chosen = diagnosed_trials(result)
    started = time.perf_counter()
    traces = run_parallel(exp3a_trace, [(T, N, k, settings) for T, N, k, _ in chosen], jobs, progress, desc="traces")
    out_result = dict(command=command, machine=machine_description(jobs or default_jobs()), results=str(results),
                      trials=[dict(T=T, N=N, trial=k, reason=reason) | trace
                              for (T, N, k, reason), trace in zip(chosen, traces)],
                      wall_seconds=round(time.perf_counter() - started, 1))
    write_json(out, out_result)
    return out_result
