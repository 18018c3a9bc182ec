"""The built book in a real browser (Debian's Chromium driven by Playwright).

Needs ``_build/html`` (``make book``); ``make test`` builds it first. In CI (``CI`` set)
a missing build or browser fails the suite; elsewhere the tests are skipped with a reason.
Every test runs twice: with the site at the server's root and under a sub-directory, as
on GitHub Pages (``https://<owner>.github.io/<repository>/``); a request that leaves the
site's directory fails the test like one that leaves the machine.
"""

import functools
import http.server
import os
import threading
from pathlib import Path

import nbformat
import pytest
import yaml

from rnnlab.homework import chapters_with_exercises

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
PDF = ROOT / "_build" / "latex" / "rnnlab.pdf"   # `make pdf`; the HTML build publishes it
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return [page.removesuffix(".md") + ".html" for page in pages]


def unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module", params=["", "sub/dir/"], ids=["root", "sub-directory"])
def site(request, tmp_path_factory):
    if not (SITE / "index.html").exists():
        unavailable("the book is not built: run `make book` first")
    served = SITE
    if request.param:
        served = tmp_path_factory.mktemp("served")
        (served / request.param).parent.mkdir(parents=True)
        (served / request.param).symlink_to(SITE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{request.param}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} not found: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, site, path):
    """Open ``site + path`` with every request that leaves the site blocked and recorded."""
    page = browser.new_page()
    problems, outside = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def route(r):
        if r.request.url.startswith(site):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(site + path, wait_until="networkidle")
    return page, problems, outside


@pytest.mark.parametrize("path", toc_pages())
def test_page_is_clean_offline(site, browser, path):
    page, problems, outside = open_page(browser, site, path)
    try:
        has_math = page.evaluate("() => document.querySelectorAll('.math, span.math, div.math').length > 0")
        if has_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            assert page.locator("mjx-container").count() > 0, "math was not typeset"
            assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        broken = page.evaluate(
            "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert broken == [], f"images not loaded: {broken}"
        empty = page.evaluate("() => [...document.querySelectorAll('figure')]"
                              ".filter(f => !f.querySelector('img')).map(f => f.id || f.textContent.slice(0, 60))")
        assert empty == [], f"figures without an image: {empty}"
        raw = page.evaluate(r"""() => {
            const text = [...document.querySelectorAll('article p, article li')]
                .filter(e => !e.closest('pre, code, .highlight')).map(e => e.textContent);
            return text.filter(t => /\|\s*-{3,}\s*\|/.test(t) || /^\s*\|.*\|\s*$/m.test(t)).map(t => t.slice(0, 80));
        }""")
        assert raw == [], f"raw Markdown table text instead of a table: {raw}"
        wide = page.evaluate("""() => [...document.querySelectorAll('div.cell_output pre, div.cell_output table')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right >
                         e.closest('article').getBoundingClientRect().right + 1)
            .map(e => e.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b).slice(0, 100))""")
        assert wide == [], f"outputs wider than their column (longest line shown): {wide}"
        origin = site[:site.index("/", len("http://"))]
        escaping = [href for href in page.evaluate("() => [...document.links].map(a => a.href)")
                    if href.startswith(origin) and not href.startswith(site)]
        assert escaping == [], f"links that leave the site's directory: {escaping}"
        solutions = page.locator("div.solution.dropdown")
        if solutions.count():
            content = solutions.first.locator("section").first
            assert not content.is_visible(), "solutions must start folded"
            solutions.first.locator(".admonition-title").first.click()
            content.wait_for(state="visible")
        assert outside == [], f"requests left the site: {outside}"
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("path", [p for p in toc_pages() if p.startswith("chapters/")])
def test_chapter_offers_its_executed_notebook(site, browser, path):
    page, problems, outside = open_page(browser, site, path)
    try:
        link = page.locator("a[href$='.ipynb']").first
        assert link.count() == 1, "no .ipynb in the download menu"
        response = page.request.get(link.evaluate("a => a.href"))
        assert response.ok
        notebook = nbformat.reads(response.text(), as_version=4)
        nbformat.validate(notebook)
        outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
        assert outputs, "the downloaded notebook was not executed"
        student = page.locator("a[href*='_homework/student/']")
        if path.split("/")[-1].removesuffix(".html") in {p.stem for p in chapters_with_exercises()}:
            assert student.count() == 1, "a chapter with exercises must link its student notebook"
        if student.count():
            homework = nbformat.reads(page.request.get(student.first.evaluate("a => a.href")).text(), as_version=4)
            tags = [t for cell in homework.cells for t in cell.metadata.get("tags", [])]
            assert "homework-stub" in tags and "homework-check" in tags
    finally:
        page.close()


def test_search_finds_lstm(site, browser):
    page, problems, outside = open_page(browser, site, "search.html?q=LSTM")
    try:
        page.wait_for_selector("#search-results li", timeout=20_000)
        assert page.locator("#search-results li").count() >= 1
        assert outside == [] and problems == [], problems + outside
    finally:
        page.close()


@pytest.mark.parametrize("path", ["intro.html", "chapters/02_frn_bptt.html"])
def test_page_offers_the_pdf_once_built(site, browser, path):
    page, problems, outside = open_page(browser, site, path)
    try:
        link = page.locator("a[href$='rnnlab.pdf']")
        if not PDF.exists():
            assert link.count() == 0, "a link to a PDF that was not built"
            unavailable("the PDF is not built: run `make pdf`, then `make book`")
        assert link.count() == 1, "no link to the book's PDF in the download menu"
        response = page.request.get(link.evaluate("a => a.href"))
        assert response.ok and response.body() == PDF.read_bytes()
    finally:
        page.close()
