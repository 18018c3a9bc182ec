# Two commands for a newcomer (README): `make book` and `make test`.
# Both create ./.venv with this machine's python3 (3.11+) and install everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOOK_FLAGS := -W -n --keep-going

.PHONY: book test pytest book-clean student-book homework clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## book: set up and build the HTML book into _build/html (chapters executed; cached until they or rnnlab change)
book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

## test: set up, build both editions of the book from clean, then run the test suite
## (tests/test_browser.py and tests/test_homework.py read the freshly built sites)
test: book-clean student-book pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

book-clean: $(STAMP)
	rm -rf _build
	$(BIN)/jupyter-book build . --all $(BOOK_FLAGS)

## student-book: the student edition (solutions and package listings removed) in _build/student/_build/html
student-book: $(STAMP)
	RNNLAB_EDITION=student $(BIN)/jupyter-book build . $(BOOK_FLAGS) --path-output _build/student

## homework: student and solutions notebooks for every chapter with exercises, in _build/homework
homework: $(STAMP)
	$(BIN)/python -m rnnlab.homework build _build/homework

clean:
	rm -rf _build $(VENV)
