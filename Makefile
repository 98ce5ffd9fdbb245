# Every target sets up what it needs: no `source .venv/bin/activate`, ever.
#   make run            serve the newest step on http://127.0.0.1:8000
#   make run STEP=2     serve step 2
#   make test           the whole suite (with branch coverage over steps/)
#   make test STEP=2    only the tests that run against step 2

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
STEP ?=
PACKAGE = $(or $(shell $(PYTHON) -m shared.catalog package $(STEP) 2>/dev/null),$(error no step $(STEP): the steps are listed in shared/catalog.py))
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup run migrate test lint fmt docs docs-build docs-offline clean lock

help:
	@sed -n 's/^#   //p' Makefile

# The virtual environment, installed from the lock (exact versions, hashes
# checked). Redone only when requirements.lock changes.
$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

setup: $(STAMP)

run: migrate
	$(BIN)/uvicorn steps.$(PACKAGE).main:app --reload --host $(HOST) --port $(PORT)

# Steps with Alembic migrations bring their database to the newest revision;
# the others create their tables themselves.
migrate: $(STAMP)
	@if [ -f steps/$(PACKAGE)/alembic.ini ]; then \
		$(BIN)/alembic -c steps/$(PACKAGE)/alembic.ini upgrade head; \
	fi

# A full run must cover every line and branch of steps/; a run narrowed to one
# step measures that step's folder. Where a PostgreSQL server answers on
# 127.0.0.1:5432 (CI always has one), the suite runs on it too; set
# TEST_DATABASE_URL to choose another server.
test: $(STAMP)
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$($(BIN)/python -m tests.support.postgres)}" \
	$(BIN)/python -m pytest -n 2 --cov=$(if $(STEP),steps/$(PACKAGE),steps) --cov-branch \
		--cov-report=term-missing:skip-covered --cov-fail-under=100 \
		$(if $(STEP),--step $(STEP)) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The docs pages include fragments generated from the steps (their code,
# diffs and real responses): each docs target writes them first, into build/docs/.
#   make docs           serve the docs site with live reload on http://127.0.0.1:8000
#   make docs-build     build the docs site into site/ (strict: broken links fail)
#   make docs-offline   build site/ to be opened from disk, without internet
docs: $(STAMP)
	$(BIN)/python -m shared.docsgen
	$(BIN)/mkdocs serve --strict

docs-build: $(STAMP)
	$(BIN)/python -m shared.docsgen
	$(BIN)/mkdocs build --strict

docs-offline: $(STAMP)
	$(BIN)/python -m shared.docsgen
	DOCS_OFFLINE=true $(BIN)/mkdocs build --strict

# Every persistent step under load, on loopback (about 2 minutes on 2 cores):
# prints the table and saves it, with its JSON and chart, to docs/assets/benchmark/.
#   make bench          the benchmark behind docs/benchmark.md
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m shared.bench $(BENCH_ARGS)

# Re-resolve the newest versions that satisfy pyproject.toml, for every
# platform and Python >= 3.11, into requirements.lock.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade --quiet -o requirements.lock

clean:
	rm -rf $(VENV) site .pytest_cache .ruff_cache .coverage .coverage.* htmlcov build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find .data -type f ! -name .gitkeep -delete
