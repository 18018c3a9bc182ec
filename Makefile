# Two commands for a newcomer (README): `make book` and `make test`.
# Both create ./.venv with this machine's python3 (3.11+) and install everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BOOK_FLAGS := -W -n --keep-going

.PHONY: book test pytest book-clean clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## book: set up and build the HTML book into _build/html (every chapter executed)
book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

## test: set up, build the whole book from clean, then run the test suite
## (the browser tests in tests/test_browser.py read the freshly built site)
test: book-clean pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

book-clean: $(STAMP)
	rm -rf _build
	$(BIN)/jupyter-book build . --all $(BOOK_FLAGS)

clean:
	rm -rf _build $(VENV)
