"""Inside the sandbox: run the prepared notebook in a kernel and report the probe cells' records.

``python executor.py CELL_TIMEOUT FIRST_PROBE MIME`` reads the notebook on standard input and
writes one line, ``rnnlab-values {json}``, on standard output: the reason execution stopped
early (if it did), the first error of the student's cells, and the text of each probe
cell's record of type MIME. Nothing here judges; the kernel inherits neither this standard
output nor any other open file of the grader. The grader runs this file as a script, so it
imports nothing of rnnlab (only nbformat and nbclient) and starts fast.

See :mod:`rnnlab.homework.grading`.
"""

import json
import os
import sys

import nbformat

__all__ = ["main"]


def _first_error(cells, timeout):
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if output.get("ename") == "KeyboardInterrupt":
                    return f"a cell ran longer than {timeout} s and was interrupted"
                return f"{output.get('ename')}: {output.get('evalue')}"[:300]
    return None


def _records(cells, mime):
    """The record text each probe cell displayed (the last one, if it displayed several)."""
    records = {}
    for cell in cells:
        exercise = cell.get("metadata", {}).get("rnnlab_probe")
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get(mime)
            if isinstance(exercise, str) and isinstance(text, str):
                records[exercise] = text
    return records


def main(cell_timeout, first_probe, mime):
    """Execute the notebook from standard input; print the report line on the real standard output."""
    from nbclient import NotebookClient

    report_to = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                      # the kernel's prints never reach the grader
    os.dup2(devnull, 2)
    notebook = nbformat.reads(sys.stdin.buffer.read().decode("utf-8"), as_version=4)
    error = None
    try:
        NotebookClient(notebook, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                       kernel_name="python3", startup_timeout=120,
                       resources={"metadata": {"path": os.getcwd()}}).execute()
    except Exception as err:  # noqa: BLE001 - a dead kernel is a result
        text = str(err).strip().splitlines()
        error = f"{type(err).__name__}: {text[0] if text else ''}"[:300]
    cells = notebook.cells
    interrupted = [c.metadata.get("rnnlab_probe") for c in cells[first_probe:]
                   if any(o.get("ename") == "KeyboardInterrupt" for o in c.get("outputs", []))]
    report = {"error": error, "first_error": _first_error(cells[:first_probe], cell_timeout),
              "records": _records(cells[first_probe:], mime), "interrupted": interrupted}
    report_to.write("rnnlab-values " + json.dumps(report) + "\n")
    report_to.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
