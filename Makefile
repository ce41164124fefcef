# riskmap — two commands for a new user: `make demo` and `make test`. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.riskmap-installed

.PHONY: help setup system-packages web-pages bytecode demo test soak bench notebooks lint format clean

help:
	@echo "make demo   install what is missing, load the demo county, serve http://127.0.0.1:8000"
	@echo "make test   install what is missing and run every test suite"
	@echo "make bench  run the benchmarks (BENCH=\"tiles city\": some; QUICK=1: small, a few minutes)"
	@echo "make soak   the long reliability runs (the dispatcher killed 100 times, ...)"
	@echo "make notebooks  JupyterLab on notebooks/ against the embedded database (after make demo)"

setup: system-packages $(STAMP) web-pages bytecode

system-packages:
	@bash scripts/ensure-system-packages.sh

# Reinstall the venv only when the project's dependencies change.
$(STAMP): pyproject.toml
	@echo "python: preparing $(VENV) with $(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)
	@echo "python: done"

# Our modules' bytecode, written once (only what changed): with PYTHONDONTWRITEBYTECODE set, as
# on our machines, every process otherwise compiled ~120 of them from source at each start (the
# API's workers, the CLI, the benches' and tests' servers).
bytecode:
	@$(BIN)/python -m compileall -q -j 0 api geo ingest bench tests

# The web pages: npm ci when web/package.json or the lock changed, the build (tsc + vite into
# api/webapp/) when a web source did; the script compares its stamp files (names with spaces
# and deleted files included, which make's own prerequisites cannot).
web-pages:
	@bash scripts/build-web.sh

demo: setup
	$(BIN)/riskmap demo

# Two pytest workers (pytest-xdist), each with its own throwaway PostGIS cluster; a test file
# stays on one worker (its module fixtures are built once). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

# The long variants of the reliability tests: more kills of the dispatcher mid-delivery.
soak: setup
	RISKMAP_SOAK_KILLS=100 $(BIN)/python -m pytest tests/dispatch/test_dispatch_kill.py -q -s
	RISKMAP_SOAK_KILLS=40 $(BIN)/python -m pytest tests/reliability/test_crash_ingest.py -q -s
	RISKMAP_SOAK_KILLS=20 $(BIN)/python -m pytest tests/reliability/test_crash_api.py -q -s
	RISKMAP_SOAK_PG_RESTARTS=4 RISKMAP_SOAK_PG_OUTAGE_S=45 \
	    $(BIN)/python -m pytest tests/reliability/test_pg_restart.py -q -s
	RISKMAP_SOAK_SSE_CLIENTS=500 RISKMAP_SOAK_API_CLIENTS=200 RISKMAP_SOAK_LOAD_S=300 \
	    $(BIN)/python -m pytest tests/reliability/test_load.py -q -s
	RISKMAP_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest tests/security/test_fuzz_*.py -q
	RISKMAP_FUZZ_EXAMPLES=100 $(BIN)/python -m pytest tests/api/test_schemathesis.py -q
	RISKMAP_SOAK_HYDRO_ROWS=100000 $(BIN)/python -m pytest tests/ingest/test_hydro.py -q -k huge
	RISKMAP_SOAK_SL323_OUTAGE_S=60 $(BIN)/python -m pytest tests/ingest/test_sl323db_cli.py -q -s -k stopped

# JupyterLab for planners, on the embedded database `make demo` loaded (installed on first use).
notebooks: setup
	@$(BIN)/python -m pip install --quiet "jupyterlab>=4.2,<5"
	cd notebooks && env -u MPLBACKEND ../$(BIN)/jupyter lab

# BENCH="city tiles": only those (python -m bench --list); QUICK=1: a small version of every
# bench (a few minutes); the table is printed and written to bench/results/latest.json
bench: setup
	@bash scripts/ensure-system-packages.sh wrk  # the tiles bench's C load generator
	$(if $(filter-out 0,$(QUICK)),BENCH_QUICK=1 )$(BIN)/python -m bench $(BENCH)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	-$(BIN)/riskmap db down
	rm -rf $(VENV) data/pg web/node_modules api/webapp
