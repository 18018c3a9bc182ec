r"""The compiled engine of :class:`~rnnlab.models.frn_rtrl.FRN_RTRL`: full RTRL in numba loops.

Shape legend: B sequences, T time steps, D inputs, I hidden units, K outputs, U = D + I.

It exists to measure the cost of full RTRL against truncated RTRL with the same compiler
(chapter 5, *Cost, measured*): per step the kernel does the work of Eq. (5.1),
I · I · I · U multiply-adds for :math:`\sum_l R_{kl}\, p^l_{ij}(t-1)` (one BLAS product,
as in the numpy class), and at a step with a loss the gradient of Eq. (5.1), without numpy's fixed cost
per call. ``tests/test_frn_rtrl.py`` pins it to the numpy class.

See chapter 5, *Real-time recurrent learning* (section *Cost, measured*).
"""

import numpy as np
from numba import njit

from rnnlab._threads import one_blas_thread
from rnnlab._validation import check_sequences
from rnnlab.models.frn_rtrl import FRN_RTRL
from rnnlab.models.lstm_rtrl_numba import _sigmoid, _softplus, _tanh

__all__ = ["FRN_RTRL_Numba"]


@njit(cache=True, fastmath=True)
def _frn_rtrl(W, R, V, dW, dR, dV, x, y, has_target, scale):
    """Full RTRL over x (B, T, D) with targets y (B, T, K): adds scale * gradient, returns scale * loss."""
    B, T, D = x.shape
    I, K = R.shape[0], V.shape[0]
    U = D + I
    P = np.zeros((I, I * U))               # p^k_ij, flattened over (i, j)
    P_new = np.empty((I, I * U))
    u = np.empty(U)
    a = np.empty(I)
    g = np.empty(I)
    grad_w = np.zeros(I * U)
    loss = 0.0
    for q in range(B):
        P[:] = 0.0
        a[:] = 0.0
        for t in range(T):
            for j in range(D):
                u[j] = x[q, t, j]
            for j in range(I):
                u[D + j] = a[j]                             # a(t - 1)
            for k in range(I):                              # Eqs. (2.1)-(2.2)
                s = 0.0
                for j in range(D):
                    s += W[k, j] * u[j]
                for j in range(I):
                    s += R[k, j] * u[D + j]
                a[k] = _tanh(s)
            np.dot(R, P, P_new)                             # Eq. (5.1): the I^4 work, one BLAS product
            for k in range(I):
                for j in range(U):
                    P_new[k, k * U + j] += u[j]
                slope = 1.0 - a[k] * a[k]
                for m in range(I * U):
                    P_new[k, m] *= slope
            P, P_new = P_new, P
            if has_target[t]:                               # the gradient of Eq. (5.1)
                g[:] = 0.0
                for m in range(K):
                    z = 0.0
                    for k in range(I):
                        z += V[m, k] * a[k]
                    loss += y[q, t, m] * _softplus(-z) + (1.0 - y[q, t, m]) * _softplus(z)
                    psi = (_sigmoid(z) - y[q, t, m]) * scale
                    for k in range(I):
                        dV[m, k] += psi * a[k]
                        g[k] += psi * V[m, k]
                grad_w[:] = 0.0
                for k in range(I):
                    for m in range(I * U):
                        grad_w[m] += g[k] * P[k, m]
                for i in range(I):
                    for j in range(D):
                        dW[i, j] += grad_w[i * U + j]
                    for j in range(I):
                        dR[i, j] += grad_w[i * U + D + j]
    return loss * scale


class FRN_RTRL_Numba(FRN_RTRL):
    r""":class:`~rnnlab.models.frn_rtrl.FRN_RTRL` whose :meth:`loss_and_gradient` runs compiled (Eq. 5.1).

    Everything else (weights, ``reset``/``forward``/``backward``, ``predict``) is the numpy class's.

    See chapter 5, *Real-time recurrent learning* (section *Cost, measured*).

    Examples
    --------
    >>> net = FRN_RTRL_Numba(D=1, I=3, K=1, rng=0)
    >>> round(net.loss_and_gradient(np.ones((4, 1)), np.array([1.0])), 4)
    0.6931
    """

    @one_blas_thread
    def loss_and_gradient(self, x, y):
        """Run whole sequences and add the gradient of their loss into the gradients (compiled).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)
        y : array_like of shape (K,) / (B, K) (loss at the last step) or (T, K) / (B, T, K)

        Returns
        -------
        float
            The loss (summed over steps with a target, mean over the batch).
        """
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        self.batch_size, self._step = None, None
        return float(_frn_rtrl(self.W, self.R, self.V, self.dW, self.dR, self.dV, np.ascontiguousarray(x3),
                               np.ascontiguousarray(y3), steps, 1.0 / x3.shape[0]))
