r"""Jacobians of the hidden state across time, and the gradient that reaches the first input.

For the fully recurrent network the one-step Jacobian is

.. math::

    \frac{\partial a(t)}{\partial a(t-1)} = \operatorname{diag}\bigl(1 - a(t)^2\bigr) R \qquad (3.1)

and for the Jordan network, whose hidden units see the previous *output*,

.. math::

    \frac{\partial a(t)}{\partial a(t-1)} =
    \operatorname{diag}\bigl(1 - a(t)^2\bigr) R \operatorname{diag}\bigl(\sigma'(z(t-1))\bigr) V
    \qquad (3.11)

The Jacobian across several steps is their product (chain rule).

See chapter 3, *Vanishing gradients*.
"""

import numpy as np

from rnnlab._validation import check_inputs, check_sequences
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.jordan import JordanNetwork
from rnnlab.losses import bce_with_logits_grad, sigmoid

__all__ = ["hidden_jacobians", "input_gradient", "spectral_norms"]


def _one_step_jacobians(model, x):
    """Run the forward pass on one sequence; return a of shape (T, I) and the (T, I, I) one-step Jacobians.

    Entry t holds d a(t) / d a(t - 1) (entry 0 is unused: a(0) is not a state of the sequence).
    """
    x3, single = check_inputs(x, model.D)
    if not single:
        raise ValueError(f"x must be one sequence of shape (T, D); got shape {np.shape(x)}")
    z = model._forward(x3)[0]                       # (T, K)
    model._io = None                                # a stored loss pass is now stale
    a = model._cache[1][0]                          # (T, I)
    gain = 1.0 - a**2                               # (T, I): tanh'(s(t))
    if isinstance(model, FullyRecurrentNetwork):
        steps = gain[:, :, None] * model.R[None]    # Eq. (3.1), (T, I, I)
    elif isinstance(model, JordanNetwork):
        y_hat = sigmoid(z)                          # (T, K)
        slope = np.vstack([np.zeros((1, model.K)), y_hat[:-1] * (1 - y_hat[:-1])])  # sigma'(z(t-1))
        steps = gain[:, :, None] * (model.R[None] * slope[:, None, :]) @ model.V   # Eq. (3.11)
    else:
        raise TypeError(f"model must be a FullyRecurrentNetwork or a JordanNetwork; got {type(model).__name__}")
    return a, steps


def hidden_jacobians(model, x):
    r"""Jacobians :math:`J(t) = \partial a(t) / \partial a(1)` of one forward pass, t = 1..T.

    See chapter 3, *Vanishing gradients*.

    Parameters
    ----------
    model : FullyRecurrentNetwork or JordanNetwork
    x : array_like of shape (T, D)
        One input sequence.

    Returns
    -------
    ndarray of shape (T, I, I)
        ``J[0]`` is the identity; ``J[t - 1] = diag(1 - a(t)^2) R J[t - 2]`` for the FRN
        (Eq. 3.2), and the corresponding product of Eq. (3.11) factors for the Jordan network.

    Notes
    -----
    Overwrites the model's stored pass: call ``forward`` again before ``backward``.
    """
    _, steps = _one_step_jacobians(model, x)
    T, I, _ = steps.shape
    J = np.empty((T, I, I))
    J[0] = np.eye(I)
    for t in range(1, T):
        J[t] = steps[t] @ J[t - 1]                  # chain rule: d a(t)/d a(1) = d a(t)/d a(t-1) . d a(t-1)/d a(1)
    return J


def spectral_norms(J):
    """Spectral norms (largest singular values) of a stack of matrices of shape (T, m, n).

    See chapter 3, *Vanishing gradients*.
    """
    return np.linalg.norm(J, ord=2, axis=(-2, -1))


def input_gradient(model, x, y):
    r"""Gradient of the last step's loss with respect to the first input, :math:`\partial L / \partial x(1)`.

    For the FRN, :math:`\partial L / \partial x(1) = W^\top \operatorname{diag}(1 - a(1)^2)
    J(T)^\top V^\top \psi(T)` (Eq. 3.5): the output error travels back through every
    one-step Jacobian between T and 1 before it reaches the input that carries the class.

    See chapter 3, *Vanishing gradients*.

    Parameters
    ----------
    model : FullyRecurrentNetwork or JordanNetwork
    x : array_like of shape (T, D)
    y : array_like of shape (K,)
        Target at the last step.

    Returns
    -------
    ndarray of shape (D,)
    """
    x3, y3, _ = check_sequences(x, y, model.D, model.K)
    J = hidden_jacobians(model, x3[0])              # (T, I, I)
    a = model._cache[1][0]                          # (T, I)
    z = a[-1] @ model.V.T                           # (K,)
    dL_da_T = bce_with_logits_grad(z, y3[0, -1]) @ model.V      # (I,): V^T psi(T)
    dL_ds_1 = (dL_da_T @ J[-1]) * (1.0 - a[0] ** 2)             # (I,): through J(T) and tanh'(s(1))
    return dL_ds_1 @ model.W                                    # (D,): W^T delta(1)
