# The documented entry points. `make plan` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install plan test lint format build up destroy bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[functions,dev]'
	touch $(STAMP)

install: $(STAMP) ## create the virtualenv with every dependency

plan: $(STAMP) ## the offline plan of every stack, in deploy order (no cloud account needed)
	$(BIN)/python -m ops plan

test: $(STAMP) ## every suite: infra, unit, integration (starts its own PostgreSQL), policy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy components ops functions

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

build: $(STAMP) ## the Lambda archives under build/lambda (ops plan and ops up run it first)
	$(BIN)/python -m ops build

up: $(STAMP) ## deploy every stack in order (needs the Pulumi CLI and AWS credentials)
	$(BIN)/python -m ops up

destroy: $(STAMP) ## destroy every stack in reverse order
	$(BIN)/python -m ops destroy

bench: $(STAMP)
	$(BIN)/python bench/plan.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
