# tap-oracle-wms: the commands a newcomer guesses.
#   make demo   sandbox -> Meltano -> target-jsonl, prints rows per stream
#   make test   the whole test suite (the tap's, then target-oracle's), e2e Meltano runs included
#   make bench  bench/run.py
#   make lint   ruff check + ruff format --check + mypy
#   make package  build and check the sdists and wheels of the tap, the sandbox and target-oracle (dist/)
# Three virtualenvs, all git-ignored: .venv (the tap and the sandbox, plus [dev] tools),
# .meltano-venv (Meltano, which pins many packages of its own) and .dagster-venv (Dagster, for
# the orchestration recipe in orchestration/; its own pins kept away from both). Meltano keeps
# its plugins' virtualenvs under .meltano/.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
MELTANO_VENV ?= .meltano-venv
MELTANO_SPEC ?= meltano>=4.4,<5
DAGSTER_VENV ?= .dagster-venv
SANDBOX_PORT ?= 8700
PYTEST_ARGS ?=
DIST ?= dist

BIN := $(VENV)/bin
# setuptools announces "Editable installation ... folders with the same name as your package"
# on every editable install of this flat layout: information we know, not a problem to show.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
MELTANO := $(MELTANO_VENV)/bin/meltano
DAGSTER := $(DAGSTER_VENV)/bin/dagster
DEMO_PLUGINS := tap-oracle-wms target-jsonl
TEST_PLUGINS := tap-oracle-wms tap-oracle-wms--full-sync target-postgres

.PHONY: help demo test bench bench-discovery bench-drift bench-pipeline bench-sandbox lint package install install-dev meltano clean

help:
	@echo "make demo   run the sandbox through Meltano into target-jsonl (output/sandbox/)"
	@echo "make test   run the test suite (pytest, e2e through Meltano into PostgreSQL)"
	@echo "make bench  run bench/run.py"
	@echo "make lint   ruff check + ruff format --check + mypy"
	@echo "make package  build and check the three distributions into $(DIST)/ (python -m build, twine check)"
	@echo "make clean  remove the virtualenvs, .meltano/ and output/"

$(BIN)/python:
	bash scripts/mkvenv.sh $(PYTHON) $(VENV)

# Stamps: reinstall when pyproject.toml changes.
# The sandbox is its own distribution (sandbox/), installed beside the tap.
$(VENV)/.installed-sandbox: pyproject.toml sandbox/pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e . -e ./sandbox
	touch $@

# The loader (target_oracle/, its own distribution) is tested and linted from the same venv.
$(VENV)/.installed-dev: pyproject.toml sandbox/pyproject.toml target_oracle/pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e ".[dev]" -e ./sandbox -e "./target_oracle[dev]"
	touch $@ $(VENV)/.installed-sandbox

$(MELTANO):
	bash scripts/mkvenv.sh $(PYTHON) $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet "$(MELTANO_SPEC)"

$(DAGSTER): orchestration/requirements.txt
	bash scripts/mkvenv.sh $(PYTHON) $(DAGSTER_VENV)
	$(DAGSTER_VENV)/bin/python -m pip install --quiet -r orchestration/requirements.txt
	touch $@

install: $(VENV)/.installed-sandbox
install-dev: $(VENV)/.installed-dev
meltano: $(MELTANO)

demo: $(VENV)/.installed-sandbox $(MELTANO)
	$(MELTANO) install $(DEMO_PLUGINS)
	VENV=$(VENV) MELTANO=$(MELTANO) SANDBOX_PORT=$(SANDBOX_PORT) bash scripts/demo.sh

# The e2e test installs its Meltano plugins itself (session fixture, skipped when current).
test: $(VENV)/.installed-dev $(MELTANO) $(DAGSTER)
	MELTANO_BIN=$(abspath $(MELTANO)) DAGSTER_BIN=$(abspath $(DAGSTER)) $(BIN)/python -m pytest $(PYTEST_ARGS)
	cd target_oracle && MELTANO_BIN=$(abspath $(MELTANO)) $(abspath $(BIN))/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

bench-discovery: $(VENV)/.installed-dev
	$(BIN)/python bench/discovery.py

bench-drift: $(VENV)/.installed-dev
	$(BIN)/python bench/drift.py

# The weekly full sync into target-oracle (dry run) and target-postgres, beside the tap alone (bench/PIPELINE.md).
bench-pipeline: $(VENV)/.installed-dev
	$(BIN)/python bench/pipeline.py

bench-sandbox: $(VENV)/.installed-dev
	$(BIN)/python bench/sandbox_rate.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd target_oracle && $(abspath $(BIN))/mypy

# The tap (repository root), the sandbox (sandbox/) and the loader (target_oracle/), each an sdist and a wheel.
package: $(VENV)/.installed-dev
	rm -rf $(DIST)
	$(BIN)/python -m build --quiet --outdir $(DIST) .
	$(BIN)/python -m build --quiet --outdir $(DIST) sandbox
	$(BIN)/python -m build --quiet --outdir $(DIST) target_oracle
	$(BIN)/twine check --strict $(DIST)/*
	$(BIN)/python scripts/check_dist.py $(DIST)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) $(DAGSTER_VENV) .meltano output $(DIST) build
