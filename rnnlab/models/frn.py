r"""The fully recurrent network (FRN) trained by backpropagation through time.

Shape legend: B sequences, T time steps, D inputs, I hidden units, K outputs.
Equations are written for column vectors; the code keeps one sequence per row,
so :math:`W x(t)` is ``x[:, t] @ W.T``.

See chapter 2, *The fully recurrent network*.
"""

import numpy as np

from rnnlab._validation import check_positive_int
from rnnlab.models.base import Model

__all__ = ["FullyRecurrentNetwork"]


class FullyRecurrentNetwork(Model):
    r"""Fully recurrent network with tanh hidden units and sigmoid outputs, no biases.

    .. math::

        s(t) = W x(t) + R a(t-1), \quad a(0) = 0 \qquad (2.1)

        a(t) = \tanh(s(t)) \qquad (2.2)

        z(t) = V a(t), \quad \hat y(t) = \sigma(z(t)) \qquad (2.3)

    Parameters
    ----------
    D, I, K : int
        Numbers of input, hidden and output units.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    init_scale : float, default 0.01
        Weights start uniform in ``[-init_scale, init_scale]``.
    recurrent_init : {"uniform", "orthogonal", "identity"}, default "uniform"
        How ``R`` starts: uniform like the other weights, a random orthogonal matrix
        (every singular value 1), or the identity (chapter 3, section *Remedies*).
    truncation : int, optional
        Truncated BPTT: the sequence is cut into chunks of ``truncation`` steps and the
        error does not flow back across a chunk boundary — the state entering a chunk
        counts as a constant input (chapter 2, section *Truncated BPTT*). ``None`` (the
        default) is full BPTT.

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, I)
    V : ndarray of shape (K, I)
    dW, dR, dV : ndarray
        Gradients of the loss, same shapes, filled by ``backward()``.

    See chapter 2, *The fully recurrent network*.

    Examples
    --------
    >>> net = FullyRecurrentNetwork(D=1, I=4, K=1, rng=0)
    >>> loss = net.forward(np.ones((5, 1)), np.array([1.0]))
    >>> net.backward()
    >>> sorted(net.grads())
    ['R', 'V', 'W']
    """

    param_names = ("W", "R", "V")

    def __init__(self, D, I, K, rng=None, init_scale=0.01, recurrent_init="uniform", truncation=None):
        super().__init__(D, K, rng)
        self.truncation = None if truncation is None else check_positive_int("truncation", truncation)
        self.I = I = check_positive_int("I", I)
        D, K = self.D, self.K
        self._allocate(init_scale, W=(I, D), R=(I, I), V=(K, I))
        if recurrent_init == "orthogonal":
            q, r = np.linalg.qr(self.rng.normal(size=(I, I)))
            self.R[...] = q * np.sign(np.diag(r))           # sign fix: uniformly distributed (Haar)
        elif recurrent_init == "identity":
            self.R[...] = np.eye(I)
        elif recurrent_init != "uniform":
            raise ValueError(f"recurrent_init must be 'uniform', 'orthogonal' or 'identity'; got {recurrent_init!r}")
        self._cache = None

    def _forward(self, x):
        """Forward pass over a batch: x of shape (B, T, D) -> logits z of shape (B, T, K)."""
        W, R, V = self.W, self.R, self.V
        B, T, _ = x.shape
        s = x @ W.T                       # (B, T, I): the W x(t) part of Eq. (2.1), all t at once
        a = np.empty_like(s)              # (B, T, I)
        a_prev = np.zeros((B, self.I))    # a(0) = 0
        for t in range(T):
            s[:, t] += a_prev @ R.T                   # Eq. (2.1)
            a[:, t] = a_prev = np.tanh(s[:, t])       # Eq. (2.2)
        self._cache = (x, a)
        return a @ V.T                    # (B, T, K): Eq. (2.3)

    def _backward(self, psi):
        """BPTT from psi = dL/dz of shape (B, T, K), Eqs. (2.7)-(2.10)."""
        R, V = self.R, self.V
        x, a = self._cache
        B, T, I = a.shape
        from_output = psi @ V             # (B, T, I): V^T psi(t) for every t
        delta = np.empty_like(a)          # (B, T, I): delta(t) = dL/ds(t)
        delta_next = np.zeros((B, I))     # delta(T + 1) = 0
        k = self.truncation or T + 1
        for t in reversed(range(T)):
            if (t + 1) % k == 0:
                delta_next = np.zeros((B, I))    # truncated BPTT: no error crosses into the previous chunk
            # Eq. (2.7): the error from the output at t plus the error from s(t + 1) through R
            delta[:, t] = delta_next = (1.0 - a[:, t] ** 2) * (from_output[:, t] + delta_next @ R)
        a_prev = np.concatenate([np.zeros((B, 1, I)), a[:, :-1]], axis=1)   # a(t - 1), a(0) = 0
        self.dW += delta.reshape(-1, I).T @ x.reshape(B * T, -1)            # Eq. (2.8)
        self.dR += delta.reshape(-1, I).T @ a_prev.reshape(-1, I)           # Eq. (2.9)
        self.dV += psi.reshape(B * T, -1).T @ a.reshape(-1, I)              # Eq. (2.10)
