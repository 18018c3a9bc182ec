"""The grader: every submission of a class in its own sandbox, judged outside it.

For each submission the grader

1. reads the notebook (anything that is not a homework notebook gets a row with the reason);
2. draws this run's inputs for each of the chapter's exercises (:func:`rnnlab.homework.checks.draw`);
3. runs the student's code cells — not the check cells — in a fresh IPython process inside the
   sandbox (:mod:`rnnlab.homework.sandbox`, :mod:`rnnlab.homework.executor`), with a time limit
   per cell, a total time limit and a memory limit, and then the probe of each exercise on
   the drawn inputs; the probes only return values;
4. judges the values in its own process (:func:`rnnlab.homework.checks.judge`) and scores each
   exercise: its points when right, zero otherwise, with the message and the mistake.

Submissions are graded in parallel through ``rnnlab.training.parallel.run_parallel``.
:func:`gradebook` writes one CSV row per submission, :func:`feedback` one text file per
submission, :func:`summary` the class's means and most common mistakes.

See the *For instructors* page.
"""

import collections
import csv
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np

from rnnlab.homework import sandbox
from rnnlab.homework.checks import draw, judge
from rnnlab.homework.codec import decode, encode
from rnnlab.homework.notebooks import CHAPTERS, expected_exercises, tags
from rnnlab.training.parallel import run_parallel

__all__ = ["LIMITS", "feedback", "grade", "gradebook", "summary"]

LIMITS = {"cell_timeout": 60, "total_timeout": 300, "memory": 2 * 1024**3}
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_VALUES_BYTES = 64 * 1024 * 1024
MARKER = "rnnlab-values "


def _row(name, chapter, exercise, points, max_points, message, mistake="", cpu_seconds=None):
    return {"notebook": name, "chapter": chapter, "exercise": exercise, "points": points, "max_points": max_points,
            "message": message, "mistake": mistake, "cpu_seconds": cpu_seconds}


def _read_submission(path):
    """The notebook and its chapter, or raise ValueError with a reason a student can read."""
    size = os.path.getsize(path)
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the file has {size:,} bytes; a homework notebook has far fewer than {MAX_NOTEBOOK_BYTES:,}")
    with open(path, encoding="utf-8", errors="strict") as handle:
        notebook = nbformat.read(handle, as_version=4)
    chapter = notebook.metadata.get("rnnlab", {}).get("chapter")
    if not isinstance(chapter, str) or not re.fullmatch(r"\w+", chapter) or not (CHAPTERS / f"{chapter}.md").exists():
        raise ValueError("it has no rnnlab chapter in its metadata (was it built by "
                         "`python -m rnnlab.homework build`?)")
    return notebook, chapter


def _job(notebook, inputs, cell_timeout):
    """What the sandbox runs: the student's code cells (not the check cells), then the probes."""
    cells = [c.source for c in notebook.cells if c.get("cell_type") == "code" and "homework-check" not in tags(c)]
    probes = {exercise: encode(value) for exercise, value in inputs.items()}
    return {"cells": cells, "probes": probes, "cell_timeout": cell_timeout}


def _limit(memory):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        # the report file is the only file of the grader that the sandbox can reach (through /proc)
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_VALUES_BYTES, MAX_VALUES_BYTES))
    return apply


def _run(job, limits, mode, hide):
    """Run the job in the sandbox; return the executor's report (dict) or why there is none (str)."""
    argv = [sys.executable, str(Path(__file__).with_name("executor.py"))]
    with tempfile.TemporaryDirectory(prefix="rnnlab-grade-") as scratch, \
            tempfile.TemporaryFile(dir=scratch) as report:
        if mode == "bubblewrap":
            cmd, cwd, env = sandbox.command(argv, hide), None, None
        else:
            home = Path(scratch) / "home"
            home.mkdir()
            cmd, cwd, env = argv, str(home), sandbox.environment(home)
        try:
            done = subprocess.run(cmd, input=json.dumps(job).encode(), stdout=report, stderr=subprocess.DEVNULL,
                                  cwd=cwd, env=env, timeout=limits["total_timeout"],
                                  preexec_fn=_limit(limits["memory"]), start_new_session=True, check=False)
        except subprocess.TimeoutExpired:
            return f"the notebook ran longer than the total limit of {limits['total_timeout']} s"
        report.seek(0)
        text = report.read(MAX_VALUES_BYTES).decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        return f"the notebook's process died (exit status {done.returncode}) before the checks ran"
    try:
        found = json.loads(lines[-1][len(MARKER):])
        return found if isinstance(found, dict) else "the notebook's report is unreadable"
    except ValueError:
        return "the notebook's report is unreadable"


def grade_one(path, chapter=None, limits=None, mode="bubblewrap", hide=(), watch=()):
    """The rows of one submission: one per exercise of its chapter (one row if it is no homework notebook).

    Parameters
    ----------
    path : str or Path
        The submitted notebook.
    chapter : str, optional
        Grade it as this chapter's homework (e.g. ``"02_frn_bptt"``) whatever it says.
    limits : dict, optional
        ``cell_timeout`` and ``total_timeout`` in seconds and ``memory`` in bytes (``LIMITS``).
    mode : {"bubblewrap", "none"}
        The sandbox; with ``"none"`` the files ``watch`` must not change.
    hide : iterable of path
        Files the kernel must not see (the submissions).
    watch : iterable of path
        Without a sandbox, the files and folders whose change stops grading.

    Raises
    ------
    rnnlab.homework.sandbox.SubmissionChangedFiles
        Without a sandbox, when a file of ``watch`` changed while this submission ran.
    """
    limits = dict(LIMITS, **(limits or {}))
    name = str(path)
    try:
        notebook, found = _read_submission(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a result
        reason = f"not a homework notebook: {type(err).__name__}: {str(err)[:200]}"
        if chapter is None:
            return [_row(name, "", "-", 0, 0, reason)]
        return [_row(name, chapter, ex, 0, pts, reason) for ex, pts in expected_exercises(chapter).items()]
    if chapter is not None and found != chapter:
        reason = f"this is the notebook of {found}, not of {chapter}"
        return [_row(name, chapter, ex, 0, pts, reason) for ex, pts in expected_exercises(chapter).items()]
    expected = expected_exercises(found)
    rng = np.random.default_rng(secrets.randbits(128))
    inputs = {exercise: draw(exercise, rng) for exercise in expected}
    before = sandbox.fingerprint(watch) if mode == "none" else None
    report = _run(_job(notebook, inputs, limits["cell_timeout"]), limits, mode, hide)
    if mode == "none":
        changed = sandbox.changes(before, sandbox.fingerprint(watch))
        if changed:
            raise sandbox.SubmissionChangedFiles(
                f"grading stopped: {name} changed files outside its scratch directory: {', '.join(changed[:5])}. "
                "Restore them (git checkout, or the collected originals) and grade with bubblewrap installed.")
    reason = report if isinstance(report, str) else "the check did not run"
    records = report.get("records", {}) if isinstance(report, dict) else {}
    first_error = report.get("first_error") if isinstance(report, dict) else None
    cpu = report.get("cpu_seconds") if isinstance(report, dict) else None
    cpu = float(cpu) if isinstance(cpu, (int, float)) else None
    rows = []
    for exercise, points in expected.items():
        record = records.get(exercise) if isinstance(records, dict) else None
        if not isinstance(record, str):
            why = reason
            if isinstance(report, dict) and exercise in (report.get("interrupted") or []):
                why = f"the check ran longer than {limits['cell_timeout']} s and was interrupted (an endless loop?)"
            rows.append(_row(name, found, exercise, 0, points, f"no result: {str(why)[:300]}", cpu_seconds=cpu))
            continue
        try:
            verdict = judge(exercise, inputs[exercise], decode(record))
        except ValueError:
            verdict = judge(exercise, inputs[exercise], None)
        message = verdict.message
        if not verdict.passed and isinstance(first_error, str) and first_error:
            message += f" (first error in the notebook: {first_error[:200]})"
        rows.append(_row(name, found, exercise, points if verdict.passed else 0, points, message, verdict.mistake,
                         cpu))
    return rows


def grade(paths, *, jobs=None, chapter=None, limits=None, sandboxed=None, progress=False, watch=None, log=None):
    """Grade submitted notebooks; one row per submission and exercise, in the order of ``paths``.

    See the *For instructors* page.

    Parameters
    ----------
    paths : list of str or Path
        The submissions.
    jobs : int, optional
        Submissions graded at the same time (default: one per core); 1 without a sandbox.
    chapter : str, optional
        Grade every submission as this chapter's homework.
    limits : dict, optional
        Overrides of ``LIMITS``.
    sandboxed : bool, optional
        ``None`` uses bubblewrap where it works; ``True`` requires it; ``False`` grades unsandboxed.
    progress : bool, default False
        A progress bar.
    watch : list of path, optional
        Without a sandbox: what must not change (default: the package, the chapters and the submissions).
    log : file, optional
        Where the one notice about grading unsandboxed goes (default: standard error).

    Returns
    -------
    list of dict
        Keys ``notebook``, ``chapter``, ``exercise``, ``points``, ``max_points``, ``message``, ``mistake``
        and ``cpu_seconds`` (the CPU time of the submission's sandbox, None if it did not run).
    """
    paths = [str(p) for p in paths]
    available = sandbox.bubblewrap() is not None
    if sandboxed and not available:
        raise RuntimeError("bubblewrap (bwrap) is not available or not allowed here: install Debian's bubblewrap")
    mode = "bubblewrap" if available and sandboxed is not False else "none"
    if mode == "none":
        jobs = 1
        if watch is None:
            watch = [CHAPTERS.parent / "rnnlab", CHAPTERS, *paths]
        why = "bubblewrap is not available here" if not available else "the sandbox is switched off"
        print(f"rnnlab.homework: {why}, so submissions run unsandboxed: each in a temporary directory, one at a "
              "time, able to read and write what you can; grading stops if one changed the package, the chapters "
              "or another submission.", file=log or sys.stderr)
    tasks = [(path, chapter, limits, mode, paths, watch or []) for path in paths]
    results = run_parallel(grade_one, tasks, jobs=jobs, progress=progress, desc="grading")
    return [row for rows in results for row in rows]


def _by_submission(rows):
    table = collections.OrderedDict()
    for row in rows:
        table.setdefault(row["notebook"], []).append(row)
    return table


def _columns(rows):
    return list(dict.fromkeys(r["exercise"] for r in rows if r["exercise"] != "-"))


def gradebook(rows, path):
    """Write a CSV: one row per submission, one column per exercise, the total and the maximum.

    See the *For instructors* page.
    """
    columns = _columns(rows)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "chapter", *columns, "total", "max_points"])
        for name, mine in _by_submission(rows).items():
            points = {r["exercise"]: r["points"] for r in mine}
            writer.writerow([name, mine[0]["chapter"], *(points.get(c, "") for c in columns),
                             sum(r["points"] for r in mine), sum(r["max_points"] for r in mine)])


def _feedback_names(names):
    """A distinct file name per submission: its path relative to the common folder, '/' as '__'."""
    paths = [Path(n).resolve() for n in names]
    common = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path("/")
    out, seen = {}, collections.Counter()
    for name, path in zip(names, paths):
        stem = re.sub(r"[^\w.-]+", "_", "__".join(path.relative_to(common).with_suffix("").parts)) or "submission"
        seen[stem] += 1
        out[name] = f"{stem}.txt" if seen[stem] == 1 else f"{stem}-{seen[stem]}.txt"
    return out


def feedback(rows, folder):
    """Write one text file per submission into ``folder``: each exercise's points and message; return the paths.

    See the *For instructors* page.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = _by_submission(rows)
    names = _feedback_names(list(table))
    written = []
    for name, mine in table.items():
        total, maximum = sum(r["points"] for r in mine), sum(r["max_points"] for r in mine)
        lines = [f"Submission: {name}", f"Chapter: {mine[0]['chapter'] or 'unknown'}", f"Total: {total}/{maximum}", ""]
        for r in mine:
            lines.append(f"{r['exercise']}: {r['points']}/{r['max_points']}")
            lines.append(f"  {r['message']}")
        target = folder / names[name]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(target)
    return written


def summary(rows, top=5):
    """The class at a glance: submissions, mean points per exercise, full marks, the most common mistakes.

    See the *For instructors* page.
    """
    table = _by_submission(rows)
    lines = [f"{len(table)} submissions"]
    width = max([len(c) for c in _columns(rows)] + [8])
    lines.append(f"{'exercise':<{width}}  {'mean':>6}  {'max':>4}  full marks")
    for column in _columns(rows):
        mine = [r for r in rows if r["exercise"] == column]
        mean = sum(r["points"] for r in mine) / len(mine)
        full = sum(r["points"] == r["max_points"] for r in mine)
        lines.append(f"{column:<{width}}  {mean:6.2f}  {mine[0]['max_points']:>4}  {full}/{len(mine)}")
    totals = [sum(r["points"] for r in mine) for mine in table.values()]
    maxima = [sum(r["max_points"] for r in mine) for mine in table.values()]
    if totals:
        lines.append(f"{'total':<{width}}  {sum(totals) / len(totals):6.2f}  {max(maxima):>4}")
    mistakes = collections.Counter((r["exercise"], r["mistake"]) for r in rows if r.get("mistake"))
    if mistakes:
        lines.append("most common mistakes:")
        lines += [f"  {n:>4} × {exercise}: {mistake}" for (exercise, mistake), n in mistakes.most_common(top)]
    cpu = [mine[0]["cpu_seconds"] for mine in table.values() if mine[0].get("cpu_seconds") is not None]
    if cpu:
        lines.append(f"CPU time in the sandboxes: {sum(cpu):.0f} s, {sum(cpu) / len(cpu):.1f} s per submission that ran")
    problems = collections.Counter(_problem(r["message"]) for mine in table.values() for r in mine[:1]
                                   if _problem(r["message"]))
    if problems:
        lines.append("submissions that did not run to the end: " +
                     ", ".join(f"{n} × {kind}" for kind, n in problems.most_common()))
    return "\n".join(lines)


def _problem(message):
    for kind, pattern in (("not a homework notebook", "not a homework notebook"),
                          ("over the time limit", "longer than"), ("kernel died", "kernel process died|DeadKernel"),
                          ("out of memory", "MemoryError")):
        if re.search(pattern, message):
            return kind
    return None
