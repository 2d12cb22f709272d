# taskforge — `make help` lists the targets. Every target does its own set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: help demo test check lint layers typecheck bench docker base-image clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

docker:  ## make a Docker engine answer (installs docker.io on Debian as root)
	@bash .ci/docker-engine.sh

base-image: $(STAMP) docker  ## pull or bootstrap the Python base image
	@$(BIN)/python -m dockerfiles.base

demo: $(STAMP) docker base-image  ## mine, build, verify and write the sample repository to data/demo
	$(BIN)/taskforge demo --out data/demo

test: $(STAMP) docker base-image  ## the whole suite, Docker tests included
	$(BIN)/python -m pytest -ra

lint: $(STAMP) layers  ## ruff, and the layering contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

layers: $(STAMP)  ## import-linter: the core imports no stage, stages only the core (pyproject.toml)
	$(BIN)/lint-imports

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

check: lint typecheck test  ## lint, types and tests

REPO ?=
REPO_NAME ?=
PRS ?= 50
bench: $(STAMP) docker base-image  ## benchmarks (REPO=/path/to/clone REPO_NAME=owner/name PRS=50): figures, never fail on timing
	$(BIN)/python -m pytest tests/benchmarks -s -p no:cacheprovider -p no:unraisableexception -o addopts="" -m "" \
		--bench-repo="$(REPO)" --bench-repo-name="$(REPO_NAME)" --bench-prs=$(PRS)
	@$(BIN)/python -m tests.benchmarks.report

clean:  ## remove the virtualenv and generated data (keeps images)
	rm -rf $(VENV) data/demo data/cache
