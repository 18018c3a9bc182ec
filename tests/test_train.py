"""rnnlab/training/train.py and the command line: training, evaluation, divergence."""

import numpy as np
import pytest

from rnnlab import DivergenceError, FullyRecurrentNetwork, generate_batches
from rnnlab.__main__ import main
from rnnlab.training.train import clip_grad_norm, evaluate, train


def test_training_learns_a_short_lag():
    """A correctness test with a step budget, not a timing test."""
    net = FullyRecurrentNetwork(1, 32, 1, rng=0, init_scale=0.15)
    assert evaluate(net, 3) < 0.6  # untrained: near chance
    losses = train(net, generate_batches(3, 32, seed=1), 1000, eta=1.0, progress=False)
    assert losses.shape == (1000,)
    assert losses[-100:].mean() < 0.1 * losses[:10].mean()
    assert evaluate(net, 3) >= 0.99


def test_untrained_network_is_at_chance():
    acc = evaluate(FullyRecurrentNetwork(1, 32, 1, rng=0), 20, n=4000)
    assert abs(acc - 0.5) < 4 * np.sqrt(0.25 / 4000)


def test_divergence_is_reported_with_step_and_hint():
    net = FullyRecurrentNetwork(1, 8, 1, rng=0, init_scale=0.5)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ .*learning rate 1e\+300.*Lower the learning rate"):
        train(net, generate_batches(5, 8, seed=0), 50, eta=1e300, progress=False)


def test_clip_grad_norm_rescales_jointly(rng):
    net = FullyRecurrentNetwork(1, 4, 1, rng=0)
    for g in net.grads().values():
        g[...] = rng.normal(size=g.shape)
    before = {k: g.copy() for k, g in net.grads().items()}
    norm = clip_grad_norm(net, 0.5)
    after = np.sqrt(sum(np.sum(g**2) for g in net.grads().values()))
    assert after == pytest.approx(0.5)
    for k, g in net.grads().items():
        np.testing.assert_allclose(g, before[k] * 0.5 / norm)


@pytest.mark.parametrize("kwargs, pattern", [(dict(steps=0), "steps must be"), (dict(eta=-1.0), "learning rate"),
                                             (dict(clip=0.0), "clip must be")])
def test_train_refuses_bad_settings(kwargs, pattern):
    settings = dict(steps=10, eta=0.1) | kwargs
    with pytest.raises((TypeError, ValueError), match=pattern):
        train(FullyRecurrentNetwork(1, 4, 1, rng=0), generate_batches(3, 4), progress=False, **settings)


def test_cli_trains_and_saves_params_by_name(tmp_path, capsys):
    out = tmp_path / "frn.npz"
    assert main(["train", "--model", "frn", "--T", "3", "--seed", "0", "--steps", "600", "--eta", "1.0",
                 "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy on 1000 fresh sequences: 1.000" in text
    saved = np.load(out)
    assert sorted(saved.files) == ["R", "V", "W"]
    assert saved["R"].shape == (32, 32)


def test_cli_exits_nonzero_on_divergence(capsys):
    code = main(["train", "--model", "frn", "--T", "5", "--eta", "1e300", "--steps", "20", "--no-progress"])
    assert code == 1
    assert "diverged at step" in capsys.readouterr().err


def test_cli_reports_bad_arguments(capsys):
    assert main(["train", "--model", "frn", "--T", "0", "--no-progress"]) == 2
    assert "T must be a positive integer" in capsys.readouterr().err


def test_cli_lstm_saves_every_parameter_name(tmp_path, capsys):
    out = tmp_path / "lstm.npz"
    assert main(["train", "--model", "lstm", "--T", "10", "--seed", "1", "--out", str(out), "--no-progress"]) == 0
    assert "test accuracy on 1000 fresh sequences: 1.000" in capsys.readouterr().out
    assert sorted(np.load(out).files) == sorted(
        ["z.W", "z.R", "z.b", "i.W", "i.R", "i.b", "o.W", "o.R", "o.b", "W_y", "b_y"])


def test_train_online_stops_at_the_target_and_counts_sequences():
    from rnnlab import LSTM_RTRL
    from rnnlab.training.train import train_online

    net = LSTM_RTRL(1, 4, 1, rng=0, init_scale=0.5)
    run = train_online(net, 1, seed=0, eta=0.5, max_sequences=2000, check_every=100, target=0.99)
    assert run.recipe["batch_size"] == 1 and run.sequences == len(run.losses) == run.checkpoints[-1]
    assert run.val_acc[-1] >= 0.99 and all(acc < 0.99 for acc in run.val_acc[:-1])


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(eta=-1.0, max_sequences=10), "eta"),
    (dict(eta=0.1, max_sequences=0), "max_sequences"),
    (dict(eta=0.1, max_sequences=10, check_every=0), "check_every"),
])
def test_train_online_refuses_bad_settings(kwargs, pattern):
    from rnnlab import LSTM_RTRL
    from rnnlab.training.train import train_online

    with pytest.raises(ValueError, match=pattern):
        train_online(LSTM_RTRL(1, 2, 1, rng=0), 3, **kwargs)
