# Two commands on a fresh machine: `make bench` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: bench bench-pytest test lint venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## bench: seed, measure the six shapes before/after migration 007, write reports/latest/
bench: venv
	$(PY) -m bench run $(ARGS)

## bench-pytest: the six shapes before/after 007 through pytest-benchmark (benchmarks/), e.g.
##   make bench-pytest ARGS="--benchmark-autosave" then ARGS="--benchmark-compare
##   --benchmark-compare-fail=median:25%"; --bench-scale/--bench-rounds set the size
bench-pytest: venv
	$(PY) -m pytest benchmarks $(ARGS)

## test: the test suite against a real (embedded) PostgreSQL
test: venv
	$(PY) -m pytest $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) reports/latest .pytest_cache
