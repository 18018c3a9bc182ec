r"""The compiled engine of :class:`~rnnlab.models.lstm_rtrl.LSTM_RTRL`: the same network, the same
gradient, numba kernels instead of numpy calls.

Shape legend: B sequences, T time steps, D inputs, I memory cells, K outputs,
U = D + I + 1 (the gates' input u(t) = [x(t); h(t-1); 1]).

The numpy class is the readable reference that chapter 5 shows; this module runs it
sequence by sequence and step by step in compiled loops, which is what online learning
(one sequence per update, as in Hochreiter & Schmidhuber 1997) needs: a numpy step of a
single sequence is dominated by the fixed cost of a dozen small array calls. The kernels
implement, per sequence and step,

.. math::

    s(t) = W u_x(t) + R h(t-1) + b, \quad z = \tanh s_z, \; i = \sigma(s_i), \; o = \sigma(s_o)
    \qquad (4.1)

    S^z_{nk} \mathrel{+}= i_n (1 - z_n^2)\, u_k(t), \qquad
    S^i_{nk} \mathrel{+}= z_n i_n (1 - i_n)\, u_k(t) \qquad (5.3), (5.4)

    c(t) = c(t-1) + z \odot i, \quad h(t) = \tanh c(t) \odot o \qquad (4.2), (4.3)

and at a step with a target the gradient of Eqs. (5.5)-(5.6) with the one-step error
:math:`e_c(t)`. ``tests/test_lstm_rtrl_numba.py`` pins every result to the numpy class.

See chapter 5, *Real-time recurrent learning* (section *A compiled engine*).
"""

import math

import numpy as np
from numba import njit

from rnnlab._validation import check_inputs, check_positive_float, check_sequences
from rnnlab.models.base import DivergenceError
from rnnlab.models.lstm_rtrl import LSTM_RTRL

__all__ = ["LSTM_RTRL_Numba"]


@njit(cache=True, fastmath=True)
def _sigmoid(a):
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@njit(cache=True, fastmath=True)
def _tanh(a):
    # through one exp: about three times faster than libm's tanh, within 2e-16 of it
    e = math.exp(-2.0 * abs(a))
    r = (1.0 - e) / (1.0 + e)
    return r if a >= 0.0 else -r


@njit(cache=True, fastmath=True)
def _softplus(a):
    return math.log1p(math.exp(-abs(a))) + max(a, 0.0)


@njit(cache=True, fastmath=True)
def _stacked(W, R, b):
    """The gates' weights as one matrix [W, R, b] transposed, (U, 3I): columns read contiguously."""
    D, I = W.shape[1], R.shape[1]
    WT = np.empty((D + I + 1, 3 * I))
    for j in range(3 * I):
        for k in range(D):
            WT[k, j] = W[j, k]
        for k in range(I):
            WT[D + k, j] = R[j, k]
        WT[D + I, j] = b[j]
    return WT


@njit(cache=True, fastmath=True)
def _forward_step(WT, x_t, h, c, S, u, s, o, tanh_c, buffers):
    """One step of one sequence, in place: u, s (3I,) scratch; h, c, o, tanh_c (I,); S (2I, U)."""
    D, I = x_t.shape[0], h.shape[0]
    U = D + I + 1
    for k in range(D):
        u[k] = x_t[k]
    for k in range(I):
        u[D + k] = h[k]                       # h(t - 1): the gates read it, the gradient treats it as input
    u[D + I] = 1.0
    s[:] = 0.0
    for k in range(U):                        # Eq. (4.1), all three gates: s = [W, R, b] u
        for j in range(3 * I):
            s[j] += WT[k, j] * u[k]
    for n in range(I):
        z = _tanh(s[n])
        i = _sigmoid(s[I + n])
        o[n] = _sigmoid(s[2 * I + n])
        if buffers:                           # Eqs. (5.3)-(5.4): accumulate
            gz = i * (1.0 - z * z)
            gi = z * i * (1.0 - i)
            for k in range(U):
                S[n, k] += gz * u[k]
                S[I + n, k] += gi * u[k]
        c[n] += z * i                         # Eq. (4.2)
        tanh_c[n] = _tanh(c[n])
        h[n] = tanh_c[n] * o[n]               # Eq. (4.3)


@njit(cache=True, fastmath=True)
def _add_row(dW, dR, db, row, g, v):
    """Add ``g * v`` (v of shape (U,), over u = [x; h; 1]) into row ``row`` of dW, dR, db."""
    D, I = dW.shape[1], dR.shape[1]
    for k in range(D):
        dW[row, k] += g * v[k]
    for k in range(I):
        dR[row, k] += g * v[D + k]
    db[row] += g * v[D + I]


@njit(cache=True, fastmath=True)
def _target_step(W_y, b_y, dW, dR, db, dW_y, db_y, y_t, scale, h, S, u, o, tanh_c, psi):
    """Add the gradient of this step's loss (times ``scale``) into the gradients; return the loss.

    ``psi`` (K,) is scratch for the output error of Eq. (2.6).
    """
    K, I = W_y.shape
    loss = 0.0
    for m in range(K):
        logit = b_y[m]
        for n in range(I):
            logit += W_y[m, n] * h[n]
        loss += y_t[m] * _softplus(-logit) + (1.0 - y_t[m]) * _softplus(logit)
        psi[m] = (_sigmoid(logit) - y_t[m]) * scale
        db_y[m] += psi[m]
        for n in range(I):
            dW_y[m, n] += psi[m] * h[n]
    for n in range(I):
        dh = 0.0                              # only from the output layer: the truncation
        for m in range(K):
            dh += psi[m] * W_y[m, n]
        e_c = dh * o[n] * (1.0 - tanh_c[n] * tanh_c[n])      # one-step error e(t)
        _add_row(dW, dR, db, n, e_c, S[n])                   # Eq. (5.5), cell input
        _add_row(dW, dR, db, I + n, e_c, S[I + n])           # Eq. (5.5), input gate
        _add_row(dW, dR, db, 2 * I + n, dh * tanh_c[n] * o[n] * (1.0 - o[n]), u)   # Eq. (5.6)
    return loss * scale


@njit(cache=True, fastmath=True)
def _sequences(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, x, y, has_target, h, c, S, scale):
    """Run B sequences x (B, T, D) from the state h, c (B, I), S (B, 2I, U); targets y (B, T, K).

    Adds ``scale`` times the gradient of the loss at the steps where ``has_target`` (T,)
    is true; returns ``scale`` times the summed loss.
    """
    B, T, _ = x.shape
    I, K = h.shape[1], W_y.shape[0]
    u = np.empty(S.shape[2])
    s = np.empty(3 * I)
    o = np.empty(I)
    tanh_c = np.empty(I)
    psi = np.empty(K)
    WT = _stacked(W, R, b)
    loss = 0.0
    for q in range(B):
        for t in range(T):
            _forward_step(WT, x[q, t], h[q], c[q], S[q], u, s, o, tanh_c, True)
            if has_target[t]:
                loss += _target_step(W_y, b_y, dW, dR, db, dW_y, db_y, y[q, t], scale,
                                     h[q], S[q], u, o, tanh_c, psi)
    return loss


@njit(cache=True, fastmath=True)
def _predict(W, R, b, W_y, b_y, x):
    """Forward pass only (no buffers): x (B, T, D) -> sigma of the last logits (B, K)."""
    B, T, D = x.shape
    I, K = R.shape[1], W_y.shape[0]
    y_hat = np.empty((B, K))
    h, c, S = np.zeros(I), np.zeros(I), np.zeros((1, 1))
    u, s, o, tanh_c = np.empty(D + I + 1), np.empty(3 * I), np.empty(I), np.empty(I)
    WT = _stacked(W, R, b)
    for q in range(B):
        h[:] = 0.0
        c[:] = 0.0
        for t in range(T):
            _forward_step(WT, x[q, t], h, c, S, u, s, o, tanh_c, False)
        for m in range(K):
            logit = b_y[m]
            for n in range(I):
                logit += W_y[m, n] * h[n]
            y_hat[q, m] = _sigmoid(logit)
    return y_hat


@njit(cache=True, fastmath=True)
def _zero(dW, dR, db, dW_y, db_y):
    for g in (dW, dR, dW_y):
        g[:] = 0.0
    db[:] = 0.0
    db_y[:] = 0.0


@njit(cache=True, fastmath=True)
def _sgd_step(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, eta):
    """theta <- theta - eta grad (Eq. 2.13) for every parameter; return the largest |weight| after it."""
    largest = 0.0
    for p, g in ((W, dW), (R, dR), (W_y, dW_y)):
        for j in range(p.shape[0]):
            for k in range(p.shape[1]):
                p[j, k] -= eta * g[j, k]
                largest = max(largest, abs(p[j, k]))
    for p, g in ((b, db), (b_y, db_y)):
        for j in range(p.shape[0]):
            p[j] -= eta * g[j]
            largest = max(largest, abs(p[j]))
    return largest


@njit(cache=True, fastmath=True)
def _sgd_online(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, x, y, has_target, eta, max_weight):
    """One gradient-descent update per sequence of x (n, T, D): the paper's online learning.

    Returns the loss of each sequence (n,) and the number of updates done: it stops early,
    after the offending update, when a weight exceeds ``max_weight`` or is not finite.
    """
    n = x.shape[0]
    I = R.shape[1]
    h, c, S = np.zeros((1, I)), np.zeros((1, I)), np.zeros((1, 2 * I, W.shape[1] + I + 1))
    losses = np.empty(n)
    for q in range(n):
        _zero(dW, dR, db, dW_y, db_y)
        h[:] = 0.0
        c[:] = 0.0
        S[:] = 0.0
        losses[q] = _sequences(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, x[q:q + 1], y[q:q + 1],
                               has_target, h, c, S, 1.0)
        largest = _sgd_step(W, R, b, W_y, b_y, dW, dR, db, dW_y, db_y, eta)
        if not largest <= max_weight:         # also catches NaN
            return losses[:q + 1], q + 1
    return losses, n


class LSTM_RTRL_Numba(LSTM_RTRL):
    r""":class:`~rnnlab.models.lstm_rtrl.LSTM_RTRL` with compiled whole-sequence methods.

    The same weights (the same seed gives the same network), the same parameters, gradient
    buffers, ``reset``/``forward``/``backward`` (inherited, numpy) and the same results:
    :meth:`loss_and_gradient` and :meth:`predict` run numba kernels of Eqs. (4.1)-(4.4) and
    (5.3)-(5.6), and :meth:`sgd_online` trains one sequence per update without leaving
    compiled code. Every optimiser and :func:`~rnnlab.training.train.train` work unchanged.

    Parameters
    ----------
    D, I, K, rng, init_scale, input_bias, output_bias
        As for :class:`~rnnlab.models.lstm_rtrl.LSTM_RTRL`.

    See chapter 5, *Real-time recurrent learning* (section *A compiled engine*).

    Examples
    --------
    >>> fast = LSTM_RTRL_Numba(D=1, I=4, K=1, rng=0)
    >>> round(fast.loss_and_gradient(np.ones((3, 1)), np.array([1.0])), 4)
    0.692
    """

    def _arrays(self):
        return self._W, self._R, self._b, self.W_y, self.b_y

    def _grad_arrays(self):
        return self._dW, self._dR, self._db, self.dW_y, self.db_y

    def loss_and_gradient(self, x, y):
        """Run whole sequences; add the gradient of their loss into the gradients (compiled).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)
        y : array_like of shape (K,) / (B, K) (loss at the last step) or (T, K) / (B, T, K)

        Returns
        -------
        float
            The loss (summed over steps with a target, mean over the batch); the state
            ``h``, ``c`` and buffers ``S`` are left at the last step, as the numpy class leaves them.
        """
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        B = x3.shape[0]
        self.reset(B)
        loss = _sequences(*self._arrays(), *self._grad_arrays(), np.ascontiguousarray(x3),
                          np.ascontiguousarray(y3), steps, self.h, self.c, self.S, 1.0 / B)
        self._step = None
        return float(loss)

    def predict(self, x):
        r"""Prediction :math:`\hat y(T)` for whole sequences (compiled forward pass, no buffers).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)

        Returns
        -------
        ndarray of shape (K,) or (B, K)
        """
        x3, single = check_inputs(x, self.D)
        y_hat = _predict(*self._arrays(), np.ascontiguousarray(x3))
        self._step = None
        return y_hat[0] if single else y_hat

    def sgd_online(self, x, y, eta, max_weight=1e6):
        r"""Online gradient descent: one update :math:`\theta \leftarrow \theta - \eta \nabla_\theta L`
        per sequence, in order (Eq. 2.13, the learning of Hochreiter & Schmidhuber 1997).

        Parameters
        ----------
        x : array_like of shape (n, T, D)
            n training sequences.
        y : array_like of shape (n, K) or (n, T, K)
            Their targets (the last step only, or every step).
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
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        if np.ndim(x) != 3:
            raise ValueError(f"x must have shape (n, T, D) with D = {self.D}; got shape {np.shape(x)}")
        losses, done = _sgd_online(*self._arrays(), *self._grad_arrays(), np.ascontiguousarray(x3),
                                   np.ascontiguousarray(y3), steps, eta, max_weight)
        self.batch_size = None
        if done < len(x3):
            raise DivergenceError(f"a weight became non-finite or exceeded {max_weight:g} after sequence "
                                  f"{done - 1} (learning rate {eta:g}); lower the learning rate")
        return losses
