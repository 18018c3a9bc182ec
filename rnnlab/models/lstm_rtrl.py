r"""LSTM trained by real-time recurrent learning, truncated as in Hochreiter & Schmidhuber (1997).

Shape legend: B sequences, D inputs, I memory cells, K outputs, U = D + I + 1 (the
gates' input u(t) = [x(t); h(t-1); 1]). The three gates' weights are stacked in one
matrix, with the views z, i, o (no Gate class).

The gates treat h(t-1) as an external input, so the only path from the past into
the present is the cell state, :math:`c(t) = c(t-1) + z(t) \odot i(t)`, with
:math:`\partial c(t) / \partial c(t-1) = \mathrm{Id}`. The sensitivities of c(t) to the
weights of the cell input and the input gate therefore *accumulate* (:math:`w^a_{nk}`
is entry k of row n of :math:`[W_a, R_a, b_a]`):

.. math::

    \frac{\partial c_n(t)}{\partial w^z_{nk}} = \frac{\partial c_n(t-1)}{\partial w^z_{nk}}
        + i_n(t) \bigl(1 - z_n(t)^2\bigr)\, u_k(t) \qquad (5.3)

    \frac{\partial c_n(t)}{\partial w^i_{nk}} = \frac{\partial c_n(t-1)}{\partial w^i_{nk}}
        + z_n(t)\, i_n(t) \bigl(1 - i_n(t)\bigr)\, u_k(t) \qquad (5.4)

(only the entries with the unit index n of the weight's row are non-zero: 2 I U numbers
per sequence). At a step with a loss, the output layer and the output gate get their
gradient directly, and the buffers turn the one-step error at the cell state,
:math:`e(t) = (W_y^\top \psi(t)) \odot o(t) \odot (1 - \tanh^2 c(t))` (only through h(t):
not chapter 4's :math:`\nabla_{c(t)} L`), into the gradient of the other weights:

.. math::

    \nabla_{w^a_{nk}} L \mathrel{+}= e_n(t)\, \frac{\partial c_n(t)}{\partial w^a_{nk}},
        \qquad a \in \{z, i\} \qquad (5.5)

See chapter 5, *Real-time recurrent learning*.
"""

from types import SimpleNamespace

import numpy as np

from rnnlab._threads import one_blas_thread
from rnnlab._validation import (
    as_generator,
    check_inputs,
    check_positive_int,
    check_step_input,
    check_step_target,
)
from rnnlab.models.base import OnlineModel, init_uniform
from rnnlab.losses import bce_with_logits, bce_with_logits_grad, sigmoid
from rnnlab.models.lstm import _check_bias

__all__ = ["LSTM_RTRL"]


class LSTM_RTRL(OnlineModel):
    r"""The LSTM of chapter 4, learning online with truncated RTRL (Eqs. 5.3-5.5).

    Parameters
    ----------
    D, I, K : int
        Numbers of inputs, memory cells and outputs.
    rng : None, int or numpy.random.Generator
        Source of the initial weights (drawn in the same order as :class:`~rnnlab.models.lstm.LSTM`,
        so the same seed gives the same network).
    init_scale : float, default 0.01
        Weights and biases start uniform in ``[-init_scale, init_scale]``.
    input_bias, output_bias : float or array_like of shape (I,), optional
        Initial biases of the input and output gates.

    Attributes
    ----------
    z, i, o : namespace
        Each with ``W`` (I, D), ``R`` (I, I), ``b`` (I,) and the gradients ``dW``, ``dR``, ``db``.
    W_y : ndarray of shape (K, I)
    b_y : ndarray of shape (K,)
    dW_y, db_y : ndarray

    See chapter 5, *Real-time recurrent learning*.

    Examples
    --------
    >>> net = LSTM_RTRL(D=1, I=4, K=1, rng=0)
    >>> net.reset()
    >>> y_hat = net.forward(np.array([1.0]))
    >>> loss = net.backward(np.array([1.0]))
    >>> y_hat.shape, round(loss, 4)
    ((1,), 0.692)
    """

    def __init__(self, D, I, K, rng=None, init_scale=0.01, *, input_bias=None, output_bias=None):
        self.D = check_positive_int("D", D)
        self.I = I = check_positive_int("I", I)
        self.K = check_positive_int("K", K)
        self.rng = as_generator(rng)
        # Same draws, in the same order, as rnnlab.LSTM: z, i, o gates (W, R, b each), then the output.
        blocks = [[init_uniform(self.rng, init_scale, shape) for shape in ((I, self.D), (I, I), (I,))]
                  for _ in range(3)]
        self._W, self._R, self._b = (np.concatenate([blk[k] for blk in blocks]) for k in range(3))
        self._dW, self._dR, self._db = (np.zeros_like(p) for p in (self._W, self._R, self._b))
        for k, g in enumerate(("z", "i", "o")):
            rows = slice(k * I, (k + 1) * I)
            setattr(self, g, SimpleNamespace(W=self._W[rows], R=self._R[rows], b=self._b[rows],
                                             dW=self._dW[rows], dR=self._dR[rows], db=self._db[rows]))
        self._allocate(init_scale, W_y=(self.K, I), b_y=(self.K,))
        self.param_names = tuple(f"{g}.{p}" for g in ("z", "i", "o") for p in ("W", "R", "b")) + ("W_y", "b_y")
        for gate, bias in ((self.i, input_bias), (self.o, output_bias)):
            if bias is not None:
                gate.b[:] = _check_bias(bias, I)
        self.batch_size = None       # set by reset()
        self._step = None            # what backward needs from the current step

    def reset(self, batch_size=None):
        """Start new sequences: state, output and RTRL buffers to zero.

        Parameters
        ----------
        batch_size : int, optional
            Number of sequences processed side by side. ``None`` means one sequence
            whose inputs and targets come without a batch axis (``x_t`` of shape (D,)).
        """
        self._single = batch_size is None
        B = 1 if self._single else check_positive_int("batch_size", batch_size)
        self.batch_size = B
        self.h = np.zeros((B, self.I))
        self.c = np.zeros((B, self.I))
        # d c_n / d w for the cell input (rows :I) and the input gate (rows I:), against
        # u = [x; h; 1]: Eqs. (5.3)-(5.4), O(I (D + I)) numbers
        self.S = np.zeros((B, 2 * self.I, self.D + self.I + 1))
        self._step = None

    def forward(self, x_t):
        r"""One time step: update state and buffers, return :math:`\hat y(t)`.

        Parameters
        ----------
        x_t : array_like of shape (D,) or (B, D)
            ``(D,)`` after ``reset()``, ``(B, D)`` after ``reset(B)``.

        Returns
        -------
        ndarray of shape (K,) or (B, K)
        """
        if self.batch_size is None:
            raise RuntimeError("LSTM_RTRL.forward() needs reset(batch_size=None or B) "
                               "first, to start sequences")
        lead = () if self._single else (self.batch_size,)
        x = check_step_input(x_t, lead, self.D)                # (B, D)
        I = self.I
        h_prev = self.h
        a = x @ self._W.T + h_prev @ self._R.T + self._b   # (B, 3I): gates read h(t - 1)
        z = np.tanh(a[:, :I])
        i, o = sigmoid(a[:, I:2 * I]), sigmoid(a[:, 2 * I:])
        u = np.concatenate([x, h_prev, np.ones((len(x), 1))], axis=1)   # (B, U)
        # (B, 2I): d c / d s for the cell input and the input gate
        gain = np.concatenate([i * (1.0 - z * z), z * i * (1.0 - i)], axis=1)
        self.S += gain[:, :, None] * u[:, None, :]         # Eqs. (5.3)-(5.4): accumulate
        self.c = self.c + z * i
        tanh_c = np.tanh(self.c)
        self.h = tanh_c * o
        logits = self.h @ self.W_y.T + self.b_y               # (B, K)
        self._step = (u, o, tanh_c, logits)
        y_hat = sigmoid(logits)
        return y_hat[0] if self._single else y_hat

    def backward(self, y):
        """Add the gradient of this step's loss (mean over the batch) into the gradients.

        Parameters
        ----------
        y : array_like of shape (K,) or (B, K), or a number (K = 1 and no batch axis)
            Target of the current step, in [0, 1].

        Returns
        -------
        float
            The loss of this step, averaged over the batch.
        """
        if self._step is None:
            raise RuntimeError("LSTM_RTRL.backward(y) needs a forward(x_t) "
                               "for the current step first")
        lead = () if self._single else (self.batch_size,)
        y = check_step_target(y, lead, self.K)
        u, o, tanh_c, logits = self._step
        B, I = self.batch_size, self.I
        psi = bce_with_logits_grad(logits, y) / B         # (B, K)
        self.dW_y += psi.T @ self.h
        self.db_y += psi.sum(axis=0)
        dh = psi @ self.W_y                               # (B, I): only from the output
        delta_o = dh * tanh_c * o * (1.0 - o)             # output gate: at this step only
        e = dh * o * (1.0 - tanh_c**2)                    # (B, I): one-step error e(t)
        # Eq. (5.5): rows :I of S belong to the cell input, rows I: to the input gate
        grad = np.einsum("bj,bjk->jk", np.concatenate([e, e], axis=1), self.S)  # (2I, U)
        grad_o = delta_o.T @ u                            # (I, U)
        for rows, g in ((slice(0, 2 * I), grad), (slice(2 * I, 3 * I), grad_o)):
            self._dW[rows] += g[:, :self.D]
            self._dR[rows] += g[:, self.D:self.D + I]
            self._db[rows] += g[:, -1]
        return float(bce_with_logits(logits, y).sum() / B)

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
        self.reset(x3.shape[0])
        for t in range(x3.shape[1]):
            y_hat = self.forward(x3[:, t])
        self._step = None
        return y_hat[0] if single else y_hat
