"""rnnlab/training/optim.py: SGD and Adam against the textbook formulas."""

import numpy as np
import pytest

from rnnlab import DivergenceError, FullyRecurrentNetwork
from rnnlab.training.optim import SGD, Adam


def textbook_adam(theta, grads, eta, b1, b2, eps):
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for k, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        theta = theta - eta * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    return theta


@pytest.mark.parametrize("eps", [1e-8, 1e-2])
def test_adam_matches_the_textbook_update(rng, eps):
    net = FullyRecurrentNetwork(1, 3, 1, rng=0)
    start = {k: p.copy() for k, p in net.params().items()}
    grads = [{k: rng.normal(size=p.shape) for k, p in start.items()} for _ in range(6)]
    opt = Adam(net, eta=0.05, betas=(0.8, 0.95), eps=eps)
    for g in grads:
        for k, buf in net.grads().items():
            buf[...] = g[k]
        opt.step()
    for k, p in net.params().items():
        expected = textbook_adam(start[k], [g[k] for g in grads], 0.05, 0.8, 0.95, eps)
        np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-15)


def test_sgd_is_the_model_update(rng):
    net = FullyRecurrentNetwork(1, 3, 1, rng=0)
    net.dR[:] = rng.normal(size=net.R.shape)
    R0 = net.R.copy()
    SGD(net, 0.3).step()
    np.testing.assert_allclose(net.R, R0 - 0.3 * net.dR)


@pytest.mark.parametrize("kwargs, pattern", [(dict(eta=0.0), "learning rate"), (dict(betas=(0.9, 1.0)), "betas"),
                                             (dict(eps=-1.0), "eps must be")])
def test_adam_refuses_bad_settings(kwargs, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        Adam(FullyRecurrentNetwork(1, 2, 1, rng=0), **kwargs)


def test_adam_reports_nonfinite_parameters():
    net = FullyRecurrentNetwork(1, 2, 1, rng=0)
    opt = Adam(net)
    net.dW[:] = np.nan
    with pytest.raises(DivergenceError, match="parameter W"):
        opt.step()
