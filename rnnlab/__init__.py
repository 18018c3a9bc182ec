"""rnnlab: the numpy package of the course book on recurrent networks.

Every model derives its gradients by hand, exactly as the chapters do, and
checks them against central differences. Nothing here touches numpy's global
random state: every draw comes from a seed or a ``numpy.random.Generator``.
"""

from rnnlab.data import DEFAULT_SEED, NOISE_VARIANCE, generate_batches, generate_data

__all__ = ["DEFAULT_SEED", "NOISE_VARIANCE", "generate_batches", "generate_data"]
__version__ = "0.1.0"
