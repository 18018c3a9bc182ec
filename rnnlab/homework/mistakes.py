"""The classic mistakes of the exercises, computed: what a wrong answer returns, so a check can name it.

Each function recomputes an exercise's answer, one sequence at a time, with switches that
reproduce one classic mistake of the chapters' warning boxes (a backward pass without the
recurrence, phi' applied to the activation, psi from the wrong loss, h(t) for h(t-1), ...).
The checks compare a wrong answer with these variants and name the one it matches. The
correct answers come from the package's models, never from here.

See the "Common mistakes" sections of chapters 1 to 6.
"""

import numpy as np

from rnnlab.losses import sigmoid

__all__ = ["PSI", "bounds", "counts", "criteria", "frn_gradients", "gate_backward", "jordan_jacobian",
           "lstm_gradients", "lstm_loss", "rtrl_gradients"]

# psi = dL/dz at T for a loss written in several (wrong) ways; p = sigma(z)
PSI = {
    "bce": lambda p, y: p - y,
    "mse": lambda p, y: (p - y) * p * (1.0 - p),                # psi from the squared error
    "flip-1": lambda p, y: -y * (1.0 - p) - (1.0 - y) * p,      # y softplus(-z) - (1 - y) softplus(z)
    "flip-2": lambda p, y: y * (1.0 - p) + (1.0 - y) * p,       # -y softplus(-z) + (1 - y) softplus(z)
}


def frn_gradients(W, R, V, x, y, *, recurrence=True, psi="bce", derivative_at="s", a_for_a_prev=False):
    """dW, dR, dV of the FRN's loss at T for one sequence, optionally with one classic mistake.

    See the *For instructors* page.
    """
    T, I = len(x), len(R)
    a, a_prev = np.zeros((T, I)), np.zeros(I)
    for t in range(T):
        a[t] = a_prev = np.tanh(W @ x[t] + R @ a_prev)
    z = V @ a[-1]
    psi_T = PSI[psi](sigmoid(z), y)
    grads = {"dW": np.zeros_like(W), "dR": np.zeros_like(R), "dV": np.outer(psi_T, a[-1])}
    delta = np.zeros(I)
    for t in reversed(range(T)):
        gain = 1.0 - a[t] ** 2 if derivative_at == "s" else 1.0 - np.tanh(a[t]) ** 2
        delta = gain * ((V.T @ psi_T if t == T - 1 else 0.0) + (R.T @ delta if recurrence else 0.0))
        before = a[t] if a_for_a_prev else (a[t - 1] if t > 0 else np.zeros(I))
        grads["dW"] += np.outer(delta, x[t])
        grads["dR"] += np.outer(delta, before)
    return grads


def gate_backward(W, R, b, activation, xs, hs, grads_a, *, derivative_at="s", order="latest", accumulate=True):
    """(grad_x, grad_h) of each backward call (latest step first) and the final buffers of a gate.

    See the *For instructors* page.
    """
    steps = [(x, h, W @ x + R @ h + b) for x, h in zip(xs, hs)]
    if order == "latest":
        steps = steps[::-1]
    out, buffers = [], {"dW": np.zeros_like(W), "dR": np.zeros_like(R), "db": np.zeros_like(b)}
    for (x, h, s), grad_a in zip(steps, grads_a[::-1]):
        a = activation.fn(s)
        delta = grad_a * (activation.deriv(s, a) if derivative_at == "s" else activation.deriv(a, activation.fn(a)))
        if not accumulate:
            buffers = {k: np.zeros_like(v) for k, v in buffers.items()}
        buffers["dW"] += np.outer(delta, x)
        buffers["dR"] += np.outer(delta, h)
        buffers["db"] += delta
        out.append((W.T @ delta, R.T @ delta))
    return out, buffers


def _gates(p, x, h):
    s = {g: p[f"{g}.W"] @ x + p[f"{g}.R"] @ h + p[f"{g}.b"] for g in "zio"}
    return np.tanh(s["z"]), sigmoid(s["i"]), sigmoid(s["o"])


def lstm_gradients(p, x, y, *, through_gates=True, carousel=True, psi="bce"):
    """Gradients (by the names ``z.dW``, ..., ``dW_y``, ``db_y``) of the LSTM's loss at T for one sequence.

    See the *For instructors* page.
    """
    I = len(p["z.b"])
    h, c, steps = np.zeros(I), np.zeros(I), []
    for x_t in x:
        z, i, o = _gates(p, x_t, h)
        steps.append((x_t, h, z, i, o, c + z * i))
        c = c + z * i
        h = np.tanh(c) * o
    psi_T = PSI[psi](sigmoid(p["W_y"] @ h + p["b_y"]), y)
    g = {f"{gate}.d{k}": np.zeros_like(p[f"{gate}.{k}"]) for gate in "zio" for k in "WRb"}
    g.update({"dW_y": np.outer(psi_T, h), "db_y": psi_T})
    dh, dc = p["W_y"].T @ psi_T, np.zeros(I)
    for x_t, h_prev, z, i, o, c in reversed(steps):
        dc = (dc if carousel else 0.0) + dh * o * (1.0 - np.tanh(c) ** 2)
        deltas = {"z": dc * i * (1.0 - z * z), "i": dc * z * i * (1.0 - i), "o": dh * np.tanh(c) * o * (1.0 - o)}
        dh = np.zeros(I)
        for gate, delta in deltas.items():
            g[f"{gate}.dW"] += np.outer(delta, x_t)
            g[f"{gate}.dR"] += np.outer(delta, h_prev)
            g[f"{gate}.db"] += delta
            if through_gates:
                dh += p[f"{gate}.R"].T @ delta
    return g


def rtrl_gradients(p, x, y, *, accumulate=True, u_with_new_h=False):
    """Gradients of truncated RTRL for the loss at T of one sequence (names as :func:`lstm_gradients`).

    See the *For instructors* page.
    """
    I = len(p["z.b"])
    h, c = np.zeros(I), np.zeros(I)
    S = {g: {k: np.zeros_like(p[f"{g}.{k}"]) for k in "WRb"} for g in "zi"}
    for x_t in x:
        z, i, o = _gates(p, x_t, h)
        c = c + z * i
        h_new = np.tanh(c) * o
        u_h = h_new if u_with_new_h else h
        for gate, gain in (("z", i * (1.0 - z * z)), ("i", z * i * (1.0 - i))):
            if not accumulate:
                S[gate] = {k: np.zeros_like(v) for k, v in S[gate].items()}
            S[gate]["W"] += np.outer(gain, x_t)
            S[gate]["R"] += np.outer(gain, u_h)
            S[gate]["b"] += gain
        x_last, h_prev, h = x_t, h, h_new
    psi_T = sigmoid(p["W_y"] @ h + p["b_y"]) - y
    g = {"dW_y": np.outer(psi_T, h), "db_y": psi_T}
    dh = p["W_y"].T @ psi_T
    dc = dh * o * (1.0 - np.tanh(c) ** 2)
    for gate in "zi":
        g[f"{gate}.dW"], g[f"{gate}.dR"], g[f"{gate}.db"] = (dc[:, None] * S[gate]["W"], dc[:, None] * S[gate]["R"],
                                                             dc * S[gate]["b"])
    delta_o = dh * np.tanh(c) * o * (1.0 - o)
    g["o.dW"], g["o.dR"], g["o.db"] = np.outer(delta_o, x_last), np.outer(delta_o, h_prev), delta_o
    return g


def jordan_jacobian(W, R, V, x, t, s, *, reversed_order=False, slope_at_same_step=False, slope_of_output=False):
    """J(t, s) of the Jordan network (times from 1) with one of the classic mistakes switched on.

    See the *For instructors* page.
    """
    a, z, y_hat = [], [], np.zeros(len(V))
    for x_t in x[:max(t, 1)]:
        a.append(np.tanh(W @ x_t + R @ y_hat))
        z.append(V @ a[-1])
        y_hat = sigmoid(z[-1])
    factors = []
    for tau in range(s + 1, t + 1):
        zz = z[tau - 1] if slope_at_same_step else z[tau - 2]
        value = sigmoid(sigmoid(zz)) if slope_of_output else sigmoid(zz)
        factors.append((1.0 - a[tau - 1] ** 2)[:, None] * (R * value * (1.0 - value)) @ V)
    J = np.eye(len(W))
    for factor in factors:
        J = J @ factor if reversed_order else factor @ J
    return J


def bounds(R, T=None, V=None, t=None, s=None):
    """The bound of the FRN (R, T) or of the Jordan network (R, V, t, s), computed in classic wrong ways.

    See the *For instructors* page.
    """
    spectral, frobenius = (lambda A: np.linalg.norm(A, 2)), (lambda A: np.linalg.norm(A))
    if V is None:
        eigen = float(np.max(np.abs(np.linalg.eigvals(R))))
        return {"eigenvalue": eigen ** (T - 1), "frobenius": frobenius(R) ** (T - 1),
                "exponent": spectral(R) ** T}
    norm = spectral(R) * spectral(V)
    return {"frobenius": (frobenius(R) * frobenius(V) / 4) ** (t - s), "quarter": norm ** (t - s),
            "exponent": (norm / 4) ** (t - s + 1)}


def counts(cells):
    """Weight counts of the 1997 network, each with one classic slip.

    See the *For instructors* page.
    """
    hidden = 3 * cells
    return {"output bias": hidden * (hidden + 2) + cells + 1,
            "cells only": hidden * (cells + 2) + cells,          # the gates' outputs not fed back
            "no bias": hidden * (hidden + 1) + cells,
            "no output": hidden * (hidden + 2)}


def criteria(y_hat, y):
    """(st1, st2) computed with each classic slip.

    See the *For instructors* page.
    """
    error = np.abs(np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float))
    st1 = bool(np.all(error < 0.2))
    return {"<= 0.2": (bool(np.all(error <= 0.2)), bool(np.all(error <= 0.2) and error.mean() < 0.01)),
            "st2 without st1": (st1, bool(error.mean() < 0.01)),
            "side of 0.5": (bool(np.all((np.asarray(y_hat) > 0.5) == (np.asarray(y) > 0.5))),
                            bool(np.all((np.asarray(y_hat) > 0.5) == (np.asarray(y) > 0.5)) and error.mean() < 0.01)),
            "squared error": (st1, bool(st1 and np.mean(error ** 2) < 0.01))}


def lstm_loss(p, x, y, *, psi_form="bce", carousel=True):
    """The LSTM's loss at T written with a flipped sign (``flip-1``, ``flip-2``) or without the carousel.

    See the *For instructors* page.
    """
    from rnnlab.losses import softplus

    I = len(p["z.b"])
    h, c = np.zeros(I), np.zeros(I)
    for x_t in x:
        z, i, o = _gates(p, x_t, h)
        c = (c if carousel else 0.0) + z * i
        h = np.tanh(c) * o
    logits = p["W_y"] @ h + p["b_y"]
    terms = {"bce": (1, 1), "flip-1": (1, -1), "flip-2": (-1, 1)}[psi_form]
    return float(np.sum(terms[0] * y * softplus(-logits) + terms[1] * (1.0 - y) * softplus(logits)))
