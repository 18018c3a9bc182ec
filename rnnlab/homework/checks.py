"""Checks that teach: test a student's function or class and say what is wrong.

Each check raises :class:`CheckFailed` with a message that names what was expected,
what came, and — where it recognises one — the classic mistake behind it (see the
"Common mistakes" boxes of the chapters). It returns a short success message
otherwise. The homework notebooks call these after each code exercise.

See the chapters' exercises; the homework tooling builds on this module.
"""

import inspect
import math

import numpy as np

from rnnlab._validation import describe
from rnnlab.models.base import Parametric, _grad_name
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.losses import bce_with_logits_grad

__all__ = ["CheckFailed", "check_gate_backward", "check_gate_forward", "check_generate_data", "check_grad_check",
           "check_gradients", "check_rtrl_forward", "check_update", "student_model"]


class CheckFailed(AssertionError):
    """A check found a mistake; the message says which and where."""


def student_model(reference, **methods):
    """A subclass of ``reference`` with a student's methods attached (the assignment API).

    ``student_model(FullyRecurrentNetwork, _backward=my_backward)`` returns a class whose
    ``_backward`` is the student's function; the package's own class is not touched.
    """
    for name, method in methods.items():
        _require_own(method, name)
    return type(f"Student{reference.__name__}", (reference,), methods)


def _require_own(obj, name):
    """Refuse the package's own reference where the student's code is expected."""
    if inspect.isfunction(obj) and obj.__module__.startswith("rnnlab"):
        raise CheckFailed(f"{name} is rnnlab's own reference ({obj.__module__}.{obj.__qualname__}), not yours: "
                          f"define {name} in the exercise cell and run that cell")


def _take(stream, n):
    xs, ys = zip(*(next(stream) for _ in range(n)))
    return np.stack(xs), np.stack(ys)


def check_generate_data(generate_data):
    """Check a student's ``generate_data(T, seed=0xDEADBEEF)`` against chapter 1's definition.

    Shapes, labels, the class in x(1), reproducibility by seed, numpy's global random
    state, class balance and the noise variance (0.2, not a standard deviation of 0.2),
    and the refusal of a non-positive T.

    Returns
    -------
    str
        A confirmation when every check passed.

    Raises
    ------
    CheckFailed
        With what is wrong.
    """
    _require_own(generate_data, "generate_data")
    stream = generate_data(7)
    if not hasattr(stream, "__next__"):
        raise CheckFailed(f"generate_data(7) must return a generator (write it with yield); got {describe(stream)}")
    x, y = next(stream)
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != (7, 1) or y.shape != (1,):
        raise CheckFailed(f"a sample must be x of shape (7, 1) and y of shape (1,) for T = 7; "
                          f"got x of shape {x.shape} and y of shape {y.shape}")

    state = np.random.get_state()
    a, b = generate_data(20, seed=11), generate_data(20, seed=11)
    xa, ya = _take(a, 200)
    xb, _ = _take(b, 200)
    after = np.random.get_state()
    if not (state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]):
        raise CheckFailed("generate_data changed numpy's global random state: do not call np.random.seed "
                          "(or np.random.normal); draw from a local np.random.default_rng(seed)")
    if not np.array_equal(xa, xb):
        raise CheckFailed("two streams made with the same seed differ: seed a local np.random.default_rng(seed)")
    if np.array_equal(xa, _take(generate_data(20, seed=12), 200)[0]):
        raise CheckFailed("streams made with different seeds are identical: the seed argument is ignored")
    labels = set(np.unique(ya))
    if not labels <= {0.0, 1.0}:
        raise CheckFailed(f"targets must be 1.0 (class 1) or 0.0 (class 2); got values {sorted(labels)}")
    if not np.array_equal(xa[:, 0, 0], 2 * ya[:, 0] - 1):
        raise CheckFailed("x(1) must be +1 for class 1 (y = 1) and -1 for class 2 (y = 0)")

    n = 4000
    x, y = _take(generate_data(20, seed=5), n)
    p = y.mean()
    if abs(p - 0.5) > 4 * math.sqrt(0.25 / n):
        raise CheckFailed(f"class 1 should have probability 0.5; {p:.3f} of {n} samples are class 1")
    noise = x[:, 1:, 0].ravel()
    var = noise.var(ddof=1)
    se = math.sqrt(2 / (noise.size - 1)) * 0.2
    if abs(var - 0.04) < 4 * math.sqrt(2 / (noise.size - 1)) * 0.04:
        raise CheckFailed(f"the noise variance is {var:.4f}, about 0.04: 0.2 was used as the standard "
                          "deviation. The variance must be 0.2: draw with standard deviation sqrt(0.2)")
    if abs(var - 0.2) > 4 * se or abs(noise.mean()) > 4 * math.sqrt(0.2 / noise.size):
        raise CheckFailed(f"the noise for t > 1 must have mean 0 and variance 0.2; "
                          f"got mean {noise.mean():.4f} and variance {var:.4f}")
    for bad in (0, -1):
        try:
            next(generate_data(bad))
        except (ValueError, TypeError):
            continue
        except Exception as err:  # noqa: BLE001 - any other failure is the student's to see
            raise CheckFailed(f"generate_data({bad}) must raise ValueError (T must be a positive integer); "
                              f"it raised {type(err).__name__}: {err}") from None
        raise CheckFailed(f"generate_data({bad}) must raise ValueError: T must be a positive integer")
    return "generate_data: all checks passed"


def _numerical(model, x, y, name):
    return _numerical_of(lambda: model.forward(x, y), model.params()[name])


def _frn_gradient_without_recurrence(model, x, y):
    """The classic bug's gradient: delta(t) = (1 - a^2) * V^T psi(t), without R^T delta(t + 1)."""
    ref = FullyRecurrentNetwork(model.D, model.I, model.K, rng=0)
    for name, p in model.params().items():
        ref.params()[name][...] = p
    ref.forward(x, y)
    x3, y3, steps, z = ref._io
    xs, a = ref._cache
    B, T, I = a.shape
    psi = np.zeros_like(z)
    psi[:, steps] = bce_with_logits_grad(z[:, steps], y3[:, steps]) / B
    delta = (1 - a**2) * (psi @ ref.V)
    a_prev = np.concatenate([np.zeros((B, 1, I)), a[:, :-1]], axis=1)
    return {"W": delta.reshape(-1, I).T @ xs.reshape(B * T, -1), "R": delta.reshape(-1, I).T @ a_prev.reshape(-1, I)}


def _close(a, b, tol):
    scale = max(np.abs(a).max(), np.abs(b).max())
    return scale == 0 or np.abs(a - b).max() <= tol * scale


def check_gradients(model, x, y, tol=1e-5):
    """Compare the gradients a model's ``backward`` fills with central differences of its loss.

    Runs ``zero_grad``, ``forward(x, y)`` and ``backward()`` on ``model``, then, for every
    parameter, compares the buffer with the numerical gradient of ``forward``.

    Parameters
    ----------
    model : rnnlab.models.base.Model
        Typically a subclass of a reference model with the student's ``backward``.
    x, y : array_like
        Inputs and targets for ``forward``.
    tol : float, default 1e-5
        Largest accepted ``max |analytic - numeric| / max(|analytic|, |numeric|)``.

    Raises
    ------
    CheckFailed
        Naming the first wrong gradient, its worst entry, and the classic mistake when
        the gradient matches one (wrong sign; no recurrence through R in the FRN).
    """
    model.zero_grad()
    model.forward(x, y)
    model.backward()
    analytic = {name: g.copy() for name, g in model.grads().items()}
    for name in model.params():
        numeric = _numerical(model, x, y, name)
        got = analytic[name]
        if got.shape != numeric.shape:
            raise CheckFailed(f"{_grad_name(name)} has shape {got.shape}; the parameter has shape {numeric.shape}")
        if _close(got, numeric, tol):
            continue
        worst = np.unravel_index(np.argmax(np.abs(got - numeric)), got.shape)
        message = (f"{_grad_name(name)} differs from the numerical gradient: max error "
                   f"{np.abs(got - numeric).max():.1e} at {list(map(int, worst))} "
                   f"(yours {got[worst]:+.3e}, numerical {numeric[worst]:+.3e})")
        if _close(got, -numeric, tol):
            message += ". It is the negative of the gradient: check the sign of psi = sigma(z) - y and of the loss"
        elif isinstance(model, FullyRecurrentNetwork) and name in ("W", "R"):
            if _close(got, _frn_gradient_without_recurrence(model, x, y)[name], tol):
                message += (". It matches a backward pass without the recurrence: delta(t) must include "
                            "R^T delta(t + 1), Eq. (2.7)")
        raise CheckFailed(message)
    return "gradients: every parameter agrees with central differences"


def check_update(model, eta=0.1):
    """Check that ``model.update(eta)`` moves every parameter against its gradient.

    Raises
    ------
    CheckFailed
        If the parameters moved with the gradient (gradient ascent) or by the wrong amount.
    """
    if not isinstance(model, Parametric):
        raise CheckFailed(f"model must be an rnnlab model; got {describe(model)}")
    rng = np.random.default_rng(0)
    before = {name: p.copy() for name, p in model.params().items()}
    grads = {name: rng.normal(size=g.shape) for name, g in model.grads().items()}
    for name, g in model.grads().items():
        g[...] = grads[name]
    model.update(eta)
    for name, p in model.params().items():
        step = p - before[name]
        if np.allclose(step, eta * grads[name]):
            raise CheckFailed(f"update added the gradient to {name} (gradient ascent): subtract it, "
                              "theta <- theta - eta * grad, or the weights grow without bound")
        if not np.allclose(step, -eta * grads[name]):
            raise CheckFailed(f"update changed {name} by the wrong amount: expected -eta * d{name}")
        p[...] = before[name]
    return "update: every parameter moves against its gradient"


def _complaint(grad_check, reference, x, y, init_scale):
    """Run the student's grad_check on a fresh ``reference`` model; return its error message or None."""
    model = student_model(reference, grad_check=grad_check)(1, 4, 1, rng=0, init_scale=init_scale)
    model.forward(x, y)
    try:
        grad_check(model, 1e-5, 1e-6)
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - any complaint counts; its text is judged by the caller
        return f"{type(err).__name__}: {err}"
    return None


def check_grad_check(grad_check):
    """Check a student's ``grad_check(self, eps, thresh)`` for the FRN.

    It must accept a correct gradient, and raise — naming the parameter — on a gradient
    with one corrupted entry, whatever the scale of the weights.
    """
    _require_own(grad_check, "grad_check")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 5, 1)), np.array([[1.0], [0.0]])
    complaint = _complaint(grad_check, FullyRecurrentNetwork, x, y, 0.5)
    if complaint:
        raise CheckFailed(f"grad_check raised on a correct gradient: {complaint}")

    class Corrupted(FullyRecurrentNetwork):
        def _backward(self, psi):
            super()._backward(psi)
            self.dR[1, 2] += 1e-3 * np.abs(self.dR).max()

    for scale in (0.5, 0.01):   # 0.01: tiny gradients, where an absolute threshold passes anything
        complaint = _complaint(grad_check, Corrupted, x, y, scale)
        if complaint is None:
            raise CheckFailed(f"grad_check passed a gradient with a wrong entry dR[1, 2] (weights of size {scale}): "
                              "compare relative to the size of the gradient, not with an absolute threshold")
        if "R" not in complaint.split(":", 1)[1]:
            raise CheckFailed(f"grad_check caught a wrong dR but its message does not name the parameter: {complaint}")
    return "grad_check: accepts the right gradient, rejects a wrong one and names it"


def _gate_case(seed=7):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(5, 2)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))


def check_gate_forward(forward):
    """Check a student's ``Gate.forward(self, x, h)``: a = phi(W x + R h + b) for a batch, Eq. (4.1)."""
    _require_own(forward, "forward")
    from rnnlab.models.gate import SIGMOID, TANH, Gate

    x, h, _ = _gate_case()
    for activation in (SIGMOID, TANH):
        student = student_model(Gate, forward=forward)(2, 3, activation, rng=0, init_scale=0.7)
        expected = activation.fn(x @ student.W.T + h @ student.R.T + student.b)
        got = np.asarray(student.forward(x, h))
        if got.shape != expected.shape:
            raise CheckFailed(f"forward must return shape (B, I) = {expected.shape}; got {got.shape}")
        if not np.allclose(got, expected, rtol=1e-10, atol=1e-12):
            raise CheckFailed(f"forward differs from phi(W x + R h + b) with phi = {activation.name}: max error "
                              f"{np.abs(got - expected).max():.1e}")
    return "Gate.forward: a = phi(W x + R h + b) for both activations"


def check_gate_backward(backward):
    """Check a student's ``Gate.backward(self, grad_a)``: all five gradients of Eq. (4.5)."""
    _require_own(backward, "backward")
    from rnnlab.models.gate import SIGMOID, TANH, Gate

    x, h, w = _gate_case()
    for activation in (SIGMOID, TANH):
        student = student_model(Gate, backward=backward)(2, 3, activation, rng=0, init_scale=0.7)
        student.forward(x, h)
        grad_x, grad_h = student.backward(w)

        def loss():
            return float(np.sum(w * activation.fn(x @ student.W.T + h @ student.R.T + student.b)))

        numeric = {name: _numerical_of(loss, p) for name, p in student.params().items()}
        numeric["x"], numeric["h"] = _numerical_of(loss, x), _numerical_of(loss, h)
        got = dict(student.grads(), x=grad_x, h=grad_h)
        # the classic bug: phi' evaluated at the activation a = phi(s) instead of at s
        a = activation.fn(x @ student.W.T + h @ student.R.T + student.b)
        d = w * activation.deriv(a, activation.fn(a))          # phi'(a), the wrong point
        buggy = dict(W=d.T @ x, R=d.T @ h, b=d.sum(axis=0), x=d @ student.W, h=d @ student.R)
        for name, expected in numeric.items():
            value = np.asarray(got[name])
            if value.shape != expected.shape or not _close(value, expected, 1e-6):
                message = f"the gradient for {name} ({activation.name} gate) differs from central differences"
                if value.shape == expected.shape and _close(value, buggy[name], 1e-6):
                    message += ": phi' was applied to the activation a instead of the pre-activation s"
                raise CheckFailed(message)
    return "Gate.backward: dW, dR, db, dx and dh agree with central differences"


def _numerical_of(loss, p, eps=1e-6):
    grad = np.zeros_like(p)
    for j in np.ndindex(p.shape):
        old = p[j]
        p[j] = old + eps
        plus = loss()
        p[j] = old - eps
        minus = loss()
        p[j] = old
        grad[j] = (plus - minus) / (2 * eps)
    return grad


def check_rtrl_forward(forward):
    """Check a student's ``LSTM_RTRL.forward(self, x_t)``: state and RTRL buffers, Eqs. (5.3)-(5.4).

    The gradient that the (reference) ``backward`` computes from the student's buffers must
    equal the truncated-BPTT gradient of the same network (chapter 5).
    """
    _require_own(forward, "forward")
    from rnnlab.models.lstm import LSTM
    from rnnlab.models.lstm_rtrl import LSTM_RTRL

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 6, 1)), rng.integers(0, 2, size=(3, 1)).astype(float)
    reference = LSTM(1, 3, 1, rng=0, init_scale=0.5, truncate=True)
    reference.zero_grad()
    reference.loss_and_gradient(x, y)
    student = student_model(LSTM_RTRL, forward=forward)(1, 3, 1, rng=0, init_scale=0.5)
    student.zero_grad()
    student.loss_and_gradient(x, y)
    for name, expected in reference.grads().items():
        got = student.grads()[name]
        if not _close(got, expected, 1e-8):
            raise CheckFailed(f"{_grad_name(name)} differs from the truncated-BPTT gradient (max error "
                              f"{np.abs(got - expected).max():.1e}): check the buffer update of Eqs. (5.3)-(5.4)"
                              if name[0] in "zi" else
                              f"{_grad_name(name)} differs from the truncated-BPTT gradient: check the state "
                              "update and what forward stores in self._step")
    return "LSTM_RTRL.forward: buffers give exactly the truncated-BPTT gradient"
