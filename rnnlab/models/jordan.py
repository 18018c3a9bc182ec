r"""The Jordan network: the *output*, not the hidden state, is fed back.

Shape legend: B sequences, T time steps, D inputs, I hidden units, K outputs.
Rows are sequences: :math:`R\, \hat y(t-1)` is ``y_hat[:, t - 1] @ R.T``.

See chapter 3, *Vanishing gradients*.
"""

import numpy as np

from rnnlab._validation import check_positive_int
from rnnlab.models.base import Model
from rnnlab.losses import sigmoid

__all__ = ["JordanNetwork"]


class JordanNetwork(Model):
    r"""Jordan network (Jordan 1986) with tanh hidden units and sigmoid outputs, no biases.

    .. math::

        s(t) = W x(t) + R\, \hat y(t-1), \quad \hat y(0) = 0 \qquad (3.7)

        a(t) = \tanh(s(t)), \quad z(t) = V a(t), \quad \hat y(t) = \sigma(z(t)) \qquad (3.8)

    Backpropagation through time: with :math:`\psi(t)` the error of the loss
    at step t itself, the total error at the logits and the hidden error are

    .. math::

        \bar\psi(t) = \psi(t) + \sigma'(z(t)) \odot R^\top \delta(t+1), \qquad
        \delta(t) = (1 - a(t)^2) \odot V^\top \bar\psi(t) \qquad (3.9)

    and :math:`\nabla_W L = \sum_t \delta(t) x(t)^\top`,
    :math:`\nabla_R L = \sum_t \delta(t) \hat y(t-1)^\top`,
    :math:`\nabla_V L = \sum_t \bar\psi(t) a(t)^\top` (3.10).

    See chapter 3, *Vanishing gradients* (section *The Jordan network*).

    Parameters
    ----------
    D, I, K : int
        Numbers of input, hidden and output units.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    init_scale : float, default 0.01
        Weights start uniform in ``[-init_scale, init_scale]``.

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, K)
        Recurrent weights from the K outputs back to the hidden units.
    V : ndarray of shape (K, I)
    dW, dR, dV : ndarray
        Gradients of the loss, same shapes.
    """

    param_names = ("W", "R", "V")

    def __init__(self, D, I, K, rng=None, init_scale=0.01):
        super().__init__(D, K, rng)
        self.I = I = check_positive_int("I", I)
        D, K = self.D, self.K
        self._allocate(init_scale, W=(I, D), R=(I, K), V=(K, I))
        self._cache = None

    def _forward(self, x):
        """Forward pass: x of shape (B, T, D) -> logits z of shape (B, T, K)."""
        W, R, V = self.W, self.R, self.V
        B, T, _ = x.shape
        s = x @ W.T                                   # (B, T, I): W x(t) for all t
        a = np.empty_like(s)                          # (B, T, I)
        z = np.empty((B, T, self.K))                  # (B, T, K)
        y_prev = np.zeros((B, self.K))                # y_hat(0) = 0
        for t in range(T):
            s[:, t] += y_prev @ R.T                   # Eq. (3.7)
            a[:, t] = np.tanh(s[:, t])                # Eq. (3.8)
            z[:, t] = a[:, t] @ V.T
            y_prev = sigmoid(z[:, t])
        self._cache = (x, a, sigmoid(z))
        return z

    def _backward(self, psi):
        """BPTT from psi = dL/dz(t) (direct part) of shape (B, T, K), Eqs. (3.9)-(3.10)."""
        R, V = self.R, self.V
        x, a, y_hat = self._cache
        B, T, I = a.shape
        psi_bar = np.empty_like(psi)                  # (B, T, K): total error at z(t)
        delta = np.empty_like(a)                      # (B, T, I)
        back = np.zeros((B, self.K))                  # R^T delta(t + 1), zero at t = T
        for t in reversed(range(T)):
            psi_bar[:, t] = psi[:, t] + y_hat[:, t] * (1.0 - y_hat[:, t]) * back   # Eq. (3.9)
            delta[:, t] = (1.0 - a[:, t] ** 2) * (psi_bar[:, t] @ V)
            back = delta[:, t] @ R
        y_prev = np.concatenate([np.zeros((B, 1, self.K)), y_hat[:, :-1]], axis=1)
        self.dW += delta.reshape(-1, I).T @ x.reshape(B * T, -1)                   # Eq. (3.10)
        self.dR += delta.reshape(-1, I).T @ y_prev.reshape(B * T, -1)
        self.dV += psi_bar.reshape(B * T, -1).T @ a.reshape(-1, I)
