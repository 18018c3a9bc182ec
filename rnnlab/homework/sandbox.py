"""Where a submission runs: a bubblewrap sandbox, or — where the system has none — a watched temporary directory.

With bubblewrap (Debian's ``bubblewrap``) the student's kernel sees the machine read-only,
writes only to a private, size-limited ``/tmp`` that vanishes with it, has no network (its
own network namespace, loopback only), no view of other processes and a clean
environment. It does not see the grader's home directory (except the Python installation
it runs, if that lives there) nor the folders that hold the submissions: each becomes an
empty directory, and a submission that sits where its folder cannot be hidden is hidden
file by file behind ``/dev/null``. The notebook goes in on standard input and the values
come out on standard output.

Without bubblewrap the grader says so once and runs each submission in a temporary
working directory, one at a time, with nothing of the above: it compares fingerprints of
the package, the chapters and the submissions before and after each one, so that a change
is detected afterwards (:class:`SubmissionChangedFiles` stops grading and names the
submission), not prevented.

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
    needed = _needed()
    # the private /tmp hides what the grader keeps there, except what the kernel needs (a course cloned into /tmp)
    cmd += [arg for n in needed if n.startswith("/tmp/") for arg in ("--ro-bind", n, n)]
    files = [p for p in map(os.path.realpath, hide) if os.path.isfile(p)
             and (not p.startswith("/tmp/") or any(p.startswith(n + "/") for n in needed))]
    hidden = []
    for folder in sorted({os.path.realpath(Path.home()), *(os.path.dirname(p) for p in files)}, key=len):
        if folder in ("/", "/tmp") or folder.startswith("/tmp/") or any(folder == n or folder.startswith(n + "/")
                                                                        for n in needed):
            continue                                # /tmp is private anyway; Python and the course must stay
        if any(folder.startswith(h + "/") for h in hidden):
            continue                                # inside a folder already hidden
        hidden.append(folder)
        cmd += ["--size", str(1 << 20), "--tmpfs", folder]    # empty; what the kernel needs comes back read-only
        cmd += [arg for n in needed if n.startswith(folder + "/") for arg in ("--ro-bind", n, n)]
        cmd += ["--remount-ro", folder]
    for path in files:
        if not any(path.startswith(folder + "/") for folder in hidden):
            cmd += ["--ro-bind", "/dev/null", path]  # a submission whose folder could not be hidden
    cmd += ["--unshare-all", "--die-with-parent", "--new-session", "--chdir", home, "--clearenv"]
    for key, value in environment(home).items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *argv]


def _needed():
    """What the kernel must read: Python, its environment and the course (the folder of this package)."""
    import rnnlab

    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             os.path.dirname(os.path.dirname(os.path.realpath(rnnlab.__file__)))}
    return sorted({os.path.realpath(p) for p in paths}, key=len)


def fingerprint(paths):
    """SHA-256 of every file under ``paths`` (files or folders), by path.

    See the *For instructors* page.
    """
    prints = {}
    for root in paths:
        root = Path(root)
        # __pycache__ holds caches the interpreter and numba write themselves, not the course's files
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*")
                                                     if p.is_file() and "__pycache__" not in p.parts)
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
