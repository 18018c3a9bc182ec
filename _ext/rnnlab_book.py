"""Small Sphinx extension of the rnnlab book: an offline, quiet page, and notebooks to take home.

- sphinx-thebe declares ``THEBE_JS_URL`` in an inline script and Jupyter Book adds
  its scripts twice, which is a JavaScript error on every page; the book has no live
  code (and thebe would load from a CDN), so its scripts are dropped and exact
  duplicates removed.
- The kernels that execute the chapters use matplotlib's inline backend whatever
  ``MPLBACKEND`` the shell sets (with ``Agg`` every figure would be lost).
- pydata-sphinx-theme logs "Got invalid theme mode" when no default mode is set;
  the book follows the reader's system setting ("auto").
- sphinx-book-theme offers the executed ``.ipynb`` of a MyST chapter for download only
  when a launch service (Binder, JupyterHub, ...) is configured, because only its
  launch-button code copies the notebook. The book has no such service, so it copies
  the executed notebook itself, before the theme builds its download menu.
- jupyter-cache keys a chapter on its code cells only, so a change inside the
  ``rnnlab`` package (or a committed result file) would leave stale outputs. The book
  fingerprints ``rnnlab/**/*.py`` and ``results/*.json``; when the fingerprint changes,
  the execution cache is dropped and every page is read (and executed) again.
- Chapters with exercises link their student notebook (from ``rnnlab.homework``,
  published under ``_homework/student/``) in the download menu.
- The API page is generated from the package: one ``automodule`` section per module,
  found by walking ``rnnlab``, so a new module cannot be left out.
- ``RNNLAB_EDITION=student`` builds the student edition: solutions, listings of the
  package's source (except the assignment's given code, ``:class: homework-given``) and
  cells tagged ``homework-remove`` are removed from the pages,
  not merely folded (sphinx-exercise's own ``hide_solutions`` fails on gated solutions,
  sphinx-exercise issue 89, and would leave the listings in the main text).
"""

import hashlib
import os
import shutil
from pathlib import Path

from docutils import nodes


def _script_key(js):
    attributes = getattr(js, "attributes", {}) or {}
    return str(js), attributes.get("body", "")


def _quiet_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, kept = set(), []
    for js in scripts:
        name, body = _script_key(js)
        if "THEBE_JS_URL" in body or name.endswith("sphinx-thebe.js"):
            continue
        if (name, body) not in seen:
            seen.add((name, body))
            kept.append(js)
    scripts[:] = kept


def _inline_figures(app, config):
    # The kernels that execute the chapters inherit this process's environment; a shell with
    # MPLBACKEND=Agg (common on servers and in CI) would make every figure silently vanish.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"


def _default_mode(app, config):
    # pydata-sphinx-theme reads the mode from the template context, not from the theme options.
    config.html_context.setdefault("default_mode", "auto")
    if os.environ.get("RNNLAB_EDITION") == "student":
        # the sources and notebooks hold the solutions: the student edition offers neither
        config.html_copy_source = False
        config.html_theme_options["use_download_button"] = False


def _offer_executed_notebook(app, pagename, templatename, context, doctree):
    if os.environ.get("RNNLAB_EDITION") == "student":
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists() or not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"   # read by the theme's download menu


def _fingerprint(srcdir):
    digest = hashlib.sha256()
    files = sorted(Path(srcdir, "rnnlab").rglob("*.py")) + sorted(Path(srcdir, "results").glob("*.json"))
    for path in files:
        digest.update(path.relative_to(srcdir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _stamp(app):
    return Path(app.outdir).parent / ".rnnlab-fingerprint"


def _drop_stale_cache(app, config):
    app.rnnlab_fingerprint = _fingerprint(app.srcdir)
    stamp = _stamp(app)
    app.rnnlab_changed = not stamp.exists() or stamp.read_text() != app.rnnlab_fingerprint
    if app.rnnlab_changed:
        shutil.rmtree(Path(app.outdir).parent / ".jupyter_cache", ignore_errors=True)


def _reread_everything(app, env, added, changed, removed):
    return sorted(env.found_docs) if app.rnnlab_changed else []


def _remember_fingerprint(app, exception):
    # Only a build without any warning may vouch for the cache (with --keep-going the
    # status code is set after this event, so count the warnings directly).
    if exception is None and app._warncount == 0:
        _stamp(app).write_text(app.rnnlab_fingerprint)


def _student_edition(app, doctree):
    if os.environ.get("RNNLAB_EDITION") != "student":
        return
    doomed = [n for n in doctree.findall(nodes.Element)
              if type(n).__name__ in ("solution_node", "solution_start_node", "solution_end_node")
              or "tag_homework-remove" in n.get("classes", [])]
    for node in doomed:
        node.parent.remove(node)
    for block in list(doctree.findall(nodes.literal_block)):
        # a listing of the assignment's given code (``:class: homework-given``) is part of an exercise
        if "/rnnlab/" in str(block.get("source", "")) and "homework-given" not in block.get("classes", []):
            note = nodes.paragraph(text="(The teacher's edition shows the package's code for this exercise here.)")
            block.replace_self(note)


def _publish_student_notebooks(app, exception):
    """Put the student notebooks (never the solutions) on the site, under _homework/student/."""
    if exception is None and os.environ.get("RNNLAB_EDITION") != "student" and app.builder.format == "html":
        from rnnlab.homework import build

        build(Path(app.outdir) / "_homework", folder=Path(app.srcdir) / "chapters", editions=("student",))


def _link_student_notebook(app, pagename, templatename, context, doctree):
    if os.environ.get("RNNLAB_EDITION") == "student" or not pagename.startswith("chapters/"):
        return
    if not hasattr(app, "rnnlab_homework_chapters"):   # read the chapters once, not once per page
        from rnnlab.homework import chapters_with_exercises

        app.rnnlab_homework_chapters = {p.stem for p in chapters_with_exercises(Path(app.srcdir) / "chapters")}
    if pagename.split("/")[-1] not in app.rnnlab_homework_chapters:
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append({
                "type": "link", "text": "student notebook", "icon": "fas fa-pencil",
                "tooltip": "Homework notebook: exercises with starter code and checks, no solutions",
                "url": context["pathto"](f"_homework/student/{pagename.split('/')[-1]}.ipynb", 1),
                "label": "download-student-notebook-button",
            })


API_MARKER = "<!-- rnnlab-api: the book's extension inserts one section per module here -->"


def _api_sections(package="rnnlab"):
    """One section per module of the package, each an ``automodule`` of its exported names."""
    import importlib
    import pkgutil

    root = importlib.import_module(package)
    order = [f"{package}.data", f"{package}.losses", f"{package}.models", f"{package}.training", f"{package}.homework"]
    found = [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")
             if not m.name.split(".")[-1].startswith("_")]
    names = [package] + sorted(found, key=lambda n: (next(i for i, p in enumerate(order) if n.startswith(p)), n))
    sections = []
    for name in names:
        module = importlib.import_module(name)
        if not getattr(module, "__all__", None) and name != package:
            continue                                  # a subpackage that only groups modules
        members = "" if name == package else "\n   :members:"      # the package only re-exports
        sections.append(f"## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}{members}\n```\n")
    return "\n".join(sections)


def _generate_api(app, docname, source):
    if docname == "api" and API_MARKER in source[0]:
        source[0] = source[0].replace(API_MARKER, _api_sections())


def setup(app):
    app.connect("config-inited", _inline_figures)
    app.connect("config-inited", _default_mode)
    app.connect("config-inited", _drop_stale_cache)
    app.connect("env-get-outdated", _reread_everything)
    app.connect("build-finished", _remember_fingerprint)
    app.connect("doctree-read", _student_edition)
    app.connect("source-read", _generate_api)
    app.connect("html-page-context", _quiet_scripts)
    app.connect("html-page-context", _offer_executed_notebook, priority=500)  # before the theme (501)
    app.connect("html-page-context", _link_student_notebook, priority=502)    # after the theme's menu
    app.connect("build-finished", _publish_student_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
