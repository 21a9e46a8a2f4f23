# The two commands that matter: `make run` (the product, with a sandboxed Meta) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# What is installed is what was measured: every version comes from requirements/dev.lock
# (`make lock` refreshes it from pyproject.toml), then the project itself without resolving.
LOCK := requirements/dev.lock

.PHONY: run test lint format bench bench-ack install lock services services-down clean

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

## lock: re-resolve pyproject.toml's dependencies + the dev extra into requirements/dev.lock
## (uv in a throwaway venv; every platform and Python >= 3.11). Commit the result, then `make install`.
LOCK_VENV := .data/lock-venv
# `make lock LOCK_FLAGS=` keeps the pinned versions and only adds what pyproject.toml gained.
LOCK_FLAGS ?= --upgrade
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet "uv>=0.5"
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		$(LOCK_FLAGS) --custom-compile-command "make lock" --quiet -o $(LOCK)
	rm -rf $(LOCK_VENV)

## run: private PostgreSQL + Redis, migrate, seed the demo org, start web + worker + beat + sandbox
run: install
	$(PY) deploy/run.py

## test: lint, then the whole suite against a throwaway test database
test: install services lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=saas_platform.settings.lint $(PY) manage.py lintmigrations --quiet ok ignore
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

services: install
	$(PY) deploy/devstack.py up

services-down:
	$(PY) deploy/devstack.py down

bench: install services
	$(PY) benchmarks/schema_creation.py

## bench-ack: webhook acknowledgement, the product vs a minimal durable-ingest app (needs wrk)
bench-ack: install services
	$(PY) benchmarks/webhook_ack.py

clean: services-down
	rm -rf .data
