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

.PHONY: help env env-instructor env-dev lab check test test-fast test-gpu student-release benchmark-grading lint nbval test-pipeline release check-release execute benchmark grade formgrade clean \
	env-hub hub hub-release hub-collect hub-grade test-hub
.PHONY: roster export release-feedback

help:
	@echo "make lab                      open JupyterLab on chapter 1 (creates the environment)"
	@echo "make test                     run every check (creates the environment)"
	@echo "make test-gpu                 every PyTorch comparison on CUDA (needs a GPU)"
	@echo "make check CHAPTER=01         grade your own chapter 1 notebook, hidden tests included"
	@echo "make test-fast                unit and reference tests only (seconds)"
	@echo "make release [FORCE=1]        regenerate chapters/ from solutions/"
	@echo "make grade SUBMISSIONS=dir    grade <student>/<chapter>/<chapter>.ipynb with nbgrader"
	@echo "make student-release          write dist/student/ (no solutions, no hidden tests)"
	@echo "make roster FILE=students.csv load the class list (id,first_name,last_name,email) into the gradebook"
	@echo "make formgrade [LAB_ARGS=...] grade written answers in nbgrader's formgrader (Manual Grading)"
	@echo "make export                   grading/grades.csv and summary.csv from the gradebook (seconds)"
	@echo "make release-feedback         finished feedback into grading/return/<student>/<chapter>.html"
	@echo "make clean                    remove caches; never the gradebook, grades or feedback"
	@echo "make execute [NB=path]        re-run solution notebooks and store their outputs"
	@echo "make benchmark-grading        plain nbgrader against this pipeline, notebooks per minute"
	@echo "make benchmark                time every solution notebook and its slowest test cell"
	@echo "make hub                      run JupyterHub for a class (deploy/README.md)"
	@echo "make hub-release [CHAPTER=01] release chapters to the class's nbgrader exchange"
	@echo "make hub-collect [CHAPTER=01] collect submissions into hub/course/submitted"
	@echo "make hub-grade [CHAPTER=01]   collect, then make grade them"
	@echo "make test-hub                 a JupyterHub on loopback: two students fetch, submit, are graded"
	@echo "make site [SITE_REPO=o/n]     build the course site into build/site/ (see docs/SITE.md)"
	@echo "make test-site                build the site and check it in headless Chromium"
	@echo "make test-browser             JupyterLab in headless Chromium: learner mode, Run All, widgets"

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Backprop Lab needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@touch $@

# Learners get the notebooks' packages and the [grader] extra their self-check runs.
$(VENV)/.installed-learner: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[grader]"
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

# Every PyTorch comparison on CUDA: the reference tests, then every chapter's __torch cells
# (nbval on the solutions). Needs a GPU; BACKPROP_LAB_DEVICE=cuda makes a missing one an error.
test-gpu: env-dev
	BACKPROP_LAB_DEVICE=cuda $(TEST_ENV) python -m pytest -p no:cacheprovider -s -m "not slow" \
		tests/test_gpu.py tests/test_torch_ref.py tests/reference
	BACKPROP_LAB_DEVICE=cuda $(TEST_ENV) python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-cell-timeout 300 --nbval-sanitize-with tests/nbval_sanitize.cfg solutions

# The edit loop: unit and reference tests only (no notebook is executed), in seconds.
test-fast: env-dev
	$(TEST_ENV) python -m pytest -p no:cacheprovider -q -m "not slow" tests

release: env-instructor
	python -m autograder.instructor.authoring.release $(if $(FORCE),--force,) $(CHAPTER)

check-release: env-instructor
	python -m autograder.instructor.authoring.release --check

execute: env-instructor
	python -m autograder.instructor.authoring.notebooks execute $(or $(NB),$(sort $(wildcard solutions/*/*.ipynb)))

benchmark: env-instructor
	python scripts/benchmark.py

# Plain serial nbgrader against this pipeline, on a synthetic class of all six chapters.
benchmark-grading: env-instructor
	python scripts/benchmark_grading.py $(BENCH_ARGS)

grade: env-instructor
	@test -n "$(SUBMISSIONS)" || { echo "Usage: make grade SUBMISSIONS=path/to/folder (holding <student>/<chapter>/<chapter>.ipynb)"; exit 2; }
	python -m autograder.instructor.grading.coordinator "$(SUBMISSIONS)" --out grading $(if $(SCHEDULER),--scheduler $(SCHEDULER),) \
		$(if $(MIGRATE),--migrate,) $(if $(NO_SANDBOX),--no-sandbox,) $(GRADE_ARGS)

# The learner's self-check: `make check CHAPTER=01` grades chapters/01_*/ as make grade would.
check: env
	@test -n "$(CHAPTER)" || { echo "Usage: make check CHAPTER=01 (a chapter number, or a notebook path)"; exit 2; }
	python -m autograder.instructor.grading.selfcheck "$(CHAPTER)" $(if $(NO_MODEL_ANSWERS),--no-model-answers,)

# What a class receives: chapters, the package without the instructor's tools, a learner's README.
student-release: env-instructor
	python -m autograder.instructor.authoring.student_release

# LAB_ARGS go to jupyter lab: --no-browser --port 8890 --ip 0.0.0.0 --IdentityProvider.token=...
formgrade: env-instructor
	python -m autograder.instructor.classroom.formgrade $(ROOT_FLAG) $(LAB_ARGS)

# Only what can be regenerated; grading/ holds the gradebook and every manual grade.
clean:
	rm -rf .pytest_cache .ruff_cache build
	find . -path ./.venv -prune -o -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	@if [ -d grading ]; then echo "kept grading/: the gradebook, its backups, records, feedback and every manual grade (delete it by hand if you mean to)"; fi
	@if [ -d hub ]; then echo "kept hub/: the JupyterHub course folder (its gradebook and submissions)"; fi
	@echo "kept .venv/ (make env rebuilds it if you delete it)"

# -- A class on JupyterHub (deploy/README.md): students fetch and submit through nbgrader's
# exchange, a folder every student's server reaches; the instructor releases to it, collects
# from it into HUB_COURSE/submitted, and grades that with `make grade`.
HUB_EXCHANGE ?= /srv/nbgrader/exchange
HUB_COURSE ?= hub/course
HUB_MODE ?= class
HUB_ARGS = --exchange "$(HUB_EXCHANGE)" --course-dir "$(HUB_COURSE)"

$(VENV)/.installed-hub: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[instructor,hub]"
	@touch $@ $(VENV)/.installed-instructor $(VENV)/.installed-learner

env-hub: $(VENV)/.installed-hub

hub: env-hub
	BACKPROP_HUB_MODE=$(HUB_MODE) BACKPROP_HUB_EXCHANGE="$(HUB_EXCHANGE)" jupyterhub -f deploy/jupyterhub_config.py

hub-release: env-instructor
	python -m autograder.instructor.classroom.hub release $(HUB_ARGS) $(if $(FORCE),--force,) $(CHAPTER)

hub-collect: env-instructor
	python -m autograder.instructor.classroom.hub collect $(HUB_ARGS) $(CHAPTER)

hub-grade: hub-collect
	$(MAKE) grade SUBMISSIONS="$(HUB_COURSE)/submitted"

# JupyterHub on 127.0.0.1 (test mode): two students fetch and submit chapter 1, the instructor
# collects and grades. Left out of `make test` (it starts servers); .ci/run runs it after.
test-hub: env-dev
	BACKPROP_LAB_HUB_TEST=1 $(TEST_ENV) python -m pytest -p no:cacheprovider -q -s tests/deploy

# The instructor's day after grading: the class list, grades out, feedback back.
FILE ?=

roster: env-instructor
	@test -n "$(FILE)" || { echo "Usage: make roster FILE=students.csv (columns id,first_name,last_name,email)"; exit 2; }
	python -m autograder.instructor.classroom.roster "$(FILE)"

export: env-instructor
	python -m autograder.instructor.classroom.export

release-feedback: env-instructor
	python -m autograder.instructor.classroom.handback

# ---- The course site, learner mode, browser tests (docs/SITE.md) ----
.PHONY: env-site site test-site test-browser learner-extension
# GitHub owner/name for the site's Binder and Colab links: a placeholder until the course is public.
SITE_REPO ?= OWNER/backprop-lab
SITE_REF ?= main
# `make lab` runs with nbgrader's instructor interface off (config/learner/README.md).
# LAB_ROOT: the folder it serves (the browser test serves a copy of chapters/).
LAB_ROOT ?= chapters
LEARNER_ENV = BACKPROP_LAB_COURSE=$(CURDIR) JUPYTER_CONFIG_PATH=$(abspath config/learner)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH),)
BROWSER_TESTS = $(TEST_ENV) BACKPROP_LAB_BROWSER_TESTS=1 python -m pytest -p no:cacheprovider -q

$(VENV)/.installed-site: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[site]"
	@touch $@ $(VENV)/.installed-learner

env-site: $(VENV)/.installed-site

site: env-site
	$(TEST_ENV) python -m autograder.instructor.authoring.site --repo $(SITE_REPO) --ref $(SITE_REF)

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
