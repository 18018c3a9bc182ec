r"""The assignment's LSTM, built from three ``Gate`` modules (``rnnlab.homework.assignment.gate``).

One sequence, a loss at its last step. The cell input z and the gates i and o are
``Gate`` objects; the LSTM adds the cell state and the output layer:

.. math::

    c(t) = c(t-1) + z(t) \odot i(t) \quad (4.2), \qquad
    h(t) = \tanh(c(t)) \odot o(t) \quad (4.3), \qquad
    \hat y = \sigma(W_y h(T) + b_y) \quad (4.4)

:class:`rnnlab.models.lstm.LSTM` computes the same on batches, with the three gates' weights fused
into one matrix (``tests/test_assignment.py`` checks that the two agree).

Shape legend: T time steps, D inputs, I memory cells, K outputs.

See chapter 4, *LSTM* (section *The implementation*).
"""

import numpy as np

from rnnlab.homework.assignment.gate import Gate
from rnnlab.losses import bce_with_logits, sigmoid
from rnnlab.models.gate import SIGMOID, TANH

__all__ = ["LSTM"]


class LSTM:
    r"""LSTM without forget gate, one sequence at a time, trained by BPTT (Eqs. 4.1-4.8).

    Parameters
    ----------
    D, I, K : int
        Numbers of inputs, memory cells and outputs.
    rng : None, int or numpy.random.Generator
        Source of the output layer's initial weights, uniform in [-0.01, 0.01].

    Attributes
    ----------
    z, i, o : object
        Cell input (tanh), input gate and output gate (sigmoid): ``Gate`` modules.
    W_y : ndarray of shape (K, I)
    b_y : ndarray of shape (K,)
    dW_y, db_y : ndarray
        Gradients of the output layer.

    See chapter 4, *LSTM*.
    """

    def __init__(self, D, I, K, rng=None):
        rng = np.random.default_rng(rng)
        self.z = Gate(D, I, TANH)             # cell input
        self.i = Gate(D, I, SIGMOID)          # input gate
        self.o = Gate(D, I, SIGMOID)          # output gate
        self.W_y = rng.uniform(-0.01, 0.01, size=(K, I))
        self.b_y = rng.uniform(-0.01, 0.01, size=K)
        self.dW_y, self.db_y = np.zeros_like(self.W_y), np.zeros_like(self.b_y)

    def forward(self, x, y):
        """Loss of one sequence at its last step, Eqs. (4.1)-(4.4).

        Parameters
        ----------
        x : array_like of shape (T, D)
        y : float or array_like of shape (K,)

        Returns
        -------
        float
            The loss; the cell states, gate activations and h(T) are kept for :meth:`backward`.
        """
        self.x = np.asarray(x, dtype=float)
        self.y = np.full(len(self.b_y), y, dtype=float) if np.ndim(y) == 0 else np.asarray(y, dtype=float)
        h = c = np.zeros(self.W_y.shape[1])              # h(0) = c(0) = 0
        self.steps = []                                  # (z, i, o, c) of every step
        for x_t in self.x:
            z, i, o = self.z.forward(x_t, h), self.i.forward(x_t, h), self.o.forward(x_t, h)   # Eq. (4.1)
            c = c + z * i                                # Eq. (4.2)
            h = np.tanh(c) * o                           # Eq. (4.3)
            self.steps.append((z, i, o, c))
        self.h = h
        self.logits = self.W_y @ h + self.b_y            # Eq. (4.4)
        return float(bce_with_logits(self.logits, self.y).sum())

    def zero_grad(self):
        """Set every gradient buffer to zero."""
        for gate in (self.z, self.i, self.o):
            gate.zero_grad()
        self.dW_y, self.db_y = np.zeros_like(self.W_y), np.zeros_like(self.b_y)

    def backward(self):
        """BPTT through the cell state and the gates' input h(t - 1), Eqs. (4.6)-(4.8); adds into the buffers."""
        psi = sigmoid(self.logits) - self.y              # the output error at T (Eq. 2.6)
        self.dW_y += np.outer(psi, self.h)
        self.db_y += psi
        dh = self.W_y.T @ psi                            # error at h(T)
        dc = np.zeros_like(dh)                           # error at c(T + 1)
        for z, i, o, c in reversed(self.steps):
            tanh_c = np.tanh(c)
            dc = dc + dh * o * (1.0 - tanh_c ** 2)       # Eq. (4.7): the carousel carries dc unchanged
            _, dh_z = self.z.backward(dc * i)            # Eq. (4.8), then each gate's Eq. (4.5)
            _, dh_i = self.i.backward(dc * z)
            _, dh_o = self.o.backward(dh * tanh_c)
            dh = dh_z + dh_i + dh_o                      # Eq. (4.6): error at h(t - 1) through the gates

    def update(self, eta):
        r"""One step of gradient descent on every parameter, :math:`\theta \leftarrow \theta - \eta \nabla_\theta L`."""
        for gate in (self.z, self.i, self.o):
            gate.update(eta)
        self.W_y -= eta * self.dW_y
        self.b_y -= eta * self.db_y
