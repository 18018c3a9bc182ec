"""rnnlab/training/analysis.py: Jacobians against finite differences, and the spectral-norm bound."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import numerical_gradient, relative_error
from rnnlab import FullyRecurrentNetwork, JordanNetwork
from rnnlab.training.analysis import hidden_jacobians, input_gradient, spectral_norms
from test_frn import reference_loss as frn_loss
from test_jordan import reference_loss as jordan_loss


def hidden_state(model, x, t, a1):
    """a(t) of the forward pass started from a given a(1) (replaces the t = 1 state)."""
    a = a1
    y_hat = 1 / (1 + np.exp(-(model.V @ a)))
    for step in range(1, t):
        if isinstance(model, FullyRecurrentNetwork):
            a = np.tanh(model.W @ x[step] + model.R @ a)
        else:
            a = np.tanh(model.W @ x[step] + model.R @ y_hat)
            y_hat = 1 / (1 + np.exp(-(model.V @ a)))
    return a


# The Jordan network's Jacobians shrink by sigma' <= 1/4 per step, to entries near 1e-7:
# the oracles below run in extended precision (np.longdouble) so that their round-off
# stays far below the 1e-8 relative tolerance even then.
CASES = [(FullyRecurrentNetwork, 0.8), (JordanNetwork, 1.5)]


@pytest.mark.parametrize("cls, scale", CASES)
def test_jacobians_match_finite_differences(rng, cls, scale):
    model = cls(1, 5, 2, rng=rng, init_scale=scale)
    x = rng.normal(size=(6, 1))
    J = hidden_jacobians(model, x)
    assert J.shape == (6, 5, 5)
    np.testing.assert_array_equal(J[0], np.eye(5))
    a1 = np.tanh(model.W @ x[0]).astype(np.longdouble)
    for t in (2, 4, 6):
        numeric = np.empty((5, 5))
        for i in range(5):
            numeric[i] = numerical_gradient(lambda: hidden_state(model, x, t, a1)[i], a1)
        assert relative_error(J[t - 1], numeric.astype(float)) < 1e-8


@pytest.mark.parametrize("cls, scale", CASES)
def test_input_gradient_matches_finite_differences(rng, cls, scale):
    model = cls(1, 6, 1, rng=rng, init_scale=scale)
    x = rng.normal(size=(9 if cls is FullyRecurrentNetwork else 4, 1))  # Jordan: keep the signal > 1e-6
    y = np.array([1.0])
    reference = frn_loss if cls is FullyRecurrentNetwork else jordan_loss
    x_ld = x[None].astype(np.longdouble)
    numeric = numerical_gradient(lambda: reference(model.W, model.R, model.V, x_ld, y[None]), x_ld)[0, 0]
    assert relative_error(input_gradient(model, x, y), numeric.astype(float)) < 1e-8


def test_spectral_norm_is_the_largest_singular_value_not_eigenvalue():
    A = np.array([[[0.0, 2.0], [0.0, 0.0]]])  # nilpotent: every eigenvalue is 0
    assert spectral_norms(A)[0] == pytest.approx(2.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), I=st.integers(1, 12), T=st.integers(2, 25),
       norm=st.floats(0.1, 4.0), input_scale=st.floats(0.0, 3.0))
def test_bound_holds_on_random_networks(seed, I, T, norm, input_scale):
    """||d a(t)/d a(1)||_2 <= ||R||_2^(t-1) for every t (Theorem 3.1)."""
    rng = np.random.default_rng(seed)
    model = FullyRecurrentNetwork(1, I, 1, rng=rng, init_scale=1.0)
    model.R *= norm / np.linalg.norm(model.R, 2)
    x = input_scale * rng.normal(size=(T, 1))
    measured = spectral_norms(hidden_jacobians(model, x))
    bound = norm ** np.arange(T)
    assert np.all(measured <= bound * (1 + 1e-10) + 1e-300)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), I=st.integers(1, 8), K=st.integers(1, 3), T=st.integers(2, 15))
def test_jordan_bound_holds_on_random_networks(seed, I, K, T):
    """||d a(t)/d a(1)||_2 <= (||R||_2 ||V||_2 / 4)^(t-1) for the Jordan network."""
    rng = np.random.default_rng(seed)
    model = JordanNetwork(1, I, K, rng=rng, init_scale=2.0)
    x = rng.normal(size=(T, 1))
    measured = spectral_norms(hidden_jacobians(model, x))
    gamma = np.linalg.norm(model.R, 2) * np.linalg.norm(model.V, 2) / 4
    assert np.all(measured <= gamma ** np.arange(T) * (1 + 1e-10) + 1e-300)


def test_analysis_refuses_a_batch(rng):
    with pytest.raises(ValueError, match=r"one sequence of shape \(T, D\)"):
        hidden_jacobians(FullyRecurrentNetwork(1, 3, 1, rng=0), np.zeros((2, 4, 1)))
