r"""The loss of every model in rnnlab: binary cross-entropy on the logits.

.. math::

    L(z, y) = y \operatorname{softplus}(-z) + (1 - y) \operatorname{softplus}(z),
    \qquad
    \operatorname{softplus}(u) = \log(1 + e^{-|u|}) + \max(0, u),

which equals :math:`-y \log \sigma(z) - (1 - y) \log(1 - \sigma(z))` but never
evaluates :math:`\log 0` or :math:`e^{u}` for large :math:`u`: it stays finite and
warning-free for logits in the thousands. Its derivative is
:math:`\partial L / \partial z = \sigma(z) - y`.

See chapter 2, *The fully recurrent network*.
"""

import numpy as np
from scipy.special import expit

__all__ = ["sigmoid", "softplus", "bce_with_logits", "bce_with_logits_grad"]

sigmoid = expit  # scipy's logistic function saturates to 0 or 1 without overflow warnings


def softplus(u):
    r"""Stable :math:`\log(1 + e^u)`, computed as :math:`\log(1 + e^{-|u|}) + \max(0, u)`.

    See chapter 2, *The fully recurrent network*.

    Parameters
    ----------
    u : ndarray
        Any shape.

    Returns
    -------
    ndarray
        Same shape as ``u``; finite for every finite ``u``.

    Examples
    --------
    >>> softplus(np.array([-1e4, 0.0, 1e4]))
    array([0.00000000e+00, 6.93147181e-01, 1.00000000e+04])
    """
    return np.log1p(np.exp(-np.abs(u))) + np.maximum(u, 0.0)


def bce_with_logits(z, y):
    """Binary cross-entropy of targets ``y`` given logits ``z``, elementwise (Eq. 2.4).

    See chapter 2, *The fully recurrent network*.

    Parameters
    ----------
    z : ndarray
        Logits, any shape.
    y : ndarray
        Targets in [0, 1], same shape as ``z``.

    Returns
    -------
    ndarray
        The loss of each entry, same shape as ``z``.
    """
    return y * softplus(-z) + (1.0 - y) * softplus(z)


def bce_with_logits_grad(z, y):
    r"""Derivative of :func:`bce_with_logits` with respect to the logits: :math:`\sigma(z) - y`.

    This is the output error :math:`\psi` of chapter 2 (Eq. 2.6).

    See chapter 2, *The fully recurrent network*.
    """
    return sigmoid(z) - y
