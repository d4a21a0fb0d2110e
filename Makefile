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
# Exact versions (pip-compile): runtime.lock for the image, dev.lock (runtime + tools) for make.
LOCK := requirements/dev.lock
COMPILE = $(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	--constraint requirements/torch-cpu.txt --extra-index-url $(TORCH_INDEX) --find-links wheels \
	--pip-args "--retries 0 --timeout 10"

.PHONY: run test venv lock sysdeps lint typecheck unit bench clean

$(STAMP): pyproject.toml Makefile $(LOCK)
	$(PYTHON) -m venv $(VENV)
	# torch first: a local CPU wheel (pip's find-links) if the machine has one, else the CPU index.
	$(PY) -m pip install --quiet --no-index --no-deps "torch==$(TORCH_VERSION)" 2>/dev/null \
	  || $(PY) -m pip install --quiet "torch==$(TORCH_VERSION)" \
	       --index-url $(TORCH_INDEX) --extra-index-url https://pypi.org/simple
	# then exactly the versions of the lock (its torch is the one above), then the project
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# The one command that updates the lock files, after a change of pyproject.toml's dependencies
# (or to take newer releases: delete the .lock files first).
lock: $(STAMP)
	$(COMPILE) --output-file requirements/runtime.lock pyproject.toml
	$(COMPILE) --extra dev --output-file $(LOCK) pyproject.toml
	$(PY) -m pip install --quiet -r $(LOCK)

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
