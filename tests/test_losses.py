"""rnnlab/losses.py: the stable binary cross-entropy on logits."""

import numpy as np

from conftest import log_sigmoid, numerical_gradient
from rnnlab.losses import bce_with_logits, bce_with_logits_grad, softplus


def test_softplus_matches_the_naive_formula_where_that_is_safe():
    u = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(softplus(u), np.log1p(np.exp(u)), rtol=1e-12, atol=1e-300)


def test_bce_matches_the_textbook_form():
    z = np.linspace(-20, 20, 41)
    for y in (0.0, 0.3, 1.0):
        expected = -y * log_sigmoid(z) - (1 - y) * log_sigmoid(-z)
        np.testing.assert_allclose(bce_with_logits(z, y), expected, rtol=1e-12, atol=1e-15)


def test_hand_worked_values():
    # z = 0: sigma = 1/2, the loss is log 2 whatever the target.
    np.testing.assert_allclose(bce_with_logits(np.zeros(3), np.array([0.0, 0.5, 1.0])), np.log(2))
    # z = log 3: sigma = 3/4, target 1 costs log(4/3), target 0 costs log 4.
    z = np.log(3.0)
    np.testing.assert_allclose(bce_with_logits(z, 1.0), np.log(4 / 3))
    np.testing.assert_allclose(bce_with_logits(z, 0.0), np.log(4))


def test_huge_logits_are_finite_and_warning_free():
    # pytest runs with warnings as errors: an overflow warning would fail here.
    z = np.array([-1e4, -1e3, 1e3, 1e4])
    for y in (0.0, 1.0):
        loss = bce_with_logits(z, y)
        assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(bce_with_logits(z, 1.0), [1e4, 1e3, 0.0, 0.0])
    np.testing.assert_allclose(bce_with_logits(z, 0.0), [0.0, 0.0, 1e3, 1e4])
    np.testing.assert_allclose(bce_with_logits_grad(z, 1.0), [-1.0, -1.0, 0.0, 0.0])


def test_gradient_is_sigmoid_minus_target():
    z = np.array([-3.0, -0.5, 0.0, 1.2, 4.0])
    y = np.array([0.0, 1.0, 0.2, 1.0, 0.0])
    numeric = numerical_gradient(lambda: bce_with_logits(z, y).sum(), z)
    np.testing.assert_allclose(bce_with_logits_grad(z, y), numeric, rtol=1e-8, atol=1e-10)
