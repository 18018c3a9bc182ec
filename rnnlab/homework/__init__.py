"""Homework from the chapters: student notebooks, solutions notebooks, and a grader.

    python -m rnnlab.homework build OUT
    python -m rnnlab.homework grade [--json] NOTEBOOK...

The MyST chapters are the single source. A chapter marks its code exercises with
tagged cells that the book neither shows nor executes (``remove-cell``,
``skip-execution``):

- ``homework-stub``: the starter code a student completes (signature, docstring,
  ``raise NotImplementedError``); its metadata names the exercise and the reference
  solution, ``homework: {exercise: ..., points: ..., solution: "module:object ..."}``;
- ``homework-check``: a cell that calls :func:`report` with a check of
  :mod:`rnnlab.homework.checks`; it prints what is wrong and never stops the notebook;
- ``homework-remove``: a cell of the book that must not reach students (it would
  give a solution away).

The student notebook drops every ``{solution}`` block and every ``homework-remove``
cell, keeps the stubs and checks; the solutions notebook replaces each stub by the
package's own source of the reference. The grader runs each submission in its own
kernel, in a temporary directory, with time and memory limits, re-runs the checks in
cells it appends itself, and scores each exercise.

See the instructor notes in the README.
"""

import argparse
import ast
import importlib
import inspect
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

__all__ = ["build", "grade", "report"]

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
MIME = "application/vnd.rnnlab.check+json"
SOLUTION_BLOCK = re.compile(r"^```\{solution\}.*?^```[ \t]*\n?", re.S | re.M)
LITERALINCLUDE = re.compile(r"^(```|:::)\{literalinclude\}\s+(\S+)\s*\n(.*?)^\1[ \t]*\n?", re.S | re.M)


def report(exercise, check, *args, points=1, **kwargs):
    """Run ``check(*args, **kwargs)`` and show the result without ever raising.

    Displays a line for the student ("✓ ..." or "✗ ...") and, invisibly, a record for
    the grader. Returns whether the check passed.
    """
    from IPython.display import display

    from rnnlab.homework.checks import CheckFailed

    try:
        message, passed = check(*args, **kwargs), True
    except NotImplementedError:
        message, passed = "not answered yet (the stub raises NotImplementedError)", False
    except CheckFailed as err:
        message, passed = str(err), False
    except Exception as err:  # noqa: BLE001 - a student's bug is a result, not a crash
        message, passed = f"{type(err).__name__}: {err}", False
    record = dict(exercise=exercise, passed=passed, points=points if passed else 0, max_points=points,
                  message=message)
    display({"text/plain": f"{'✓' if passed else '✗'} {exercise}: {message}", MIME: record}, raw=True)
    return passed


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def _pyobject_source(path, name):
    """Source of ``name`` (``func`` or ``Class.method``) in the Python file ``path``."""
    text = Path(path).read_text()
    node = ast.parse(text)
    for part in name.split("."):
        node = next(n for n in ast.iter_child_nodes(node)
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
    return ast.get_source_segment(text, node, padded=True)


def _inline_listings(source, base, keep):
    """Replace literalinclude directives by the listed code (``keep``) or by a pointer to the book."""
    def replace(match):
        path, options = (base / match.group(2)).resolve(), match.group(3)
        name = re.search(r":pyobject:\s*(\S+)", options)
        if not keep:
            return f"*(The book shows `{name.group(1) if name else path.name}` from the package here.)*\n"
        code = _pyobject_source(path, name.group(1)) if name else path.read_text()
        return f"```python\n{code}\n```\n"
    return LITERALINCLUDE.sub(replace, source)


def _solution_source(spec):
    """The reference solution named by ``"module:object Class.method ..."``, as notebook code.

    The objects' source comes from the package itself (methods dedented to functions),
    preceded by imports of every module-level name it uses.
    """
    module_name, _, names = spec.partition(":")
    module = importlib.import_module(module_name)
    sources = []
    for name in names.split():
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part)
        sources.append(textwrap.dedent(inspect.getsource(obj)))
    code = "\n\n".join(sources)
    tree = ast.parse(code)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - defined)
    imports = []
    for name in used:
        value = getattr(module, name, None)
        if inspect.ismodule(value):
            imports.append(f"import {value.__name__}" + ("" if value.__name__ == name else f" as {name}"))
        elif value is not None:
            imports.append(f"from {module_name} import {name}")
    return "\n".join(imports) + "\n\n\n" + code


def _notebook(chapter, edition):
    import jupytext

    notebook = jupytext.read(chapter)
    cells = []
    for cell in notebook.cells:
        tags = _tags(cell)
        if "homework-remove" in tags:
            continue
        if cell.cell_type == "markdown":
            source = cell.source if edition == "solutions" else SOLUTION_BLOCK.sub("", cell.source)
            cell.source = _inline_listings(source, chapter.parent, keep=edition == "solutions")
        elif "homework-stub" in tags and edition == "solutions":
            cell.source = _solution_source(cell.metadata["homework"]["solution"])
        cell.metadata["tags"] = sorted(tags - {"remove-cell", "skip-execution"})
        cells.append(cell)
    notebook.cells = cells
    notebook.metadata["rnnlab"] = {"chapter": chapter.stem, "edition": edition}
    notebook.metadata.pop("jupytext", None)
    return notebook


def chapters_with_exercises(folder=CHAPTERS):
    """The chapters that contain at least one ``homework-stub`` cell."""
    import jupytext

    return [p for p in sorted(folder.glob("*.md"))
            if any("homework-stub" in _tags(c) for c in jupytext.read(p).cells)]


def build(out, folder=CHAPTERS, editions=("student", "solutions")):
    """Write ``OUT/student/<chapter>.ipynb`` and ``OUT/solutions/<chapter>.ipynb`` for every chapter with exercises."""
    written = []
    for chapter in chapters_with_exercises(folder):
        for edition in editions:
            target = Path(out) / edition / f"{chapter.stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_notebook(chapter, edition), target)
            written.append(target)
    return written


def _grading_cells(chapter, nonce):
    """Fresh copies of the chapter's check cells, run after everything the student wrote."""
    import jupytext

    cells = [nbformat.v4.new_code_cell(
        "import importlib, rnnlab.homework.checks, rnnlab.homework\n"
        "importlib.reload(rnnlab.homework.checks); importlib.reload(rnnlab.homework)\n"
        f"from rnnlab.homework import report  # grader {nonce}")]
    for cell in jupytext.read(CHAPTERS / f"{chapter}.md").cells:
        if "homework-check" in _tags(cell):
            cells.append(nbformat.v4.new_code_cell(f"# grader {nonce}\n" + cell.source))
    return cells


def _limit(memory_bytes):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        os.setsid()
    return apply


def _execute(path, out, cell_timeout):
    """Run inside the limited subprocess: execute ``path`` and write the result to ``out``."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    error = None
    try:
        NotebookClient(notebook, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    except Exception as err:  # noqa: BLE001 - timeouts, dead kernels: the reason is the result
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    nbformat.write(notebook, out)
    Path(out + ".error").write_text(error or "")


def _rows_for(path, cell_timeout, total_timeout, memory):
    name = str(path)
    try:
        notebook = nbformat.read(path, as_version=4)
        chapter = notebook.metadata["rnnlab"]["chapter"]
    except Exception as err:  # noqa: BLE001
        return [dict(notebook=name, exercise="-", points=0, max_points=0,
                     message=f"not a homework notebook: {type(err).__name__}: {err}")]
    nonce = secrets.token_hex(8)
    expected = _expected_exercises(chapter)
    notebook.cells = [c for c in notebook.cells if not str(c.get("source", "")).startswith("# grader")]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    notebook.cells += _grading_cells(chapter, nonce)
    with tempfile.TemporaryDirectory() as work:
        submitted, executed = os.path.join(work, "submission.ipynb"), os.path.join(work, "executed.ipynb")
        nbformat.write(notebook, submitted)
        try:
            subprocess.run([sys.executable, "-m", "rnnlab.homework", "_execute", submitted, executed,
                            str(cell_timeout)], cwd=work, timeout=total_timeout, preexec_fn=_limit(memory),
                           capture_output=True, check=False)
            reason = Path(executed + ".error").read_text() if os.path.exists(executed + ".error") else \
                "the grader's kernel process died"
            done = nbformat.read(executed, as_version=4) if os.path.exists(executed) else None
            results = _results(done, nonce) if done else {}
            first_error = _first_error(done, nonce) if done else None
        except subprocess.TimeoutExpired:
            reason, results = f"the notebook ran longer than the total limit of {total_timeout} s", {}
            first_error = None
    rows = []
    for exercise, points in expected.items():
        found = results.get(exercise)
        if found is None:
            message = f"no result: {reason or 'the check did not run'}"
            rows.append(dict(notebook=name, exercise=exercise, points=0, max_points=points, message=message))
        else:
            message = found["message"]
            if not found["points"] and first_error:
                message += f" (first error in the notebook: {first_error})"
            rows.append(dict(notebook=name, exercise=exercise, points=found["points"], max_points=points,
                             message=message))
    return rows


def _expected_exercises(chapter):
    import jupytext

    return {c.metadata["homework"]["exercise"]: c.metadata["homework"].get("points", 1)
            for c in jupytext.read(CHAPTERS / f"{chapter}.md").cells if "homework-stub" in _tags(c)}


def _first_error(notebook, nonce):
    """The first exception raised by a cell of the submission itself, as "Name: message"."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and f"grader {nonce}" not in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output['ename']}: {output['evalue']}"[:200]
    return None


def _results(notebook, nonce):
    """The records of the grader's own cells (identified by the nonce), worst result per exercise."""
    results = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or f"grader {nonce}" not in cell.source:
            continue
        for output in cell.get("outputs", []):
            record = output.get("data", {}).get(MIME)
            if record:
                old = results.get(record["exercise"])
                if old is None or record["points"] < old["points"]:
                    results[record["exercise"]] = record
    return results


def grade(paths, cell_timeout=60, total_timeout=300, memory=2 * 1024**3):
    """Grade submitted notebooks; one row per notebook and exercise (never raises for a bad submission)."""
    rows = []
    for path in paths:
        rows += _rows_for(path, cell_timeout, total_timeout, memory)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rnnlab.homework", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write student and solutions notebooks for every chapter with exercises")
    b.add_argument("out")
    g = sub.add_parser("grade", help="grade submitted notebooks")
    g.add_argument("notebooks", nargs="+")
    g.add_argument("--json", action="store_true", help="print the rows as JSON")
    g.add_argument("--cell-timeout", type=int, default=60)
    g.add_argument("--total-timeout", type=int, default=300)
    e = sub.add_parser("_execute")   # internal: runs inside the limited subprocess
    e.add_argument("path")
    e.add_argument("out")
    e.add_argument("cell_timeout", type=int)
    args = parser.parse_args(argv)
    if args.command == "build":
        for path in build(args.out):
            print(path)
    elif args.command == "_execute":
        _execute(args.path, args.out, args.cell_timeout)
    else:
        rows = grade(args.notebooks, args.cell_timeout, args.total_timeout)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            width = max(len(r["notebook"]) for r in rows)
            for r in rows:
                print(f"{r['notebook']:<{width}}  {r['exercise']:<22} {r['points']}/{r['max_points']}  {r['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
