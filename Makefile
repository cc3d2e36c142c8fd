# hub: `make run` to try it, `make test` to test it. Both work from a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test install lint format services bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m hub migrate
	$(PY) -m hub demo
	$(PY) -m hub serve

test:
	bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check hub analytics dashboards tests bench
	$(VENV)/bin/ruff format --check hub analytics dashboards tests bench
	$(VENV)/bin/mypy hub analytics dashboards

format: install
	$(VENV)/bin/ruff format hub analytics dashboards tests bench
	$(VENV)/bin/ruff check --fix hub analytics dashboards tests bench

services:
	bash scripts/services.sh

clean:
	rm -rf var .pytest_cache .coverage htmlcov
