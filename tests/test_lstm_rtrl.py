"""rnnlab/models/lstm_rtrl.py: truncated RTRL equals BPTT with truncate=True; buffers; memory flat in T."""

import tracemalloc

import numpy as np
import pytest

from conftest import relative_error
from rnnlab import LSTM, LSTM_RTRL


def pair(seed=5, D=2, I=4, K=2, scale=0.6):
    bptt = LSTM(D, I, K, rng=seed, init_scale=scale, truncate=True)
    rtrl = LSTM_RTRL(D, I, K, rng=seed, init_scale=scale)
    return bptt, rtrl


def test_same_seed_gives_the_same_network_as_lstm():
    bptt, rtrl = pair()
    assert list(rtrl.params()) == list(bptt.params())
    for name, p in bptt.params().items():
        np.testing.assert_array_equal(rtrl.params()[name], p)


@pytest.mark.parametrize("B, every_step", [(None, False), (None, True), (3, False), (3, True)])
def test_rtrl_gradient_equals_truncated_bptt(rng, B, every_step):
    bptt, rtrl = pair()
    T = 9
    x = rng.normal(size=(B or 1, T, 2))
    y = rng.random((B or 1, T, 2))
    targets = y if every_step else y[:, -1]
    bptt.zero_grad()
    loss_bptt = bptt.forward(x[0] if B is None else x, targets[0] if B is None else targets)
    bptt.backward()

    rtrl.zero_grad()
    rtrl.reset(B)
    loss_rtrl = 0.0
    for t in range(T):
        rtrl.forward(x[0, t] if B is None else x[:, t])
        if every_step or t == T - 1:
            loss_rtrl += rtrl.backward(y[0, t] if B is None else y[:, t])
    assert loss_rtrl == pytest.approx(loss_bptt, rel=1e-12)
    for name, g in bptt.grads().items():
        assert relative_error(rtrl.grads()[name], g) <= 1e-10, name


def test_truncated_gradient_differs_from_the_full_one(rng):
    full = LSTM(1, 4, 1, rng=1, init_scale=0.6)
    cut = LSTM(1, 4, 1, rng=1, init_scale=0.6, truncate=True)
    x, y = rng.normal(size=(2, 8, 1)), np.array([[1.0], [0.0]])
    for m in (full, cut):
        m.forward(x, y)
        m.backward()
    assert relative_error(full.z.dR, cut.z.dR) > 1e-3      # h(t-1) matters for the recurrent weights
    np.testing.assert_allclose(full.dW_y, cut.dW_y)         # the output layer is untouched by the cut


def test_reset_clears_state_and_buffers(rng):
    _, rtrl = pair()
    rtrl.reset(2)
    for _ in range(5):
        rtrl.forward(rng.normal(size=(2, 2)))
    assert np.abs(rtrl.S).max() > 0 and np.abs(rtrl.c).max() > 0
    rtrl.reset(2)
    assert not rtrl.S.any() and not rtrl.c.any() and not rtrl.h.any()
    first = rtrl.forward(np.ones((2, 2)))
    rtrl.reset(2)
    np.testing.assert_array_equal(rtrl.forward(np.ones((2, 2))), first)


def test_buffer_size_is_2_I_U_per_sequence():
    net = LSTM_RTRL(3, 5, 1, rng=0)
    net.reset(4)
    assert net.S.shape == (4, 2 * 5, 3 + 5 + 1)


def peak_bytes(T, I=16):
    rng = np.random.default_rng(0)
    net = LSTM_RTRL(1, I, 1, rng=0)
    net.reset(8)
    tracemalloc.start()
    for _ in range(T):
        net.forward(rng.normal(size=(8, 1)))
    net.backward(np.ones((8, 1)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_T():
    # 16 KiB of slack for allocator and interpreter noise (seen: 2 KiB between runs); keeping
    # even one float64 per step and sequence of the 4000-step batch would add
    # 3900 * 8 * 8 bytes = 244 KiB and fail.
    assert peak_bytes(4000) <= peak_bytes(100) + 16 * 1024


@pytest.mark.parametrize(
    "setup, call, pattern",
    [
        (None, lambda n: n.forward(np.ones(1)), r"needs reset"),
        (3, lambda n: n.forward(np.ones((2, 1))), r"x_t must have shape \(3, 1\).*got shape \(2, 1\)"),
        ("single", lambda n: n.forward(np.ones((1, 1))), r"x_t must have shape \(1,\)"),
        (3, lambda n: n.forward(np.full((3, 1), np.nan)), "NaN or inf"),
        (3, lambda n: n.backward(np.ones((3, 1))), r"needs a forward"),
    ],
)
def test_refusals(setup, call, pattern):
    net = LSTM_RTRL(1, 2, 1, rng=0)
    if setup == "single":
        net.reset()
    elif setup is not None:
        net.reset(setup)
    with pytest.raises((RuntimeError, ValueError), match=pattern):
        call(net)


def test_backward_refuses_bad_targets():
    net = LSTM_RTRL(1, 2, 1, rng=0)
    net.reset(2)
    net.forward(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"y must have shape \(2, 1\)"):
        net.backward(np.ones(2))
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        net.backward(np.full((2, 1), 2.0))
