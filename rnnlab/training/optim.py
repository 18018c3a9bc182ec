r"""Optimisers: plain gradient descent and Adam, on any model's ``params()``/``grads()``.

Each optimiser allocates its state in ``__init__`` and changes the parameters in
place in ``step()``, after which it checks that they are still finite.

See chapter 4, *LSTM* (section *Training*).
"""

import numpy as np

from rnnlab._validation import check_positive_float

__all__ = ["SGD", "Adam"]


class SGD:
    r"""Gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla_\theta L` (Eq. 2.13).

    See chapter 2, *The fully recurrent network* (section *Training*).

    Parameters
    ----------
    model : rnnlab.Model
    eta : float
        Learning rate.
    """

    def __init__(self, model, eta):
        self.model = model
        self.eta = check_positive_float("eta (learning rate)", eta)

    def step(self):
        """Apply one update with the gradients currently in the model's buffers."""
        self.model.update(self.eta)


class Adam:
    r"""Adam (Kingma & Ba 2015): gradient steps scaled by running moment estimates.

    With :math:`g = \nabla_\theta L` and step count :math:`k`,

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g \odot g,

        \theta \leftarrow \theta - \eta\, \frac{m / (1 - \beta_1^k)}{\sqrt{v / (1 - \beta_2^k)} + \epsilon} .

    See chapter 4, *LSTM* (section *Training on T = 100*).

    Parameters
    ----------
    model : rnnlab.Model
    eta : float, default 1e-3
        Learning rate (the largest step of any weight, roughly).
    betas : tuple of float, default (0.9, 0.999)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default 1e-8
        Keeps the denominator away from zero.
    """

    def __init__(self, model, eta=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.model = model
        self.eta = check_positive_float("eta (learning rate)", eta)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = check_positive_float("eps", eps)
        self.m = {name: np.zeros_like(p) for name, p in model.params().items()}
        self.v = {name: np.zeros_like(p) for name, p in model.params().items()}
        self.k = 0

    def step(self):
        """Apply one Adam update with the gradients currently in the model's buffers."""
        self.k += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.eta * np.sqrt(1.0 - b2**self.k) / (1.0 - b1**self.k)   # both bias corrections
        eps_hat = self.eps * np.sqrt(1.0 - b2**self.k)
        grads = self.model.grads()
        for name, p in self.model.params().items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= step_size * m / (np.sqrt(v) + eps_hat)
        self.model.check_finite()
