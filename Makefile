# The documented entry points. `make plan` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Lambda layer's pins (`make lock`); the virtualenv holds the same versions.
LAYER_LOCK := requirements/layer.txt

.PHONY: install lock plan diff preview policy test lint format docs build up destroy bench clean

# The layer's pins without their hashes constrain the virtualenv: the functions' tests run
# against the versions the layer ships (the wheels differ, this machine is not Lambda's).
$(STAMP): pyproject.toml $(LAYER_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._-]*==[^ ]*\).*/\1/p' $(LAYER_LOCK) > $(VENV)/layer-constraints.txt
	$(BIN)/pip install --quiet -e '.[functions,dev]' --constraint $(VENV)/layer-constraints.txt
	touch $(STAMP)

install: $(STAMP) ## create the virtualenv with every dependency, the layer's at its pinned versions

# No $(STAMP) here: after a change to the `functions` extra the old pins may not install.
lock: ## pin the layer (the `functions` extra, for the functions' runtime and architecture) in requirements/layer.txt
	$(BIN)/python -m ops.build lock

plan: $(STAMP) ## the offline plan of every stack, in deploy order (no cloud account needed)
	$(BIN)/python -m ops plan

test: $(STAMP) ## every suite: infra, unit, integration (starts its own PostgreSQL), policy
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff, ruff format, mypy, the import contracts (lint-imports), actionlint on every workflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy components ops functions policy
	$(BIN)/lint-imports --no-cache
	$(BIN)/actionlint

policy: $(STAMP) ## the policy pack's rules over every simulated stack, and over resources made bad
	$(BIN)/python -m pytest tests/policy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP) ## regenerate the README's config reference from the declaration of the keys
	$(BIN)/python -m components.settings.docs

diff: $(STAMP) ## what `ops up` would change, pass by pass, against what is deployed (offline)
	$(BIN)/python -m ops diff

preview: $(STAMP) ## `pulumi preview` of every pass in order (needs the Pulumi CLI and AWS credentials)
	$(BIN)/python -m ops preview --diff

build: $(STAMP) ## the Lambda archives under build/lambda, the layer from requirements/layer.txt (ops plan and ops up run it first)
	$(BIN)/python -m ops build

up: $(STAMP) ## preview, confirm and deploy every pass in order (needs the Pulumi CLI and AWS credentials)
	$(BIN)/python -m ops up

destroy: $(STAMP) ## destroy the stacks typed at the prompt, in reverse order
	$(BIN)/python -m ops destroy

bench: $(STAMP)
	$(BIN)/python bench/plan.py

clean: ## build output and caches; never deployment/, which says what is deployed
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
