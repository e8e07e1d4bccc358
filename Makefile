# `make book` executes every chapter and builds the HTML; `make test` is what CI runs.
# Each target creates the virtual environment $(VENV) first when it is missing.

PYTHON ?= python3
VENV ?= .venv
# A pinned torch comes first: the CPU build where pip has it, and never an unexpected CUDA
# download pulled in by an unpinned requirement. Override with `make TORCH_VERSION=...`.
TORCH_VERSION ?= 2.13.0
PROFILE ?= long

BIN := $(VENV)/bin
INSTALLED := $(VENV)/.glorot-installed
NBVAL := GLOROT_PROFILE=smoke $(BIN)/pytest --nbval-lax --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg book/

.PHONY: book test lint bench clean setup chromium

book: $(INSTALLED)
	$(BIN)/glorot book --profile $(PROFILE)

# Lint, the smoke book (executed and built, for the browser test), the unit tests, then every
# chapter re-executed at smoke scale with its checked cells compared (nbval); the last step is
# skipped while no chapter notebook exists. GLOROT_QUIET silences progress bars in CI logs.
test: $(INSTALLED) chromium
	$(BIN)/ruff check glorot tests
	GLOROT_QUIET=1 $(BIN)/glorot book --profile smoke
	$(BIN)/pytest
	if ls book/*.ipynb >/dev/null 2>&1; then $(NBVAL); fi

# The browser test's Chromium, from Debian where apt-get may install it; elsewhere the test is
# skipped and says so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "no chromium and no apt-get as root: the browser test will be skipped"; fi; }

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
