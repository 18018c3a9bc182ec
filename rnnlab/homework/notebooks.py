"""Student and solutions notebooks, built from the MyST chapters (the single source).

A chapter marks its homework with cell tags (the book neither shows nor executes the
cells that carry ``remove-cell`` and ``skip-execution`` beside them):

- ``homework-given``: the code the assignment hands out, generated from the package;
  metadata ``homework: {given: "module:Class"}`` names the class, and the notebook gets
  its source without the methods that are exercises of the chapter;
- ``homework-stub``: the starter code a student completes (signatures, docstrings,
  ``raise NotImplementedError``, and lines such as ``FullyRecurrentNetwork.backward =
  backward``); metadata ``homework: {exercise: ..., points: ..., solution: "module:obj ..."}``;
- ``homework-check``: a cell that calls :func:`rnnlab.homework.checks.check` — feedback for the
  student, never run by the grader;
- ``homework-remove``: a cell of the book that would give a solution away (dropped from
  both notebooks and from the student edition of the book);
- ``homework-omit``: a heavy demonstration that no exercise needs (dropped from both
  notebooks; both editions of the book show it).

The student notebook drops the ``{solution}`` blocks and shows the package's listings as
a pointer to the book (a listing with ``:class: homework-given`` is the given code, which
is in a code cell); the solutions notebook keeps everything and puts the reference
solutions — the package's own source — in place of the stubs.

See the *For instructors* page.
"""

import ast
import builtins
import importlib
import inspect
import re
import textwrap
from functools import lru_cache
from pathlib import Path

import nbformat

__all__ = ["CHAPTERS", "build", "chapters_with_exercises", "expected_exercises", "notebook"]

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
SOLUTION_BLOCK = re.compile(r"^```\{solution\}.*?^```[ \t]*\n?", re.S | re.M)
LITERALINCLUDE = re.compile(r"^(```|:::)\{literalinclude\}\s+(\S+)\s*\n(.*?)^\1[ \t]*\n?", re.S | re.M)
EXERCISE_BLOCK = re.compile(r"^```\{exercise\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)(.*?)^```[ \t]*$", re.S | re.M)
DROPPED = {"homework-remove", "homework-omit"}


def tags(cell):
    """The set of a cell's tags."""
    return set(cell.get("metadata", {}).get("tags", []))


def _read(chapter):
    import jupytext

    return jupytext.read(chapter)


def chapters_with_exercises(folder=CHAPTERS):
    """The chapters (paths) that contain at least one ``homework-stub`` cell.

    See the *For instructors* page.
    """
    return [p for p in sorted(Path(folder).glob("*.md")) if any("homework-stub" in tags(c) for c in _read(p).cells)]


@lru_cache(maxsize=None)
def expected_exercises(chapter, folder=CHAPTERS):
    """``{exercise: points}`` of a chapter (its stem, e.g. ``"02_frn_bptt"``), in the chapter's order."""
    return {c.metadata["homework"]["exercise"]: c.metadata["homework"].get("points", 1)
            for c in _read(Path(folder) / f"{chapter}.md").cells if "homework-stub" in tags(c)}


# -- source of package objects ----------------------------------------------------------------------
def _resolve(spec):
    """``"module:A B.c"`` -> (module, {"A": obj, "B.c": obj})."""
    module_name, _, names = spec.partition(":")
    module = importlib.import_module(module_name)
    objects = {}
    for name in names.split():
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part)
        objects[name] = obj
    return module, objects


def _module_imports(module):
    """``{name: import line}`` for the names ``module`` imports at its top level."""
    lines = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                alias_text = f" as {alias.asname}" if alias.asname else ""
                lines[alias.asname or alias.name] = f"import {alias.name}{alias_text}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                lines[alias.asname or alias.name] = (f"from {node.module} import {alias.name}"
                                                     + (f" as {alias.asname}" if alias.asname else ""))
    return lines


def _imports(code, module, exclude):
    """Import lines for the module-level names ``code`` uses and does not define (nor ``exclude``).

    A name the module imports is imported the way the module does; a name it defines, from it.
    """
    tree = ast.parse(code)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - defined - set(exclude) - set(dir(builtins))
    known = _module_imports(module)
    lines = {known.get(name, f"from {module.__name__} import {name}") for name in used if hasattr(module, name)}
    return sorted(lines, key=lambda line: (not line.startswith("import"), line))


def _given_source(spec, solutions, exclude):
    """The class named by ``spec`` without the methods that are solutions, with its imports."""
    module, objects = _resolve(spec)
    (name, cls), = objects.items()
    text = textwrap.dedent(inspect.getsource(cls))
    tree = ast.parse(text).body[0]
    lines = text.splitlines()
    drop = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and f"{name}.{node.name}" in solutions:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            drop.update(range(start, node.end_lineno))
    kept = [line for k, line in enumerate(lines) if k not in drop]
    code = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).rstrip() + "\n"
    return "\n".join(_imports(code, module, exclude)) + "\n\n\n" + code


def _indent(code, prefix):
    return textwrap.indent(code, prefix, lambda line: bool(line.strip()))


def _solution_cell(stub, spec, exclude):
    """The stub cell with every stubbed function, class or method replaced by the reference's source."""
    module, objects = _resolve(spec)
    sources = {name: textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n" for name, obj in objects.items()}
    lines = stub.splitlines()
    tree = ast.parse(stub)
    used = set()
    replacements = []                       # (first line, last line, new text), 0-based, inclusive

    def node_span(node):
        return min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1, node.end_lineno - 1

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            match = next((n for n in sources if n.rpartition(".")[2] == node.name), None)
            if match:
                used.add(match)
                replacements.append((*node_span(node), sources[match]))
        elif isinstance(node, ast.ClassDef):
            if node.name in sources:
                used.add(node.name)
                replacements.append((*node_span(node), sources[node.name]))
                continue
            for item in node.body:
                key = f"{node.name}.{item.name}" if isinstance(item, ast.FunctionDef) else None
                if key in sources:
                    used.add(key)
                    first, last = node_span(item)
                    prefix = re.match(r"\s*", lines[first]).group(0)
                    replacements.append((first, last, _indent(sources[key], prefix)))
    for first, last, text in sorted(replacements, reverse=True):
        lines[first:last + 1] = text.rstrip("\n").splitlines()
    helpers = [sources[name] for name in objects if name not in used]
    code = "\n\n".join(helpers + ["\n".join(lines)]).strip() + "\n"
    imports = _imports(code, module, exclude)
    return ("\n".join(imports) + "\n\n\n" if imports else "") + code


def _student_names(cells):
    """Names that the notebook's given and stub cells define: never imported over the notebook's own."""
    names = set()
    for cell in cells:
        if "homework-stub" in tags(cell):
            names |= {n.name for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if "homework-given" in tags(cell):
            names.add(cell.metadata["homework"]["given"].partition(":")[2].strip())
    return names


# -- markdown -----------------------------------------------------------------------------------------
def _pyobject_source(path, name):
    """Source of ``name`` (``func`` or ``Class.method``) in the Python file ``path``."""
    text = Path(path).read_text()
    node = ast.parse(text)
    for part in name.split("."):
        node = next(n for n in ast.iter_child_nodes(node)
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
    return textwrap.dedent(ast.get_source_segment(text, node, padded=True))


def _inline_listings(source, base, keep):
    """Listings become code (``keep``) or a pointer to the book (the student notebook)."""
    def replace(match):
        path, options = (base / match.group(2)).resolve(), match.group(3)
        if not keep:
            if re.search(r":class:.*homework-given", options):
                return "*(The given code is in a code cell below.)*\n"
            return "*(The book shows the package's code here.)*\n"
        name = re.search(r":pyobject:\s*(\S+)", options)
        code = _pyobject_source(path, name.group(1)) if name else path.read_text()
        return f"```python\n{code.rstrip()}\n```\n"
    return LITERALINCLUDE.sub(replace, source)


def _plain_exercises(source):
    """``{exercise}`` directives as plain Markdown, readable in Jupyter."""
    def replace(match):
        label = re.search(r":label:\s*(\S+)", match.group(1))
        return f"**Exercise{f' `{label.group(1)}`' if label else ''}.** {match.group(2).strip()}\n"
    return EXERCISE_BLOCK.sub(replace, source)


# -- notebooks ----------------------------------------------------------------------------------------
def notebook(chapter, edition):
    """The ``"student"`` or ``"solutions"`` notebook of a chapter (a path to its ``.md``).

    See the *For instructors* page.
    """
    chapter = Path(chapter)
    source = _read(chapter)
    exclude = _student_names(source.cells)
    solutions = {name for c in source.cells if "homework-stub" in tags(c)
                 for name in c.metadata["homework"]["solution"].partition(":")[2].split()}
    cells = []
    for cell in source.cells:
        cell_tags = tags(cell)
        if cell_tags & DROPPED:
            continue
        if cell.cell_type == "markdown":
            text = cell.source if edition == "solutions" else SOLUTION_BLOCK.sub("", cell.source)
            cell.source = _plain_exercises(_inline_listings(text, chapter.parent, keep=edition == "solutions"))
        elif "homework-given" in cell_tags:
            cell.source = _given_source(cell.metadata["homework"]["given"], solutions, exclude)
        elif "homework-stub" in cell_tags and edition == "solutions":
            cell.source = _solution_cell(cell.source, cell.metadata["homework"]["solution"], exclude)
        cell.metadata["tags"] = sorted(cell_tags - {"remove-cell", "skip-execution", "remove-input", "hide-input"})
        cells.append(cell)
    source.cells = [c for c in cells if c.source.strip()]
    source.metadata["rnnlab"] = {"chapter": chapter.stem, "edition": edition}
    source.metadata.pop("jupytext", None)
    return source


def build(out, folder=CHAPTERS, editions=("student", "solutions")):
    """Write ``OUT/<edition>/<chapter>.ipynb`` for every chapter with exercises; return the paths.

    See the *For instructors* page.
    """
    written = []
    for chapter in chapters_with_exercises(folder):
        for edition in editions:
            target = Path(out) / edition / f"{chapter.stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook(chapter, edition), target)
            written.append(target)
    return written
