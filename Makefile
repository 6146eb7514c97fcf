# The two commands: `make run` builds a release from seeds/; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export UNPARL_SEEDS_DIR ?= $(CURDIR)/seeds
export UNPARL_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test ui eval bench bench-large clean-instance

# Reinstall only when pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# An instance's own dagster.yaml (e.g. Postgres in production) is never overwritten.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	test -f $@ || cp .dagster.yaml $@

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/unparl build --seeds $(UNPARL_SEEDS_DIR) --data $(UNPARL_DATA_DIR)

# The three tiers: the unit tier (seconds) first, then the integration tier (Dagster builds, the
# UI), then the production tier (a throwaway Postgres and Redis, dagster-daemon, Celery workers).
test: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pytest -q -m "not slow and not production" -n 2
	$(BIN)/python -m pytest -q -m "slow and not production"
	$(BIN)/python -m pytest -q -m production

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host 127.0.0.1 --port 3000

eval: $(STAMP)
	$(BIN)/python -m pipeline eval

bench: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.release --n 1000 10000
	$(BIN)/python -m benchmarks.postgres

# One document just under the size limit: seconds and peak RSS per stage (target: 1 GiB).
bench-large: $(STAMP)
	$(BIN)/python -m benchmarks.large_document

clean-instance:
	rm -rf $(DAGSTER_HOME)
