"""rnnlab/models/gate.py: one gate's forward and gradients (including dx and dh) against central differences."""

import numpy as np
import pytest

from conftest import numerical_gradient, relative_error
from rnnlab.models.gate import SIGMOID, TANH, Activation, Gate


def gate_loss(gate, x, h, weights):
    """A scalar of the gate's output: sum(weights * phi(W x + R h + b)), computed here from scratch."""
    s = x @ gate.W.T + h @ gate.R.T + gate.b
    return float(np.sum(weights * gate.activation.fn(s)))


@pytest.mark.parametrize("activation", [TANH, SIGMOID])
def test_forward_is_phi_of_the_affine_map(rng, activation):
    gate = Gate(3, 4, activation, rng=rng, init_scale=0.5)
    x, h = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    expected = np.array([activation.fn(gate.W @ x[b] + gate.R @ h[b] + gate.b) for b in range(5)])
    np.testing.assert_allclose(gate.forward(x, h), expected, rtol=1e-14)


@pytest.mark.parametrize("activation", [TANH, SIGMOID])
def test_all_five_gradients_match_central_differences(rng, activation):
    gate = Gate(3, 4, activation, rng=rng, init_scale=0.7)
    x, h = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    weights = rng.normal(size=(5, 4))       # dL/da for L = sum(weights * a)
    gate.forward(x, h)
    grad_x, grad_h = gate.backward(weights)
    f = lambda: gate_loss(gate, x, h, weights)  # noqa: E731  (reads the arrays perturbed in place)
    for name, analytic in (("W", gate.dW), ("R", gate.dR), ("b", gate.db)):
        assert relative_error(analytic, numerical_gradient(f, gate.params()[name])) < 1e-8, name
    assert relative_error(grad_x, numerical_gradient(f, x)) < 1e-8
    assert relative_error(grad_h, numerical_gradient(f, h)) < 1e-8


def test_derivative_uses_the_pre_activation_not_the_activation(rng):
    """phi'(s) evaluated as tanh'(a) (the classic bug) differs; the gate's must not."""
    gate = Gate(1, 3, TANH, rng=rng, init_scale=2.0)
    x, h = rng.normal(size=(2, 1)), rng.normal(size=(2, 3))
    a = gate.forward(x, h)
    s = x @ gate.W.T + h @ gate.R.T + gate.b
    np.testing.assert_allclose(TANH.deriv(s, a), 1 / np.cosh(s) ** 2, rtol=1e-12)
    assert not np.allclose(1 / np.cosh(a) ** 2, 1 / np.cosh(s) ** 2)


def test_steps_are_popped_in_reverse_order(rng):
    gate = Gate(2, 3, SIGMOID, rng=rng, init_scale=0.5)
    xs = [rng.normal(size=(1, 2)) for _ in range(3)]
    h = np.zeros((1, 3))
    for x in xs:
        gate.forward(x, h)
    for x in reversed(xs):
        gate.zero_grad()
        gate.backward(np.ones((1, 3)))
        a = SIGMOID.fn(x @ gate.W.T + gate.b)
        np.testing.assert_allclose(gate.dW, (a * (1 - a)).T @ x, rtol=1e-12)
    with pytest.raises(RuntimeError, match="no stored step"):
        gate.backward(np.ones((1, 3)))


def test_backward_adds_and_zero_grad_clears(rng):
    gate = Gate(2, 3, rng=rng)
    x, h = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    gate.forward(x, h)
    gate.forward(x, h)
    gate.backward(np.ones((4, 3)))
    once = gate.db.copy()
    gate.backward(np.ones((4, 3)))
    np.testing.assert_allclose(gate.db, 2 * once)
    gate.zero_grad()
    assert not gate.db.any()


def test_update_descends_and_refuses_bad_eta(rng):
    gate = Gate(2, 3, rng=rng)
    gate.dW[:] = 1.0
    W0 = gate.W.copy()
    gate.update(0.1)
    np.testing.assert_allclose(gate.W, W0 - 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        gate.update(-1.0)


def test_custom_activation_and_bad_activation(rng):
    relu = Activation("relu", lambda s: np.maximum(s, 0), lambda s, a: (s > 0).astype(float))
    gate = Gate(1, 2, relu, rng=rng)
    assert gate.forward(np.ones((1, 1)), np.zeros((1, 2))).shape == (1, 2)
    with pytest.raises(TypeError, match="activation must be an rnnlab.Activation"):
        Gate(1, 2, np.tanh)


@pytest.mark.parametrize(
    "x, h, pattern",
    [(np.ones(2), np.zeros((1, 3)), r"x must have shape \(B, 2\)"),
     (np.ones((1, 3)), np.zeros((1, 3)), r"x must have shape \(B, 2\) with B >= 1; got shape \(1, 3\)"),
     (np.ones((1, 2)), np.zeros((1, 2)), r"h must have shape \(B, 3\)"),
     (np.ones((2, 2)), np.zeros((1, 3)), "same number of sequences; got 2 and 1"),
     (np.full((1, 2), np.inf), np.zeros((1, 3)), "x contains NaN or inf")],
)
def test_forward_refuses_bad_inputs(x, h, pattern):
    with pytest.raises(ValueError, match=pattern):
        Gate(2, 3, rng=0).forward(x, h)


def test_backward_refuses_a_gradient_of_the_wrong_shape():
    gate = Gate(2, 3, rng=0)
    gate.forward(np.ones((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"grad_a must have the shape of the gate's output \(4, 3\); got \(3,\)"):
        gate.backward(np.ones(3))
