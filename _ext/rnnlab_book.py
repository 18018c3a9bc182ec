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
- jupyter-cache keys a chapter on its code cells only, so a change inside the
  ``rnnlab`` package (or a committed result file) would leave stale outputs. The book
  fingerprints ``rnnlab/**/*.py`` and ``results/*.json``; when the fingerprint changes,
  the execution cache is dropped and every page is read (and executed) again.
"""

import hashlib
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


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("config-inited", _drop_stale_cache)
    app.connect("env-get-outdated", _reread_everything)
    app.connect("build-finished", _remember_fingerprint)
    app.connect("html-page-context", _quiet_scripts)
    app.connect("html-page-context", _offer_executed_notebook, priority=500)  # before the theme (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
