"""The checks of the exercises: draw inputs, compute the reference, judge the student's values.

Every exercise has a pair of functions here and a probe in :mod:`rnnlab.homework.probes`:

- ``draw(rng)`` draws this run's inputs — weights of a reference ``rnnlab`` model,
  sequences, learning rates — fresh for every check and every graded submission;
- the probe runs in the student's kernel: it builds the student's object, copies the
  weights into it by name and returns losses, gradients, outputs and updated weights;
- ``judge(inputs, values)`` runs in the grader's own process: it computes the reference
  with the package's models on the same inputs, compares, and returns a :class:`Verdict`
  that names the classic mistake when the values match one (:mod:`rnnlab.homework.mistakes`).

So any correct answer passes however it is written, and nothing a submission does in its
kernel can change a verdict except sending the right values. :func:`check` runs the three
steps in the notebook for a student's feedback; the grader runs the probe in a sandboxed
kernel and the judge outside it.

See the exercises of chapters 1 to 6 and the *For instructors* page.
"""

import math
import re
import sys
from dataclasses import dataclass

import numpy as np

from rnnlab.homework import mistakes
from rnnlab.homework.assignment import jordan as jordan_forms
from rnnlab.homework.codec import decode, encode
from rnnlab.homework.probes import LSTM_PARAMS, grad_name, probe
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.gate import SIGMOID, TANH, Gate
from rnnlab.models.jordan import JordanNetwork
from rnnlab.models.lstm import LSTM
from rnnlab.models.lstm1997 import count_weights, stopping_criteria
from rnnlab.models.lstm_rtrl import LSTM_RTRL

__all__ = ["EXERCISES", "Verdict", "check", "draw", "evaluate", "judge"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: passed or not, a message for the student, the classic mistake's name.

    See the *For instructors* page.
    """

    passed: bool
    message: str
    mistake: str = ""


class Fail(Exception):
    """Raised inside a judge: the message for the student and, if recognised, the mistake's short name."""

    def __init__(self, message, mistake=""):
        super().__init__(message)
        self.mistake = mistake


class Unanswered(Exception):
    """A judge found that the student's code still raises NotImplementedError."""


# -- comparing ---------------------------------------------------------------------------------
def _close(got, expected, rtol=1e-6):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(np.abs(expected).max(initial=0.0), np.abs(got).max(initial=0.0))
    return bool(np.abs(got - expected).max(initial=0.0) <= rtol * scale + 1e-13)


def _all_close(got, expected, rtol=1e-6):
    return all(_close(got[k], v, rtol) for k, v in expected.items())


def _difference(name, got, expected):
    """'name differs ...' with the worst entry, or the shape mismatch."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}; expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return f"{name} contains NaN or inf"
    worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
    where = str(list(map(int, worst))) if got.ndim else ""
    return f"{name}{where} is {got[worst]:+.6e}; expected {expected[worst]:+.6e}"


def _compare(got, expected, context, variants=(), rtol=1e-6):
    """Fail with the first difference, naming the variant (a classic mistake) that ``got`` matches."""
    _compare_cases([got], [expected], [context], [(name, text, [value]) for name, text, value in variants], rtol)


def _compare_cases(got, expected, contexts, variants=(), rtol=1e-6):
    """Like ``_compare`` for several cases: a variant is named only if it matches on every case.

    ``variants`` holds ``(mistake, explanation, [value of each case])``.
    """
    _n(got, len(expected), "the cases")
    for mine, right, context in zip(got, expected, contexts):
        for name, value in right.items():
            if not _close(mine[name], value, rtol):
                message = f"{_difference(name, mine[name], value)} ({context})"
                for mistake, explanation, values in variants:
                    if all(_all_close(m, v, rtol) for m, v in zip(got, values)):
                        raise Fail(f"{message}. {explanation}", mistake)
                raise Fail(message)


def _n(values, n, what):
    """``values`` if it is a list of ``n`` items; values sent short or long are wrong, not a pass."""
    if not isinstance(values, list) or len(values) != n:
        raise Fail(f"the values of {what} are incomplete")
    return values


def _holds_both(got, first, second):
    """Whether some gradient of the second sequence holds the sum of both sequences' (a buffer not cleared)."""
    return any(not _close(got[n], second[n]) and _close(got[n], first[n] + second[n]) for n in second)


def _negated(values):
    return {k: -v for k, v in values.items()}


ASCENT = ("gradient ascent", "The parameters moved *with* the gradient: subtract it, theta <- theta - eta * grad "
          "(the warning box *Gradient ascent*)")


def _judge_update(before, grads, eta, after, names):
    """The update exercise of every model: theta - eta * grad, ascent named."""
    expected = {n: before[n] - eta * grads[n] for n in names}
    if _all_close(after, expected, 1e-9):
        return
    if _all_close(after, {n: before[n] + eta * grads[n] for n in names}, 1e-9):
        raise Fail(f"update({eta:g}) added the gradient. {ASCENT[1]}", ASCENT[0])
    unchanged = [n for n in names if _close(after[n], before[n], 1e-12) and not _close(expected[n], before[n], 1e-12)]
    if unchanged:
        raise Fail(f"update({eta:g}) did not change {', '.join(unchanged)}: update the model's own attributes "
                   "(self.W -= eta * self.dW, or self.W = self.W - eta * self.dW)")
    _compare(after, expected, f"after update({eta:g}), expected theta - eta * dtheta")


# -- chapter 1: the data -------------------------------------------------------------------------
def draw_generate_data(rng):
    return {"T": int(rng.integers(6, 16)), "n": 2000, "m": 30,
            "seeds": [int(s) for s in rng.choice(2**31, size=2, replace=False)]}


def judge_generate_data(inputs, v):
    T, n, m = inputs["T"], inputs["n"], inputs["m"]
    if not v["generator"]:
        raise Fail(f"generate_data({T}) must return a generator (write it with yield); it returned {v['returned']}")
    if v["x_shape"] != [T, 1] or v["y_shape"] != [1]:
        raise Fail(f"a sample must be x of shape ({T}, 1) and y of shape (1,) for T = {T}; got x of shape "
                   f"{tuple(v['x_shape'])} and y of shape {tuple(v['y_shape'])}")
    x, y = np.asarray(v["x"], dtype=float), np.asarray(v["y"], dtype=float)
    if x.shape != (n, T) or y.shape != (n, 1):
        raise Fail(f"every sample must have x of shape ({T}, 1) and y of shape (1,)")
    if not v["global_state_unchanged"]:
        raise Fail("generate_data changed numpy's global random state: never call np.random.seed (or draw from "
                   "np.random.*); draw from a local np.random.default_rng(0xDEADBEEF) (the warning box *Never seed "
                   "numpy's global generator inside a generator*)", "global seed")
    first = np.vstack([np.asarray(v["x_first"], dtype=float)[None], x[:m]])
    if not np.array_equal(first, np.asarray(v["x_again"], dtype=float)):
        raise Fail("two streams made by generate_data(T) differ: each call must start its own generator, "
                   "seeded with 0xDEADBEEF (np.random.default_rng(0xDEADBEEF))", "unseeded")
    if v["seed"]:
        if not np.array_equal(v["seed_a"], v["seed_b"]):
            raise Fail("two streams made with the same seed differ: seed a local np.random.default_rng(seed)",
                       "unseeded")
        if np.array_equal(v["seed_a"], v["seed_c"]):
            raise Fail("streams made with different seeds are identical: the seed argument is ignored")
    labels = set(np.unique(y).tolist())
    if not labels <= {0.0, 1.0}:
        raise Fail(f"targets must be 1.0 (class 1) or 0.0 (class 2); got the values {sorted(labels)[:5]}")
    if np.array_equal(x[:, 0], 1.0 - 2.0 * y[:, 0]):
        raise Fail("x(1) is -1 for class 1 and +1 for class 2: it must be +1 for class 1 (y = 1)", "class sign")
    if not np.array_equal(x[:, 0], 2.0 * y[:, 0] - 1.0):
        raise Fail("x(1) must be +1 for class 1 (y = 1) and -1 for class 2 (y = 0)")
    p = y.mean()
    if abs(p - 0.5) > 5 * math.sqrt(0.25 / n):
        raise Fail(f"class 1 must have probability 0.5; {p:.3f} of {n} samples are class 1")
    noise = x[:, 1:].ravel()
    var = noise.var(ddof=1)
    spread = math.sqrt(2 / (noise.size - 1))
    if abs(var - 0.04) < 5 * spread * 0.04:
        raise Fail(f"the noise variance is {var:.4f}, about 0.04: 0.2 was used as the standard deviation. The "
                   "variance must be 0.2: draw with standard deviation sqrt(0.2) (the warning box *Variance is not "
                   "standard deviation*)", "variance vs standard deviation")
    if abs(var - 0.2) > 5 * spread * 0.2 or abs(noise.mean()) > 5 * math.sqrt(0.2 / noise.size):
        raise Fail(f"the noise for t > 1 must have mean 0 and variance 0.2; got mean {noise.mean():.4f} and "
                   f"variance {var:.4f}")
    return "generate_data: shapes, labels, seeding and the noise's variance are right"


# -- chapter 2: the FRN ----------------------------------------------------------------------------
def _frn_case(rng, T, y, scalar):
    return {"x": rng.normal(size=(T, 1)), "y": float(y), "scalar": bool(scalar)}


def draw_frn_backward(rng):
    I = int(rng.integers(3, 6))
    model = FullyRecurrentNetwork(1, I, 1, rng=rng, init_scale=0.5)
    labels = rng.permutation([0.0, 1.0])
    cases = [_frn_case(rng, int(rng.integers(3, 8)), labels[k], k == 0) for k in range(2)]
    return {"I": I, "weights": {n: p.copy() for n, p in model.params().items()}, "cases": cases}


def _frn_reference(I, weights, x, y):
    model = FullyRecurrentNetwork(1, I, 1, rng=0)
    for name, value in weights.items():
        model.params()[name][...] = value
    model.zero_grad()
    loss = model.forward(x, np.array([y]))
    model.backward()
    return loss, {f"d{n}": g.copy() for n, g in model.grads().items()}


FRN_MISTAKES = [
    ("no recurrence", dict(recurrence=False), "It matches a backward pass without the recurrence: delta(t) must "
     "include R^T delta(t + 1), Eq. (2.7) (the warning box *A backward pass without the recurrence*)"),
    ("psi from the squared error", dict(psi="mse"), "It matches psi = (y_hat - y) y_hat (1 - y_hat), the output "
     "error of the squared error: for the cross-entropy psi = sigma(z) - y (the warning box *psi from the wrong "
     "loss*)"),
    ("sign flipped in the loss", dict(psi="flip-1"), "It matches psi of a loss with one sign flipped: derive psi "
     "from L = y softplus(-z) + (1 - y) softplus(z), Eq. (2.6)"),
    ("sign flipped in the loss", dict(psi="flip-2"), "It matches psi of a loss with one sign flipped: derive psi "
     "from L = y softplus(-z) + (1 - y) softplus(z), Eq. (2.6)"),
    ("phi' at the activation", dict(derivative_at="a"), "It matches tanh' evaluated at a(t) instead of s(t): "
     "with a = tanh(s), tanh'(s) = 1 - a^2"),
    ("a(t) for a(t-1)", dict(a_for_a_prev=True), "It matches dR summed with a(t) instead of a(t - 1), Eq. (2.9)"),
]


def judge_frn_backward(inputs, v):
    I, weights = inputs["I"], inputs["weights"]
    cases = inputs["cases"]
    references = [_frn_reference(I, weights, c["x"], c["y"]) for c in cases]
    contexts = [f"sequence {k + 1}: T = {len(c['x'])}, y = {c['y']:g}" for k, c in enumerate(cases)]
    for k, ((loss, _), context) in enumerate(zip(references, contexts)):
        if not _close(v["losses"][k], loss, 1e-9):
            raise Fail(f"forward(x, y) returned {v['losses'][k]:.6g}, the loss is {loss:.6g} ({context}): the given "
                       "forward of FullyRecurrentNetwork must stay as it is")
    got, grads = _n(v["grads"], len(cases), "backward"), [g for _, g in references]
    if _holds_both(got[1], grads[0], grads[1]):
        raise Fail("after a second forward/backward the gradients hold the sum of both sequences: backward fills "
                   "dW, dR and dV (assign them, self.dW = ...); it does not add to the previous ones",
                   "accumulates across calls")
    W, R, V = (np.asarray(weights[n]) for n in "WRV")
    variants = [("gradient with the wrong sign", "It is the negative of the gradient: psi = sigma(z) - y, not "
                 "y - sigma(z)", [_negated(g) for g in grads])]
    variants += [(name, text, [mistakes.frn_gradients(W, R, V, c["x"], np.array([c["y"]]), **flags) for c in cases])
                 for name, flags, text in FRN_MISTAKES]
    _compare_cases(got, grads, contexts, variants)
    return "backward: dW, dR and dV equal BPTT's on every sequence"


def draw_frn_grad_check(rng):
    I = 3
    plan = [(0.5, None, 1e-7, 1e-7), (0.01, None, 1e-7, 1e-7)]
    wrong = rng.choice(["W", "R", "V"], size=2, replace=False)
    plan += [(0.5, str(wrong[0]), 1e-7, 1e-7), (0.01, str(wrong[1]), 1e-5, 1e-6)]
    cases = []
    for scale, corrupt, eps, thresh in plan:
        weights = {n: p.copy() for n, p in FullyRecurrentNetwork(1, I, 1, rng=rng, init_scale=scale).params().items()}
        x, y = rng.normal(size=(int(rng.integers(3, 6)), 1)), float(rng.integers(0, 2))
        _, claims = _frn_reference(I, weights, x, y)
        case = {"weights": weights, "x": x, "y": y, "claims": claims, "eps": eps, "thresh": thresh, "scale": scale,
                "corrupt": corrupt}
        if corrupt:
            g = claims[f"d{corrupt}"]
            entry = tuple(int(rng.integers(0, n)) for n in g.shape)
            g[entry] += rng.choice([-1.0, 1.0]) * (100 * thresh + 1e-2 * np.abs(g).max())
            case["entry"] = list(entry)
        cases.append(case)
    return {"I": I, "cases": cases}


def _close_pair(message, thresh):
    """Whether the message quotes two non-integer numbers closer than ``thresh``: raised on a distance within it."""
    numbers = [float(m) for m in re.findall(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?", message)
               if re.search(r"[.eE]", m)]
    return any(0 < abs(a - b) <= thresh and a != 0 for k, a in enumerate(numbers) for b in numbers[k + 1:])


def _names(message, name):
    return re.search(rf"(?<![A-Za-z_])d?{name}(?![A-Za-z_])", message) is not None


def judge_frn_grad_check(inputs, v):
    results = _n(v["cases"], len(inputs["cases"]), "the gradient checks")
    for case, r in zip(inputs["cases"], results):
        if not all(np.allclose(r["weights"][n], case["weights"][n], rtol=0, atol=1e-12) for n in "WRV"):
            raise Fail("grad_check left the weights changed: put every perturbed entry back to its value",
                       "weights not restored")
    correct = [(c, r) for c, r in zip(inputs["cases"], results) if not c["corrupt"]]
    for case, r in correct:
        if r["raised"] is None:
            continue
        setting = f"weights in ±{case['scale']:g}, eps {case['eps']:g}, thresh {case['thresh']:g}"
        if r["forward_calls"] < 2:
            raise Fail(f"grad_check raised on a correct gradient ({setting}) without running forward at a perturbed "
                       "weight: the central difference needs the loss at theta + eps and theta - eps, never a stale "
                       f"pass. It said: {r['raised']}", "stale forward")
        if case["scale"] < 0.1 and correct[0][1]["raised"] is None:
            raise Fail(f"grad_check raised on a correct gradient at the course's initial weights ({setting}): an "
                       "error relative to tiny entries turns rounding noise into failures; compare the distance "
                       f"|analytic - numerical| with thresh. It said: {r['raised']}", "relative threshold")
        if _close_pair(r["raised"], case["thresh"]):
            raise Fail(f"grad_check raised on a correct gradient ({setting}) although the two numbers it quotes "
                       "differ by less than thresh: compare the distance |analytic - numerical| with thresh, not "
                       f"an error relative to the entries. It said: {r['raised']}", "relative threshold")
        raise Fail(f"grad_check raised on a correct gradient ({setting}). It said: {r['raised']}")
    for case, r in zip(inputs["cases"], results):
        if not case["corrupt"]:
            continue
        wrong = f"d{case['corrupt']}{case['entry']}"
        if r["raised"] is None:
            if r["printed"].strip():
                raise Fail(f"grad_check printed but did not raise for a gradient with a wrong entry {wrong}: raise "
                           "an exception (a check that prints cannot stop anything)", "prints instead of raising")
            raise Fail(f"grad_check passed a gradient whose entry {wrong} is off by more than 100 * thresh "
                       f"(weights in ±{case['scale']:g}, eps {case['eps']:g}, thresh {case['thresh']:g})",
                       "misses a wrong entry")
        if not _names(r["raised"], case["corrupt"]):
            raise Fail(f"grad_check caught the wrong entry {wrong} but its message does not name the parameter: "
                       f"{r['raised']}")
    return "grad_check: passes correct gradients at ±0.5 and ±0.01, names a wrong entry's parameter"


def draw_frn_update(rng):
    I = int(rng.integers(3, 6))
    model = FullyRecurrentNetwork(1, I, 1, rng=rng, init_scale=0.5)
    return {"I": I, "weights": {n: p.copy() for n, p in model.params().items()},
            "grads": {f"d{n}": rng.normal(size=p.shape) for n, p in model.params().items()},
            "eta": float(rng.uniform(0.05, 0.5))}


def judge_frn_update(inputs, v):
    grads = {n: inputs["grads"][f"d{n}"] for n in "WRV"}
    _judge_update(inputs["weights"], grads, inputs["eta"], v["weights"], "WRV")
    return "update: every weight moves by -eta times its gradient"


# -- chapter 3: Jacobians and bounds -----------------------------------------------------------------
def draw_jordan_jacobian(rng):
    D, K = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    model = JordanNetwork(D, 4, K, rng=rng, init_scale=0.8)
    T = 6
    pairs = [(T, 1), (4, 4), (5, 2), (int(rng.integers(3, T + 1)), 2)]
    return {"W": model.W.copy(), "R": model.R.copy(), "V": model.V.copy(), "x": rng.normal(size=(T, D)),
            "pairs": [list(p) for p in pairs]}


def judge_jordan_jacobian(inputs, v):
    W, R, V, x = (np.asarray(inputs[k]) for k in ("W", "R", "V", "x"))
    for (t, s), got in zip(inputs["pairs"], _n(v["J"], len(inputs["pairs"]), "J(t, s)")):
        expected = jordan_forms.jordan_jacobian(W, R, V, x, t, s)
        if _close(got, expected):
            continue
        message = f"{_difference(f'J({t}, {s})', got, expected)}"
        variants = [("reversed product", "It matches the product with the earliest factor on the left: the latest "
                     "factor goes on the left, J(t, s) = J(t, t-1) ... J(s+1, s)", dict(reversed_order=True)),
                    ("sigma' at z(tau)", "It matches sigma' taken at z(tau) instead of z(tau - 1): a(tau) reads the "
                     "output of step tau - 1", dict(slope_at_same_step=True)),
                    ("phi' at the activation", "It matches sigma' applied to the output y_hat = sigma(z) instead of "
                     "z", dict(slope_of_output=True))]
        for name, text, flags in variants:
            if _close(got, mistakes.jordan_jacobian(W, R, V, x, t, s, **flags)):
                raise Fail(f"{message}. {text}", name)
        if _close(got, expected.T):
            raise Fail(f"{message}. It is the transpose: row k of J(t, s) is the gradient of a_k(t)", "transposed")
        for shift in (1, -1):
            if 1 <= s + shift <= t + shift <= len(x) and _close(got, jordan_forms.jordan_jacobian(W, R, V, x, t + shift,
                                                                                                  s + shift)):
                raise Fail(f"{message}. It matches J({t + shift}, {s + shift}): t and s count from 1, a(1) is the "
                           "state after the first input", "off by one in time")
        raise Fail(message)
    return "jordan_jacobian: J(t, s) is right for every pair"


def draw_bounds(rng):
    frn = []
    for T in (int(rng.integers(3, 9)), int(rng.integers(10, 20))):
        R = rng.normal(size=(4, 4)) * 0.3
        R[0, 3] += 1.5                          # non-normal: the largest eigenvalue is not the largest singular value
        frn.append({"R": R, "T": T})
    jordan = []
    for _ in range(2):
        s = int(rng.integers(1, 4))
        jordan.append({"R": rng.normal(size=(4, 2)), "V": rng.normal(size=(2, 4)), "t": s + int(rng.integers(1, 6)),
                       "s": s})
    return {"frn": frn, "jordan": jordan}


def judge_bounds(inputs, v):
    explain = {"eigenvalue": "the largest |eigenvalue| of R is not its spectral norm: the spectral norm is the "
                             "largest singular value, np.linalg.norm(R, 2)",
               "frobenius": "np.linalg.norm(A) is the Frobenius norm: the spectral norm is np.linalg.norm(A, 2)",
               "exponent": "the exponent is off by one: T - 1 steps for the FRN, t - s for the Jordan network",
               "quarter": "the factor 1/4 (the largest slope of the sigmoid) is missing"}
    for kind, cases in (("frn", inputs["frn"]), ("jordan", inputs["jordan"])):
        for case, got in zip(cases, _n(v[kind], len(cases), f"{kind}_bound")):
            if kind == "frn":
                call, expected = f"frn_bound(R, {case['T']})", jordan_forms.frn_bound(case["R"], case["T"])
                variants = mistakes.bounds(np.asarray(case["R"]), T=case["T"])
            else:
                call = f"jordan_bound(R, V, {case['t']}, {case['s']})"
                expected = jordan_forms.jordan_bound(case["R"], case["V"], case["t"], case["s"])
                variants = mistakes.bounds(np.asarray(case["R"]), V=np.asarray(case["V"]), t=case["t"], s=case["s"])
            if _close(got, expected, 1e-9):
                continue
            for name, value in variants.items():
                if _close(got, value, 1e-9):
                    raise Fail(f"{call} is {got:.6g}; the bound is {expected:.6g}: {explain[name]}",
                               {"eigenvalue": "spectral norm is not the largest eigenvalue"}.get(name, name))
            raise Fail(f"{call} is {got:.6g}; the bound is {expected:.6g}")
    return "frn_bound and jordan_bound: right, with spectral norms"


# -- chapter 4: the gate and the LSTM ------------------------------------------------------------------
ACTIVATIONS = {"tanh": TANH, "sigmoid": SIGMOID}


def _gate_cases(rng, D, I, backward):
    cases = []
    for name in rng.permutation(["tanh", "sigmoid"]):
        gate = Gate(D, I, ACTIVATIONS[name], rng=rng, init_scale=0.7)
        n = int(rng.integers(2, 5))
        case = {"activation": str(name), "weights": {k: p.copy() for k, p in gate.params().items()},
                "xs": rng.normal(size=(n, D)), "hs": rng.normal(size=(n, I))}
        if backward:
            case.update(grads_a=rng.normal(size=(n, I)), eta=float(rng.uniform(0.05, 0.5)),
                        G={k: rng.normal(size=p.shape) for k, p in gate.params().items()})
        cases.append(case)
    return cases


def draw_gate(rng):
    return {"D": 2, "I": 3, "cases": _gate_cases(rng, 2, 3, backward=False)}


def draw_gate_backward(rng):
    return {"D": 2, "I": 3, "cases": _gate_cases(rng, 2, 3, backward=True)}


def _check_init(initial, shapes, what):
    """Shapes, and weights drawn from [-0.01, 0.01] (biases may start at zero)."""
    for name, shape in shapes.items():
        value = np.asarray(initial[name], dtype=float)
        if value.shape != shape:
            raise Fail(f"{what} must create {name} of shape {shape}; got shape {value.shape}")
        is_bias = name.rpartition(".")[2].startswith("b")
        if np.abs(value).max(initial=0.0) > 0.01 or (not is_bias and value.size > 1 and np.ptp(value) == 0):
            raise Fail(f"{what} must draw {name} uniformly from [-0.01, 0.01]; got values from "
                       f"{value.min():.3g} to {value.max():.3g}")


def judge_gate(inputs, v):
    D, I = inputs["D"], inputs["I"]
    for case, got in zip(inputs["cases"], _n(v["cases"], len(inputs["cases"]), "the gates")):
        _check_init(got["initial"], {"W": (I, D), "R": (I, I), "b": (I,)}, "Gate.__init__")
        W, R, b = (np.asarray(case["weights"][k]) for k in "WRb")
        name = case["activation"]
        other = ACTIVATIONS["sigmoid" if name == "tanh" else "tanh"]
        for t, (x, h, a) in enumerate(zip(case["xs"], case["hs"], _n(got["a"], len(case["xs"]), "forward"))):
            s = W @ x + R @ h + b
            expected = ACTIVATIONS[name].fn(s)
            if _close(a, expected, 1e-9):
                continue
            message = f"{_difference('a', a, expected)} at step {t + 1} of a {name} gate"
            if _close(a, other.fn(s), 1e-9):
                raise Fail(f"{message}: the gate must apply the activation passed to __init__", "fixed activation")
            if _close(a, ACTIVATIONS[name].fn(s - b), 1e-9):
                raise Fail(f"{message}: the bias b is missing, Eq. (4.1)")
            raise Fail(f"{message}: a = phi(W x + R h + b), Eq. (4.1)")
    return "Gate: W, R, b initialised right, a = phi(W x + R h + b) for tanh and sigmoid"


def _gate_reference(case):
    gate = Gate(len(case["xs"][0]), len(case["hs"][0]), ACTIVATIONS[case["activation"]], rng=0)
    for name, value in case["weights"].items():
        gate.params()[name][...] = value
    for x, h in zip(case["xs"], case["hs"]):
        gate.forward(x[None], h[None])
    steps = [[g[0] for g in gate.backward(grad_a[None])] for grad_a in case["grads_a"][::-1]]
    return steps, {f"d{k}": g.copy() for k, g in gate.grads().items()}


def _flatten_steps(steps, buffers):
    out = {f"{name} (backward call {k + 1})": value for k, step in enumerate(steps)
           for name, value in zip(("grad_x", "grad_h"), step)}
    out.update(buffers)
    return out


def judge_gate_backward(inputs, v):
    for case, got in zip(inputs["cases"], _n(v["cases"], len(inputs["cases"]), "the gates")):
        act = case["activation"]
        _n(got["steps"], len(case["xs"]), "backward")
        for name, value in got["cleared"].items():
            if np.any(np.asarray(value) != 0):
                raise Fail(f"zero_grad must set dW, dR and db to zero; {name} was not cleared")
        steps, buffers = _gate_reference(case)
        expected = _flatten_steps(steps, buffers)
        mine = _flatten_steps(got["steps"], got["buffers"])
        W, R, b = (np.asarray(case["weights"][k]) for k in "WRb")
        args = (W, R, b, ACTIVATIONS[act], case["xs"], case["hs"], case["grads_a"])
        variants = [
            ("phi' at the activation", "It matches phi' applied to the activation a instead of the pre-activation "
             "s: use activation.deriv(s, a) (the warning box *phi' applied to the activation*)",
             _flatten_steps(*mistakes.gate_backward(*args, derivative_at="a"))),
            ("steps in forward order", "It matches a gate that backpropagates its steps in forward order: each "
             "backward belongs to the most recent forward step not yet backpropagated",
             _flatten_steps(*mistakes.gate_backward(*args, order="first"))),
            ("buffers overwritten", "It matches a backward that overwrites dW, dR, db: add into them (+=), BPTT "
             "sums the steps", _flatten_steps(*mistakes.gate_backward(*args, accumulate=False))),
        ]
        _compare(mine, expected, f"{act} gate, {len(case['xs'])} steps", variants)
        G = {k: np.asarray(case["G"][k]) for k in "WRb"}
        _judge_update(case["weights"], G, case["eta"], got["updated"], "WRb")
    return "Gate: zero_grad, backward (dW, dR, db, grad_x, grad_h) and update are right"


def _lstm_case(rng, k, label):
    return {"x": rng.normal(size=(int(rng.integers(3, 7)), 1)), "y": float(label), "scalar": k == 0}


def draw_lstm(rng, backward):
    I = 3
    model = LSTM(1, I, 1, rng=rng, init_scale=0.5)
    labels = rng.permutation([0.0, 1.0])
    inputs = {"I": I, "weights": {n: p.copy() for n, p in model.params().items()},
              "cases": [_lstm_case(rng, k, labels[k]) for k in range(2)]}
    if backward:
        inputs.update(eta=float(rng.uniform(0.05, 0.5)),
                      G={n: rng.normal(size=p.shape) for n, p in model.params().items()})
    return inputs


def _lstm_reference(inputs, case):
    model = LSTM(1, inputs["I"], 1, rng=0)
    for name, value in inputs["weights"].items():
        model.params()[name][...] = value
    model.zero_grad()
    loss = model.forward(case["x"], np.array([case["y"]]))
    model.backward()
    return loss, {grad_name(n): g.copy() for n, g in model.grads().items()}


def _judge_lstm_attempts(v, judge_one):
    """Pass if the LSTM is right with the student's Gate, or with rnnlab's in its place."""
    if "values" in v["yours"]:
        try:
            return judge_one(v["yours"]["values"])
        except Fail as fail:
            first = fail
    else:
        first = None
    if "values" in v["rnnlab"]:
        try:
            return judge_one(v["rnnlab"]["values"]) + " (checked with rnnlab's Gate in place of yours)"
        except Fail as fail:
            first = first or fail
    if first is not None:
        raise first
    for source in ("rnnlab", "yours"):
        if "unanswered" in v[source]:
            raise Unanswered(v[source]["unanswered"])
    raise Fail(v["yours"].get("error") or v["rnnlab"].get("error"))


def judge_lstm_forward(inputs, v):
    references = [_lstm_reference(inputs, c)[0] for c in inputs["cases"]]

    def judge_one(losses):
        for k, (case, loss) in enumerate(zip(inputs["cases"], references)):
            if _close(losses[k], loss, 1e-9):
                continue
            message = (f"forward(x, y) returned {losses[k]:.6g}; the loss is {loss:.6g} "
                       f"(T = {len(case['x'])}, y = {case['y']:g})")
            p = {n: np.asarray(w) for n, w in inputs["weights"].items()}
            for form in ("flip-1", "flip-2"):
                if _close(losses[k], mistakes.lstm_loss(p, case["x"], case["y"], psi_form=form), 1e-9):
                    raise Fail(f"{message}. It matches the loss with one sign flipped: L = y softplus(-z) + (1 - y) "
                               "softplus(z) (the warning box *A sign flipped in the loss*)", "sign flipped in the loss")
            if _close(losses[k], mistakes.lstm_loss(p, case["x"], case["y"], carousel=False), 1e-9):
                raise Fail(f"{message}. It matches a cell that forgets: c(t) = c(t - 1) + z(t) i(t), Eq. (4.2)",
                           "no carousel")
            raise Fail(message)
        return "LSTM.forward: the loss is right on every sequence"
    return _judge_lstm_attempts(v, judge_one)


def judge_lstm_backward(inputs, v):
    references = [_lstm_reference(inputs, c) for c in inputs["cases"]]
    p = {n: np.asarray(w) for n, w in inputs["weights"].items()}

    def judge_one(values):
        got, grads = _n(values["grads"], len(references), "backward"), [g for _, g in references]
        if _holds_both(got[1], grads[0], grads[1]):
            raise Fail("the gradients of the second sequence include the first's: zero_grad must clear every "
                       "buffer (the gates' and the output layer's)", "zero_grad does not clear")
        cases = inputs["cases"]
        sequences = [(c["x"], np.array([c["y"]])) for c in cases]
        variants = [
            ("gradient with the wrong sign", "It is the negative of the gradient: psi = sigma(z) - y",
             [_negated(g) for g in grads]),
            ("no recurrence through the gates", "It matches BPTT without the error into h(t - 1) through the "
             "gates' R: the gates' grad_h must be added into the error at h(t - 1), Eq. (4.6)",
             [mistakes.lstm_gradients(p, x, y, through_gates=False) for x, y in sequences]),
            ("no carousel", "It matches BPTT that does not carry the error at c(t + 1) to c(t): Eq. (4.7), the "
             "constant error carousel", [mistakes.lstm_gradients(p, x, y, carousel=False) for x, y in sequences]),
        ]
        contexts = [f"sequence {k + 1}: T = {len(c['x'])}, y = {c['y']:g}" for k, c in enumerate(cases)]
        _compare_cases(got, grads, contexts, variants)
        G = {n: np.asarray(inputs["G"][n]) for n in LSTM_PARAMS}
        _judge_update(inputs["weights"], G, inputs["eta"], values["updated"], LSTM_PARAMS)
        return "LSTM: zero_grad, backward (every gradient) and update are right"
    return _judge_lstm_attempts(v, judge_one)


# -- chapter 5: truncated RTRL -----------------------------------------------------------------------
def draw_rtrl(rng):
    inputs = draw_lstm(rng, backward=True)
    model = LSTM_RTRL(1, inputs["I"], 1, rng=rng, init_scale=0.5)
    inputs["weights"] = {n: p.copy() for n, p in model.params().items()}
    return inputs


def _rtrl_reference(inputs, case):
    model = LSTM_RTRL(1, inputs["I"], 1, rng=0)
    for name, value in inputs["weights"].items():
        model.params()[name][...] = value
    model.zero_grad()
    model.reset()
    outputs = [model.forward(x_t) for x_t in case["x"]]
    loss = model.backward(np.array([case["y"]]))
    return outputs, loss, {grad_name(n): g.copy() for n, g in model.grads().items()}


def judge_rtrl(inputs, v):
    I = inputs["I"]
    shapes = {f"{g}.{k}": s for g in "zio" for k, s in (("W", (I, 1)), ("R", (I, I)), ("b", (I,)))}
    _check_init(v["initial"], dict(shapes, W_y=(1, I), b_y=(1,)), "LSTM_RTRL.__init__")
    p = {n: np.asarray(w) for n, w in inputs["weights"].items()}
    cases, all_grads, contexts = inputs["cases"], [], []
    for k, case in enumerate(cases):
        outputs, loss, grads = _rtrl_reference(inputs, case)
        context = f"sequence {k + 1}: T = {len(case['x'])}, y = {case['y']:g}"
        for t, (got, expected) in enumerate(zip(_n(v["outputs"][k], len(outputs), "forward(x_t)"), outputs)):
            if not _close(got, expected, 1e-9):
                raise Fail(f"forward(x_t) at step {t + 1}: {_difference('y_hat', got, expected)} ({context}); the "
                           "gates read h(t - 1), c(t) = c(t - 1) + z(t) i(t)")
        if not _close(v["losses"][k], loss, 1e-9):
            raise Fail(f"backward(y) returned the loss {v['losses'][k]:.6g}; expected {loss:.6g} ({context})")
        all_grads.append(grads)
        contexts.append(context)
    sequences = [(c["x"], np.array([c["y"]])) for c in cases]
    variants = [
        ("gradient with the wrong sign", "It is the negative of the gradient: psi = sigma(z) - y",
         [_negated(g) for g in all_grads]),
        ("buffers do not accumulate", "It matches buffers that restart at every step: d c(t) / d w accumulates "
         "over t, Eqs. (5.3)-(5.4)", [mistakes.rtrl_gradients(p, x, y, accumulate=False) for x, y in sequences]),
        ("h(t) for h(t-1)", "It matches buffers built from h(t) where the gates read h(t - 1): "
         "u(t) = [x(t); h(t - 1); 1]", [mistakes.rtrl_gradients(p, x, y, u_with_new_h=True) for x, y in sequences]),
    ]
    _compare_cases(v["grads"], all_grads, contexts, variants)
    G = {n: np.asarray(inputs["G"][n]) for n in LSTM_PARAMS}
    _judge_update(inputs["weights"], G, inputs["eta"], v["updated"], LSTM_PARAMS)
    return "LSTM_RTRL: initialisation, outputs, the truncated-RTRL gradient and the update are right"


# -- chapter 6: the 1997 protocol ------------------------------------------------------------------------
def draw_count_weights(rng):
    return {"cells": [3] + [int(c) for c in rng.permutation(np.arange(1, 9))[:4] if c != 3]}


def judge_count_weights(inputs, v):
    explain = {"output bias": "the paper's output unit has no bias (102 weights for 3 cells)",
               "cells only": "cells and gates receive the previous outputs of all cells *and all gates*",
               "no bias": "every cell and gate has a bias",
               "no output": "the output unit's weights from the cells count too"}
    for cells, got in zip(inputs["cells"], _n(v["counts"], len(inputs["cells"]), "count_weights")):
        expected = count_weights(cells)
        if got == expected:
            continue
        for name, value in mistakes.counts(cells).items():
            if got == value:
                raise Fail(f"count_weights({cells}) is {got:g}; expected {expected}: {explain[name]}", name)
        raise Fail(f"count_weights({cells}) is {got:g}; expected {expected}")
    return "count_weights: right for every number of cells (102 for the paper's 3)"


def draw_stopping_criteria(rng):
    B = 256

    def test_set(errors):
        y = rng.integers(0, 2, size=B).astype(float)
        return {"y_hat": np.abs(y - np.asarray(errors, dtype=float)), "y": y}

    small = lambda: rng.uniform(0, 0.004, size=B)   # noqa: E731 - a mean well below 0.01
    cases = [test_set(small()), test_set(rng.uniform(0.02, 0.19, size=B))]
    boundary = test_set(small())
    boundary["y"][0], boundary["y_hat"][0] = 0.0, 0.2                  # |0.2 - 0| is not below 0.2
    one_bad = small()
    one_bad[int(rng.integers(0, B))] = 0.5
    near_side = small()
    near_side[rng.choice(B, size=3, replace=False)] = 0.3              # on the right side of 0.5, but |error| >= 0.2
    cases += [boundary, test_set(one_bad), test_set(near_side), test_set(np.full(B, 0.05))]
    return {"cases": [cases[k] for k in rng.permutation(len(cases))]}


def judge_stopping_criteria(inputs, v):
    explain = {"<= 0.2": "a sequence is classified correctly when |y_hat - y| < 0.2, strictly",
               "st2 without st1": "ST2 requires ST1 as well as a mean absolute error below 0.01",
               "side of 0.5": "a sequence counts as correct only when |y_hat - y| < 0.2, not when y_hat is on the "
                              "right side of 0.5",
               "squared error": "ST2 uses the mean *absolute* error, not the squared error"}
    for k, (case, got) in enumerate(zip(inputs["cases"], _n(v["criteria"], len(inputs["cases"]), "stopping_criteria"))):
        st1, st2 = stopping_criteria(case["y_hat"], case["y"])
        expected = [bool(st1), bool(st2)]
        if list(got) == expected:
            continue
        message = f"test set {k + 1}: (st1, st2) = {tuple(got)}; expected {tuple(expected)}"
        for name, variant in mistakes.criteria(case["y_hat"], case["y"]).items():
            if list(variant) == list(got):
                raise Fail(f"{message}: {explain[name]}", name)
        raise Fail(message)
    return "stopping_criteria: ST1 and ST2 right on every test set"


EXERCISES = {
    "ex-generate-data": (draw_generate_data, judge_generate_data),
    "ex-frn-backward": (draw_frn_backward, judge_frn_backward),
    "ex-frn-grad-check": (draw_frn_grad_check, judge_frn_grad_check),
    "ex-frn-update": (draw_frn_update, judge_frn_update),
    "ex-jordan-jacobian": (draw_jordan_jacobian, judge_jordan_jacobian),
    "ex-bounds": (draw_bounds, judge_bounds),
    "ex-gate": (draw_gate, judge_gate),
    "ex-gate-backward": (draw_gate_backward, judge_gate_backward),
    "ex-lstm-forward": (lambda rng: draw_lstm(rng, backward=False), judge_lstm_forward),
    "ex-lstm-backward": (lambda rng: draw_lstm(rng, backward=True), judge_lstm_backward),
    "ex-rtrl-class": (draw_rtrl, judge_rtrl),
    "ex-count-weights": (draw_count_weights, judge_count_weights),
    "ex-stopping-criteria": (draw_stopping_criteria, judge_stopping_criteria),
}


def draw(exercise, rng):
    """This run's inputs of ``exercise``, drawn with ``rng`` (a numpy Generator).

    See the *For instructors* page.
    """
    return EXERCISES[exercise][0](rng)


def judge(exercise, inputs, result):
    """The :class:`Verdict` on a probe's ``result`` for ``inputs``; never raises, whatever ``result`` holds.

    See the *For instructors* page.

    Parameters
    ----------
    exercise : str
        The exercise's label, e.g. ``"ex-frn-backward"``.
    inputs : dict
        What :func:`draw` returned.
    result : dict
        What the probe returned in the student's kernel (``{"values": ...}``,
        ``{"unanswered": ...}`` or ``{"error": ...}``) — untrusted.
    """
    if not isinstance(result, dict):
        return Verdict(False, "no values came back from the notebook")
    if "unanswered" in result:
        return Verdict(False, f"not answered yet ({result['unanswered']} raises NotImplementedError)")
    if "error" in result:
        return Verdict(False, str(result["error"])[:1000])
    try:
        return Verdict(True, EXERCISES[exercise][1](inputs, result["values"]))
    except Fail as fail:
        return Verdict(False, str(fail), fail.mistake)
    except Unanswered as err:
        return Verdict(False, f"not answered yet ({err} raises NotImplementedError)")
    except Exception as err:  # noqa: BLE001 - values that are not what the probe sends: wrong, not a crash
        return Verdict(False, f"the values that came back are not what the check expects ({type(err).__name__})")


def evaluate(exercise, namespace, rng=None):
    """Draw inputs, probe ``namespace`` (a notebook's globals) and judge, in this process: a :class:`Verdict`.

    The values make the same round trip through :mod:`rnnlab.homework.codec` as in the grader.

    See the *For instructors* page.
    """
    inputs = draw(exercise, np.random.default_rng(rng))
    result = decode(encode(probe(exercise, namespace, decode(encode(inputs)))))
    return judge(exercise, inputs, result)


def check(exercise, namespace=None):
    """Check the notebook's answer to ``exercise`` and show one line: ✓ or ✗ with what is wrong.

    Draws fresh inputs, runs the probe on ``namespace`` (default: the caller's globals, the
    notebook), judges the values and displays the verdict. Never raises: an unanswered or
    broken exercise is a result, and the notebook runs on.

    See the *For instructors* page.

    Returns
    -------
    bool
        Whether the answer passed.
    """
    verdict = evaluate(exercise, sys._getframe(1).f_globals if namespace is None else namespace)
    line = f"{'✓' if verdict.passed else '✗'} {exercise}: {verdict.message}"
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            raise ImportError
        display({"text/plain": line}, raw=True)
    except ImportError:
        print(line)
    return verdict.passed
