"""rnnlab: the numpy package of the course book on recurrent neural networks.

Three neighbourhoods, re-exported here so that chapters write ``from rnnlab import ...``:

- ``rnnlab.models`` (with ``rnnlab.data`` and ``rnnlab.losses``): what a reader studies —
  the task, the loss and the networks, every gradient derived by hand;
- ``rnnlab.training``: what trains and measures — optimisers, the training loop, sweeps,
  benchmarks and the Jacobian analysis;
- ``rnnlab.homework``: what teaches — student notebooks, checks and the grader
  (imported on demand, not here).

Nothing here touches numpy's global random state: every draw comes from a seed or a
``numpy.random.Generator``.
"""

from rnnlab.data import DEFAULT_SEED, NOISE_VARIANCE, generate_batches, generate_data
from rnnlab.losses import bce_with_logits, softplus
from rnnlab.models.base import DivergenceError, GradCheckResult, GradientCheckError, Model
from rnnlab.models.frn import FullyRecurrentNetwork
from rnnlab.models.frn_rtrl import FRN_RTRL
from rnnlab.models.gate import SIGMOID, TANH, Activation, Gate
from rnnlab.models.jordan import JordanNetwork
from rnnlab.models.lstm import LSTM
from rnnlab.models.lstm_rtrl import LSTM_RTRL
from rnnlab.training.experiments import load_results
from rnnlab.training.optim import SGD, Adam
from rnnlab.training.train import RECIPES, accuracy, clip_grad_norm, evaluate, train, train_recipe

__all__ = [
    "DEFAULT_SEED",
    "FRN_RTRL",
    "LSTM",
    "LSTM_RTRL",
    "NOISE_VARIANCE",
    "RECIPES",
    "SGD",
    "SIGMOID",
    "TANH",
    "Activation",
    "Adam",
    "DivergenceError",
    "FullyRecurrentNetwork",
    "Gate",
    "GradCheckResult",
    "GradientCheckError",
    "JordanNetwork",
    "Model",
    "accuracy",
    "bce_with_logits",
    "clip_grad_norm",
    "evaluate",
    "generate_batches",
    "generate_data",
    "load_results",
    "softplus",
    "train",
    "train_recipe",
]
__version__ = "0.2.0"
