"""rnnlab/models/frn.py: forward pass and BPTT gradients of the fully recurrent network.

Oracles: a per-sequence reference forward written here in the book's column-vector
form, central differences of that reference in float64, and a hand-worked T = 2 case.
"""

import numpy as np
import pytest

from conftest import assert_gradients_match, log_sigmoid
from rnnlab import FullyRecurrentNetwork


def reference_loss(W, R, V, x, y):
    """Loss of Eqs. (2.1)-(2.5), one sequence and one time step at a time.

    x of shape (B, T, D); y of shape (B, K) (last step) or (B, T, K) (every step).
    """
    B, T, _ = x.shape
    total = 0.0
    for b in range(B):
        a = np.zeros(W.shape[0])
        for t in range(T):
            a = np.tanh(W @ x[b, t] + R @ a)
            z = V @ a
            if y.ndim == 3 or t == T - 1:
                target = y[b, t] if y.ndim == 3 else y[b]
                total += np.sum(-target * log_sigmoid(z) - (1 - target) * log_sigmoid(-z))
    return total / B


def make_case(rng, B, T, D=2, I=4, K=2, many_to_many=False, scale=0.6):
    net = FullyRecurrentNetwork(D, I, K, rng=rng, init_scale=scale)  # large weights: a real test of R
    x = rng.normal(size=(B, T, D))
    y = rng.random((B, T, K) if many_to_many else (B, K))
    return net, x, y


def check_gradients(net, x, y, x_in, y_in):
    net.zero_grad()
    loss = net.forward(x_in, y_in)
    assert loss == pytest.approx(reference_loss(net.W, net.R, net.V, x, y), rel=1e-12)
    net.backward()
    assert_gradients_match(net, lambda: reference_loss(net.W, net.R, net.V, x, y))


@pytest.mark.parametrize("many_to_many", [False, True])
def test_gradients_single_sequence(rng, many_to_many):
    net, x, y = make_case(rng, 1, 6, many_to_many=many_to_many)
    check_gradients(net, x, y, x[0], y[0])


@pytest.mark.parametrize("many_to_many", [False, True])
def test_gradients_batch(rng, many_to_many):
    net, x, y = make_case(rng, 5, 7, many_to_many=many_to_many)
    check_gradients(net, x, y, x, y)


def test_gradients_task_shapes(rng):
    net, x, y = make_case(rng, 3, 10, D=1, I=8, K=1)
    check_gradients(net, x, y, x, y)


def test_hand_worked_T2_scalar_network():
    """I = D = K = 1, T = 2, loss at t = 2: the derivation of chapter 2 in scalars."""
    net = FullyRecurrentNetwork(1, 1, 1, rng=0)
    w, r, v = 0.7, -1.3, 2.0
    net.W[:], net.R[:], net.V[:] = w, r, v
    x1, x2, y = 0.5, -1.5, 1.0
    a1 = np.tanh(w * x1)
    a2 = np.tanh(w * x2 + r * a1)
    z = v * a2
    psi = 1 / (1 + np.exp(-z)) - y
    delta2 = (1 - a2**2) * v * psi
    delta1 = (1 - a1**2) * r * delta2
    loss = net.forward(np.array([[x1], [x2]]), np.array([y]))
    assert loss == pytest.approx(np.log1p(np.exp(-z)), rel=1e-14)
    net.backward()
    assert net.dV[0, 0] == pytest.approx(psi * a2, rel=1e-14)
    assert net.dR[0, 0] == pytest.approx(delta2 * a1, rel=1e-14)
    assert net.dW[0, 0] == pytest.approx(delta1 * x1 + delta2 * x2, rel=1e-14)


def test_batch_gradient_is_the_mean_of_single_gradients(rng):
    net, x, y = make_case(rng, 4, 5)
    singles = []
    for b in range(4):
        net.zero_grad()
        net.forward(x[b], y[b])
        net.backward()
        singles.append({k: g.copy() for k, g in net.grads().items()})
    net.zero_grad()
    net.forward(x, y)
    net.backward()
    for name, g in net.grads().items():
        np.testing.assert_allclose(g, np.mean([s[name] for s in singles], axis=0), rtol=1e-12)


def test_backward_accumulates_and_zero_grad_clears(rng):
    net, x, y = make_case(rng, 2, 4)
    net.forward(x, y)
    net.backward()
    once = net.dR.copy()
    net.backward()
    np.testing.assert_allclose(net.dR, 2 * once)
    net.zero_grad()
    assert all(not g.any() for g in net.grads().values())


def test_init_is_seeded_uniform_and_params_are_live():
    a, b = FullyRecurrentNetwork(1, 32, 1, rng=3), FullyRecurrentNetwork(1, 32, 1, rng=3)
    for name in ("W", "R", "V"):
        np.testing.assert_array_equal(a.params()[name], b.params()[name])
    assert a.W.shape == (32, 1) and a.R.shape == (32, 32) and a.V.shape == (1, 32)
    assert np.abs(a.R).max() <= 0.01 and np.abs(a.R).max() > 0.009
    a.params()["R"][0, 0] = 5.0
    assert a.R[0, 0] == 5.0
    assert a.grads()["R"] is a.dR


def test_predict_shapes_and_range(rng):
    net, x, _ = make_case(rng, 3, 4)
    assert net.predict(x).shape == (3, 2)
    assert net.predict(x[0]).shape == (2,)
    assert np.all((net.predict(x) > 0) & (net.predict(x) < 1))


def test_loss_finite_at_huge_logits():
    net = FullyRecurrentNetwork(1, 2, 1, rng=0)
    net.W[:] = 5.0
    net.R[:] = 0.0
    net.V[:] = 5e3  # a(T) = tanh(5) ~ 1 in both units: z ~ 1e4
    for target in (0.0, 1.0):
        loss = net.forward(np.ones((3, 1)), np.array([target]))
        assert np.isfinite(loss)
        net.zero_grad()
        net.backward()
        assert all(np.all(np.isfinite(g)) for g in net.grads().values())
    assert loss == pytest.approx(0.0, abs=1e-12)  # target 1 at z ~ +1e4


def detached_loss(W, R, V, x, y, k, boundary):
    """Like reference_loss, but the state entering every chunk of k steps is the constant ``boundary``.

    ``boundary[b][t]`` is a(t) of the unperturbed network: perturbing a weight then changes the
    loss only through the steps of each chunk, which is what truncated BPTT differentiates.
    """
    B, T, _ = x.shape
    total = 0.0
    for b in range(B):
        a = np.zeros(W.shape[0])
        for t in range(T):
            if t and t % k == 0:
                a = boundary[b][t - 1]
            a = np.tanh(W @ x[b, t] + R @ a)
            if y.ndim == 3 or t == T - 1:
                z = V @ a
                target = y[b, t] if y.ndim == 3 else y[b]
                total += np.sum(-target * log_sigmoid(z) - (1 - target) * log_sigmoid(-z))
    return total / B


@pytest.mark.parametrize("many_to_many", [False, True])
def test_truncated_bptt_is_the_gradient_with_detached_chunk_boundaries(rng, many_to_many):
    full, x, y = make_case(rng, 3, 8, many_to_many=many_to_many)
    net = FullyRecurrentNetwork(2, 4, 2, rng=0, truncation=3)
    for name, p in net.params().items():
        p[...] = full.params()[name]
    boundary = [None] * 3
    for b in range(3):                                   # the unperturbed states a(1..T)
        a, states = np.zeros(4), []
        for t in range(8):
            a = np.tanh(net.W @ x[b, t] + net.R @ a)
            states.append(a)
        boundary[b] = states
    net.zero_grad()
    net.forward(x, y)
    net.backward()
    assert_gradients_match(net, lambda: detached_loss(net.W, net.R, net.V, x, y, 3, boundary))
    full.forward(x, y)
    full.backward()
    assert not np.allclose(full.dW, net.dW)            # the truncation changes the gradient


def test_truncation_longer_than_the_sequence_is_full_bptt(rng):
    full, x, y = make_case(rng, 2, 5)
    cut = FullyRecurrentNetwork(2, 4, 2, rng=0, truncation=5)
    for name, p in cut.params().items():
        p[...] = full.params()[name]
    for net in (full, cut):
        net.forward(x, y)
        net.backward()
    for name in full.params():
        np.testing.assert_array_equal(full.grads()[name], cut.grads()[name])


@pytest.mark.parametrize("recurrent_init", ["orthogonal", "identity"])
def test_recurrent_init(recurrent_init):
    net = FullyRecurrentNetwork(1, 16, 1, rng=3, recurrent_init=recurrent_init)
    np.testing.assert_allclose(np.linalg.svd(net.R, compute_uv=False), np.ones(16), atol=1e-12)
    if recurrent_init == "identity":
        np.testing.assert_array_equal(net.R, np.eye(16))
    with pytest.raises(ValueError, match="recurrent_init must be"):
        FullyRecurrentNetwork(1, 4, 1, recurrent_init="zeros")
