"""Argument checks shared by every public function of rnnlab.

Each helper either returns a normalised value or raises ``TypeError`` /
``ValueError`` with a message of the form "<name> must be <expected>; got
<what came>", so that a student sees what to fix without reading a traceback.
"""

import numbers

import numpy as np

__all__ = [
    "as_generator",
    "check_inputs",
    "check_positive_float",
    "check_positive_int",
    "check_sequences",
    "check_step",
    "check_step_input",
    "check_step_target",
    "describe",
]


def describe(value):
    """Short description of ``value`` for error messages: its repr and type."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_positive_int(name, value):
    """Return ``value`` as ``int`` if it is an integer ≥ 1, else raise.

    Booleans and floats are refused even when integral (``T=2.0`` is almost
    always a mistake for ``T=2`` in an expression such as ``T/10``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer; got {describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1); got {value}")
    return int(value)


def check_positive_float(name, value):
    """Return ``value`` as ``float`` if it is a finite real number > 0, else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive finite number; got {describe(value)}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value}")
    return float(value)


def as_generator(rng):
    """Normalise a seed or generator into a ``numpy.random.Generator``.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        ``None`` draws fresh OS entropy (not reproducible), an ``int`` seeds a
        new generator, a ``Generator`` is returned unchanged (shared state).

    Returns
    -------
    numpy.random.Generator
        Never numpy's global state: rnnlab never seeds or draws from the global generator.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(
            "rng/seed must be None, a non-negative integer or a numpy.random.Generator; "
            f"got {describe(rng)}"
        )
    if rng < 0:
        raise ValueError(f"rng/seed must be a non-negative integer; got {rng}")
    return np.random.default_rng(int(rng))


def _as_float_array(name, value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers; got {describe(value)}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; every entry must be finite")
    return arr


def check_inputs(x, D):
    """Validate inputs and return them as a batch of shape (B, T, D).

    Parameters
    ----------
    x : array_like of shape (T, D) or (B, T, D)
        One sequence or a batch of sequences.
    D : int
        The number of input units the model expects.

    Returns
    -------
    x3 : ndarray of shape (B, T, D)
        ``B = 1`` for a single sequence.
    single : bool
        Whether ``x`` was one sequence.
    """
    arr = _as_float_array("x", x)
    if arr.ndim not in (2, 3) or arr.shape[-1] != D or 0 in arr.shape:
        raise ValueError(
            f"x must have shape (T, D) or (B, T, D) with D = {D} and T, B >= 1; got shape {arr.shape}"
        )
    single = arr.ndim == 2
    return (arr[None] if single else arr), single


def check_step(value, name, size):
    """Validate one time step of a batch: an array of shape (B, size), finite; return it as float."""
    arr = _as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[1] != size or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (B, {size}) with B >= 1; got shape {arr.shape}")
    return arr


def check_sequences(x, y, D, K):
    """Validate a forward pass's inputs and targets; return them in batch form.

    ``x`` of shape (T, D) takes ``y`` of shape (K,) (loss at the last step only,
    many-to-one) or (T, K) (loss at every step, many-to-many) — and, when K = 1, a plain
    number (``model.forward(x, 1)``, as the course's assignment writes it); ``x`` of shape
    (B, T, D) takes ``y`` of shape (B, K) or (B, T, K).

    Returns
    -------
    x3 : ndarray of shape (B, T, D)
    y3 : ndarray of shape (B, T, K)
        Targets placed at their time steps, zero where no loss is taken.
    steps : ndarray of shape (T,), bool
        The time steps that carry a loss.
    """
    x3, single = check_inputs(x, D)
    B, T, _ = x3.shape
    arr = _as_float_array("y", y)
    lead = () if single else (B,)
    if arr.ndim == 0 and single and K == 1:
        arr = arr.reshape(1)                     # a plain number: the target of the one output
    if arr.shape == lead + (K,):
        steps = np.zeros(T, dtype=bool)
        steps[-1] = True
        y3 = np.zeros((B, T, K))
        y3[:, -1] = arr
    elif arr.shape == lead + (T, K):
        steps = np.ones(T, dtype=bool)
        y3 = arr.reshape(B, T, K)
    else:
        many_to_one, many_to_many = lead + (K,), lead + (T, K)
        number = " or a plain number" if single and K == 1 else ""
        raise ValueError(
            f"y must have shape {many_to_one}{number} (loss at the last step) or {many_to_many} "
            f"(loss at every step) for x of shape {np.shape(x)}; got shape {arr.shape}"
        )
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(
            f"y must hold targets in [0, 1]; got values from {arr.min():g} to {arr.max():g}"
        )
    return x3, y3, steps


def check_step_input(x_t, lead, D):
    """Validate one step of an online model: shape ``lead + (D,)``, finite; return it as (B, D)."""
    x = np.asarray(x_t, dtype=float) if not isinstance(x_t, str) else None
    if x is None or x.shape != lead + (D,):
        raise ValueError(
            f"x_t must have shape {lead + (D,)} (the batch size set by reset() and D = {D}); "
            f"got {describe(x_t) if x is None else 'shape ' + str(x.shape)}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x_t contains NaN or inf; every entry must be finite")
    return x.reshape(-1, D)


def check_step_target(y, lead, K):
    """Validate one step's target: shape ``lead + (K,)`` (a plain number when K = 1 and there is
    no batch axis), in [0, 1]; return it as (B, K)."""
    arr = np.asarray(y, dtype=float)
    if arr.ndim == 0 and lead == () and K == 1:
        arr = arr.reshape(1)                     # a plain number: the target of the one output
    if arr.shape != lead + (K,):
        raise ValueError(f"y must have shape {lead + (K,)} for the current step; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError("y must hold finite targets in [0, 1]")
    return arr.reshape(-1, K)
