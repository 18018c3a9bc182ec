"""rnnlab/models/base.py: registry, grad_check, update and their refusals, shown on the FRN."""

import numpy as np
import pytest

from conftest import FRNWithoutRecurrence, numerical_gradient
from rnnlab import LSTM, DivergenceError, FullyRecurrentNetwork, GradientCheckError, JordanNetwork, generate_data
from rnnlab.models.base import central_difference


@pytest.fixture
def case(rng):
    net = FullyRecurrentNetwork(1, 4, 1, rng=rng, init_scale=0.5)
    x = rng.normal(size=(3, 6, 1))
    y = rng.integers(0, 2, size=(3, 1)).astype(float)
    return net, x, y


def corrupted(entry, amount):
    class Corrupted(FullyRecurrentNetwork):
        def _backward(self, psi):
            super()._backward(psi)
            self.dR[entry] += amount * np.abs(self.dR).max()

    return Corrupted


def test_grad_check_passes_a_correct_model_and_reports_every_parameter(case):
    net, x, y = case
    net.forward(x, y)
    report = net.grad_check()
    assert set(report) == {"W", "R", "V"}
    for r in report.values():
        assert r.rel_error < 1e-6 and 0 <= r.abs_error < 1e-7 and r.uncertainty > 0
        assert len(r.worst) == 2


MODELS = [(FullyRecurrentNetwork, 32), (JordanNetwork, 32), (LSTM, 8)]


@pytest.mark.parametrize("model, I", MODELS)
@pytest.mark.parametrize("init_scale", [0.01, 0.5])
@pytest.mark.parametrize("eps", [1e-7, 1e-6, 1e-5, 1e-4])
def test_grad_check_never_cries_wolf_on_a_correct_model(model, I, init_scale, eps):
    """The assignment's own call, grad_check(1e-7, 1e-7), at the course's and at large weights.

    At init 0.01 many entries are of size 1e-8 and below the rounding floor of a relative
    check; at 0.5 and eps = 1e-4 the truncation error (~1e-7) exceeds an absolute 1e-7:
    the numerical uncertainty in the criterion covers both.
    """
    net = model(1, I, 1, rng=0, init_scale=init_scale)
    x, y = next(generate_data(10))
    net.forward(x, 1)
    report = net.grad_check(eps, 1e-7)
    assert max(r.excess for r in report.values()) <= 1e-7


@pytest.mark.parametrize("model, I", MODELS)
@pytest.mark.parametrize("init_scale", [0.01, 0.5])
def test_grad_check_names_a_single_wrong_entry_at_the_default_weights(model, I, init_scale):
    class Corrupted(model):
        def _backward(self, psi):
            super()._backward(psi)
            name = self.param_names[1]
            self.grads()[name][(2, 0)] += 1e-6        # ten times thresh: a wrong entry, not noise

    net = Corrupted(1, I, 1, rng=0, init_scale=init_scale)
    net.forward(next(generate_data(10))[0], 1)
    name = net.param_names[1]
    head, _, leaf = name.rpartition(".")
    pattern = rf"{head + '.' if head else ''}d{leaf} differs from the numerical gradient at entry \[2, 0\]"
    with pytest.raises(GradientCheckError, match=pattern) as info:
        net.grad_check(1e-7, 1e-7)
    assert str(info.value).count("differs") == 1


def test_central_difference_agrees_with_an_independent_stencil(rng):
    p = rng.normal(size=(3, 2))
    target = rng.normal(size=(3, 2))

    def loss():
        return float(np.sum(np.sin(p) * target) + np.sum(p**3))

    before = p.copy()
    np.testing.assert_allclose(central_difference(loss, p, 1e-5), numerical_gradient(loss, p), rtol=1e-8)
    np.testing.assert_array_equal(p, before)          # restored exactly


@pytest.mark.parametrize("model", [FullyRecurrentNetwork, JordanNetwork, LSTM])
def test_a_plain_number_is_the_target_of_a_one_output_network(model, rng):
    """model.forward(x, 1), as the assignment writes it: the same loss as y = [1.0]."""
    net = model(1, 4, 1, rng=0, init_scale=0.5)
    x = rng.normal(size=(6, 1))
    assert net.forward(x, 1) == net.forward(x, np.array([1.0])) == net.forward(x, 1.0)
    assert net.forward(x, 0) == net.forward(x, [0.0])
    net.backward()


def test_grad_check_catches_missing_recurrence_and_names_the_parameter(rng):
    net = FRNWithoutRecurrence(1, 4, 1, rng=rng, init_scale=0.5)
    net.forward(rng.normal(size=(2, 6, 1)), np.array([[1.0], [0.0]]))
    with pytest.raises(GradientCheckError, match=r"dW differs from the numerical gradient at entry \[\d+, 0\]"):
        net.grad_check()


@pytest.mark.parametrize("entry", [(0, 0), (2, 3)])
@pytest.mark.parametrize("amount", [1e-3, -0.5, 10.0])
def test_grad_check_cannot_pass_a_corrupted_entry(rng, entry, amount):
    net = corrupted(entry, amount)(1, 4, 1, rng=rng, init_scale=0.5)
    net.forward(rng.normal(size=(2, 5, 1)), np.array([[1.0], [0.0]]))
    with pytest.raises(GradientCheckError) as info:
        net.grad_check()
    message = str(info.value)
    assert "dR differs" in message and f"at entry {list(entry)}" in message
    assert "dW differs" not in message and "dV differs" not in message


def test_grad_check_cannot_pass_a_sign_flip(case):
    class Ascent(FullyRecurrentNetwork):
        def _backward(self, psi):
            super()._backward(-psi)

    net, x, y = case
    bad = Ascent(1, 4, 1, rng=0, init_scale=0.5)
    bad.forward(x, y)
    with pytest.raises(GradientCheckError, match="dV differs"):
        bad.grad_check()


def test_grad_check_recomputes_rather_than_trusting_stale_buffers(case):
    net, x, y = case
    net.forward(x, y)
    net.dR[:] = 123.0  # garbage left in the buffers must not matter
    net.grad_check()
    p_before = {k: v.copy() for k, v in net.params().items()}
    net.grad_check()
    for k, v in net.params().items():
        np.testing.assert_array_equal(v, p_before[k])  # parameters restored exactly


def test_backward_and_grad_check_need_a_forward_first(case):
    net, x, _ = case
    with pytest.raises(RuntimeError, match="forward"):
        net.backward()
    with pytest.raises(RuntimeError, match="forward"):
        net.grad_check()
    net.predict(x)  # a prediction is not a stored loss
    with pytest.raises(RuntimeError, match="forward"):
        net.backward()


def test_update_descends(case):
    net, x, y = case
    before = net.forward(x, y)
    net.zero_grad()
    net.backward()
    net.update(1e-3)
    assert net.forward(x, y) < before


def test_update_moves_against_the_gradient(case):
    net, x, y = case
    net.forward(x, y)
    net.zero_grad()
    net.backward()
    R0, dR = net.R.copy(), net.dR.copy()
    net.update(0.5)
    np.testing.assert_allclose(net.R, R0 - 0.5 * dR)


@pytest.mark.parametrize("eta, error", [(0.0, ValueError), (-0.1, ValueError), (np.nan, ValueError),
                                        (np.inf, ValueError), ("0.1", TypeError), (None, TypeError)])
def test_update_refuses_bad_learning_rates(case, eta, error):
    net, x, y = case
    net.forward(x, y)
    net.backward()
    with pytest.raises(error, match="learning rate"):
        net.update(eta)


def test_update_reports_divergence(case):
    net, x, y = case
    net.forward(x, y)
    net.backward()
    net.dV[:] = np.inf
    with pytest.raises(DivergenceError, match="parameter V contains NaN or inf.*lower the learning rate"):
        net.update(1.0)


@pytest.mark.parametrize(
    "x, y, pattern",
    [
        (np.zeros(5), np.array([1.0]), r"x must have shape \(T, D\) or \(B, T, D\) with D = 1.*got shape \(5,\)"),
        (np.zeros((2, 5, 3)), np.ones((2, 1)), r"D = 1.*got shape \(2, 5, 3\)"),
        (np.zeros((1, 1, 5, 1)), np.ones((1, 1)), r"got shape \(1, 1, 5, 1\)"),
        (np.zeros((0, 1)), np.ones(1), r"T, B >= 1; got shape \(0, 1\)"),
        (np.full((4, 1), np.nan), np.ones(1), "x contains NaN or inf"),
        (np.full((4, 1), np.inf), np.ones(1), "x contains NaN or inf"),
        (np.zeros((4, 1)), np.ones(2), r"y must have shape \(1,\) .* or \(4, 1\) .*got shape \(2,\)"),
        (np.zeros((3, 4, 1)), np.ones(3), r"y must have shape \(3, 1\) .* or \(3, 4, 1\)"),
        (np.zeros((3, 4, 1)), 1.0, r"y must have shape \(3, 1\) \(loss"),
        (np.zeros((4, 1)), np.array([1.5]), r"targets in \[0, 1\]; got values from 1.5"),
        (np.zeros((4, 1)), np.array([-1.0]), r"targets in \[0, 1\]"),
        (np.zeros((4, 1)), np.array([np.nan]), "y contains NaN or inf"),
        ("abc", np.ones(1), "x must be an array of real numbers"),
        (np.zeros((4, 1)), "a", "y must be an array of real numbers"),
    ],
)
def test_forward_refuses_bad_inputs(case, x, y, pattern):
    net = case[0]
    with pytest.raises((ValueError, TypeError), match=pattern):
        net.forward(x, y)


@pytest.mark.parametrize(
    "args, kwargs, pattern",
    [((0, 4, 1), {}, "D must be a positive integer"), ((1, -2, 1), {}, "I must be a positive integer"),
     ((1, 4, 1.0), {}, "K must be a positive integer"), ((1, 4, 1), {"rng": "x"}, "rng/seed must be"),
     ((1, 4, 1), {"init_scale": 0.0}, "init_scale must be a positive finite number")],
)
def test_constructor_refuses_bad_sizes(args, kwargs, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        FullyRecurrentNetwork(*args, **kwargs)
