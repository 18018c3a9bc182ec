r"""One LSTM gate (or the cell input): :math:`a = \varphi(W x + R h + b)`, batched.

Shape legend: B sequences, D inputs, I units of the gate (= hidden units of the LSTM).
Rows are sequences: :math:`W x` is ``x @ W.T``.

See chapter 4, *LSTM*.
"""

from typing import Callable, NamedTuple

import numpy as np

from rnnlab._validation import as_generator, check_positive_int, check_step, describe
from rnnlab.models.base import Parametric
from rnnlab.losses import sigmoid

__all__ = ["Activation", "Gate", "SIGMOID", "TANH"]


class Activation(NamedTuple):
    r"""An activation function and its derivative, as an exchangeable pair.

    ``deriv(s, a)`` returns :math:`\varphi'(s)` at the pre-activation ``s``; it also
    receives ``a = fn(s)`` so that it can use the cheaper form where one exists
    (:math:`\tanh' = 1 - a^2`, :math:`\sigma' = a (1 - a)`). Applying those
    forms to ``s`` instead of ``a`` is the classic bug.

    See chapter 4, *LSTM*.
    """

    name: str
    fn: Callable
    deriv: Callable


TANH = Activation("tanh", np.tanh, lambda s, a: 1.0 - a * a)
SIGMOID = Activation("sigmoid", sigmoid, lambda s, a: a * (1.0 - a))


class Gate(Parametric):
    r"""A layer :math:`a = \varphi(s)`, :math:`s = W x + R h + b`, one time step at a time.

    .. math::

        a = \varphi(W x + R h + b) \qquad (4.1)

    and, with :math:`\delta = \nabla_a L \odot \varphi'(s)`,

    .. math::

        \nabla_W L = \delta x^\top, \quad \nabla_R L = \delta h^\top, \quad \nabla_b L = \delta,
        \quad \nabla_x L = W^\top \delta, \quad \nabla_h L = R^\top \delta \qquad (4.5)

    summed over the batch (and, across calls, over time).

    Each :meth:`forward` pushes what its :meth:`backward` needs onto a stack and
    each :meth:`backward` pops the most recent step: backpropagation through time
    visits the steps in the reverse order of the forward pass, so the n-th call of
    ``backward`` after a sequence of ``forward`` calls belongs to the n-th last
    step. :meth:`reset` empties the stack at the start of a sequence.

    Parameters
    ----------
    D, I : int
        Input size and number of units.
    activation : Activation, default SIGMOID
        ``SIGMOID`` for gates, ``TANH`` for the cell input.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    init_scale : float, default 0.01
        ``W``, ``R`` and ``b`` start uniform in ``[-init_scale, init_scale]``.

    Attributes
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, I)
    b : ndarray of shape (I,)
    dW, dR, db : ndarray
        Gradient buffers, same shapes; :meth:`backward` adds into them.

    See chapter 4, *LSTM* (section *The gate*).

    Examples
    --------
    >>> gate = Gate(D=2, I=3, activation=SIGMOID, rng=0)
    >>> a = gate.forward(np.ones((4, 2)), np.zeros((4, 3)))
    >>> grad_x, grad_h = gate.backward(np.ones((4, 3)))
    >>> a.shape, grad_x.shape, grad_h.shape
    ((4, 3), (4, 2), (4, 3))
    """

    param_names = ("W", "R", "b")

    def __init__(self, D, I, activation=SIGMOID, rng=None, init_scale=0.01):
        self.D = check_positive_int("D", D)
        self.I = check_positive_int("I", I)
        if not isinstance(activation, Activation):
            raise TypeError(
                f"activation must be an rnnlab.Activation such as TANH or SIGMOID; got {describe(activation)}"
            )
        self.activation = activation
        self.rng = as_generator(rng)
        self._allocate(init_scale, W=(self.I, self.D), R=(self.I, self.I), b=(self.I,))
        self._steps = []

    def reset(self):
        """Forget the stored steps (start of a new sequence)."""
        self._steps.clear()

    def forward(self, x, h):
        """One step, Eq. (4.1): x of shape (B, D), h of shape (B, I) -> a of shape (B, I)."""
        x, h = check_step(x, "x", self.D), check_step(h, "h", self.I)
        if len(x) != len(h):
            raise ValueError(f"x and h must hold the same number of sequences; got {len(x)} and {len(h)}")
        s = x @ self.W.T + h @ self.R.T + self.b        # (B, I)
        a = self.activation.fn(s)
        self._steps.append((x, h, s, a))
        return a

    def backward(self, grad_a):
        """Gradient of the most recent stored step, Eq. (4.5); adds into dW, dR, db.

        Parameters
        ----------
        grad_a : ndarray of shape (B, I)
            dL/da for that step.

        Returns
        -------
        grad_x : ndarray of shape (B, D)
        grad_h : ndarray of shape (B, I)
        """
        if not self._steps:
            raise RuntimeError("Gate.backward() has no stored step: call forward(x, h) first")
        if np.shape(grad_a) != self._steps[-1][3].shape:
            raise ValueError(f"grad_a must have the shape of the gate's output {self._steps[-1][3].shape}; "
                             f"got {np.shape(grad_a)}")
        x, h, s, a = self._steps.pop()
        delta = grad_a * self.activation.deriv(s, a)    # (B, I): phi' at the pre-activation
        self.dW += delta.T @ x
        self.dR += delta.T @ h
        self.db += delta.sum(axis=0)
        return delta @ self.W, delta @ self.R
