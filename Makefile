# Two commands for a newcomer (README): `make book` and `make test`.
# Both create ./.venv with this machine's python3 (3.11+) and install everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOOK_FLAGS := -W -n --keep-going
# LaTeX stops at the first error instead of waiting for input; PDF needs xelatex and latexmk (README)
PDF_BUILD  := LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" $(BIN)/jupyter-book build . --builder pdflatex $(BOOK_FLAGS)
HAVE_TEX   := $(shell command -v xelatex >/dev/null && command -v latexmk >/dev/null && echo yes)

.PHONY: book test pytest book-clean pdf student-pdf student-book homework clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## book: set up and build the HTML book into _build/html (chapters executed; cached until they or rnnlab change)
book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

## pdf: the whole book as one PDF, _build/latex/rnnlab.pdf; the next `make book` puts it on the site
pdf: $(STAMP)
	$(PDF_BUILD)

## student-pdf: the student edition as one PDF, _build/student/_build/latex/rnnlab.pdf
student-pdf: $(STAMP)
	RNNLAB_EDITION=student $(PDF_BUILD) --path-output _build/student

## test: set up, build both editions of the book and their PDFs from clean, then run the test suite
## (tests/test_browser.py, tests/test_homework.py and tests/test_pdf.py read the freshly built books)
test: book-clean student-book pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The PDFs come first so that the HTML builds offer them; each edition's chapters execute once.
book-clean: $(STAMP)
	rm -rf _build
ifeq ($(HAVE_TEX),yes)
	$(MAKE) pdf student-pdf
else
	@echo "xelatex or latexmk not found: no PDF (tests/test_pdf.py skips; in CI it fails)"
endif
	$(BIN)/jupyter-book build . --all $(BOOK_FLAGS)

## student-book: the student edition (solutions and package listings removed) in _build/student/_build/html
student-book: $(STAMP)
	RNNLAB_EDITION=student $(BIN)/jupyter-book build . $(BOOK_FLAGS) --path-output _build/student

## homework: student and solutions notebooks for every chapter with exercises, in _build/homework
homework: $(STAMP)
	$(BIN)/python -m rnnlab.homework build _build/homework

clean:
	rm -rf _build $(VENV)
