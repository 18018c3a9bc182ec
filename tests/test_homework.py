"""rnnlab/homework/: notebooks built from the chapters, and a grader that never falls over."""

import ast
import importlib
import inspect
import json
import pkgutil
import time

import nbformat
import pytest
from nbclient import NotebookClient

import rnnlab
from rnnlab import homework


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("homework")
    homework.build(out)
    return out


def reference_lines():
    """Code lines of every function and method of the package's models, data and training code:
    no docstrings, no short lines, no ``def`` lines (stubs give the signatures on purpose)."""
    lines = set()
    tooling = {"checks", "homework", "bench", "experiments", "__main__"}   # graders and scripts, not answers
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(rnnlab.__path__, "rnnlab.")
               if not m.ispkg and not set(m.name.split(".")) & tooling]
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                for stmt in body:
                    for line in ast.get_source_segment(inspect.getsource(module), stmt).splitlines():
                        line = line.strip()
                        if len(line) >= 24 and not line.startswith(("#", '"', "'", "def ")):
                            lines.add(line)
    return lines


def test_build_writes_both_editions_for_every_chapter_with_exercises(built):
    names = {p.name for p in (built / "student").glob("*.ipynb")}
    assert {"01_memory_task.ipynb", "02_frn_bptt.ipynb", "04_lstm.ipynb", "05_rtrl.ipynb"} <= names
    assert names == {p.name for p in (built / "solutions").glob("*.ipynb")}


def test_no_line_of_a_reference_implementation_reaches_students(built):
    reference = reference_lines()
    assert len(reference) > 100
    for path in (built / "student").glob("*.ipynb"):
        text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
        leaked = sorted(line for line in reference if line in text)
        assert not leaked, f"{path.name} contains reference lines: {leaked[:5]}"
        assert "{solution}" not in text and "homework-remove" not in text


def test_solutions_contain_the_reference(built):
    text = "\n".join(c.source for c in nbformat.read(built / "solutions" / "02_frn_bptt.ipynb", as_version=4).cells)
    assert "def _backward(self, psi):" in text and "delta_next @ R" in text


def test_untouched_student_notebook_runs_to_the_end(built):
    notebook = nbformat.read(built / "student" / "01_memory_task.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()   # allow_errors=False
    shown = [o["data"]["text/plain"] for c in notebook.cells for o in c.get("outputs", []) if "data" in o]
    assert any("✗ ex-generate-data: not answered yet" in text for text in shown)


def test_untouched_scores_zero_and_solutions_score_full_marks(built):
    rows = homework.grade(sorted((built / "student").glob("*.ipynb")) + sorted((built / "solutions").glob("*.ipynb")))
    student = [r for r in rows if "/student/" in r["notebook"]]
    solutions = [r for r in rows if "/solutions/" in r["notebook"]]
    assert student and all(r["points"] == 0 and "not answered" in r["message"] for r in student)
    assert solutions and all(r["points"] == r["max_points"] > 0 for r in solutions), solutions
    assert {r["exercise"] for r in student} == {r["exercise"] for r in solutions}


def hostile(built, tmp_path, name, code):
    notebook = nbformat.read(built / "student" / "01_memory_task.ipynb", as_version=4)
    for cell in notebook.cells:
        if "homework-stub" in cell.metadata.get("tags", []):
            cell.source = code
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def test_hostile_submissions_get_zero_with_a_reason_in_bounded_time(built, tmp_path):
    paths = [
        hostile(built, tmp_path, "syntax", "def generate_data(T, seed=0:\n    pass"),
        hostile(built, tmp_path, "loop", "while True:\n    pass"),
        hostile(built, tmp_path, "exit", "import os\nos._exit(3)"),
        hostile(built, tmp_path, "memory", "import numpy as np\nbig = np.ones(10**11)"),
        tmp_path / "text.ipynb",
    ]
    paths[-1].write_text("this is not a notebook")
    start = time.time()
    rows = homework.grade(paths, cell_timeout=5, total_timeout=60)
    assert time.time() - start < 5 * 60
    by_name = {r["notebook"].rsplit("/", 1)[-1]: r for r in rows}
    assert set(by_name) == {p.name for p in paths}
    assert all(r["points"] == 0 and r["message"] for r in rows)
    assert "SyntaxError" in by_name["syntax.ipynb"]["message"]
    assert "CellTimeoutError" in by_name["loop.ipynb"]["message"]
    assert "DeadKernelError" in by_name["exit.ipynb"]["message"]
    assert "MemoryError" in by_name["memory.ipynb"]["message"]
    assert "not a homework notebook" in by_name["text.ipynb"]["message"]


def test_grade_cli_prints_json_rows(built, capsys):
    assert homework.main(["grade", "--json", str(built / "student" / "01_memory_task.ipynb")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"notebook", "exercise", "points", "max_points", "message"} <= set(rows[0])


STUDENT_SITE = homework.CHAPTERS.parent / "_build" / "student" / "_build" / "html"


def test_student_edition_has_exercises_but_no_solutions():
    if not (STUDENT_SITE / "index.html").exists():
        if __import__("os").environ.get("CI"):
            pytest.fail("the student edition is not built (make student-book)")
        pytest.skip("the student edition is not built: run `make student-book`")
    pages = sorted((STUDENT_SITE / "chapters").glob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        assert 'class="solution' not in html, page.name
        assert "delta_next = np.zeros" not in html and "ForgetsTheRecurrence" not in html, page.name
    assert 'class="exercise' in (STUDENT_SITE / "chapters" / "02_frn_bptt.html").read_text()
    assert not (STUDENT_SITE / "_sources").exists() or not list((STUDENT_SITE / "_sources").rglob("*.md"))
