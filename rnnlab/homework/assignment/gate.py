r"""The assignment's gate: :math:`a = \varphi(W x + R h + b)` for one step of one sequence.

The LSTM of chapter 4 is built from three of them. Each ``Gate.forward`` remembers its
inputs on a stack, and each ``Gate.backward`` takes the most recent step that has not
been backpropagated yet: BPTT visits the steps in the reverse order of the forward pass.
:class:`rnnlab.models.gate.Gate` is the batched form of the package.

Shape legend: D inputs, I units.

See chapter 4, *LSTM* (section *The gate*).
"""

import numpy as np

__all__ = ["Gate"]


class Gate:
    r"""A layer :math:`a = \varphi(s)`, :math:`s = W x + R h + b` (Eq. 4.1), with its gradients (Eq. 4.5).

    Parameters
    ----------
    D, I : int
        Input size and number of units.
    activation : rnnlab.Activation
        ``rnnlab.TANH`` (cell input) or ``rnnlab.SIGMOID`` (gates):
        ``activation.fn(s)`` and its derivative ``activation.deriv(s, a)`` at s.
    rng : None, int or numpy.random.Generator
        Source of the initial weights, uniform in [-0.01, 0.01].

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, I)
    b : ndarray of shape (I,)
    dW, dR, db : ndarray
        Gradient buffers, same shapes; ``backward`` adds into them.

    See chapter 4, *LSTM*.
    """

    def __init__(self, D, I, activation, rng=None):
        rng = np.random.default_rng(rng)
        self.W = rng.uniform(-0.01, 0.01, size=(I, D))
        self.R = rng.uniform(-0.01, 0.01, size=(I, I))
        self.b = rng.uniform(-0.01, 0.01, size=I)
        self.activation = activation
        self.steps = []                       # (x, h, s, a) of the steps not backpropagated yet
        self.dW, self.dR, self.db = np.zeros_like(self.W), np.zeros_like(self.R), np.zeros_like(self.b)

    def forward(self, x, h):
        """One step, Eq. (4.1): x of shape (D,), h of shape (I,) -> a of shape (I,)."""
        s = self.W @ x + self.R @ h + self.b
        a = self.activation.fn(s)
        self.steps.append((x, h, s, a))
        return a

    def zero_grad(self):
        """Set the gradient buffers to zero."""
        self.dW, self.dR, self.db = np.zeros_like(self.W), np.zeros_like(self.R), np.zeros_like(self.b)

    def backward(self, grad_a):
        r"""Gradients of the most recent step, Eq. (4.5), with :math:`\delta = \nabla_a L \odot \varphi'(s)`.

        Parameters
        ----------
        grad_a : ndarray of shape (I,)

        Returns
        -------
        grad_x : ndarray of shape (D,)
        grad_h : ndarray of shape (I,)
        """
        x, h, s, a = self.steps.pop()
        delta = grad_a * self.activation.deriv(s, a)     # phi' at the pre-activation s
        self.dW += np.outer(delta, x)
        self.dR += np.outer(delta, h)
        self.db += delta
        return self.W.T @ delta, self.R.T @ delta

    def update(self, eta):
        r"""One step of gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla_\theta L`."""
        self.W -= eta * self.dW
        self.R -= eta * self.dR
        self.b -= eta * self.db
