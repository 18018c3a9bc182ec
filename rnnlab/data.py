"""The running task: Bengio et al.'s 2-sequence problem (LSTM paper, Experiment 3a).

Shape legend: B sequences in a batch, T time steps, D = 1 input unit, K = 1 output.

See chapter 1, *The memory task*.
"""

import math

from rnnlab._validation import as_generator, check_positive_int

__all__ = ["DEFAULT_SEED", "NOISE_VARIANCE", "generate_data", "generate_batches"]

DEFAULT_SEED = 0xDEADBEEF
NOISE_VARIANCE = 0.2  # a variance: the standard deviation is sqrt(0.2) ~ 0.447


def _check_task(T, N):
    T = check_positive_int("T", T)
    N = check_positive_int("N", N)
    if N > T:
        raise ValueError(f"N (class-carrying elements) must be at most T = {T}; got N = {N}")
    return T, N


def _draw(rng, B, T, N):
    """Draw B sequences of length T: x of shape (B, T, 1), y of shape (B, 1)."""
    y = rng.integers(0, 2, size=(B, 1)).astype(float)  # 1.0 = class 1, 0.0 = class 2
    x = rng.normal(0.0, math.sqrt(NOISE_VARIANCE), size=(B, T, 1))
    x[:, :N, 0] = 2.0 * y - 1.0  # +1 for class 1, -1 for class 2, Eq. (1.1)
    return x, y


def generate_data(T, seed=DEFAULT_SEED, *, N=1, variable_length=False):
    r"""Infinite stream of labelled sequences of the 2-sequence problem.

    Each sample belongs to class 1 or class 2 with probability 1/2. The first
    ``N`` elements carry the class,

    .. math::

        x(t) = +1 \text{ (class 1)}, \quad x(t) = -1 \text{ (class 2)}, \qquad t \le N,

    and every later element is Gaussian noise with mean 0 and **variance** 0.2,
    :math:`x(t) \sim \mathcal{N}(0, 0.2)` for :math:`t > N` (Eq. 1.1 of the chapter).
    The target is :math:`y = 1` for class 1 and :math:`y = 0` for class 2.

    Parameters
    ----------
    T : int
        Sequence length, ``T >= 1`` (the minimum length when ``variable_length``).
    seed : int or numpy.random.Generator, default 0xDEADBEEF
        Seeds a local generator; numpy's global random state is never touched.
        Two streams made with the same integer seed are identical.
    N : int, default 1
        Number of leading elements that carry the class (``1 <= N <= T``);
        ``N = 1`` is the course task, ``N = 3`` a variant of the 1997 paper.
    variable_length : bool, default False
        If true, each length is drawn uniformly from ``[T, T + T // 10]``,
        as in Hochreiter & Schmidhuber (1997).

    Yields
    ------
    x : ndarray of shape (T_i, 1)
        One input sequence (``T_i = T`` unless ``variable_length``).
    y : ndarray of shape (1,)
        Its target, 1.0 or 0.0.

    Raises
    ------
    TypeError, ValueError
        At call time (not at the first ``next``) for a bad ``T``, ``N`` or seed.

    Notes
    -----
    See chapter 1, *The memory task*.

    Examples
    --------
    >>> x, y = next(generate_data(5))
    >>> x.shape, y.shape
    ((5, 1), (1,))
    """
    T, N = _check_task(T, N)
    rng = as_generator(seed)
    extra = T // 10 if variable_length else 0

    def stream():
        while True:
            length = T + int(rng.integers(0, extra + 1)) if extra else T
            x, y = _draw(rng, 1, length, N)
            yield x[0], y[0]

    return stream()


def generate_batches(T, batch_size, seed=DEFAULT_SEED, *, N=1, max_T=None):
    """Infinite stream of batches of the 2-sequence problem, drawn vectorised.

    Same distribution as :func:`generate_data` (fixed length ``T``), but each
    batch is drawn with one call per array, which is what training loops want.
    The batch stream is not the single-sample stream regrouped: the same seed
    gives different (equally valid) draws in the two functions.

    See chapter 1, *The memory task*.

    Parameters
    ----------
    T : int
        Sequence length, ``T >= 1``.
    batch_size : int
        Number of sequences per batch, B >= 1.
    seed : int or numpy.random.Generator, default 0xDEADBEEF
        Seeds a local generator.
    N : int, default 1
        Number of leading elements that carry the class.
    max_T : int, optional
        If given, each batch has its own length, drawn uniformly from ``[T, max_T]``
        (all sequences of one batch share it; chapter 3, *The latching dilemma*).

    Yields
    ------
    x : ndarray of shape (B, T_b, 1)
        ``T_b = T`` unless ``max_T`` is given.
    y : ndarray of shape (B, 1)
    """
    T, N = _check_task(T, N)
    B = check_positive_int("batch_size", batch_size)
    longest = T if max_T is None else check_positive_int("max_T", max_T)
    if longest < T:
        raise ValueError(f"max_T must be at least T = {T}; got {max_T}")
    rng = as_generator(seed)

    def stream():
        while True:
            length = T if longest == T else int(rng.integers(T, longest + 1))
            yield _draw(rng, B, length, N)

    return stream()
