"""rnnlab/training/experiments.py: the sweeps behind the book's measured claims."""

import json
from pathlib import Path

import pytest
from scipy.stats import binomtest

from rnnlab.training.experiments import FRN_LAG_GRID, JORDAN_LAG_GRID, lag_run, summarise_lag_sweep

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.mark.parametrize("name, grid, keys", [
    ("frn_lag", FRN_LAG_GRID, [("uniform ±0.01", 2, 0.3, 1), ("uniform ±0.15", 4, 1.0, 3), ("orthogonal R", 5, 3.0, 0)]),
    ("jordan_lag", JORDAN_LAG_GRID, [("uniform ±0.15", 2, 1.0, 2)]),
])
def test_committed_lag_sweeps_are_regenerable(name, grid, keys):
    """Rerun committed runs from scratch: the file is what the command produces."""
    result = json.loads((RESULTS / f"{name}.json").read_text())
    assert result["grid"] == json.loads(json.dumps(grid))
    runs = sum(len(spec["Ts"]) for spec in grid["configs"].values()) * len(grid["etas"]) * len(grid["seeds"])
    assert len(result["records"]) == runs
    for key in keys:
        committed = next(r for r in result["records"] if (r["config"], r["T"], r["eta"], r["seed"]) == key)
        assert lag_run(*key, grid=grid) == committed


def fake_result(val, test):
    """A sweep of one configuration, one T, two learning rates, two checkpoints and two seeds."""
    grid = dict(FRN_LAG_GRID, configs={"c": dict(init_scale=0.1, Ts=[7])}, etas=[0.5, 2.0], checkpoints=[10, 20],
                seeds=[0, 1], n_test=100)
    records = [dict(config="c", T=7, eta=eta, seed=seed, val_acc=val[eta][seed], test_acc=test[eta][seed])
               for eta in (0.5, 2.0) for seed in (0, 1)]
    return dict(grid=grid, records=records)


def test_selection_uses_validation_and_reports_test():
    val = {0.5: [[0.5, 0.6], [0.5, 0.7]], 2.0: [[0.9, 0.55], [0.8, 0.5]]}   # best: eta 2.0 at 10 updates
    test = {0.5: [[0.5, 0.99], [0.5, 0.99]], 2.0: [[0.61, 0.5], [0.55, 0.5]]}
    (row,) = summarise_lag_sweep(fake_result(val, test))
    assert (row["eta"], row["updates"]) == (2.0, 10)
    assert row["test_acc"] == [0.61, 0.55]
    assert row["p_value"] == pytest.approx(binomtest(116, 200, 0.5, alternative="greater").pvalue)
    assert row["better_than_chance"] == (row["p_value"] < 0.01)


def test_chance_level_runs_are_not_better_than_chance():
    val = {0.5: [[0.5, 0.5], [0.5, 0.5]], 2.0: [[0.5, 0.5], [0.5, 0.5]]}
    test = {0.5: [[0.5, 0.5], [0.49, 0.5]], 2.0: [[0.5, 0.5], [0.5, 0.5]]}
    (row,) = summarise_lag_sweep(fake_result(val, test))
    assert not row["better_than_chance"]


def tiny_reach(**changes):
    from rnnlab.training.experiments import RTRL_REACH

    settings = dict(RTRL_REACH, Ts=[3], seeds=[0], max_sequences=64, network=dict(I=4, init_scale=0.1, biases=True))
    return settings | changes


def test_reach_run_every_method_records_what_the_chapter_reads():
    from rnnlab.training.experiments import reach_run

    settings = tiny_reach()
    for method in settings["methods"]:
        record = reach_run(3, 0, method, settings)
        assert set(record) == {"T", "seed", "method", "solved", "sequences", "seconds", "test_acc", "diverged"}
        assert record["method"] == method and 0 < record["sequences"] <= 64
        assert record["solved"] == (record["sequences"] < 64 or record["solved"])
        assert 0.0 <= record["test_acc"] <= 1.0
        assert reach_run(3, 0, method, settings) | {"seconds": 0} == record | {"seconds": 0}   # deterministic


def test_reach_run_records_divergence_as_unsolved():
    from rnnlab.training.experiments import reach_run

    settings = tiny_reach(methods={"wild": dict(gradient="rtrl", optimizer="sgd", eta=1e4, clip=None,
                                                batch_size=1, init_scale=2.0)})
    record = reach_run(3, 0, "wild", settings)
    assert record["diverged"] and not record["solved"] and record["test_acc"] == 0.5


def test_reach_sweep_writes_settings_machine_and_summary(tmp_path):
    from rnnlab.training.experiments import largest_solved_T, markdown_table, reach_summary, reach_sweep

    settings = tiny_reach(Ts=[1, 2], methods={"rtrl-online": tiny_reach()["methods"]["rtrl-online"]})
    result = reach_sweep(tmp_path / "reach.json", settings, "tiny", jobs=1, progress=False)
    saved = json.loads((tmp_path / "reach.json").read_text())
    assert saved["command"] == "python -m rnnlab sweep tiny --jobs 1"
    assert "cores" in saved["machine"] and saved["wall_seconds"] >= 0
    assert len(saved["runs"]) == 2
    rows = reach_summary(result)
    assert [(r["T"], r["method"], r["runs"]) for r in rows] == [(1, "rtrl-online", 1), (2, "rtrl-online", 1)]
    solved = [r["solved"] == 1 for r in rows]
    expected = None if not solved[0] else 1 if not solved[1] else 2
    assert largest_solved_T(result, "rtrl-online") == expected
    assert markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n| --- | --- |\n| 1 | 2 |"


@pytest.mark.parametrize("key", [(5, 0, "rtrl-online"), (10, 1, "rtrl-batch"), (10, 2, "bptt-batch")])
def test_committed_reach_sweep_is_regenerable(key):
    """Rerun cheap committed runs of results/rtrl_reach.json: the same outcome (wall time aside)."""
    from rnnlab.training.experiments import reach_run

    result = json.loads((RESULTS / "rtrl_reach.json").read_text())
    committed = next(r for r in result["runs"] if (r["T"], r["seed"], r["method"]) == key)
    rerun = reach_run(*key, settings=result["settings"])
    assert rerun | {"seconds": 0} == committed | {"seconds": 0}


def test_truncation_gap_vanishes_at_T_1():
    """h(0) = 0 is constant, so at T = 1 there is nothing to truncate."""
    from rnnlab.training.experiments import truncation_gap

    gap = truncation_gap(1, n=8, cells=4)
    assert gap["distance"] == pytest.approx(0.0, abs=1e-12)
    assert gap["gate_distance"] == pytest.approx(0.0, abs=1e-12)
    assert gap["cosine"] == pytest.approx(1.0) and gap["gate_cosine"] == pytest.approx(1.0)


def test_truncation_gap_compares_the_gates_on_their_own():
    """Against the numpy LSTM's truncated and full BPTT gradients, computed here."""
    import numpy as np

    from rnnlab import LSTM, generate_batches
    from rnnlab.training.experiments import truncation_gap
    from rnnlab.training.train import PAPER_GATE_BIASES

    T, n, cells, seed = 12, 16, 4, 3
    gap = truncation_gap(T, n=n, seed=seed, cells=cells)
    x, y = next(generate_batches(T, n, seed=seed))
    biases = {name: np.resize(values, cells) for name, values in PAPER_GATE_BIASES.items()}
    grads = []
    for truncate in (True, False):
        net = LSTM(1, cells, 1, rng=seed, init_scale=0.1, truncate=truncate, **biases)
        net.zero_grad()
        net.loss_and_gradient(x, y)
        grads.append({name: g.copy() for name, g in net.grads().items()})
    cut, full = grads
    gates = [name for name in full if name[0] in "zio"]
    a = np.concatenate([cut[name].ravel() for name in gates])
    b = np.concatenate([full[name].ravel() for name in gates])
    assert gap["gate_distance"] == pytest.approx(np.linalg.norm(a - b) / np.linalg.norm(b), rel=1e-8)
    assert gap["gate_distance"] > 0.0
    assert gap["per_parameter"]["W_y"] == gap["per_parameter"]["b_y"] == 0.0
    share = sum(np.sum(full[k] ** 2) for k in ("W_y", "b_y")) / sum(np.sum(g ** 2) for g in full.values())
    assert gap["output_share"] == pytest.approx(share, rel=1e-8)
    # the output layer only dilutes the difference: over all parameters it is smaller
    assert gap["distance"] < gap["gate_distance"]


def test_largest_solved_T_stops_at_the_first_length_that_falls_short():
    """Hand-made: every seed up to T = 2, not at T = 5; a success at T = 10 after it does not count."""
    from rnnlab.training.experiments import largest_solved_T

    solved = {1: [True, True, True], 2: [True, True, True], 5: [True, False, True],
              10: [True, True, True], 20: [False, False, False]}
    runs = [dict(T=T, method="a", seed=seed, solved=ok, sequences=800, seconds=1.0, test_acc=1.0)
            for T, oks in solved.items() for seed, ok in enumerate(oks)]
    result = {"settings": {"Ts": [20, 10, 5, 2, 1], "max_sequences": 800, "methods": {"a": {}}},
              "runs": runs}
    assert largest_solved_T(result, "a") == 2
    assert largest_solved_T(result, "a", at_least=1) == 10
    assert largest_solved_T(result, "a", at_least=3) == 2
    runs[0]["solved"] = False                       # T = 1, seed 0
    assert largest_solved_T(result, "a") is None
    assert largest_solved_T(result, "a", at_least=2) == 10


def test_reach_pairs_pairs_by_seed_and_skips_unsolved_seeds():
    from rnnlab.training.experiments import reach_pairs

    runs = [dict(T=50, method="a", seed=0, solved=True, sequences=2400),
            dict(T=50, method="b", seed=0, solved=True, sequences=1600),
            dict(T=50, method="a", seed=1, solved=True, sequences=3200),
            dict(T=50, method="b", seed=1, solved=False, sequences=20000),
            dict(T=100, method="a", seed=0, solved=True, sequences=800),
            dict(T=50, method="b", seed=2, solved=True, sequences=800),
            dict(T=50, method="a", seed=2, solved=True, sequences=800)]
    pairs = reach_pairs({"runs": runs}, 50, "a", "b")
    assert [(p["seed"], p["sequences"], p["baseline"], p["difference"]) for p in pairs] == [
        (0, 2400, 1600, 800), (2, 800, 800, 0)]
    assert [p["ratio"] for p in pairs] == [1.5, 1.0]


def test_reach_pairs_of_the_committed_sweep():
    """The chapter's paired differences at T = 50, from results/rtrl_reach.json."""
    from rnnlab.training.experiments import reach_pairs

    result = json.loads((RESULTS / "rtrl_reach.json").read_text())
    pairs = reach_pairs(result, 50, "rtrl-batch", "bptt-batch")
    assert len(pairs) == 3 and all(p["difference"] % 800 == 0 for p in pairs)
