"""rnnlab: the numpy package of the course book on recurrent networks.

Every model derives its gradients by hand, exactly as the chapters do, and
checks them against central differences. Nothing here touches numpy's global
random state: every draw comes from a seed or a ``numpy.random.Generator``.
"""

from rnnlab.base import DivergenceError, GradCheckResult, GradientCheckError, Model
from rnnlab.data import DEFAULT_SEED, NOISE_VARIANCE, generate_batches, generate_data
from rnnlab.frn import FullyRecurrentNetwork
from rnnlab.gate import SIGMOID, TANH, Activation, Gate
from rnnlab.jordan import JordanNetwork
from rnnlab.losses import bce_with_logits, softplus
from rnnlab.lstm import LSTM
from rnnlab.lstm_rtrl import LSTM_RTRL

__all__ = [
    "DEFAULT_SEED",
    "LSTM",
    "LSTM_RTRL",
    "NOISE_VARIANCE",
    "SIGMOID",
    "TANH",
    "Activation",
    "DivergenceError",
    "FullyRecurrentNetwork",
    "Gate",
    "GradCheckResult",
    "GradientCheckError",
    "JordanNetwork",
    "Model",
    "bce_with_logits",
    "generate_batches",
    "generate_data",
    "softplus",
]
__version__ = "0.1.0"
