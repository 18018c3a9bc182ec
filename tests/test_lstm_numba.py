"""rnnlab/models/lstm_numba.py: the compiled BPTT engine is pinned to the numpy LSTM."""

import numpy as np
import pytest

from conftest import relative_error
from rnnlab import LSTM, DivergenceError, generate_batches
from rnnlab.models.lstm_numba import LSTM_Numba
from rnnlab.models.lstm_rtrl_numba import LSTM_RTRL_Numba


def pair(truncate=False, seed=5, D=2, I=4, K=2, scale=0.6):
    kwargs = dict(rng=seed, init_scale=scale, input_bias=-1.0, output_bias=-2.0, truncate=truncate)
    return LSTM(D, I, K, **kwargs), LSTM_Numba(D, I, K, **kwargs)


@pytest.mark.parametrize("truncate", [False, True])
@pytest.mark.parametrize("B, every_step", [(None, False), (3, False), (3, True)])
def test_gradient_equals_numpy(rng, truncate, B, every_step):
    ref, fast = pair(truncate)
    x = rng.normal(size=(B or 1, 11, 2))
    y = rng.random((B or 1, 11, 2)) if every_step else rng.random((B or 1, 2))
    if B is None:
        x, y = x[0], y[0]
    losses = []
    for net in (ref, fast):
        net.zero_grad()
        losses.append(net.loss_and_gradient(x, y))
    assert losses[1] == pytest.approx(losses[0], rel=1e-13)
    for name, g in ref.grads().items():
        assert relative_error(fast.grads()[name], g) <= 1e-12, name
    np.testing.assert_allclose(fast.predict(x), ref.predict(x), rtol=1e-13)


def test_truncated_bptt_equals_compiled_rtrl(rng):
    _, bptt = pair(truncate=True)
    rtrl = LSTM_RTRL_Numba(2, 4, 2, rng=5, init_scale=0.6, input_bias=-1.0, output_bias=-2.0)
    x, y = rng.normal(size=(3, 9, 2)), rng.random((3, 9, 2))
    for net in (bptt, rtrl):
        net.zero_grad()
        net.loss_and_gradient(x, y)
    for name, g in bptt.grads().items():
        assert relative_error(rtrl.grads()[name], g) <= 1e-12, name


def test_online_updates_agree_with_numpy():
    ref, fast = pair(D=1, I=8, K=1, scale=0.5)
    x, y = next(generate_batches(10, 300, seed=2))
    fast.sgd_online(x, y, eta=0.5)
    for q in range(300):
        ref.zero_grad()
        ref.loss_and_gradient(x[q], y[q])
        ref.update(0.5)
    assert max(float(np.abs(p - fast.params()[n]).max()) for n, p in ref.params().items()) <= 1e-12


def test_sgd_online_stops_at_divergence_and_refuses_bad_input():
    net = LSTM_Numba(1, 3, 1, rng=0, init_scale=0.5)
    x, y = next(generate_batches(5, 50, seed=0))
    with pytest.raises(DivergenceError, match="after sequence"):
        net.sgd_online(x, y, eta=1e3, max_weight=2.0)
    with pytest.raises(ValueError, match=r"x must have shape \(n, T, D\)"):
        net.sgd_online(x[0], y[0], eta=0.1)
