"""rnnlab/models/lstm.py: LSTM forward and BPTT gradients (full and truncated) against independent oracles."""

import numpy as np
import pytest

from conftest import assert_gradients_match, log_sigmoid
from rnnlab import LSTM
from rnnlab.models.base import GradientCheckError


def sig(u):
    return 1 / (1 + np.exp(-u))


def reference_loss(p, x, y, forget_gate=False, cut=None):
    """Eqs. (4.1)-(4.4) and the loss, one sequence and one step at a time, column vectors.

    ``cut`` (a dict of fixed h(t-1) per sequence and step) feeds the gates a constant h(t-1):
    differentiating with it held fixed gives the truncated gradient of the 1997 method.
    """
    B, T, _ = x.shape
    total = 0.0
    for b in range(B):
        h = np.zeros(p["z.R"].shape[0])
        c = np.zeros_like(h)
        for t in range(T):
            h_in = cut[b][t] if cut is not None else h

            def gate(g, phi):
                return phi(p[f"{g}.W"] @ x[b, t] + p[f"{g}.R"] @ h_in + p[f"{g}.b"])

            z, i, o = gate("z", np.tanh), gate("i", sig), gate("o", sig)
            c = (gate("f", sig) * c if forget_gate else c) + z * i
            h = np.tanh(c) * o
            if y.ndim == 3 or t == T - 1:
                target = y[b, t] if y.ndim == 3 else y[b]
                zy = p["W_y"] @ h + p["b_y"]
                total += np.sum(-target * log_sigmoid(zy) - (1 - target) * log_sigmoid(-zy))
    return total / B


def hidden_states(p, x, forget_gate=False):
    """h(t - 1) for every sequence and step (what the truncated gradient holds fixed)."""
    out = []
    for b in range(x.shape[0]):
        h = np.zeros(p["z.R"].shape[0])
        c = np.zeros_like(h)
        hs = []
        for t in range(x.shape[1]):
            hs.append(h.copy())
            g = {k: (np.tanh if k == "z" else sig)(p[f"{k}.W"] @ x[b, t] + p[f"{k}.R"] @ h + p[f"{k}.b"])
                 for k in (("z", "i", "o", "f") if forget_gate else ("z", "i", "o"))}
            c = (g["f"] * c if forget_gate else c) + g["z"] * g["i"]
            h = np.tanh(c) * g["o"]
        out.append(hs)
    return out


CASES = [  # (B, many_to_many, single, forget_gate, truncate)
    (1, False, True, False, False), (1, True, True, False, False), (3, False, False, False, False),
    (3, True, False, False, False), (3, False, False, True, False), (3, False, False, False, True),
    (3, True, False, False, True), (2, True, False, True, True),
]


@pytest.mark.parametrize("B, many_to_many, single, forget_gate, truncate", CASES)
def test_gradients_match_central_differences(rng, B, many_to_many, single, forget_gate, truncate):
    net = LSTM(2, 3, 2, rng=rng, init_scale=0.8, forget_gate=forget_gate, truncate=truncate)
    x = rng.normal(size=(B, 6, 2))
    y = rng.random((B, 6, 2) if many_to_many else (B, 2))
    p = net.params()
    cut = hidden_states(p, x, forget_gate) if truncate else None
    net.zero_grad()
    loss = net.forward(x[0] if single else x, y[0] if single else y)
    assert loss == pytest.approx(reference_loss(p, x, y, forget_gate), rel=1e-12)
    net.backward()
    assert_gradients_match(net, lambda: reference_loss(p, x, y, forget_gate, cut))


def test_param_names_and_views():
    net = LSTM(1, 4, 1, rng=0)
    assert list(net.params()) == ["z.W", "z.R", "z.b", "i.W", "i.R", "i.b", "o.W", "o.R", "o.b", "W_y", "b_y"]
    assert net.z.W.shape == (4, 1) and net.i.R.shape == (4, 4) and net.o.b.shape == (4,)
    assert net.grads()["i.R"] is net.i.dR
    net.params()["o.b"][:] = -2.0
    assert np.all(net.o.b == -2.0)
    assert "f.W" in LSTM(1, 4, 1, rng=0, forget_gate=True).params()


def test_gate_bias_initialisation():
    net = LSTM(1, 3, 1, rng=0, input_bias=[-1.0, -3.0, -5.0], output_bias=-2.0)
    np.testing.assert_array_equal(net.i.b, [-1.0, -3.0, -5.0])
    np.testing.assert_array_equal(net.o.b, [-2.0, -2.0, -2.0])
    with pytest.raises(ValueError, match=r"finite number or an array of shape \(3,\)"):
        LSTM(1, 3, 1, rng=0, input_bias=[1.0, 2.0])


def test_init_range_and_seed():
    a, b = LSTM(1, 8, 1, rng=4), LSTM(1, 8, 1, rng=4)
    for name, p in a.params().items():
        np.testing.assert_array_equal(p, b.params()[name])
        assert np.abs(p).max() <= 0.01


def test_cell_state_carries_the_error_unchanged():
    """The CEC: with gates pinned open (z, i constant), dL/dc(1) equals dL/dc(T)."""
    net = LSTM(1, 1, 1, rng=0)
    for g in (net.z, net.i, net.o):
        g.W[:], g.R[:] = 0.0, 0.0
    net.z.b[:], net.i.b[:], net.o.b[:] = 0.0, 30.0, 30.0   # z = 0, i = o = 1: c stays 0
    net.W_y[:] = 1.0
    x = np.zeros((50, 1))
    net.forward(x, np.array([1.0]))
    net.zero_grad()
    net.backward()
    # dL/dz(t) = dL/dc(t) * i(t) is the same at every step: the sum over 50 steps is 50 times one.
    psi = 1 / (1 + np.exp(-net.b_y[0])) - 1.0
    dc = psi * net.W_y[0, 0] * 1.0 * (1 - 0.0)   # o = 1, tanh'(0) = 1
    assert net.z.db[0] == pytest.approx(50 * dc, rel=1e-10)


def test_grad_check_catches_a_corrupted_gradient(rng):
    class Corrupted(LSTM):
        def _backward(self, psi):
            super()._backward(psi)
            self.i.dR[1, 2] += 1e-3 * np.abs(self.i.dR).max()

    net = Corrupted(1, 3, 1, rng=rng, init_scale=0.5)
    net.forward(rng.normal(size=(2, 5, 1)), np.array([[1.0], [0.0]]))
    with pytest.raises(GradientCheckError, match=r"i\.dR differs from the numerical gradient at entry \[1, 2\]"):
        net.grad_check()
    assert LSTM(1, 3, 1, rng=0, init_scale=0.5).forward(np.ones((4, 1)), [1.0]) > 0


def test_recipe_solves_T100_within_its_step_budget():
    """A correctness test with a step budget (the recipe's), not a timing test."""
    from rnnlab.training.train import evaluate, train_recipe

    run = train_recipe("lstm", T=100, seed=0, progress=False)
    assert run.val_acc[-1] >= 0.999
    assert len(run.losses) < run.recipe["steps"]
    assert evaluate(run.model, 100) >= 0.999
