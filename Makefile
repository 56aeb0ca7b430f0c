# Backprop Lab. Two commands do all the set-up on a fresh machine:
#   make lab    create the environment if missing, open JupyterLab on chapter 1
#   make test   create the environment if missing, run ruff, nbval and the tests (docs/TESTING.md)
# `make help` lists every target: it is generated from the `## ` comments below.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# ---- Variables (all defined before any rule uses them) ----
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# nbgrader runs `alembic`, and every tool below must come from the environment.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# TORCH_INDEX=URL adds a pip index for torch (see docs/GPU.md).
TORCH_INDEX ?=
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)
FIRST_CHAPTER := $(patsubst chapters/%,%,$(firstword $(sort $(wildcard chapters/01_*/01_*.ipynb))))
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=
# `make lab` runs with nbgrader's instructor interface off (config/learner/README.md).
# EDITION=zh: the Chinese edition (chapters/zh/, docs/TRANSLATING.md). Not LANG: the shell sets that.
EDITION ?=
# LAB_ROOT: the folder it serves (the browser test serves a copy of chapters/).
LAB_ROOT ?= chapters$(if $(EDITION),/$(EDITION),)
LEARNER_ENV = BACKPROP_LAB_COURSE=$(CURDIR) JUPYTER_CONFIG_PATH=$(abspath config/learner)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH),)
PYTEST_WORKERS ?= 2
# Tests run two at a time on two cores: one BLAS/OpenMP thread each, or they fight.
TEST_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# nbval re-executes the solutions on ANOTHER CPU configuration than `make execute` stored their
# outputs with (OpenBLAS's Sandybridge kernels, PyTorch's baseline kernels, MKL without AVX2):
# a stored output that depends on the CPU, the BLAS kernel or the thread count fails here.
OTHER_CPU := $(if $(filter x86_64,$(shell uname -m)),OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=AVX,)
NBVAL = python -m pytest -p no:cacheprovider --nbval --nbval-current-env --nbval-cell-timeout 300 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg
SUBMISSIONS ?=
CHAPTER ?=
CHAPTERS ?=
# make regrade: the submission (STUDENT, CHAPTER) and the cells allowed to run as written (ALLOW=a,b).
STUDENT ?=
ALLOW ?=
COMMA := ,
FORCE ?=
FILE ?=
# GitHub owner/name for the site's Binder and Colab links: a placeholder until the course is public.
SITE_REPO ?= OWNER/backprop-lab
SITE_REF ?= main
BROWSER_TESTS = $(TEST_ENV) BACKPROP_LAB_BROWSER_TESTS=1 python -m pytest -p no:cacheprovider -q
# A class on JupyterHub (deploy/README.md).
HUB_EXCHANGE ?= /srv/nbgrader/exchange
HUB_COURSE ?= hub/course
HUB_MODE ?= class
HUB_ARGS = --exchange "$(HUB_EXCHANGE)" --course-dir "$(HUB_COURSE)"

.PHONY: help env env-instructor env-dev env-site env-hub lab check learner-extension \
	test test-fast lint nbval test-pipeline test-two-process test-gpu test-hub test-site test-site-built test-fresh test-browser \
	release check-release execute execute-editions benchmark benchmark-grading benchmark-grading-honest student-release site messages \
	grade regrade report formgrade roster export release-feedback clean \
	hub hub-release hub-collect hub-grade

help: ## this list
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		sed -E 's/^([a-zA-Z_-]+):[^#]*## (.*)/\1\t\2/' | \
		awk -F'\t' '{ printf "  make %-20s %s\n", $$1, $$2 }'

# ---- The environment: one .venv filled by role. Each stamp marks exactly what its rule
# installed (an extra includes the roles below it), and is redone when pyproject.toml changes.
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
	@touch $@ $(VENV)/.installed-hub $(VENV)/.installed-instructor $(VENV)/.installed-learner

# [site] includes [grader]: the site is built from a fresh release, which runs nbgrader.
$(VENV)/.installed-site: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[site]"
	@touch $@ $(VENV)/.installed-learner

$(VENV)/.installed-hub: pyproject.toml $(VENV)/.python
	$(PIP_INSTALL) -e ".[instructor,hub]"
	@touch $@ $(VENV)/.installed-instructor $(VENV)/.installed-learner

env: $(VENV)/.installed-learner ## the learner's environment (make lab and make check create it)
env-instructor: $(VENV)/.installed-instructor ## add the instructor's tools
env-dev: $(VENV)/.installed-dev ## add the developers' and CI's tools (everything)
env-site: $(VENV)/.installed-site ## add what make site needs
env-hub: $(VENV)/.installed-hub ## add JupyterHub

# ---- Learners ----
lab: env ## [EDITION=zh] open JupyterLab on chapter 1 (creates the environment)
	$(LEARNER_ENV) jupyter lab --ServerApp.root_dir=$(LAB_ROOT) --LabApp.default_url=/lab/tree/$(FIRST_CHAPTER) $(ROOT_FLAG) $(LAB_ARGS)

check: env ## CHAPTER=01 [EDITION=zh]: grade your own chapter, hidden tests included; fails if a test fails
	@test -n "$(CHAPTER)" || { echo "Usage: make check CHAPTER=01 (a chapter number, or a notebook path)"; exit 2; }
	@python -m autograder.instructor.grading.selfcheck "$(CHAPTER)" $(if $(NO_MODEL_ANSWERS),--no-model-answers,) \
		$(if $(EDITION),--edition $(EDITION),)

# Rebuild learner mode's JupyterLab extension (needs Node and npm; its build is committed).
learner-extension: env ## rebuild learner mode's JupyterLab extension (needs npm)
	cd config/learner/extension && npm install --no-audit --no-fund --loglevel=error && \
	node node_modules/@jupyterlab/builder/lib/build-labextension.js \
		--core-path "$$($(BIN)/python -c 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))')/staging" . && \
	rm -rf ../labextensions/backprop-lab-learner && mv labextension ../labextensions/backprop-lab-learner

# ---- Tests ----
test: env-dev lint nbval test-pipeline ## ruff, nbval and the tests (creates the environment; CI adds docs/TESTING.md's others)

test-fast: env-dev ## unit and reference tests only, no notebook executed (seconds)
	$(TEST_ENV) python -m pytest -p no:cacheprovider -q -m "not slow" tests

lint: env-dev ## ruff on the package, tests and notebooks
	ruff check .

nbval: env-dev ## execute every solution notebook, English and translated, on another CPU configuration, compare its stored outputs
	$(OTHER_CPU) $(TEST_ENV) $(NBVAL) -n $(PYTEST_WORKERS) --dist loadfile solutions tests/fixtures/editions

test-pipeline: env-dev ## the pytest suite (tests/), grading pipeline included
	$(TEST_ENV) python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup --durations=20 -m "not two_process_suite" tests

test-two-process: env-dev ## the two-process grader: every chapter, the red teams' attacks, the honest corpus (slow)
	$(TEST_ENV) python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup -m two_process_suite tests

# BACKPROP_LAB_DEVICE=cuda makes a missing GPU an error.
test-gpu: env-dev ## every PyTorch comparison on CUDA: reference tests and every chapter (needs a GPU)
	BACKPROP_LAB_DEVICE=cuda $(TEST_ENV) python -m pytest -p no:cacheprovider -s -m "not slow" \
		tests/test_gpu.py tests/test_torch_ref.py tests/reference
	BACKPROP_LAB_DEVICE=cuda $(TEST_ENV) $(NBVAL) solutions

# Left out of `make test` (it starts servers); .ci/run runs it after.
test-hub: env-dev ## a JupyterHub on loopback: two students fetch, submit, are graded
	BACKPROP_LAB_HUB_TEST=1 $(TEST_ENV) python -m pytest -p no:cacheprovider -q -s tests/deploy

test-site: env-dev site ## build the site and check it in headless Chromium
	$(BROWSER_TESTS) tests/browser/test_site.py

# BACKPROP_LAB_SITE=folder: a site built elsewhere (tests/fresh_clone.sh builds one in a fresh clone).
test-site-built: env-dev ## check an already built site in headless Chromium
	$(BROWSER_TESTS) tests/browser/test_site.py

test-fresh: ## a fresh clone: make site first, then make check, then its site in Chromium (CI)
	bash tests/fresh_clone.sh

test-browser: env-dev ## JupyterLab, the formgrader and the class report in headless Chromium
	$(BROWSER_TESTS) tests/browser/test_lab.py $(wildcard tests/browser/test_report.py)

# ---- Authoring ----
release: env-instructor ## [CHAPTER=01] [FORCE=1] regenerate chapters/ from solutions/
	python -m autograder.instructor.authoring.release --editions $(if $(FORCE),--force,) $(CHAPTER)

check-release: env-instructor ## prove chapters/ is exactly what solutions/ generates
	python -m autograder.instructor.authoring.release --editions --check

execute: env-instructor ## [NB=path] re-run solution notebooks and store their outputs
	python -m autograder.instructor.authoring.notebooks execute $(or $(NB),$(sort $(wildcard solutions/*/*.ipynb)))

execute-editions: env-instructor ## [CHAPTERS="01_x ..."] build the translated solutions (tests/fixtures/editions/) and store their outputs, for nbval
	python -m autograder.instructor.authoring.executed_editions execute $(CHAPTERS)

benchmark: env-instructor ## time every solution notebook, its slowest test cell, and make check
	python scripts/benchmark.py

benchmark-grading: env-instructor ## plain serial nbgrader against this pipeline, notebooks per minute
	python scripts/benchmark_grading.py $(BENCH_ARGS)

benchmark-grading-honest: env-instructor ## the same for 8 correct chapter-1 notebooks (no timeout to flatter it)
	python scripts/benchmark_grading.py --honest 8 --chapter 01 $(BENCH_ARGS)

student-release: env-instructor ## [CHAPTERS=1-3] write dist/student/ (no solutions, no hidden tests)
	python -m autograder.instructor.authoring.student_release $(if $(CHAPTERS),--chapters $(CHAPTERS),)

site: env-site ## [SITE_REPO=o/n] build the course site into build/site/ (docs/SITE.md)
	$(TEST_ENV) python -m autograder.instructor.authoring.site --repo $(SITE_REPO) --ref $(SITE_REF)

# ---- Instructors ----
grade: env-instructor ## SUBMISSIONS=dir: grade <student>/<chapter>/<chapter>.ipynb into grading/
	@test -n "$(SUBMISSIONS)" || { echo "Usage: make grade SUBMISSIONS=path/to/folder (holding <student>/<chapter>/<chapter>.ipynb)"; exit 2; }
	python -m autograder.instructor.grading.coordinator "$(SUBMISSIONS)" --out grading $(if $(SCHEDULER),--scheduler $(SCHEDULER),) \
		$(if $(MIGRATE),--migrate,) $(if $(NO_SANDBOX),--no-sandbox,) $(GRADE_ARGS)

regrade: env-instructor ## SUBMISSIONS=dir STUDENT=id CHAPTER=id ALLOW=cell: re-grade one submission, that cell run as written (your decision, recorded)
	@test -n "$(SUBMISSIONS)" -a -n "$(STUDENT)" -a -n "$(CHAPTER)" -a -n "$(ALLOW)" || { echo "Usage: make regrade SUBMISSIONS=path/to/folder STUDENT=ada CHAPTER=01_neural_network_basics ALLOW=sigmoid (cells: grade ids, comma-separated)"; exit 2; }
	python -m autograder.instructor.grading.coordinator "$(SUBMISSIONS)" --out grading --student "$(STUDENT)" \
		--chapter "$(CHAPTER)" $(foreach cell,$(subst $(COMMA), ,$(ALLOW)),--allow "$(cell)") $(if $(NO_SANDBOX),--no-sandbox,) $(GRADE_ARGS)

report: env-instructor ## [SMALL_CLASS=1] the class report: grading/report/index.html (make grade writes it too)
	python -m autograder.instructor.grading.report --out grading $(if $(SMALL_CLASS),--small-class,)

formgrade: env-instructor ## [LAB_ARGS=...] grade written answers in nbgrader's formgrader
	python -m autograder.instructor.classroom.formgrade $(ROOT_FLAG) $(LAB_ARGS)

roster: env-instructor ## FILE=students.csv: load the class list (id,first_name,last_name,email)
	@test -n "$(FILE)" || { echo "Usage: make roster FILE=students.csv (columns id,first_name,last_name,email)"; exit 2; }
	python -m autograder.instructor.classroom.roster "$(FILE)"

export: env-instructor ## grading/grades.csv and summary.csv from the gradebook (seconds)
	python -m autograder.instructor.classroom.export

release-feedback: env-instructor ## finished feedback into grading/return/<student>/<chapter>.html
	python -m autograder.instructor.classroom.handback

clean: ## remove caches; never the gradebook, grades or feedback
	rm -rf .pytest_cache .ruff_cache build
	find . -path ./.venv -prune -o -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	@if [ -d grading ]; then echo "kept grading/: the gradebook, its backups, records, feedback and every manual grade (delete it by hand if you mean to)"; fi
	@if [ -d hub ]; then echo "kept hub/: the JupyterHub course folder (its gradebook and submissions)"; fi
	@echo "kept .venv/ (make env rebuilds it if you delete it)"

# ---- A class on JupyterHub (deploy/README.md): students fetch and submit through nbgrader's
# exchange; the instructor releases to it, collects into HUB_COURSE/submitted, grades that.
hub: env-hub ## run JupyterHub for a class
	BACKPROP_HUB_MODE=$(HUB_MODE) BACKPROP_HUB_EXCHANGE="$(HUB_EXCHANGE)" jupyterhub -f deploy/jupyterhub_config.py

hub-release: env-instructor ## [CHAPTER=01] release chapters to the class's nbgrader exchange
	python -m autograder.instructor.classroom.hub release $(HUB_ARGS) $(if $(FORCE),--force,) $(CHAPTER)

hub-collect: env-instructor ## [CHAPTER=01] collect submissions into hub/course/submitted
	python -m autograder.instructor.classroom.hub collect $(HUB_ARGS) $(CHAPTER)

hub-grade: hub-collect ## [CHAPTER=01] collect, then grade them
	$(MAKE) grade SUBMISSIONS="$(HUB_COURSE)/submitted"

# ---- The messages a learner reads (autograder/i18n.py; docs/TRANSLATING.md) ----
MESSAGES_DIR := autograder/locale
MESSAGES_POT := $(MESSAGES_DIR)/backprop_lab.pot
HIDDEN_MESSAGES_DIR := autograder/instructor/locale
HIDDEN_MESSAGES_POT := $(HIDDEN_MESSAGES_DIR)/backprop_lab_hidden.pot
PYBABEL_EXTRACT := pybabel extract -k N_ --add-location=file --sort-by-file --no-wrap --project="Backprop Lab" \
	--version=1 --copyright-holder="the Backprop Lab authors" --msgid-bugs-address="the course's issue tracker" --omit-header

messages: env-instructor ## extract the messages of the checks, the tools and the solutions' tr() calls and test names (Babel), update each catalog, compile the .mo files
	$(PYBABEL_EXTRACT) -F babel.cfg -o $(MESSAGES_POT) autograder solutions
	pybabel update -D backprop_lab -i $(MESSAGES_POT) -d $(MESSAGES_DIR) --no-wrap --ignore-obsolete --ignore-pot-creation-date
	pybabel compile -D backprop_lab -d $(MESSAGES_DIR) --statistics
	$(PYBABEL_EXTRACT) -F babel_hidden.cfg -o $(HIDDEN_MESSAGES_POT) solutions
	pybabel update -D backprop_lab_hidden -i $(HIDDEN_MESSAGES_POT) -d $(HIDDEN_MESSAGES_DIR) --no-wrap --ignore-obsolete --ignore-pot-creation-date
	pybabel compile -D backprop_lab_hidden -d $(HIDDEN_MESSAGES_DIR) --statistics
