r"""The assignment's LSTM, learning online by truncated RTRL: gates written out, one step.

The gates treat h(t-1) as an external input, so the cell state is the only path from the
past and its sensitivities to the weights of the cell input and the input gate accumulate
(Eqs. 5.3-5.4). For the weights of row j only cell j is sensitive, so each buffer has the
shape of its weight: ``S_z.W[j, k]`` is :math:`\partial c_j(t) / \partial W_z[j, k]`.
With :math:`u(t) = [x(t); h(t-1); 1]` and :math:`w^a_{jk}` entry k of row j of
:math:`[W_a, R_a, b_a]`,

.. math::

    \frac{\partial c_j(t)}{\partial w^z_{jk}} \mathrel{+}= i_j (1 - z_j^2)\, u_k(t)
        \quad (5.3), \qquad
    \frac{\partial c_j(t)}{\partial w^i_{jk}} \mathrel{+}= z_j\, i_j (1 - i_j)\, u_k(t)
        \quad (5.4)

and at a step with a loss, with the one-step error
:math:`e(t) = (W_y^\top \psi(t)) \odot o(t) \odot (1 - \tanh^2 c(t))`,
:math:`\nabla_{w^a_{jk}} L \mathrel{+}= e_j(t)\, \partial c_j(t) / \partial w^a_{jk}`
(Eq. 5.5); the output gate and the output layer need no buffers (Eq. 5.6).
:class:`rnnlab.models.lstm_rtrl.LSTM_RTRL` computes the same on batches.

Shape legend: D inputs, I memory cells, K outputs.

See chapter 5, *Real-time recurrent learning*.
"""

from types import SimpleNamespace

import numpy as np

from rnnlab.losses import bce_with_logits, sigmoid

__all__ = ["LSTM_RTRL"]


class LSTM_RTRL:
    r"""LSTM without forget gate, learning by truncated RTRL (Eqs. 5.3-5.6), one sequence.

    Parameters
    ----------
    D, I, K : int
        Numbers of inputs, memory cells and outputs.
    rng : None, int or numpy.random.Generator
        Source of the initial weights, uniform in [-0.01, 0.01].

    Attributes
    ----------
    z, i, o : namespace
        Cell input, input gate, output gate (``types.SimpleNamespace``), each with
        ``W`` (I, D), ``R`` (I, I), ``b`` (I,) and the gradients ``dW``, ``dR``, ``db``.
    W_y : ndarray of shape (K, I)
    b_y : ndarray of shape (K,)
    dW_y, db_y : ndarray
    h, c : ndarray of shape (I,)
        The state after the last step.

    See chapter 5, *Real-time recurrent learning*.
    """

    def __init__(self, D, I, K, rng=None):
        rng = np.random.default_rng(rng)
        self.z, self.i, self.o = (
            SimpleNamespace(W=rng.uniform(-0.01, 0.01, size=(I, D)),
                            R=rng.uniform(-0.01, 0.01, size=(I, I)),
                            b=rng.uniform(-0.01, 0.01, size=I))
            for _ in range(3))
        self.W_y = rng.uniform(-0.01, 0.01, size=(K, I))
        self.b_y = rng.uniform(-0.01, 0.01, size=K)
        self.zero_grad()
        self.reset()

    def reset(self):
        """Start a sequence: state and RTRL buffers to zero."""
        self.h, self.c = np.zeros_like(self.z.b), np.zeros_like(self.z.b)   # h(0), c(0)
        self.S_z, self.S_i = (SimpleNamespace(W=np.zeros_like(g.W), R=np.zeros_like(g.R),
                                              b=np.zeros_like(g.b))
                              for g in (self.z, self.i))

    def zero_grad(self):
        """Set every gradient to zero."""
        for g in (self.z, self.i, self.o):
            g.dW, g.dR, g.db = np.zeros_like(g.W), np.zeros_like(g.R), np.zeros_like(g.b)
        self.dW_y, self.db_y = np.zeros_like(self.W_y), np.zeros_like(self.b_y)

    def forward(self, x_t):
        r"""One time step: state, buffers (Eqs. 5.3-5.4); returns :math:`\hat y(t)`, (K,).

        Parameters
        ----------
        x_t : array_like of shape (D,)
        """
        x, h_prev = np.asarray(x_t, dtype=float), self.h
        z = np.tanh(self.z.W @ x + self.z.R @ h_prev + self.z.b)   # gates read h(t - 1)
        i = sigmoid(self.i.W @ x + self.i.R @ h_prev + self.i.b)
        o = sigmoid(self.o.W @ x + self.o.R @ h_prev + self.o.b)
        gains = ((self.S_z, i * (1.0 - z ** 2)), (self.S_i, z * i * (1.0 - i)))
        for S, gain in gains:                                      # Eqs. (5.3), (5.4)
            S.W += np.outer(gain, x)
            S.R += np.outer(gain, h_prev)
            S.b += gain
        self.c = self.c + z * i                                    # Eq. (4.2)
        self.h = np.tanh(self.c) * o                               # Eq. (4.3)
        self.step = (x, h_prev, o)
        self.logits = self.W_y @ self.h + self.b_y
        return sigmoid(self.logits)

    def backward(self, y):
        """Add the gradient of this step's loss into the gradients (Eqs. 5.5-5.6).

        Parameters
        ----------
        y : float or array_like of shape (K,)
            The target of the current step.

        Returns
        -------
        float
            The loss of this step.
        """
        x, h_prev, o = self.step
        y = np.asarray(y, dtype=float)
        y = np.full(len(self.b_y), y) if y.ndim == 0 else y
        psi = sigmoid(self.logits) - y
        self.dW_y += np.outer(psi, self.h)
        self.db_y += psi
        dh = self.W_y.T @ psi                          # only the output feeds h(t)
        tanh_c = np.tanh(self.c)
        e = dh * o * (1.0 - tanh_c ** 2)               # one-step error e(t)
        for g, S in ((self.z, self.S_z), (self.i, self.S_i)):
            g.dW += e[:, None] * S.W                   # Eq. (5.5): row j of S is cell j's
            g.dR += e[:, None] * S.R
            g.db += e * S.b
        delta_o = dh * tanh_c * o * (1.0 - o)          # Eq. (5.6): output gate, this step
        self.o.dW += np.outer(delta_o, x)
        self.o.dR += np.outer(delta_o, h_prev)
        self.o.db += delta_o
        return float(bce_with_logits(self.logits, y).sum())

    def update(self, eta):
        r"""One step of gradient descent on every parameter.

        :math:`\theta \leftarrow \theta - \eta \nabla_\theta L`.
        """
        for g in (self.z, self.i, self.o):
            g.W -= eta * g.dW
            g.R -= eta * g.dR
            g.b -= eta * g.db
        self.W_y -= eta * self.dW_y
        self.b_y -= eta * self.db_y
