"""Where a submission runs: a bubblewrap sandbox, or — where the system has none — a watched private copy.

With bubblewrap (Debian's ``bubblewrap``) the student's kernel sees the machine read-only,
writes only to a private, size-limited ``/tmp`` that vanishes with it, has no network (its
own network namespace, loopback only), no view of other processes, a clean environment,
and no other submission (each is hidden behind ``/dev/null``). The notebook goes in on
standard input and the values come out on standard output.

Without bubblewrap the grader says so once, runs each submission from a private copy in
a temporary directory, one at a time, and compares fingerprints of the package, the
chapters and the submissions before and after each one: a change stops grading
(:class:`SubmissionChangedFiles`) and names the submission.

See the *For instructors* page.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["SubmissionChangedFiles", "bubblewrap", "command", "environment", "fingerprint", "changes"]

SCRATCH_BYTES = 512 * 1024 * 1024


class SubmissionChangedFiles(RuntimeError):
    """An unsandboxed submission changed files outside its scratch directory; grading stops.

    See the *For instructors* page.
    """


@lru_cache(maxsize=None)
def bubblewrap():
    """The path of a working ``bwrap``, or None (missing, or the system forbids its namespaces)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    trial = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent",
             "--", sys.executable, "-c", "pass"]
    try:
        ok = subprocess.run(trial, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return path if ok else None


def environment(home):
    """The kernel's whole environment: no variable of the grader's shell reaches it.

    See the *For instructors* page.
    """
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",                    # no figure is rendered: the grader reads values only
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter-runtime",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def command(argv, hide=()):
    """The bubblewrap command that runs ``argv`` in the sandbox (cwd and HOME: ``/tmp/home``).

    See the *For instructors* page.

    Parameters
    ----------
    argv : list of str
        The program and its arguments, run inside.
    hide : iterable of path
        Files to hide (each becomes an empty read-only file): the other submissions.
    """
    home = "/tmp/home"
    cmd = [bubblewrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp", "--dir", home]
    for path in hide:
        path = os.path.realpath(path)
        if os.path.isfile(path) and not path.startswith("/tmp/"):
            cmd += ["--ro-bind", "/dev/null", path]
    cmd += ["--unshare-all", "--die-with-parent", "--new-session", "--chdir", home, "--clearenv"]
    for key, value in environment(home).items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *argv]


def fingerprint(paths):
    """SHA-256 of every file under ``paths`` (files or folders), by path.

    See the *For instructors* page.
    """
    prints = {}
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                prints[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                prints[str(path)] = "unreadable"
    return prints


def changes(before, after):
    """The paths added, removed or changed between two fingerprints.

    See the *For instructors* page.
    """
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
