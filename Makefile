# costream: `make run` starts the whole local stack, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv gen lint format migrate run test test-fast bench mutation breaking node-sdk chromium clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,local]'
	rm -f $(VENV)/.installed-*
	touch $@

# Regenerate gen/python from proto/ (committed; tests/unit/test_contracts.py fails when stale).
gen: venv
	$(PY) tools/codegen.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/buf format --write

# Compare the contracts with main (FILE rules).
breaking: venv
	$(BIN)/buf breaking --against '.git#branch=main'

# Apply every service's migrations (embedded PostgreSQL unless DATABASE_URL is set).
migrate: venv
	$(PY) -m tools.devstack migrate

run: venv
	$(PY) -m tools.devstack

# checkov pins packaging<24, which pytest 9 cannot use: it gets a virtualenv of its own.
CHECKOV := .local/checkov/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv .local/checkov
	.local/checkov/bin/pip install --quiet checkov==3.3.30

# LiveKit's official Node server SDK, a second client of the emulator
# (tests/integration/test_livekit_node_sdk.py), at the version tests/node_sdk/ pins.
NODE_SDK := .local/node-sdk
NODE_SDK_STAMP := $(NODE_SDK)/.installed-$(shell cksum tests/node_sdk/package-lock.json | cut -d' ' -f1)

node-sdk: $(NODE_SDK_STAMP)

$(NODE_SDK_STAMP): tests/node_sdk/package.json tests/node_sdk/package-lock.json
	mkdir -p $(NODE_SDK)
	cp tests/node_sdk/package.json tests/node_sdk/package-lock.json $(NODE_SDK)/
	cd $(NODE_SDK) && npm ci --no-audit --no-fund --loglevel=error
	rm -f $(NODE_SDK)/.installed-*
	touch $@

# The console's browser tests need Debian's chromium; without it they would only skip.
CHROMIUM := /usr/bin/chromium

chromium:
	@test -x $(CHROMIUM) || { echo "make test needs $(CHROMIUM) for the console's browser tests (tests/e2e/test_console.py): apt-get install -y chromium" >&2; exit 1; }

test: venv lint $(CHECKOV) node-sdk chromium
	$(PY) -m pytest

test-fast: venv
	$(PY) -m pytest tests/unit

bench: venv
	$(PY) -m bench $(BENCH_ARGS)

# Bugs injected into the domain modules one at a time ([tool.mutmut] in pyproject.toml), each
# run against the unit tests; prints the share killed per file. Not part of `make test`.
mutation: venv
	test -x $(BIN)/mutmut || $(PY) -m pip install --quiet -e '.[mutation]'
	rm -rf mutants
	mkdir -p .local
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2 > .local/mutmut.log 2>&1 \
		|| (tail -c 2000 .local/mutmut.log; exit 1)
	$(PY) tools/mutation_report.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
