# The README's two commands are `make run` and `make test`; CI runs `.ci/run`, which calls `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit fuzz bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/dockbolt up

lint: $(STAMP)
	$(BIN)/ruff check bot workers dockbolt tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# The parser and authorizer property tests with 100k generated commands (the default run has 10k).
fuzz: $(STAMP)
	DOCKBOLT_FUZZ_EXAMPLES=100000 $(BIN)/pytest -q tests/unit/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

# The container image for bot, worker and watcher (deploy/Dockerfile): wheelhouse built here, no index
# needed in the build; a debootstrap-made local base when python:3.11-slim cannot be pulled.
.PHONY: image
image: $(STAMP)
	deploy/build-image.sh
