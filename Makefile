# The two commands that matter: `make run` (the product, with a sandboxed Meta) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install services services-down clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

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

clean: services-down
	rm -rf .data
