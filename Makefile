# `make book` executes every chapter and builds the HTML; `make test` is what CI runs.
# Each target creates the virtual environment $(VENV) first when it is missing.

PYTHON ?= python3
VENV ?= .venv
# A pinned torch comes first: the CPU build where pip has it, and never an unexpected CUDA
# download pulled in by an unpinned requirement. Override with `make TORCH_VERSION=...`.
TORCH_VERSION ?= 2.13.0
PROFILE ?= default

BIN := $(VENV)/bin
INSTALLED := $(VENV)/.glorot-installed
NBVAL := GLOROT_PROFILE=smoke $(BIN)/pytest --nbval-lax --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg book/

.PHONY: book test lint bench clean setup

book: $(INSTALLED)
	$(BIN)/glorot book --profile $(PROFILE)

# Lint, the unit tests, then every chapter re-executed at smoke scale with its checked cells
# compared (nbval); the last step is skipped while no chapter notebook exists.
test: $(INSTALLED)
	$(BIN)/ruff check glorot tests
	$(BIN)/pytest
	if ls book/*.ipynb >/dev/null 2>&1; then $(NBVAL); fi

lint: $(INSTALLED)
	$(BIN)/ruff check glorot tests
	$(BIN)/ruff format --check glorot tests

bench: $(INSTALLED)
	$(BIN)/glorot bench

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
