"""rnnlab/training/bench.py: the benchmark helpers run and report sane numbers (no timing assertions)."""

import numpy as np

from rnnlab.training.bench import exp3a_engine_times, peak_memory_kib, rtrl_step_times


def test_rtrl_step_times_smoke():
    sizes, times, slope = rtrl_step_times(sizes=(4, 8, 16, 32), batch=2, steps=5, repeats=1)
    assert sizes == [4, 8, 16, 32] and len(times) == 4
    assert all(t > 0 for t in times) and np.isfinite(slope)


def test_peak_memory_bptt_grows_rtrl_does_not():
    (short, r_short, b_short), (long, r_long, b_long) = peak_memory_kib(lengths=(50, 5000), cells=4, batch=2)
    assert b_long > 50 * b_short         # BPTT keeps every step
    assert r_long <= r_short + 16.0      # RTRL: the same buffers whatever T; one float per step would add 77 KiB


def test_engine_step_times_smoke():
    from rnnlab.training.bench import engine_step_times

    result = engine_step_times(T=5, cells=3, sequences=(2, 4), batch=2, repeats=1)
    assert (result["T"], result["cells"], result["batch_size"]) == (5, 3, 2)       # settings kept beside the times
    for mode in ("online", "batch"):
        row = result[mode]
        assert row["numpy"] > 0 and row["numba"] > 0
        assert row["speedup"] == row["numpy"] / row["numba"]


def test_rtrl_scaling_buffer_sizes_are_the_counted_ones():
    from rnnlab.training.bench import rtrl_scaling

    result = rtrl_scaling(sizes=(2, 4, 8), frn_up_to=4, steps=3, repeats=1, fit=((2, 4), (2, 8)))
    assert result["frn_kib"][:2] == [2 * 2 * 3 * 8 / 1024, 4 * 4 * 5 * 8 / 1024]    # I * I * (D + I) floats
    assert result["frn_us"][2] is None and result["frn_kib"][2] is None
    assert result["lstm_kib"] == [2 * n * (1 + n + 1) * 8 / 1024 for n in (2, 4, 8)]   # 2I * (D + I + 1)
    assert np.isfinite(result["frn_slope"]) and np.isfinite(result["lstm_slope"])


def test_exp3a_engine_times_smoke():
    result = exp3a_engine_times(trials=2, T=20, sequences=(2, 4), repeats=1)
    assert result["trials"] == 2 and result["numpy_us"] > 0 and result["numba_us"] > 0
    assert result["ratio"] == result["numpy_us"] / result["numba_us"]


def test_online_update_times_smoke():
    from rnnlab.training.bench import online_update_times

    result = online_update_times(T=5, cells=3, sequences=4, repeats=2)
    parts = ("data", "gradient", "checks", "adam")
    assert all(result[k] > 0 for k in parts + ("update", "sgd_online"))
    assert result["update"] == sum(result[k] for k in parts)
    assert (result["T"], result["cells"], result["sequences"]) == (5, 3, 4)
