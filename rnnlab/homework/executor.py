"""Inside the sandbox: run a submission's code in an IPython shell, then the probes; report the values.

``python executor.py`` reads a job on standard input — ``{"cells": [source, ...],
"probes": {exercise: inputs}, "cell_timeout": seconds}`` — runs the cells one after the
other in a fresh IPython shell (magics work, errors are recorded and execution goes on, a
cell that runs longer than the limit is interrupted), then calls each exercise's probe
(:func:`rnnlab.homework.probes.probe`) on the shell's namespace with the inputs the grader
drew. It writes one line, ``rnnlab-values {json}``, on the standard output it was started
with: the first error of the cells, the encoded values of each probe, the probes that were
interrupted, and the CPU time it used. Everything the student's code prints goes to ``/dev/null``. Nothing here
judges. One process and no kernel: a submission costs about half the CPU time of a Jupyter
kernel driven by nbclient.

See :mod:`rnnlab.homework.grading`.
"""

import json
import os
import resource
import signal
import sys

__all__ = ["main"]

MARKER = "rnnlab-values "


def _interrupt(signum, frame):
    raise KeyboardInterrupt("time limit")


def _limited(timeout, fn, *args):
    """``fn(*args)`` interrupted (KeyboardInterrupt) after ``timeout`` seconds."""
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _describe(error, timeout):
    if isinstance(error, KeyboardInterrupt):
        return f"a cell ran longer than {timeout} s and was interrupted"
    return f"{type(error).__name__}: {error}"[:300]


def main():
    """Run the job from standard input; print the report line on the real standard output.

    See the *For instructors* page.
    """
    report_to = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                      # what the student's code prints never reaches the grader
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    job = json.loads(sys.stdin.buffer.read())
    timeout = job["cell_timeout"]

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from rnnlab.homework.codec import decode, encode
    from rnnlab.homework.probes import probe

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    signal.signal(signal.SIGALRM, _interrupt)
    first_error = None
    for source in job["cells"]:
        try:
            result = _limited(timeout, shell.run_cell, source)
            error = result.error_before_exec or result.error_in_exec
        except KeyboardInterrupt as err:
            error = err
        if error is not None and first_error is None:
            first_error = _describe(error, timeout)
    records, interrupted = {}, []
    for exercise, inputs in job["probes"].items():
        try:
            records[exercise] = encode(_limited(timeout, probe, exercise, shell.user_ns, decode(inputs)))
        except KeyboardInterrupt:
            interrupted.append(exercise)
        except Exception as err:  # noqa: BLE001 - values that cannot be sent are a result
            records[exercise] = encode({"error": f"the values could not be sent: {type(err).__name__}: {err}"})
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report_to.write(MARKER + json.dumps({"first_error": first_error, "records": records, "interrupted": interrupted,
                                         "cpu_seconds": usage.ru_utime + usage.ru_stime}) + "\n")
    report_to.flush()


if __name__ == "__main__":
    main()
