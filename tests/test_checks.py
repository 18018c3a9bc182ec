"""rnnlab/homework/checks.py: the checks pass the reference and name the classic mistakes."""

import math

import numpy as np
import pytest

from conftest import FRNWithoutRecurrence
from rnnlab import LSTM, FullyRecurrentNetwork, generate_data
from rnnlab.homework.checks import CheckFailed, check_generate_data, check_gradients, check_update


def student_generate_data(std=math.sqrt(0.2), global_seed=False, sign=1.0, validate=True):
    """A student's generator with switchable classic mistakes."""
    def generate(T, seed=0xDEADBEEF):
        if validate and (not isinstance(T, int) or T < 1):
            raise ValueError(f"T must be a positive integer; got {T!r}")

        def stream():
            if global_seed:
                np.random.seed(seed)
                rng = np.random
            else:
                rng = np.random.default_rng(seed)
            while True:
                label = float(np.random.randint(0, 2) if global_seed else rng.integers(0, 2))
                x = rng.normal(0.0, std, size=(T, 1))
                x[0, 0] = sign * (2 * label - 1)
                yield x, np.array([label])

        return stream()
    return generate


def test_reference_generator_passes_when_it_is_the_students():
    def mine(T, seed=0xDEADBEEF):
        return generate_data(T, seed)

    assert "passed" in check_generate_data(mine)


def test_the_package_reference_is_not_accepted_as_an_answer():
    with pytest.raises(CheckFailed, match="rnnlab's own reference"):
        check_generate_data(generate_data)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(std=0.2), r"about 0.04: 0.2 was used as the standard deviation"),
    (dict(global_seed=True), r"global random state: do not call np.random.seed"),
    (dict(sign=-1.0), r"x\(1\) must be \+1 for class 1"),
    (dict(std=1.0), r"variance 0.2; got mean -?0\.0\d* and variance (0\.99|1\.00)"),
    (dict(validate=False), r"generate_data\(0\) must raise ValueError"),
])
def test_generator_mistakes_are_named(kwargs, pattern):
    with pytest.raises(CheckFailed, match=pattern):
        check_generate_data(student_generate_data(**kwargs))


def test_a_function_returning_one_sample_is_not_a_generator():
    with pytest.raises(CheckFailed, match="must return a generator"):
        check_generate_data(lambda T, seed=0: (np.zeros((T, 1)), np.zeros(1)))


@pytest.fixture
def data(rng):
    return rng.normal(size=(3, 6, 1)), np.array([[1.0], [0.0], [1.0]])


def test_reference_models_pass(data):
    x, y = data
    assert "agrees" in check_gradients(FullyRecurrentNetwork(1, 4, 1, rng=0, init_scale=0.5), x, y)
    assert "agrees" in check_gradients(LSTM(1, 3, 1, rng=0, init_scale=0.5), x, y)
    assert "against" in check_update(FullyRecurrentNetwork(1, 4, 1, rng=0))


def test_missing_recurrence_is_recognised(data):
    with pytest.raises(CheckFailed, match=r"dW differs .* at \[\d+, 0\].*without the recurrence"):
        check_gradients(FRNWithoutRecurrence(1, 4, 1, rng=0, init_scale=0.5), *data)


def test_sign_flip_is_recognised(data):
    class Flipped(FullyRecurrentNetwork):
        def _backward(self, psi):
            super()._backward(-psi)

    with pytest.raises(CheckFailed, match="negative of the gradient"):
        check_gradients(Flipped(1, 4, 1, rng=0, init_scale=0.5), *data)


def test_a_single_wrong_entry_is_located(data):
    class OffByOne(LSTM):
        def _backward(self, psi):
            super()._backward(psi)
            self.o.dR[2, 1] += 0.01

    with pytest.raises(CheckFailed, match=r"o\.dR differs .* at \[2, 1\]"):
        check_gradients(OffByOne(1, 3, 1, rng=0, init_scale=0.5), *data)


def test_gradient_ascent_is_recognised():
    class Ascent(FullyRecurrentNetwork):
        def update(self, eta):
            for name, p in self.params().items():
                p += eta * self.grads()[name]

    with pytest.raises(CheckFailed, match="gradient ascent"):
        check_update(Ascent(1, 4, 1, rng=0))


def test_grad_check_checker_accepts_a_correct_one_and_catches_an_absolute_threshold():
    from rnnlab.models.base import Model
    from rnnlab.homework.checks import check_grad_check

    def good(self, eps=1e-5, thresh=1e-6):
        return Model.grad_check(self, eps, 1e-9)

    def absolute(self, eps=1e-5, thresh=1e-6):
        """The classic mistake: an absolute threshold, blind when the gradients are tiny."""
        report = Model.grad_check(self, eps, thresh=1.0)          # never raises
        for name, r in report.items():
            if r.abs_error > 1e-4:
                raise AssertionError(f"d{name} is wrong")

    assert "accepts" in check_grad_check(good)
    with pytest.raises(CheckFailed, match="absolute threshold"):
        check_grad_check(absolute)


def test_gate_checks_pass_a_correct_gate_and_name_phi_prime_of_a():
    from rnnlab.homework.checks import check_gate_backward, check_gate_forward

    def forward(self, x, h):
        s = x @ self.W.T + h @ self.R.T + self.b
        a = self.activation.fn(s)
        self._steps.append((x, h, s, a))
        return a

    def backward(self, grad_a, wrong_point=False):
        x, h, s, a = self._steps.pop()
        delta = grad_a * (self.activation.deriv(a, self.activation.fn(a)) if wrong_point
                          else self.activation.deriv(s, a))
        self.dW += delta.T @ x
        self.dR += delta.T @ h
        self.db += delta.sum(axis=0)
        return delta @ self.W, delta @ self.R

    def backward_at_a(self, grad_a):
        return backward(self, grad_a, wrong_point=True)

    assert "both activations" in check_gate_forward(forward)
    assert "agree" in check_gate_backward(backward)
    with pytest.raises(CheckFailed, match="applied to the activation a instead of the pre-activation s"):
        check_gate_backward(backward_at_a)


def test_rtrl_check_catches_buffers_that_do_not_accumulate():
    from rnnlab.homework.checks import check_rtrl_forward
    from rnnlab.models.lstm_rtrl import LSTM_RTRL

    def forward(self, x_t):
        return LSTM_RTRL.forward(self, x_t)

    def forgetful(self, x_t):
        self.S[...] = 0.0          # the buffers restart every step: no accumulation
        return LSTM_RTRL.forward(self, x_t)

    assert "exactly" in check_rtrl_forward(forward)
    with pytest.raises(CheckFailed, match="buffer update"):
        check_rtrl_forward(forgetful)
