"""Training loop with a progress bar, divergence detection, and test accuracy.

See chapter 2, *The fully recurrent network* (section *Training*).
"""

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm  # text bar: works in Jupyter without widgets, no JS in the built HTML

from rnnlab._threads import one_blas_thread
from rnnlab._validation import check_positive_float, check_positive_int
from rnnlab.models.base import DivergenceError
from rnnlab.data import generate_batches
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.jordan import JordanNetwork
from rnnlab.models.lstm import LSTM
from rnnlab.models.lstm_rtrl import LSTM_RTRL
from rnnlab.training.optim import SGD, Adam

__all__ = ["RECIPES", "TrainingRun", "accuracy", "clip_grad_norm", "evaluate", "train", "train_online", "train_recipe"]

EVAL_SEED = 20_240_601  # test sequences come from a stream no training run uses

# The recipe each model's chapter arrives at (chapters 2 to 5). ``optimizer`` is
# "sgd" (learning rate ``eta``) or "adam"; with a ``target``, training stops as soon as
# the accuracy on 1000 validation sequences reaches it (checked every ``check_every``
# updates), else after ``steps`` updates.
# Initial gate biases of Hochreiter & Schmidhuber (1997), repeated over the cells by
# train_recipe: the cells start closed, so the noise of later steps does not pile up in them.
PAPER_GATE_BIASES = dict(input_bias=[-1.0, -3.0, -5.0], output_bias=[-2.0, -4.0, -6.0])

RECIPES = {
    "frn": dict(model=FullyRecurrentNetwork, I=32, batch_size=32, optimizer="sgd", eta=0.3, steps=4000,
                init_scale=0.15),
    "jordan": dict(model=JordanNetwork, I=32, batch_size=32, optimizer="sgd", eta=1.0, steps=4000,
                   init_scale=0.15),
    "lstm": dict(model=LSTM, I=32, batch_size=32, optimizer="adam", eta=0.05, clip=1.0, steps=2000,
                 init_scale=0.1, model_kwargs=PAPER_GATE_BIASES, target=0.999, check_every=25),
    "lstm-rtrl": dict(model=LSTM_RTRL, I=32, batch_size=32, optimizer="adam", eta=0.05, clip=1.0, steps=3000,
                      init_scale=0.1, model_kwargs=PAPER_GATE_BIASES, target=0.99, check_every=25),
}


@dataclass
class TrainingRun:
    """What :func:`train_recipe` returns.

    See chapter 2, *The fully recurrent network* (section *Training*).

    Attributes
    ----------
    model : rnnlab.models.base.Model or rnnlab.models.lstm_rtrl.LSTM_RTRL
    losses : ndarray of shape (updates,)
    recipe : dict
        The settings used.
    checkpoints : list of int
        Updates after which the validation accuracy was measured (only with a target).
    val_acc : list of float
        The validation accuracy at each checkpoint.
    """

    model: object
    losses: np.ndarray
    recipe: dict
    checkpoints: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)

    @property
    def sequences(self):
        """Number of training sequences seen (updates times the batch size)."""
        return len(self.losses) * self.recipe["batch_size"]


def clip_grad_norm(model, max_norm):
    r"""Rescale all gradients together so that their joint 2-norm is at most ``max_norm``.

    .. math::

        g \leftarrow g \cdot \min\bigl(1, c / \lVert g \rVert_2\bigr)

    with :math:`c` = ``max_norm`` (``np.inf`` only measures the norm). See chapter 2,
    section *Exploding gradients and clipping*.

    Returns
    -------
    float
        The norm before clipping.
    """
    if max_norm != np.inf:                       # np.inf: measure the norm, change nothing
        max_norm = check_positive_float("max_norm", max_norm)
    grads = model.grads().values()
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return norm

def _check_weights(model, max_weight):
    for name, p in model.params().items():
        largest = float(np.abs(p).max())
        if not largest <= max_weight:
            raise DivergenceError(f"parameter {name} has an entry of size {largest:.3g} (max_weight {max_weight:g})")


@one_blas_thread
def train(model, batches, steps, eta=None, *, optimizer=None, clip=None, max_weight=1e6, progress=True,
          desc="training"):
    r"""Train ``model`` on ``steps`` batches from ``batches``.

    Each step is ``zero_grad``, ``loss_and_gradient`` (``forward`` and ``backward``,
    or the online steps of :class:`~rnnlab.models.lstm_rtrl.LSTM_RTRL`), optional clipping, and
    an update: gradient descent :math:`\theta \leftarrow \theta - \eta \nabla_\theta L`
    with learning rate ``eta``, or ``optimizer.step()``.

    See chapter 2, *The fully recurrent network* (section *Training*).

    Parameters
    ----------
    model : Model or LSTM_RTRL
    batches : iterator of (x, y)
        For example :func:`~rnnlab.data.generate_batches`.
    steps : int
        Number of updates.
    eta : float, optional
        Learning rate of plain gradient descent (give this or ``optimizer``).
    optimizer : object with a ``step()`` method, optional
        For example :class:`~rnnlab.training.optim.Adam` built on ``model``.
    clip : float, optional
        If given, the gradient's joint norm is clipped to this value each step.
    max_weight : float, default 1e6
        Training counts as diverged once any weight exceeds this in magnitude:
        saturated tanh and sigmoid units keep the loss finite even with weights
        of 1e300, so finiteness alone would let a runaway run go on silently.
    progress : bool, default True
        Show a tqdm progress bar (on stderr; the book's build hides it).
    desc : str
        Label of the progress bar.

    Returns
    -------
    ndarray of shape (steps,)
        The training loss before each update.

    Raises
    ------
    DivergenceError
        As soon as the loss or a parameter is NaN or infinite, or a weight exceeds
        ``max_weight``, naming the step.
    """
    steps = check_positive_int("steps", steps)
    if (eta is None) == (optimizer is None):
        raise TypeError("train() needs exactly one of eta (plain gradient descent) or optimizer")
    if optimizer is None:
        optimizer = SGD(model, eta)
    if clip is not None:
        clip = check_positive_float("clip", clip)
    max_weight = check_positive_float("max_weight", max_weight)
    losses = np.empty(steps)
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=0.5, leave=False)
    for step in bar:
        x, y = next(batches)
        model.zero_grad()
        losses[step] = loss = model.loss_and_gradient(x, y)
        try:
            if not np.isfinite(loss):
                raise DivergenceError(f"the loss is {loss}")
            if clip is not None:
                clip_grad_norm(model, clip)
            optimizer.step()
            _check_weights(model, max_weight)
        except DivergenceError as err:
            bar.close()
            raise DivergenceError(
                f"training diverged at step {step} (loss {loss:.4g}, learning rate {optimizer.eta:g}): {err}. "
                "Lower the learning rate or clip the gradients."
            ) from None
    return losses


def accuracy(model, x, y):
    """Fraction of sequences whose prediction at the last step is on the target's side of 1/2.

    See chapter 2, *The fully recurrent network* (section *Training*).
    """
    return float(np.mean((model.predict(x) > 0.5) == (np.asarray(y) > 0.5)))


def evaluate(model, T, n=1000, seed=EVAL_SEED, N=1):
    """Accuracy on ``n`` fresh sequences of length ``T`` of the memory task.

    The default seed differs from every seed the book trains with, so test
    sequences are never training sequences (up to a negligible chance collision).

    See chapter 2, *The fully recurrent network* (section *Training*).

    Returns
    -------
    float
        Accuracy in [0, 1]; chance is 0.5.
    """
    x, y = next(generate_batches(T, check_positive_int("n", n), seed=seed, N=N))
    return accuracy(model, x, y)


def train_recipe(name, T, seed=0, *, progress=True, **overrides):
    """Build and train a model with its chapter's recipe on the memory task of length ``T``.

    See chapter 2, *The fully recurrent network* (section *Training*).

    Parameters
    ----------
    name : str
        A key of ``RECIPES`` (``"frn"``, ``"jordan"``, ``"lstm"``).
    T : int
        Sequence length.
    seed : int
        Seeds the initial weights (``seed``), the training stream (``1000 + seed``) and
        the validation set (``3000 + seed``).
    progress : bool, default True
        Show a progress bar.
    **overrides
        Replace entries of the recipe; ``None`` values are ignored.

    Returns
    -------
    TrainingRun
    """
    if name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}; got {name!r}")
    unknown = set(overrides) - set(RECIPES[name]) - {"model", "model_kwargs", "clip", "target", "check_every"}
    if unknown:
        raise TypeError(f"unknown recipe settings {sorted(unknown)}; known: {sorted(RECIPES[name])}")
    recipe = RECIPES[name] | {k: v for k, v in overrides.items() if v is not None}
    model_kwargs = {k: np.resize(v, recipe["I"]).tolist() if k.endswith("_bias") else v
                    for k, v in recipe.get("model_kwargs", {}).items()}   # biases repeat over the cells
    model = recipe["model"](1, recipe["I"], 1, rng=seed, init_scale=recipe["init_scale"], **model_kwargs)
    optimizer = (Adam if recipe["optimizer"] == "adam" else SGD)(model, recipe["eta"])
    batches = generate_batches(T, recipe["batch_size"], seed=1000 + seed)
    settings = dict(optimizer=optimizer, clip=recipe.get("clip"))
    if not recipe.get("target"):
        losses = train(model, batches, recipe["steps"], progress=progress, desc=f"{name} T={T}", **settings)
        return TrainingRun(model, losses, recipe)
    x_val, y_val = next(generate_batches(T, 1000, seed=3000 + seed))
    run = TrainingRun(model, np.empty(0), recipe)
    chunks = []
    with tqdm(total=recipe["steps"], desc=f"{name} T={T}", disable=not progress, leave=False) as bar:
        while len(run.checkpoints) * recipe["check_every"] < recipe["steps"]:
            chunks.append(train(model, batches, recipe["check_every"], progress=False, **settings))
            run.checkpoints.append(len(run.checkpoints) * recipe["check_every"] + recipe["check_every"])
            run.val_acc.append(accuracy(model, x_val, y_val))
            bar.update(recipe["check_every"])
            bar.set_postfix(val_acc=f"{run.val_acc[-1]:.3f}")
            if run.val_acc[-1] >= recipe["target"]:
                break
    run.losses = np.concatenate(chunks)
    return run


@one_blas_thread
def train_online(model, T, seed=0, *, eta, max_sequences, check_every=800, target=0.99, max_weight=1e6,
                 progress=False):
    r"""Online gradient descent on the memory task: one update per training sequence.

    This is how Hochreiter & Schmidhuber (1997) train: after every sequence,
    :math:`\theta \leftarrow \theta - \eta \nabla_\theta L` (Eq. 2.13) with the
    gradient of that sequence alone. Every ``check_every`` sequences the accuracy on 1000
    validation sequences is measured; training stops when it reaches ``target``.

    A model with an ``sgd_online`` method (the compiled
    :class:`~rnnlab.models.lstm_rtrl_numba.LSTM_RTRL_Numba`) trains each chunk of
    ``check_every`` sequences in one call; any other model (``LSTM_RTRL``, ``LSTM``) runs
    ``zero_grad``, ``loss_and_gradient`` and ``update`` per sequence. Both see the same
    sequences in the same order.

    See chapter 5, *Real-time recurrent learning* (section *How far does it reach?*).

    Parameters
    ----------
    model : LSTM_RTRL, LSTM_RTRL_Numba or Model
    T : int
        Sequence length.
    seed : int
        Seeds the training stream (``1000 + seed``) and the validation set (``3000 + seed``),
        as :func:`train_recipe` does; the model carries its own initial weights.
    eta : float
        Learning rate.
    max_sequences : int
        Budget: training sequences (updates) at most.
    check_every : int, default 800
        Sequences between two validations.
    target : float, default 0.99
        Validation accuracy at which training stops.
    max_weight : float, default 1e6
        A weight beyond this counts as divergence.
    progress : bool, default False
        Show a progress bar over sequences.

    Returns
    -------
    TrainingRun
        With ``recipe`` holding the settings and ``batch_size`` 1, so ``sequences`` is the
        number of updates.

    Raises
    ------
    DivergenceError
        If a weight becomes non-finite or exceeds ``max_weight``.
    """
    eta = check_positive_float("eta (learning rate)", eta)
    max_sequences = check_positive_int("max_sequences", max_sequences)
    check_every = check_positive_int("check_every", check_every)
    recipe = dict(batch_size=1, optimizer="sgd", eta=eta, steps=max_sequences, check_every=check_every,
                  target=target)
    chunks = generate_batches(T, check_every, seed=1000 + seed)
    x_val, y_val = next(generate_batches(T, 1000, seed=3000 + seed))
    run = TrainingRun(model, np.empty(0), recipe)
    losses = []
    with tqdm(total=max_sequences, desc=f"online T={T}", disable=not progress, leave=False) as bar:
        while len(run.checkpoints) * check_every < max_sequences:
            x, y = next(chunks)
            losses.append(_online_chunk(model, x, y, eta, max_weight))
            run.checkpoints.append((len(run.checkpoints) + 1) * check_every)
            run.val_acc.append(accuracy(model, x_val, y_val))
            bar.update(check_every)
            if run.val_acc[-1] >= target:
                break
    run.losses = np.concatenate(losses)
    return run


def _online_chunk(model, x, y, eta, max_weight):
    """One update per sequence of the chunk x (n, T, D), y (n, K); the losses (n,)."""
    if hasattr(model, "sgd_online"):
        return model.sgd_online(x, y, eta, max_weight=max_weight)
    losses = np.empty(len(x))
    for q in range(len(x)):
        model.zero_grad()
        losses[q] = model.loss_and_gradient(x[q], y[q])
        model.update(eta)
        _check_weights(model, max_weight)
    return losses
