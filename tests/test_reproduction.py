"""rnnlab/training/reproduction.py: the protocol of Experiment 3a, its two engines, the table and the paired test."""

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from rnnlab.__main__ import main
from rnnlab.models.lstm1997 import LSTM1997
from rnnlab.losses import sigmoid
from rnnlab.training.reproduction import (EXP3A, diagnosed_trials, exp3a_row, exp3a_table, exp3a_trace, exp3a_trials,
                                          final_snapshots, paired_test, resampled_mistakes, row_summary, snapshot,
                                          st1_st2_gaps, trace_table, trial_streams)

RESULTS = Path(__file__).resolve().parents[1] / "results"
SMALL = dict(EXP3A, max_sequences=10_000, check_every=250, n_final=400)


def test_the_two_engines_give_the_same_records():
    numba = exp3a_trials(10, 3, [0, 1, 2], SMALL, engine="numba")
    numpy = exp3a_trials(10, 3, [0, 1, 2], SMALL, engine="numpy")
    for a, b in zip(numba, numpy):
        for key in ("trial", "st1", "st2", "sequences", "train_steps", "misclassified"):
            assert a[key] == b[key], key
        assert np.abs(np.array(a["w"]) - b["w"]).max() <= 1e-10
        assert a["check_steps"] < b["check_steps"]          # the compiled check stops at the first mistake


def test_protocol_learns_a_short_lag_and_stops_at_st2():
    row = exp3a_row(5, 1, dict(SMALL, trials=2, max_sequences=20_000))
    assert all(s2 is not None for s2 in row["st2"])
    assert all(s1 <= s2 == n for s1, s2, n in zip(row["st1"], row["st2"], row["sequences"]))
    assert all(s % SMALL["check_every"] == 0 for s in row["st1"] + row["st2"])
    assert max(row["misclassified"]) < 0.01


def test_a_trial_is_the_same_whatever_runs_beside_it():
    alone = exp3a_trials(10, 1, [2], SMALL, engine="numpy")[0]
    together = exp3a_trials(10, 1, [0, 2], SMALL, engine="numpy")[1]
    assert (alone["st1"], alone["st2"], alone["w"]) == (together["st1"], together["st2"], together["w"])


def test_n1_and_n3_rows_are_paired():
    """Same trial: same initial weights, lengths, targets and noise; only elements 2..N carry the class."""
    (train1, test1), (train3, test3) = trial_streams(100, 1, 4), trial_streams(100, 3, 4)
    for _ in range(5):
        (x1, y1), (x3, y3) = next(train1), next(train3)
        assert len(x1) == len(x3) and y1 == y3
        np.testing.assert_array_equal(x1[3:], x3[3:])
        np.testing.assert_array_equal(x3[:3, 0], 2 * y3[0] - 1)
    np.testing.assert_array_equal(test1[1], test3[1])
    np.testing.assert_array_equal(test1[2], test3[2])
    np.testing.assert_array_equal(LSTM1997(1, rng=4).w, LSTM1997(1, rng=4).w)


def fake_result(st1_n3, st1_n1, max_sequences=1000):
    rows = [dict(T=100, N=n, trials=list(range(len(v))), st1=v, st2=v, misclassified=[0.0] * len(v))
            for n, v in ((3, st1_n3), (1, st1_n1))]
    return dict(settings=dict(EXP3A, max_sequences=max_sequences, check_every=10, n_final=100), rows=rows)


def test_paired_test_on_hand_made_counts():
    # six pairs, N = 3 faster in all: exact two-sided Wilcoxon p = 2 / 2^6, sign test p = 2 / 2^6
    result = paired_test(fake_result([10, 20, 30, 40, 50, 60], [11, 22, 33, 44, 55, 66]))
    assert (result["faster"], result["slower"], result["ties"]) == (6, 0, 0)
    assert result["wilcoxon_p"] == pytest.approx(2 / 64)
    assert result["sign_p"] == pytest.approx(2 / 64)
    assert result["median_ratio"] == pytest.approx(10 / 11)
    assert result["ratio_low"] == result["ratio_high"] == pytest.approx(10 / 11)
    assert result["coverage"] == pytest.approx(1 - 2 / 64)
    assert result["spearman"] == pytest.approx(1.0)                  # the counts rise together within pairs
    assert result["ratio_of_means"] == pytest.approx(10 / 11)
    assert result["means_low"] == pytest.approx(10 / 11) and result["means_high"] == pytest.approx(10 / 11)


def exact_mann_whitney(x, y):
    """Two-sided exact p of the rank-sum test by enumerating every split of the pooled values (no ties)."""
    pooled, n = np.concatenate([x, y]), len(x)

    def u(first):
        rest = [v for i, v in enumerate(pooled) if i not in first]
        return sum(a > b for a in (pooled[i] for i in first) for b in rest)

    observed, centre = u(range(n)), n * len(y) / 2
    splits = [u(first) for first in combinations(range(len(pooled)), n)]
    return np.mean([abs(s - centre) >= abs(observed - centre) for s in splits])


def test_paired_test_reports_what_pairing_is_worth():
    n3, n1 = [10, 20, 30, 40, 50, 60], [11, 22, 33, 44, 55, 66]
    result = paired_test(fake_result(n3, n1))
    assert result["mannwhitney_p"] == pytest.approx(exact_mann_whitney(np.array(n3), np.array(n1)))
    # counts that fall as their twins rise: perfectly anti-correlated pairs
    assert paired_test(fake_result(n3, n1[::-1]))["spearman"] == pytest.approx(-1.0)


def test_ratio_of_means_interval_is_a_seeded_paired_bootstrap():
    n3, n1 = [100, 300, 200, 900, 150, 120, 400, 80], [200, 250, 300, 210, 260, 240, 220, 230]
    a, b = paired_test(fake_result(n3, n1)), paired_test(fake_result(n3, n1))
    assert (a["means_low"], a["means_high"]) == (b["means_low"], b["means_high"])
    assert a["ratio_of_means"] == pytest.approx(np.mean(n3) / np.mean(n1))
    assert a["means_low"] < a["ratio_of_means"] < a["means_high"]
    assert min(x / y for x, y in zip(n3, n1)) <= a["means_low"]     # a mean ratio lies within the pair ratios
    assert a["means_high"] <= max(x / y for x, y in zip(n3, n1))
    other = paired_test(fake_result(n3, n1), rng=1)
    assert other["means_low"] != a["means_low"]


def test_resampled_mistakes_against_the_binomial():
    # every trial misclassifies at the same rate: the total over 10 x 2,560 sequences is Binomial(25,600, rate)
    result = fake_result([100] * 5, [100] * 5)
    rate = 5 / 25_600
    for row in result["rows"]:
        row["misclassified"] = [rate] * 5
    n3, n1 = resampled_mistakes(result, draws=40_000)
    assert (n3["paper_wrong"], n1["paper_wrong"], n3["paper_scored"]) == (5, 3, 25_600)
    assert n3["expected"] == pytest.approx(5.0)
    assert n3["p"] == pytest.approx(binom.cdf(5, 25_600, rate), abs=0.01)
    assert n1["p"] == pytest.approx(binom.cdf(3, 25_600, rate), abs=0.01)
    for row in result["rows"]:
        row["misclassified"] = [0.0] * 5
    assert [r["p"] for r in resampled_mistakes(result, draws=100)] == [1.0, 1.0]
    assert resampled_mistakes(result, draws=100, rng=3) == resampled_mistakes(result, draws=100, rng=3)


def test_st1_st2_gaps_finds_the_long_ones():
    result = fake_result([100, 200, 300, 400], [100, 100, 100, 100])
    result["rows"][0]["st2"] = [110, 210, 310, 900]         # gaps 10, 10, 10, 500: median 10
    n3, n1 = st1_st2_gaps(result)
    assert (n3["median"], n3["long"]) == (10.0, [(3, 500)])
    assert (n1["median"], n1["long"]) == (0.0, [])


def test_paired_test_counts_an_unreached_criterion_as_slowest():
    # pair 0: N = 3 never reached ST1 (slower), pair 1: neither (a tie, dropped), pair 2: N = 1 never did
    result = paired_test(fake_result([None, None, 50, 10, 20], [900, None, None, 20, 30]))
    assert (result["faster"], result["slower"], result["ties"]) == (3, 1, 1)
    assert result["sign_p"] == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    # ranks of |d|: 10, 10 (pairs 3, 4) -> 1.5 each; 1010 - 900 = 110 -> 3; 1010 - 50 = 960 -> 4; W- = 3
    assert result["wilcoxon_p"] > 0.05
    assert result["coverage"] is None                       # five pairs cannot give a 95 % interval


def test_row_summary_and_table():
    result = fake_result([100, 200, None], [300, 400, 500])
    result["rows"][0]["st2"] = [150, None, None]
    result["rows"][0]["misclassified"] = [0.01, 1.0, 1.0]
    summary = row_summary(result["rows"][0], result["settings"])
    assert summary["st1"] == dict(reached=2, trials=3, mean=150.0, median=150.0, min=100, max=200)
    assert summary["st2"]["reached"] == 1 and summary["misclassified"] == 0.01
    assert (summary["wrong"], summary["scored"]) == (1, 100)
    table = exp3a_table(result).splitlines()
    assert len(table) == 14 and all(line.startswith("|") and line.endswith("|") for line in table)
    assert "| trials reached | 2 of 3 | 3 of 3 |" in table
    assert "| ST1: paper, mean of 10 | 27,380 | 58,370 |" in table


def test_diagnosed_trials_picks_the_failures_and_the_slow_pairs():
    result = fake_result([100, 900, 300], [200, 250, 400])
    result["rows"][1]["st2"] = [200, None, 400]
    chosen = {(N, k): reason for _, N, k, reason in diagnosed_trials(result)}
    assert chosen == {(1, 1): "ST1 but not ST2, paired N = 1", (3, 1): "slow N = 3"}


def test_trace_reproduces_the_trial_and_logs_the_test_set():
    trace = exp3a_trace(10, 3, 1, SMALL, snapshots=5)
    record = exp3a_trials(10, 3, [1], SMALL)[0]
    assert {k: trace["record"][k] for k in ("st1", "st2", "w")} == {k: record[k] for k in ("st1", "st2", "w")}
    last = trace["snapshots"][-1]
    assert last["sequences"] == record["sequences"]
    assert last["misclassified"] == 0.0 and last["mean_error"] < 0.01          # stopped at ST2
    assert last["weight_norm"] == pytest.approx(np.sqrt(np.sum(np.square(record["w"])) + np.sum(np.square(record["w_out"]))))
    assert all(0 < g < 1 for g in last["input_gate_write"] + last["input_gate_noise"] + last["output_gate_end"])
    assert last["cell_bias"] == pytest.approx(np.array(record["w"])[:3, -1], abs=1e-6)


def test_snapshot_logs_biases_the_written_state_and_the_state_without_noise():
    net = LSTM1997(1, rng=3)
    w, w_out = net.w[0], net.w_out[0]
    _, (x, lengths, y) = trial_streams(12, 1, 0, dict(EXP3A, n_test=16))
    s = snapshot(w, w_out, (x, lengths, y), 1)
    assert s["cell_bias"] == pytest.approx(w[:3, -1], abs=1e-6)
    # after the first element: s_c(1) = y_in(1) g(net_c(1)), every unit seeing (x(1), 0, ..., 0, 1)
    u = np.zeros((len(x), 11))
    u[:, 0], u[:, -1] = x[:, 0], 1.0
    net_in = u @ w.T
    s1 = sigmoid(net_in[:, 3:6]) * (4 * sigmoid(net_in[:, :3]) - 2)
    assert s["state_written"] == pytest.approx(np.abs(s1).mean(axis=0), abs=1e-6)
    # a test set without noise: the two runs agree
    quiet = x.copy()
    quiet[:, 1:] = 0.0
    q = snapshot(w, w_out, (quiet, lengths, y), 1)
    assert q["state_quiet_class1"] == q["state_class1"] and q["state_quiet_class2"] == q["state_class2"]
    assert s["state_quiet_class1"] == q["state_class1"]


def test_final_snapshots_of_the_committed_row():
    result = json.loads((RESULTS / "exp3a.json").read_text())
    row = result["rows"][1]
    first = final_snapshots(result, row["T"], row["N"])[0]
    _, test = trial_streams(row["T"], row["N"], row["trials"][0])
    assert first["trial"] == row["trials"][0] and first["cell"] == int(np.argmax(np.abs(row["w_out"][0])))
    assert {k: v for k, v in first.items() if k not in ("trial", "cell")} == snapshot(
        np.array(row["w"][0]), np.array(row["w_out"][0]), test, row["N"])
    assert first["misclassified"] == 0.0                     # the trial stopped at ST2 on this test set
    with pytest.raises(ValueError, match=r"expected a row T = 7, N = 1; got rows"):
        final_snapshots(result, 7, 1)


def test_settings_and_command_line_refuse_bad_input(tmp_path, capsys):
    with pytest.raises(ValueError, match="max_sequences must be a multiple of check_every = 300; got 1000"):
        exp3a_trials(10, 1, [0], dict(SMALL, max_sequences=1000, check_every=300))
    with pytest.raises(ValueError, match=r"trials must be non-negative integer indices; got \[-1\]"):
        exp3a_trials(10, 1, [-1], SMALL)
    with pytest.raises(ValueError, match="engine must be 'numba' or 'numpy'; got 'torch'"):
        exp3a_trials(10, 1, [0], SMALL, engine="torch")
    assert main(["reproduce", "--N", "3", "--out", str(tmp_path / "x.json")]) == 2
    assert "--N selects a row together with --T" in capsys.readouterr().err
    assert main(["reproduce", "--T", "100", "--max-sequences", "1234", "--out", str(tmp_path / "x.json")]) == 2
    assert "max_sequences must be a multiple of check_every = 500; got 1234" in capsys.readouterr().err


def test_command_line_writes_a_row_with_its_speed(tmp_path):
    out = tmp_path / "row.json"
    assert main(["reproduce", "--T", "5", "--N", "1", "--trials", "2", "--max-sequences", "5000", "--jobs", "1",
                 "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["command"].startswith("python -m rnnlab reproduce --T 5")
    assert [(r["T"], r["N"], r["trials"]) for r in result["rows"]] == [(5, 1, [0, 1])]
    assert result["train_steps"] == sum(result["rows"][0]["train_steps"]) and result["steps_per_second"] > 0


def test_committed_table_is_regenerable():
    """Rerun the two fastest committed T = 100 trials from scratch: the file is what the command produces."""
    result = json.loads((RESULTS / "exp3a.json").read_text())
    assert result["settings"] == json.loads(json.dumps(EXP3A))
    assert [(r["T"], r["N"], len(r["trials"])) for r in result["rows"]] == [
        (row["T"], row["N"], EXP3A["trials"]) for row in EXP3A["rows"]]
    for row in result["rows"][:2]:
        k = int(np.argmin([np.inf if v is None else v for v in row["st2"]]))
        (rerun,) = exp3a_trials(row["T"], row["N"], [row["trials"][k]])
        for key in ("st1", "st2", "sequences", "train_steps", "misclassified", "w", "w_out"):
            assert rerun[key] == row[key][k], key


def test_committed_diagnostics_trace_the_committed_trials():
    """The traced trials are those diagnosed_trials picks, and their reruns end where the sweep's trials did."""
    result = json.loads((RESULTS / "exp3a.json").read_text())
    diagnostics = json.loads((RESULTS / "exp3a_diagnostics.json").read_text())
    assert [(t["T"], t["N"], t["trial"], t["reason"]) for t in diagnostics["trials"]] == diagnosed_trials(result)
    rows = {(r["T"], r["N"]): r for r in result["rows"]}
    for t in diagnostics["trials"]:
        row = rows[(t["T"], t["N"])]
        k = row["trials"].index(t["trial"])
        for key in ("st1", "st2", "sequences", "misclassified", "w", "w_out"):
            assert t["record"][key] == row[key][k], key
        assert t["snapshots"][-1]["sequences"] == row["sequences"][k]


def test_trace_table_names_the_cell_of_each_snapshot():
    diagnostics = json.loads((RESULTS / "exp3a_diagnostics.json").read_text())
    table = trace_table(diagnostics).splitlines()
    assert len(table) == 2 + 2 * len(diagnostics["trials"])
    assert all(line.count("|") == 10 for line in table)
    t = diagnostics["trials"][0]
    end = t["snapshots"][-1]
    cell = int(np.argmax(np.abs(end["w_out"]))) + 1
    assert table[3].startswith(f"| $T={t['T']}$, $N={t['N']}$, #{t['trial']} ({t['reason']}) | {end['sequences']:,} |")
    assert f" | {cell} | " in table[3]
