# `make run` and `make test` are the two commands a new user needs (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install run test lint types imports pytest clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[worker,dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/fitq run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy api broker client worker models migrations tests scripts bench

# The import contracts in pyproject.toml: api never imports worker; no Keras outside worker.
imports: install
	$(BIN)/lint-imports

# pytest exits 5 when it collects no test: that means the suite went missing, so it fails.
pytest: install
	./scripts/services.sh
	./scripts/browser.sh
	./scripts/compose.sh
	$(BIN)/python -m pytest tests/unit tests/integration tests/e2e tests/bench; \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

test: lint types imports pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
