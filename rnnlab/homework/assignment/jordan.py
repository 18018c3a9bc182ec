r"""The Jordan network's Jacobian across time and the two vanishing-gradient bounds, as numbers.

For the Jordan network of chapter 3, :math:`s(t) = W x(t) + R \hat y(t-1)`,
:math:`a(t) = \tanh(s(t))`, :math:`z(t) = V a(t)`, :math:`\hat y(t) = \sigma(z(t))`,
:math:`\hat y(0) = 0`, the state a(t) depends on a(t-1) only through the output, so

.. math::

    J(t, s) = \frac{\partial a(t)}{\partial a(s)}
    = \prod_{\tau = s+1}^{t} \operatorname{diag}\bigl(1 - a(\tau)^2\bigr) R
      \operatorname{diag}\bigl(\sigma'(z(\tau - 1))\bigr) V \qquad (3.11)

(latest factor on the left), with :math:`\lVert J(t, s) \rVert_2 \le (\lVert R \rVert_2
\lVert V \rVert_2 / 4)^{t-s}`; for the fully recurrent network
:math:`\lVert \partial a(T) / \partial a(1) \rVert_2 \le \lVert R \rVert_2^{T-1}`.
:func:`rnnlab.training.analysis.hidden_jacobians` computes J(t, 1) for whole sequences.

Shape legend: T time steps, D inputs, I hidden units, K outputs; times count from 1.

See chapter 3, *Vanishing gradients*.
"""

import numpy as np

from rnnlab.losses import sigmoid

__all__ = ["frn_bound", "jordan_bound", "jordan_jacobian"]


def jordan_jacobian(W, R, V, x, t, s):
    """The Jacobian J(t, s) = d a(t) / d a(s) of a Jordan network on one sequence, Eq. (3.11).

    See chapter 3, *Vanishing gradients* (section *Exercises*).

    Parameters
    ----------
    W : ndarray of shape (I, D)
    R : ndarray of shape (I, K)
    V : ndarray of shape (K, I)
    x : ndarray of shape (T, D)
    t, s : int
        Times with 1 <= s <= t <= T (a(1) is the state after the first input).

    Returns
    -------
    ndarray of shape (I, I)
        The identity when s = t.
    """
    a, z = [], []
    y_hat = np.zeros(len(V))                              # y_hat(0) = 0
    for x_t in x[:t]:
        a.append(np.tanh(W @ x_t + R @ y_hat))            # Eqs. (3.7), (3.8)
        z.append(V @ a[-1])
        y_hat = sigmoid(z[-1])
    J = np.eye(len(W))
    for tau in range(s + 1, t + 1):                       # a(tau) is a[tau - 1]
        slope = sigmoid(z[tau - 2]) * (1.0 - sigmoid(z[tau - 2]))          # sigma'(z(tau - 1))
        J = ((1.0 - a[tau - 1] ** 2)[:, None] * (R * slope) @ V) @ J      # latest factor on the left
    return J


def jordan_bound(R, V, t, s):
    """The bound (||R||_2 ||V||_2 / 4)^(t - s) on ||J(t, s)||_2 of the Jordan network.

    See chapter 3, *Vanishing gradients* (section *Exercises*).

    Parameters
    ----------
    R : ndarray of shape (I, K)
    V : ndarray of shape (K, I)
    t, s : int

    Returns
    -------
    float
    """
    return float((np.linalg.norm(R, 2) * np.linalg.norm(V, 2) / 4.0) ** (t - s))


def frn_bound(R, T):
    """The bound ||R||_2^(T - 1) on ||d a(T) / d a(1)||_2 of the fully recurrent network.

    The spectral norm is the largest singular value, not the largest eigenvalue.

    See chapter 3, *Vanishing gradients* (section *Exercises*).

    Parameters
    ----------
    R : ndarray of shape (I, I)
    T : int

    Returns
    -------
    float
    """
    return float(np.linalg.norm(R, 2) ** (T - 1))
