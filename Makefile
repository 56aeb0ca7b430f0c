# Backprop Lab. Two commands do all the set-up on a fresh machine:
#   make lab    create the environment if missing, open JupyterLab on chapter 1
#   make test   create the environment if missing, run every check
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# nbgrader runs `alembic`, and every tool below must come from the environment.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# One environment, filled by role: a learner's targets install the base package, the
# instructor's add the [instructor] extra, tests add [dev]. Each stamp is redone when
# pyproject.toml changes. TORCH_INDEX=URL adds a pip index for torch (see README: GPU).
TORCH_INDEX ?=
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)
FIRST_CHAPTER := $(patsubst chapters/%,%,$(firstword $(sort $(wildcard chapters/01_*/01_*.ipynb))))
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_WORKERS ?= 2
SUBMISSIONS ?=
FORCE ?=

.PHONY: help env env-instructor env-dev lab test test-fast lint nbval test-pipeline release check-release execute benchmark grade formgrade clean

help:
	@echo "make lab                      open JupyterLab on chapter 1 (creates the environment)"
	@echo "make test                     run every check (creates the environment)"
	@echo "make test-fast                unit and reference tests only (seconds)"
	@echo "make release [FORCE=1]        regenerate chapters/ from solutions/"
	@echo "make grade SUBMISSIONS=dir    grade <student>/<chapter>/<chapter>.ipynb with nbgrader"
	@echo "make formgrade                open the gradebook (grading/) in nbgrader's formgrader"
	@echo "make execute [NB=path]        re-run solution notebooks and store their outputs"
	@echo "make benchmark                time every solution notebook and its slowest test cell"
	@echo "make site [SITE_REPO=o/n]     build the course site into build/site/ (see docs/SITE.md)"
	@echo "make test-site                build the site and check it in headless Chromium"
	@echo "make test-browser             JupyterLab in headless Chromium: learner mode, Run All, widgets"

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Backprop Lab needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.installed-learner: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.installed-instructor: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[instructor]"
	@touch $@ $(VENV)/.installed-learner

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[dev]"
	@touch $@ $(VENV)/.installed-instructor $(VENV)/.installed-learner

env: $(VENV)/.installed-learner
env-instructor: $(VENV)/.installed-instructor
env-dev: $(VENV)/.installed-dev

lab: env
	$(LEARNER_ENV) jupyter lab --ServerApp.root_dir=$(LAB_ROOT) --LabApp.default_url=/lab/tree/$(FIRST_CHAPTER) $(ROOT_FLAG) $(LAB_ARGS)

lint: env-dev
	ruff check .

# Tests run two at a time on two cores: one BLAS/OpenMP thread each, or they fight.
TEST_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# Every solution notebook, executed cell by cell and compared with its stored outputs.
nbval: env-dev
	$(TEST_ENV) python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --nbval \
		--nbval-current-env --nbval-cell-timeout 300 --nbval-sanitize-with tests/nbval_sanitize.cfg solutions

test-pipeline: env-dev
	$(TEST_ENV) python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup tests

test: env-dev lint nbval test-pipeline

# The edit loop: unit and reference tests only (no notebook is executed), in seconds.
test-fast: env-dev
	$(TEST_ENV) python -m pytest -p no:cacheprovider -q -m "not slow" tests

release: env-instructor
	python -m autograder.instructor.release $(if $(FORCE),--force,) $(CHAPTER)

check-release: env-instructor
	python -m autograder.instructor.release --check

execute: env-instructor
	python -m autograder.instructor.notebooks execute $(or $(NB),$(sort $(wildcard solutions/*/*.ipynb)))

benchmark: env-instructor
	python scripts/benchmark.py

grade: env-instructor
	@test -n "$(SUBMISSIONS)" || { echo "Usage: make grade SUBMISSIONS=path/to/folder (holding <student>/<chapter>/<chapter>.ipynb)"; exit 2; }
	python -m autograder.instructor.grade "$(SUBMISSIONS)" --out grading

formgrade: env-instructor
	@test -f grading/gradebook.db || { echo "Nothing graded yet: run make grade SUBMISSIONS=... first."; exit 2; }
	cd grading && jupyter lab $(ROOT_FLAG)

clean:
	rm -rf grading .pytest_cache

# ---- The course site, learner mode, browser tests (docs/SITE.md) ----
.PHONY: env-site site test-site test-browser learner-extension
# GitHub owner/name for the site's Binder and Colab links: a placeholder until the course is public.
SITE_REPO ?= OWNER/backprop-lab
SITE_REF ?= main
# `make lab` runs with nbgrader's instructor interface off (config/learner/README.md).
# LAB_ROOT: the folder it serves (the browser test serves a copy of chapters/).
LAB_ROOT ?= chapters
LEARNER_ENV = JUPYTER_CONFIG_PATH=$(abspath config/learner)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH),)
BROWSER_TESTS = $(TEST_ENV) BACKPROP_LAB_BROWSER_TESTS=1 python -m pytest -p no:cacheprovider -q

$(VENV)/.installed-site: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[site]"
	@touch $@ $(VENV)/.installed-learner

env-site: $(VENV)/.installed-site

site: env-site
	$(TEST_ENV) python -m autograder.instructor.site --repo $(SITE_REPO) --ref $(SITE_REF)

test-site: env-dev site
	$(BROWSER_TESTS) tests/browser/test_site.py

test-browser: env-dev
	$(BROWSER_TESTS) tests/browser/test_lab.py

# Rebuild learner mode's JupyterLab extension (needs Node and npm; its build is committed).
learner-extension: env
	cd config/learner/extension && npm install --no-audit --no-fund --loglevel=error && \
	node node_modules/@jupyterlab/builder/lib/build-labextension.js \
		--core-path "$$($(BIN)/python -c 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))')/staging" . && \
	rm -rf ../labextensions/backprop-lab-learner && mv labextension ../labextensions/backprop-lab-learner
