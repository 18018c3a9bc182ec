"""Values between a student's kernel and the grader: JSON text with numpy arrays, nothing executable.

Arrays travel as ``{"__array__": [dtype, shape, base64 bytes]}`` (float64, int64 or bool only),
so NaN and infinity survive and ``decode`` never builds anything but dicts, lists, numbers,
strings and arrays: a submission can send wrong values, never code.

See the *For instructors* page.
"""

import base64
import json

import numpy as np

__all__ = ["decode", "encode"]

_DTYPES = {"f8": np.float64, "i8": np.int64, "b1": np.bool_}


def _default(obj):
    if isinstance(obj, np.ndarray):
        kind = {"f": "f8", "i": "i8", "u": "i8", "b": "b1"}.get(obj.dtype.kind)
        if kind is None:
            raise TypeError(f"cannot send an array of dtype {obj.dtype}")
        data = np.ascontiguousarray(obj, dtype=_DTYPES[kind])
        return {"__array__": [kind, list(data.shape), base64.b64encode(data.tobytes()).decode("ascii")]}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send a {type(obj).__name__}")


def encode(obj):
    """JSON text of ``obj`` (dicts, lists, numbers, strings, None, numpy arrays and scalars).

    See the *For instructors* page.
    """
    return json.dumps(obj, default=_default)


def _hook(obj):
    if set(obj) != {"__array__"}:
        return obj
    kind, shape, data = obj["__array__"]
    raw = base64.b64decode(data, validate=True)
    dtype = np.dtype(_DTYPES[kind])
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape) or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
        raise ValueError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(text, limit=64 * 1024 * 1024):
    """The value :func:`encode` wrote; ``ValueError`` for anything else (or longer than ``limit``).

    See the *For instructors* page.
    """
    if not isinstance(text, str) or len(text) > limit:
        raise ValueError("not a value record (not text, or too long)")
    try:
        return json.loads(text, object_hook=_hook)
    except (KeyError, TypeError, IndexError, ValueError, OverflowError, RecursionError) as err:
        raise ValueError(f"not a value record: {type(err).__name__}") from None
