"""rnnlab/checks.py: the checks pass the reference and name the classic mistakes."""

import math

import numpy as np
import pytest

from rnnlab import FullyRecurrentNetwork, LSTM, generate_data
from rnnlab.checks import CheckFailed, check_generate_data, check_gradients, check_update


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
    class NoRecurrence(FullyRecurrentNetwork):
        def _backward(self, psi):
            x, a = self._cache
            B, T, I = a.shape
            delta = (1.0 - a**2) * (psi @ self.V)
            a_prev = np.concatenate([np.zeros((B, 1, I)), a[:, :-1]], axis=1)
            self.dW += delta.reshape(-1, I).T @ x.reshape(B * T, -1)
            self.dR += delta.reshape(-1, I).T @ a_prev.reshape(-1, I)
            self.dV += psi.reshape(B * T, -1).T @ a.reshape(-1, I)

    with pytest.raises(CheckFailed, match=r"dW differs .* at \[\d+, 0\].*without the recurrence"):
        check_gradients(NoRecurrence(1, 4, 1, rng=0, init_scale=0.5), *data)


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
