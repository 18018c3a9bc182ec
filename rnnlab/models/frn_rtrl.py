r"""The fully recurrent network of chapter 2 trained by full real-time recurrent learning.

Shape legend: B sequences, D inputs, I hidden units, K outputs, U = D + I (the input of
every hidden unit, u(t) = [x(t); a(t-1)]); the recurrent weights are w = [W, R], of shape (I, U).

Williams & Zipser (1989) carry forward the sensitivity of every unit to every weight,
:math:`p^k_{ij}(t) = \partial a_k(t) / \partial w_{ij}`, with no truncation:

.. math::

    p^k_{ij}(t) = \bigl(1 - a_k(t)^2\bigr) \Bigl( \sum_l R_{kl}\, p^l_{ij}(t-1) + [k = i]\, u_j(t) \Bigr),
    \qquad p(0) = 0,

    \nabla_{w_{ij}} L \mathrel{+}= \sum_k \bigl(V^\top \psi(t)\bigr)_k\, p^k_{ij}(t) \qquad (5.1)

(the gradient at a step with a loss, available at once), and
:math:`\nabla_V L \mathrel{+}= \psi(t)\, a(t)^\top` (Eq. 2.10).

— the gradient BPTT computes, for O(I³) numbers of memory (I · I · U) and O(I⁴)
operations per step (the sum over l for every k, i, j), whatever the sequence length.

See chapter 5, *Real-time recurrent learning* (section *RTRL in general*).
"""

import numpy as np

from rnnlab._threads import one_blas_thread
from rnnlab._validation import (
    as_generator,
    check_inputs,
    check_positive_int,
    check_step_input,
    check_step_target,
)
from rnnlab.losses import bce_with_logits, bce_with_logits_grad, sigmoid
from rnnlab.models.base import OnlineModel

__all__ = ["FRN_RTRL"]


class FRN_RTRL(OnlineModel):
    r"""The FRN of chapter 2 (Eqs. 2.1-2.3) learning online with full RTRL (Eq. 5.1).

    Parameters
    ----------
    D, I, K : int
        Numbers of input, hidden and output units.
    rng : None, int or numpy.random.Generator
        Source of the initial weights (drawn as by
        :class:`~rnnlab.models.frn.FullyRecurrentNetwork`, so the same seed gives the same network).
    init_scale : float, default 0.01
        Weights start uniform in ``[-init_scale, init_scale]``.

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, I)
    V : ndarray of shape (K, I)
    dW, dR, dV : ndarray
        Gradient buffers, same shapes.
    P : ndarray of shape (B, I, I, U)
        After :meth:`reset`: ``P[b, k, i, j]`` is :math:`p^k_{ij}`, the sensitivity of unit k to
        entry (i, j) of ``[W, R]``.

    See chapter 5, *Real-time recurrent learning* (section *RTRL in general*).

    Examples
    --------
    >>> net = FRN_RTRL(D=1, I=3, K=1, rng=0)
    >>> net.reset()
    >>> y_hat = net.forward(np.array([1.0]))
    >>> round(net.backward(np.array([1.0])), 4), net.P.shape
    (0.6931, (1, 3, 3, 4))
    """

    param_names = ("W", "R", "V")

    def __init__(self, D, I, K, rng=None, init_scale=0.01):
        self.D = check_positive_int("D", D)
        self.I = check_positive_int("I", I)
        self.K = check_positive_int("K", K)
        self.rng = as_generator(rng)
        self._allocate(init_scale, W=(self.I, self.D), R=(self.I, self.I), V=(self.K, self.I))
        self.batch_size = None       # set by reset()
        self._step = None            # what backward needs from the current step

    def reset(self, batch_size=None):
        """Start new sequences: activations and sensitivities to zero.

        Parameters
        ----------
        batch_size : int, optional
            Number of sequences processed side by side. ``None`` means one sequence
            whose inputs and targets come without a batch axis (``x_t`` of shape (D,)).
        """
        self._single = batch_size is None
        B = 1 if self._single else check_positive_int("batch_size", batch_size)
        self.batch_size = B
        self.a = np.zeros((B, self.I))                                  # a(0) = 0
        self.P = np.zeros((B, self.I, self.I, self.D + self.I))         # p(0) = 0: O(I^3) numbers
        self._step = None

    def forward(self, x_t):
        r"""One time step: the activations (Eqs. 2.1-2.2) and the sensitivities (Eq. 5.1).

        Parameters
        ----------
        x_t : array_like of shape (D,) or (B, D)
            ``(D,)`` after ``reset()``, ``(B, D)`` after ``reset(B)``.

        Returns
        -------
        ndarray of shape (K,) or (B, K)
            :math:`\hat y(t) = \sigma(V a(t))`.
        """
        if self.batch_size is None:
            raise RuntimeError("FRN_RTRL.forward() needs reset(batch_size=None or B) first, to start sequences")
        lead = () if self._single else (self.batch_size,)
        x = check_step_input(x_t, lead, self.D)                       # (B, D)
        W, R, V, P = self.W, self.R, self.V, self.P
        B, I = self.batch_size, self.I
        u = np.concatenate([x, self.a], axis=1)                       # (B, U): [x(t); a(t - 1)]
        a = np.tanh(x @ W.T + self.a @ R.T)                           # Eqs. (2.1)-(2.2)
        # Eq. (5.1): sum_l R_kl p^l_ij(t-1), for every k, i, j at once: the O(I^4) product
        RP = R @ P.reshape(B, I, -1)                                  # (B, I, I U)
        RP.reshape(P.shape)[:, np.arange(I), np.arange(I), :] += u[:, None, :]   # + [k = i] u_j(t)
        RP *= (1.0 - a * a)[:, :, None]
        self.P = RP.reshape(P.shape)
        self.a = a
        z = a @ V.T                                                   # (B, K): Eq. (2.3)
        self._step = z
        y_hat = sigmoid(z)
        return y_hat[0] if self._single else y_hat

    def backward(self, y):
        """Add the gradient of this step's loss (mean over the batch) into the gradients (Eq. 5.1).

        Parameters
        ----------
        y : array_like of shape (K,) or (B, K)
            Target of the current step, in [0, 1].

        Returns
        -------
        float
            The loss of this step, averaged over the batch.
        """
        if self._step is None:
            raise RuntimeError("FRN_RTRL.backward(y) needs a forward(x_t) for the current step first")
        lead = () if self._single else (self.batch_size,)
        y = check_step_target(y, lead, self.K)
        z, B, D = self._step, self.batch_size, self.D
        psi = bce_with_logits_grad(z, y) / B                          # (B, K): Eq. (2.6)
        self.dV += psi.T @ self.a
        dL_da = psi @ self.V                                          # (B, I): V^T psi(t)
        grad_w = (dL_da[:, None, :] @ self.P.reshape(B, self.I, -1)).sum(axis=0)   # Eq. (5.1), (I U,)
        grad_w = grad_w.reshape(self.I, -1)
        self.dW += grad_w[:, :D]
        self.dR += grad_w[:, D:]
        return float(bce_with_logits(z, y).sum() / B)

    @one_blas_thread
    def predict(self, x):
        r"""Prediction :math:`\hat y(T)` for whole sequences (restarts the state with ``reset``).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)

        Returns
        -------
        ndarray of shape (K,) or (B, K)
        """
        x3, single = check_inputs(x, self.D)
        B, T, _ = x3.shape
        a = np.zeros((B, self.I))
        for t in range(T):                                            # no sensitivities needed
            a = np.tanh(x3[:, t] @ self.W.T + a @ self.R.T)
        y_hat = sigmoid(a @ self.V.T)
        return y_hat[0] if single else y_hat
