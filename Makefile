# Two commands on a fresh machine: `make bench` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: bench bench-pytest deploy test test-fast typecheck lint schema venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## bench: seed, measure the six shapes before/after the migration, write reports/latest/
bench: venv
	$(PY) -m bench run $(ARGS)

## deploy: the migration under live pgbench traffic: lock stalls as written vs CONCURRENTLY,
##   throughput at 1-8 clients without/with the indexes; writes reports/deploy/ (~75 s on 2 cores)
deploy: venv
	$(PY) -m bench deploy $(ARGS)

## bench-pytest: the six shapes before/after the migration through pytest-benchmark
##   (benchmarks/), e.g. make bench-pytest ARGS="--benchmark-autosave" then
##   ARGS="--benchmark-compare --benchmark-compare-fail=median:25%"
bench-pytest: venv
	$(PY) -m pytest benchmarks $(ARGS)

## test: type check, then both test tiers (the fast one, and the one against an embedded
##   PostgreSQL)
test: venv typecheck
	$(PY) -m pytest $(ARGS)

## test-fast: the fast tier only: no PostgreSQL, seconds (statistics, model, golden outputs)
test-fast: venv
	$(PY) -m pytest tests/fast $(ARGS)

## typecheck: mypy --strict on the package
typecheck: venv
	$(VENV)/bin/mypy

lint: venv
	$(VENV)/bin/ruff check .

## schema: regenerate the JSON Schema of results.json from the model
schema: venv
	$(PY) -m bench schema --out bench/results/results.schema.json

clean:
	rm -rf $(VENV) reports/latest .pytest_cache .mypy_cache
