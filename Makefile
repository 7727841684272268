# The two commands: `make serve` runs Rapport on an embedded PostgreSQL, `make test` tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test check format install seed bench-home bench-sync bench-insights bench-sentiment soak clean schema.graphql

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/rapport serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema.graphql: $(STAMP)
	$(BIN)/rapport print-schema

seed: $(STAMP)
	$(BIN)/rapport seed --contacts 200

bench-home: $(STAMP)
	$(BIN)/python bench/home.py

bench-sync: $(STAMP)
	$(BIN)/python bench/sync.py

bench-insights: $(STAMP)
	$(BIN)/python bench/insights.py

bench-sentiment: $(STAMP)
	$(BIN)/python bench/sentiment.py

# The sync convergence property test, new examples for SECONDS seconds (default 600).
SECONDS ?= 600
soak: $(STAMP)
	RAPPORT_SOAK_SECONDS=$(SECONDS) $(BIN)/python -m pytest -q tests/integration/test_sync_convergence.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
