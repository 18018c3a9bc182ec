"""The generator contract of rnnlab/data.py (chapter 1)."""

import math

import numpy as np
import pytest

from rnnlab import DEFAULT_SEED, generate_batches, generate_data


def take(stream, n):
    xs, ys = zip(*(next(stream) for _ in range(n)))
    return np.stack(xs), np.stack(ys)


@pytest.mark.parametrize("T", [1, 2, 37])
def test_sample_shapes_and_dtype(T):
    x, y = next(generate_data(T))
    assert x.shape == (T, 1) and y.shape == (1,)
    assert x.dtype == np.float64 and y.dtype == np.float64


def test_batch_shapes():
    x, y = next(generate_batches(T=12, batch_size=5))
    assert x.shape == (5, 12, 1) and y.shape == (5, 1)


def test_stream_is_infinite_and_labels_are_binary():
    _, y = take(generate_data(3), 500)
    assert set(np.unique(y)) == {0.0, 1.0}


def test_same_seed_same_stream_and_different_seed_different_stream():
    a, b, c = generate_data(10, seed=5), generate_data(10, seed=5), generate_data(10, seed=6)
    xa, ya = take(a, 50)
    xb, yb = take(b, 50)
    xc, _ = take(c, 50)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(xa, xc)


def test_default_seed_is_deadbeef():
    assert DEFAULT_SEED == 0xDEADBEEF
    np.testing.assert_array_equal(take(generate_data(6), 20)[0], take(generate_data(6, seed=0xDEADBEEF), 20)[0])
    np.testing.assert_array_equal(
        next(generate_batches(6, 4))[0], next(generate_batches(6, 4, seed=0xDEADBEEF))[0]
    )


def test_global_rng_untouched_and_ignored():
    np.random.seed(123)
    before = np.random.get_state()
    first = take(generate_data(20), 10)[0]
    next(generate_batches(20, 3))
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    np.random.seed(999)  # a different global seed must not change the stream
    np.testing.assert_array_equal(first, take(generate_data(20), 10)[0])


def test_generator_instance_is_accepted_as_seed():
    rng = np.random.default_rng(3)
    x1 = take(generate_data(4, seed=rng), 3)[0]
    x2 = take(generate_data(4, seed=np.random.default_rng(3)), 3)[0]
    np.testing.assert_array_equal(x1, x2)


@pytest.mark.parametrize("N", [1, 3])
def test_first_N_elements_carry_the_class(N):
    x, y = take(generate_data(10, seed=1, N=N), 200)
    sign = 2 * y[:, 0] - 1  # +1 for class 1 (y = 1), -1 for class 2 (y = 0)
    np.testing.assert_array_equal(x[:, :N, 0], np.repeat(sign[:, None], N, axis=1))
    assert np.all(np.abs(x[:, N:, 0]) != 1.0)


def test_class_balance_and_noise_variance_within_sampling_error():
    """Tolerances are 4 standard errors of the estimators at this sample size."""
    n, T = 20_000, 50
    x, y = take(generate_data(T, seed=11), n)
    p = y.mean()
    assert abs(p - 0.5) < 4 * math.sqrt(0.25 / n), p

    noise = x[:, 1:, 0].ravel()
    m = noise.size
    assert abs(noise.mean()) < 4 * math.sqrt(0.2 / m)
    se_var = math.sqrt(2 / (m - 1)) * 0.2
    assert abs(noise.var(ddof=1) - 0.2) < 4 * se_var, noise.var(ddof=1)
    # The classic bug (standard deviation 0.2, variance 0.04) is hundreds of s.e. away.
    assert abs(0.04 - 0.2) > 100 * se_var


def test_batch_statistics_match_the_definition():
    B, T = 4000, 30
    x, y = next(generate_batches(T, B, seed=4))
    assert abs(y.mean() - 0.5) < 4 * math.sqrt(0.25 / B)
    noise = x[:, 1:, 0].ravel()
    assert abs(noise.var(ddof=1) - 0.2) < 4 * math.sqrt(2 / (noise.size - 1)) * 0.2
    np.testing.assert_array_equal(x[:, 0, 0], 2 * y[:, 0] - 1)


def test_variable_length_covers_T_to_T_plus_tenth():
    stream = generate_data(50, seed=2, variable_length=True)
    lengths = {next(stream)[0].shape[0] for _ in range(600)}
    assert lengths == set(range(50, 56))


@pytest.mark.parametrize(
    "T, error",
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), (10.0, TypeError), ("10", TypeError),
     (None, TypeError), (True, TypeError)],
)
def test_bad_T_is_refused_at_call_time(T, error):
    with pytest.raises(error, match=r"T must be a positive integer.*got"):
        generate_data(T)  # no next(): validation is eager
    with pytest.raises(error, match=r"T must be a positive integer"):
        generate_batches(T, 4)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(T=5, N=6), ValueError, r"N .* at most T = 5; got N = 6"),
        (dict(T=5, N=0), ValueError, r"N must be a positive integer"),
        (dict(T=5, seed="abc"), TypeError, r"seed must be None, a non-negative integer"),
        (dict(T=5, seed=-1), ValueError, r"non-negative integer; got -1"),
        (dict(T=5, seed=1.5), TypeError, r"got 1.5 \(float\)"),
    ],
)
def test_other_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        generate_data(**kwargs)


@pytest.mark.parametrize("B", [0, -1, 2.0])
def test_bad_batch_size(B):
    with pytest.raises((TypeError, ValueError), match="batch_size must be a positive integer"):
        generate_batches(10, B)


def test_batches_of_varying_length_cover_T_to_max_T():
    stream = generate_batches(10, 4, seed=3, max_T=13)
    shapes = {next(stream)[0].shape for _ in range(200)}
    assert shapes == {(4, T, 1) for T in range(10, 14)}
    fixed = generate_batches(10, 4, seed=3, max_T=10)                # max_T = T: the fixed-length stream
    np.testing.assert_array_equal(next(fixed)[0], next(generate_batches(10, 4, seed=3))[0])
    with pytest.raises(ValueError, match="max_T must be at least T = 10; got 9"):
        generate_batches(10, 4, max_T=9)
