r"""The compiled engine of :class:`~rnnlab.models.lstm.LSTM` (BPTT): the same network and gradient
in numba loops, so that full BPTT and truncated RTRL can be compared at the same speed.

Shape legend: B sequences, T time steps, D inputs, I memory cells, K outputs,
U = D + I + 1 (the gates' input u(t) = [x(t); h(t-1); 1]).

Per sequence the kernel runs the forward pass of Eqs. (4.1)-(4.4), storing u(t), z(t), i(t),
o(t) and tanh c(t) (O(T I) numbers, as BPTT must), then the backward pass of chapter 4,

.. math::

    \nabla_{h(t)} L = W_y^\top \psi(t) + R^\top \delta(t+1), \qquad
    \nabla_{c(t)} L = \nabla_{c(t+1)} L + \nabla_{h(t)} L \odot o(t) \odot \bigl(1 - \tanh^2 c(t)\bigr)
    \qquad (4.6), (4.7)

with the gate errors δ(t) of Eq. (4.8) and the weight gradients δ(t) u(t)ᵀ of Eq. (4.5).
With ``truncate=True`` the term :math:`R^\top \delta(t+1)` is dropped: the gradient of
chapter 5's truncated RTRL. ``tests/test_lstm_numba.py`` pins it to the numpy class.

See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).
"""

import numpy as np
from numba import njit

from rnnlab._validation import check_inputs, check_positive_float, check_sequences
from rnnlab.models.base import DivergenceError
from rnnlab.models.lstm import LSTM
from rnnlab.models.lstm_rtrl_numba import _predict, _sgd_step, _sigmoid, _softplus, _stacked, _tanh, _zero

__all__ = ["LSTM_Numba"]


@njit(cache=True, fastmath=True)
def _bptt_sequence(WT, R, W_y, b_y, dW, dR, db, dW_y, db_y, x, y, has_target, truncate, scale, store):
    """Forward and backward pass of one sequence x (T, D) with targets y (T, K); return scale * loss.

    ``store`` holds the scratch arrays (u (T, U), z, i, o, tanh_c, h (T, I), c (I,), s (3I,),
    psi (T, K), delta (3I,), dh_next (I,)).
    """
    u, z, i, o, tanh_c, h, c, s, psi, delta, dh_next = store
    T, D = x.shape
    I, K = R.shape[1], W_y.shape[0]
    U = D + I + 1
    c[:] = 0.0
    loss = 0.0
    for t in range(T):                                  # forward, Eqs. (4.1)-(4.4)
        for k in range(D):
            u[t, k] = x[t, k]
        for k in range(I):
            u[t, D + k] = h[t - 1, k] if t > 0 else 0.0
        u[t, D + I] = 1.0
        s[:] = 0.0
        for k in range(U):
            for j in range(3 * I):
                s[j] += WT[k, j] * u[t, k]
        for n in range(I):
            z[t, n] = _tanh(s[n])
            i[t, n] = _sigmoid(s[I + n])
            o[t, n] = _sigmoid(s[2 * I + n])
            c[n] += z[t, n] * i[t, n]
            tanh_c[t, n] = _tanh(c[n])
            h[t, n] = tanh_c[t, n] * o[t, n]
        for m in range(K):
            psi[t, m] = 0.0
            if has_target[t]:
                logit = b_y[m]
                for n in range(I):
                    logit += W_y[m, n] * h[t, n]
                loss += y[t, m] * _softplus(-logit) + (1.0 - y[t, m]) * _softplus(logit)
                psi[t, m] = (_sigmoid(logit) - y[t, m]) * scale     # Eq. (2.6)
                db_y[m] += psi[t, m]
                for n in range(I):
                    dW_y[m, n] += psi[t, m] * h[t, n]
    dh_next[:] = 0.0
    dc = c                                              # reused: the error at c(t), from c(T + 1) = 0
    dc[:] = 0.0
    for t in range(T - 1, -1, -1):                      # backward, Eqs. (4.6)-(4.8) and (4.5)
        for n in range(I):
            dh = dh_next[n]                             # Eq. (4.6)
            for m in range(K):
                dh += W_y[m, n] * psi[t, m]
            dc[n] += dh * o[t, n] * (1.0 - tanh_c[t, n] * tanh_c[t, n])     # Eq. (4.7)
            delta[n] = dc[n] * i[t, n] * (1.0 - z[t, n] * z[t, n])          # Eq. (4.8) times phi'
            delta[I + n] = dc[n] * z[t, n] * i[t, n] * (1.0 - i[t, n])
            delta[2 * I + n] = dh * tanh_c[t, n] * o[t, n] * (1.0 - o[t, n])
        for j in range(3 * I):                          # Eq. (4.5)
            for k in range(D):
                dW[j, k] += delta[j] * u[t, k]
            for k in range(I):
                dR[j, k] += delta[j] * u[t, D + k]
            db[j] += delta[j]
        dh_next[:] = 0.0
        if not truncate:
            for j in range(3 * I):                      # R^T delta(t): the error reaching h(t - 1)
                for n in range(I):
                    dh_next[n] += R[j, n] * delta[j]
    return loss * scale


@njit(cache=True, fastmath=True)
def _scratch(T, D, I, K):
    return (np.empty((T, D + I + 1)), np.empty((T, I)), np.empty((T, I)), np.empty((T, I)), np.empty((T, I)),
            np.empty((T, I)), np.empty(I), np.empty(3 * I), np.empty((T, K)), np.empty(3 * I), np.empty(I))


@njit(cache=True, fastmath=True)
def _bptt(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, x, y, has_target, truncate, scale):
    """BPTT over a batch x (B, T, D), y (B, T, K); adds scale * gradient, returns scale * summed loss."""
    B, T, D = x.shape
    store = _scratch(T, D, R.shape[1], W_y.shape[0])
    WT = _stacked(W, R, b)
    loss = 0.0
    for q in range(B):
        loss += _bptt_sequence(WT, R, W_y, b_y, dW, dR, db, dW_y, db_y, x[q], y[q], has_target, truncate,
                               scale, store)
    return loss


@njit(cache=True, fastmath=True)
def _sgd_online_bptt(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, x, y, has_target, truncate, eta, max_weight):
    """One gradient-descent update per sequence of x (n, T, D); losses (n,) and updates done."""
    n, T, D = x.shape
    store = _scratch(T, D, R.shape[1], W_y.shape[0])
    losses = np.empty(n)
    for q in range(n):
        _zero(dW, dR, db, dW_y, db_y)
        losses[q] = _bptt_sequence(_stacked(W, R, b), R, W_y, b_y, dW, dR, db, dW_y, db_y, x[q], y[q],
                                   has_target, truncate, 1.0, store)
        if not _sgd_step(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, eta) <= max_weight:
            return losses[:q + 1], q + 1
    return losses, n


class LSTM_Numba(LSTM):
    r""":class:`~rnnlab.models.lstm.LSTM` (no forget gate) with compiled whole-sequence methods.

    The same weights (the same seed gives the same network), parameters, gradient buffers,
    ``forward``/``backward``/``grad_check`` (inherited, numpy) and the same results:
    :meth:`loss_and_gradient` and :meth:`predict` run numba kernels of BPTT, and
    :meth:`sgd_online` trains one sequence per update without leaving compiled code.

    Parameters
    ----------
    D, I, K, rng, init_scale, input_bias, output_bias, truncate
        As for :class:`~rnnlab.models.lstm.LSTM` (``forget_gate`` is not offered).

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).

    Examples
    --------
    >>> fast = LSTM_Numba(D=1, I=4, K=1, rng=0)
    >>> round(fast.loss_and_gradient(np.ones((3, 1)), np.array([1.0])), 4)
    0.692
    """

    def __init__(self, D, I, K, rng=None, init_scale=0.01, *, input_bias=None, output_bias=None, truncate=False):
        super().__init__(D, I, K, rng, init_scale, input_bias=input_bias, output_bias=output_bias,
                         truncate=truncate)

    def _arrays(self):
        return self._W, self._R, self._b, self.W_y, self.b_y

    def _grad_arrays(self):
        return self._dW, self._dR, self._db, self.dW_y, self.db_y

    def loss_and_gradient(self, x, y):
        """The loss of one sequence or a batch (mean over sequences), its BPTT gradient added into the buffers.

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)
        y : array_like of shape (K,) / (B, K) (loss at the last step) or (T, K) / (B, T, K)

        Returns
        -------
        float
        """
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        self._io = None
        return float(_bptt(*self._arrays(), *self._grad_arrays(), np.ascontiguousarray(x3),
                           np.ascontiguousarray(y3), steps, self.truncate, 1.0 / x3.shape[0]))

    def predict(self, x):
        r"""Prediction :math:`\hat y(T)` for whole sequences (compiled forward pass).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)

        Returns
        -------
        ndarray of shape (K,) or (B, K)
        """
        x3, single = check_inputs(x, self.D)
        self._io = None
        y_hat = _predict(*self._arrays(), np.ascontiguousarray(x3))
        return y_hat[0] if single else y_hat

    def sgd_online(self, x, y, eta, max_weight=1e6):
        r"""Online gradient descent with the BPTT gradient: one update per sequence (Eq. 2.13).

        Parameters
        ----------
        x : array_like of shape (n, T, D)
        y : array_like of shape (n, K) or (n, T, K)
        eta : float
            Learning rate.
        max_weight : float, default 1e6
            Training counts as diverged once a weight exceeds this in magnitude.

        Returns
        -------
        ndarray of shape (n,)
            The loss of each sequence before its update.

        Raises
        ------
        DivergenceError
            Naming the sequence after which a weight was non-finite or too large.
        """
        eta = check_positive_float("eta (learning rate)", eta)
        max_weight = check_positive_float("max_weight", max_weight)
        if np.ndim(x) != 3:
            raise ValueError(f"x must have shape (n, T, D) with D = {self.D}; got shape {np.shape(x)}")
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        losses, done = _sgd_online_bptt(*self._arrays(), *self._grad_arrays(), np.ascontiguousarray(x3),
                                        np.ascontiguousarray(y3), steps, self.truncate, eta, max_weight)
        self._io = None
        if done < len(x3):
            raise DivergenceError(f"a weight became non-finite or exceeded {max_weight:g} after sequence "
                                  f"{done - 1} (learning rate {eta:g}); lower the learning rate")
        return losses
