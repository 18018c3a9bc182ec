"""rnnlab/homework/assignment/: the assignment's single-sequence forms compute what the package computes.

The package's batched models are tested against central differences in their own test
files; here each form is compared with them on the same weights and sequences, and the
Jacobian against a finite-difference oracle of its own.
"""

import numpy as np
import pytest

import rnnlab
from conftest import numerical_gradient
from rnnlab.homework import assignment as A
from rnnlab.training.analysis import hidden_jacobians


def copy_weights(source, target):
    """Write the package model's parameters into a form, by the names of ``params()``."""
    for name, value in source.params().items():
        *path, leaf = name.split(".")
        owner = target
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, leaf, value.copy())


def gradients(form, names):
    out = {}
    for name in names:
        *path, leaf = name.split(".")
        owner = form
        for part in path:
            owner = getattr(owner, part)
        out[name] = getattr(owner, "d" + leaf)
    return out


@pytest.fixture
def sequence():
    rng = np.random.default_rng(7)
    return rng.normal(size=(9, 1)), 1.0


@pytest.mark.parametrize("y", [1.0, 0.0, np.array([1.0])])
def test_frn_form_equals_the_package(y):
    x = np.random.default_rng(3).normal(size=(7, 1))
    package = rnnlab.FullyRecurrentNetwork(1, 5, 1, rng=1, init_scale=0.5)
    form = A.FullyRecurrentNetwork(1, 5, 1)
    copy_weights(package, form)
    package.zero_grad()
    assert form.forward(x, y) == pytest.approx(package.forward(x, np.atleast_1d(y)), rel=1e-13)
    package.backward()
    form.backward()
    for name, g in package.grads().items():
        np.testing.assert_allclose(gradients(form, [name])[name], g, rtol=1e-11, atol=1e-15)
    assert form.a.shape == (7, 5) and form.z.shape == (1,) and form.y.shape == (1,)
    form.update(0.3)
    package.update(0.3)
    for name, p in package.params().items():
        np.testing.assert_allclose(getattr(form, name), p, rtol=1e-12)


def test_frn_form_grad_check_passes_the_assignment_call_and_names_a_wrong_entry(sequence):
    x, y = sequence
    for scale in (0.01, 0.5):
        form = A.FullyRecurrentNetwork(1, 4, 1)
        copy_weights(rnnlab.FullyRecurrentNetwork(1, 4, 1, rng=2, init_scale=scale), form)
        form.forward(x, y)
        form.grad_check(1e-7, 1e-7)

        class Wrong(A.FullyRecurrentNetwork):
            def backward(self):
                super().backward()
                self.dR[2, 1] += 1e-4

        wrong = Wrong(1, 4, 1)
        for name in "WRV":
            setattr(wrong, name, getattr(form, name).copy())
        wrong.forward(x, y)
        with pytest.raises(rnnlab.GradientCheckError, match=r"dR\[2, 1\]"):
            wrong.grad_check(1e-7, 1e-7)
        np.testing.assert_array_equal(wrong.R, form.R)     # the weights are restored


def test_lstm_built_from_gates_equals_the_fused_package_lstm(sequence):
    x, y = sequence
    package = rnnlab.LSTM(1, 4, 1, rng=5, init_scale=0.5)
    form = A.LSTM(1, 4, 1)
    copy_weights(package, form)
    package.zero_grad()
    form.zero_grad()
    assert form.forward(x, y) == pytest.approx(package.forward(x, np.atleast_1d(y)), rel=1e-13)
    package.backward()
    form.backward()
    for name, g in package.grads().items():
        np.testing.assert_allclose(gradients(form, [name])[name], g, rtol=1e-10, atol=1e-15, err_msg=name)
    assert all(not gate.steps for gate in (form.z, form.i, form.o))   # every step was backpropagated
    form.update(0.2)
    package.update(0.2)
    for name, p in package.params().items():
        *path, leaf = name.split(".")
        np.testing.assert_allclose(getattr(getattr(form, path[0]) if path else form, leaf), p, rtol=1e-12)


def test_gate_form_equals_the_package_gate():
    rng = np.random.default_rng(4)
    for activation in (rnnlab.TANH, rnnlab.SIGMOID):
        package = rnnlab.Gate(2, 3, activation, rng=0, init_scale=0.7)
        form = A.Gate(2, 3, activation)
        copy_weights(package, form)
        xs, hs, gs = rng.normal(size=(4, 2)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
        for x, h in zip(xs, hs):
            np.testing.assert_allclose(form.forward(x, h), package.forward(x[None], h[None])[0], rtol=1e-13)
        for g in gs[::-1]:
            got, expected = form.backward(g), package.backward(g[None])
            for a, b in zip(got, expected):
                np.testing.assert_allclose(a, b[0], rtol=1e-12, atol=1e-15)
        for name, g in package.grads().items():
            np.testing.assert_allclose(getattr(form, "d" + name), g, rtol=1e-12)


def test_rtrl_form_equals_the_package_rtrl(sequence):
    x, y = sequence
    package = rnnlab.LSTM_RTRL(1, 4, 1, rng=6, init_scale=0.5)
    form = A.LSTM_RTRL(1, 4, 1)
    copy_weights(package, form)
    package.zero_grad()
    package.reset()
    form.reset()
    for x_t in x:
        np.testing.assert_allclose(form.forward(x_t), package.forward(x_t), rtol=1e-13)
    assert form.backward(y) == pytest.approx(package.backward(y), rel=1e-13)
    for name, g in package.grads().items():
        np.testing.assert_allclose(gradients(form, [name])[name], g, rtol=1e-10, atol=1e-15, err_msg=name)


def test_jordan_jacobian_matches_the_package_and_finite_differences():
    rng = np.random.default_rng(8)
    model = rnnlab.JordanNetwork(2, 4, 2, rng=3, init_scale=0.8)
    x = rng.normal(size=(6, 2))
    J1 = hidden_jacobians(model, x)                                   # J(t, 1), t = 1..T
    for t in range(1, 7):
        np.testing.assert_allclose(A.jordan_jacobian(model.W, model.R, model.V, x, t, 1), J1[t - 1], rtol=1e-12)

    # independent oracle: rerun the recurrence from a perturbed a(s)
    def state_after(t, s, a_s):
        y_hat = rnnlab.losses.sigmoid(model.V @ a_s)
        for x_t in x[s:t]:
            a = np.tanh(model.W @ x_t + model.R @ y_hat)
            y_hat = rnnlab.losses.sigmoid(model.V @ a)
        return a

    s, t = 2, 5
    np.testing.assert_array_equal(A.jordan_jacobian(model.W, model.R, model.V, x, s, s), np.eye(4))
    y_hat, states = np.zeros(2), []
    for x_t in x:
        states.append(np.tanh(model.W @ x_t + model.R @ y_hat))
        y_hat = rnnlab.losses.sigmoid(model.V @ states[-1])
    a_s = states[s - 1].copy()
    numeric = np.column_stack([numerical_gradient(lambda: state_after(t, s, a_s)[k], a_s) for k in range(4)]).T
    np.testing.assert_allclose(A.jordan_jacobian(model.W, model.R, model.V, x, t, s), numeric, rtol=1e-8, atol=1e-12)


def test_bounds_are_singular_values_not_eigenvalues():
    R = np.array([[0.0, 2.0], [0.0, 0.0]])          # eigenvalues 0, largest singular value 2
    assert A.frn_bound(R, 4) == pytest.approx(8.0)
    V = np.array([[3.0, 0.0]])
    assert A.jordan_bound(R[:, :1] + np.array([[2.0], [0.0]]), V, 5, 2) == pytest.approx((2 * 3 / 4) ** 3)
