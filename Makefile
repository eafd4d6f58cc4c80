# basis-monitor: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

export RAY_USAGE_STATS_ENABLED := 0

.PHONY: setup demo test test-unit fuzz bench lint clean

setup: $(STAMP) $(NODE_STAMP)

# Python: a virtualenv with the project (editable) and its test extra, pinned by constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Node: anvil, solc, OpenZeppelin and the AAVE v3 artifacts for the sandbox chain.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

demo: setup
	$(BIN)/basis demo

# The static checks run first: a finding fails the run before any test starts.
test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/python -m pytest tests/unit --no-cov $(PYTEST_ARGS)

# Property tests with fresh random examples; `make test` replays the same ones every run.
fuzz: setup
	BASIS_HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest --no-cov $(PYTEST_ARGS) \
		tests/unit/test_fuzz_cex_payloads.py tests/unit/test_fuzz_chain_payloads.py \
		tests/unit/test_fuzz_config.py tests/unit/test_backtest_accounting.py

bench: setup
	for b in tests/bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Static checks; each one fails the target (and so `make test` and CI) on a finding.
lint: setup
	$(BIN)/python -m ruff check actors factory tests
	$(BIN)/python -m mypy
	PYTHONPATH=$(CURDIR) $(BIN)/lint-imports
	$(BIN)/python .ci/import_cycles.py

clean:
	rm -rf $(VENV) node_modules var reports .pytest_cache
