# Launchpad — the two commands of a fresh machine are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMULATOR_PORT ?= 4566
# Test processes (pytest-xdist); each has its own database, emulator, data folder and Celery queue.
TEST_WORKERS ?= 2

.PHONY: run test test-fast lint fmt emulator init-timing clean

# The development requirements: the runtime pins (requirements.txt, all the image installs) and the test tools.
$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

## run: migrate, create the admin, start the emulator, a Celery worker, beat and the web server on :PORT
run: $(STAMP)
	$(PY) -m portal.launcher

## emulator: only the local AWS emulator (patched moto) on EMULATOR_PORT, until Ctrl-C
emulator: $(STAMP)
	$(PY) -m provisioning.emulator --port $(EMULATOR_PORT)

## test: lint (ruff, import contracts), terraform fmt/validate, unit and end-to-end tests against the emulator
test: $(STAMP)
	$(VENV)/bin/ruff check portal provisioning tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

## test-fast: everything but the slow end-to-end tests
test-fast: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check portal provisioning tests benchmarks
	$(VENV)/bin/ruff format --check portal provisioning tests benchmarks
	$(VENV)/bin/lint-imports

fmt: $(STAMP)
	$(VENV)/bin/ruff format portal provisioning tests benchmarks
	$$($(PY) -c 'from provisioning.toolchain import find_terraform; print(find_terraform())') fmt -recursive terraform_modules

## init-timing: measure cold and warm `terraform init` of a fresh workspace
init-timing: $(STAMP)
	$(PY) benchmarks/terraform_init.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
