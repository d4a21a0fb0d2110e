# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch comes in as the CPU build: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test venv sysdeps lint typecheck unit bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# A local CPU wheel (pip's find-links) if the machine has one, else the CPU index.
	$(PY) -m pip install --quiet --no-index --no-deps "torch==$(TORCH_VERSION)" 2>/dev/null \
	  || $(PY) -m pip install --quiet "torch==$(TORCH_VERSION)" \
	       --index-url $(TORCH_INDEX) --extra-index-url https://pypi.org/simple
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app/main.py --server.port $(PORT)

# System packages the tests drive for real: chromium, nginx, docker.io, debootstrap.
sysdeps:
	bash .ci/sysdeps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Everything: lint, type check, unit, app, browser, nginx and Docker tests.
test: $(STAMP) sysdeps lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# Fast loop while developing: no browser, nginx or Docker.
unit: $(STAMP)
	$(PY) -m pytest -m "not browser and not docker and not nginx" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
