"""The assignment's single-sequence forms: the classes and functions students write.

The course's assignments hand out a small public API — one sequence at a time, plain
attributes, methods attached with ``FullyRecurrentNetwork.backward = backward`` — and the
homework notebooks pose exactly that API. These modules hold its solutions, one form per
module; the chapters show them with ``literalinclude`` beside the package's batched
models, and ``tests/test_assignment.py`` checks that each form computes what the package
computes.

- :mod:`~rnnlab.homework.assignment.frn`: the FRN (``__init__`` and ``forward`` given;
  ``backward``, ``grad_check``, ``update`` the exercises of chapter 2);
- :mod:`~rnnlab.homework.assignment.jordan`: the Jordan Jacobian and the two bounds (chapter 3);
- ``rnnlab.homework.assignment.gate`` and :mod:`~rnnlab.homework.assignment.lstm`:
  the gate and the LSTM built from three gates (chapter 4);
- :mod:`~rnnlab.homework.assignment.lstm_rtrl`: the LSTM learning online by truncated
  RTRL (chapter 5).

See the exercises of chapters 2 to 5.
"""

from rnnlab.homework.assignment.frn import FullyRecurrentNetwork
from rnnlab.homework.assignment.gate import Gate
from rnnlab.homework.assignment.jordan import frn_bound, jordan_bound, jordan_jacobian
from rnnlab.homework.assignment.lstm import LSTM
from rnnlab.homework.assignment.lstm_rtrl import LSTM_RTRL

__all__ = ["LSTM", "LSTM_RTRL", "FullyRecurrentNetwork", "Gate", "frn_bound", "jordan_bound", "jordan_jacobian"]
