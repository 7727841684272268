# The two commands: `make serve` runs Rapport on an embedded PostgreSQL, `make test` tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-pgbouncer check format install seed messages bench-home bench-sync bench-insights \
	bench-sentiment bench-notifications soak clean schema.graphql playground e2e

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP) playground
	$(BIN)/rapport serve

test: $(STAMP) playground
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The API tests again, through a PgBouncer in transaction pooling mode that the session starts
# (Debian's pgbouncer: apt-get install pgbouncer; docs/operations.md, "PgBouncer").
PGBOUNCER ?= /usr/sbin/pgbouncer

test-pgbouncer: $(STAMP)
	@test -x $(PGBOUNCER) || { echo "test-pgbouncer needs $(PGBOUNCER): apt-get install pgbouncer"; exit 1; }
	RAPPORT_TEST_PGBOUNCER=1 RAPPORT_TEST_PGBOUNCER_BIN=$(PGBOUNCER) $(BIN)/python -m pytest tests/api $(PYTEST_ARGS)

# The playground's GraphiQL and React, from npm (pinned by playground/package-lock.json) into
# playground/dist. Optional: without npm, or when npm fails, the page loads them from a CDN
# and the server's log says so.
PLAYGROUND := playground/dist/.installed
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

$(PLAYGROUND): playground/package-lock.json api/playground.py | $(STAMP)
	cd playground && npm ci --ignore-scripts --no-audit --no-fund
	$(BIN)/python -m api.playground
	@touch $@

playground: $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the playground will load GraphiQL and React from a CDN"; \
	elif ! $(MAKE) --no-print-directory $(PLAYGROUND); then \
		echo "could not install the playground's files: it will load them from a CDN"; \
	fi

# Real clients against a real server: GraphiQL in headless Chromium (Debian's chromium,
# driven by playwright-core), an Apollo Client suite, and the GraphQL-over-HTTP conformance
# audit (graphql-http); all under Node's test runner.
E2E := tests/e2e/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium

$(E2E): tests/e2e/package-lock.json
	cd tests/e2e && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

e2e: $(STAMP) $(PLAYGROUND) $(E2E)
	@test -x $(CHROMIUM) || { echo "e2e needs Chromium at $(CHROMIUM): apt-get install chromium"; exit 1; }
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m tests.e2e.launcher node --test tests/e2e/*.test.mjs

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The push texts' catalogs (notifications/wording.py; docs/notifications.md, "Languages"): the
# template from the code, then every language's .po brought up to it. New or changed texts
# arrive untranslated (or fuzzy) and read English until translated; tests/unit/test_wording.py
# fails until they are. The .po files are read as they are at start: nothing to compile.
LOCALES_DIR := notifications/message-catalogs

messages: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output --omit-header -c TRANSLATORS: \
		-o $(LOCALES_DIR)/rapport.pot notifications/
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width 100 \
		-i $(LOCALES_DIR)/rapport.pot -d $(LOCALES_DIR) -D rapport

schema.graphql: $(STAMP)
	$(BIN)/rapport print-schema

seed: $(STAMP)
	$(BIN)/rapport seed --contacts 200

# The home screen side by side with PostGraphile 5 and pgbench (bench/home.py). It needs the
# bench extra (matplotlib, for the plot) and PostGraphile from bench/package-lock.json; neither
# is part of `make install`. ARGS passes options, e.g. ARGS='--json bench/out/home.json'.
BENCH_NODE := bench/node_modules/.installed

$(BENCH_NODE): bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	@touch $@

bench-home: $(STAMP) $(BENCH_NODE)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/home.py $(ARGS)

bench-sync: $(STAMP)
	$(BIN)/python bench/device_sync.py

bench-notifications: $(STAMP)
	$(BIN)/python bench/push_pipeline.py

bench-insights: $(STAMP)
	$(BIN)/python bench/insight_reads.py

bench-sentiment: $(STAMP)
	$(BIN)/python bench/sentiment.py

# The sync convergence property test, new examples for SECONDS seconds (default 600).
SECONDS ?= 600
soak: $(STAMP)
	RAPPORT_SOAK_SECONDS=$(SECONDS) $(BIN)/python -m pytest -q tests/integration/test_sync_convergence.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache playground/node_modules playground/dist \
		tests/e2e/node_modules tests/e2e/artifacts bench/node_modules
