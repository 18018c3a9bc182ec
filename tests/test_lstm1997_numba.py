"""rnnlab/models/lstm1997_numba.py: the compiled engine equals the numpy reference LSTM1997 and the truncated gradient."""

import numpy as np
import pytest

from conftest import numerical_gradient, relative_error
from rnnlab.models.lstm1997 import LSTM1997, stopping_criteria
from rnnlab.models.lstm1997_numba import check_criteria, predict, train_sequences
from test_lstm1997 import cut_error, recorded_inputs


def sequences(rng, B, T, N=1):
    """B padded sequences of lengths in [T, T + T/10], the first N elements +-1 (the task's shape)."""
    lengths = rng.integers(T, T + T // 10 + 1, size=B)
    y = rng.integers(0, 2, size=B).astype(float)
    x = rng.normal(0.0, np.sqrt(0.2), size=(B, T + T // 10))
    x[:, :N] = (2 * y - 1)[:, None]
    x[np.arange(x.shape[1]) >= lengths[:, None]] = 0.0
    return x, lengths, y


@pytest.mark.parametrize("cells, T", [(3, 20), (2, 30)])
def test_weights_after_hundreds_of_online_updates_equal_the_numpy_engine(rng, cells, T):
    net = LSTM1997(1, cells=cells, rng=rng, input_bias=-np.arange(1, cells + 1.0), output_bias=-np.arange(2, cells + 2.0))
    w, w_out = net.w[0].copy(), net.w_out[0].copy()
    w_start = w.copy()
    x, lengths, y = sequences(rng, 400, T, N=3)
    steps = train_sequences(w, w_out, x, lengths, y, lr=1.0)
    for b in range(len(y)):
        net.online_update(x[b:b + 1], lengths[b:b + 1], y[b:b + 1], 1.0)
    assert steps == lengths.sum()
    assert np.abs(net.w[0] - w).max() <= 1e-12 and np.abs(net.w_out[0] - w_out).max() <= 1e-12
    assert np.abs(w - w_start).max() > 0.1                                   # it did learn something


def test_one_update_is_the_truncated_gradient_step(rng):
    """Oracle independent of both engines: central differences of the error with the recurrent inputs held fixed."""
    C = 3
    net = LSTM1997(1, rng=rng, init_scale=1.0, input_bias=[0.5, -0.5, 1.0], output_bias=[1.0, 0.0, -1.0])
    w, w_out = net.w[0].copy(), net.w_out[0].copy()
    x = rng.normal(size=(1, 9))
    train_sequences(w, w_out, x, np.array([8]), np.array([1.0]), lr=0.5)
    w0, w_out0 = net.w[0].copy(), net.w_out[0].copy()
    record = recorded_inputs(w0, w_out0, x[0, :8], C)
    dw = numerical_gradient(lambda: cut_error(w0, w_out0, x[0, :8], 1.0, record, C), w0)
    dw_out = numerical_gradient(lambda: cut_error(w0, w_out0, x[0, :8], 1.0, record, C), w_out0)
    assert relative_error((net.w[0] - w) / 0.5, dw) < 1e-8
    assert relative_error((net.w_out[0] - w_out) / 0.5, dw_out) < 1e-8


def test_predict_equals_the_numpy_reference(rng):
    net = LSTM1997(1, rng=rng, init_scale=1.0)
    x, lengths, _ = sequences(rng, 50, 40)
    np.testing.assert_allclose(predict(net.w[0], net.w_out[0], x, lengths), net.predict(x[None], lengths[None])[0],
                               rtol=1e-12)


def test_check_stops_early_and_agrees_with_the_full_evaluation(rng):
    x, lengths, y = sequences(rng, 64, 10)
    for scale in (0.1, 1.0, 3.0):                         # untrained networks: misclassify early
        net = LSTM1997(1, rng=rng, init_scale=scale)
        st1, st2, steps = check_criteria(net.w[0], net.w_out[0], x, lengths, y)
        assert (st1, st2) == tuple(stopping_criteria(net.predict(x[None], lengths[None]), y[None])[i][0] for i in (0, 1))
        assert steps < lengths.sum()
    net = LSTM1997(1, rng=0)                               # a trained network: ST2, every sequence evaluated
    w, w_out = net.w[0].copy(), net.w_out[0].copy()
    xs, ls, ys = sequences(np.random.default_rng(1), 6000, 10)
    train_sequences(w, w_out, xs, ls, ys)
    net.w[0], net.w_out[0] = w, w_out
    expected = stopping_criteria(net.predict(x[None], lengths[None]), y[None])
    assert check_criteria(w, w_out, x, lengths, y) == (expected[0][0], expected[1][0], lengths.sum())
    assert expected[0][0]


def test_bad_input_is_refused_with_a_clear_message():
    net = LSTM1997(1, rng=0)
    w, w_out = net.w[0].copy(), net.w_out[0].copy()
    x, lengths, y = np.zeros((2, 5)), np.array([5, 4]), np.array([1.0, 0.0])
    with pytest.raises(ValueError, match=r"expected w of shape \(3C, 3C \+ 2\).*got \(9, 10\)"):
        train_sequences(w[:, :10], w_out, x, lengths, y)
    with pytest.raises(TypeError, match="must be numpy arrays"):
        predict(w.tolist(), w_out, x, lengths)
    with pytest.raises(ValueError, match=r"expected lengths in \[1, 5\]; got 4 to 6"):
        predict(w, w_out, x, np.array([6, 4]))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, T_max\)"):
        predict(w, w_out, x[0], lengths)
    with pytest.raises(ValueError, match=r"expected y of shape \(2,\); got \(3,\)"):
        check_criteria(w, w_out, x, lengths, np.zeros(3))
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        train_sequences(w, w_out, x, lengths, y, lr=-1.0)
