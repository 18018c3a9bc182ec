r"""The network and learning method of Hochreiter & Schmidhuber (1997), Experiment 3a.

Shape legend: N independent networks trained side by side (the trials of one row of
the paper's table), C memory cells (3 in the paper), U = 1 + 3C + 1 inputs of every
hidden unit: the input x(t), the previous activations of all cells and gates, and a bias.

Architecture (the paper's, not the course's LSTM): 1 input unit, C memory cells of size
1 without forget gate, each with an input gate and an output gate; cells and gates
receive the input, the previous outputs of all cells and all gates, and a bias; the
single sigmoid output unit receives the C cell outputs and has no bias. Squashing
functions follow the paper, not the course: the cell input is squashed by
:math:`g(x) = 4\sigma(x) - 2 \in [-2, 2]` and the cell state by
:math:`h(x) = 2\sigma(x) - 1 \in [-1, 1]`:

.. math::

    s_c(t) = s_c(t-1) + y^{in}(t)\, g(net_c(t)), \qquad
    y^c(t) = y^{out}(t)\, h(s_c(t)) \qquad (6.1)

Learning is truncated RTRL (chapter 5) on the squared error at the end of each
sequence, :math:`E = \tfrac12 (\hat y(T) - y)^2`, and an update after every sequence
(online, learning rate 1.0 in the paper).

See chapter 6, *Reproducing Experiment 3a*.
"""

import numpy as np

from rnnlab._validation import as_generator, check_positive_float, check_positive_int
from rnnlab.losses import sigmoid

__all__ = ["LSTM1997", "count_weights", "stopping_criteria"]


def count_weights(cells=3):
    """Number of weights of the paper's architecture: C (cells) + 2C (gates) units with U inputs, C to the output.

    See chapter 6, *Reproducing Experiment 3a*.
    """
    units, inputs = 3 * cells, 1 + 3 * cells + 1
    return units * inputs + cells


def stopping_criteria(y_hat, y):
    """The paper's stopping criteria on a test set.

    ST1: no test sequence misclassified, where a sequence counts as correct when
    the absolute error of the final output is below 0.2. ST2: ST1 and a mean absolute
    error below 0.01.

    See chapter 6, *Reproducing Experiment 3a*.

    Parameters
    ----------
    y_hat, y : ndarray of shape (..., B)
        Final outputs and targets of B test sequences (leading axes: networks).

    Returns
    -------
    st1, st2 : ndarray of bool, shape (...)
    """
    error = np.abs(np.asarray(y_hat) - np.asarray(y))
    st1 = np.all(error < 0.2, axis=-1)
    return st1, st1 & (error.mean(axis=-1) < 0.01)


class LSTM1997:
    r"""N independent copies of the Experiment-3a network, trained online by truncated RTRL.

    See chapter 6, *Reproducing Experiment 3a*.

    Parameters
    ----------
    N : int
        Number of independent networks (trials).
    cells : int, default 3
        Memory cells per network.
    rng : None, int or numpy.random.Generator
        Source of the initial weights, uniform in ``[-init_scale, init_scale]``.
    init_scale : float, default 0.1
    input_bias, output_bias : sequence of float
        Gate biases (the paper: -1, -3, -5 and -2, -4, -6).

    Attributes
    ----------
    w : ndarray of shape (N, 3C, U)
        Weights of the cells (rows :C), input gates (C:2C) and output gates (2C:),
        columns: input, previous cell outputs, input gates, output gates, bias.
    w_out : ndarray of shape (N, C)
        Output unit weights (no bias).
    """

    def __init__(self, N, cells=3, rng=None, init_scale=0.1, input_bias=(-1.0, -3.0, -5.0),
                 output_bias=(-2.0, -4.0, -6.0)):
        self.N = check_positive_int("N", N)
        self.C = C = check_positive_int("cells", cells)
        rng = as_generator(rng)
        init_scale = check_positive_float("init_scale", init_scale)
        self.w = rng.uniform(-init_scale, init_scale, size=(self.N, 3 * C, 3 * C + 2))
        self.w_out = rng.uniform(-init_scale, init_scale, size=(self.N, C))
        for rows, bias in ((slice(C, 2 * C), input_bias), (slice(2 * C, 3 * C), output_bias)):
            bias = np.asarray(bias, dtype=float)
            if bias.shape != (C,):
                raise ValueError(f"gate biases must have {C} values, one per cell; got {bias.tolist()}")
            self.w[:, rows, -1] = bias

    def _step(self, x_t, y_prev, s, S=None):
        """One step for every network and sequence: x_t (N, B), y_prev (N, B, 3C), s (N, B, C).

        With buffers ``S`` of shape (N, B, 2C, U) it also accumulates d s_c / d w (Eq. 6.2).
        """
        C = self.C
        u = np.concatenate([x_t[..., None], y_prev, np.ones(x_t.shape + (1,))], axis=-1)   # (N, B, U)
        net = np.einsum("nju,nbu->nbj", self.w, u)                                          # (N, B, 3C)
        g = 4.0 * sigmoid(net[..., :C]) - 2.0                 # cell input, in [-2, 2]
        y_in, y_out = sigmoid(net[..., C:2 * C]), sigmoid(net[..., 2 * C:])
        if S is not None:
            # Eq. (6.2): g'(net) = 4 sigma (1 - sigma) = (2 - g)(2 + g) / 4, sigma' = y (1 - y)
            gain = np.concatenate([y_in * (2.0 - g) * (2.0 + g) / 4.0, g * y_in * (1.0 - y_in)], axis=-1)
            S += gain[..., None] * u[..., None, :]
        s = s + y_in * g                                      # Eq. (6.1)
        h = 2.0 * sigmoid(s) - 1.0                            # cell state squashed to [-1, 1]
        y_c = y_out * h
        y_hat = sigmoid(np.einsum("nc,nbc->nb", self.w_out, y_c))
        return u, y_out, s, h, y_c, y_hat, np.concatenate([y_c, y_in, y_out], axis=-1)

    def _zero_state(self, B):
        return np.zeros((self.N, B, 3 * self.C)), np.zeros((self.N, B, self.C))

    def predict(self, x, lengths=None):
        """Final output of each network for each sequence.

        Parameters
        ----------
        x : ndarray of shape (N, B, T)
            Input sequences, padded to a common length.
        lengths : ndarray of int, shape (N, B), optional
            True lengths (default: all T).

        Returns
        -------
        ndarray of shape (N, B)
        """
        x = np.asarray(x, dtype=float)
        N, B, T = x.shape
        ends = np.full((N, B), T) if lengths is None else np.asarray(lengths)
        y_prev, s = self._zero_state(B)
        final = np.zeros((N, B))
        for t in range(T):
            _, _, s, _, _, y_hat, y_prev = self._step(x[..., t], y_prev, s)
            final = np.where(ends - 1 == t, y_hat, final)
        return final

    def gradient(self, x, lengths, y):
        r"""Truncated-RTRL gradient (Eq. 6.3) of :math:`E = \tfrac12 (\hat y(T_n) - y_n)^2` for one sequence per network.

        Parameters
        ----------
        x : ndarray of shape (N, T)
            One input sequence per network, padded to a common length.
        lengths : ndarray of int, shape (N,)
            True lengths; each network's error is taken at its own last step.
        y : ndarray of shape (N,)
            Targets.

        Returns
        -------
        dw : ndarray of shape (N, 3C, U)
        dw_out : ndarray of shape (N, C)
        error : ndarray of shape (N,)
            The squared errors E.
        """
        x = np.asarray(x, dtype=float)[:, None, :]             # (N, 1, T): one sequence per network
        N, _, T = x.shape
        C = self.C
        lengths = np.asarray(lengths)
        y_prev, s = self._zero_state(1)
        S = np.zeros((N, 1, 2 * C, 3 * C + 2))
        dw, dw_out, error = np.zeros_like(self.w), np.zeros_like(self.w_out), np.zeros(N)
        for t in range(T):
            u, y_out, s, h, y_c, y_hat, y_prev = self._step(x[..., t], y_prev, s, S)
            done = lengths - 1 == t                             # networks whose sequence ends now
            if not done.any():
                continue
            n = np.flatnonzero(done)
            e = (y_hat[n, 0] - y[n]) * y_hat[n, 0] * (1.0 - y_hat[n, 0])      # dE/d net_out, (n,)
            error[n] = 0.5 * (y_hat[n, 0] - y[n]) ** 2
            dw_out[n] = e[:, None] * y_c[n, 0]
            dE_dyc = e[:, None] * self.w_out[n]                                  # (n, C)
            dE_ds = dE_dyc * y_out[n, 0] * (1.0 - h[n, 0] ** 2) / 2.0            # h' = (1 - h^2) / 2
            dw[n, :2 * C] = np.concatenate([dE_ds, dE_ds], axis=-1)[..., None] * S[n, 0]      # Eq. (6.3), as (5.5)
            delta_out = dE_dyc * h[n, 0] * y_out[n, 0] * (1.0 - y_out[n, 0])
            dw[n, 2 * C:] = delta_out[..., None] * u[n, 0, None, :]
        return dw, dw_out, error

    def online_update(self, x, lengths, y, lr=1.0, active=None):
        r"""One online step of every network: the gradient of one sequence each, then :math:`w \leftarrow w - \eta \nabla_w E`.

        Parameters
        ----------
        x : ndarray of shape (N, T)
            One input sequence per network, padded to a common length.
        lengths : ndarray of int, shape (N,)
        y : ndarray of shape (N,)
        lr : float, default 1.0
            Learning rate :math:`\eta` (the paper's 1.0).
        active : ndarray of bool, shape (N,), optional
            Networks that learn (a trial stopped at ST2 does not); default all.

        Returns
        -------
        ndarray of shape (N,)
            The squared errors E before the update.

        See chapter 6, *Reproducing Experiment 3a*.
        """
        lr = check_positive_float("lr", lr)
        scale = np.full(self.N, lr) if active is None else lr * np.asarray(active, dtype=float)
        dw, dw_out, error = self.gradient(x, lengths, y)
        self.w -= scale[:, None, None] * dw
        self.w_out -= scale[:, None] * dw_out
        return error
