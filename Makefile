# The two commands a user needs: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("jobfarm needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/jobfarm up

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/convert.py
	$(BIN)/python bench/thumbnails.py --size 256
	$(BIN)/python bench/small_thumbnails.py --jobs 500
	$(BIN)/python bench/blob_stores.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
