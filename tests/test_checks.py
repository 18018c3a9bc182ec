"""rnnlab/homework/checks.py: answers written the way students write them, pasted into the stubs.

Each answer below is source code for the stub of its exercise, written for the assignment's
API (not with the package's code): it runs in a namespace built like the student notebook —
the given code of the chapter, then every stub with this answer in place of its own — and
the exercise's check must give full marks to the right ones and zero, naming the classic
mistake, to the wrong ones. The checks draw fresh inputs every time; each answer is checked
on three draws.
"""

import textwrap

import numpy as np
import pytest

from rnnlab.homework import notebooks
from rnnlab.homework.checks import EXERCISES, draw, evaluate, judge

CHAPTER_OF = {"ex-generate-data": "01_memory_task", "ex-frn-backward": "02_frn_bptt",
              "ex-frn-grad-check": "02_frn_bptt", "ex-frn-update": "02_frn_bptt",
              "ex-jordan-jacobian": "03_vanishing_gradients", "ex-bounds": "03_vanishing_gradients",
              "ex-gate": "04_lstm", "ex-gate-backward": "04_lstm", "ex-lstm-forward": "04_lstm",
              "ex-lstm-backward": "04_lstm", "ex-rtrl-class": "05_rtrl", "ex-count-weights": "06_reproduction",
              "ex-stopping-criteria": "06_reproduction"}
_CELLS = {}


def homework_cells(chapter):
    """The given and stub cells of a chapter's student notebook: (exercise or None, source)."""
    if chapter not in _CELLS:
        notebook = notebooks.notebook(notebooks.CHAPTERS / f"{chapter}.md", "student")
        _CELLS[chapter] = [(c.metadata.get("homework", {}).get("exercise"), c.source) for c in notebook.cells
                           if {"homework-given", "homework-stub"} & notebooks.tags(c)]
    return _CELLS[chapter]


def notebook_with(chapter, answers):
    """A namespace like the student notebook's, with ``answers`` ({exercise: source}) pasted into the stubs."""
    ns = {"__name__": "__main__"}
    exec("import numpy as np\nfrom rnnlab import SIGMOID, TANH", ns)
    for exercise, source in homework_cells(chapter):
        exec(compile(textwrap.dedent(answers.get(exercise, source)), f"<{exercise or 'given'}>", "exec"), ns)
    return ns


def verdicts(exercise, answer, others=None, draws=3):
    ns = notebook_with(CHAPTER_OF[exercise], {exercise: answer, **(others or {})})
    return [evaluate(exercise, ns, rng=seed) for seed in range(draws)]


def assert_right(exercise, answer, others=None):
    for verdict in verdicts(exercise, answer, others):
        assert verdict.passed, verdict.message


def assert_wrong(exercise, answer, mistake, pattern="", others=None):
    for verdict in verdicts(exercise, answer, others):
        assert not verdict.passed
        assert verdict.mistake == mistake, verdict.message
        assert pattern in verdict.message, verdict.message


# -- chapter 1 -----------------------------------------------------------------------------------
DATA_RIGHT = [
    """
    def generate_data(T, seed=0xDEADBEEF):
        rng = np.random.default_rng(seed)
        while True:
            label = rng.integers(0, 2)
            x = rng.normal(0.0, np.sqrt(0.2), size=(T, 1))
            x[0, 0] = 1.0 if label == 1 else -1.0
            yield x, np.array([float(label)])
    """,
    """
    import math

    def generate_data(T):
        rng = np.random.default_rng(0xDEADBEEF)
        while True:
            y = rng.choice([0.0, 1.0], size=1)
            noise = rng.standard_normal((T - 1, 1)) * math.sqrt(0.2)
            yield np.vstack([[2 * y[0] - 1], noise]), y
    """,
]


@pytest.mark.parametrize("answer", DATA_RIGHT)
def test_right_generators_get_full_marks(answer):
    assert_right("ex-generate-data", answer)


@pytest.mark.parametrize("answer, mistake", [
    (DATA_RIGHT[0].replace("np.sqrt(0.2)", "0.2"), "variance vs standard deviation"),
    ("""
    def generate_data(T, seed=0xDEADBEEF):
        np.random.seed(seed)
        while True:
            label = np.random.randint(0, 2)
            x = np.random.normal(0.0, np.sqrt(0.2), size=(T, 1))
            x[0, 0] = 2 * label - 1
            yield x, np.array([float(label)])
    """, "global seed"),
    (DATA_RIGHT[0].replace("default_rng(seed)", "default_rng()"), "unseeded"),
    (DATA_RIGHT[0].replace("1.0 if label == 1 else -1.0", "-1.0 if label == 1 else 1.0"), "class sign"),
])
def test_classic_generator_mistakes_are_named(answer, mistake):
    assert_wrong("ex-generate-data", answer, mistake)


def test_a_function_that_returns_one_sample_is_not_a_generator():
    answer = DATA_RIGHT[0].replace("while True:", "if True:").replace("yield x, np.array([float(label)])",
                                                                   "return x, np.array([float(label)])")
    assert_wrong("ex-generate-data", answer, "", "must return a generator")


def test_the_packages_own_generator_is_not_an_answer():
    assert_wrong("ex-generate-data", "from rnnlab import generate_data", "", "rnnlab's own")


# -- chapter 2 -----------------------------------------------------------------------------------
BACKWARD_LOOP = """
def backward(self):
    T, I = self.a.shape
    y_hat = 1.0 / (1.0 + np.exp(-self.z))
    psi = y_hat - self.y
    self.dV = np.outer(psi, self.a[T - 1])
    self.dW = np.zeros_like(self.W)
    self.dR = np.zeros_like(self.R)
    delta = (1 - self.a[T - 1] ** 2) * (self.V.T @ psi)
    for t in range(T - 1, -1, -1):
        a_prev = self.a[t - 1] if t > 0 else np.zeros(I)
        self.dW += np.outer(delta, self.x[t])
        self.dR += np.outer(delta, a_prev)
        if t > 0:
            delta = (1 - self.a[t - 1] ** 2) * (self.R.T @ delta)

FullyRecurrentNetwork.backward = backward
"""

BACKWARD_VECTORISED = """
def backward(self):
    x, a, y = self.x, self.a, self.y
    T = len(x)
    deltas = np.zeros_like(a)
    psi = 1 / (1 + np.exp(-self.z)) - y
    deltas[-1] = (1 - a[-1] ** 2) * (self.V.T @ psi)
    for t in reversed(range(T - 1)):
        deltas[t] = (1 - a[t] ** 2) * (self.R.T @ deltas[t + 1])
    a_prev = np.vstack([np.zeros((1, a.shape[1])), a[:-1]])
    self.dW = deltas.T @ x
    self.dR = deltas.T @ a_prev
    self.dV = psi[:, None] * a[-1][None, :]

FullyRecurrentNetwork.backward = backward
"""


@pytest.mark.parametrize("answer", [BACKWARD_LOOP, BACKWARD_VECTORISED])
def test_right_backward_passes_get_full_marks(answer):
    assert_right("ex-frn-backward", answer)


@pytest.mark.parametrize("answer, mistake", [
    (BACKWARD_LOOP.replace("(self.R.T @ delta)", "0.0"), "no recurrence"),
    (BACKWARD_LOOP.replace("psi = y_hat - self.y", "psi = (y_hat - self.y) * y_hat * (1 - y_hat)"),
     "psi from the squared error"),
    (BACKWARD_LOOP.replace("psi = y_hat - self.y", "psi = self.y - y_hat"), "gradient with the wrong sign"),
    (BACKWARD_VECTORISED.replace("(1 - a[t] ** 2)", "(1 - np.tanh(a[t]) ** 2)")
                        .replace("(1 - a[-1] ** 2)", "(1 - np.tanh(a[-1]) ** 2)"), "phi' at the activation"),
    (BACKWARD_LOOP.replace("a_prev = self.a[t - 1] if t > 0 else np.zeros(I)", "a_prev = self.a[t]"),
     "a(t) for a(t-1)"),
    (BACKWARD_LOOP.replace("psi = y_hat - self.y", "psi = -self.y * (1 - y_hat) - (1 - self.y) * y_hat"),
     "sign flipped in the loss"),
])
def test_classic_backward_mistakes_are_named(answer, mistake):
    assert_wrong("ex-frn-backward", answer, mistake)


def test_a_backward_that_adds_to_the_last_call_is_caught():
    answer = (BACKWARD_VECTORISED.replace("self.dW = deltas.T @ x", "self.dW = getattr(self, 'dW', 0) + deltas.T @ x")
              .replace("self.dR = deltas.T @ a_prev", "self.dR = getattr(self, 'dR', 0) + deltas.T @ a_prev"))
    assert_wrong("ex-frn-backward", answer, "accumulates across calls")


GRAD_CHECK = """
def grad_check(self, eps, thresh):
    self.forward(self.x, self.y)
    self.backward()
    for name in ["W", "R", "V"]:
        param = getattr(self, name)
        analytic = getattr(self, "d" + name)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            plus = self.forward(self.x, self.y)
            param[idx] = old - eps
            minus = self.forward(self.x, self.y)
            param[idx] = old
            numeric = (plus - minus) / (2 * eps)
            if abs(numeric - analytic[idx]) > thresh:
                raise ValueError(f"gradient check failed for {name} at {idx}: {analytic[idx]} vs {numeric}")
    self.forward(self.x, self.y)

FullyRecurrentNetwork.grad_check = grad_check
"""

GRAD_CHECK_REBINDING = """
def grad_check(self, eps, thresh):
    x, y = self.x, self.y
    self.forward(x, y)
    self.backward()
    grads = {"W": self.dW.copy(), "R": self.dR.copy(), "V": self.dV.copy()}
    for name, grad in grads.items():
        original = getattr(self, name)
        for i in range(original.shape[0]):
            for j in range(original.shape[1]):
                up, down = original.copy(), original.copy()
                up[i, j] += eps
                down[i, j] -= eps
                setattr(self, name, up)
                l_up = self.forward(x, y)
                setattr(self, name, down)
                l_down = self.forward(x, y)
                setattr(self, name, original)
                if abs((l_up - l_down) / (2 * eps) - grad[i, j]) > thresh:
                    raise AssertionError(f"d{name}[{i}, {j}] is wrong")

FullyRecurrentNetwork.grad_check = grad_check
"""


@pytest.mark.parametrize("answer", [GRAD_CHECK, GRAD_CHECK_REBINDING])
def test_right_gradient_checks_get_full_marks(answer):
    assert_right("ex-frn-grad-check", answer)


@pytest.mark.parametrize("answer, mistake", [
    (GRAD_CHECK.replace("if abs(numeric - analytic[idx]) > thresh:",
                        "if abs(numeric - analytic[idx]) / max(abs(numeric), abs(analytic[idx]), 1e-300) > thresh:"),
     "relative threshold"),
    (GRAD_CHECK.replace("raise ValueError(", "print("), "prints instead of raising"),
    (GRAD_CHECK.replace("            param[idx] = old\n", ""), "weights not restored"),
    ("""
    def grad_check(self, eps, thresh):
        loss = self.forward(self.x, self.y)
        self.backward()
        for name in "WRV":
            p, g = getattr(self, name), getattr(self, "d" + name)
            for idx in np.ndindex(p.shape):
                p[idx] += eps
                plus = float(np.logaddexp(0, -self.z) @ self.y + np.logaddexp(0, self.z) @ (1 - self.y))
                p[idx] -= eps
                if abs((plus - loss) / eps - g[idx]) > thresh:
                    raise ValueError(f"{name} wrong at {idx}")

    FullyRecurrentNetwork.grad_check = grad_check
    """, "stale forward"),
])
def test_classic_gradient_check_mistakes_are_named(answer, mistake):
    assert_wrong("ex-frn-grad-check", answer, mistake)


def test_a_gradient_check_must_name_the_parameter():
    answer = GRAD_CHECK.replace('f"gradient check failed for {name} at {idx}: {analytic[idx]} vs {numeric}"',
                                '"gradient check failed"')
    assert_wrong("ex-frn-grad-check", answer, "", "does not name the parameter")


UPDATE_IN_PLACE = """
def update(self, eta):
    self.W -= eta * self.dW
    self.R -= eta * self.dR
    self.V -= eta * self.dV

FullyRecurrentNetwork.update = update
"""


@pytest.mark.parametrize("answer", [UPDATE_IN_PLACE, UPDATE_IN_PLACE.replace("self.W -= eta * self.dW",
                                                                              "self.W = self.W - eta * self.dW")])
def test_right_updates_get_full_marks(answer):
    assert_right("ex-frn-update", answer)


def test_gradient_ascent_is_named():
    assert_wrong("ex-frn-update", UPDATE_IN_PLACE.replace("-=", "+="), "gradient ascent")


def test_an_update_of_local_copies_only_is_caught():
    answer = """
    def update(self, eta):
        W, R, V = self.W, self.R, self.V
        W = W - eta * self.dW
        R = R - eta * self.dR
        V = V - eta * self.dV

    FullyRecurrentNetwork.update = update
    """
    assert_wrong("ex-frn-update", answer, "", "did not change")


# -- chapter 3 -----------------------------------------------------------------------------------
JACOBIAN = """
def jordan_jacobian(W, R, V, x, t, s):
    sig = lambda u: 1 / (1 + np.exp(-u))
    I, K = W.shape[0], V.shape[0]
    a, z = [None], [None]                       # 1-based: a[1] is a(1)
    y_prev = np.zeros(K)
    for tau in range(1, t + 1):
        a.append(np.tanh(W @ x[tau - 1] + R @ y_prev))
        z.append(V @ a[tau])
        y_prev = sig(z[tau])
    J = np.eye(I)
    for tau in range(s + 1, t + 1):
        d = sig(z[tau - 1]) * (1 - sig(z[tau - 1]))
        J = np.diag(1 - a[tau] ** 2) @ R @ np.diag(d) @ V @ J
    return J
"""


def test_a_right_jacobian_gets_full_marks():
    assert_right("ex-jordan-jacobian", JACOBIAN)


@pytest.mark.parametrize("answer, mistake", [
    (JACOBIAN.replace("@ V @ J", "@ V").replace("J = np.diag", "J = J @ np.diag"), "reversed product"),
    (JACOBIAN.replace("d = sig(z[tau - 1]) * (1 - sig(z[tau - 1]))", "d = sig(z[tau]) * (1 - sig(z[tau]))"),
     "sigma' at z(tau)"),
    (JACOBIAN.replace("d = sig(z[tau - 1]) * (1 - sig(z[tau - 1]))",
                      "d = sig(sig(z[tau - 1])) * (1 - sig(sig(z[tau - 1])))"), "phi' at the activation"),
])
def test_classic_jacobian_mistakes_are_named(answer, mistake):
    assert_wrong("ex-jordan-jacobian", answer, mistake)


BOUNDS = """
def frn_bound(R, T):
    return np.linalg.norm(R, 2) ** (T - 1)


def jordan_bound(R, V, t, s):
    return (np.linalg.svd(R, compute_uv=False)[0] * np.linalg.svd(V, compute_uv=False)[0] / 4) ** (t - s)
"""


def test_right_bounds_get_full_marks():
    assert_right("ex-bounds", BOUNDS)


@pytest.mark.parametrize("answer, mistake", [
    (BOUNDS.replace("np.linalg.norm(R, 2) ** (T - 1)", "np.max(np.abs(np.linalg.eigvals(R))) ** (T - 1)"),
     "spectral norm is not the largest eigenvalue"),
    (BOUNDS.replace("np.linalg.norm(R, 2) ** (T - 1)", "np.linalg.norm(R) ** (T - 1)"), "frobenius"),
    (BOUNDS.replace(" / 4) ** (t - s)", ") ** (t - s)"), "quarter"),
])
def test_classic_bound_mistakes_are_named(answer, mistake):
    assert_wrong("ex-bounds", answer, mistake)


# -- chapter 4 -----------------------------------------------------------------------------------
GATE = """
class Gate:
    def __init__(self, D, I, activation):
        self.W = np.random.uniform(-0.01, 0.01, (I, D))
        self.R = np.random.uniform(-0.01, 0.01, (I, I))
        self.b = np.random.uniform(-0.01, 0.01, I)
        self.dW, self.dR, self.db = np.zeros((I, D)), np.zeros((I, I)), np.zeros(I)
        self.activation = activation
        self.cache = []

    def forward(self, x, h):
        s = self.W @ x + self.R @ h + self.b
        a = self.activation.fn(s)
        self.cache.append((x, h, s, a))
        return a
"""

GATE_BACKWARD = """
def zero_grad(self):
    self.dW[:] = 0
    self.dR[:] = 0
    self.db[:] = 0


def backward(self, grad_a):
    x, h, s, a = self.cache.pop()
    delta = grad_a * self.activation.deriv(s, a)
    self.dW += np.outer(delta, x)
    self.dR += np.outer(delta, h)
    self.db += delta
    return self.W.T @ delta, self.R.T @ delta


def update(self, eta):
    self.W = self.W - eta * self.dW
    self.R = self.R - eta * self.dR
    self.b = self.b - eta * self.db


Gate.zero_grad = zero_grad
Gate.backward = backward
Gate.update = update
"""


def test_a_right_gate_gets_full_marks():
    assert_right("ex-gate", GATE)
    assert_right("ex-gate-backward", GATE_BACKWARD, {"ex-gate": GATE})


def test_a_gate_that_ignores_its_activation_is_named():
    assert_wrong("ex-gate", GATE.replace("self.activation.fn(s)", "1 / (1 + np.exp(-s))"), "fixed activation")


@pytest.mark.parametrize("answer, mistake", [
    (GATE_BACKWARD.replace("self.activation.deriv(s, a)", "self.activation.deriv(a, self.activation.fn(a))"),
     "phi' at the activation"),
    (GATE_BACKWARD.replace("self.cache.pop()", "self.cache.pop(0)"), "steps in forward order"),
    (GATE_BACKWARD.replace("self.dW += np.outer(delta, x)", "self.dW = np.outer(delta, x)")
                  .replace("self.dR += np.outer(delta, h)", "self.dR = np.outer(delta, h)")
                  .replace("self.db += delta", "self.db = delta"), "buffers overwritten"),
    (GATE_BACKWARD.replace("self.W - eta", "self.W + eta").replace("self.R - eta", "self.R + eta")
                  .replace("self.b - eta", "self.b + eta"), "gradient ascent"),
])
def test_classic_gate_mistakes_are_named(answer, mistake):
    assert_wrong("ex-gate-backward", answer, mistake, others={"ex-gate": GATE})


LSTM_FORWARD = """
def forward(self, x, y):
    I = self.W_y.shape[1]
    self.x, self.y = x, np.atleast_1d(np.asarray(y, dtype=float))
    h, c = np.zeros(I), np.zeros(I)
    self.hist = []
    for t in range(len(x)):
        z = self.z.forward(x[t], h)
        i = self.i.forward(x[t], h)
        o = self.o.forward(x[t], h)
        c = c + z * i
        h = np.tanh(c) * o
        self.hist.append((z, i, o, c, h))
    self.out = self.W_y @ h + self.b_y
    y_hat = 1 / (1 + np.exp(-self.out))
    return float(np.sum(-self.y * np.log(y_hat) - (1 - self.y) * np.log(1 - y_hat)))

LSTM.forward = forward
"""

LSTM_BACKWARD = """
def zero_grad(self):
    for g in (self.z, self.i, self.o):
        g.zero_grad()
    self.dW_y = np.zeros_like(self.W_y)
    self.db_y = np.zeros_like(self.b_y)


def backward(self):
    psi = 1 / (1 + np.exp(-self.out)) - self.y
    z, i, o, c, h = self.hist[-1]
    self.dW_y += np.outer(psi, h)
    self.db_y += psi
    dh = self.W_y.T @ psi
    dc = np.zeros_like(dh)
    for z, i, o, c, h in reversed(self.hist):
        dc = dc + dh * o * (1 - np.tanh(c) ** 2)
        _, dh_z = self.z.backward(dc * i)
        _, dh_i = self.i.backward(dc * z)
        _, dh_o = self.o.backward(dh * np.tanh(c))
        dh = dh_z + dh_i + dh_o


def update(self, eta):
    for g in (self.z, self.i, self.o):
        g.update(eta)
    self.W_y -= eta * self.dW_y
    self.b_y -= eta * self.db_y


LSTM.zero_grad = zero_grad
LSTM.backward = backward
LSTM.update = update
"""

GATES = {"ex-gate": GATE, "ex-gate-backward": GATE_BACKWARD}


def test_a_right_lstm_gets_full_marks():
    assert_right("ex-lstm-forward", LSTM_FORWARD, GATES)
    assert_right("ex-lstm-backward", LSTM_BACKWARD, {**GATES, "ex-lstm-forward": LSTM_FORWARD})


def test_a_right_lstm_passes_even_when_the_gate_exercise_is_unanswered():
    assert_right("ex-lstm-backward", LSTM_BACKWARD, {"ex-lstm-forward": LSTM_FORWARD})


def test_a_flipped_sign_in_the_lstm_loss_is_named():
    answer = LSTM_FORWARD.replace("- (1 - self.y) * np.log(1 - y_hat)", "+ (1 - self.y) * np.log(1 - y_hat)")
    assert_wrong("ex-lstm-forward", answer, "sign flipped in the loss", others=GATES)


@pytest.mark.parametrize("answer, mistake", [
    (LSTM_BACKWARD.replace("dh = dh_z + dh_i + dh_o", "dh = np.zeros_like(dh)"), "no recurrence through the gates"),
    (LSTM_BACKWARD.replace("dc = dc + dh * o", "dc = dh * o"), "no carousel"),
    (LSTM_BACKWARD.replace("        g.zero_grad()\n", "        pass\n"), "zero_grad does not clear"),
    (LSTM_BACKWARD.replace("g.update(eta)", "g.update(-eta)").replace("-= eta", "+= eta"), "gradient ascent"),
])
def test_classic_lstm_mistakes_are_named(answer, mistake):
    assert_wrong("ex-lstm-backward", answer, mistake, others={**GATES, "ex-lstm-forward": LSTM_FORWARD})


# -- chapter 5 -----------------------------------------------------------------------------------
RTRL = """
from types import SimpleNamespace


def sigmoid(u):
    return 1 / (1 + np.exp(-u))


class LSTM_RTRL:
    def __init__(self, D, I, K):
        self.D, self.I, self.K = D, I, K
        new = lambda *shape: np.random.uniform(-0.01, 0.01, shape)
        self.z = SimpleNamespace(W=new(I, D), R=new(I, I), b=new(I))
        self.i = SimpleNamespace(W=new(I, D), R=new(I, I), b=new(I))
        self.o = SimpleNamespace(W=new(I, D), R=new(I, I), b=new(I))
        self.W_y, self.b_y = new(K, I), new(K)
        self.zero_grad()
        self.reset()

    def reset(self):
        D, I = self.D, self.I
        self.h, self.c = np.zeros(I), np.zeros(I)
        # dc_j / d(weights of row j), for [W, R, b] side by side
        self.Sz = np.zeros((I, D + I + 1))
        self.Si = np.zeros((I, D + I + 1))

    def zero_grad(self):
        for g in (self.z, self.i, self.o):
            g.dW, g.dR, g.db = np.zeros_like(g.W), np.zeros_like(g.R), np.zeros_like(g.b)
        self.dW_y, self.db_y = np.zeros_like(self.W_y), np.zeros_like(self.b_y)

    def forward(self, x_t):
        u = np.concatenate([x_t, self.h, [1.0]])
        pre = lambda g: np.hstack([g.W, g.R, g.b[:, None]]) @ u
        z, i, o = np.tanh(pre(self.z)), sigmoid(pre(self.i)), sigmoid(pre(self.o))
        self.Sz += np.outer(i * (1 - z ** 2), u)
        self.Si += np.outer(z * i * (1 - i), u)
        self.c = self.c + z * i
        self.h = np.tanh(self.c) * o
        self.u, self.o_t = u, o
        return sigmoid(self.W_y @ self.h + self.b_y)

    def backward(self, y):
        D, I = self.D, self.I
        y_hat = sigmoid(self.W_y @ self.h + self.b_y)
        psi = y_hat - y
        self.dW_y += np.outer(psi, self.h)
        self.db_y += psi
        dh = self.W_y.T @ psi
        dc = dh * self.o_t * (1 - np.tanh(self.c) ** 2)
        for g, S in ((self.z, self.Sz), (self.i, self.Si)):
            G = dc[:, None] * S
            g.dW += G[:, :D]
            g.dR += G[:, D:D + I]
            g.db += G[:, -1]
        do = dh * np.tanh(self.c) * self.o_t * (1 - self.o_t)
        G = np.outer(do, self.u)
        self.o.dW += G[:, :D]
        self.o.dR += G[:, D:D + I]
        self.o.db += G[:, -1]
        return float(np.sum(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat)))

    def update(self, eta):
        for g in (self.z, self.i, self.o):
            g.W -= eta * g.dW
            g.R -= eta * g.dR
            g.b -= eta * g.db
        self.W_y -= eta * self.dW_y
        self.b_y -= eta * self.db_y
"""


def test_a_right_rtrl_class_gets_full_marks():
    assert_right("ex-rtrl-class", RTRL)


@pytest.mark.parametrize("answer, mistake", [
    (RTRL.replace("self.Sz += ", "self.Sz = ").replace("self.Si += ", "self.Si = "), "buffers do not accumulate"),
    (RTRL.replace("        self.Sz += np.outer(i * (1 - z ** 2), u)\n", "")
         .replace("        self.Si += np.outer(z * i * (1 - i), u)\n", "")
         .replace("        self.u, self.o_t = u, o\n",
                  "        u_new = np.concatenate([x_t, self.h, [1.0]])\n"
                  "        self.Sz += np.outer(i * (1 - z ** 2), u_new)\n"
                  "        self.Si += np.outer(z * i * (1 - i), u_new)\n"
                  "        self.u, self.o_t = u, o\n"), "h(t) for h(t-1)"),
])
def test_classic_rtrl_mistakes_are_named(answer, mistake):
    assert_wrong("ex-rtrl-class", answer, mistake)


# -- chapter 6 -----------------------------------------------------------------------------------
def test_counting_the_weights():
    assert_right("ex-count-weights", """
    def count_weights(cells):
        hidden_units = 3 * cells
        inputs_per_unit = 1 + hidden_units + 1
        return hidden_units * inputs_per_unit + cells
    """)
    assert_wrong("ex-count-weights", """
    def count_weights(cells):
        return 3 * cells * (3 * cells + 2) + cells + 1
    """, "output bias", "no bias")


CRITERIA = """
def stopping_criteria(y_hat, y):
    errors = np.abs(np.asarray(y_hat) - np.asarray(y))
    st1 = bool(np.all(errors < 0.2))
    return st1, st1 and errors.mean() < 0.01
"""


def test_right_stopping_criteria_get_full_marks():
    assert_right("ex-stopping-criteria", CRITERIA)


@pytest.mark.parametrize("answer, mistake", [
    (CRITERIA.replace("errors < 0.2", "errors <= 0.2"), "<= 0.2"),
    (CRITERIA.replace("st1 and errors.mean() < 0.01", "errors.mean() < 0.01"), "st2 without st1"),
    (CRITERIA.replace("np.all(errors < 0.2)", "np.all((np.asarray(y_hat) > 0.5) == (np.asarray(y) == 1))"),
     "side of 0.5"),
    (CRITERIA.replace("errors.mean() < 0.01", "(errors ** 2).mean() < 0.01"), "squared error"),
])
def test_classic_stopping_criteria_mistakes_are_named(answer, mistake):
    assert_wrong("ex-stopping-criteria", answer, mistake)


# -- every exercise --------------------------------------------------------------------------------
@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_untouched_stubs_are_unanswered(exercise):
    verdict = evaluate(exercise, notebook_with(CHAPTER_OF[exercise], {}))
    assert not verdict.passed and verdict.message.startswith("not answered yet"), verdict.message


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_forged_or_garbled_values_never_pass_and_never_crash_the_judge(exercise):
    inputs = draw(exercise, np.random.default_rng(0))
    for forged in (None, {}, {"values": None}, {"values": {}}, {"values": "passed"}, {"passed": True, "points": 3},
                   {"values": {"cases": [], "grads": [], "losses": [], "J": [], "counts": [], "criteria": []}}):
        verdict = judge(exercise, inputs, forged)
        assert not verdict.passed, (forged, verdict)


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_values_from_another_draw_do_not_pass(exercise):
    """Replaying a right answer's values recorded on other inputs scores zero."""
    from rnnlab.homework.probes import probe

    ns = notebook_with(CHAPTER_OF[exercise], solutions(CHAPTER_OF[exercise]))
    recorded = probe(exercise, ns, draw(exercise, np.random.default_rng(1)))
    assert judge(exercise, draw(exercise, np.random.default_rng(1)), recorded).passed
    assert not judge(exercise, draw(exercise, np.random.default_rng(2)), recorded).passed


def solutions(chapter):
    notebook = notebooks.notebook(notebooks.CHAPTERS / f"{chapter}.md", "solutions")
    return {c.metadata["homework"]["exercise"]: c.source for c in notebook.cells
            if "homework-stub" in notebooks.tags(c)}
