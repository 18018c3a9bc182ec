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


def test_bridging_reach_needs_every_shorter_length_solved():
    from rnnlab.training.experiments import bridging_reach

    Ts = [1, 2, 5, 10, 20]
    assert bridging_reach(Ts, [[1.0, 1.0], [1.0, 0.995], [0.98, 1.0], [1.0, 1.0], [0.5, 0.5]]) == 2   # 10 not counted
    assert bridging_reach(Ts, [[1.0, 1.0]] * 5) == 20
    assert bridging_reach(Ts, [[0.9, 1.0]] + [[1.0, 1.0]] * 4) == 0
    assert bridging_reach([200, 500], [[0.99, 1.0], [0.999, 0.8]]) == 200


def fake_sweeps():
    """Tiny stand-ins for every results file bridging_data reads."""
    def lag(configs):
        grid = dict(FRN_LAG_GRID, configs={c: dict(init_scale=0.1, Ts=list(accs)) for c, accs in configs.items()},
                    etas=[0.5], checkpoints=[10, 20], seeds=[0, 1], batch_size=32, n_test=100)
        records = [dict(config=c, T=T, eta=0.5, seed=seed, val_acc=[a, a], test_acc=[a, a])
                   for c, accs in configs.items() for T, a in accs.items() for seed in (0, 1)]
        return dict(grid=grid, records=records)

    def runs(methods, results):
        settings = dict(max_sequences=20_000, methods={m: {} for m in methods})
        return dict(settings=settings, runs=[dict(T=T, method=m, test_acc=a, sequences=n) for T, m, a, n in results])

    uniform = {1: 1.0, 2: 1.0, 5: 0.6}
    return {
        "frn_lag": lag({"uniform ±0.01": uniform, "uniform ±0.15": {1: 1.0, 2: 0.9, 5: 1.0},
                        "orthogonal R": {5: 1.0, 10: 1.0}, "identity R": {5: 1.0}}),
        "jordan_lag": lag({"uniform ±0.15": uniform}),
        "rtrl_reach": runs(["bptt-batch", "rtrl-batch", "rtrl-online"],
                           [(T, m, 1.0 if T < 100 else 0.5, 800 if T < 100 else 22_400)
                            for m in ("bptt-batch", "rtrl-batch", "rtrl-online") for T in (1, 10, 100)]),
        "rtrl_why": runs(["online Adam, full gradient", "recipe"],
                         [(200, "online Adam, full gradient", 0.995, 3200), (200, "recipe", 1.0, 90_000)]),
        "rtrl_long": runs(["bptt-online"], [(500, "bptt-online", 0.999, 20_800), (1000, "bptt-online", 0.7, 22_400)]),
        "exp3a": dict(settings=dict(max_sequences=1_500_000), rows=[
            dict(T=100, N=3, misclassified=[0.5], sequences=[9]),
            dict(T=1000, N=3, misclassified=[0.001, 0.002], sequences=[300_000, 1_454_500]),
            dict(T=100, N=1, misclassified=[0.0, 0.003], sequences=[30_000, 80_000])]),
    }


def test_bridging_data_budgets_lengths_and_reach(monkeypatch):
    import rnnlab.training.experiments as experiments

    sweeps = fake_sweeps()
    monkeypatch.setattr(experiments, "load_results", lambda name: sweeps[name])
    groups = experiments.bridging_data()
    entries = {e["key"]: e for series in groups.values() for e in series}
    assert list(groups) == ["plain", "lstm"] and len(entries) == 9
    assert (entries["frn-001"]["reach"], entries["frn-015"]["reach"], entries["frn-orthogonal"]["reach"]) == (2, 1, 10)
    assert entries["frn-001"]["budget"] == entries["frn-001"]["trained"] == 20 * 32
    rtrl = entries["rtrl-online"]
    assert (rtrl["Ts"], rtrl["budget"], rtrl["trained"], rtrl["reach"]) == ([1, 10, 100], 20_000, 22_400, 10)
    full = entries["full-online"]                          # both files, only the full-gradient online method
    assert (full["Ts"], full["trained"], full["reach"]) == ([200, 500, 1000], 22_400, 500)
    assert full["best"] == 500 and (entries["frn-015"]["reach"], entries["frn-015"]["best"]) == (1, 5)
    paper = entries["lstm1997"]                            # N = 1 at T = 100, N = 3 at T = 1000
    assert paper["Ts"] == [100, 1000] and paper["acc"] == [[1.0, 0.997], [0.999, 0.998]]
    assert (paper["budget"], paper["trained"], paper["reach"]) == (1_500_000, 1_454_500, 1000)
    table = experiments.bridging_table(groups).splitlines()
    assert len(table) == 2 + 9
    assert "| LSTM, full gradient, online | 200, 500, 1,000 | 20,000 | 22,400 | 500 | 500 |" in table
    assert table[2].startswith("| FRN, weights ±0.01 | 1, 2, 5 |")
