# Every target sets up what it needs: no `source .venv/bin/activate`, ever.
#   make help           this list
#   make run            serve the newest step on http://127.0.0.1:8000
#   make run STEP=2     serve step 2
#   make run STEP=8 WORKERS=2   serve step 8 with two worker processes (no reload)
#   make test           the whole suite (with branch coverage over steps/)
#   make test STEP=2    only the tests that run against step 2 (COVERAGE=1: and its coverage)
#   make setup          the virtual environment in .venv, from requirements.lock
#   make migrate STEP=5  bring a step's database to its newest migration
#   make admin STEP=6 USERNAME=ada EMAIL=ada@example.com   the first admin (asks the password)
#   make lint           ruff: lint and formatting (make fmt fixes what it can)
#   make fmt            format and fix with ruff
#   make lock           re-resolve requirements.lock (and its runtime part) to the newest versions
#   make clean          remove the venv, caches, builds and the steps' databases

PYTHON ?= python3
# The suite starts many Python processes (pytest's workers, uvicorn servers,
# alembic); each one recompiles every module that has no bytecode cache, and
# pytest's assertion rewriting of the test modules and of the Hypothesis and
# schemathesis plugins costs about 4 s of CPU per process. Many Docker images
# and dev containers set PYTHONDONTWRITEBYTECODE=1, which keeps that cache from
# ever being written: the commands run here turn it back on.
export PYTHONDONTWRITEBYTECODE :=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
STEP ?=
# Looked up on first use, then kept: a plain recursive variable would start
# Python again each time a recipe names it (three times in some).
PACKAGE = $(eval PACKAGE := $(or $(shell $(PYTHON) -m shared.catalog package $(STEP) 2>/dev/null),$(error no step $(STEP): the steps are listed in shared/catalog.py)))$(PACKAGE)
HOST ?= 127.0.0.1
# The app and the docs site on different ports, so both can run at once;
# PORT= moves either (make run PORT=8080, make docs PORT=8081).
PORT ?= 8000
DOCS_PORT ?= 8001

.PHONY: help setup run migrate admin test lint fmt docs docs-build docs-offline clean lock

help:
	@sed -n 's/^#   //p' Makefile

# The virtual environment, installed from the lock (exact versions, hashes
# checked). Redone only when requirements.lock changes.
#
# The lock lists every package the project needs, dependencies of dependencies
# included, so pip installs it with --no-deps and resolves nothing itself. Without
# it, the pip that Python 3.11/3.12 put in a new venv (older than 24) treats an
# extra such as pytest-cov's `coverage[toml]` as a new requirement, picks the
# newest release on the registry, and hash mode refuses it: the install broke
# the day after a lock was made. `pip check` then proves the set is complete.
$(STAMP): requirements.lock
	@$(PYTHON) shared/python_version.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/python -m pip check
	@touch $@

setup: $(STAMP)

# PRACTICE=1 serves your practice copy (practice/<step>/, see make practice),
# on a database of its own (.data/practice_<step>.db, as the copy's own default).
FOLDER = $(if $(PRACTICE),practice,steps)/$(PACKAGE)
PRACTICE_DATABASE = sqlite:///$(CURDIR)/.data/practice_$(PACKAGE).db
run: migrate
	$(if $(PRACTICE),DATABASE_URL="$${DATABASE_URL:-$(PRACTICE_DATABASE)}") \
	$(BIN)/uvicorn $(subst /,.,$(FOLDER)).main:app $(if $(WORKERS),--workers $(WORKERS) --timeout-graceful-shutdown 20,--reload) --host $(HOST) --port $(PORT)

# From step 6 on, the first admin: a new user with role admin, or an existing one
# promoted. It asks for the password twice (a script sets ADMIN_PASSWORD instead).
admin: migrate
	$(BIN)/python -m $(subst /,.,$(FOLDER)).create_admin \
		$(or $(USERNAME),$(error say who: make admin STEP=6 USERNAME=ada EMAIL=ada@example.com)) \
		$(if $(EMAIL),--email $(EMAIL))

# Steps with Alembic migrations bring their database to the newest revision;
# the others create their tables themselves.
migrate: $(STAMP)
	@if [ -f $(FOLDER)/alembic.ini ]; then \
		$(if $(PRACTICE),DATABASE_URL="$${DATABASE_URL:-$(PRACTICE_DATABASE)}") \
		$(BIN)/alembic -c $(FOLDER)/alembic.ini upgrade head; \
	fi

# Practice mode: build step N yourself from step N-1's code, and let the suite judge it.
#   make practice STEP=3          your copy of step 3 to work on, in practice/
#   make practice STEP=3 RESET=1  start over (your copy is kept, renamed)
#   make run STEP=3 PRACTICE=1    serve your copy
#   make check STEP=3             the rules of step 3's lesson, on your copy (seconds)
#   make check STEP=3 FULL=1      also tier full: real servers, races, fuzzing, hardening
#   make check STEP=3 WATCH=1     judge again on every save
#   make check STEP=3 VERBOSE=1   each failed rule with its whole traceback
#   make check STEP=3 APP=pkg.main:app APP_DIR=path   judge any app (JUNIT=report.xml)
#   make check STEP=3 EXERCISE=name                   the checker of a step's exercise
#   make grade STEP=4 APPS=folder                     judge every app in folder's subfolders
.PHONY: practice check grade
practice: $(STAMP)
	@$(BIN)/python -m shared.practice start $(or $(STEP),$(error say which step: make practice STEP=3)) $(if $(RESET),--reset)

# The judge exits 0 when every rule passes, 1 when some rule fails, 2 when the
# app did not start or the command was wrong; make turns both failures into
# its own exit code 2, so the last line says which it was.
check: $(STAMP)
	@$(BIN)/python -m shared.practice check $(or $(STEP),$(error say which step: make check STEP=3)) \
		$(if $(APP),--app $(APP)) $(if $(APP_DIR),--app-dir $(APP_DIR)) \
		$(if $(EXERCISE),--exercise $(EXERCISE)) $(if $(JUNIT),--junit $(JUNIT)) \
		$(if $(FULL),--tier full) $(if $(WATCH),--watch) $(if $(VERBOSE),--verbose); \
	status=$$?; \
	case $$status in \
		0) ;; \
		1) echo "make check: some rules fail (the judge's exit code 1)";; \
		*) echo "make check: nothing was judged (the judge's exit code $$status)";; \
	esac; \
	exit $$status

grade: $(STAMP)
	@$(BIN)/python -m shared.grade $(or $(STEP),$(error say which step: make grade STEP=4 APPS=folder)) \
		--apps $(or $(APPS),$(error say which folder: make grade STEP=4 APPS=folder)) \
		$(if $(APP),--app $(APP)) $(if $(FULL),--full)

# The whole suite must cover every line and branch of steps/ (100 %). A run
# narrowed to one step (its contract tests, migrations and docs page, not the
# whole docs site or the benchmark) is the quick check of that step, without
# coverage: the tracer took 7.7 of the 38.9 s of step 8's narrowed run. COVERAGE=1
# measures the step's folder too, 100 % required (make test STEP=8 COVERAGE=1).
# Where a PostgreSQL server answers on 127.0.0.1:5432 (CI always has one), the
# suite runs on it too; set TEST_DATABASE_URL to choose another server, or to
# nothing (TEST_DATABASE_URL= make test) to run without PostgreSQL.
#
# Coverage follows SQLAlchemy's greenlets (pyproject.toml) only in a run that
# measures a step with async code: for the others it is CPU spent for nothing.
COVERAGE ?= $(if $(STEP),,1)
COVERAGE_GREENLETS = $(if $(STEP),$(if $(shell $(PYTHON) -m shared.catalog offers $(STEP) async 2>/dev/null),greenlet,thread),greenlet)
PYTEST_WITH_COVERAGE = COVERAGE_GREENLETS=$(COVERAGE_GREENLETS) \
	$(BIN)/python -m pytest --cov=$(if $(STEP),steps/$(PACKAGE),steps) --cov-branch \
	--cov-report=term-missing:skip-covered --cov-fail-under=100
test: $(STAMP)
	TEST_DATABASE_URL="$${TEST_DATABASE_URL-$$($(BIN)/python -m tests.support.postgres)}" \
	$(if $(COVERAGE),$(PYTEST_WITH_COVERAGE),$(BIN)/python -m pytest) -n auto \
		$(if $(STEP),--step $(STEP)) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The docs pages include fragments generated from the steps (their code,
# diffs and real responses): each docs target writes them first, into build/docs/.
#   make docs           serve the docs site with live reload on http://127.0.0.1:8001
#   make docs-build     build the docs site into site/ (strict: broken links fail)
#   make docs-offline   build site/ to be opened from disk, without internet
docs: $(STAMP)
	$(BIN)/python -m shared.docsgen
	$(BIN)/mkdocs serve --strict --dev-addr $(HOST):$(if $(filter file,$(origin PORT)),$(DOCS_PORT),$(PORT))

docs-build: $(STAMP)
	$(BIN)/python -m shared.docsgen
	$(BIN)/mkdocs build --strict

docs-offline: $(STAMP)
	$(BIN)/python -m shared.docsgen
	DOCS_OFFLINE=true $(BIN)/mkdocs build --strict

# A step as a project of your own, outside this repository: its code, the
# plumbing it uses, its pinned dependencies, its migrations, its contract tests
# (see docs/start-your-own.md). DEST must be a new or empty folder. NAME is the
# app's title (its /docs, README and pyproject.toml); by default, DEST's name.
#   make export STEP=6 DEST=../my-api   step 6 as a standalone project in ../my-api
#   make export STEP=5 DEST=../my-api NAME="My API"   step 5, as the app called My API
.PHONY: export
export: $(STAMP)
	@$(BIN)/python -m shared.export $(or $(STEP),$(error say which step: make export STEP=6 DEST=../my-api)) \
		$(or $(DEST),$(error say where: make export STEP=6 DEST=../my-api)) \
		$(if $(NAME),--name "$(NAME)")

# Every persistent step under load, on loopback, with wrk when it is installed
# (else the Python driver): 1 min 49 s to 2 min 54 s on 2 cores with nothing
# else running (112 to 191 CPU-seconds, wrk; four machines), 3 min 8 s shared
# with other test runs (a load average of 4 to 10). --experiments adds 1.5 to
# 3 minutes (3 min 24 s to 5 min 54 s in all, with wrk, nothing else running;
# three machines).
# Prints the table and saves it, with its JSON and chart, to docs/assets/benchmark/.
#   make bench                              the benchmark behind docs/benchmark.md
#   make bench BENCH_ARGS=--experiments     and every A/B experiment, minutes more
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m shared.bench $(BENCH_ARGS)

# The lists of steps outside the docs site (the nav, the README's table), from
# shared/catalog.py; and a new step made from the newest one, with its page.
#   make lists                                   rewrite them from the catalog
#   make new-step NAME=graphql TITLE="GraphQL"   step N+1 from step N, and what is left to do
.PHONY: lists new-step
lists:
	@$(PYTHON) -m shared.lists

new-step: $(STAMP)
	@$(PYTHON) -m shared.scaffold $(or $(NAME),$(error say its name: make new-step NAME=graphql TITLE="GraphQL")) \
		"$(or $(TITLE),$(error say its title: make new-step NAME=graphql TITLE="GraphQL"))"
	@$(PYTHON) -m shared.lists
	@$(BIN)/ruff format --quiet steps shared/catalog.py

# Re-resolve the newest versions that satisfy pyproject.toml, for every
# platform and Python >= 3.11, into requirements.lock. Then what the app needs
# at run time only (no test or docs tools), at the same versions (-c: the
# first lock's pins as constraints), into requirements-runtime.lock: what
# step 8's container image installs.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --quiet -c requirements.lock -o requirements-runtime.lock

clean:
	rm -rf $(VENV) site .pytest_cache .ruff_cache .coverage .coverage.* htmlcov build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find .data -type f ! -name .gitkeep -delete

# The checked exercises (shared/exercises.py), by step, with what each asks; on
# a practice copy (make practice), which ones it solves: each exercise's checker
# judges the copy as `make check STEP=N EXERCISE=name` does.
#   make exercises                   every step's exercises
#   make exercises STEP=3            step 3's exercises
#   make hint EXERCISE=task_search   one exercise's hint
.PHONY: exercises hint
exercises: $(STAMP)
	@$(BIN)/python -m shared.exercises $(STEP)

hint: $(STAMP)
	@$(BIN)/python -m shared.exercises --hint \
		$(or $(EXERCISE),$(error say which exercise: make hint EXERCISE=task_search))
