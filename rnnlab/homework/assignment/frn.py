r"""The assignment's fully recurrent network: one sequence, a loss at its last step.

Students receive ``__init__`` and ``forward`` and write ``backward``, ``grad_check`` and
``update`` (the exercises of chapter 2); the methods below are the solutions. Vectors are
1-d arrays, so :math:`W x(t)` is ``W @ x[t]``. :class:`rnnlab.models.frn.FullyRecurrentNetwork`
computes the same on batches.

Shape legend: T time steps, D inputs, I hidden units, K outputs.

See chapter 2, *The fully recurrent network* (section *Exercises*).
"""

import numpy as np

from rnnlab.losses import bce_with_logits, sigmoid
from rnnlab.models.base import GradientCheckError, central_difference

__all__ = ["FullyRecurrentNetwork"]


class FullyRecurrentNetwork:
    r"""Fully recurrent network for one sequence with a loss at t = T, Eqs. (2.1)-(2.4).

    .. math::

        s(t) = W x(t) + R a(t-1), \quad a(t) = \tanh(s(t)), \quad a(0) = 0, \qquad
        z = V a(T), \quad L = y \operatorname{softplus}(-z) + (1 - y) \operatorname{softplus}(z)

    Parameters
    ----------
    D, I, K : int
        Numbers of input, hidden and output units.
    rng : None, int or numpy.random.Generator
        Source of the initial weights, uniform in [-0.01, 0.01].

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, I)
    V : ndarray of shape (K, I)
    x, y, a, z : ndarray
        Stored by :meth:`forward`: x of shape (T, D), y of shape (K,), a(1)..a(T) of
        shape (T, I) and the logits z = V a(T) of shape (K,).
    dW, dR, dV : ndarray
        The gradients, filled by :meth:`backward`.

    See chapter 2, *The fully recurrent network*.
    """

    def __init__(self, D, I, K, rng=None):
        rng = np.random.default_rng(rng)
        self.W = rng.uniform(-0.01, 0.01, size=(I, D))
        self.R = rng.uniform(-0.01, 0.01, size=(I, I))
        self.V = rng.uniform(-0.01, 0.01, size=(K, I))

    def forward(self, x, y):
        """Loss of one sequence at its last step, Eqs. (2.1)-(2.4).

        Parameters
        ----------
        x : array_like of shape (T, D)
        y : float or array_like of shape (K,)
            The target at t = T.

        Returns
        -------
        float
            The loss; ``x``, ``y``, ``a`` and ``z`` are stored for :meth:`backward`.
        """
        K, I, D = self.V.shape[0], self.W.shape[0], self.W.shape[1]
        self.x = np.asarray(x, dtype=float)
        if self.x.ndim != 2 or self.x.shape[1] != D:
            raise ValueError(f"x must have shape (T, D) with D = {D}; got shape {self.x.shape}")
        self.y = np.full(K, y, dtype=float) if np.ndim(y) == 0 else np.asarray(y, dtype=float)
        self.a = np.zeros((len(self.x), I))
        a_prev = np.zeros(I)                                      # a(0) = 0
        for t in range(len(self.x)):
            self.a[t] = a_prev = np.tanh(self.W @ self.x[t] + self.R @ a_prev)   # Eqs. (2.1), (2.2)
        self.z = self.V @ self.a[-1]                              # Eq. (2.3) at t = T
        return float(bce_with_logits(self.z, self.y).sum())      # Eq. (2.4)

    def backward(self):
        r"""Backpropagation through time for the loss at T: fills ``dW``, ``dR``, ``dV``.

        :math:`\psi(T) = \sigma(z) - y` and :math:`\psi(t) = 0` for t < T (Eqs. 2.6, 2.11);
        :math:`\delta(t) = (1 - a(t)^2) \odot (V^\top \psi(t) + R^\top \delta(t+1))`,
        :math:`\delta(T+1) = 0` (Eq. 2.7); the gradients are Eqs. (2.8)-(2.10).
        """
        x, a, R, V = self.x, self.a, self.R, self.V
        T = len(x)
        psi = sigmoid(self.z) - self.y                            # Eq. (2.6), at T only
        self.dW, self.dR = np.zeros_like(self.W), np.zeros_like(R)
        self.dV = np.outer(psi, a[-1])                            # Eq. (2.10)
        delta = np.zeros(len(R))                                  # delta(T + 1) = 0
        for t in reversed(range(T)):
            from_output = V.T @ psi if t == T - 1 else 0.0
            delta = (1.0 - a[t] ** 2) * (from_output + R.T @ delta)   # Eq. (2.7)
            a_prev = a[t - 1] if t > 0 else np.zeros_like(a[t])       # a(0) = 0
            self.dW += np.outer(delta, x[t])                          # Eq. (2.8)
            self.dR += np.outer(delta, a_prev)                        # Eq. (2.9)

    def grad_check(self, eps, thresh):
        """Compare :meth:`backward` with central differences (Eq. 2.12) on the stored sequence.

        Parameters
        ----------
        eps : float
            Step of the central difference.
        thresh : float
            Largest allowed distance between an analytic and a numerical entry.

        Raises
        ------
        rnnlab.models.base.GradientCheckError
            Naming the first parameter with an entry farther than ``thresh``, and that entry.
        """
        x, y = self.x, self.y
        self.forward(x, y)
        self.backward()                       # the analytic gradient at the current weights
        for name in ("W", "R", "V"):
            numeric = central_difference(lambda: self.forward(x, y), getattr(self, name), eps)
            distance = np.abs(getattr(self, "d" + name) - numeric)
            worst = np.unravel_index(np.argmax(distance), distance.shape)
            if distance[worst] > thresh:
                raise GradientCheckError(
                    f"d{name}{list(map(int, worst))} is {getattr(self, 'd' + name)[worst]:+.6e}, the central "
                    f"difference {numeric[worst]:+.6e}: distance {distance[worst]:.1e} > thresh {thresh:g}")
        self.forward(x, y)                    # leave the stored pass at the unperturbed weights

    def update(self, eta):
        r"""One step of gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla_\theta L` (Eq. 2.13)."""
        self.W -= eta * self.dW
        self.R -= eta * self.dR
        self.V -= eta * self.dV
