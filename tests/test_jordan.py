"""rnnlab/models/jordan.py: BPTT gradients of the Jordan network against independent oracles."""

import numpy as np
import pytest

from conftest import assert_gradients_match, log_sigmoid
from rnnlab import JordanNetwork


def reference_loss(W, R, V, x, y):
    """Eqs. (3.8)-(3.9) and the loss, one sequence and one step at a time, column vectors."""
    B, T, _ = x.shape
    total = 0.0
    for b in range(B):
        y_hat = np.zeros(V.shape[0])
        for t in range(T):
            z = V @ np.tanh(W @ x[b, t] + R @ y_hat)
            y_hat = 1 / (1 + np.exp(-z))
            if y.ndim == 3 or t == T - 1:
                target = y[b, t] if y.ndim == 3 else y[b]
                total += np.sum(-target * log_sigmoid(z) - (1 - target) * log_sigmoid(-z))
    return total / B


@pytest.mark.parametrize("B, many_to_many, single", [(1, False, True), (1, True, True), (4, False, False),
                                                      (4, True, False)])
def test_gradients_match_central_differences(rng, B, many_to_many, single):
    net = JordanNetwork(2, 5, 2, rng=rng, init_scale=1.0)  # large weights: the feedback path matters
    x = rng.normal(size=(B, 7, 2))
    y = rng.random((B, 7, 2) if many_to_many else (B, 2))
    net.zero_grad()
    loss = net.forward(x[0] if single else x, y[0] if single else y)
    assert loss == pytest.approx(reference_loss(net.W, net.R, net.V, x, y), rel=1e-12)
    net.backward()
    assert_gradients_match(net, lambda: reference_loss(net.W, net.R, net.V, x, y))


def test_hand_worked_T2_scalar_network():
    net = JordanNetwork(1, 1, 1, rng=0)
    w, r, v = 0.9, 2.0, -1.5
    net.W[:], net.R[:], net.V[:] = w, r, v
    x1, x2, y = 1.0, 0.3, 0.0
    a1 = np.tanh(w * x1)
    y1 = 1 / (1 + np.exp(-v * a1))
    a2 = np.tanh(w * x2 + r * y1)
    y2 = 1 / (1 + np.exp(-v * a2))
    psi2 = y2 - y
    delta2 = (1 - a2**2) * v * psi2
    psi1_bar = y1 * (1 - y1) * r * delta2      # no loss at t = 1: only the feedback path
    delta1 = (1 - a1**2) * v * psi1_bar
    net.forward(np.array([[x1], [x2]]), np.array([y]))
    net.backward()
    assert net.dV[0, 0] == pytest.approx(psi2 * a2 + psi1_bar * a1, rel=1e-13)
    assert net.dR[0, 0] == pytest.approx(delta2 * y1, rel=1e-13)
    assert net.dW[0, 0] == pytest.approx(delta1 * x1 + delta2 * x2, rel=1e-13)


def test_grad_check_passes_and_param_names(rng):
    net = JordanNetwork(1, 6, 1, rng=rng, init_scale=0.5)
    assert tuple(net.params()) == ("W", "R", "V")
    assert net.R.shape == (6, 1)
    net.forward(rng.normal(size=(3, 8, 1)), np.ones((3, 1)))
    assert all(r.excess <= 1e-7 for r in net.grad_check().values())
