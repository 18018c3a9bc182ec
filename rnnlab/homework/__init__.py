"""Homework from the chapters: student notebooks, checks that teach, and a grader for a class.

    python -m rnnlab.homework build OUT
    python -m rnnlab.homework grade [--jobs N] [--gradebook FILE.csv] [--feedback DIR] [--json] NOTEBOOK...

The package's pieces, one job each:

- :mod:`~rnnlab.homework.assignment`: the assignment's single-sequence forms — what students
  write, as the exercises' solutions;
- :mod:`~rnnlab.homework.notebooks`: student and solutions notebooks built from the chapters;
- :mod:`~rnnlab.homework.probes` (runs in the student's kernel) and
  :mod:`~rnnlab.homework.checks` (runs in the grader): values out, verdicts in;
- :mod:`~rnnlab.homework.mistakes`: the classic mistakes, computed, so that a check can name them;
- :mod:`~rnnlab.homework.grading`, :mod:`~rnnlab.homework.sandbox`,
  :mod:`~rnnlab.homework.executor`: the grader, its sandbox and what runs inside it.

See the *For instructors* page.
"""

from rnnlab.homework.checks import check
from rnnlab.homework.grading import feedback, grade, gradebook, summary
from rnnlab.homework.notebooks import CHAPTERS, build, chapters_with_exercises

__all__ = ["CHAPTERS", "build", "chapters_with_exercises", "check", "feedback", "grade", "gradebook", "summary"]
