r"""LSTM without forget gate (Hochreiter & Schmidhuber 1997), trained by BPTT.

Shape legend: B sequences, T time steps, D inputs, I memory cells, K outputs.
Rows are sequences: :math:`W_y h(t)` is ``h[:, t] @ W_y.T``.

See chapter 4, *LSTM*.
"""

import numpy as np

from rnnlab._validation import check_positive_int
from rnnlab.models.base import Model
from rnnlab.models.gate import SIGMOID, TANH, Gate
from rnnlab.losses import sigmoid

__all__ = ["LSTM"]


class LSTM(Model):
    r"""LSTM layer of I memory cells with a sigmoid output layer.

    .. math::

        z(t) = \tanh(W_z x(t) + R_z h(t-1) + b_z),

        i(t) = \sigma(W_i x(t) + R_i h(t-1) + b_i),

        o(t) = \sigma(W_o x(t) + R_o h(t-1) + b_o) \qquad (4.1)

        c(t) = c(t-1) + z(t) \odot i(t) \qquad (4.2)

        h(t) = \tanh(c(t)) \odot o(t) \qquad (4.3)

        \hat y(t) = \sigma(W_y h(t) + b_y), \qquad c(0) = h(0) = 0 \qquad (4.4)

    With ``forget_gate=True`` (Gers et al. 2000), a fourth gate
    :math:`f(t) = \sigma(W_f x(t) + R_f h(t-1) + b_f)` scales the old state:
    :math:`c(t) = f(t) \odot c(t-1) + z(t) \odot i(t)`.

    Parameters
    ----------
    D, I, K : int
        Numbers of inputs, memory cells and outputs.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    init_scale : float, default 0.01
        All weights and biases start uniform in ``[-init_scale, init_scale]``.
    input_bias, output_bias : float or array_like of shape (I,), optional
        Initial biases of the input and output gates, replacing the random ones
        (the 1997 paper starts them negative so that cells begin closed).
    forget_gate : bool, default False
        Add a forget gate ``f`` (parameters ``f.W``, ``f.R``, ``f.b``).
    truncate : bool, default False
        Cut the gradient through the gates' input h(t-1) (the truncation of the
        1997 learning method, chapter 5); the gradient through c(t-1) is kept.

    Attributes
    ----------
    z, i, o : rnnlab.models.gate.Gate
        Cell input (tanh), input gate and output gate (sigmoid), each with ``W``
        of shape (I, D), ``R`` of shape (I, I), ``b`` of shape (I,) and gradients.
    W_y : ndarray of shape (K, I)
    b_y : ndarray of shape (K,)
    dW_y, db_y : ndarray
        Gradients of the output layer.

    See chapter 4, *LSTM*.

    Examples
    --------
    >>> lstm = LSTM(D=1, I=4, K=1, rng=0)
    >>> list(lstm.params())
    ['z.W', 'z.R', 'z.b', 'i.W', 'i.R', 'i.b', 'o.W', 'o.R', 'o.b', 'W_y', 'b_y']
    """

    def __init__(self, D, I, K, rng=None, init_scale=0.01, *, input_bias=None, output_bias=None,
                 forget_gate=False, truncate=False):
        super().__init__(D, K, rng)
        self.I = I = check_positive_int("I", I)
        self.forget_gate = bool(forget_gate)
        names = ("z", "i", "o", "f") if self.forget_gate else ("z", "i", "o")
        gates = [Gate(self.D, I, TANH if g == "z" else SIGMOID, rng=self.rng, init_scale=init_scale)
                 for g in names]
        # One stacked array per kind of weight, so that all gates cost one matrix product per
        # step; each gate's W, R, b (and dW, dR, db) are views of its block of rows.
        for attr in ("W", "R", "b", "dW", "dR", "db"):
            stacked = np.concatenate([getattr(g, attr) for g in gates])
            setattr(self, f"_{attr}", stacked)
            for k, g in enumerate(gates):
                setattr(g, attr, stacked[k * I:(k + 1) * I])
        for g, gate in zip(names, gates):
            setattr(self, g, gate)
        self._allocate(init_scale, W_y=(self.K, I), b_y=(self.K,))
        self.param_names = tuple(f"{g}.{p}" for g in names for p in ("W", "R", "b")) + ("W_y", "b_y")
        for gate, bias in ((self.i, input_bias), (self.o, output_bias)):
            if bias is not None:
                gate.b[:] = _check_bias(bias, I)
        self.truncate = bool(truncate)
        self._cache = None

    def _forward(self, x):
        """Forward pass, Eqs. (4.1)-(4.4): x of shape (B, T, D) -> logits of shape (B, T, K)."""
        B, T, _ = x.shape
        I = self.I
        act = x @ self._W.T + self._b                 # (B, T, G*I): input part of Eq. (4.1), all gates and steps
        c = np.empty((B, T, I))
        tanh_c = np.empty((B, T, I))
        h = np.empty((B, T, I))
        h_prev = np.zeros((B, I))                     # h(0) = 0
        c_prev = np.zeros((B, I))                     # c(0) = 0
        for t in range(T):
            a_t = act[:, t]                           # (B, G*I), a view: filled in place
            a_t += h_prev @ self._R.T                 # Eq. (4.1): every gate reads h(t - 1)
            a_t[:, :I] = np.tanh(a_t[:, :I])          # z(t)
            a_t[:, I:] = sigmoid(a_t[:, I:])          # i(t), o(t) (and f(t))
            z, i, o = a_t[:, :I], a_t[:, I:2 * I], a_t[:, 2 * I:3 * I]
            if self.forget_gate:
                c_prev = a_t[:, 3 * I:] * c_prev
            c[:, t] = c_prev = c_prev + z * i         # Eq. (4.2)
            tanh_c[:, t] = np.tanh(c_prev)
            h[:, t] = h_prev = tanh_c[:, t] * o       # Eq. (4.3)
        self._cache = (x, act, c, tanh_c, h)
        return h @ self.W_y.T + self.b_y              # Eq. (4.4), logits

    def _backward(self, psi):
        """BPTT from psi = dL/dz_y of shape (B, T, K), Eqs. (4.6)-(4.8) and (4.5)."""
        x, act, c, tanh_c, h = self._cache
        B, T, I = h.shape
        self.dW_y += psi.reshape(B * T, -1).T @ h.reshape(B * T, I)
        self.db_y += psi.sum(axis=(0, 1))
        dh_out = psi @ self.W_y                       # (B, T, I): W_y^T psi(t)
        delta = np.empty_like(act)                    # (B, T, G*I): dL/ds of every gate
        dh_next = np.zeros((B, I))                    # error reaching h(t) through the gates at t + 1
        dc_next = np.zeros((B, I))                    # error reaching c(t) from c(t + 1)
        for t in reversed(range(T)):
            z, i, o = act[:, t, :I], act[:, t, I:2 * I], act[:, t, 2 * I:3 * I]
            dh = dh_out[:, t] + dh_next                                   # Eq. (4.6)
            dc = dc_next + dh * o * (1.0 - tanh_c[:, t] ** 2)             # Eq. (4.7)
            d = delta[:, t]
            d[:, :I] = dc * i * (1.0 - z * z)                            # Eq. (4.8) times phi'(s), (4.5)
            d[:, I:2 * I] = dc * z * i * (1.0 - i)
            d[:, 2 * I:3 * I] = dh * tanh_c[:, t] * o * (1.0 - o)
            if self.forget_gate:
                f = act[:, t, 3 * I:]
                c_before = c[:, t - 1] if t > 0 else np.zeros((B, I))
                d[:, 3 * I:] = dc * c_before * f * (1.0 - f)
                dc_next = dc * f
            else:
                dc_next = dc                          # constant error carousel: dc(t)/dc(t-1) = 1
            dh_next = 0.0 if self.truncate else d @ self._R   # R^T delta(t) for every gate, summed
        h_prev = np.concatenate([np.zeros((B, 1, I)), h[:, :-1]], axis=1)   # h(t - 1)
        flat = delta.reshape(B * T, -1)
        self._dW += flat.T @ x.reshape(B * T, -1)     # Eq. (4.5), summed over sequences and steps
        self._dR += flat.T @ h_prev.reshape(B * T, I)
        self._db += flat.sum(axis=0)


def _check_bias(bias, I):
    arr = np.asarray(bias, dtype=float)
    if arr.shape not in ((), (I,)) or not np.all(np.isfinite(arr)):
        raise ValueError(f"a gate bias must be a finite number or an array of shape ({I},); got {bias!r}")
    return arr
