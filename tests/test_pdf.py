"""The book as one PDF (``make pdf``, ``make student-pdf``): complete, resolved, typeset.

Needs the PDFs and the HTML book they are compared with; ``make test`` builds them all
(the PDFs when xelatex and latexmk are installed). In CI (``CI`` set) a missing PDF or
site fails the suite; elsewhere the tests are skipped with a reason.
"""

import os
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from PIL import Image
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
BUILD = {"teacher": ROOT / "_build", "student": ROOT / "_build" / "student" / "_build"}
PDF_NAME = "rnnlab.pdf"   # latex_documents in _config.yml


def need(path, how):
    if not path.exists():
        reason = f"{path.relative_to(ROOT)} is not built: run `{how}`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    return path


def resources(page, kind):
    """The page's resources of one kind (/XObject, /Font): name -> indirect reference."""
    found = page.get("/Resources")
    found = found.get_object().get(kind) if found is not None else None
    return found.get_object() if found is not None else {}


def squeeze(text):
    return re.sub(r"\s+", "", text)


class Book:
    """A PDF's text, and apart the text not set in monospaced fonts (code and outputs).

    ``text`` has no whitespace at all: text extraction guesses spaces from glyph gaps,
    and not always right, so the tests compare squeezed strings.
    """

    def __init__(self, path):
        self.reader = PdfReader(path)
        self.prose, pages = [], []

        def visit(text, cm, tm, font, size):
            if "Mono" not in str((font or {}).get("/BaseFont", "")):
                self.prose.append(text)

        for page in self.reader.pages:
            pages.append(page.extract_text(visitor_text=visit))
        self.text = squeeze("".join(pages))
        self.prose = "".join(self.prose)

    def image_sizes(self):
        """(width, height) in pixels of every distinct image the pages draw."""
        images = {}
        for page in self.reader.pages:
            for ref in resources(page, "/XObject").values():
                image = ref.get_object()
                if image.get("/Subtype") == "/Image":
                    images[ref.idnum] = (int(image["/Width"]), int(image["/Height"]))
        return Counter(images.values())


_books = {}


def book(edition):
    if edition not in _books:
        how = "make pdf" if edition == "teacher" else "make student-pdf"
        _books[edition] = Book(need(BUILD[edition] / "latex" / PDF_NAME, how))
    return _books[edition]


def toc():
    """(source file, numbered) for every page of the book, in order."""
    spec = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [(spec["root"], False)]
    for part in spec["parts"]:
        pages += [(entry["file"], part.get("numbered", False)) for entry in part["chapters"]]
    return [(ROOT / f"{page.removesuffix('.md')}.md", numbered) for page, numbered in pages]


def title(source):
    return next(line[2:].strip() for line in source.read_text().splitlines() if line.startswith("# "))


@pytest.mark.parametrize("edition", ["teacher", "student"])
def test_every_page_is_in_the_pdf(edition):
    text = book(edition).text
    missing = [title(source) for source, _ in toc() if squeeze(title(source)) not in text]
    assert missing == [], f"titles not in the PDF: {missing}"


def test_chapters_are_numbered_as_in_the_html_book():
    # the running footer names the chapter with its number: "Chapter 2. The fully recurrent network"
    text = book("teacher").text
    numbered = [title(source) for source, numbered in toc() if numbered]
    assert numbered, "_toc.yml has no numbered part"
    for number, name in enumerate(numbered, start=1):
        assert squeeze(f"Chapter {number}. {name}") in text, f"chapter {number} is not {name!r}"


@pytest.mark.parametrize("edition", ["teacher", "student"])
def test_references_are_resolved_and_math_is_typeset(edition):
    pdf = book(edition)
    assert "??" not in pdf.text, "unresolved reference: " + pdf.text[max(0, pdf.text.find("??") - 80):][:160]
    # code listings may show TeX (docstrings); outside them, TeX source means math that was not typeset
    raw = re.search(r".{0,60}(\$|\\frac|\\\(|\\begin\{).{0,60}", pdf.prose, re.S)
    assert raw is None, f"TeX source in the text: {raw and raw.group(0)!r}"
    fonts = {str(f.get_object().get("/BaseFont")) for page in pdf.reader.pages
             for f in resources(page, "/Font").values()}
    assert any("CMMI" in f for f in fonts), f"no math italic font among {sorted(fonts)}"


def imagesize(path):
    with Image.open(path) as image:
        return image.size


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def test_every_figure_of_the_html_book_is_in_the_pdf():
    site = need(BUILD["teacher"] / "html" / "index.html", "make book").parent
    figures = set()
    for source, _ in toc():
        html = site / source.relative_to(ROOT).with_suffix(".html")
        parser = _Images()
        parser.feed(html.read_text())
        figures |= {(html.parent / src).resolve() for src in parser.sources if not src.startswith("data:")}
    assert figures, "the HTML book has no figures"
    expected = Counter(imagesize(path) for path in figures)
    assert book("teacher").image_sizes() == expected


def test_student_edition_has_no_solutions():
    assert "SolutiontoExercise" in book("teacher").text
    student = book("student").text
    assert "Exercise1.1" in student
    assert "Solutionto" not in student
    assert squeeze("The teacher's edition shows the package's code") in student


@pytest.mark.parametrize("edition", ["teacher", "student"])
def test_the_html_book_offers_its_own_edition(edition):
    built = need(BUILD[edition] / "latex" / PDF_NAME, "make pdf" if edition == "teacher" else "make student-pdf")
    site = need(BUILD[edition] / "html" / "index.html", "make book" if edition == "teacher" else "make student-book").parent
    published = site / PDF_NAME
    assert published.exists() and published.read_bytes() == built.read_bytes(), "rebuild the HTML after the PDF"
    assert f'href="../{PDF_NAME}"' in (site / "chapters" / "01_memory_task.html").read_text()
