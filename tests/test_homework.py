"""rnnlab/homework/: notebooks built from the chapters, and a grader a class cannot fool.

The grading tests run real kernels: one parallel call grades the solutions and the untouched
notebooks of every chapter together with hostile submissions (which come first), another
the broken ones. In CI the sandbox must be there (`.ci/run` installs bubblewrap).
"""

import ast
import csv
import hashlib
import json
import os
import re
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from rnnlab import homework
from rnnlab.homework import notebooks, sandbox
from rnnlab.homework.__main__ import main

ROOT = notebooks.CHAPTERS.parent
CHAPTERS = ["01_memory_task", "02_frn_bptt", "03_vanishing_gradients", "04_lstm", "05_rtrl", "06_reproduction"]


def needs_bubblewrap():
    if sandbox.bubblewrap() is None:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is not available: .ci/run installs it, and CI must grade in the sandbox")
        pytest.skip("bubblewrap (bwrap) is not available or not allowed here")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("homework")
    homework.build(out)
    return out


def test_build_writes_both_editions_for_every_chapter_with_exercises(built):
    names = {p.stem for p in (built / "student").glob("*.ipynb")}
    assert names == set(CHAPTERS)
    assert names == {p.stem for p in (built / "solutions").glob("*.ipynb")}


PRIVATE = re.compile(r"(?<![\w.])_[A-Za-z]\w*|\._[A-Za-z]\w*")


def test_student_notebooks_mention_no_private_name(built):
    for path in (built / "student").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            text = re.sub(r"\$\$.*?\$\$", "", cell.source, flags=re.S)   # subscripts in mathematics
            text = re.sub(r"\$[^$]*\$", "", text)                           # are not names
            assert not PRIVATE.findall(text), f"{path.name}: {PRIVATE.findall(text)} in\n{cell.source[:300]}"
        stubs = [c.source for c in nbformat.read(path, as_version=4).cells
                 if {"homework-stub", "homework-given"} & notebooks.tags(c)]
        assert stubs and not any(re.search(r"cache|fused|stacked", s, re.I) for s in stubs), path.name


def solution_lines():
    """Code lines of every reference solution the solutions notebooks insert (not the given code)."""
    lines = set()
    for chapter in CHAPTERS:
        for cell in notebooks._read(notebooks.CHAPTERS / f"{chapter}.md").cells:
            if "homework-stub" in notebooks.tags(cell):
                _, objects = notebooks._resolve(cell.metadata["homework"]["solution"])
                for obj in objects.values():
                    source = __import__("inspect").getsource(obj)
                    for node in ast.walk(ast.parse(__import__("textwrap").dedent(source))):
                        if isinstance(node, ast.FunctionDef):
                            body = node.body[1:] if ast.get_docstring(node) else node.body
                            for stmt in body:
                                for line in ast.unparse(stmt).splitlines():
                                    if len(line.strip()) >= 24 and not line.strip().startswith(("def ", "class ")):
                                        lines.add(line.strip())
    return lines


def test_no_line_of_a_solution_reaches_students(built):
    reference = solution_lines()
    assert len(reference) > 60
    for path in (built / "student").glob("*.ipynb"):
        cells = nbformat.read(path, as_version=4).cells
        given = "\n".join(c.source for c in cells if "homework-given" in notebooks.tags(c))
        text = "\n".join(ast.unparse(ast.parse(c.source)) for c in cells
                         if c.cell_type == "code" and "homework-given" not in notebooks.tags(c))
        leaked = sorted(line for line in reference if line in text and line not in given)
        assert not leaked, f"{path.name} contains solution lines: {leaked[:5]}"
        assert "{solution}" not in "\n".join(c.source for c in cells)


def test_solutions_notebooks_hold_the_assignment_forms(built):
    cells = nbformat.read(built / "solutions" / "02_frn_bptt.ipynb", as_version=4).cells
    stub = next(c.source for c in cells if c.metadata.get("homework", {}).get("exercise") == "ex-frn-backward")
    assert "def backward(self):" in stub and "FullyRecurrentNetwork.backward = backward" in stub
    assert "R.T @ delta" in stub and "import FullyRecurrentNetwork" not in stub
    given = next(c.source for c in cells if "homework-given" in notebooks.tags(c))
    assert "def forward(self, x, y):" in given and "def backward" not in given


def test_untouched_student_notebook_runs_to_the_end(built):
    notebook = nbformat.read(built / "student" / "01_memory_task.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()   # allow_errors=False
    shown = [o["data"].get("text/plain", "") for c in notebook.cells for o in c.get("outputs", []) if "data" in o]
    assert any("✗ ex-generate-data: not answered yet" in text for text in shown)


# -- grading -----------------------------------------------------------------------------------------------
def fingerprint(*paths):
    digest = hashlib.sha256()
    for root in paths:
        for path in sorted(Path(root).rglob("*")) if Path(root).is_dir() else [Path(root)]:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def with_cells(built, name, target, sources, answer=None):
    """The chapter-1 student notebook with ``sources`` as extra cells before the stub (and the stub's answer)."""
    notebook = nbformat.read(built / "student" / "01_memory_task.ipynb", as_version=4)
    stub = next(k for k, c in enumerate(notebook.cells) if "homework-stub" in notebooks.tags(c))
    if answer is not None:
        notebook.cells[stub].source = answer
    notebook.cells[stub:stub] = [nbformat.v4.new_code_cell(s) for s in sources]
    path = target / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


FORGE = """
import importlib
import numpy as np
from IPython.display import display
import rnnlab.homework.checks as checks
from rnnlab.homework.checks import Verdict
# forged records: a 'passed' record, and values shaped like a probe's, displayed and printed
display({"application/vnd.rnnlab.check+json": {"exercise": "ex-generate-data", "passed": True, "points": 2}}, raw=True)
print('rnnlab-values {"first_error": null, "records": {"ex-generate-data": "{}"}, "interrupted": []}')
# patched comparisons, checks and reload
checks.judge = lambda *args, **kwargs: Verdict(True, "all right")
checks.evaluate = lambda *args, **kwargs: Verdict(True, "all right")
np.allclose = np.array_equal = lambda *args, **kwargs: True
importlib.reload = lambda module: module
"""

HOOKS = """
import numpy as np
from IPython import get_ipython
from IPython.display import display
import rnnlab.homework.probes as probes
from rnnlab.homework.codec import encode

def forged(exercise, ns, inputs):
    T = inputs["T"]
    x = np.zeros((inputs["n"], T)); x[:, 0] = 1.0
    return {"values": {"generator": True, "x_shape": [T, 1], "y_shape": [1], "x": x, "y": np.ones((inputs["n"], 1)),
                       "x_first": x[0], "x_again": x[:inputs["m"] + 1], "seed": False, "global_state_unchanged": True}}

def before(info):
    probes.probe = forged                      # every probe answers with forged values

def after(result):
    print("rnnlab-values", '{"records": {}}')

get_ipython().events.register("pre_run_cell", before)
get_ipython().events.register("post_run_cell", after)
"""


def writes(targets, package=False):
    """Cell source that appends to each of ``targets`` (and, with ``package``, tries to delete rnnlab)."""
    lines = ["results = []"]
    for target in targets:
        lines.append(f"try:\n    with open({str(target)!r}, 'a') as handle:\n"
                     "        handle.write('\\nprint(\"pwned\")\\n')\n    results.append('wrote')\n"
                     "except OSError as err:\n    results.append(repr(err))")
    if package:
        lines.append("import os, shutil\ntry:\n    shutil.rmtree(os.path.dirname(__import__('rnnlab').__file__))\n"
                     "except OSError as err:\n    results.append(repr(err))")
    return "\n".join(lines + ["print(results)"])


def test_a_submission_folder_inside_the_home_directory_is_hidden_with_it():
    """Folders are hidden shallowest first; one inside another needs no mount of its own."""
    needs_bubblewrap()
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rnnlab-class-", dir=Path.home()))
    try:
        (folder / "a.ipynb").write_text("answers")
        argv = [sys.executable, "-c", f"import os; print(os.path.exists({str(folder)!r}))"]
        done = subprocess.run(sandbox.command(argv, hide=[folder / "a.ipynb"]), capture_output=True, text=True,
                              timeout=120, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr
    finally:
        (folder / "a.ipynb").unlink()
        folder.rmdir()


def test_the_sandbox_hides_the_home_directory_and_the_folders_of_the_submissions():
    """The kernel imports rnnlab but reads neither the grader's home nor a submission's folder (nor its files)."""
    needs_bubblewrap()
    import subprocess
    import sys
    import tempfile

    secret = Path.home() / ".rnnlab-sandbox-test-secret"
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-class-", dir="/var/tmp"))
    inside = ROOT / "rnnlab-sandbox-test-submission.ipynb"             # in the course folder: hidden as a file
    try:
        secret.write_text("home secret")
        (folder / "other.ipynb").write_text("another student's answers")
        (folder / "mine.ipynb").write_text("my answers")
        inside.write_text("answers kept in the course folder")
        probe = ("import os, rnnlab\n"
                 "for path in {paths!r}:\n"
                 "    try:\n        print(path, repr(open(path).read()))\n"
                 "    except OSError as err:\n        print(path, type(err).__name__)\n"
                 "print('rnnlab', rnnlab.__version__)")
        paths = [str(secret), str(folder / "other.ipynb"), str(inside), str(ROOT / "README.md")]
        argv = [sys.executable, "-c", probe.format(paths=paths)]
        done = subprocess.run(sandbox.command(argv, hide=[folder / "mine.ipynb", inside]),
                              capture_output=True, text=True, timeout=120, check=False)
        out = done.stdout
        assert done.returncode == 0, done.stderr
        assert f"{secret} FileNotFoundError" in out and f"{folder / 'other.ipynb'} FileNotFoundError" in out
        assert f"{inside} PermissionError" in out                      # behind /dev/null (a device: unreadable)
        assert "answers" not in out and "secret" not in out.replace(str(secret), "")
        assert "rnnlab 0." in out and f"{ROOT / 'README.md'} 'FileNotFoundError'" not in out
    finally:
        secret.unlink(missing_ok=True)
        inside.unlink(missing_ok=True)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records every connection it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except OSError:
                continue
            connection.close()
            seen.append(address)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def class_graded(built, tmp_path_factory, listener):
    """Hostile submissions first, then the untouched and the solutions notebook of every chapter."""
    needs_bubblewrap()
    folder = tmp_path_factory.mktemp("class")
    honest = []                 # every solutions notebook; untouched ones of two chapters (test_checks has all)
    for edition, chapter in [("student", c) for c in CHAPTERS[:2]] + [("solutions", c) for c in CHAPTERS]:
        honest.append(folder / f"{edition}-{chapter}.ipynb")
        honest[-1].write_bytes((built / edition / f"{chapter}.ipynb").read_bytes())
    home_marker = Path.home() / "rnnlab-homework-test-marker"
    port, _ = listener
    hostile = [
        with_cells(built, "hostile-forge", folder, [FORGE]),
        with_cells(built, "hostile-hooks", folder, [HOOKS]),
        with_cells(built, "hostile-writes", folder, [writes([ROOT / "rnnlab" / "homework" / "checks.py",
                                                             ROOT / "chapters" / "01_memory_task.md",
                                                             home_marker, honest[2], folder / "new-file.txt"],
                                                            package=True)]),
        with_cells(built, "hostile-network", folder,
                   [f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                    "    print('connected')\nexcept OSError as err:\n    print(err)"]),
    ]
    before = {"package": fingerprint(ROOT / "rnnlab"), "chapters": fingerprint(ROOT / "chapters"),
              "honest": [p.read_bytes() for p in honest]}
    start = time.time()
    rows = homework.grade(hostile + honest, jobs=2, limits={"cell_timeout": 60, "total_timeout": 240})
    return {"rows": rows, "hostile": hostile, "honest": honest, "before": before, "home_marker": home_marker,
            "folder": folder, "seconds": time.time() - start}


def rows_of(graded, path):
    return [r for r in graded["rows"] if r["notebook"] == str(path)]


def test_solutions_score_full_marks_and_untouched_notebooks_zero(class_graded):
    for path in class_graded["honest"]:
        rows = rows_of(class_graded, path)
        assert rows and {r["chapter"] for r in rows} == {path.stem.split("-", 1)[1]}
        if path.stem.startswith("solutions"):
            assert all(r["points"] == r["max_points"] > 0 for r in rows), rows
        else:
            assert all(r["points"] == 0 and r["message"].startswith("not answered yet") for r in rows), rows


def test_hostile_submissions_score_zero_and_change_nothing_outside_their_scratch(class_graded, listener):
    for path in class_graded["hostile"]:
        rows = rows_of(class_graded, path)
        assert rows and all(r["points"] == 0 for r in rows), rows
    before = class_graded["before"]
    assert fingerprint(ROOT / "rnnlab") == before["package"]
    assert fingerprint(ROOT / "chapters") == before["chapters"]
    assert [p.read_bytes() for p in class_graded["honest"]] == before["honest"]
    assert not class_graded["home_marker"].exists()
    assert not (class_graded["folder"] / "new-file.txt").exists()
    assert listener[1] == [], "a submission reached the network"


def test_the_attacks_work_outside_the_sandbox(tmp_path, listener):
    """The hostile cells above are real attacks: run in this process, they write and connect."""
    target = tmp_path / "victim.txt"
    target.write_text("untouched")
    ns = {}
    exec(writes([target]), ns)
    assert ns["results"] == ["wrote"] and "pwned" in target.read_text()
    port, seen = listener
    count = len(seen)
    socket.create_connection(("127.0.0.1", port), timeout=3).close()
    deadline = time.time() + 5
    while len(seen) == count and time.time() < deadline:
        time.sleep(0.05)
    assert len(seen) == count + 1
    seen.clear()


def test_the_grader_reports_summary_gradebook_and_feedback(class_graded, tmp_path):
    rows = class_graded["rows"]
    homework.gradebook(rows, tmp_path / "g.csv")
    with open(tmp_path / "g.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(class_graded["hostile"]) + len(class_graded["honest"])
    solved = next(r for r in table if r["submission"].endswith("solutions-02_frn_bptt.ipynb"))
    assert (solved["ex-frn-backward"], solved["ex-frn-grad-check"], solved["ex-frn-update"]) == ("3", "2", "1")
    assert solved["total"] == solved["max_points"] == "6" and solved["ex-generate-data"] == ""
    written = homework.feedback(rows, tmp_path / "fb")
    assert len(written) == len(table)
    text = (tmp_path / "fb" / "solutions-04_lstm.txt").read_text()
    assert "ex-lstm-backward: 3/3" in text and "Total: 8/8" in text
    summary = homework.summary(rows)
    assert f"{len(table)} submissions" in summary and "ex-rtrl-class" in summary
    assert "CPU time in the sandboxes" in summary


@pytest.fixture(scope="module")
def broken_graded(built, tmp_path_factory):
    needs_bubblewrap()
    folder = tmp_path_factory.mktemp("broken")
    right = ("def generate_data(T, seed=0xDEADBEEF):\n    rng = __import__('numpy').random.default_rng(seed)\n"
             "    while True:\n        y = float(rng.integers(0, 2))\n"
             "        x = rng.normal(0, 0.2 ** 0.5, size=(T, 1))\n        x[0, 0] = 2 * y - 1\n"
             "        yield x, __import__('numpy').array([y])")
    paths = {
        "syntax": with_cells(built, "syntax", folder, [], "def generate_data(T, seed=0:\n    pass"),
        "slow-cell": with_cells(built, "slow-cell", folder, ["while True:\n    pass"], right),
        "slow-answer": with_cells(built, "slow-answer", folder, [],
                                  "def generate_data(T):\n    while True:\n        pass"),
        "stubborn": with_cells(built, "stubborn", folder,
                               ["while True:\n    try:\n        while True:\n            pass\n"
                                "    except KeyboardInterrupt:\n        pass"], right),
        "exit": with_cells(built, "exit", folder, ["import os\nos._exit(3)"], right),
        "memory": with_cells(built, "memory", folder, ["import numpy as np\nbig = np.ones(10**11)"]),
        "text": folder / "text.ipynb",
        "empty": folder / "empty.ipynb",
    }
    paths["text"].write_text("this is not a notebook")
    nbformat.write(nbformat.v4.new_notebook(), paths["empty"])
    start = time.time()
    rows = homework.grade(list(paths.values()), jobs=2, limits={"cell_timeout": 15, "total_timeout": 60})
    return {name: rows_of({"rows": rows}, path) for name, path in paths.items()}, time.time() - start


def test_broken_submissions_get_a_row_with_the_reason_in_bounded_time(broken_graded):
    rows, seconds = broken_graded
    assert seconds < 4 * 60
    assert all(len(r) == 1 for r in rows.values())
    reason = {name: r[0]["message"] for name, r in rows.items()}
    assert all(r[0]["points"] == 0 for name, r in rows.items() if name != "slow-cell"), reason
    assert "SyntaxError" in reason["syntax"]
    assert rows["slow-cell"][0]["points"] == 2, reason["slow-cell"]     # the slow cell is interrupted, the rest graded
    assert "longer than 15 s" in reason["slow-answer"]
    assert "total limit of 60 s" in reason["stubborn"]
    assert "DeadKernelError" in reason["exit"] or "died" in reason["exit"]
    assert "MemoryError" in reason["memory"]
    assert "not a homework notebook" in reason["text"] and "not a homework notebook" in reason["empty"]
    assert rows["text"][0]["max_points"] == 0


def test_grading_as_a_chapter_gives_unreadable_files_that_chapters_exercises(tmp_path):
    junk = tmp_path / "junk.ipynb"
    junk.write_text("{")
    rows = homework.grade([junk], chapter="02_frn_bptt", jobs=1)
    assert [r["exercise"] for r in rows] == ["ex-frn-backward", "ex-frn-grad-check", "ex-frn-update"]
    assert all(r["points"] == 0 and r["max_points"] > 0 and "not a homework notebook" in r["message"] for r in rows)


def test_grade_cli_writes_gradebook_feedback_and_json(tmp_path, capsys):
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob").mkdir()
    (tmp_path / "alice" / "02_frn_bptt.ipynb").write_text("not a notebook")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "bob" / "02_frn_bptt.ipynb")
    paths = [str(tmp_path / who / "02_frn_bptt.ipynb") for who in ("alice", "bob")]
    assert main(["grade", "--jobs", "2", "--chapter", "02_frn_bptt", "--gradebook", str(tmp_path / "g.csv"),
                 "--feedback", str(tmp_path / "fb"), "--json", *paths]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"notebook", "chapter", "exercise", "points", "max_points", "message", "mistake",
            "cpu_seconds"} <= set(rows[0])
    with open(tmp_path / "g.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["submission", "chapter", "ex-frn-backward", "ex-frn-grad-check", "ex-frn-update", "total",
                        "max_points"]
    assert [row[-2:] for row in table[1:]] == [["0", "6"], ["0", "6"]]
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == ["alice__02_frn_bptt.txt", "bob__02_frn_bptt.txt"]


def test_without_a_sandbox_a_submission_that_changes_another_stops_grading(built, tmp_path, capsys):
    victim = tmp_path / "victim.ipynb"
    victim.write_bytes((built / "student" / "01_memory_task.ipynb").read_bytes())
    attacker = with_cells(built, "attacker", tmp_path, [writes([victim])])
    with pytest.raises(sandbox.SubmissionChangedFiles, match=r"attacker\.ipynb changed files .*victim\.ipynb"):
        homework.grade([attacker, victim], sandboxed=False, watch=[attacker, victim],
                       limits={"cell_timeout": 30, "total_timeout": 120})
    assert "submissions run unsandboxed" in capsys.readouterr().err


def test_student_edition_has_exercises_but_no_solutions():
    site = ROOT / "_build" / "student" / "_build" / "html"
    if not (site / "index.html").exists():
        if os.environ.get("CI"):
            pytest.fail("the student edition is not built (make student-book)")
        pytest.skip("the student edition is not built: run `make student-book`")
    pages = sorted((site / "chapters").glob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        assert 'class="solution' not in html, page.name
        assert "delta_next = np.zeros" not in html and "ForgetsTheRecurrence" not in html, page.name
        assert "for the loss at T: fills" not in html, page.name        # the assignment's solution
    frn = (site / "chapters" / "02_frn_bptt.html").read_text()
    assert 'class="exercise' in frn and "homework-given" in frn        # the given code stays
    assert not (site / "_sources").exists() or not list((site / "_sources").rglob("*.md"))
