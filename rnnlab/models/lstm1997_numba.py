r"""A compiled (numba) engine for the network of Experiment 3a: the same arithmetic as
:class:`rnnlab.models.lstm1997.LSTM1997`, one network, one sequence per update.

Shape legend: C memory cells (3 in the paper), U = 1 + 3C + 1 inputs of every hidden unit
(x(t), the previous outputs of cells, input gates and output gates, 1), B sequences,
T_max the padded length.

The numpy class is the reference the chapter shows and the tests pin this module to it
(weights equal to 1e-12 after hundreds of online updates). What the compiler buys is the
loop over time steps without Python in it: per step, the nets of the nine units, the cell
update (6.1) and the buffers of the truncated RTRL (6.2); at the end of a sequence the
gradient (6.3) and the update; all on scalars:

.. math::

    s_c(t) = s_c(t-1) + y^{in}(t)\, g(net_c(t)), \qquad y^c(t) = y^{out}(t)\, h(s_c(t)) \qquad (6.1)

    \frac{\partial s_c(t)}{\partial w_{cm}} \mathrel{+}= y^{in}(t)\, g'(net_c(t))\, u_m(t), \qquad
    \frac{\partial s_c(t)}{\partial w_{in,m}} \mathrel{+}= g(net_c(t))\, f'(net_{in}(t))\, u_m(t) \qquad (6.2)

Checking the stopping criteria stops at the first misclassified test sequence: before
ST1 a network misclassifies about half of them, so a check costs a few sequences instead
of 256 (the answer, ST1 and ST2, is the same as the full evaluation's).

See chapter 6, *Reproducing Experiment 3a* (section *A compiled engine*).
"""

import numpy as np
from numba import njit

from rnnlab._validation import check_positive_float

__all__ = ["check_criteria", "predict", "train_sequences"]

_JIT = dict(cache=True, error_model="numpy", nogil=True)


@njit(**_JIT)
def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


@njit(**_JIT)
def _run(w, w_out, x, length, y, lr, u, S, net, s, h, y_in, y_out, y_c, learn):
    """One sequence: forward with (when ``learn``) the buffers S of Eq. (6.2) and the update; returns ŷ."""
    C, U = w_out.shape[0], u.shape[0]
    for m in range(1, U - 1):
        u[m] = 0.0
    u[U - 1] = 1.0
    for c in range(C):
        s[c] = 0.0
    if learn:
        S[:, :] = 0.0
    for t in range(length):
        u[0] = x[t]
        for j in range(3 * C):                       # nets of cells, input gates, output gates
            acc = 0.0
            for m in range(U):
                acc += w[j, m] * u[m]
            net[j] = acc
        for c in range(C):
            g = 4.0 * _sigmoid(net[c]) - 2.0
            y_in[c] = _sigmoid(net[C + c])
            y_out[c] = _sigmoid(net[2 * C + c])
            if learn:                                # Eq. (6.2), as in LSTM1997._step
                gain_c = y_in[c] * (2.0 - g) * (2.0 + g) / 4.0
                gain_in = g * y_in[c] * (1.0 - y_in[c])
                for m in range(U):
                    S[c, m] += gain_c * u[m]
                    S[C + c, m] += gain_in * u[m]
            s[c] = s[c] + y_in[c] * g                # Eq. (6.1)
            h[c] = 2.0 * _sigmoid(s[c]) - 1.0
            y_c[c] = y_out[c] * h[c]
        if t < length - 1:                           # u(t + 1) takes this step's outputs
            for c in range(C):
                u[1 + c] = y_c[c]
                u[1 + C + c] = y_in[c]
                u[1 + 2 * C + c] = y_out[c]
    acc = 0.0
    for c in range(C):
        acc += w_out[c] * y_c[c]
    y_hat = _sigmoid(acc)
    if learn:                                        # Eq. (6.3) and the update, as LSTM1997.gradient
        e = (y_hat - y) * y_hat * (1.0 - y_hat)
        for c in range(C):
            dE_dyc = e * w_out[c]
            dE_ds = dE_dyc * y_out[c] * (1.0 - h[c] ** 2) / 2.0
            delta_out = dE_dyc * h[c] * y_out[c] * (1.0 - y_out[c])
            for m in range(U):
                w[c, m] -= lr * (dE_ds * S[c, m])
                w[C + c, m] -= lr * (dE_ds * S[C + c, m])
                w[2 * C + c, m] -= lr * (delta_out * u[m])
        for c in range(C):
            w_out[c] -= lr * (e * y_c[c])
    return y_hat


@njit(**_JIT)
def _buffers(w):
    C, U = w.shape[0] // 3, w.shape[1]
    return (np.empty(U), np.empty((2 * C, U)), np.empty(3 * C), np.empty(C), np.empty(C),
            np.empty(C), np.empty(C), np.empty(C))


@njit(**_JIT)
def _train(w, w_out, x, lengths, y, lr):
    u, S, net, s, h, y_in, y_out, y_c = _buffers(w)
    steps = 0
    for b in range(x.shape[0]):
        _run(w, w_out, x[b], lengths[b], y[b], lr, u, S, net, s, h, y_in, y_out, y_c, True)
        steps += lengths[b]
    return steps


@njit(**_JIT)
def _predict(w, w_out, x, lengths):
    u, S, net, s, h, y_in, y_out, y_c = _buffers(w)
    out = np.empty(x.shape[0])
    for b in range(x.shape[0]):
        out[b] = _run(w, w_out, x[b], lengths[b], 0.0, 0.0, u, S, net, s, h, y_in, y_out, y_c, False)
    return out


@njit(**_JIT)
def _check(w, w_out, x, lengths, y):
    u, S, net, s, h, y_in, y_out, y_c = _buffers(w)
    total, steps = 0.0, 0
    for b in range(x.shape[0]):
        error = abs(_run(w, w_out, x[b], lengths[b], 0.0, 0.0, u, S, net, s, h, y_in, y_out, y_c, False) - y[b])
        steps += lengths[b]
        if not error < 0.2:                          # misclassified: neither ST1 nor ST2
            return False, False, steps
        total += error
    return True, total / x.shape[0] < 0.01, steps


def _network(w, w_out):
    """Validate one network's weights: w of shape (3C, 3C + 2), w_out of shape (C,), float64, writable."""
    if not (isinstance(w, np.ndarray) and isinstance(w_out, np.ndarray)):
        raise TypeError(f"w and w_out must be numpy arrays; got {type(w).__name__} and {type(w_out).__name__}")
    C = w_out.shape[0] if w_out.ndim == 1 else -1
    if w.dtype != np.float64 or w_out.dtype != np.float64 or w.shape != (3 * C, 3 * C + 2):
        raise ValueError(f"expected w of shape (3C, 3C + 2) and w_out of shape (C,), float64; "
                         f"got {w.shape} {w.dtype} and {w_out.shape} {w_out.dtype}")
    return C


def _sequences(x, lengths, y=None):
    """Validate a padded set of sequences: x (B, T_max), lengths (B,) in [1, T_max], y (B,)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    if x.ndim != 2 or lengths.shape != (x.shape[0],):
        raise ValueError(f"expected x of shape (B, T_max) and lengths of shape (B,); got {x.shape} and {lengths.shape}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > x.shape[1]):
        raise ValueError(f"expected lengths in [1, {x.shape[1]}]; got {lengths.min()} to {lengths.max()}")
    if y is None:
        return x, lengths
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.shape != (x.shape[0],):
        raise ValueError(f"expected y of shape ({x.shape[0]},); got {y.shape}")
    return x, lengths, y


def train_sequences(w, w_out, x, lengths, y, lr=1.0):
    """Train one network online on B sequences: one truncated-RTRL update (Eqs. 6.2, 6.3) per sequence.

    Parameters
    ----------
    w : ndarray of shape (3C, U), float64
        Weights of cells, input gates and output gates (rows), as ``LSTM1997.w[n]``; updated in place.
    w_out : ndarray of shape (C,), float64
        Output weights, as ``LSTM1997.w_out[n]``; updated in place.
    x : ndarray of shape (B, T_max)
        Input sequences, zero-padded.
    lengths : ndarray of int, shape (B,)
        True lengths; the error is taken at each sequence's last step.
    y : ndarray of shape (B,)
        Targets.
    lr : float, default 1.0
        Learning rate (the paper's 1.0).

    Returns
    -------
    int
        Time steps trained (the sum of ``lengths``).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    _network(w, w_out)
    x, lengths, y = _sequences(x, lengths, y)
    return int(_train(w, w_out, x, lengths, y, check_positive_float("lr", lr)))


def predict(w, w_out, x, lengths):
    """Final output ŷ of one network for each of B sequences (as ``LSTM1997.predict``).

    Parameters
    ----------
    w, w_out : ndarray of shape (3C, U) and (C,)
    x : ndarray of shape (B, T_max)
    lengths : ndarray of int, shape (B,)

    Returns
    -------
    ndarray of shape (B,)

    See chapter 6, *Reproducing Experiment 3a*.
    """
    _network(w, w_out)
    return _predict(w, w_out, *_sequences(x, lengths))


def check_criteria(w, w_out, x, lengths, y):
    """The paper's ST1 and ST2 for one network on a test set, stopping at the first misclassified sequence.

    Parameters
    ----------
    w, w_out : ndarray of shape (3C, U) and (C,)
    x : ndarray of shape (B, T_max)
    lengths : ndarray of int, shape (B,)
    y : ndarray of shape (B,)

    Returns
    -------
    st1, st2 : bool
        As :func:`rnnlab.models.lstm1997.stopping_criteria` on all B sequences.
    steps : int
        Time steps evaluated (fewer than ``lengths.sum()`` when a sequence is misclassified).

    See chapter 6, *Reproducing Experiment 3a*.
    """
    _network(w, w_out)
    st1, st2, steps = _check(w, w_out, *_sequences(x, lengths, y))
    return bool(st1), bool(st2), int(steps)
