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
  the executed notebook itself, before the theme builds its download menu (with the
  outputs from the execution cache: myst-nb 1.4 leaves them out of its copy on a cache hit).
- jupyter-cache keys a chapter on its code cells only, so a change inside the
  ``rnnlab`` package (or a committed result file) would leave stale outputs. The book
  fingerprints ``rnnlab/**/*.py`` and ``results/*.json``; when the fingerprint changes,
  the execution cache is dropped and every page is read (and executed) again.
- Both editions (and the HTML and LaTeX builders) execute the same notebooks, so they
  share one execution cache, ``_build/.jupyter_cache``, stamped with the fingerprint it
  was made with; each build folder keeps its own stamp for its pages. A clean
  ``make test`` executes every chapter once, not once per edition.
- Chapters with exercises link their student notebook (from ``rnnlab.homework``,
  published under ``_homework/student/``) in the download menu.
- The API page is generated from the package: one ``automodule`` section per module,
  found by walking ``rnnlab``, so a new module cannot be left out.
- ``RNNLAB_EDITION=student`` builds the student edition: solutions, listings of the
  package's source (except the assignment's given code, ``:class: homework-given``) and
  cells tagged ``homework-remove`` are removed from the pages,
  not merely folded (sphinx-exercise's own ``hide_solutions`` fails on gated solutions,
  sphinx-exercise issue 89, and would leave the listings in the main text).
- ``make pdf`` builds the book as one PDF beside the HTML (``_build/latex``); the HTML
  build then copies it into the site and offers it in the download menu (the student
  edition, which has no download menu, gets one with only the PDF). Pages are read again
  when the PDF appears or goes, so the link is never stale.
- The PDF (LaTeX builder) is shaped like the web book: the root page opens it as an
  unnumbered chapter, each captioned part of the table of contents becomes a part, and
  chapters are numbered only in numbered parts, so chapter 1 is the memory task in both.
  Sphinx sets the bibliography at the end of the book itself, so the page that holds the
  ``bibliography`` directive (empty in LaTeX) is left out rather than printed twice.
"""

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from sphinx import addnodes
from sphinx.util.texescape import escape


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
    notebook = nbformat.read(executed, as_version=4)
    # myst-nb 1.4 writes jupyter_execute/ without outputs when it takes them from its cache
    # (it saves the notebook it read, not the one it merged): merge them in as it does
    with contextlib.suppress(KeyError):   # not in the cache: executed in this build, or never
        notebook = get_cache(_cache(app)).merge_match_into_notebook(notebook)[1]
    nbformat.write(notebook, target)
    context["ipynb_source"] = f"{pagename}.ipynb"   # read by the theme's download menu


def _fingerprint(srcdir):
    digest = hashlib.sha256()
    files = sorted(Path(srcdir, "rnnlab").rglob("*.py")) + sorted(Path(srcdir, "results").glob("*.json"))
    for path in files:
        digest.update(path.relative_to(srcdir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache(app):
    return Path(app.srcdir) / "_build" / ".jupyter_cache"


def _stamps(app):
    """The stamps of this build's pages and of the shared execution cache."""
    return Path(app.outdir).parent / ".rnnlab-fingerprint", _cache(app) / "rnnlab-fingerprint"


def _drop_stale_cache(app, config):
    app.rnnlab_fingerprint = _fingerprint(app.srcdir)
    app.rnnlab_changed, cache_stale = (not stamp.exists() or stamp.read_text() != app.rnnlab_fingerprint
                                       for stamp in _stamps(app))
    if cache_stale:
        shutil.rmtree(_cache(app), ignore_errors=True)
    config.nb_execution_cache_path = str(_cache(app))


def _reread_everything(app, env, added, changed, removed):
    return sorted(env.found_docs) if app.rnnlab_changed or _pdf_link_changed(app) else []


def _remember_fingerprint(app, exception):
    # Only a build without any warning may vouch for the cache (with --keep-going the
    # status code is set after this event, so count the warnings directly).
    if exception is None and app._warncount == 0:
        for stamp in _stamps(app):
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(app.rnnlab_fingerprint)


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


def _built_pdf(app):
    """The PDF that ``make pdf`` left beside this build's output, and its name on the site."""
    name = Path(app.config.latex_documents[0][1]).with_suffix(".pdf").name
    return Path(app.outdir).parent / "latex" / name, Path(app.outdir) / name


def _pdf_link_changed(app):
    built, published = _built_pdf(app)
    return app.builder.format == "html" and built.exists() != published.exists()


def _publish_pdf(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    built, published = _built_pdf(app)
    if built.exists():
        shutil.copy2(built, published)
    else:
        published.unlink(missing_ok=True)


def _link_pdf(app, pagename, templatename, context, doctree):
    built, published = _built_pdf(app)
    if not built.exists() or "header_buttons" not in context:
        return
    button = {"type": "link", "text": "book (.pdf)", "icon": "fas fa-book",
              "tooltip": "The whole book as one PDF", "label": "download-book-pdf-button",
              "url": context["pathto"](published.name, 1)}
    menus = [b for b in context["header_buttons"] if b.get("label") == "download-buttons"]
    if menus:
        menus[0]["buttons"].append(button)
    else:
        context["header_buttons"].insert(0, {"type": "group", "tooltip": "Download", "icon": "fas fa-download",
                                             "buttons": [button], "label": "download-buttons"})


def _latex_raw(code):
    return nodes.raw("", code, format="latex")


def _shape_pdf(app, doctree, docname):
    """Rearrange the assembled LaTeX document (see the module docstring)."""
    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    root = doctree.next_node(nodes.section)
    parts = [n for n in root.children if "toctree-wrapper" in n.get("classes", [])]
    opening = nodes.section("", nodes.title("", root[0].astext()), ids=root["ids"])
    root["ids"] = []
    opening += [n for n in root.children[1:] if n not in parts]
    toctrees = list(app.env.get_doctree(docname).findall(addnodes.toctree))
    # the LaTeX counter secnumdepth decides what is numbered: saved, then -2 (nothing) or restored
    root[1:] = [_latex_raw(r"\edef\rnnlabsecnumdepth{\arabic{secnumdepth}}\setcounter{secnumdepth}{-2}"), opening]
    for part, toctree in zip(parts, toctrees):
        caption = escape(toctree.get("caption") or "", app.config.latex_engine)
        depth = r"\rnnlabsecnumdepth" if toctree.get("numbered") else "-2"
        root += _latex_raw(rf"\setcounter{{secnumdepth}}{{{depth}}}")
        if caption:   # an unnumbered part, listed in the contents (no "Part I" in the web book either)
            root += _latex_raw(rf"\cleardoublepage\phantomsection\addcontentsline{{toc}}{{part}}{{{caption}}}"
                               rf"\part*{{{caption}}}")
        root += part
    bibliography_pages = {key.docname for key in app.env.get_domain("cite").bibliographies}
    for page in list(doctree.findall(addnodes.start_of_file)):
        if page["docname"] in bibliography_pages:
            page.parent.remove(page)


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
    app.connect("html-page-context", _link_pdf, priority=502)
    app.connect("build-finished", _publish_student_notebooks)
    app.connect("build-finished", _publish_pdf)
    app.connect("doctree-resolved", _shape_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
