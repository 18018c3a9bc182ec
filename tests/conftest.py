"""Independent oracles for the gradient tests: nothing here calls rnnlab's backward."""

import numpy as np
import pytest

from rnnlab import FullyRecurrentNetwork


def numerical_gradient(f, p, h=1e-3):
    """Central differences of the scalar function ``f()`` w.r.t. every entry of the array ``p``.

    Fourth-order stencil (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: its truncation
    error is O(h^4), so a relatively large h keeps float64 round-off near 1e-13 and
    the oracle is trustworthy to far below the 1e-8 the tests demand.
    ``p`` is perturbed in place and restored; ``f`` must read it.
    """
    grad = np.zeros_like(p)
    for j in np.ndindex(p.shape):
        old = p[j]
        values = []
        for step in (-2, -1, 1, 2):
            p[j] = old + step * h
            values.append(f())
        p[j] = old
        grad[j] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a|, |b|) over all entries (0 if both are zero)."""
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(np.abs(a - b).max() / scale) if scale > 0 else 0.0


def assert_gradients_match(model, loss, tol=1e-8):
    """Every gradient buffer of ``model`` against central differences of ``loss()``.

    ``loss`` is the test's own reference (never the model's backward) and must read the
    model's live parameter arrays, which are perturbed in place.
    """
    for name, p in model.params().items():
        err = relative_error(model.grads()[name], numerical_gradient(loss, p))
        assert err < tol, f"{name}: relative error {err:.2e}"


def log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


class FRNWithoutRecurrence(FullyRecurrentNetwork):
    """The classic student bug, as a test double: delta(t) forgets R^T delta(t + 1)."""

    def _backward(self, psi):
        x, a = self._cache
        B, T, I = a.shape
        delta = (1.0 - a**2) * (psi @ self.V)
        a_prev = np.concatenate([np.zeros((B, 1, I)), a[:, :-1]], axis=1)
        self.dW += delta.reshape(-1, I).T @ x.reshape(B * T, -1)
        self.dR += delta.reshape(-1, I).T @ a_prev.reshape(-1, I)
        self.dV += psi.reshape(B * T, -1).T @ a.reshape(-1, I)
