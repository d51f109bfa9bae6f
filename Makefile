# Developer entry points. `make dev` runs Temporal + worker + bot (or the terminal console);
# `make test` runs the linters (ruff, mypy, lint-imports, vulture) then the test suite (`make test LINT=0`: tests only);
# `make lint` runs the linters alone. All create .venv and install the project on first use.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLUGIN_STAMP := $(VENV)/.example-plugin  # the tests' example plugin (tests/example_plugin), for make test only
PYTEST_ARGS ?=
DEV_ARGS ?=
LINT ?= 1
LINT_PATHS := bot runtime workflows worker.py devkit tests bench
TYPED_PATHS := bot runtime workflows worker.py devkit
# Dead code: the product on its own (code only the tests use is dead too), then with the dev kit and the tests.
VULTURE_PRODUCT := $(VENV)/bin/vulture bot runtime workflows worker.py devkit/dead_code_allowlist.py
VULTURE_ALL := $(VENV)/bin/vulture bot runtime workflows worker.py devkit tests bench
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The first interpreter that is Python 3.11+ (override with `make PYTHON=/path/to/python3.12 ...`).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; done)

.PHONY: dev test lint bench clean install

dev: $(STAMP)
	$(PY) -m devkit.supervisor $(DEV_ARGS)

# pytest runs in-process and the interpreter exits with os._exit(pytest's code): a process that used
# the Temporal SDK can abort at interpreter shutdown (PyGILState_Release, exit 134, sdk-python #300),
# which would turn a green run red. Same as `python -m pytest $(PYTEST_ARGS)` otherwise.
test: $(STAMP) $(PLUGIN_STAMP)
ifneq ($(LINT),0)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy $(TYPED_PATHS)
	$(VENV)/bin/lint-imports
	$(VULTURE_PRODUCT)
	$(VULTURE_ALL)
endif
	$(PY) -c 'import os, sys, pytest; rc = int(pytest.main(sys.argv[1:])); sys.stdout.flush(); sys.stderr.flush(); os._exit(rc)' $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy $(TYPED_PATHS)
	$(VENV)/bin/lint-imports
	$(VULTURE_PRODUCT)
	$(VULTURE_ALL)

bench: $(STAMP)
	@if [ -d bench ]; then $(PY) -m bench; else echo "make bench: no bench/ directory yet"; fi

install: $(STAMP)

$(PY):
	@if [ -z "$(PYTHON)" ]; then echo "make: no Python 3.11+ found (tried python3, python3.13, python3.12, python3.11); install one or pass PYTHON=/path/to/python3.11" >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

$(PLUGIN_STAMP): tests/example_plugin/pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e tests/example_plugin
	@touch $(PLUGIN_STAMP)

clean:
	rm -rf $(VENV) .dev
