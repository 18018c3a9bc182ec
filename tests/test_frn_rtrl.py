"""rnnlab/models/frn_rtrl.py: full RTRL gives the BPTT gradient of the FRN, checked independently."""

import numpy as np
import pytest

from conftest import numerical_gradient, relative_error
from rnnlab import FRN_RTRL, FullyRecurrentNetwork


def reference_loss(W, R, V, x, y, every_step):
    """The FRN's loss written out here (tanh units, BCE on the logits, mean over the batch)."""
    B, T, _ = x.shape
    a = np.zeros((B, R.shape[0]))
    loss = 0.0
    for t in range(T):
        a = np.tanh(x[:, t] @ W.T + a @ R.T)
        if every_step or t == T - 1:
            z = a @ V.T
            target = y[:, t] if every_step else y
            loss += np.sum(target * np.logaddexp(0.0, -z) + (1.0 - target) * np.logaddexp(0.0, z))
    return loss / B


def run_rtrl(net, x, y, every_step, single=False):
    net.zero_grad()
    net.reset(None if single else len(x))
    loss = 0.0
    for t in range(x.shape[1]):
        net.forward(x[0, t] if single else x[:, t])
        if every_step or t == x.shape[1] - 1:
            target = y[:, t] if every_step else y
            loss += net.backward(target[0] if single else target)
    return loss


@pytest.mark.parametrize("B, every_step", [(None, False), (None, True), (3, False), (3, True)])
def test_gradient_equals_central_differences(rng, B, every_step):
    net = FRN_RTRL(2, 4, 2, rng=7, init_scale=0.5)
    T = 7
    x = rng.normal(size=(B or 1, T, 2))
    y = rng.random((B or 1, T, 2)) if every_step else rng.random((B or 1, 2))
    loss = run_rtrl(net, x, y, every_step, single=B is None)
    assert loss == pytest.approx(reference_loss(net.W, net.R, net.V, x, y, every_step), rel=1e-13)
    for name, p in net.params().items():
        numeric = numerical_gradient(lambda: reference_loss(net.W, net.R, net.V, x, y, every_step), p)
        assert relative_error(net.grads()[name], numeric) < 1e-8, name


@pytest.mark.parametrize("every_step", [False, True])
def test_gradient_equals_bptt_of_the_same_network(rng, every_step):
    rtrl = FRN_RTRL(1, 6, 1, rng=3, init_scale=0.4)
    bptt = FullyRecurrentNetwork(1, 6, 1, rng=3, init_scale=0.4)       # same seed: the same weights
    for name, p in bptt.params().items():
        np.testing.assert_array_equal(rtrl.params()[name], p)
    x = rng.normal(size=(4, 20, 1))
    y = rng.random((4, 20, 1)) if every_step else rng.random((4, 1))
    rtrl.zero_grad()
    bptt.zero_grad()
    assert rtrl.loss_and_gradient(x, y) == pytest.approx(bptt.loss_and_gradient(x, y), rel=1e-13)
    for name, g in bptt.grads().items():
        assert relative_error(rtrl.grads()[name], g) <= 1e-12, name
    np.testing.assert_allclose(rtrl.predict(x), bptt.predict(x), rtol=1e-13)


def test_sensitivities_after_one_step_are_the_inputs_times_the_slope():
    """p^k_ij(1) = (1 - a_k(1)^2) [k = i] u_j(1), by hand: a(0) = 0, so R p(0) = 0."""
    net = FRN_RTRL(2, 3, 1, rng=0, init_scale=0.5)
    net.reset()
    x = np.array([0.3, -0.7])
    net.forward(x)
    a = np.tanh(net.W @ x)
    u = np.concatenate([x, np.zeros(3)])
    expected = np.zeros((3, 3, 5))
    for k in range(3):
        expected[k, k] = (1 - a[k] ** 2) * u
    np.testing.assert_allclose(net.P[0], expected, rtol=1e-15)


def test_memory_is_I_cubed_and_flat_in_T():
    net = FRN_RTRL(1, 5, 1, rng=0)
    net.reset(2)
    assert net.P.shape == (2, 5, 5, 1 + 5)
    for _ in range(50):
        net.forward(np.ones((2, 1)))
    assert net.P.shape == (2, 5, 5, 1 + 5)


def test_update_descends(rng):
    net = FRN_RTRL(1, 4, 1, rng=0, init_scale=0.5)
    x, y = rng.normal(size=(8, 5, 1)), np.ones((8, 1))
    before = net.loss_and_gradient(x, y)
    net.update(0.1)
    net.zero_grad()
    assert net.loss_and_gradient(x, y) < before


@pytest.mark.parametrize(
    "setup, call, pattern",
    [
        (None, lambda n: n.forward(np.ones(1)), r"needs reset"),
        (3, lambda n: n.forward(np.ones((2, 1))), r"x_t must have shape \(3, 1\).*got shape \(2, 1\)"),
        ("single", lambda n: n.forward(np.ones((1, 1))), r"x_t must have shape \(1,\)"),
        (3, lambda n: n.forward(np.full((3, 1), np.inf)), "NaN or inf"),
        (3, lambda n: n.backward(np.ones((3, 1))), r"needs a forward"),
    ],
)
def test_refusals(setup, call, pattern):
    net = FRN_RTRL(1, 2, 1, rng=0)
    if setup == "single":
        net.reset()
    elif setup is not None:
        net.reset(setup)
    with pytest.raises((RuntimeError, ValueError), match=pattern):
        call(net)


def test_backward_refuses_bad_targets():
    net = FRN_RTRL(1, 2, 1, rng=0)
    net.reset(2)
    net.forward(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"y must have shape \(2, 1\)"):
        net.backward(np.ones(2))


@pytest.mark.parametrize("every_step", [False, True])
def test_compiled_engine_equals_numpy(rng, every_step):
    from rnnlab.models.frn_rtrl_numba import FRN_RTRL_Numba

    ref, fast = FRN_RTRL(2, 5, 2, rng=4, init_scale=0.5), FRN_RTRL_Numba(2, 5, 2, rng=4, init_scale=0.5)
    x = rng.normal(size=(3, 12, 2))
    y = rng.random((3, 12, 2)) if every_step else rng.random((3, 2))
    losses = []
    for net in (ref, fast):
        net.zero_grad()
        losses.append(net.loss_and_gradient(x, y))
    assert losses[1] == pytest.approx(losses[0], rel=1e-13)
    for name, g in ref.grads().items():
        assert relative_error(fast.grads()[name], g) <= 1e-12, name
