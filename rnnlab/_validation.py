"""Argument checks shared by every public function of rnnlab.

Each helper either returns a normalised value or raises ``TypeError`` /
``ValueError`` with a message of the form "<name> must be <expected>; got
<what came>", so that a student sees what to fix without reading a traceback.
"""

import numbers

import numpy as np

__all__ = ["as_generator", "check_positive_int", "check_positive_float", "describe"]


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
        Never numpy's global state: rnnlab does not call ``np.random.seed``.
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
