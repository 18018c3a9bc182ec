"""rnnlab/models/lstm1997.py: the Experiment-3a network, its truncated-RTRL gradient and the stopping criteria."""

import numpy as np
import pytest

from conftest import numerical_gradient, relative_error
from rnnlab.models.lstm1997 import LSTM1997, count_weights, stopping_criteria


def sig(u):
    return 1 / (1 + np.exp(-u))


def recorded_inputs(w, w_out, x, C):
    """Forward pass of one network, column-vector form; returns the previous activations at each step."""
    y_prev, s, record = np.zeros(3 * C), np.zeros(C), []
    for x_t in x:
        record.append(y_prev.copy())
        net = w @ np.concatenate([[x_t], y_prev, [1.0]])
        g, y_in, y_out = 4 * sig(net[:C]) - 2, sig(net[C:2 * C]), sig(net[2 * C:])
        s = s + y_in * g
        y_c = y_out * (2 * sig(s) - 1)
        y_prev = np.concatenate([y_c, y_in, y_out])
    return record


def cut_error(w, w_out, x, y, record, C):
    """E at the last step with every recurrent input held at its recorded value (the truncation)."""
    s = np.zeros(C)
    for x_t, y_prev in zip(x, record):
        net = w @ np.concatenate([[x_t], y_prev, [1.0]])
        s = s + sig(net[C:2 * C]) * (4 * sig(net[:C]) - 2)
        y_c = sig(net[2 * C:]) * (2 * sig(s) - 1)
    return 0.5 * (sig(w_out @ y_c) - y) ** 2


def test_the_paper_architecture_has_102_weights():
    assert count_weights(3) == 102
    net = LSTM1997(1, rng=0)
    assert net.w.size + net.w_out.size == 102


def test_initialisation_follows_the_paper():
    net = LSTM1997(5, rng=0)
    np.testing.assert_array_equal(net.w[:, 3:6, -1], np.tile([-1.0, -3.0, -5.0], (5, 1)))
    np.testing.assert_array_equal(net.w[:, 6:9, -1], np.tile([-2.0, -4.0, -6.0], (5, 1)))
    assert np.abs(net.w[:, :, :-1]).max() <= 0.1 and np.abs(net.w_out).max() <= 0.1


def test_rtrl_gradient_equals_the_truncated_gradient(rng):
    N, C = 3, 3
    net = LSTM1997(N, cells=C, rng=rng, init_scale=1.0, input_bias=[0.5, -0.5, 1.0], output_bias=[1.0, 0.0, -1.0])
    x = rng.normal(size=(N, 9))
    lengths = np.array([9, 7, 8])
    y = np.array([1.0, 0.0, 1.0])
    dw, dw_out, error = net.gradient(x, lengths, y)
    for n in range(N):
        xs = x[n, :lengths[n]]
        record = recorded_inputs(net.w[n], net.w_out[n], xs, C)
        w, w_out = net.w[n].copy(), net.w_out[n].copy()
        assert error[n] == pytest.approx(cut_error(w, w_out, xs, y[n], record, C), rel=1e-12)
        assert relative_error(dw[n], numerical_gradient(lambda: cut_error(w, w_out, xs, y[n], record, C), w)) < 1e-8
        assert relative_error(dw_out[n], numerical_gradient(lambda: cut_error(w, w_out, xs, y[n], record, C), w_out)) < 1e-8


def test_predict_takes_each_sequence_at_its_own_end(rng):
    net = LSTM1997(2, rng=0, init_scale=1.0)
    x = rng.normal(size=(2, 3, 10))
    lengths = np.array([[10, 6, 8], [7, 10, 9]])
    full = np.stack([net.predict(x[..., :L], None) for L in range(1, 11)], axis=-1)   # (N, B, T)
    expected = np.take_along_axis(full, lengths[..., None] - 1, axis=-1)[..., 0]
    np.testing.assert_allclose(net.predict(x, lengths), expected, rtol=1e-12)


def test_stopping_criteria_on_hand_made_cases():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    st1, st2 = stopping_criteria(np.array([0.99, 0.01, 0.995, 0.005]), y)
    assert st1 and st2                                  # every error < 0.2, mean 0.0075 < 0.01
    st1, st2 = stopping_criteria(np.array([0.85, 0.15, 0.9, 0.1]), y)
    assert st1 and not st2                              # classified, but mean error 0.125
    st1, st2 = stopping_criteria(np.array([0.79, 0.0, 1.0, 0.0]), y)
    assert not st1 and not st2                          # one error of 0.21
    st1, st2 = stopping_criteria(np.array([[1.0, 0.0, 1.0, 0.0], [0.5, 0.0, 1.0, 0.0]]), y)
    np.testing.assert_array_equal(st1, [True, False])   # one row per network


def test_online_update_subtracts_the_gradient_of_the_active_networks(rng):
    net = LSTM1997(3, rng=rng, init_scale=1.0)
    w, w_out = net.w.copy(), net.w_out.copy()
    x, lengths, y = rng.normal(size=(3, 6)), np.array([6, 4, 5]), np.array([1.0, 0.0, 1.0])
    dw, dw_out, error = net.gradient(x, lengths, y)
    returned = net.online_update(x, lengths, y, lr=0.5, active=np.array([True, False, True]))
    np.testing.assert_array_equal(returned, error)
    np.testing.assert_array_equal(net.w[[0, 2]], w[[0, 2]] - 0.5 * dw[[0, 2]])
    np.testing.assert_array_equal(net.w_out[[0, 2]], w_out[[0, 2]] - 0.5 * dw_out[[0, 2]])
    np.testing.assert_array_equal(net.w[1], w[1])
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        net.online_update(x, lengths, y, lr=0.0)
