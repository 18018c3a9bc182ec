"""Small Sphinx extension of the rnnlab book: an offline, quiet page, and notebooks to take home.

- sphinx-thebe declares ``THEBE_JS_URL`` in an inline script and Jupyter Book adds
  its scripts twice, which is a JavaScript error on every page; the book has no live
  code (and thebe would load from a CDN), so its scripts are dropped and exact
  duplicates removed.
- pydata-sphinx-theme logs "Got invalid theme mode" when no default mode is set;
  the book follows the reader's system setting ("auto").
- sphinx-book-theme offers the executed ``.ipynb`` of a MyST chapter for download only
  when a launch service (Binder, JupyterHub, ...) is configured, because only its
  launch-button code copies the notebook. The book has no such service, so it copies
  the executed notebook itself, before the theme builds its download menu.
"""

import shutil
from pathlib import Path


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


def _default_mode(app, config):
    # pydata-sphinx-theme reads the mode from the template context, not from the theme options.
    config.html_context.setdefault("default_mode", "auto")


def _offer_executed_notebook(app, pagename, templatename, context, doctree):
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists() or not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"   # read by the theme's download menu


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("html-page-context", _quiet_scripts)
    app.connect("html-page-context", _offer_executed_notebook, priority=500)  # before the theme (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
