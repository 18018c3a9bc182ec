"""What every model shares: parameter registry, loss, zero_grad, update, grad_check.

A model subclasses :class:`Model`, lists its parameters in ``param_names`` and
implements two methods on batches (one sequence per row):

- ``_forward(x)`` with ``x`` of shape (B, T, D) returns the logits ``z`` of shape
  (B, T, K) and keeps what ``_backward`` needs;
- ``_backward(psi)`` with ``psi = dL/dz`` of shape (B, T, K) adds the gradient of
  every parameter into its buffer.

Everything else — input checks, the stable loss, the batch mean, gradient
checking, the update and its divergence check — lives here, once.

See chapter 2, *The fully recurrent network*.
"""

from dataclasses import dataclass

import numpy as np

from rnnlab._threads import one_blas_thread
from rnnlab._validation import (
    as_generator,
    check_inputs,
    check_positive_float,
    check_positive_int,
    check_sequences,
)
from rnnlab.losses import bce_with_logits, bce_with_logits_grad, sigmoid

__all__ = ["DivergenceError", "GradientCheckError", "GradCheckResult", "Model", "OnlineModel", "Parametric",
           "central_difference", "init_uniform"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or parameter (the learning rate is too large).

    See chapter 2, *The fully recurrent network* (section *Training*).
    """


class GradientCheckError(AssertionError):
    """The analytic gradient of some parameter disagrees with central differences.

    See chapter 2, *The fully recurrent network*.
    """


@dataclass(frozen=True)
class GradCheckResult:
    """Comparison of one parameter's analytic and numerical gradient (see :meth:`Model.grad_check`).

    ``worst`` is the entry where the analytic gradient is farthest from the central
    difference beyond the numerical uncertainty; ``abs_error`` is that distance,
    ``uncertainty`` the numerical uncertainty at that entry, and ``rel_error`` the
    distance divided by the largest entry of either gradient (0 when both are zero).
    The check passes when ``abs_error - uncertainty <= thresh``.

    See chapter 2, *The fully recurrent network*.
    """

    name: str
    abs_error: float
    uncertainty: float
    rel_error: float
    worst: tuple
    analytic: float
    numeric: float

    @property
    def excess(self):
        """How far the worst entry is beyond what finite differences can resolve."""
        return self.abs_error - self.uncertainty

    def summary(self):
        """The comparison in two short lines, without the parameter's name."""
        return (
            f"entry {list(self.worst)}: distance {self.abs_error:.1e} (numerical uncertainty "
            f"{self.uncertainty:.1e}, relative {self.rel_error:.1e})\n"
            f"      analytic {self.analytic:+.6e}, numeric {self.numeric:+.6e}"
        )

    def __str__(self):
        return (f"{self.name:>5}: distance {self.abs_error:.1e} at {list(self.worst)} "
                f"(uncertainty {self.uncertainty:.1e}, relative {self.rel_error:.1e})")


def central_difference(loss, p, eps):
    r"""Numerical gradient of ``loss()`` with respect to every entry of ``p``, Eq. (2.12).

    .. math::

        \frac{\partial L}{\partial \theta_j} \approx
        \frac{L(\theta + \varepsilon e_j) - L(\theta - \varepsilon e_j)}{2 \varepsilon}

    See chapter 2, *The fully recurrent network* (section *Checking the gradient*).

    Parameters
    ----------
    loss : callable
        ``loss()`` returns the scalar loss at the current value of ``p`` (it must read the
        live array).
    p : ndarray
        A parameter, perturbed in place entry by entry and restored exactly.
    eps : float
        The step :math:`\varepsilon`.

    Returns
    -------
    ndarray of the shape of ``p``
    """
    grad = np.empty_like(p)
    for j in np.ndindex(p.shape):
        old = p[j]
        p[j] = old + eps
        plus = loss()
        p[j] = old - eps
        minus = loss()
        p[j] = old
        grad[j] = (plus - minus) / (2 * eps)
    return grad


def init_uniform(rng, scale, shape):
    """Weights drawn uniformly from [-scale, scale] with ``rng`` (a Generator).

    See chapter 2, *The fully recurrent network*.
    """
    return rng.uniform(-scale, scale, size=shape)


def _grad_name(name):
    """``'W'`` -> ``'dW'``, ``'z.W'`` -> ``'z.dW'``: the gradient sits beside its parameter."""
    head, _, leaf = name.rpartition(".")
    return f"{head}.d{leaf}" if head else f"d{leaf}"


class Parametric:
    """Parameter registry shared by models and their parts (the LSTM's gates).

    See chapter 2, *The fully recurrent network*.

    Attributes
    ----------
    param_names : tuple of str
        Names of the parameters, dotted for parameters of sub-modules (``'z.W'``);
        the gradient of ``P`` is the attribute ``dP`` of the object that owns ``P``.
    """

    param_names = ()

    def _allocate(self, init_scale, **shapes):
        """Create each parameter uniform in [-init_scale, init_scale] (from ``self.rng``) and its zero gradient."""
        init_scale = check_positive_float("init_scale", init_scale)
        for name, shape in shapes.items():
            setattr(self, name, init_uniform(self.rng, init_scale, shape))
            setattr(self, "d" + name, np.zeros(shape))

    def _lookup(self, dotted):
        owner = self
        *path, leaf = dotted.split(".")
        for part in path:
            owner = getattr(owner, part)
        return getattr(owner, leaf)

    def params(self):
        """Parameters by name: the live arrays, so in-place changes act on the model."""
        return {name: self._lookup(name) for name in self.param_names}

    def grads(self):
        """Gradient buffers by parameter name (same keys as :meth:`params`)."""
        return {name: self._lookup(_grad_name(name)) for name in self.param_names}

    def zero_grad(self):
        """Set every gradient buffer to zero (``backward`` adds into them)."""
        for g in self.grads().values():
            g.fill(0.0)

    def update(self, eta):
        r"""One step of gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla_\theta L` (Eq. 2.13).

        Raises
        ------
        DivergenceError
            If a parameter becomes NaN or infinite (the step is still applied:
            the model is broken and must be re-initialised).
        """
        eta = check_positive_float("eta (learning rate)", eta)
        grads = self.grads()
        for name, p in self.params().items():
            p -= eta * grads[name]
        self.check_finite()

    def check_finite(self):
        """Raise :class:`DivergenceError` naming the first non-finite parameter."""
        for name, p in self.params().items():
            if not np.all(np.isfinite(p)):
                raise DivergenceError(
                    f"parameter {name} contains NaN or inf: training diverged; "
                    "lower the learning rate or clip the gradients"
                )


class OnlineModel(Parametric):
    """A network that learns online, step by step: the RTRL models of chapter 5.

    A subclass implements ``reset(batch_size)`` (start new sequences), ``forward(x_t)``
    (one time step of every sequence, updating the state and whatever the gradient needs)
    and ``backward(y_t)`` (add the gradient of this step's loss into the gradients and
    return that loss); the loop over a whole sequence lives here, once.

    See chapter 5, *Real-time recurrent learning*.
    """

    @one_blas_thread
    def loss_and_gradient(self, x, y):
        """Run whole sequences online; add the gradient of their loss into the gradients.

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)
        y : array_like of shape (K,) / (B, K) (loss at the last step) or (T, K) / (B, T, K)

        Returns
        -------
        float
            The loss (summed over steps with a target, mean over the batch), as the
            BPTT models' ``forward`` reports it.
        """
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        self.reset(x3.shape[0])
        loss = 0.0
        for t in range(x3.shape[1]):
            self.forward(x3[:, t])
            if steps[t]:
                loss += self.backward(y3[:, t])
        return loss


class Model(Parametric):
    """Base class of the sequence classifiers of rnnlab.

    Loss (Eq. 2.5): for a batch of B sequences, the mean over sequences of the
    binary cross-entropy summed over the time steps that carry a target (only the
    last step for many-to-one targets, every step for many-to-many targets).
    Subclasses list ``param_names`` and implement ``_forward`` and ``_backward``.

    See chapter 2, *The fully recurrent network*.
    """

    def __init__(self, D, K, rng):
        self.D = check_positive_int("D", D)
        self.K = check_positive_int("K", K)
        self.rng = as_generator(rng)
        self._io = None  # (x3, y3, steps, z) of the last forward; None before any

    # -- forward and backward ---------------------------------------------------
    def _loss(self, x3, y3, steps):
        z = self._forward(x3)
        B = x3.shape[0]
        self._io = (x3, y3, steps, z)
        return float(bce_with_logits(z[:, steps], y3[:, steps]).sum() / B)

    @one_blas_thread
    def forward(self, x, y):
        """Loss of one sequence or of a batch (mean over sequences), Eq. (2.5).

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)
            Inputs.
        y : array_like of shape (K,), (T, K), (B, K) or (B, T, K)
            Targets in [0, 1]: ``(K,)``/``(B, K)`` for a loss at the last step only
            (many-to-one), ``(T, K)``/``(B, T, K)`` for a loss at every step.

        Returns
        -------
        float
            The loss; the model keeps what :meth:`backward` needs.
        """
        x3, y3, steps = check_sequences(x, y, self.D, self.K)
        return self._loss(x3, y3, steps)

    @one_blas_thread
    def backward(self):
        r"""Add the gradient of the last :meth:`forward`'s loss into the buffers.

        The output error :math:`\psi(t) = \partial L / \partial z(t)` is
        :math:`(\sigma(z(t)) - y(t)) / B` at the steps that carry a loss and 0
        elsewhere (Eqs. 2.6 and 2.11); the model propagates it backwards.
        Gradients accumulate: call :meth:`~Parametric.zero_grad` first.
        """
        if self._io is None:
            raise RuntimeError("backward() needs a forward(x, y) first: there is no stored pass")
        x3, y3, steps, z = self._io
        psi = np.zeros_like(z)
        psi[:, steps] = bce_with_logits_grad(z[:, steps], y3[:, steps]) / x3.shape[0]
        self._backward(psi)

    def loss_and_gradient(self, x, y):
        """``forward(x, y)`` then ``backward()``: the loss, with its gradient added into the buffers.

        The one call a training loop needs; :class:`~rnnlab.models.lstm_rtrl.LSTM_RTRL` offers the same.
        """
        loss = self.forward(x, y)
        self.backward()
        return loss

    @one_blas_thread
    def predict(self, x):
        r"""Prediction :math:`\hat y(T) = \sigma(z(T))` at the last step.

        Parameters
        ----------
        x : array_like of shape (T, D) or (B, T, D)

        Returns
        -------
        ndarray of shape (K,) or (B, K)

        Notes
        -----
        Overwrites the stored pass: call :meth:`forward` again before :meth:`backward`.
        """
        x3, single = check_inputs(x, self.D)
        self._io = None
        y_hat = sigmoid(self._forward(x3)[:, -1])
        return y_hat[0] if single else y_hat

    # -- gradient check ---------------------------------------------------------
    @one_blas_thread
    def grad_check(self, eps=1e-6, thresh=1e-7):
        r"""Compare the analytic gradient with central differences, entry by entry.

        For every entry :math:`\theta_j` of every parameter the numerical gradient is the
        central difference (Eq. 2.12) :math:`n_j(\varepsilon)`, evaluated on the inputs and
        targets of the last :meth:`forward`. It is itself only known to within

        .. math::

            u_j = \lvert n_j(\varepsilon) - n_j(2\varepsilon) \rvert
                + \epsilon_{\text{mach}} \lvert L \rvert / \varepsilon

        — the difference of the estimates at :math:`\varepsilon` and :math:`2\varepsilon` is
        about three times the truncation error :math:`O(\varepsilon^2)`, and the second term
        is the rounding floor. An entry is wrong when the analytic gradient :math:`g_j` is
        farther from :math:`n_j(\varepsilon)` than ``thresh`` beyond that uncertainty,
        :math:`\lvert g_j - n_j(\varepsilon) \rvert - u_j > \text{thresh}`. The analytic
        gradient is recomputed first (``zero_grad``, ``forward``, ``backward`` at the current
        parameters), so a stale pass cannot fool it.

        Parameters
        ----------
        eps : float, default 1e-6
            Step of the central difference.
        thresh : float, default 1e-7
            Largest allowed distance between an analytic and a numerical entry (beyond the
            numerical uncertainty).

        Returns
        -------
        dict of str to GradCheckResult
            One result per parameter; the buffers hold the analytic gradient.

        Raises
        ------
        GradientCheckError
            Naming every parameter with a wrong entry, and its worst entry.
        RuntimeError
            If there has been no :meth:`forward`.
        """
        eps = check_positive_float("eps", eps)
        thresh = check_positive_float("thresh", thresh)
        if self._io is None:
            raise RuntimeError("grad_check() needs a forward(x, y) first: it checks that pass")
        x3, y3, steps, _ = self._io
        self.zero_grad()
        loss = self._loss(x3, y3, steps)
        self.backward()
        grads = self.grads()
        floor = np.finfo(float).eps * abs(loss) / eps           # rounding of L, divided by 2 eps, twice
        results = {}
        for name, p in self.params().items():
            numeric = central_difference(lambda: self._loss(x3, y3, steps), p, eps)
            coarse = central_difference(lambda: self._loss(x3, y3, steps), p, 2 * eps)
            results[name] = _compare(name, grads[name], numeric, np.abs(numeric - coarse) + floor)
        self._loss(x3, y3, steps)  # leave the stored pass at the unperturbed parameters
        failed = [r for r in results.values() if not r.excess <= thresh]
        if failed:
            lines = "\n".join(
                f"  {_grad_name(r.name)} differs from the numerical gradient at {r.summary()}" for r in failed
            )
            raise GradientCheckError(f"gradient check failed (thresh {thresh:g}, eps {eps:g}):\n{lines}")
        return results


def _compare(name, analytic, numeric, uncertainty):
    """Find the entry farthest beyond the numerical uncertainty; summarise it as a GradCheckResult."""
    diff = np.abs(analytic - numeric)
    excess = np.where(np.isfinite(diff), diff - uncertainty, np.inf)
    worst = np.unravel_index(np.argmax(excess), diff.shape)
    scale = max(np.abs(analytic).max(), np.abs(numeric).max())
    abs_error = float(diff[worst]) if np.isfinite(diff[worst]) else np.inf
    rel_error = abs_error / scale if scale > 0 else 0.0
    return GradCheckResult(
        name, abs_error, float(uncertainty[worst]), float(rel_error) if np.isfinite(rel_error) else np.inf,
        tuple(int(i) for i in worst), float(analytic[worst]), float(numeric[worst]),
    )
